"""Event contracts: topic names, payload schemas, and which consumers subscribe to each.

The services share these contracts, never code paths. Payloads carry record ids and coded
facts; anything about a child that a consumer needs travels here because the consumer owns a
copy of it (the referral service never reads triage tables and vice versa).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class EventPayload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# topic -> the consumers that receive it. A consumer name is "<service>.<purpose>".
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "referral.received": ("triage.intake",),
    "referral.addendum_added": ("triage.intake",),
    "contact.triaged": ("referral_api.status",),
    "contact.decided": ("referral_api.status",),
    "contact.feedback_given": ("referral_api.status",),
    "contact.written_follow_up_overdue": (),
    "clock.due_soon": (),
    "clock.breached": (),
    "dv.encompass_requested": ("notifications.intake",),
    "encompass.notification.created": (),
    "encompass.escalated": (),
    "encompass.endpoint_disabled": (),
    "encompass.acknowledged": (),
}


def consumers_for(topic: str) -> tuple[str, ...]:
    if topic not in SUBSCRIPTIONS:
        raise KeyError(f"unknown event topic {topic!r}: add it to SUBSCRIPTIONS")
    return SUBSCRIPTIONS[topic]


def topic_payload(payload: EventPayload | dict[str, Any]) -> dict[str, Any]:
    if isinstance(payload, EventPayload):
        return payload.model_dump(mode="json")
    return payload
