"""Same-hits check for the sensitivity detectors: every span every detector finds (kind, category,
confidence, start, end) over every text we have, recorded once and compared after a change. A faster
detector must find exactly the same hits.

    python -m evals.pii.same_hits record /tmp/hits.json.gz   # with the implementation to keep
    python -m evals.pii.same_hits check /tmp/hits.json.gz    # after a change: lists every text that differs

Texts: the shared PII sample and every MMLU routing prompt (../shared/data), the string literals of the
classify tests, the latency eval's prompts, each also lowercased, uppercased and title-cased (the name
rules treat all-lowercase text and capitalised runs differently), plus seeded synthetic sentences built
from Faker's names, addresses, phones and ids in many locales (when Faker is installed). The recording
stores the texts themselves, so a check does not depend on regenerating them the same way.
"""

from __future__ import annotations

import argparse
import ast
import csv
import gzip
import json
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from gateway.classify.sensitivity import SensitivityDetector

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
HitTuple = tuple[str, str, float, int, int]


def shared_texts() -> Iterator[str]:
    """The PII sample and every routing prompt (contaminated ones too: they are text all the same)."""
    pii = SHARED / "pii" / "presidio_generated_small.json"
    if pii.exists():
        for record in json.loads(pii.read_text(encoding="utf-8")):
            yield record["full_text"]
    routing = SHARED / "routing"
    for path in sorted((routing / "mmlu").glob("mmlu_*.csv")):
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                yield row["prompt"]
    contaminated = routing / "mmlu_contaminated_prompts.jsonl"
    if contaminated.exists():
        for line in contaminated.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                yield from (v for v in record.values() if isinstance(v, str))


def literal_texts() -> Iterator[str]:
    """String literals of the classify tests and the latency eval's prompts."""
    from evals.pii.latency import EXAM, PARAGRAPH

    yield PARAGRAPH
    yield PARAGRAPH * 2
    yield EXAM
    for path in sorted((REPO / "tests" / "classify").glob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 2:
                yield node.value


def synthetic_texts(count: int = 4000, seed: int = 11) -> Iterator[str]:
    """Sentences mixing names, addresses and identifiers from Faker's locales (skipped without Faker)."""
    try:
        from faker import Faker
    except ImportError:
        return
    rng = random.Random(seed)
    locales = ["en_US", "en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "pl_PL", "cs_CZ", "da_DK",
               "sv_SE", "no_NO", "fi_FI", "hu_HU", "pt_BR", "tr_TR", "en_IN", "ru_RU", "el_GR"]  # fmt: skip
    fakers = {locale: Faker(locale) for locale in locales}
    for faker in fakers.values():
        faker.seed_instance(seed)
    templates = [
        "My name is {name} and I live at {address}.",
        "Hi, this is {first}. Call me on {phone} or mail {email}.",
        "{name} said the card {card} was declined; my IBAN is {iban}.",
        "Ship it to {address}, attn {last}. SSN {ssn}, born {date}.",
        "please update the address for {lname}: {laddress}",
        "{first}, can you ask your boss about the {company} contract?",
        "Dr. {last} met {name} at {company}. Server {ipv4} and {ipv6} were down.",
        "my dob is {date} and my phone number is {phone}",
        "{company}, {last} and {last2} were partners. Contact {name} at {email}.",
        "Meet me at {street}. Zip code {postcode}. {city}, {state} {zip}",
        "I work for {last}. My colleague {first} lives in {city}. PO Box {num}",
        "Invoice {num} for {name}: passport number {passport}, driver's license {num}-{num}",
        "{first} {last}'s address is {address}; {first} is reliable, you can depend on him.",
    ]
    for _ in range(count):
        faker = fakers[rng.choice(locales)]
        values = {
            "name": faker.name(),
            "first": faker.first_name(),
            "last": faker.last_name(),
            "last2": faker.last_name(),
            "address": faker.address().replace("\n", ", "),
            "street": faker.street_address(),
            "city": faker.city(),
            "postcode": faker.postcode(),
            "phone": faker.phone_number(),
            "email": faker.email(),
            "card": faker.credit_card_number(),
            "iban": faker.iban(),
            "ssn": faker.ssn(),
            "date": rng.choice(
                [faker.date(), faker.date(pattern="%d/%m/%Y"), faker.date(pattern="%B %d, %Y")]
            ),
            "company": faker.company(),
            "ipv4": faker.ipv4(),
            "ipv6": faker.ipv6(),
            "num": str(rng.randrange(1, 99999)),
            "passport": faker.bothify("??#######"),
            "state": fakers["en_US"].state_abbr(),
            "zip": fakers["en_US"].zipcode(),
        }
        values["lname"] = values["name"].lower()
        values["laddress"] = values["address"].lower()
        yield rng.choice(templates).format(**values)


def corpus() -> list[str]:
    """Every text and its case variants, deduplicated, in a stable order."""
    seen: dict[str, None] = {}
    for text in (*shared_texts(), *literal_texts(), *synthetic_texts()):
        for variant in (text, text.lower(), text.upper(), text.title()):
            seen.setdefault(variant, None)
    return list(seen)


def hits_of(detector: SensitivityDetector, text: str) -> list[HitTuple]:
    return [(h.kind, h.category, h.confidence, h.start, h.end) for h in detector.hits(text)]


def record(path: Path) -> int:
    detector = SensitivityDetector()
    texts = corpus()
    started = time.process_time()
    rows = [{"text": text, "hits": hits_of(detector, text)} for text in texts]
    seconds = time.process_time() - started
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(rows, fh)  # ASCII escapes: some test literals hold lone surrogates
    total = sum(len(row["hits"]) for row in rows)
    print(f"recorded {len(rows)} texts, {total} hits, in {seconds:.1f} s CPU -> {path}")
    return 0


def check(path: Path, *, show: int = 10) -> int:
    detector = SensitivityDetector()
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = json.load(fh)
    started = time.process_time()
    differ = 0
    total = 0
    for row in rows:
        expected = [tuple(hit) for hit in row["hits"]]
        got = hits_of(detector, row["text"])
        total += len(expected)
        if got != expected:
            differ += 1
            if differ <= show:
                print(f"DIFFERS: {row['text'][:200]!r}")
                print(f"  missing: {sorted(set(expected) - set(got))}")
                print(f"  extra:   {sorted(set(got) - set(expected))}")
                if set(got) == set(expected):
                    print("  (same hits, other order)")
    seconds = time.process_time() - started
    print(f"checked {len(rows)} texts ({total} hits) in {seconds:.1f} s CPU: {differ} differ")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("mode", choices=("record", "check"))
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    return record(args.path) if args.mode == "record" else check(args.path)


if __name__ == "__main__":
    sys.exit(main())
