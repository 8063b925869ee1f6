"""Event consumers: triage's `dv.encompass_requested` (the DV-screening lane's referrals).

Triage's payload is mapped onto this service's intake schema here, child by child, so one
unusable record does not drop its siblings; an incident no retry can fix is logged (the error
count only: messages may quote values) and marked done.
"""

from __future__ import annotations

import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.intake.schemas import ChildIn, IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings
from services.events.consumer import Consumer
from services.events.contracts import EncompassRequested
from services.models.platform import OutboxEvent

log = structlog.get_logger(__name__)

CONSUMER = "notifications.intake"

# Triage's free-text education statuses, in this service's words.
_EHE_WORDS = frozenset({"ehe", "elective_home_education", "home_educated", "home_education"})
_STATUSES = frozenset({"on_roll", "ehe", "cme", "unknown"})


def education_status(raw: str | None) -> str | None:
    if raw is None:
        return None
    value = raw.strip().lower().replace(" ", "_").replace("-", "_")
    if value in _EHE_WORDS:
        return "ehe"
    return value if value in _STATUSES else "unknown"


def valid_children(payload: EncompassRequested) -> list[ChildIn]:
    """Each child checked on its own: one unusable record does not drop its siblings."""
    children: list[ChildIn] = []
    for child in payload.children:
        raw = child.model_dump()
        raw["education_status"] = education_status(child.education_status)
        try:
            children.append(ChildIn.model_validate(raw))
        except ValidationError as exc:
            log.warning("encompass_child_invalid", errors=exc.error_count())
    return children


def intake_consumer(settings: NotificationsSettings) -> Consumer:
    async def on_encompass_requested(session: AsyncSession, event: OutboxEvent) -> None:
        payload = EncompassRequested.model_validate(event.payload)
        children = valid_children(payload)
        try:
            data = IncidentIn(
                police_reference=payload.police_reference,
                incident_at=payload.incident_at,
                area=payload.area,
                children=children,
                adult_roles=payload.adult_roles,
                circumstances=payload.circumstances,
            )
        except ValidationError as exc:
            # A retry cannot fix the data; the error count only (messages may quote values).
            log.warning(
                "encompass_request_invalid", event_id=str(event.id), errors=exc.error_count()
            )
            return
        ctx = IntakeContext(
            session=session,
            settings=settings,
            council_id=payload.council_id,
            force_id=payload.force_id,
            actor=None,
            source="triage",
        )
        result = await ingest_one(ctx, data, contact_id=payload.contact_id)
        log.info("encompass_request_ingested", event_id=str(event.id), status=result.status)

    return Consumer(name=CONSUMER, handlers={"dv.encompass_requested": on_encompass_requested})
