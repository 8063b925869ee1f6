"""Every SQL statement on the delivery queue: `notif_deliveries` and `notif_attempts`, and the
reads and locks of endpoints and notifications that delivery needs.

The dispatcher, the outcome recorder, endpoint health, the deadline watch, retention, and the
directory's ping/recover and the alerts' attempts/resend endpoints call these; none of them
writes a statement of its own. Rows queued through the session (`session.add(Delivery(...))`
in `queue`) and attribute changes on loaded rows are flushed by the unit of work. Every
`notif_attempts` row is built by `add_attempts`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (
    ARRAY,
    DateTime,
    Row,
    String,
    Table,
    Uuid,
    bindparam,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery import messages
from notifications.delivery.transport import AttemptResult, Claimed
from services.models.notifications import Attempt, Delivery, Endpoint, Incident, Notification

# The lane of a delivery without an endpoint (an email): the mail server.
SMTP_LANE = "smtp"
# Kinds of delivery that carry the alert itself (a correction or a digest is not the alert).
ALERT_KINDS = ("alert", "fallback")


# --- attempts -------------------------------------------------------------------------------


async def add_attempts(
    session: AsyncSession,
    attempts: Sequence[tuple[uuid.UUID, AttemptResult | None]],
    *,
    now: datetime | None = None,
) -> dict[uuid.UUID, int]:
    """The one place `notif_attempts` rows are built; the new rows' ids by delivery.

    A result records a finished attempt; `None` is a request about to go out ("sending" at
    `now`, latency 0), which `complete_attempts` fills in when the answer comes.
    """
    if not attempts:
        return {}
    rows: list[dict[str, object]] = []
    for delivery_id, result in attempts:
        if result is None:
            if now is None:
                raise ValueError("a sending attempt needs the time it goes out")
            rows.append(
                {
                    "delivery_id": delivery_id,
                    "attempted_at": now,
                    "latency_ms": 0,
                    "outcome": "sending",
                }
            )
        else:
            rows.append(
                {
                    "delivery_id": delivery_id,
                    "attempted_at": result.attempted_at,
                    "status_code": result.status_code,
                    "latency_ms": result.latency_ms,
                    "outcome": result.outcome,
                    "error": result.error,
                    "response_excerpt": result.response_excerpt,
                }
            )
    inserted = await session.execute(
        insert(Attempt).returning(Attempt.id, Attempt.delivery_id), rows
    )
    return {row.delivery_id: row.id for row in inserted}


async def interrupt_sending(session: AsyncSession, delivery_ids: Sequence[uuid.UUID]) -> None:
    """An earlier row still "sending" is a request whose answer nobody recorded."""
    await session.execute(
        update(Attempt)
        .where(Attempt.delivery_id.in_(delivery_ids), Attempt.outcome == "sending")
        .values(
            outcome="interrupted",
            error="no answer recorded: the sending worker stopped",
        )
        .execution_options(synchronize_session=False)
    )


async def complete_attempts(
    session: AsyncSession, results: Sequence[tuple[int, AttemptResult]]
) -> None:
    """Fill in the "sending" rows (by attempt id) with their results."""
    if not results:
        return
    table = cast(Table, Attempt.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("a_id"))
        .values(
            attempted_at=bindparam("a_at"),
            status_code=bindparam("a_code"),
            latency_ms=bindparam("a_ms"),
            outcome=bindparam("a_outcome"),
            error=bindparam("a_error"),
            response_excerpt=bindparam("a_excerpt"),
        ),
        [
            {
                "a_id": attempt_id,
                "a_at": r.attempted_at,
                "a_code": r.status_code,
                "a_ms": r.latency_ms,
                "a_outcome": r.outcome,
                "a_error": r.error,
                "a_excerpt": r.response_excerpt,
            }
            for attempt_id, r in results
        ],
    )


async def attempts_of(session: AsyncSession, delivery_ids: Sequence[uuid.UUID]) -> list[Attempt]:
    rows = await session.scalars(
        select(Attempt).where(Attempt.delivery_id.in_(delivery_ids)).order_by(Attempt.id)
    )
    return list(rows.all())


# --- claiming -------------------------------------------------------------------------------


async def due_by_lane(
    session: AsyncSession,
    *,
    now: datetime,
    full_lanes: Sequence[str],
    per_lane: int,
    window: int,
    limit: int,
    skip_failing: bool = False,
) -> list[tuple[uuid.UUID, str, bool]]:
    """Due rows (id, lane, failing), at most `per_lane` per lane, each lane's oldest first and
    the lanes' firsts before any lane's second. `failing`: the row's endpoint has failed since
    its last success (`consecutive_failures > 0`).

    Only the `window` oldest due rows are looked at (bounded work per claim); lanes already
    full are skipped, and with `skip_failing` every failing endpoint's rows too."""
    key = func.coalesce(sql_cast(Delivery.endpoint_id, String), SMTP_LANE)
    due = (
        select(Delivery.id, Delivery.next_attempt_at, Delivery.endpoint_id, key.label("lane"))
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
        .order_by(Delivery.next_attempt_at)
        .limit(window)
    )
    if full_lanes:
        due = due.where(key.not_in(full_lanes))
    if skip_failing:
        failing = select(Endpoint.id).where(Endpoint.consecutive_failures > 0)
        due = due.where(Delivery.endpoint_id.is_(None) | Delivery.endpoint_id.not_in(failing))
    sub = due.subquery()
    rank = func.row_number().over(partition_by=sub.c.lane, order_by=sub.c.next_attempt_at)
    ranked = select(
        sub.c.id, sub.c.lane, sub.c.endpoint_id, sub.c.next_attempt_at, rank.label("rank")
    ).subquery()
    is_failing = func.coalesce(Endpoint.consecutive_failures, 0) > 0
    rows = await session.execute(
        select(ranked.c.id, ranked.c.lane, is_failing.label("failing"))
        .outerjoin(Endpoint, Endpoint.id == ranked.c.endpoint_id)
        .where(ranked.c.rank <= per_lane)
        .order_by(ranked.c.rank, ranked.c.next_attempt_at)
        .limit(limit)
    )
    return [(row.id, row.lane, bool(row.failing)) for row in rows]


