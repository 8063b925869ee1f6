"""Operation Encompass intake: incidents to one notification per child per school.

Idempotent: an incident is unique per force and police reference, a notification per incident
and child (normalised name + date of birth), both enforced by unique keys with
`ON CONFLICT DO NOTHING`, so a resubmitted batch, a replayed event or two racing requests
create nothing twice. Children with no known school, or electively home educated, go to the
council's EHE contact and raise a front-door task.
"""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications import messages
from notifications.delivery.queue import add_email, detail_url, enabled_endpoints, enqueue_alert
from notifications.intake.schemas import (
    BatchResult,
    ChildIn,
    ChildResult,
    IncidentIn,
    IncidentResult,
)
from notifications.school_days import SchoolCalendar, parse_days, parse_terms
from notifications.settings import NotificationsSettings
from services import audit
from services.auth import Principal
from services.calendar import WorkingCalendar
from services.calendar_store import load_calendar
from services.errors import FieldError, field_errors_from_pydantic
from services.events.contracts import (
    EncompassEheTaskRaised,
    EncompassNotificationEvent,
    EventPayload,
)
from services.events.outbox import emit_many
from services.models.notifications import EheTask, Endpoint, Incident, Notification, School

PRODUCER = "notifications"
# Clock skew allowed between the police system and ours before an incident is "in the future".
_FUTURE_TOLERANCE = timedelta(minutes=5)


def child_key(child: ChildIn) -> str:
    """The child's idempotency key within an incident: normalised names and date of birth."""

    def norm(value: str) -> str:
        folded = unicodedata.normalize("NFKD", value).casefold()
        return "".join(c for c in folded if c.isalnum())

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
    source: str
    calendar: WorkingCalendar | None = None
    schools: dict[str, School | None] = field(default_factory=dict)
    endpoints: dict[str, list[Endpoint]] = field(default_factory=dict)
    # Events are written together at the end (one flush and one NOTIFY per topic).
    created_events: list[EventPayload] = field(default_factory=list)
    ehe_events: list[EventPayload] = field(default_factory=list)

    async def emit_pending(self) -> None:
        await emit_many(
            self.session, "encompass.notification.created", self.created_events, producer=PRODUCER
        )
        await emit_many(
            self.session, "encompass.ehe_task_raised", self.ehe_events, producer=PRODUCER
        )
        self.created_events, self.ehe_events = [], []

    async def council_calendar(self) -> WorkingCalendar:
        if self.calendar is None:
            self.calendar = await load_calendar(self.session, self.council_id)
        return self.calendar

    async def school(self, urn: str | None) -> School | None:
        if urn is None:
            return None
        if urn not in self.schools:
            school = await self.session.get(School, urn)
            # Another council's school is not one this council's feed can notify: the child
            # goes to this council's EHE contact as an unknown school.
            if school is not None and school.council_id != self.council_id:
                school = None
            self.schools[urn] = school
        return self.schools[urn]

    async def school_endpoints(self, urn: str) -> list[Endpoint]:
        if urn not in self.endpoints:
            self.endpoints[urn] = await enabled_endpoints(self.session, urn)
        return self.endpoints[urn]


async def _incident_row(
    ctx: IntakeContext, data: IncidentIn, contact_id: uuid.UUID | None
) -> Incident:
    inserted: Incident | None = await ctx.session.scalar(
        insert(Incident)
        .values(
            id=uuid.uuid4(),
            council_id=ctx.council_id,
            force_id=ctx.force_id,
            police_reference=data.police_reference,
            incident_at=data.incident_at,
            area=data.area,
            adult_roles=data.adult_roles,
            circumstances=data.circumstances,
            source=ctx.source,
            contact_id=contact_id,
        )
        .on_conflict_do_nothing(index_elements=["force_id", "police_reference"])
        .returning(Incident)
    )
    if inserted is not None:
        return inserted
    existing = await ctx.session.scalar(
        select(Incident).where(
            Incident.force_id == ctx.force_id, Incident.police_reference == data.police_reference
        )
    )
    assert existing is not None
    return existing


def _route(child: ChildIn, school: School | None) -> tuple[str, str | None]:
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
        terms=parse_terms(school.terms),
        closures=parse_days(school.closure_days),
    )
    deadline = calendar.next_school_day_start(incident_at)
    return deadline, calendar.in_holiday(incident_at, deadline)


