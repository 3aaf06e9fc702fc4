"""Name gazetteer and common-word list, read once from the package's data file (built by
evals/pii/build_gazetteer.py from Faker's name lists and English word frequencies)."""

from __future__ import annotations

import functools
import gzip
from dataclasses import dataclass, field
from importlib import resources

_DATA_FILE = "lexicon.tsv.gz"


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Lowercased token -> flags: f first name, l last name, w also a common word, c common non-name word."""

    entries: dict[str, str]
    # Derived sets, so that a whole text's words can be checked at once (frozenset.isdisjoint runs in C).
    first_names: frozenset[str] = field(init=False, repr=False, compare=False)  # is_first_name
    names: frozenset[str] = field(init=False, repr=False, compare=False)  # is_name

    def __post_init__(self) -> None:
        entries = self.entries
        first = frozenset(t for t, flags in entries.items() if "f" in flags and "w" not in flags)
        names = frozenset(
            t for t, flags in entries.items() if flags and "w" not in flags and "c" not in flags
        )
        object.__setattr__(self, "first_names", first)
        object.__setattr__(self, "names", names)

    def flags(self, token: str) -> str:
        return self.entries.get(token.lower(), "")

    def is_first_name(self, token: str) -> bool:
        flags = self.flags(token)
        return "f" in flags and "w" not in flags

    def is_last_name(self, token: str) -> bool:
        flags = self.flags(token)
        return "l" in flags and "w" not in flags

    def is_name(self, token: str) -> bool:
        """A name that is not also an ordinary word."""
        flags = self.flags(token)
        return bool(flags) and "w" not in flags and "c" not in flags

    def is_word(self, token: str) -> bool:
        """An ordinary English word (including names that double as words: Grace, Will)."""
        flags = self.flags(token)
        return "c" in flags or "w" in flags

    def is_known(self, token: str) -> bool:
        """In the lexicon at all: a frequent English word or a known name."""
        return token.lower() in self.entries

    def is_unknown(self, token: str) -> bool:
        return token.lower() not in self.entries


@functools.cache
def load_lexicon() -> Lexicon:
    """The packaged lexicon; cached, so every classifier in the process shares one copy (~10 MB)."""
    raw = resources.files("gateway.classify").joinpath("data", _DATA_FILE).read_bytes()
    entries: dict[str, str] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        token, _, flags = line.partition("\t")
        if token:
            entries[token] = flags
    return Lexicon(entries)