async def failing_endpoints(
    session: AsyncSession, endpoint_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `endpoint_ids` that have failed since their last success."""
    if not endpoint_ids:
        return set()
    rows = await session.scalars(
        select(Endpoint.id).where(Endpoint.id.in_(endpoint_ids), Endpoint.consecutive_failures > 0)
    )
    return set(rows.all())


async def lease(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    *,
    now: datetime,
    until: datetime,
    lease_key: int | None,
) -> list[Claimed]:
    """Push the still-due rows among `ids` to `until` in one statement (SKIP LOCKED: another
    worker's rows are left to it); their snapshots for sending (the endpoint's URL and secrets
    are the dispatcher's to add)."""
    still_due = (
        select(Delivery.id)
        .where(
            Delivery.id.in_(ids),
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
        )
        .with_for_update(skip_locked=True)
    )
    rows = await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(still_due.scalar_subquery()))
        .values(next_attempt_at=until, leased_by=lease_key)
        .returning(
            Delivery.id,
            Delivery.channel,
            Delivery.kind,
            Delivery.message_id,
            Delivery.body,
            Delivery.notification_id,
            Delivery.endpoint_id,
            Delivery.recipients,
            Delivery.subject,
        )
        .execution_options(synchronize_session=False)
    )
    return [
        Claimed(
            r.id,
            r.channel,
            r.kind,
            r.message_id,
            r.body,
            notification_id=r.notification_id,
            endpoint_id=r.endpoint_id,
            recipients=tuple(r.recipients or ()),
            subject=r.subject,
        )
        for r in rows
    ]


async def abandon(session: AsyncSession, ids: Sequence[uuid.UUID], *, reason: str) -> None:
    await session.execute(
        update(Delivery)
        .where(Delivery.id.in_(ids))
        .values(status="abandoned", next_attempt_at=None, leased_by=None, last_error=reason)
        .execution_options(synchronize_session=False)
    )


async def endpoints_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID] | set[uuid.UUID], *, lock: bool = False
) -> dict[uuid.UUID, Endpoint]:
    """The endpoints; with `lock`, locked in id order (workers recording batches that share
    endpoints queue behind each other instead of deadlocking)."""
    query = select(Endpoint).where(Endpoint.id.in_(ids))
    if lock:
        query = query.order_by(Endpoint.id).with_for_update()
    return {e.id: e for e in await session.scalars(query)}


_RECLAIM = text(
    "UPDATE notif_deliveries SET next_attempt_at = :now, leased_by = NULL "
    "WHERE status = 'pending' AND leased_by IS NOT NULL AND next_attempt_at > :now "
    "AND leased_by NOT IN ("
    "  SELECT objid::bigint FROM pg_locks "
    "  WHERE locktype = 'advisory' AND classid = :ns AND objsubid = 2 AND granted"
    ") RETURNING id"
)


