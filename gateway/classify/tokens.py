"""Offline tiktoken encodings: the files ship inside litellm, so nothing is downloaded at run time."""

from __future__ import annotations

import functools
import os

import tiktoken

from gateway.accounting.litellm_data import litellm_tokenizer_dir

_CACHE_ENV = "TIKTOKEN_CACHE_DIR"


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