async def _new_notification(
    ctx: IntakeContext, incident: Incident, child: ChildIn, key: str
) -> tuple[Notification | None, str, str | None]:
    school = await ctx.school(child.school_urn)
    route, reason = _route(child, school)
    deadline, in_holiday = (None, False)
    if route == "school":
        assert school is not None
        deadline, in_holiday = await _deadline(ctx, school, incident.incident_at)
    notification = await ctx.session.scalar(
        insert(Notification)
        .values(
            id=uuid.uuid4(),
            incident_id=incident.id,
            child_key=key,
            school_urn=school.urn if school is not None and route == "school" else None,
            route=route,
            given_name=child.given_name,
            family_name=child.family_name,
            date_of_birth=child.date_of_birth,
            education_status=child.education_status,
            present=child.present,
            spoken_to=child.spoken_to,
            child_voice=child.child_voice,
            deadline_at=deadline,
            in_holiday=in_holiday,
        )
        .on_conflict_do_nothing(index_elements=["incident_id", "child_key"])
        .returning(Notification)
    )
    return notification, route, reason


async def _existing(ctx: IntakeContext, incident: Incident, key: str) -> Notification:
    found = await ctx.session.scalar(
        select(Notification).where(
            Notification.incident_id == incident.id, Notification.child_key == key
        )
    )
    assert found is not None
    return found


async def _after_create(
    ctx: IntakeContext, incident: Incident, notification: Notification, reason: str | None
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
        EncompassNotificationEvent(
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
    ctx: IntakeContext, notification: Notification, reason: str, now: datetime
) -> None:
    task = EheTask(
        id=uuid.uuid4(), notification_id=notification.id, council_id=ctx.council_id, reason=reason
    )
    ctx.session.add(task)
    subject, text = messages.ehe_email(
        notification_id=notification.id,
        task_id=task.id,
        reason=reason,
        detail_url=detail_url(ctx.settings, notification.id),
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
            reason=reason,  # type: ignore[arg-type]
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
    """Create the incident and one notification per new child; say which were duplicates.

    Events are queued on the context: call `ctx.emit_pending()` (or use `ingest_one`).
    """
    if data.incident_at > datetime.now(UTC) + _FUTURE_TOLERANCE:
        error = FieldError(path="incident_at", reason="the incident cannot be in the future")
        return IncidentResult(
            police_reference=data.police_reference, status="rejected", errors=[error]
        )
    incident = await _incident_row(ctx, data, contact_id)
    results: list[ChildResult] = []
    seen: set[str] = set()
    for index, child in enumerate(data.children):
        key = child_key(child)
        if key in seen:
            continue
        seen.add(key)
        notification, route, reason = await _new_notification(ctx, incident, child, key)
        created = notification is not None
        if notification is None:
            notification = await _existing(ctx, incident, key)
            route = notification.route
        else:
            await _after_create(ctx, incident, notification, reason)
        results.append(
            ChildResult(
                index=index,
                status="created" if created else "duplicate",
                notification_id=notification.id,
                route="school" if route == "school" else "ehe",
                ehe_reason=reason if created else None,
            )
        )
    fresh = any(r.status == "created" for r in results)
    return IncidentResult(
        police_reference=data.police_reference,
        status="accepted" if fresh else "duplicate",
        incident_id=incident.id,
        children=results,
    )


async def ingest_batch(ctx: IntakeContext, raw_items: list[dict[str, object]]) -> BatchResult:
    items: list[IncidentResult] = []
    for index, raw in enumerate(raw_items):
        reference = raw.get("police_reference")
        try:
            data = IncidentIn.model_validate(raw)
        except ValidationError as exc:
            items.append(
                IncidentResult(
                    index=index,
                    police_reference=reference if isinstance(reference, str) else None,
                    status="rejected",
                    errors=field_errors_from_pydantic(exc.errors()),
                )
            )
            continue
        result = await ingest(ctx, data)
        items.append(result.model_copy(update={"index": index}))
    await ctx.emit_pending()
    return BatchResult(
        accepted=sum(i.status == "accepted" for i in items),
        duplicates=sum(i.status == "duplicate" for i in items),
        rejected=sum(i.status == "rejected" for i in items),
        items=items,
    )
