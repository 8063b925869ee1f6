"""Event contracts: topic names, payload schemas, and which consumers subscribe to each.

The services share these contracts, never code paths. A payload carries what its consumer
needs to keep its own copy (the referral service never reads triage tables and vice versa).
Payloads live only in the database's outbox: never in logs, metrics or webhook bodies.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ReferralReceived(EventPayload):
    """`referral.received`: a partner agency's MARF was accepted (referral_api -> triage)."""

    referral_id: uuid.UUID
    reference: str
    council_id: str
    agency_id: str
    # Receipt: the server's clock, or the original call time for a phone follow-up.
    received_at: datetime
    submitted_at: datetime
    follow_up_to_phone_call: bool
    phone_call_at: datetime | None = None
    phone_contact_reference: str | None = None
    child_voice_missing: bool
    # The validated MARF exactly as stored (see services.contracts.marf for its schema).
    marf: dict[str, Any]


class ReferralAddendumAdded(EventPayload):
    """`referral.addendum_added`: more information after submission (referral_api -> triage)."""

    referral_id: uuid.UUID
    reference: str
    addendum_id: uuid.UUID
    added_at: datetime
    text: str


class ContactTriaged(EventPayload):
    """`contact.triaged`: a referral is in the front door's queue (triage -> referral_api)."""

    contact_id: uuid.UUID
    contact_reference: str
    referral_id: uuid.UUID | None
    at: datetime
    # The contact's council: referral_api applies the event only to a referral of that council.
    council_id: str


class ContactDecided(EventPayload):
    """`contact.decided`: the decision counts as made (signed off where needed)."""

    contact_id: uuid.UUID
    referral_id: uuid.UUID | None
    decided_at: datetime
    contact_type: str
    outcome: str
    # What the referrer is told: the outcome in plain words and what happens next. Nothing
    # about other agencies' information.
    outcome_summary: str
    next_steps: str
    # The contact's council: referral_api applies the event only to a referral of that council.
    council_id: str


class ContactFeedbackGiven(EventPayload):
    """`contact.feedback_given`: the front door's feedback to the referrer."""

    contact_id: uuid.UUID
    referral_id: uuid.UUID | None
    given_at: datetime
    feedback: str
    next_steps: str
    # The contact's council: referral_api applies the event only to a referral of that council.
    council_id: str


class EncompassChild(EventPayload):
    given_name: str
    family_name: str
    date_of_birth: date | None = None
    school_urn: str | None = None
    education_status: str | None = None
    present: bool | None = None
    spoken_to: bool | None = None
    child_voice: str | None = None


class EncompassRequested(EventPayload):
    """`dv.encompass_requested`: DV screening routes an incident to Operation Encompass."""

    contact_id: uuid.UUID
    council_id: str
    force_id: str
    police_reference: str
    incident_at: datetime
    area: str | None = None
    children: list[EncompassChild]
    adult_roles: list[str] = []
    circumstances: str | None = None


class EncompassNotificationEvent(EventPayload):
    """`encompass.notification.created|delivered|acknowledged`: ids and times only."""

    notification_id: uuid.UUID
    incident_id: uuid.UUID
    school_urn: str | None
    deadline_at: datetime | None
    at: datetime


class EncompassEscalated(EventPayload):
    """`encompass.escalated`: nothing acknowledged by the escalation time before school start."""

    notification_id: uuid.UUID
    school_urn: str | None
    deadline_at: datetime
    at: datetime


class EncompassEndpointDisabled(EventPayload):
    """`encompass.endpoint_disabled`: a school's webhook endpoint was switched off."""

    endpoint_id: uuid.UUID
    school_urn: str
    reason: str
    at: datetime


class EncompassEheTaskRaised(EventPayload):
    """`encompass.ehe_task_raised`: no known school (or EHE): a task for the front door."""

    task_id: uuid.UUID
    notification_id: uuid.UUID
    reason: Literal["no_school", "unknown_school", "ehe"]
    at: datetime


class WrittenFollowUpOverdue(EventPayload):
    """`contact.written_follow_up_overdue`: a phone referral had no MARF within 24 hours."""

    contact_id: uuid.UUID
    contact_reference: str
    council_id: str
    phone_call_at: datetime
    overdue_at: datetime
    # Where the chase goes: the referrer's email as recorded on the phone contact (a
    # professional's work address, never the child's). Optional: older events lack it.
    referrer_email: str | None = None


class ClockEvent(EventPayload):
    """`clock.due_soon` / `clock.breached`: emitted exactly once per clock."""

    clock_id: uuid.UUID
    contact_id: uuid.UUID
    kind: str
    deadline_at: datetime
    state: Literal["running", "breached", "met", "paused"]
    # For the alert to the council's duty manager (its address and the contact's link).
    # Optional so that events written before they were added still apply.
    council_id: str | None = None
    contact_reference: str | None = None


# topic -> the consumers that receive it. A consumer name is "<service>.<purpose>".
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "referral.received": ("triage.intake",),
    "referral.addendum_added": ("triage.intake",),
    "contact.triaged": ("referral_api.status",),
    "contact.decided": ("referral_api.status", "triage.handover"),
    "contact.feedback_given": ("referral_api.status",),
    # The front door is told: the notifications service owns email delivery.
    "contact.written_follow_up_overdue": ("notifications.front_door",),
    "clock.due_soon": ("notifications.front_door",),
    "clock.breached": ("notifications.front_door",),
    "dv.encompass_requested": ("notifications.intake",),
    "encompass.notification.created": (),
    "encompass.notification.delivered": (),
    "encompass.notification.acknowledged": (),
    "encompass.escalated": (),
    "encompass.endpoint_disabled": (),
    "encompass.ehe_task_raised": (),
}


def consumers_for(topic: str) -> tuple[str, ...]:
    if topic not in SUBSCRIPTIONS:
        raise KeyError(f"unknown event topic {topic!r}: add it to SUBSCRIPTIONS")
    return SUBSCRIPTIONS[topic]


def topic_payload(payload: EventPayload | dict[str, Any]) -> dict[str, Any]:
    if isinstance(payload, EventPayload):
        return payload.model_dump(mode="json")
    return payload
