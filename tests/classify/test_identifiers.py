"""Structured identifiers: positives, checksum failures and look-alikes."""

from __future__ import annotations

import pytest

from gateway.classify.identifiers import find_identifiers, iban_valid, luhn_valid
from gateway.classify.sensitivity import SensitivityDetector


def kinds(text: str, threshold: float = 0.5) -> set[str]:
    return {hit.kind for hit in find_identifiers(text) if hit.confidence >= threshold}


def test_luhn() -> None:
    assert luhn_valid("4532276644577020")
    assert not luhn_valid("4532276644577021")


@pytest.mark.parametrize(
    "card", ["4532276644577020", "4532 2766 4457 7020", "4532-2766-4457-7020", "5213591727586604"]
)
def test_luhn_valid_card_numbers_are_found(card: str) -> None:
    assert "card_number" in kinds(f"My card {card} expires soon")


def test_luhn_invalid_card_number_is_not_a_card() -> None:
    assert "card_number" not in kinds("My card 4532276644577021 expires soon")


def test_repeated_digits_are_not_a_card() -> None:
    assert "card_number" not in kinds("order 0000000000000000 shipped")


@pytest.mark.parametrize(
    "iban", ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000", "fr1420041010050500013m02606"]
)
def test_valid_ibans_are_found(iban: str) -> None:
    assert iban_valid(iban)
    assert "iban" in kinds(f"Please send it to {iban} today")


def test_iban_with_a_wrong_check_digit_is_rejected() -> None:
    assert not iban_valid("GB83WEST12345698765432")
    assert "iban" not in kinds("Reference GB83WEST12345698765432 noted")


def test_iban_with_a_wrong_length_for_its_country_is_rejected() -> None:
    assert not iban_valid("DE8937040044053201300")


def test_a_mistyped_iban_still_counts_when_called_an_iban() -> None:
    assert "iban" in kinds("My IBAN is GB63LLDT4288191313897")


def test_email() -> None:
    assert "email" in kinds("Write to LeaVLind@superrito.com please")
    assert "email" not in kinds("the @decorator syntax in Python")


def test_us_ssn_formats() -> None:
    assert "us_ssn" in kinds("His social security number is 531-21-7351")
    assert "us_ssn" in kinds("ssn 531217351")
    assert "us_ssn" not in kinds("Call 666-21-7351")  # 666 is never issued
    assert "us_ssn" not in kinds("part 531-21-7351-9")


def test_uk_nino() -> None:
    assert "uk_nino" in kinds("My NI number is AB 12 34 56 C")
    assert "uk_nino" not in kinds("Reference GB 12 34 56 C")  # GB is not a valid prefix


def test_id_introduced_by_its_name() -> None:
    assert "driver_license" in kinds("My driver's license number is 481195160")
    assert "passport" in kinds("passport no: X1234567")


@pytest.mark.parametrize("ip", ["58.74.121.78", "2001:db8:85a3::8a2e:370:7334"])
def test_ip_addresses(ip: str) -> None:
    assert "ip_address" in kinds(f"blocked from {ip} again")


def test_version_numbers_and_times_are_not_ip_addresses() -> None:
    assert "ip_address" not in kinds("upgrade to 1.2.3.400 or 10.0.0.0.1 at 14:48:14, see std::vector")


def test_date_of_birth_needs_a_birth_cue() -> None:
    assert "date_of_birth" in kinds("She was born on 12/27/1986.")
    assert "date_of_birth" in kinds("DOB: 1986-12-27")
    assert "date_of_birth" not in kinds("The meeting is on 12/27/1986.")


@pytest.mark.parametrize(
    "text",
    [
        "Please call me at (96) 627-277",
        "Can someone call me on 21 212 133 2727?",
        "Mobile: 041-412-293",
        "Desk: 986.291.2294x751",
        "reach me on +358604456926",
        "555-123-4567 is my number",
    ],
)
def test_phone_numbers(text: str) -> None:
    assert "phone" in kinds(text)


@pytest.mark.parametrize(
    "text",
    [
        "When: 1998-06-28 14:48:14",
        "In 2017 about 13 million works",
        "pi is 3.14159265",
        "order 123456789012345",
    ],
)
def test_numbers_that_are_not_phones(text: str) -> None:
    assert "phone" not in kinds(text)


def test_findings_never_carry_the_value(detector: SensitivityDetector) -> None:
    result = detector.detect("card 4532276644577020, mail a@b.co")
    assert all("4532" not in repr(finding) and "a@b.co" not in repr(finding) for finding in result.findings)
    assert result.level == "high"