async def reclaim_orphans(session: AsyncSession, *, now: datetime, namespace: int) -> int:
    """Make due now the rows leased under a key whose advisory lock nobody holds; how many."""
    rows = await session.execute(_RECLAIM, {"now": now, "ns": namespace})
    return len(rows.all())


# --- recording outcomes ---------------------------------------------------------------------


async def mark_delivered(
    session: AsyncSession, items: Sequence[tuple[uuid.UUID, datetime, int | None]]
) -> None:
    """(delivery id, when, status code) of each delivery that landed, in one statement."""
    if not items:
        return
    table = cast(Table, Delivery.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            status="delivered",
            delivered_at=bindparam("b_at"),
            next_attempt_at=None,
            attempts=table.c.attempts + 1,
            last_status_code=bindparam("b_code"),
            last_error=None,
            leased_by=None,
        ),
        [{"b_id": i, "b_at": at, "b_code": code} for i, at, code in items],
    )


async def reset_failures(session: AsyncSession, endpoint_ids: Sequence[uuid.UUID]) -> None:
    """A success clears the endpoints' failure streaks (only rows that have one are written)."""
    if not endpoint_ids:
        return
    await session.execute(
        update(Endpoint)
        .where(
            Endpoint.id.in_(endpoint_ids),
            (Endpoint.consecutive_failures > 0) | Endpoint.failing_since.is_not(None),
        )
        .values(consecutive_failures=0, failing_since=None)
        .execution_options(synchronize_session=False)
    )


_MARK_NOTIFICATIONS_DELIVERED = text(
    "UPDATE notif_notifications AS n SET delivered_at = v.at "
    "FROM unnest(:ids, :ats) AS v(id, at) "
    "WHERE n.id = v.id AND n.delivered_at IS NULL "
    "RETURNING n.id, n.incident_id, n.school_urn, n.deadline_at, n.delivered_at"
).bindparams(
    bindparam("ids", type_=ARRAY(Uuid())), bindparam("ats", type_=ARRAY(DateTime(timezone=True)))
)


async def mark_notifications_delivered(
    session: AsyncSession, first: dict[uuid.UUID, datetime]
) -> Sequence[Row[tuple[object, ...]]]:
    """Stamp each notification's first delivery (those not stamped yet); the stamped rows."""
    ids = sorted(first)
    # Lock in id order first: two workers marking the same notifications never deadlock.
    await session.execute(
        select(Notification.id)
        .where(Notification.id.in_(ids))
        .order_by(Notification.id)
        .with_for_update()
    )
    marked = await session.execute(
        _MARK_NOTIFICATIONS_DELIVERED, {"ids": ids, "ats": [first[i] for i in ids]}
    )
    return marked.all()


async def deliveries_by_id(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Delivery]:
    return {d.id: d for d in await session.scalars(select(Delivery).where(Delivery.id.in_(ids)))}


async def lock_notifications(
    session: AsyncSession, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Notification]:
    """Locked in id order (see `endpoints_by_id`)."""
    rows = await session.scalars(
        select(Notification)
        .where(Notification.id.in_(ids))
        .order_by(Notification.id)
        .with_for_update()
    )
    return {n.id: n for n in rows}


# --- endpoint health ------------------------------------------------------------------------


async def enabled_endpoints(session: AsyncSession, urn: str) -> list[Endpoint]:
    """The school's enabled endpoints that take alerts."""
    rows = await session.scalars(
        select(Endpoint).where(Endpoint.school_urn == urn, Endpoint.enabled.is_(True))
    )
    return [e for e in rows if messages.NOTIFICATION_CREATED in e.event_types]


async def has_alert_email(session: AsyncSession, notification_id: uuid.UUID) -> bool:
    """Whether the notification's alert email is pending or sent."""
    found = await session.scalar(
        select(Delivery.id).where(
            Delivery.notification_id == notification_id,
            Delivery.channel == "email",
            Delivery.kind.in_(ALERT_KINDS),
            Delivery.status.in_(("pending", "delivered")),
        )
    )
    return found is not None


async def abandon_endpoint_pending(
    session: AsyncSession, endpoint_id: uuid.UUID, *, reason: str
) -> list[uuid.UUID | None]:
    """Abandon the endpoint's pending deliveries; their notification ids."""
    rows = await session.scalars(
        update(Delivery)
        .where(Delivery.endpoint_id == endpoint_id, Delivery.status == "pending")
        .values(status="abandoned", next_attempt_at=None, last_error=reason)
        .returning(Delivery.notification_id)
    )
    return list(rows.all())


# --- requeueing (the directory's recover, the alerts' resend) -------------------------------


