"""What goes over the wire: thin webhook bodies and email texts. Pure; nothing identifying.

A webhook body or an email names a notification by id, the school by URN, the incident by date
and links to the authenticated detail. Never a child's name, date of birth or address.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

NOTIFICATION_CREATED = "encompass.notification.created"
PING = "encompass.ping"
# The ceiling for a thin body.
MAX_BODY_BYTES = 2048

DO_NOT_CONTACT_PARENTS = (
    "Please do not contact the child's parents or carers about this notification: it is "
    "shared so that you can support the child, and contacting the family may put them at risk."
)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def webhook_body(
    *,
    notification_id: uuid.UUID,
    school_urn: str,
    incident_date: date,
    deadline_at: datetime | None,
    detail_url: str,
    now: datetime,
    corrected: bool = False,
) -> str:
    data: dict[str, object] = {
        "notification_id": str(notification_id),
        "school_urn": school_urn,
        "incident_date": incident_date.isoformat(),
        "respond_before": deadline_at.isoformat() if deadline_at else None,
        "detail_url": detail_url,
    }
    if corrected:  # the police corrected what the school sees: fetch the detail again
        data["corrected"] = True
    body = _dumps({"type": NOTIFICATION_CREATED, "timestamp": now.isoformat(), "data": data})
    if len(body.encode()) > MAX_BODY_BYTES:
        raise ValueError("webhook body over 2 KB")
    return body


def ping_body(*, endpoint_id: uuid.UUID, school_urn: str, now: datetime) -> str:
    return _dumps(
        {
            "type": PING,
            "timestamp": now.isoformat(),
            "data": {"endpoint_id": str(endpoint_id), "school_urn": school_urn},
        }
    )


def local_date(at: datetime, zone: str) -> date:
    """The date people at the council read for an instant: 00:30 BST is that day, not the
    day before (times are stored in UTC)."""
    return at.astimezone(ZoneInfo(zone)).date()


def _local(at: datetime | None, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%A %d %B %Y %H:%M") if at else "not set"


def alert_email(
    *,
    school_urn: str,
    notification_id: uuid.UUID,
    incident_date: date,
    detail_url: str,
    corrected: bool = False,
) -> tuple[str, str]:
    subject = f"Operation Encompass notification for school {school_urn}"
    opening = (
        "Operation Encompass: the police attended a domestic abuse incident that involved a "
        "pupil at your school.\n\n"
    )
    if corrected:
        subject = f"Corrected: {subject}"
        opening = (
            "Operation Encompass: the police have corrected a notification you received about "
            "a pupil at your school. Please read the detail again.\n\n"
        )
    text = opening + (
        f"Notification: {notification_id}\nIncident date: {incident_date.isoformat()}\n\n"
        f"Sign in to see the detail and to acknowledge it:\n{detail_url}\n\n"
        f"{DO_NOT_CONTACT_PARENTS}\n"
    )
    return subject, text


def digest_email(
    *, school_urn: str, items: Sequence[tuple[uuid.UUID, date, str]]
) -> tuple[str, str]:
    subject = f"Operation Encompass: {len(items)} notification(s) from the holiday"
    lines = [
        "Welcome back. These Operation Encompass notifications for your school arrived while "
        "the school was closed. Each was sent at the time; please check each child today.\n",
    ]
    lines += [f"- {nid} (incident {day.isoformat()}): {url}" for nid, day, url in items]
    lines += ["", DO_NOT_CONTACT_PARENTS, ""]
    return subject, "\n".join(lines)


def ehe_email(
    *, notification_id: uuid.UUID, task_id: uuid.UUID, reason: str, detail_url: str
) -> tuple[str, str]:
    why = {
        "ehe": "is electively home educated",
        "no_school": "has no known school",
        "unknown_school": "names a school that is not in the directory",
    }[reason]
    subject = "Operation Encompass: a child with no school to notify"
    text = (
        f"An Operation Encompass notification concerns a child who {why}.\n\n"
        f"Notification: {notification_id}\nFront-door task: {task_id}\n\n"
        f"Detail (sign in): {detail_url}\n"
    )
    return subject, text


def escalation_email(
    *,
    notification_id: uuid.UUID,
    school_urn: str | None,
    deadline_at: datetime,
    zone: str,
    detail_url: str,
) -> tuple[str, str]:
    subject = f"Escalation: Operation Encompass notification not acknowledged ({school_urn})"
    text = (
        f"Notification {notification_id} for school {school_urn} has not been acknowledged by "
        f"the school, and school starts at {_local(deadline_at, zone)}.\n\n"
        f"Please phone the school's DSL. Delivery evidence: {detail_url}/attempts\n"
    )
    return subject, text


def endpoint_disabled_email(
    *, endpoint_id: uuid.UUID, school_urn: str, reason: str
) -> tuple[str, str]:
    subject = f"Webhook endpoint disabled for school {school_urn}"
    text = (
        f"Endpoint {endpoint_id} of school {school_urn} was disabled: {reason}.\n"
        "The school now receives Operation Encompass notifications by email. Fix the receiver, "
        "re-enable the endpoint, and recover what failed (POST /v1/endpoints/{id}/recover).\n"
    )
    return subject, text
