"""Building a submission: its clocks, the receipt, the referral row and its event. Pure."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from referral_api.receipt import (
    Clocks,
    reference_for,
    warnings_for,
    what_happens_next,
)
from referral_api.schemas import ReferralReceipt, WrittenFollowUp
from referral_api.settings import ReferralSettings
from services.auth import Principal
from services.calendar import WorkingCalendar
from services.contracts.marf import Marf
from services.events.contracts import ReferralReceived
from services.models.referral import Referral


def agency_of(principal: Principal) -> str:
    # require_roles(referrer) admits only tokens that carry agency_id (services.auth).
    assert principal.agency_id is not None
    return principal.agency_id


def clocks_for(
    marf: Marf, calendar: WorkingCalendar, now: datetime, settings: ReferralSettings
) -> Clocks:
    call = marf.follow_up_to_phone_call
    # Every clock starts at receipt: for a phone referral, at the call (domain §5).
    received = min(call.call_at, now) if call is not None else now
    follow_up_due = (
        calendar.add_hours(call.call_at, settings.written_follow_up_hours) if call else None
    )
    decision_due = calendar.add_working_days(received, settings.decision_working_days)
    return Clocks(
        received_at=calendar.local(received),
        submitted_at=calendar.local(now),
        decision_due_at=calendar.local(decision_due),
        written_follow_up_due_at=calendar.local(follow_up_due) if follow_up_due else None,
    )


def receipt_for(marf: Marf, reference: str, clocks: Clocks) -> ReferralReceipt:
    call, due = marf.follow_up_to_phone_call, clocks.written_follow_up_due_at
    follow_up = None
    if call is not None and due is not None:
        follow_up = WrittenFollowUp(
            phone_call_at=call.call_at.astimezone(clocks.zone),
            phone_contact_reference=call.contact_reference,
            due_at=due,
            met_at=clocks.submitted_at,
            on_time=clocks.submitted_at <= due,
        )
    return ReferralReceipt(
        reference=reference,
        status="received",
        received_at=clocks.received_at,
        submitted_at=clocks.submitted_at,
        decision_due_at=clocks.decision_due_at,
        written_follow_up=follow_up,
        immediate_risk=marf.immediate_risk,
        what_happens_next=what_happens_next(marf, reference, clocks),
        warnings=warnings_for(marf, clocks),
        url=f"/v1/referrals/{reference}",
    )


def new_referral(
    referral_id: uuid.UUID, principal: Principal, marf: Marf, number: int, clocks: Clocks
) -> Referral:
    reference = reference_for(clocks.received_at.year, number)
    call = marf.follow_up_to_phone_call
    submitted_at = clocks.submitted_at.astimezone(UTC)
    due = clocks.written_follow_up_due_at
    return Referral(
        id=referral_id,
        reference=reference,
        council_id=principal.council_id,
        agency_id=agency_of(principal),
        submitted_by=principal.sub,
        received_at=clocks.received_at.astimezone(UTC),
        submitted_at=submitted_at,
        decision_due_at=clocks.decision_due_at.astimezone(UTC),
        phone_call_at=call.call_at.astimezone(UTC) if call else None,
        phone_contact_reference=call.contact_reference if call else None,
        written_follow_up_due_at=due.astimezone(UTC) if due else None,
        request_type=marf.request_type,
        immediate_risk=marf.immediate_risk,
        subject_count=len(marf.subjects),
        child_voice_missing=marf.child_voice_missing,
        marf=marf.model_dump(mode="json"),
        receipt=receipt_for(marf, reference, clocks).model_dump(mode="json"),
        status="received",
        status_changed_at=submitted_at,
    )


def received_event(referral: Referral) -> ReferralReceived:
    return ReferralReceived(
        referral_id=referral.id,
        reference=referral.reference,
        council_id=referral.council_id,
        agency_id=referral.agency_id,
        received_at=referral.received_at,
        submitted_at=referral.submitted_at,
        follow_up_to_phone_call=referral.phone_call_at is not None,
        phone_call_at=referral.phone_call_at,
        phone_contact_reference=referral.phone_contact_reference,
        child_voice_missing=referral.child_voice_missing,
        marf=referral.marf,
    )
