"""Attaching a new contact's children to their identities across contacts, and what the
child's flags add to the contact's facts (so the rule set can raise the proposal).

Matched as the re-referral check matches (NHS number, UPN, or normalised name + date of
birth); a child matched to none becomes a new identity. A worker can confirm a match or
split it off (triage.children.service). Kept free of the MASH access layer because intake
calls it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.marf import Subject
from services.models.mash import MashChild, MashChildLink
from services.models.triage import TriageContact
from triage.children import repository
from triage.contacts.facts import SubjectKeys, subject_keys, subject_summary

# Child flags the rule engine's `flags` fact knows (the MARF's own flags).
RULE_FLAGS = frozenset({"cse", "cce", "missing"})
LOOKED_AFTER_FLAGS = frozenset({"looked_after", "placed_by_other_la"})


def matched_on(key: SubjectKeys, child: MashChild) -> list[str]:
    methods = []
    if key.nhs_number and key.nhs_number == child.nhs_number:
        methods.append("nhs_number")
    if key.upn and key.upn == child.upn:
        methods.append("upn")
    if key.family_name_norm and (key.family_name_norm, key.given_name_norm, key.date_of_birth) == (
        child.family_name_norm,
        child.given_name_norm,
        child.date_of_birth,
    ):
        same_place = key.postcode and key.postcode == child.postcode
        methods.append("name_dob_postcode" if same_place else "name_dob")
    return methods


def new_child(council_id: str, key: SubjectKeys, display_name: str) -> MashChild:
    return MashChild(
        id=uuid.uuid4(),
        council_id=council_id,
        display_name=display_name or "Unnamed child",
        given_name_norm=key.given_name_norm,
        family_name_norm=key.family_name_norm,
        date_of_birth=key.date_of_birth,
        nhs_number=key.nhs_number,
        upn=key.upn,
        postcode=key.postcode,
        restricted=False,
        active_flags=[],
    )


def _learn(child: MashChild, key: SubjectKeys) -> None:
    """Identifiers the child's record lacked, learned from this contact."""
    child.nhs_number = child.nhs_number or key.nhs_number
    child.upn = child.upn or key.upn
    child.postcode = key.postcode or child.postcode


async def link_children(
    session: AsyncSession, contact: TriageContact, subjects: Sequence[Subject]
) -> list[MashChildLink]:
    """One link per subject: to the earliest matching child, or to a new identity."""
    today = contact.received_at.date()
    links = []
    for position, subject in enumerate(subjects):
        key = subject_keys(subject, position)
        found = await repository.matching(session, contact.council_id, key)
        if found:
            child, state, methods = found[0], "matched", matched_on(key, found[0])
            _learn(child, key)
        else:
            name = subject_summary(subject, position, today)["name"]
            child, state, methods = new_child(contact.council_id, key, name), "new", []
            session.add(child)
        link = MashChildLink(
            id=uuid.uuid4(),
            child_id=child.id,
            contact_id=contact.id,
            subject_position=position,
            matched_on=methods,
            state=state,
        )
        session.add(link)
        links.append(link)
    await session.flush()
    return links


async def with_child_flags(
    session: AsyncSession, council_id: str, subjects: Sequence[Subject], base: dict[str, Any]
) -> dict[str, Any]:
    """The contact's facts with its children's recorded flags added (never removed)."""
    active: set[str] = set()
    for position, subject in enumerate(subjects):
        for child in await repository.matching(
            session, council_id, subject_keys(subject, position)
        ):
            active |= set(child.active_flags or [])
    if not active:
        return base
    out = dict(base)
    out["flags"] = sorted(set(base.get("flags", [])) | (active & RULE_FLAGS))
    out["looked_after"] = bool(base.get("looked_after")) or bool(active & LOOKED_AFTER_FLAGS)
    out["disability_or_complex_health"] = (
        bool(base.get("disability_or_complex_health")) or "disability" in active
    )
    return out
