"""Identifier checks for children's records: NHS number, UPN, UK postcode. Pure functions.

Malformed identifiers are errors, never silently stored: each `check_*` returns the normalised
value or raises ValueError with a reason that never repeats the value itself.
"""

from __future__ import annotations

import re

# DfE Unique Pupil Number check-letter alphabet (no I, O, S).
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_SHAPE = re.compile(r"^[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]$")
_POSTCODE = re.compile(
    r"^(GIR ?0AA|[A-PR-UWYZ]"
    r"([0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY])"
    r" ?[0-9][ABD-HJLNP-UW-Z]{2})$"
)


def nhs_check_digit(first_nine: str) -> int | None:
    """Modulus 11 over weights 10..2; None when the check digit would be 10 (never issued)."""
    total = sum(int(d) * w for d, w in zip(first_nine, range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def check_nhs_number(raw: str) -> str:
    value = re.sub(r"[\s-]", "", raw)
    if not re.fullmatch(r"[0-9]{10}", value):
        raise ValueError("an NHS number is 10 digits")
    expected = nhs_check_digit(value[:9])
    if expected is None or expected != int(value[9]):
        raise ValueError("the NHS number's check digit is wrong")
    return value


def upn_check_letter(body: str) -> str:
    """The check letter for the 12 characters after it: mod 23 over weights 2..13."""
    total = 0
    for weight, char in enumerate(body, start=2):
        total += int(char) * weight if char.isdigit() else UPN_ALPHABET.index(char) * weight
    return UPN_ALPHABET[total % 23]


def check_upn(raw: str) -> str:
    value = raw.strip().upper()
    if not _UPN_SHAPE.fullmatch(value):
        raise ValueError("a UPN is a check letter followed by 11 digits and a digit or letter")
    if upn_check_letter(value[1:]) != value[0]:
        raise ValueError("the UPN's check letter is wrong")
    return value


def check_postcode(raw: str) -> str:
    """A UK postcode, normalised to upper case with one space before the inward code."""
    compact = re.sub(r"\s+", "", raw).upper()
    if not _POSTCODE.fullmatch(compact):
        raise ValueError("not a valid UK postcode")
    return f"{compact[:-3]} {compact[-3:]}"
