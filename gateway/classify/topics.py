"""Task (what the user wants done) and domain (what it is about), from keywords and shapes of the text."""

from __future__ import annotations

import re
from dataclasses import dataclass


def _keywords(joined: str) -> tuple[str, ...]:
    return tuple(joined.split("|"))


# Domain -> keyword stems (matched at word starts, case-insensitive). Kept general on purpose: they
# name fields of knowledge, not any benchmark's subjects.
DOMAIN_KEYWORDS: dict[str, tuple[str, ...]] = {
    "math": _keywords(
        "equation|integral|derivative|polynomial|matrix|matrices|eigen|theorem|lemma|proof|prove|"
        "algebra|calculus|probability|variance|logarithm|vector space|subgroup|group of order|"
        "homomorphism|isomorph|ring|field extension|prime|modulo|divisible|integer|rational number|"
        "real number|function f|f(x)|g(x)|series|converge|limit of|sequence|geometry|triangle|circle|"
        "radius|angle|coefficient|factor|solve for|arithmetic|fraction|percent|sum of|product of|"
        "permutation"
    ),
    "logic": _keywords(
        "argument|premise|conclusion|valid|fallacy|syllogism|predicate|proposition|truth table|"
        "tautology|contradiction|entail|symboli|translation|formal logic"
    ),
    "physics": _keywords(
        "velocity|acceleration|momentum|force|newton|energy|joule|kinetic|potential|electric|magnetic|"
        "charge|current|voltage|resistor|capacitor|circuit|wave|frequency|wavelength|photon|quantum|"
        "relativity|gravity|gravitational|friction|mass|spring|oscillat|thermodynamic|entropy|heat|"
        "temperature|pressure|orbit|electron|proton|neutron|nucleus|radiation|optics|lens|torque|"
        "inductor"
    ),
    "chemistry": _keywords(
        "molecule|molar|mole|reaction|compound|bond|acid|base|ph |oxidation|reduction|electrolyte|"
        "solution|concentration|equilibrium|catalyst|isotope|organic|atom|ion|titration|enthalpy|nmr|"
        "spectr|orbital|valence"
    ),
    "law": _keywords(
        "plaintiff|defendant|court|statute|contract|tort|negligence|liability|jury|judge|appeal|"
        "constitution|amendment|testimony|evidence|hearsay|felony|misdemeanor|prosecut|attorney|"
        "lawyer|lawsuit|sued|sue |legal|law |laws|treaty|jurisdiction|breach|damages|injunction|"
        "easement|mortgage|landlord|tenant|convicted|crime|criminal|homicide|burglary|larceny|"
        "ordinance|clause"
    ),
    "medicine": _keywords(
        "patient|diagnos|symptom|disease|treatment|therapy|clinical|drug|dose|mg|blood|infection|"
        "virus|bacteri|cancer|tumou|surgery|physician|nurse|hospital|syndrome|chronic|acute|"
        "medication|vaccine|pain|heart|kidney|liver|gene|mutation|chromosom|allele|inherit|nutrient|"
        "vitamin|protein|diet"
    ),
    "finance": _keywords(
        "interest rate|inflation|gdp|stock|bond yield|dividend|portfolio|invest|loan|mortgage rate|"
        "tax|revenue|profit|accounting|balance sheet|cash flow|price|market|demand|supply|elasticity|"
        "monetary|fiscal|unemployment|economy|economic|bank|currency|exchange rate|budget|cost|"
        "marginal"
    ),
    "tech": _keywords(
        "python|javascript|typescript|java |c++|rust|golang|sql|database|api|server|kubernetes|docker|"
        "linux|algorithm|function|compile|runtime|bug|stack trace|exception|regex|http|json|yaml|git |"
        "software|program|code|array|pointer|binary|bit|cpu|memory|network|protocol|machine learning|"
        "neural network|model|dataset"
    ),
    "humanities": _keywords(
        "history|century|war|empire|king|revolution|religio|philosoph|moral|ethic|culture|society|"
        "psycholog|behavio|geograph|country|population|migration|novel|poem|poet|author|art|music|"
        "film|god|church|buddh|hindu|islam"
    ),
}

# Domains reported as "science" to callers (policies match on a few broad names).
DOMAIN_ALIASES = {"physics": "science", "chemistry": "science", "logic": "reasoning", "humanities": "general"}

