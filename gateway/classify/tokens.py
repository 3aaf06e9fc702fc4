"""Offline tiktoken encodings: the files ship inside litellm, so nothing is downloaded at run time."""

from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import tiktoken

_CACHE_ENV = "TIKTOKEN_CACHE_DIR"


def litellm_tokenizer_dir() -> Path | None:
    """The folder of tiktoken cache files bundled with litellm, found without importing litellm (slow)."""
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
    return folder if folder.is_dir() else None


@functools.cache
def get_encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """A cached tiktoken encoding loaded from litellm's bundled files (never from the network)."""
    if not os.environ.get(_CACHE_ENV):
        folder = litellm_tokenizer_dir()
        if folder is not None:
            # tiktoken reads this variable on each load; setting it once before the first load is enough.
            os.environ[_CACHE_ENV] = str(folder)
    return tiktoken.get_encoding(name)


def count_tokens(text: str, *, encoding: tiktoken.Encoding | None = None) -> int:
    """Number of tokens of text; special-token strings in user text are counted as plain text."""
    enc = encoding or get_encoding()
    return len(enc.encode(text, disallowed_special=()))
