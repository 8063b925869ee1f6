"""Operation Encompass intake: incidents to one notification per child per school.

Idempotent: an incident is unique per force and police reference, a notification per incident
and child (normalised name + date of birth), both enforced by unique keys with
`ON CONFLICT DO NOTHING`, so a resubmitted batch, a replayed event or two racing requests
create nothing twice. Children with no known school, or electively home educated, go to the
council's EHE contact and raise a front-door task.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.council.service import term_ranges
from notifications.delivery import messages
from notifications.delivery import repository as delivery_repository
from notifications.delivery.queue import add_email, enqueue_alert, page_url
from notifications.intake import corrections, repository
from notifications.intake.schemas import (
    BatchResult,
    ChildIn,
    ChildResult,
    ChildStatus,
    IncidentIn,
    IncidentResult,
)
from notifications.intake.school_days import SchoolCalendar, parse_days, parse_terms
from notifications.intake.sharing import sharing_for
from notifications.settings import NotificationsSettings
from services import audit
from services.auth import Principal
from services.calendar import WorkingCalendar
from services.calendar_store import load_calendar
from services.errors import FieldError, field_errors_from_pydantic
from services.events.contracts import (
    EncompassEheTaskRaised,
    EncompassNotificationCreated,
    EventPayload,
)
from services.events.outbox import emit_many
from services.models.notifications import (
    EheReason,
    EheTask,
    Endpoint,
    Incident,
    IncidentSource,
    Notification,
    Route,
    School,
)
from services.models.notifications_extra import NotificationCorrection

PRODUCER = "notifications"
# Clock skew allowed between the police system and ours before an incident is "in the future".
_FUTURE_TOLERANCE = timedelta(minutes=5)
_PLAIN_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9 /_.:-]{0,63}")
log = structlog.get_logger(__name__)


def child_key(child: ChildIn) -> str:
    """The child's idempotency key within an incident: normalised names and date of birth."""

    norm = corrections.normalised
    dob = child.date_of_birth.isoformat() if child.date_of_birth else ""
    raw = f"{norm(child.given_name)}|{norm(child.family_name)}|{dob}"
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class IntakeContext:
    """Per-request caches: the council calendar and the schools looked up so far."""

    session: AsyncSession
    settings: NotificationsSettings
    council_id: str
    force_id: str
    actor: Principal | None
    source: IncidentSource
    calendar: WorkingCalendar | None = None
    schools: dict[str, School | None] = field(default_factory=dict)
    council_terms: dict[str, tuple[tuple[date, date], ...]] = field(default_factory=dict)
    endpoints: dict[str, list[Endpoint]] = field(default_factory=dict)
    # Events are written together at the end (one flush and one NOTIFY per topic).
    created_events: list[EventPayload] = field(default_factory=list)
    ehe_events: list[EventPayload] = field(default_factory=list)

    async def emit_pending(self) -> None:
        await emit_many(self.session, self.created_events, producer=PRODUCER)
        await emit_many(self.session, self.ehe_events, producer=PRODUCER)
        self.created_events, self.ehe_events = [], []

    async def council_calendar(self) -> WorkingCalendar:
        if self.calendar is None:
            self.calendar = await load_calendar(self.session, self.council_id)
        return self.calendar

    async def school_terms(self, school: School) -> tuple[tuple[date, date], ...]:
        """The school's own term dates; without them, its council's published ones."""
        own = parse_terms(school.terms)
        if own:
            return own
        if school.council_id not in self.council_terms:
            self.council_terms[school.council_id] = await term_ranges(
                self.session, school.council_id
            )
        return self.council_terms[school.council_id]

    async def school(self, urn: str | None) -> School | None:
        if urn is None:
            return None
        if urn not in self.schools:
            school = await repository.get_school(self.session, urn)
            # Another council's school is not one this council's feed can notify: the child
            # goes to this council's EHE contact as an unknown school.
            if school is not None and school.council_id != self.council_id:
                school = None
            self.schools[urn] = school
        return self.schools[urn]

    async def school_endpoints(self, urn: str) -> list[Endpoint]:
        if urn not in self.endpoints:
            self.endpoints[urn] = await delivery_repository.enabled_endpoints(self.session, urn)
        return self.endpoints[urn]


