"""The referral service's logic: intake, reads, addenda. Never commits (the request does)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from referral_api import repository
from referral_api.exceptions import (
    AddendumInvalid,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    MarfInvalid,
    ReferralNotFound,
)
from referral_api.paging import check_idempotency_key, decode_cursor, encode_cursor, request_hash
from referral_api.receipt import (
    Clocks,
    is_reference,
    reference_for,
    warnings_for,
    what_happens_next,
)
from referral_api.schemas import (
    AddendumCreate,
    AddendumRead,
    Decision,
    Feedback,
    Page,
    ReferralRead,
    ReferralReceipt,
    ReferralSummary,
    WrittenFollowUp,
)
from referral_api.settings import ReferralSettings
from referral_api.validation import validate_body
from services import audit
from services.auth import Principal
from services.calendar import WorkingCalendar
from services.calendar_store import load_calendar
from services.contracts.marf import Marf
from services.events.contracts import ReferralAddendumAdded, ReferralReceived
from services.events.outbox import emit
from services.models.referral import Referral, ReferralAddendum

SERVICE = "referral_api"
ENTITY = "referral"
log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Submission:
    """The response to send for a submission (a replay returns the original one)."""

    status_code: int
    body: dict[str, Any]
    reference: str
    replayed: bool


def _agency(principal: Principal) -> str:
    # require_roles(referrer) admits only tokens that carry agency_id (services.auth).
    assert principal.agency_id is not None
    return principal.agency_id


async def submit_referral(
    session: AsyncSession,
    *,
    principal: Principal,
    body: object,
    idempotency_key: str | None,
    settings: ReferralSettings,
    now: datetime | None = None,
) -> Submission:
    """Validate and store one MARF, audit it and emit `referral.received`, all in one txn."""
    agency_id = _agency(principal)
    now = now or datetime.now(UTC)
    key = check_idempotency_key(idempotency_key) if idempotency_key is not None else None
    if key is not None:
        digest = request_hash(body)
        claimed = await repository.claim_idempotency_key(
            session, agency_id=agency_id, key=key, request_hash=digest
        )
        if not claimed:
            return await _replay(session, agency_id=agency_id, key=key, digest=digest)
    calendar = await load_calendar(session, principal.council_id)
    context = {"today": calendar.local(now).date(), "now": now}
    marf = validate_body(Marf, body, context=context, error=MarfInvalid)
    receipt, referral_id = await _create(session, principal, marf, calendar, now, settings)
    response = receipt.model_dump(mode="json")
    if key is not None:
        await repository.store_idempotent_response(
            session,
            agency_id=agency_id,
            key=key,
            referral_id=referral_id,
            status=201,
            body=response,
        )
    return Submission(201, response, receipt.reference, replayed=False)


async def _replay(session: AsyncSession, *, agency_id: str, key: str, digest: str) -> Submission:
    row = await repository.get_idempotency_key(session, agency_id=agency_id, key=key)
    if row is None or row.response_body is None or row.response_status is None:
        raise IdempotencyKeyInFlight()
    if row.request_hash != digest:
        raise IdempotencyKeyReused()
    reference = str(row.response_body.get("reference", ""))
    log.info("referral_submission_replayed", referral_id=str(row.referral_id))
    return Submission(row.response_status, row.response_body, reference, replayed=True)


def _clocks(
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


async def _create(
    session: AsyncSession,
    principal: Principal,
    marf: Marf,
    calendar: WorkingCalendar,
    now: datetime,
    settings: ReferralSettings,
) -> tuple[ReferralReceipt, uuid.UUID]:
    clocks = _clocks(marf, calendar, now, settings)
    number = await repository.next_reference_number(session)
    reference = reference_for(clocks.received_at.year, number)
    referral = _new_referral(principal, marf, reference, clocks)
    session.add(referral)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="referral.submitted",
        entity_type=ENTITY,
        entity_id=referral.id,
    )
    await emit(session, "referral.received", _received_event(referral), producer=SERVICE)
    log.info("referral_received", referral_id=str(referral.id), agency_id=referral.agency_id)
    receipt = ReferralReceipt(
        reference=reference,
        status="received",
        received_at=clocks.received_at,
        submitted_at=clocks.submitted_at,
        decision_due_at=clocks.decision_due_at,
        written_follow_up=_written_follow_up(referral, calendar.zone),
        immediate_risk=marf.immediate_risk,
        what_happens_next=what_happens_next(marf, reference, clocks),
        warnings=warnings_for(marf, clocks),
        url=f"/v1/referrals/{reference}",
    )
    return receipt, referral.id


def _new_referral(principal: Principal, marf: Marf, reference: str, clocks: Clocks) -> Referral:
    call = marf.follow_up_to_phone_call
    submitted_at = clocks.submitted_at.astimezone(UTC)
    due = clocks.written_follow_up_due_at
    return Referral(
        id=uuid.uuid4(),
        reference=reference,
        council_id=principal.council_id,
        agency_id=_agency(principal),
        submitted_by=principal.sub,
        received_at=clocks.received_at.astimezone(UTC),
        submitted_at=submitted_at,
        decision_due_at=clocks.decision_due_at.astimezone(UTC),
        phone_call_at=call.call_at.astimezone(UTC) if call else None,
        phone_contact_reference=call.contact_reference if call else None,
        written_follow_up_due_at=due.astimezone(UTC) if due else None,
        request_type=marf.request_type,
        immediate_risk=marf.immediate_risk,
        subject_count=len(marf.subjects),
        child_voice_missing=marf.child_voice_missing,
        marf=marf.model_dump(mode="json"),
        status="received",
        status_changed_at=submitted_at,
    )


def _received_event(referral: Referral) -> ReferralReceived:
    return ReferralReceived(
        referral_id=referral.id,
        reference=referral.reference,
        council_id=referral.council_id,
        agency_id=referral.agency_id,
        received_at=referral.received_at,
        submitted_at=referral.submitted_at,
        follow_up_to_phone_call=referral.phone_call_at is not None,
        phone_call_at=referral.phone_call_at,
        phone_contact_reference=referral.phone_contact_reference,
        child_voice_missing=referral.child_voice_missing,
        marf=referral.marf,
    )


def _written_follow_up(referral: Referral, zone: ZoneInfo) -> WrittenFollowUp | None:
    call, due = referral.phone_call_at, referral.written_follow_up_due_at
    if call is None or due is None:
        return None
    return WrittenFollowUp(
        phone_call_at=call.astimezone(zone),
        phone_contact_reference=referral.phone_contact_reference,
        due_at=due.astimezone(zone),
        met_at=referral.submitted_at.astimezone(zone),
        on_time=referral.submitted_at <= due,
    )


def _summary(referral: Referral, zone: ZoneInfo) -> ReferralSummary:
    return ReferralSummary(
        reference=referral.reference,
        status=referral.status,  # type: ignore[arg-type]  # the table's check constraint
        status_changed_at=referral.status_changed_at.astimezone(zone),
        received_at=referral.received_at.astimezone(zone),
        decision_due_at=referral.decision_due_at.astimezone(zone),
        request_type=referral.request_type,
        immediate_risk=referral.immediate_risk,
        subject_count=referral.subject_count,
        child_voice_missing=referral.child_voice_missing,
    )


def _decision(referral: Referral, zone: ZoneInfo) -> Decision | None:
    if referral.decided_at is None:
        return None
    return Decision(
        decided_at=referral.decided_at.astimezone(zone),
        outcome=referral.outcome or "",
        outcome_summary=referral.outcome_summary or "",
        next_steps=referral.next_steps or "",
    )


def _feedback(referral: Referral, zone: ZoneInfo) -> Feedback | None:
    if referral.feedback_given_at is None:
        return None
    return Feedback(
        given_at=referral.feedback_given_at.astimezone(zone),
        feedback=referral.feedback or "",
        next_steps=referral.feedback_next_steps or "",
    )


async def _own_referral(session: AsyncSession, principal: Principal, reference: str) -> Referral:
    if not is_reference(reference):
        raise ReferralNotFound()
    referral = await repository.get_agency_referral(
        session, agency_id=_agency(principal), reference=reference
    )
    if referral is None:
        raise ReferralNotFound()
    return referral


async def get_referral(
    session: AsyncSession, *, principal: Principal, reference: str, settings: ReferralSettings
) -> ReferralRead:
    """One of the agency's own referrals (another agency's answers 404), audited."""
    referral = await _own_referral(session, principal, reference)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="referral.read",
        entity_type=ENTITY,
        entity_id=referral.id,
    )
    zone = ZoneInfo(settings.timezone)
    summary = _summary(referral, zone)
    return ReferralRead(
        **summary.model_dump(),
        submitted_at=referral.submitted_at.astimezone(zone),
        written_follow_up=_written_follow_up(referral, zone),
        contact_reference=referral.contact_reference,
        triaged_at=referral.triaged_at.astimezone(zone) if referral.triaged_at else None,
        decision=_decision(referral, zone),
        feedback=_feedback(referral, zone),
        addenda_count=await repository.count_addenda(session, referral.id),
        marf=referral.marf,
    )


async def list_referrals(
    session: AsyncSession,
    *,
    principal: Principal,
    flt: repository.ListFilter,
    cursor: str | None,
    limit: int,
    settings: ReferralSettings,
) -> Page[ReferralSummary]:
    """The agency's referrals, newest first, keyset-paginated; each one listed is audited."""
    size = min(limit, settings.page_size_max)
    if cursor is not None:
        flt = repository.ListFilter(**{**flt.__dict__, "after": decode_cursor(cursor)})
    rows = await repository.list_referrals(session, flt, size + 1)
    more, rows = len(rows) > size, rows[:size]
    for row in rows:
        await audit.record(
            session,
            service=SERVICE,
            actor=principal,
            action="referral.listed",
            entity_type=ENTITY,
            entity_id=row.id,
        )
    zone = ZoneInfo(settings.timezone)
    last = rows[-1] if rows else None
    return Page[ReferralSummary](
        items=[_summary(r, zone) for r in rows],
        limit=size,
        next_cursor=encode_cursor(last.received_at, last.id) if more and last else None,
    )


