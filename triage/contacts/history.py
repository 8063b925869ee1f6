"""Re-referral detection: the child's earlier contacts, matched on NHS number, UPN, or
normalised name + date of birth.

A family that moved is still the same child: name + date of birth matches whatever the
postcodes, and how the match was made says so (`name_dob_postcode` when both postcodes
are known and equal, `name_dob_postcode_differs` when they differ, `name_dob` when one is
unknown), so the worker can weigh a match on name and birthday alone.

A re-referral is a referral within 12 months of a previous referral for the same child.
A previous contact counts as a referral when it was decided as one, or, while still
undecided, when the rules proposed it as one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageSubject
from triage.contacts import repository
from triage.contacts.facts import SubjectKeys
from triage.contacts.repository import EarlierContact

DAYS_PER_MONTH = 30.44  # mean Gregorian month, to turn "12 months" into a window


@dataclass
class Match:
    contact: EarlierContact
    matched_on: set[str] = field(default_factory=set)

    @property
    def was_referral(self) -> bool:
        kind = self.contact.contact_type or self.contact.proposed_type
        return kind == "referral"


def _methods(key: SubjectKeys, row: TriageSubject) -> set[str]:
    out = set()
    if key.nhs_number and key.nhs_number == row.nhs_number:
        out.add("nhs_number")
    if key.upn and key.upn == row.upn:
        out.add("upn")
    same_name = (
        key.family_name_norm is not None
        and key.given_name_norm is not None
        and key.date_of_birth is not None
        and (key.family_name_norm, key.given_name_norm, key.date_of_birth)
        == (row.family_name_norm, row.given_name_norm, row.date_of_birth)
    )
    if same_name:
        if key.postcode and row.postcode:
            same_place = key.postcode == row.postcode
            out.add("name_dob_postcode" if same_place else "name_dob_postcode_differs")
        else:
            out.add("name_dob")
    return out


async def find_history(
    session: AsyncSession,
    *,
    council_id: str,
    keys: Sequence[SubjectKeys],
    before: datetime,
    exclude: uuid.UUID | None,
) -> list[Match]:
    """Earlier contacts about any of these children, newest first."""
    nhs = [k.nhs_number for k in keys if k.nhs_number]
    upns = [k.upn for k in keys if k.upn]
    names = [
        (k.family_name_norm, k.given_name_norm, k.date_of_birth)
        for k in keys
        if k.family_name_norm and k.given_name_norm and k.date_of_birth
    ]
    rows = await repository.earlier_subjects(
        session,
        council_id=council_id,
        nhs_numbers=nhs,
        upns=upns,
        names=names,
        before=before,
        exclude=exclude,
    )
    matches: dict[uuid.UUID, Match] = {}
    for subject, contact in rows:
        methods = set().union(*(_methods(k, subject) for k in keys))
        if methods:
            matches.setdefault(contact.id, Match(contact)).matched_on |= methods
    return list(matches.values())


def referrals_within(matches: Sequence[Match], at: datetime, months: int) -> int:
    since = at - timedelta(days=months * DAYS_PER_MONTH)
    return sum(1 for m in matches if m.was_referral and m.contact.received_at >= since)


def match_methods(key: SubjectKeys, row: TriageSubject) -> set[str]:
    """How a child's keys match a stored subject (empty: not the same child)."""
    return _methods(key, row)