async def _incident_row(
    ctx: IntakeContext, data: IncidentIn, contact_id: uuid.UUID | None
) -> tuple[Incident, bool]:
    """The incident, and whether this request created it."""
    inserted = await repository.insert_incident(
        ctx.session,
        {
            "id": uuid.uuid4(),
            "council_id": ctx.council_id,
            "force_id": ctx.force_id,
            "police_reference": data.police_reference,
            "incident_at": data.incident_at,
            "area": data.area,
            "adult_roles": data.adult_roles,
            "circumstances": data.circumstances,
            "source": ctx.source,
            "contact_id": contact_id,
        },
    )
    if inserted is not None:
        return inserted, True
    return await repository.lock_incident(ctx.session, ctx.force_id, data.police_reference), False


def _route(child: ChildIn, school: School | None) -> tuple[Route, EheReason | None]:
    if child.education_status == "ehe":
        return "ehe", "ehe"
    if child.school_urn is None:
        return "ehe", "no_school"
    if school is None:
        return "ehe", "unknown_school"
    return "school", None


async def _deadline(
    ctx: IntakeContext, school: School, incident_at: datetime
) -> tuple[datetime, bool]:
    calendar = SchoolCalendar(
        council=await ctx.council_calendar(),
        day_start=school.school_day_start,
        terms=await ctx.school_terms(school),
        closures=parse_days(school.closure_days),
    )
    deadline = calendar.next_school_day_start(incident_at)
    return deadline, calendar.in_holiday(incident_at, deadline)


async def _new_notification(
    ctx: IntakeContext, incident: Incident, child: ChildIn, key: str
) -> tuple[Notification | None, Route, EheReason | None]:
    school = await ctx.school(child.school_urn)
    route, reason = _route(child, school)
    deadline, in_holiday = (None, False)
    if route == "school":
        assert school is not None
        deadline, in_holiday = await _deadline(ctx, school, incident.incident_at)
    notification = await repository.insert_notification(
        ctx.session,
        {
            "id": uuid.uuid4(),
            "incident_id": incident.id,
            "child_key": key,
            "school_urn": school.urn if school is not None and route == "school" else None,
            "route": route,
            "given_name": child.given_name,
            "family_name": child.family_name,
            "date_of_birth": child.date_of_birth,
            "education_status": child.education_status,
            "present": child.present,
            "spoken_to": child.spoken_to,
            "child_voice": child.child_voice,
            "deadline_at": deadline,
            "in_holiday": in_holiday,
        },
    )
    return notification, route, reason


async def _after_create(
    ctx: IntakeContext, incident: Incident, notification: Notification, reason: EheReason | None
) -> None:
    now = datetime.now(UTC)
    if notification.route == "school":
        school = await ctx.school(notification.school_urn)
        assert school is not None
        await enqueue_alert(
            ctx.session,
            ctx.settings,
            notification=notification,
            school=school,
            incident_at=incident.incident_at,
            now=now,
            endpoints=await ctx.school_endpoints(school.urn),
        )
    else:
        await _raise_ehe_task(ctx, notification, reason or "no_school", now)
    ctx.created_events.append(
        EncompassNotificationCreated(
            notification_id=notification.id,
            incident_id=incident.id,
            school_urn=notification.school_urn,
            deadline_at=notification.deadline_at,
            at=now,
        )
    )
    await audit.record(
        ctx.session,
        service=PRODUCER,
        actor=ctx.actor,
        action="notification.create",
        entity_type="notification",
        entity_id=notification.id,
    )


async def _raise_ehe_task(
    ctx: IntakeContext, notification: Notification, reason: EheReason, now: datetime
) -> None:
    task = EheTask(
        id=uuid.uuid4(), notification_id=notification.id, council_id=ctx.council_id, reason=reason
    )
    ctx.session.add(task)
    subject, text = messages.ehe_email(
        notification_id=notification.id,
        task_id=task.id,
        reason=reason,
        detail_url=page_url(ctx.settings, notification.id),
    )
    add_email(
        ctx.session,
        ctx.settings,
        kind="ehe",
        recipients=[ctx.settings.ehe_contact_email],
        subject=subject,
        text=text,
        now=now,
        notification_id=notification.id,
    )
    ctx.ehe_events.append(
        EncompassEheTaskRaised(
            task_id=task.id,
            notification_id=notification.id,
            reason=reason,
            at=now,
        )
    )


