"""Token counting and token-by-token splitting, with tiktoken's cl100k_base as litellm ships it.

The encoding file is read from litellm's package directory without importing litellm (6 s) and
without tiktoken's download cache. When it is absent, a regex approximation (words, numbers and
punctuation, leading space attached, as BPE tends to split English) stands in; it is within ~15 %
of cl100k_base on English prose. Anthropic and Llama counts use the same cl100k_base estimate.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
from pathlib import Path
from typing import Protocol

from gateway.accounting.litellm_data import litellm_tokenizer_dir

logger = logging.getLogger("gateway.simulate")

# sha1 of the cl100k_base URL: the file name under which tiktoken (and litellm) cache the encoding.
_CL100K_FILE = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}
_APPROX_PIECE = re.compile(r" ?[A-Za-z]{1,8}|[A-Za-z]{1,8}| ?\d{1,3}|\s+|.", re.DOTALL)


class _Encoding(Protocol):
    def encode_ordinary(self, text: str) -> list[int]: ...
    def decode_single_token_bytes(self, token: int) -> bytes: ...


def litellm_cl100k_path() -> Path | None:
    """Where litellm keeps cl100k_base, found without importing litellm."""
    folder = litellm_tokenizer_dir()
    path = folder / _CL100K_FILE if folder else None
    return path if path is not None and path.is_file() else None


def load_cl100k(path: Path) -> _Encoding:
    """Build tiktoken's cl100k_base from a local .tiktoken file."""
    import tiktoken

    ranks: dict[bytes, int] = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(
        name="cl100k_base", pat_str=_CL100K_PATTERN, mergeable_ranks=ranks, special_tokens=_CL100K_SPECIAL
    )


class TokenCounter:
    """Counts tokens and splits text into the token-sized pieces a model would stream."""

    def __init__(self, encoding: _Encoding | None) -> None:
        self.encoding = encoding
        self.exact = encoding is not None
        # Bounded caches per instance: prompts and replies repeat a lot in tests and benchmarks.
        self.count = functools.lru_cache(maxsize=8192)(self._count)
        self.pieces = functools.lru_cache(maxsize=2048)(self._pieces)

    @classmethod
    def load(cls) -> TokenCounter:
        """cl100k_base from litellm's copy when present, else the documented approximation."""
        path = litellm_cl100k_path()
        if path is None:
            logger.warning("SIMULATED upstream: cl100k_base not found; token counts are approximate")
            return cls(None)
        return cls(load_cl100k(path))

    def _count(self, text: str) -> int:
        if not text:
            return 0
        if self.encoding is None:
            return len(_APPROX_PIECE.findall(text))
        return len(self.encoding.encode_ordinary(text))

    def _pieces(self, text: str) -> tuple[str, ...]:
        """One string per token; tokens that end inside a UTF-8 character join the next one."""
        if self.encoding is None:
            return tuple(_APPROX_PIECE.findall(text))
        out: list[str] = []
        pending = b""
        for token in self.encoding.encode_ordinary(text):
            pending += self.encoding.decode_single_token_bytes(token)
            try:
                out.append(pending.decode("utf-8"))
            except UnicodeDecodeError:
                continue
            pending = b""
        if pending:
            out.append(pending.decode("utf-8", errors="replace"))
        return tuple(out)
