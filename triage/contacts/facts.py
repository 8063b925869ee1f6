"""From a MARF or a front-door record to the engine's facts and the subjects' match keys.

Pure functions. Names are normalised for matching only (case, accents, punctuation and
spacing removed); the stored record keeps what the referrer wrote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.contracts.marf import Marf, Subject, age_on

# An allegation of significant harm (domain §3): these concerns, consent dispensed because
# asking would put the child at risk of significant harm, or the referrer judging level 4.
SIGNIFICANT_HARM_CONCERNS = frozenset({"physical_abuse", "sexual_abuse", "fgm"})


def normalise_name(raw: str | None) -> str | None:
    if not raw:
        return None
    decomposed = unicodedata.normalize("NFKD", raw)
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    out = re.sub(r"[^a-z]", "", letters.lower())
    return out or None


@dataclass(frozen=True)
class SubjectKeys:
    position: int
    kind: str
    given_name_norm: str | None
    family_name_norm: str | None
    date_of_birth: date | None
    nhs_number: str | None
    upn: str | None
    postcode: str | None


def subject_keys(subject: Subject, position: int) -> SubjectKeys:
    mother = subject.mother
    return SubjectKeys(
        position=position,
        kind=subject.kind,
        given_name_norm=normalise_name(subject.given_name),
        family_name_norm=normalise_name(
            subject.family_name or (mother.family_name if mother else None)
        ),
        date_of_birth=subject.date_of_birth,
        nhs_number=subject.nhs_number,
        upn=subject.upn,
        postcode=subject.address.postcode if subject.address else None,
    )


def subject_summary(subject: Subject, position: int, today: date) -> dict[str, Any]:
    """What the queue shows for one child of a sibling group."""
    if subject.kind == "unborn":
        mother = subject.mother
        name = f"Unborn baby of {mother.given_name} {mother.family_name}" if mother else "Unborn"
        return {"position": position, "kind": "unborn", "name": name, "age": None}
    name = " ".join(p for p in (subject.given_name, subject.family_name) if p)
    age = age_at(subject.date_of_birth, today) if subject.date_of_birth else None
    return {"position": position, "kind": subject.kind, "name": name, "age": age}


def age_at(born: date, today: date) -> int:
    """Age in whole years; a child born after the receipt date (a MARF written after the
    birth that followed a phone call) is 0, never negative."""
    return max(0, age_on(born, today))


def _ages(subjects: list[Subject], today: date) -> list[int]:
    return [age_at(s.date_of_birth, today) for s in subjects if s.date_of_birth]


def facts_from_subjects(subjects: list[Subject], today: date) -> dict[str, Any]:
    ages = _ages(subjects, today)
    return {
        "subject_kinds": sorted({s.kind for s in subjects}),
        "subject_count": len(subjects),
        "youngest_age": min(ages) if ages else None,
        "oldest_age": max(ages) if ages else None,
        "unborn": any(s.kind == "unborn" for s in subjects),
        "flags": sorted(
            {f for s in subjects for f in ("cse", "missing", "cce") if getattr(s.flags, f)}
        ),
        "disability_or_complex_health": any(s.disability or s.complex_health for s in subjects),
        "looked_after": any(s.looked_after and s.looked_after.is_looked_after for s in subjects),
    }


def facts_from_marf(
    marf: Marf, *, today: date, in_office_hours: bool, previous_referrals_12m: int
) -> dict[str, Any]:
    categories = sorted({c.category for c in marf.concerns})
    harm = (
        bool(SIGNIFICANT_HARM_CONCERNS & set(categories))
        or marf.consent.state == "dispensed"
        or marf.referrer_view_of_level == 4
    )
    return {
        **facts_from_subjects(marf.subjects, today),
        "concern_categories": categories,
        "immediate_risk": marf.immediate_risk,
        "emergency_services_called": marf.emergency_services_called,
        "significant_harm_alleged": harm,
        "consent_state": marf.consent.state,
        "request_type": marf.request_type,
        "referral_source": marf.referrer.referral_source,
        "contact_kind": "marf",
        "channel": "api",
        "dv_risk_level": None,
        "previous_referrals_12m": previous_referrals_12m,
        "in_office_hours": in_office_hours,
        "referrer_view_of_level": marf.referrer_view_of_level,
        "allegation_against_professional": False,
        "child_voice_present": not marf.child_voice_missing,
    }