async def ingest_one(
    ctx: IntakeContext, data: IncidentIn, *, contact_id: uuid.UUID | None = None
) -> IncidentResult:
    """One incident, its events written."""
    result = await ingest(ctx, data, contact_id=contact_id)
    await ctx.emit_pending()
    return result


async def ingest(
    ctx: IntakeContext, data: IncidentIn, *, contact_id: uuid.UUID | None = None
) -> IncidentResult:
    """Create the incident and one notification per new child; say which were duplicates and
    which corrected an earlier notification of the same incident (see `corrections`).

    Events are queued on the context: call `ctx.emit_pending()` (or use `ingest_one`).
    """
    if data.incident_at > datetime.now(UTC) + _FUTURE_TOLERANCE:
        error = FieldError(path="incident_at", reason="the incident cannot be in the future")
        return IncidentResult(
            police_reference=data.police_reference, status="rejected", errors=[error]
        )
    incident, created_now = await _incident_row(ctx, data, contact_id)
    resend = None if created_now else await _Resend.load(ctx, incident, data)
    results: list[ChildResult] = []
    seen: set[str] = set()
    for index, child in enumerate(data.children):
        key = child_key(child)
        if key in seen:
            continue
        seen.add(key)
        known = resend.match(child, key) if resend is not None else None
        if known is not None:
            assert resend is not None
            corrected = await resend.correct(known, child, key)
            results.append(_result(index, known, "corrected" if corrected else "duplicate"))
            continue
        results.append(await _create_child(ctx, incident, child, key, index))
    if resend is not None:
        await resend.correct_the_rest()
    return IncidentResult(
        police_reference=data.police_reference,
        status=_incident_status(results),
        incident_id=incident.id,
        children=results,
    )


def _incident_status(results: list[ChildResult]) -> Literal["accepted", "duplicate", "corrected"]:
    statuses = {r.status for r in results}
    if "created" in statuses:
        return "accepted"
    return "corrected" if "corrected" in statuses else "duplicate"


def _result(
    index: int, notification: Notification, status: ChildStatus, reason: str | None = None
) -> ChildResult:
    return ChildResult(
        index=index,
        status=status,
        notification_id=notification.id,
        route="school" if notification.route == "school" else "ehe",
        ehe_reason=reason,
    )


async def _create_child(
    ctx: IntakeContext, incident: Incident, child: ChildIn, key: str, index: int
) -> ChildResult:
    notification, _, reason = await _new_notification(ctx, incident, child, key)
    if notification is None:  # a racing request created it first
        return _result(
            index, await repository.notification_of(ctx.session, incident.id, key), "duplicate"
        )
    await _after_create(ctx, incident, notification, reason)
    return _result(index, notification, "created", reason)


@dataclass
class _Resend:
    """A known incident sent again: its notifications, and what the resend changes."""

    ctx: IntakeContext
    incident: Incident
    notifications: list[Notification]
    incident_changes: corrections.Changes
    handled: set[uuid.UUID] = field(default_factory=set)
    resend_keys: set[str] = field(default_factory=set)

    @classmethod
    async def load(cls, ctx: IntakeContext, incident: Incident, data: IncidentIn) -> _Resend:
        rows = await repository.lock_notifications_of(ctx.session, incident.id)
        changes = corrections.incident_changes(incident, data)
        for name, (_, new) in changes.items():
            setattr(incident, name, new)
        return cls(
            ctx=ctx,
            incident=incident,
            notifications=rows,
            incident_changes=changes,
            resend_keys={child_key(c) for c in data.children},
        )

    def match(self, child: ChildIn, key: str) -> Notification | None:
        """The same child: by name and date of birth, else by name alone (see corrections)."""
        for n in self.notifications:
            if n.child_key == key and n.id not in self.handled:
                return n
        unmatched = [
            n
            for n in self.notifications
            if n.id not in self.handled and n.child_key not in self.resend_keys
        ]
        return corrections.same_child_by_name(unmatched, child)

    async def correct(self, notification: Notification, child: ChildIn, key: str) -> bool:
        """Apply the resend's changes to one notification; True when anything changed."""
        self.handled.add(notification.id)
        changes = {**corrections.child_changes(notification, child), **self.incident_changes}
        if not changes:
            return False
        for name, (_, new) in changes.items():
            if name in corrections.CHILD_FIELDS:
                setattr(notification, name, new)
        notification.child_key = key
        await _record_correction(self.ctx, self.incident, notification, changes)
        return True

    async def correct_the_rest(self) -> None:
        """The incident's own corrections reach its children the resend did not list."""
        if not self.incident_changes:
            return
        for notification in self.notifications:
            if notification.id not in self.handled:
                self.handled.add(notification.id)
                await _record_correction(
                    self.ctx, self.incident, notification, dict(self.incident_changes)
                )