TRANSLATION = re.compile(
    r"(?i)\btranslat\w*\b|\bin(?:to)? (?:english|french|german|spanish|italian|chinese|japanese"
    r"|portuguese|russian|arabic|dutch|korean)\b.{0,20}$"
)
SUMMARISATION = re.compile(
    r"(?i)\b(?:summari[sz]e|summary|tl;?dr|sum up|key points|condense|abstract of"
    r"|in (?:a few|one|two|three) (?:sentences?|words|bullet))"
)
EXTRACTION = re.compile(
    r"(?i)\b(?:extract|pull out|list all|find all|parse|identify (?:all|the)|return (?:a |the )?json"
    r"|fill in the fields|named entities)\b"
)
CODE = re.compile(
    r"(?i)```|\b(?:def|class|function|import|return|const|var|let|public|void)\s+\w+[\s(:{]"
    r"|\b(?:write|fix|debug|refactor|implement|optimi[sz]e) (?:a |the |this |my )?"
    r"(?:code|function|script|program|class|method|query|bug|test|regex)"
    r"|\b(?:python|javascript|typescript|sql|bash|rust|golang|java|c\+\+|html|css)\b"
    r"|traceback|stack trace|error:|exception"
)
MATH = re.compile(
    r"(?i)\b(?:solve|calculate|compute|evaluate|simplify|integrate|differentiate|prove that|how many"
    r"|what is the value|find the|integral|derivative|equation|probability that)\b|\d\s*[-+*/^=]\s*\d"
    r"|\w\^\d|[=∫∑√π]"
)
CREATIVE = re.compile(
    r"(?i)\b(?:write|compose|draft|create) (?:a |an |me a )?(?:poem|story|song|lyrics|haiku|limerick|novel"
    r"|script|joke|tale|essay|speech|slogan|tagline)|\b(?:imagine|once upon a time|fictional|role-?play)\b"
)
REASONING = re.compile(
    r"(?i)\b(?:why|explain|reason|step by step|think|infer|deduce|conclude|argument|compare|contrast"
    r"|pros and cons|evaluate whether|what would happen)\b"
)
CHIT_CHAT = re.compile(
    r"(?i)^\s*(?:hi|hello|hey|thanks|thank you|good (?:morning|evening|night)|how are you|what's up|lol|ok"
    r"|okay|bye)\b[\s!.?,]*(?:\w+[\s!.?,]*){0,4}$"
)
# First match wins: the more specific asks come before the general ones.
TASK_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("translation", TRANSLATION),
    ("summarisation", SUMMARISATION),
    ("extraction", EXTRACTION),
    ("code", CODE),
    ("math", MATH),
    ("creative", CREATIVE),
    ("reasoning", REASONING),
    ("chit_chat", CHIT_CHAT),
)
QUESTION = re.compile(r"\?\s*$|^\s*(?:who|what|when|where|which|how|is|are|does|do|can)\b|\nA\.\s", re.I)


@dataclass(frozen=True, slots=True)
class TopicGuess:
    task: str
    domain: str
    domain_scores: dict[str, int]  # raw keyword hits per internal domain (used by the complexity model)


WORD = re.compile(r"[a-z0-9]+")
# Single-word keywords at least this long also match as prefixes ("diagnos" -> "diagnosis").
MIN_PREFIX = 5


class KeywordIndex:
    """Domain keywords as dictionaries (one lookup per word and prefix length) plus a small regex for the
    few keywords with spaces or symbols: a regex of hundreds of alternatives is ten times slower."""

    def __init__(self, keywords: dict[str, tuple[str, ...]]) -> None:
        self.exact: dict[str, list[str]] = {}
        self.prefix: dict[str, list[str]] = {}
        phrases: dict[str, list[str]] = {}
        for domain, words in keywords.items():
            for keyword in words:
                word = keyword.strip()
                if WORD.fullmatch(word):
                    self.exact.setdefault(word, []).append(domain)
                    if len(word) >= MIN_PREFIX and not keyword.endswith(" "):
                        self.prefix.setdefault(word, []).append(domain)
                else:
                    phrases.setdefault(domain, []).append(word)
        self.prefix_lengths = sorted({len(stem) for stem in self.prefix})
        self.phrases = {
            domain: re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(p) for p in words) + ")")
            for domain, words in phrases.items()
        }
        self.domains = tuple(keywords)

    def scores(self, text: str) -> dict[str, int]:
        lowered = text.lower()
        counts = dict.fromkeys(self.domains, 0)
        exact, prefix, lengths = self.exact, self.prefix, self.prefix_lengths
        for word in WORD.findall(lowered):
            domains = exact.get(word) or (exact.get(word[:-1]) if word.endswith("s") else None)
            if domains is None:
                for length in lengths:
                    if length >= len(word):
                        break
                    domains = prefix.get(word[:length])
                    if domains:
                        break
            if domains:
                for domain in domains:
                    counts[domain] += 1
        for domain, pattern in self.phrases.items():
            counts[domain] += len(pattern.findall(lowered))
        return counts


class TopicClassifier:
    """Keyword and pattern rules, compiled once."""

    def __init__(self) -> None:
        self.keywords = KeywordIndex(DOMAIN_KEYWORDS)

    def domain_scores(self, text: str) -> dict[str, int]:
        """Keyword hits per internal domain (math, logic, physics, chemistry, law, medicine, ...)."""
        return self.keywords.scores(text)

    def guess(self, text: str, *, last_user_text: str | None = None) -> TopicGuess:
        """The task is read from the last user turn (what is asked now), the domain from the whole text."""
        scores = self.domain_scores(text)
        best, hits = max(scores.items(), key=lambda item: item[1], default=("general", 0))
        domain = DOMAIN_ALIASES.get(best, best) if hits >= 2 or (hits == 1 and len(text) < 400) else "general"
        return TopicGuess(
            task=self.task(last_user_text if last_user_text is not None else text),
            domain=domain,
            domain_scores=scores,
        )

    @staticmethod
    def task(text: str) -> str:
        head = text[:4000]
        for task, pattern in TASK_PATTERNS:
            if pattern.search(head):
                return task
        return "qa" if QUESTION.search(head) else ("chit_chat" if len(head.split()) <= 6 else "qa")
