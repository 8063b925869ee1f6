"""A worker reconciles a MARF that claims to follow up a phone contact it did not match.

`separate`: it is not that call; the claim is closed with the worker's note and the phone
contact keeps waiting for its written follow-up. `join`: it is that call after all (say the
agency was recorded wrongly); the MARF is added to the phone contact exactly as an automatic
join would add it, and the MARF's own contact is closed as `merged` (its clocks paused with
the reason, never counted as met). Both are recorded on the claim and audited.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.contracts.marf import Marf
from services.events.contracts import ReferralReceived
from services.models.triage import TriageContact
from triage.contacts.access import contact_for
from triage.contacts.exceptions import WrongContactState
from triage.contacts.repository import get_contact
from triage.contacts.schemas import FollowUpReconcile
from triage.intake import repository
from triage.intake.exceptions import FollowUpClaimNotFound
from triage.intake.service import STORED, emit_triaged, join_phone_contact
from triage.settings import TriageSettings

SERVICE = "triage"


async def reconcile(
    session: AsyncSession,
    *,
    principal: Principal,
    contact_id: uuid.UUID,
    body: FollowUpReconcile,
    settings: TriageSettings,
) -> TriageContact:
    contact = await contact_for(session, principal, contact_id, lock=True)
    claim = contact.follow_up_claim
    if claim is None:
        raise FollowUpClaimNotFound()
    if claim.get("resolution"):
        raise WrongContactState("This claim has already been reconciled.")
    now = datetime.now(UTC)
    if body.action == "join":
        await _join(session, principal, contact, settings, now)
    contact.follow_up_claim = {**claim, "resolution": _resolution(principal, body, now)}
    await session.flush()
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action=f"contact.follow_up_claim.{body.action}",
        entity_type="contact",
        entity_id=contact.id,
    )
    return contact


def _resolution(principal: Principal, body: FollowUpReconcile, at: datetime) -> dict[str, Any]:
    return {"action": body.action, "by": principal.sub, "at": at.isoformat(), "note": body.note}


async def _join(
    session: AsyncSession,
    principal: Principal,
    contact: TriageContact,
    settings: TriageSettings,
    now: datetime,
) -> None:
    phone = await _phone_for(session, contact)
    if contact.status != "open" or contact.referral_id is None:
        raise WrongContactState("Only an open, undecided MARF contact is joined.")
    payload = ReferralReceived(
        referral_id=contact.referral_id,
        reference=contact.referral_reference or "",
        council_id=contact.council_id,
        agency_id=contact.agency_id or "",
        received_at=contact.received_at,
        submitted_at=contact.written_follow_up_at or now,
        follow_up_to_phone_call=True,
        phone_call_at=contact.received_at,
        phone_contact_reference=phone.reference,
        child_voice_missing=not contact.child_voice_present,
        marf=contact.record["marf"],
    )
    contact.referral_id = None  # the referral moves to the phone contact (one contact each)
    contact.status, contact.lease_holder, contact.lease_expires_at = "merged", None, None
    await session.flush()
    marf = Marf.model_validate(payload.marf, context=STORED)
    await join_phone_contact(session, phone, payload, marf, settings)
    await repository.pause_running_clocks(
        session, contact.id, f"merged into {phone.reference}", now
    )
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.follow_up_joined",
        entity_type="contact",
        entity_id=phone.id,
    )
    await emit_triaged(session, phone)


async def _phone_for(session: AsyncSession, contact: TriageContact) -> TriageContact:
    if contact.linked_phone_contact_id is None:
        raise WrongContactState("The claim names no phone contact to join.")
    phone = await get_contact(
        session,
        council_id=contact.council_id,
        contact_id=contact.linked_phone_contact_id,
        lock=True,
    )
    ok = phone is not None and phone.channel == "phone" and phone.referral_id is None
    if phone is None or not ok or phone.status != "open":
        raise WrongContactState("The phone contact is no longer open for a written follow-up.")
    return phone
