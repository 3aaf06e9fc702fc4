"""Person names and postal addresses: found in context, not in look-alike prose."""

from __future__ import annotations

import pytest

from gateway.classify.sensitivity import SensitivityDetector


@pytest.mark.parametrize(
    "text",
    [
        "My name is Patricia Jeknić but everyone calls me Lauren",
        "Please have the manager call me later, I'd like to join accounts with ms. Wijtze",
        "Dr. Nielsen is a 50 year old man",
        "What's your last name? Krylova",
        "I would like to remove my kid Mali from the will.",
        "It was a done thing between him and Sumaya's kid.",
        "Jakobine, can I please speak to your boss?",
        "Follow up with Colleen Wiley in 2 months.",
        "Will my account stay active? It's under my partner's name Brian Andersson",
        "Beaufort is very reliable. You can always depend on him.",
        "billing address: tracy sukhorukova",
        "Bot: What's the name on the account? User: Ngozi Okonkwo-Adeyemi",
        "Nick, can I please speak to your boss?",
        "My nam is Theres",
        "Is there a better pop song? Well, Landry and Ryan were precision engineers.",
        "This song by ex-Zombie Carter is a perfect example",
        # The same names as people: not right after a place word, or possessive, or in a full name.
        "Please send the signed contract to Charlotte before Friday.",
        "I had lunch with Madison yesterday.",
        "I'm in Florence's class this term.",
        "We stayed in Paris Hilton's old house.",
        "In 1990, Albert drafted a will.",
        "my friend lives in paris",  # all-lowercase text: the rule cannot tell, the name counts
    ],
)
def test_names_in_context(detector: SensitivityDetector, text: str) -> None:
    assert "person" in detector.detect(text).kinds()


@pytest.mark.parametrize(
    "text",
    [
        "Capitalized words like Wisdom and Discipline are often mistaken with names.",
        "CAN I SPEAK TO A REAL PERSON?!?!",
        "The Princess Royal arrived at Nugeri this morning from Niger.",
        "I work for Geoscape",
        "I work for Barre",
        "According to the Hubbard, Fox and Gillespie website they license music.",
        "Knight, Thomas and Guerrero is a multinational investment bank",
        "We returned to Blaketown by helicopter on the last Sunday before Labor Day.",
        "How do I open my credit card statement?",
        "Excuse me, Sir bot, but I really don't like this tone",
        "def parse(self, Token): return Token",
        # Places that double as first names, right after "in", "near", "around", ...
        "What is the weather in Paris?",
        "Find me a hotel near Austin for two nights.",
        "In Charlotte the museums close early.",
        "We drove around Florence, then across Sydney.",
    ],
)
def test_no_person_in_look_alikes(detector: SensitivityDetector, text: str) -> None:
    assert "person" not in detector.detect(text).kinds()


@pytest.mark.parametrize(
    "text",
    [
        "The restaurant is at 1755 Nelson Mandela Drive",
        "Filip lives on Nassaustraat 123 street.",
        "Send it to PO Box 4411, please",
        "ZIP: 11164",
        "please return to 45 aðalgata 37\nkędzierzyn-koźle",
        "I once lived in Lille Farimagsstræde 38, 1062 Thyholm.",
        "Saarjärve, JN 91851",
        "Our office: 221B Baker Street, London NW1 6XU",
        "How do I change my address to 16 48 rue Descartes, Monte Gil, Canada?",
        "I'd like it to be sent to Berntsenmoen 15E, 4366 Hegebø",
        "It's in pl. Pułaskiego 61, 88-108 Lublin",
    ],
)
def test_addresses(detector: SensitivityDetector, text: str) -> None:
    assert "address" in detector.detect(text).kinds()


@pytest.mark.parametrize(
    "text",
    [
        "I have 2 cats and 3 dogs",
        "On 29 March 2017 the government began the process",
        "5 Musicians Of The 70s You're Supposed To Hate",
        "Set 3 square meters aside",
        "room 5",
        "It rained during 5 days and the committee 3 times said so",
    ],
)
def test_not_addresses(detector: SensitivityDetector, text: str) -> None:
    assert "address" not in detector.detect(text).kinds()


def test_sensitivity_levels(detector: SensitivityDetector) -> None:
    assert detector.detect("What is the capital of France?").level == "none"
    assert detector.detect("blocked at 58.74.121.78").level == "low"
    assert detector.detect("My name is Jessica Solomina").level == "medium"
    assert detector.detect("card 4716402611454369").level == "high"


def test_counts_are_per_span(detector: SensitivityDetector) -> None:
    result = detector.detect("mail a@x.io or b@y.io")
    assert [(f.kind, f.count) for f in result.findings] == [("email", 2)]