async def _move_deadline(
    ctx: IntakeContext, incident: Incident, notification: Notification, changes: corrections.Changes
) -> None:
    school = await ctx.school(notification.school_urn)
    if notification.route != "school" or school is None or notification.acknowledged_at:
        return
    deadline, in_holiday = await _deadline(ctx, school, incident.incident_at)
    if deadline != notification.deadline_at:
        changes["deadline_at"] = (notification.deadline_at, deadline)
        notification.deadline_at, notification.in_holiday = deadline, in_holiday


async def _record_correction(
    ctx: IntakeContext, incident: Incident, notification: Notification, changes: corrections.Changes
) -> None:
    """The history row, the audit row, and the school told again if what it sees changed.

    A corrected incident time moves the deadline of a notification not yet acknowledged (the
    next school-day start after the corrected time); the previous deadline is in the history.
    """
    if "incident_at" in changes:
        await _move_deadline(ctx, incident, notification, changes)
    share = await sharing_for(ctx.session, incident.council_id, incident.force_id)
    tell = notification.route == "school" and corrections.school_sees(changes, share)
    correction = NotificationCorrection(
        id=uuid.uuid4(),
        notification_id=notification.id,
        source=ctx.source,
        changed_fields=sorted(changes),
        previous=corrections.previous_values(changes),
        school_told=tell,
    )
    ctx.session.add(correction)
    if tell:
        school = await ctx.school(notification.school_urn)
        assert school is not None
        await enqueue_alert(
            ctx.session,
            ctx.settings,
            notification=notification,
            school=school,
            incident_at=incident.incident_at,
            now=datetime.now(UTC),
            endpoints=await ctx.school_endpoints(school.urn),
            correction_id=correction.id,
        )
    await audit.record(
        ctx.session,
        service=PRODUCER,
        actor=ctx.actor,
        action="notification.correct",
        entity_type="notification",
        entity_id=notification.id,
    )


async def ingest_batch(ctx: IntakeContext, raw_items: Sequence[object]) -> BatchResult:
    """A result per item, whatever an item holds: a bad item is rejected with its reasons,
    and one the database refuses is rolled back alone (its savepoint), never the batch."""
    items: list[IncidentResult] = []
    for index, raw in enumerate(raw_items):
        try:
            data = IncidentIn.model_validate(raw)
        except ValidationError as exc:
            items.append(_rejected(index, raw, field_errors_from_pydantic(exc.errors())))
            continue
        items.append(await _ingest_isolated(ctx, index, raw, data))
    await ctx.emit_pending()
    return BatchResult(
        accepted=sum(i.status == "accepted" for i in items),
        duplicates=sum(i.status == "duplicate" for i in items),
        corrected=sum(i.status == "corrected" for i in items),
        rejected=sum(i.status == "rejected" for i in items),
        items=items,
    )


async def _ingest_isolated(
    ctx: IntakeContext, index: int, raw: object, data: IncidentIn
) -> IncidentResult:
    created, ehe = len(ctx.created_events), len(ctx.ehe_events)
    try:
        async with ctx.session.begin_nested():
            result = await ingest(ctx, data)
    except DBAPIError as exc:
        log.error("encompass_item_refused", error_type=type(exc.orig).__name__, index=index)
        del ctx.created_events[created:], ctx.ehe_events[ehe:]
        ctx.endpoints.clear()
        reason = FieldError(path="incident", reason="the item could not be stored")
        return _rejected(index, raw, [reason])
    return result.model_copy(update={"index": index})


def _rejected(index: int, raw: object, errors: list[FieldError]) -> IncidentResult:
    reference = raw.get("police_reference") if isinstance(raw, dict) else None
    # Echoed only when it is a plain reference: the reply must encode whatever was sent.
    plain = isinstance(reference, str) and _PLAIN_REFERENCE.fullmatch(reference) is not None
    return IncidentResult(
        index=index,
        police_reference=reference if plain else None,
        status="rejected",
        errors=errors,
    )
