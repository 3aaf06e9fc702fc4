"""Build gateway/classify/data/lexicon.tsv.gz: first (f) and last (l) names from Faker's locales, flagged
(w) when they are also common English words, so "Grace" or "Will" need context before they count as a name;
and the most frequent English words that are not names (c), so "Wisdom" is known not to be a name.

Run once by hand (`python -m evals.pii.build_gazetteer`); needs the dev-only packages faker, wordfreq and
english-words. The gateway reads the generated file and needs none of them.
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
import unicodedata
from collections import Counter
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "gateway" / "classify" / "data" / "lexicon.tsv.gz"
NAME_ATTRS = {
    "f": ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"),
    "l": ("last_names", "last_names_male", "last_names_female"),
}
# How many of the most frequent English words to consider, and how frequent (Zipf scale) a word must be
# to count as known non-name ("wisdom" 4.3 is; the surname "beaufort" 3.1 is not).
COMMON_WORDS = 60_000
COMMON_ZIPF = 3.3
# A dictionary word must be at least this frequent (Zipf scale) to make a name ambiguous.
WORD_ZIPF = 3.0
# Frequent English words that the test above misses.
EXTRA_WORDS = {"hunter", "summer", "chase", "sunny", "penny", "holly", "ginger", "honey", "misty", "rusty"}
CALENDAR_WORDS = (
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december christmas easter"
).split()


def collect_place_words() -> set[str]:
    """Lowercased tokens of English country and US state names: capitalised, but not people."""
    from faker.providers.address.en_US import Provider as UsAddress

    places: set[str] = set(CALENDAR_WORDS)
    for value in [*UsAddress.countries, *UsAddress.states]:
        places.update(token.lower() for token in value.replace("-", " ").split() if len(token) > 2)
    return places


def _is_cased_name(token: str) -> bool:
    """Single tokens in a cased script (Latin, Greek, Cyrillic): the detector relies on capitals."""
    if len(token) < 2 or not token[0].isupper():
        return False
    return all(unicodedata.category(ch).startswith("L") or ch in "'’" for ch in token)


def collect_names() -> dict[str, set[str]]:
    """Lowercased name token -> {"f", "l"}: "f" when more locales list it as a first name than as a last
    name (James, not Hubbard), "l" when any locale lists it as a last name or only weakly as a first."""
    import faker.providers.person as person

    as_first: Counter[str] = Counter()
    as_last: Counter[str] = Counter()
    for module_info in pkgutil.iter_modules(person.__path__):
        module = importlib.import_module(f"faker.providers.person.{module_info.name}")
        provider = getattr(module, "Provider", None)
        if provider is None:
            continue
        for counter, attrs in ((as_first, NAME_ATTRS["f"]), (as_last, NAME_ATTRS["l"])):
            tokens: set[str] = set()
            for attr in attrs:
                values = getattr(provider, attr, None)
                if not values or isinstance(values, property):
                    continue
                for value in values:
                    tokens.update(
                        t.lower() for t in str(value).replace("-", " ").split() if _is_cased_name(t)
                    )
            counter.update(tokens)
    names: dict[str, set[str]] = {}
    for token in as_first.keys() | as_last.keys():
        first, last = as_first[token], as_last[token]
        flags = names.setdefault(token, set())
        if first > last or (first == last and first >= 2):
            flags.add("f")
        if last or "f" not in flags:
            flags.add("l")
    return names


def main() -> None:
    from english_words import get_english_words_set
    from wordfreq import top_n_list, zipf_frequency

    from gateway.classify.tokens import get_encoding

    encoding = get_encoding("cl100k_base")
    dictionary = {w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower()}

    def is_common_word(token: str) -> bool:
        # In Webster's, frequent, and one BPE token in lower case: "grace", "will"; not "tyler".
        return (
            token in dictionary
            and zipf_frequency(token, "en") >= WORD_ZIPF
            and len(encoding.encode(" " + token)) == 1
        )

    names = collect_names()
    places = collect_place_words()
    lines = []
    for token in sorted(names):
        flags = "".join(sorted(names[token]))
        if token in EXTRA_WORDS or token in places or is_common_word(token):
            flags += "w"
        lines.append(f"{token}\t{flags}")
    for word in top_n_list("en", COMMON_WORDS):
        if (
            word.isalpha()
            and len(word) > 1
            and word not in names
            and zipf_frequency(word, "en") >= COMMON_ZIPF
        ):
            lines.append(f"{word}\tc")
    for word in sorted(places - names.keys() - set(top_n_list("en", COMMON_WORDS))):
        lines.append(f"{word}\tc")
    lines.sort()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.write("\n".join(lines) + "\n")
    counts = {flag: sum(1 for line in lines if line.endswith(flag)) for flag in "wc"}
    print(f"wrote {len(lines)} entries ({counts['w']} names that are words, {counts['c']} words) to {OUT}")


if __name__ == "__main__":
    main()
