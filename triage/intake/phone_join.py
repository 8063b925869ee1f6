"""Joining a MARF to the phone contact it says it follows up, only when it really does.

A MARF quoting a phone contact's reference joins that contact only when it is the same
referrer's call: the agency recorded on the phone contact, a child that matches one of the
phone contact's children (NHS number, UPN, or name and date of birth), and a call time
within the council's tolerance of the call's. Anything else becomes its own contact, linked
as "claims to follow up FDC-…" with the reasons, for a worker to reconcile. A join never
overwrites what the phone contact recorded: the MARF is added to it (its record kept whole,
its children kept and new ones added, facts combined, the written follow-up met).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.marf import Marf, Subject
from services.events.contracts import ReferralReceived
from services.models.triage import TriageContact
from triage.contacts.facts import SubjectKeys, subject_keys
from triage.contacts.history import match_methods
from triage.intake import repository

STORED = {"stored": True}
# Facts the MARF adds to what the phone contact recorded (sets are joined, flags OR-ed).
SET_FACTS = ("concern_categories", "flags", "subject_kinds")
TRUE_IF_EITHER = (
    "immediate_risk",
    "emergency_services_called",
    "significant_harm_alleged",
    "child_voice_present",
    "disability_or_complex_health",
    "looked_after",
    "allegation_against_professional",
    "unborn",
)
# What only the MARF can say (the phone record has no such field).
FROM_MARF_WHEN_MISSING = ("consent_state", "request_type", "referrer_view_of_level")


def _minutes_apart(a: datetime, b: datetime) -> float:
    return abs((a - b).total_seconds()) / 60


async def mismatches(
    session: AsyncSession,
    phone: TriageContact | None,
    payload: ReferralReceived,
    marf: Marf,
    tolerance: timedelta,
) -> list[str]:
    """Why the MARF may not join the quoted contact (empty: it joins)."""
    if phone is None:
        return ["no contact has this reference"]
    if phone.channel != "phone":
        return ["the quoted contact is not a phone contact"]
    if phone.referral_id is not None:
        return [f"the phone contact is already followed up by {phone.referral_reference}"]
    reasons: list[str] = []
    if phone.agency_id is None:
        reasons.append("the phone contact recorded no agency to match")
    elif phone.agency_id != payload.agency_id:
        reasons.append("the MARF is from another agency than the phone call")
    rows = await repository.subjects_of(session, phone.id)
    keys = [subject_keys(s, i) for i, s in enumerate(marf.subjects)]
    if not any(match_methods(k, row) for k in keys for row in rows):
        reasons.append("no child on the MARF matches a child on the phone contact")
    call = payload.phone_call_at
    if call is None:
        reasons.append("the MARF gives no call time")
    elif _minutes_apart(call, phone.received_at) > tolerance.total_seconds() / 60:
        apart = round(_minutes_apart(call, phone.received_at))
        reasons.append(f"the call time is {apart} minutes from the phone contact's")
    return reasons


def claim_for(reference: str, reasons: list[str]) -> dict[str, Any]:
    ref = reference.strip().upper()
    return {"reference": ref, "note": f"claims to follow up {ref}", "reasons": reasons}


def phone_subjects(contact: TriageContact) -> list[Subject]:
    raw = contact.record.get("contact", {}).get("subjects", [])
    return [Subject.model_validate(s, context=STORED) for s in raw]


def merged_subjects(phone: list[Subject], marf: list[Subject]) -> tuple[list[Subject], list[int]]:
    """The phone contact's children, then the MARF's children that match none of them."""
    phone_keys = [subject_keys(s, i) for i, s in enumerate(phone)]
    added = [s for s in marf if not _matches_any(subject_keys(s, 0), phone_keys)]
    return [*phone, *added], list(range(len(phone), len(phone) + len(added)))


def _matches_any(key: SubjectKeys, others: list[SubjectKeys]) -> bool:
    for other in others:
        if key.nhs_number and key.nhs_number == other.nhs_number:
            return True
        if key.upn and key.upn == other.upn:
            return True
        same = (key.family_name_norm, key.given_name_norm, key.date_of_birth)
        if None not in same and same == (
            other.family_name_norm,
            other.given_name_norm,
            other.date_of_birth,
        ):
            return True
    return False


def merged_facts(phone: dict[str, Any], marf: dict[str, Any]) -> dict[str, Any]:
    """What the phone contact recorded, plus what the MARF adds; nothing of it replaced."""
    out = dict(phone)
    for name in SET_FACTS:
        out[name] = sorted(set(phone.get(name) or ()) | set(marf.get(name) or ()))
    for name in TRUE_IF_EITHER:
        out[name] = bool(phone.get(name)) or bool(marf.get(name))
    for name in FROM_MARF_WHEN_MISSING:
        if out.get(name) is None:
            out[name] = marf.get(name)
    return out
