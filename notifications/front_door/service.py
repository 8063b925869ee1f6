"""Front-door alerts: each triage event kept as a row, then one email per recipient per window.

Exactly once: the consumer machinery handles each event once, and the row is keyed by the
event's id besides. Grouping: a periodic pass takes each recipient whose oldest waiting alert
has gathered long enough, claims the recipient's batch for the current window (a unique row:
one email per recipient per window, whichever worker gets there first), locks the waiting
alerts with SKIP LOCKED and puts one email on the delivery queue, all in one transaction. A
crash before the commit leaves everything waiting; after it, the delivery queue's own retries
send the email, once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery.queue import add_email
from notifications.front_door import repository
from notifications.front_door.messages import AlertLine, duty_manager_email, referrer_chase_email
from notifications.settings import NotificationsSettings
from services.events.contracts import ClockEvent, WrittenFollowUpOverdue
from services.models.notifications import DeliveryKind
from services.models.notifications_extra import AlertBatch, FrontDoorAlert, FrontDoorAlertKind
from services.models.platform import OutboxEvent

# Where a partner agency submits its multi-agency referral form (the referral API).
REFERRAL_FORM_PATH = "/v1/referrals"
# Recipients handled per pass: bounded work per transaction.
_PASS_LIMIT = 200
# The written follow-up of a phone referral is due 24 hours after the call (domain §5).
_FOLLOW_UP_HOURS = 24


def contact_link(settings: NotificationsSettings, contact_id: uuid.UUID) -> str:
    return settings.link(f"/v1/contacts/{contact_id}")


async def duty_manager(session: AsyncSession, settings: NotificationsSettings, council: str) -> str:
    """The council's duty team manager, else the service's configured address."""
    return await repository.duty_manager_email(session, council) or settings.duty_manager_email


async def record_clock_event(
    session: AsyncSession,
    settings: NotificationsSettings,
    event: OutboxEvent,
    kind: FrontDoorAlertKind,
) -> None:
    payload = ClockEvent.model_validate(event.payload)
    council = payload.council_id
    await repository.add_alert(
        session,
        {
            "event_id": event.id,
            "council_id": council,
            "audience": "duty_manager",
            "recipient": await duty_manager(session, settings, council),
            "kind": kind,
            "clock_kind": payload.kind,
            "contact_id": payload.contact_id,
            "contact_reference": payload.contact_reference,
            "deadline_at": payload.deadline_at,
        },
    )


async def record_follow_up_overdue(
    session: AsyncSession, settings: NotificationsSettings, event: OutboxEvent
) -> None:
    """Chase the referrer; with no email for them, the duty manager is asked to phone."""
    payload = WrittenFollowUpOverdue.model_validate(event.payload)
    referrer = usable_email(payload.referrer_email)
    recipient = referrer or await duty_manager(session, settings, payload.council_id)
    await repository.add_alert(
        session,
        {
            "event_id": event.id,
            "council_id": payload.council_id,
            "audience": "referrer" if referrer else "duty_manager",
            "recipient": recipient,
            "kind": "follow_up_overdue",
            "clock_kind": "written_follow_up",
            "contact_id": payload.contact_id,
            "contact_reference": payload.contact_reference,
            "deadline_at": payload.phone_call_at + timedelta(hours=_FOLLOW_UP_HOURS),
        },
    )


def usable_email(raw: str | None) -> str | None:
    """The referrer's address if mail can go to it. The phone contact's field is free text
    (`n/a`, `phone only`, a phone number): a chase sent there would fail unseen, so the duty
    manager is asked to phone instead."""
    if raw is None or not raw.strip():
        return None
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def window_start(now: datetime, seconds: float) -> datetime:
    """The start of the sending window `now` falls in (windows are aligned to the epoch)."""
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def _line(alert: FrontDoorAlert) -> AlertLine:
    return AlertLine(
        kind=alert.kind,
        clock_kind=alert.clock_kind,
        contact_id=alert.contact_id,
        contact_reference=alert.contact_reference,
        deadline_at=alert.deadline_at,
    )


def _email(
    settings: NotificationsSettings, alerts: list[FrontDoorAlert]
) -> tuple[DeliveryKind, str, str]:
    lines = [_line(a) for a in alerts]
    if all(a.audience == "referrer" for a in alerts):
        return "referrer_chase", *referrer_chase_email(
            lines, zone=settings.timezone, submit_url=settings.link(REFERRAL_FORM_PATH)
        )
    subject, text = duty_manager_email(
        lines, zone=settings.timezone, link=lambda cid: contact_link(settings, cid)
    )
    return "front_door_alert", subject, text


async def _send_batch(
    session: AsyncSession, settings: NotificationsSettings, batch: AlertBatch, now: datetime
) -> bool:
    alerts = list(await repository.lock_pending(session, batch.recipient))
    if not alerts:
        await repository.drop_batch(session, batch)  # another worker has them: nothing to send
        return False
    kind, subject, text = _email(settings, alerts)
    delivery = add_email(
        session,
        settings,
        kind=kind,
        recipients=[batch.recipient],
        subject=subject,
        text=text,
        now=now,
    )
    assert delivery is not None
    await session.flush()
    batch.delivery_id, batch.item_count = delivery.id, len(alerts)
    for alert in alerts:
        alert.batch_id = batch.id
    return True


async def send_due_alerts(
    session: AsyncSession, settings: NotificationsSettings, now: datetime
) -> int:
    """One email per recipient whose alerts have gathered; the number of emails queued."""
    gathered = now - timedelta(seconds=settings.front_door_alert_gather_seconds)
    window = window_start(now, settings.front_door_alert_window_seconds)
    sent = 0
    due = await repository.due_recipients(
        session, before=gathered, window_start=window, limit=_PASS_LIMIT
    )
    for recipient in due:
        batch = await repository.open_batch(session, recipient=recipient, window_start=window)
        if batch is None:
            continue  # this window's email to them has gone: the rest waits for the next
        sent += await _send_batch(session, settings, batch, now)
    return sent