async def requeue_endpoint_alerts(
    session: AsyncSession,
    endpoint_id: uuid.UUID,
    *,
    since: datetime,
    now: datetime,
    give_up_at: datetime,
) -> int:
    """Every alert webhook to the endpoint that failed or was abandoned since `since`, due now
    (same `webhook-id`); how many."""
    rows = await session.scalars(
        update(Delivery)
        .where(
            Delivery.endpoint_id == endpoint_id,
            Delivery.kind == "alert",
            Delivery.status.in_(("failed", "abandoned")),
            Delivery.body != "",  # emptied by retention: nothing left to resend
            Delivery.created_at >= since,
        )
        .values(status="pending", next_attempt_at=now, give_up_at=give_up_at)
        .returning(Delivery.id)
    )
    return len(rows.all())


async def requeue_notification_alerts(
    session: AsyncSession, notification_id: uuid.UUID, *, now: datetime, give_up_at: datetime
) -> int:
    """The notification's finished alert deliveries, due now (same `webhook-id`); how many."""
    rows = await session.scalars(
        update(Delivery)
        .where(
            Delivery.notification_id == notification_id,
            Delivery.kind.in_(ALERT_KINDS),
            Delivery.status != "pending",
            Delivery.body != "",  # emptied by retention: the caller queues afresh instead
        )
        .values(status="pending", next_attempt_at=now, give_up_at=give_up_at)
        .returning(Delivery.id)
    )
    return len(rows.all())


async def deliveries_of(session: AsyncSession, notification_id: uuid.UUID) -> list[Delivery]:
    rows = await session.scalars(
        select(Delivery)
        .where(Delivery.notification_id == notification_id)
        .order_by(Delivery.created_at)
    )
    return list(rows.all())


# --- the deadline watch ---------------------------------------------------------------------


async def due_fallbacks(
    session: AsyncSession, *, now: datetime, lead: timedelta, grace: timedelta, limit: int
) -> list[Notification]:
    """School notifications, unacknowledged, past the fallback point, with no webhook
    delivered and no alert email queued or sent (locked, SKIP LOCKED)."""
    webhook_ok = exists().where(
        Delivery.notification_id == Notification.id,
        Delivery.channel == "webhook",
        Delivery.status == "delivered",
    )
    email_sent = exists().where(
        Delivery.notification_id == Notification.id,
        Delivery.channel == "email",
        Delivery.kind.in_(ALERT_KINDS),
        Delivery.status.in_(("pending", "delivered")),
    )
    rows = await session.scalars(
        select(Notification)
        .where(
            Notification.route == "school",
            Notification.acknowledged_at.is_(None),
            Notification.fallback_email_at.is_(None),
            Notification.deadline_at - lead <= now,
            Notification.created_at <= now - grace,
            ~webhook_ok,
            ~email_sent,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.all())


async def due_escalations(
    session: AsyncSession, *, now: datetime, lead: timedelta, limit: int
) -> list[Notification]:
    """Unacknowledged, not escalated, past the escalation point (locked, SKIP LOCKED)."""
    rows = await session.scalars(
        select(Notification)
        .where(
            Notification.acknowledged_at.is_(None),
            Notification.escalated_at.is_(None),
            Notification.deadline_at.is_not(None),
            Notification.deadline_at - lead <= now,
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.all())


async def due_digests(
    session: AsyncSession, *, now: datetime, lead: timedelta, limit: int
) -> list[tuple[Notification, datetime]]:
    """Holiday notifications whose first morning back is near, with their incident times."""
    rows = await session.execute(
        select(Notification, Incident.incident_at)
        .join(Incident, Incident.id == Notification.incident_id)
        .where(
            Notification.in_holiday.is_(True),
            Notification.digest_sent_at.is_(None),
            Notification.deadline_at - lead <= now,
        )
        .limit(limit)
        .with_for_update(of=Notification, skip_locked=True)
    )
    return [(n, at) for n, at in rows.all()]


# --- retention ------------------------------------------------------------------------------


async def purge_bodies(session: AsyncSession, *, before: datetime, batch: int) -> int:
    """Empty the bodies (and the attempts' reply excerpts) of up to `batch` finished deliveries
    created before `before`; how many."""
    doomed = (
        select(Delivery.id)
        .where(
            Delivery.created_at < before,
            Delivery.status != "pending",
            Delivery.body != "",
        )
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    ids = list((await session.scalars(doomed)).all())
    if not ids:
        return 0
    await session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(body=""))
    await session.execute(
        update(Attempt).where(Attempt.delivery_id.in_(ids)).values(response_excerpt=None)
    )
    return len(ids)
