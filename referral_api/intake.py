"""Building a submission: its clocks, the receipt, the referral row and its event. Pure."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

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


# Stands for the reference until the database draws its number (see `Submission.receipt`):
# it only ever appears in text this service writes itself, never in the caller's data.
REFERENCE_PLACEHOLDER = "FD-YYYY-NNNNNN"


@dataclass(frozen=True)
class PreparedSubmission:
    """Everything the intake statement writes, computed before the database is touched.

    Only the reference number is missing: the statement draws it from the sequence and puts
    the reference into the row, the stored receipt and the event (repository.insert_submission).
    """

    referral_id: uuid.UUID
    event_id: uuid.UUID
    reference_year: int  # the receipt's year in the council's zone
    council_id: str
    agency_id: str
    submitted_by: str
    received_at: datetime
    submitted_at: datetime
    decision_due_at: datetime
    phone_call_at: datetime | None
    phone_contact_reference: str | None
    written_follow_up_due_at: datetime | None
    request_type: str
    immediate_risk: bool
    subject_count: int
    child_voice_missing: bool
    marf_json: str
    receipt: dict[str, Any]  # with REFERENCE_PLACEHOLDER where the reference goes
    event_json: str  # ReferralReceived without `reference` and `marf` (the statement adds them)

    @property
    def receipt_json(self) -> str:
        return orjson.dumps(self.receipt).decode()

    @property
    def what_happens_next(self) -> str:
        return str(self.receipt["what_happens_next"])

    def reference(self, number: int) -> str:
        return reference_for(self.reference_year, number)

    @property
    def reference_prefix(self) -> str:
        """What precedes the number: the statement pads the number as `reference_for` does."""
        return reference_for(self.reference_year, 0).removesuffix("000000")

    def receipt_for(self, reference: str) -> dict[str, Any]:
        """The receipt as stored by the statement: the reference in its three places."""
        return {
            **self.receipt,
            "reference": reference,
            "url": f"/v1/referrals/{reference}",
            "what_happens_next": self.what_happens_next.replace(REFERENCE_PLACEHOLDER, reference),
        }


def prepare_submission(
    principal: Principal, marf: Marf, clocks: Clocks, *, referral_id: uuid.UUID
) -> PreparedSubmission:
    call = marf.follow_up_to_phone_call
    received_at = clocks.received_at.astimezone(UTC)
    submitted_at = clocks.submitted_at.astimezone(UTC)
    due = clocks.written_follow_up_due_at
    phone_call_at = call.call_at.astimezone(UTC) if call else None
    phone_reference = call.contact_reference if call else None
    event = ReferralReceived(
        referral_id=referral_id,
        reference=REFERENCE_PLACEHOLDER,
        council_id=principal.council_id,
        agency_id=agency_of(principal),
        received_at=received_at,
        submitted_at=submitted_at,
        follow_up_to_phone_call=call is not None,
        phone_call_at=phone_call_at,
        phone_contact_reference=phone_reference,
        child_voice_missing=marf.child_voice_missing,
        marf={},
    ).model_dump_json(exclude={"reference", "marf"})
    return PreparedSubmission(
        referral_id=referral_id,
        event_id=uuid.uuid4(),
        reference_year=clocks.received_at.year,
        council_id=principal.council_id,
        agency_id=agency_of(principal),
        submitted_by=principal.sub,
        received_at=received_at,
        submitted_at=submitted_at,
        decision_due_at=clocks.decision_due_at.astimezone(UTC),
        phone_call_at=phone_call_at,
        phone_contact_reference=phone_reference,
        written_follow_up_due_at=due.astimezone(UTC) if due else None,
        request_type=marf.request_type,
        immediate_risk=marf.immediate_risk,
        subject_count=len(marf.subjects),
        child_voice_missing=marf.child_voice_missing,
        marf_json=marf.model_dump_json(),
        receipt=receipt_for(marf, REFERENCE_PLACEHOLDER, clocks).model_dump(mode="json"),
        event_json=event,
    )
