"""Sensitivity eval on ../shared/data/pii: prompt-level recall on prompts holding a direct identifier,
share of the others flagged, recall per entity type, and classifier latency. One command:
`python -m evals.pii.run` from the repo root; prints markdown and writes its section of evals/RESULTS.md."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from evals.pii.latency import render as render_latency
from evals.pii.machine import machine_header
from evals.results import without_heading, write_section
from gateway.classify.sensitivity import SensitivityDetector

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data" / "pii" / "presidio_generated_small.json"
# Entity types that identify a person directly; LOCATION, ORGANIZATION, DATE_TIME, TITLE, DOMAIN_NAME do not.
DIRECT = {
    "PERSON": {"person"},
    "ADDRESS": {"address"},
    "STREET_ADDRESS": {"address"},
    "EMAIL_ADDRESS": {"email"},
    "PHONE_NUMBER": {"phone"},
    "CREDIT_CARD": {"card_number"},
    "US_SSN": {"us_ssn", "national_id"},
    "UK_NHS": {"national_id"},
    "US_DRIVER_LICENSE": {"driver_license", "national_id"},
    "IBAN_CODE": {"iban"},
    "IP_ADDRESS": {"ip_address"},
}


def evaluate(records: list[dict], detector: SensitivityDetector) -> dict:
    """Prompt-level recall, flag rate on prompts without direct identifiers, per-type recall."""
    with_id = flagged_with_id = without_id = flagged_without_id = 0
    per_type_total: Counter[str] = Counter()
    per_type_found: Counter[str] = Counter()
    misses: list[str] = []
    false_flags: list[str] = []
    for record in records:
        text = record["full_text"]
        sensitivity = detector.detect(text)
        kinds = sensitivity.kinds()
        types = {span["entity_type"] for span in record["spans"] if span["entity_type"] in DIRECT}
        if types:
            with_id += 1
            flagged_with_id += sensitivity.is_sensitive
            if not sensitivity.is_sensitive:
                misses.append(text)
            for entity_type in types:
                per_type_total[entity_type] += 1
                per_type_found[entity_type] += bool(kinds & DIRECT[entity_type])
        else:
            without_id += 1
            flagged_without_id += sensitivity.is_sensitive
            if sensitivity.is_sensitive:
                false_flags.append(f"{text} -> {sorted(kinds)}")
    return {
        "with_id": with_id,
        "recall": flagged_with_id / max(with_id, 1),
        "without_id": without_id,
        "flag_rate": flagged_without_id / max(without_id, 1),
        "per_type": {t: (per_type_found[t], per_type_total[t]) for t in sorted(per_type_total)},
        "misses": misses,
        "false_flags": false_flags,
    }


# Well-known cities and regions; the probe keeps those the name gazetteer also lists as first names.
PLACES = (
    "Paris Austin Florence Sydney Victoria Chelsea Adelaide Charlotte Madison Orlando Denver Dallas Regina "
    "Santiago Lincoln Tyler Georgia Jordan Phoenix Houston London Berlin Vienna Geneva Lima Sofia Alexandria "
    "Savannah Aurora Valencia Carolina Virginia Jackson Raleigh Tucson Eugene Laredo Marion Augusta Helena "
    "Salem Camden Darwin Hamilton Wellington Kingston Brooklyn Dakota Montana Cheyenne Sierra Kent Troy"
).split()
PLACE_TEMPLATES = (
    "What is the weather in {place} this weekend?",
    "Find me a quiet hotel near {place} for two nights.",
    "Which museums in {place} are open on Mondays?",
    "Good restaurants around {place} that stay open late?",
)
# The same names as people after words that do not mark a place: these must stay flagged.
PERSON_TEMPLATES = (
    "Please send the signed contract to {place} before Friday.",
    "I had lunch with {place} yesterday and she seemed worried.",
)


def place_probe(detector: SensitivityDetector) -> dict:
    """Over-flagging of place names that double as first names, and the same names as people."""
    places = [p for p in PLACES if detector.names.lexicon.is_first_name(p)]

    def share(templates: tuple[str, ...]) -> tuple[float, int]:
        texts = [t.format(place=p) for t in templates for p in places]
        return sum(detector.detect(t).is_sensitive for t in texts) / len(texts), len(texts)

    return {"places": len(places), "as_places": share(PLACE_TEMPLATES), "as_people": share(PERSON_TEMPLATES)}


def render(result: dict, *, source: str) -> str:
    lines = [
        "## Sensitivity (PII) detection",
        "",
        machine_header(),
        "",
        f"Data: `{source}` ({result['with_id'] + result['without_id']} prompts). "
        "A prompt is flagged when the classifier's sensitivity level is not `none`.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| prompt-level recall, prompts with a direct identifier (n={result['with_id']}) "
        f"| {result['recall']:.3f} |",
        f"| share flagged, prompts without one (n={result['without_id']}) | {result['flag_rate']:.3f} |",
        "",
        f"Probe (built here, not from the data set): {result['probe']['places']} city and region names that "
        "the name gazetteer also lists as first names (Paris, Austin, Charlotte, ...), in sentences where "
        'they are places ("the weather in Paris", "a hotel near Austin") and in sentences where they are '
        'people ("send the contract to Charlotte", "lunch with Madison").',
        "",
        "| probe | share flagged |",
        "|---|---|",
        f"| as places (n={result['probe']['as_places'][1]}; lower is better) "
        f"| {result['probe']['as_places'][0]:.3f} |",
        f"| as people (n={result['probe']['as_people'][1]}; higher is better) "
        f"| {result['probe']['as_people'][0]:.3f} |",
        "",
        "Recall per entity type (the finding's kind must match the type, not just any flag):",
        "",
        "| entity type | found | total | recall |",
        "|---|---|---|---|",
    ]
    for entity_type, (found, total) in result["per_type"].items():
        lines.append(f"| {entity_type} | {found} | {total} | {found / total:.2f} |")
    lines += ["", "Missed prompts:", ""] + [f"- `{m!r}`" for m in result["misses"]] or ["- none"]
    lines += ["", "Flagged prompts without a direct identifier:", ""]
    lines += [f"- `{f!r}`" for f in result["false_flags"]] or ["- none"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument("--no-latency", action="store_true", help="skip the latency measurement")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"no data at {args.data}: the shared data folder is missing", file=sys.stderr)
        return 2
    records = json.loads(args.data.read_text(encoding="utf-8"))
    detector = SensitivityDetector()
    result = evaluate(records, detector)
    result["probe"] = place_probe(detector)
    source = args.data.name
    text = render(result, source=source)
    if not args.no_latency:
        text += "\n" + render_latency()
    print(text)
    if not args.no_write:
        write_section("Sensitivity detection (python -m evals.pii.run)", without_heading(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
