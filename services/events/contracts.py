"""Event contracts: topic names, payload schemas, and which consumers subscribe to each.

Each topic is one payload class: the class names its topic (`topic: ClassVar[str]`), `emit`
takes the payload and derives the topic from it, and the registry (`PAYLOADS`,
`SUBSCRIPTIONS`) is built from the classes, so a topic and its payload cannot drift apart.
A family of topics with one shape (a clock's warning and breach) is a base class with one
subclass per topic.

The services share these contracts, never code paths. A payload carries what its consumer
needs to keep its own copy (the referral service never reads triage tables and vice versa).
Payloads live only in the database's outbox: never in logs, metrics or webhook bodies.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EventPayload(_Contract):
    """A payload; a concrete subclass names its topic (a base of a family leaves it unset)."""

    topic: ClassVar[str]


class ReferralReceived(EventPayload):
    """`referral.received`: a partner agency's MARF was accepted (referral_api -> triage)."""

    topic = "referral.received"

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

    topic = "referral.addendum_added"

    referral_id: uuid.UUID
    reference: str
    addendum_id: uuid.UUID
    added_at: datetime
    text: str


class ContactTriaged(EventPayload):
    """`contact.triaged`: a referral is in the front door's queue (triage -> referral_api)."""

    topic = "contact.triaged"

    contact_id: uuid.UUID
    contact_reference: str
    referral_id: uuid.UUID | None
    at: datetime
    # The contact's council: referral_api applies the event only to a referral of that council.
    council_id: str


class ContactDecided(EventPayload):
    """`contact.decided`: the decision counts as made (signed off where needed)."""

    topic = "contact.decided"

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

    topic = "contact.feedback_given"

    contact_id: uuid.UUID
    referral_id: uuid.UUID | None
    given_at: datetime
    feedback: str
    next_steps: str
    # The contact's council: referral_api applies the event only to a referral of that council.
    council_id: str


class EncompassChild(_Contract):
    """One child in an `EncompassRequested` payload."""

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

    topic = "dv.encompass_requested"

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


class EncompassNotificationCreated(EncompassNotificationEvent):
    topic = "encompass.notification.created"


class EncompassNotificationDelivered(EncompassNotificationEvent):
    topic = "encompass.notification.delivered"


class EncompassNotificationAcknowledged(EncompassNotificationEvent):
    topic = "encompass.notification.acknowledged"


class EncompassEscalated(EventPayload):
    """`encompass.escalated`: nothing acknowledged by the escalation time before school start."""

    topic = "encompass.escalated"

    notification_id: uuid.UUID
    school_urn: str | None
    deadline_at: datetime
    at: datetime


class EncompassEndpointDisabled(EventPayload):
    """`encompass.endpoint_disabled`: a school's webhook endpoint was switched off."""

    topic = "encompass.endpoint_disabled"

    endpoint_id: uuid.UUID
    school_urn: str
    reason: str
    at: datetime


class EncompassEheTaskRaised(EventPayload):
    """`encompass.ehe_task_raised`: no known school (or EHE): a task for the front door."""

    topic = "encompass.ehe_task_raised"

    task_id: uuid.UUID
    notification_id: uuid.UUID
    reason: Literal["no_school", "unknown_school", "ehe"]
    at: datetime


class WrittenFollowUpOverdue(EventPayload):
    """`contact.written_follow_up_overdue`: a phone referral had no MARF within 24 hours."""

    topic = "contact.written_follow_up_overdue"

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
    council_id: str
    contact_reference: str | None = None


class ClockDueSoon(ClockEvent):
    topic = "clock.due_soon"


class ClockBreached(ClockEvent):
    topic = "clock.breached"


# payload class -> the consumers that receive its topic. A consumer name is
# "<service>.<purpose>". Every concrete payload class is listed, with no consumer if need be.
_SUBSCRIBERS: dict[type[EventPayload], tuple[str, ...]] = {
    ReferralReceived: ("triage.intake",),
    ReferralAddendumAdded: ("triage.intake",),
    ContactTriaged: ("referral_api.status",),
    ContactDecided: ("referral_api.status", "triage.handover"),
    ContactFeedbackGiven: ("referral_api.status",),
    # The front door is told: the notifications service owns email delivery.
    WrittenFollowUpOverdue: ("notifications.front_door",),
    ClockDueSoon: ("notifications.front_door",),
    ClockBreached: ("notifications.front_door",),
    EncompassRequested: ("notifications.intake",),
    EncompassNotificationCreated: (),
    EncompassNotificationDelivered: (),
    EncompassNotificationAcknowledged: (),
    EncompassEscalated: (),
    EncompassEndpointDisabled: (),
    EncompassEheTaskRaised: (),
}


def _by_topic() -> dict[str, type[EventPayload]]:
    payloads: dict[str, type[EventPayload]] = {}
    for cls in _SUBSCRIBERS:
        if cls.topic in payloads:
            raise RuntimeError(f"topic {cls.topic!r} is named by two payload classes")
        payloads[cls.topic] = cls
    return payloads


# topic -> its payload class, and topic -> the consumers that receive it.
PAYLOADS: dict[str, type[EventPayload]] = _by_topic()
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    cls.topic: consumers for cls, consumers in _SUBSCRIBERS.items()
}


def consumers_for(topic: str) -> tuple[str, ...]:
    if topic not in SUBSCRIPTIONS:
        raise KeyError(f"unknown event topic {topic!r}: add its payload class to _SUBSCRIBERS")
    return SUBSCRIPTIONS[topic]
