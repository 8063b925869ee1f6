"""The referral service's logic: intake, reads, addenda. Never commits (the request does)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from referral_api import repository
from referral_api.calendars import council_calendar
from referral_api.exceptions import (
    AddendumInvalid,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    MarfInvalid,
    ReferralNotFound,
)
from referral_api.idempotency import check_idempotency_key, request_hash
from referral_api.intake import agency_of, clocks_for, prepare_submission
from referral_api.receipt import (
    is_reference,
)
from referral_api.schemas import (
    AddendumCreate,
    AddendumRead,
    Decision,
    Feedback,
    ReferralRead,
    ReferralSummary,
    WrittenFollowUp,
)
from referral_api.settings import ReferralSettings
from referral_api.validation import NOT_A_BODY, validate_body
from services import audit
from services.auth import Principal
from services.contracts.marf import Marf
from services.errors import FieldError
from services.events.contracts import ReferralAddendumAdded
from services.events.outbox import emit
from services.models.referral import Referral, ReferralAddendum
from services.paging import Page, decode_cursor, page_of

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


async def submit_referral(
    conn: asyncpg.Connection,
    *,
    principal: Principal,
    body: object,
    idempotency_key: str | None,
    settings: ReferralSettings,
    now: datetime | None = None,
) -> Submission:
    """Validate and store one MARF, audit it and emit `referral.received`, all in one txn.

    The MARF is validated before the database is touched; then one statement writes
    everything (repository.insert_submission): on an autocommit connection that statement is
    the transaction. A key already used replays its response.
    """
    agency_id = agency_of(principal)
    now = now or datetime.now(UTC)
    key = check_idempotency_key(idempotency_key) if idempotency_key is not None else None
    digest = _digest(body) if key is not None else None
    calendar = await council_calendar(conn, principal.council_id, settings)
    context = {
        "today": calendar.local(now).date(),
        "now": now,
        "call_window": timedelta(hours=settings.follow_up_call_max_age_hours),
    }
    try:
        marf = validate_body(Marf, body, context=context, error=MarfInvalid)
    except MarfInvalid:
        # A key already used answers as it did (the original 201, or "reused"), whatever
        # today's rules say of the body; an unused key stays unused.
        if key is not None and digest is not None:
            found = await repository.get_idempotent_receipt(
                conn, council_id=principal.council_id, agency_id=agency_id, key=key
            )
            if found is not None:
                return _replayed(found, agency_id=agency_id, digest=digest, body=body)
        raise
    clocks = clocks_for(marf, calendar, now, settings)
    prepared = prepare_submission(principal, marf, clocks, referral_id=uuid.uuid4())
    number = await repository.insert_submission(
        conn, prepared, actor=principal, service=SERVICE, key=key, request_hash=digest
    )
    if number is None:
        # Only a key already claimed writes nothing.
        assert key is not None
        assert digest is not None
        return await _replay(
            conn,
            council_id=principal.council_id,
            agency_id=agency_id,
            key=key,
            digest=digest,
            body=body,
        )
    reference = prepared.reference(number)
    # No line of its own: the access line has the request id, and the audit row written with
    # the referral ties that id to the referral and the agency.
    return Submission(201, prepared.receipt_for(reference), reference, replayed=False)


def _digest(body: object) -> str:
    """The body's request hash; a body nested too deep to write back out (the parser only
    just read it) cannot be a MARF and is refused as validation refuses such bodies."""
    try:
        return request_hash(body)
    except RecursionError:
        raise MarfInvalid(fields=[FieldError(path="body", reason=NOT_A_BODY)]) from None


async def _replay(
    conn: asyncpg.Connection,
    *,
    council_id: str,
    agency_id: str,
    key: str,
    digest: str,
    body: object,
) -> Submission:
    found = await repository.get_idempotent_receipt(
        conn, council_id=council_id, agency_id=agency_id, key=key
    )
    if found is None:
        raise IdempotencyKeyInFlight()
    return _replayed(found, agency_id=agency_id, digest=digest, body=body)


def _replayed(
    found: tuple[str, dict[str, Any]], *, agency_id: str, digest: str, body: object
) -> Submission:
    stored_hash, receipt = found
    if stored_hash != digest:
        raise IdempotencyKeyReused()
    log.info("referral_submission_replayed", agency_id=agency_id)
    return Submission(201, receipt, str(receipt.get("reference", "")), replayed=True)


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
        status=referral.status,
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
        session,
        council_id=principal.council_id,
        agency_id=agency_of(principal),
        reference=reference,
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
        after = decode_cursor(cursor, (datetime, uuid.UUID))
        flt = repository.ListFilter(**{**flt.__dict__, "after": after})
    rows = await repository.list_referrals(session, flt, size + 1)
    page = page_of(rows, limit=size, key=lambda row: (row.received_at, row.id))
    await audit.record_many(
        session,
        service=SERVICE,
        actor=principal,
        action="referral.listed",
        entity_type=ENTITY,
        entity_ids=[row.id for row in page.items],
    )
    zone = ZoneInfo(settings.timezone)
    return Page[ReferralSummary](
        items=[_summary(r, zone) for r in page.items], limit=size, next_cursor=page.next_cursor
    )


@dataclass(frozen=True)
class AddendumResult:
    addendum: AddendumRead
    replayed: bool


async def add_addendum(
    session: AsyncSession,
    *,
    principal: Principal,
    reference: str,
    body: object,
    settings: ReferralSettings,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> AddendumResult:
    """Append more information; emits `referral.addendum_added` in the same transaction."""
    data = validate_body(AddendumCreate, body, context={}, error=AddendumInvalid)
    referral = await _own_referral(session, principal, reference)
    zone = ZoneInfo(settings.timezone)
    addendum_id = uuid.uuid4()
    if idempotency_key is not None:
        key = check_idempotency_key(idempotency_key)
        # Scoped to the referral, so the same body sent to another referral is not "the same".
        scoped = {"addendum_to": referral.reference, "body": body}
        digest = request_hash(scoped)
        claimed = await repository.claim_addendum_key(
            session,
            agency_id=referral.agency_id,
            key=key,
            request_hash=digest,
            referral_id=referral.id,
            addendum_id=addendum_id,
        )
        if not claimed:
            found = await repository.get_idempotent_addendum(
                session, agency_id=referral.agency_id, key=key
            )
            if found is None or found[1] is None or found[0] != digest:
                raise IdempotencyKeyReused()
            return AddendumResult(_addendum_read(found[1], reference, zone), replayed=True)
    addendum = ReferralAddendum(
        id=addendum_id,
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
    await emit(session, event, producer=SERVICE)
    return AddendumResult(_addendum_read(addendum, referral.reference, zone), replayed=False)


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