async def add_addendum(
    session: AsyncSession,
    *,
    principal: Principal,
    reference: str,
    body: object,
    settings: ReferralSettings,
    now: datetime | None = None,
) -> AddendumRead:
    """Append more information; emits `referral.addendum_added` in the same transaction."""
    data = validate_body(AddendumCreate, body, context={}, error=AddendumInvalid)
    referral = await _own_referral(session, principal, reference)
    addendum = ReferralAddendum(
        id=uuid.uuid4(),
        referral_id=referral.id,
        added_at=now or datetime.now(UTC),
        added_by=principal.sub,
        text=data.text,
    )
    session.add(addendum)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="referral.addendum_added",
        entity_type=ENTITY,
        entity_id=referral.id,
    )
    event = ReferralAddendumAdded(
        referral_id=referral.id,
        reference=referral.reference,
        addendum_id=addendum.id,
        added_at=addendum.added_at,
        text=addendum.text,
    )
    await emit(session, "referral.addendum_added", event, producer=SERVICE)
    return _addendum_read(addendum, referral.reference, ZoneInfo(settings.timezone))


def _addendum_read(addendum: ReferralAddendum, reference: str, zone: ZoneInfo) -> AddendumRead:
    return AddendumRead(
        id=str(addendum.id),
        reference=reference,
        added_at=addendum.added_at.astimezone(zone),
        text=addendum.text,
    )


async def list_addenda(
    session: AsyncSession, *, principal: Principal, reference: str, settings: ReferralSettings
) -> list[AddendumRead]:
    referral = await _own_referral(session, principal, reference)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="referral.addenda_read",
        entity_type=ENTITY,
        entity_id=referral.id,
    )
    zone = ZoneInfo(settings.timezone)
    rows = await repository.list_addenda(session, referral.id)
    return [_addendum_read(a, reference, zone) for a in rows]
