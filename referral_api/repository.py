"""All of the referral service's SQL. Never commits; flushes when it needs ids."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import Text, bindparam, cast, delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from referral_api.intake import REFERENCE_PLACEHOLDER, PreparedSubmission
from services.audit import audit_cte, audit_params
from services.auth import Principal
from services.db import driver_statement
from services.events.contracts import ReferralReceived
from services.events.outbox import outbox_ctes, outbox_params
from services.models.referral import (
    IdempotencyKey,
    Referral,
    ReferralAddendum,
)


@dataclass(frozen=True)
class ListFilter:
    agency_id: str
    # The token's council: an agency's referrals to another council are not this caller's.
    council_id: str
    statuses: Sequence[str] = ()
    received_from: datetime | None = None
    received_to: datetime | None = None
    after: tuple[datetime, uuid.UUID] | None = None


# The whole intake in one statement (one round trip, its own transaction on an autocommit
# connection): the idempotency key (when one was sent), the reference number, the referral,
# its audit row, and the `referral.received` outbox event with one consumption row per
# subscriber. The rows are those `services.audit.record` and `services.events.outbox.emit`
# write, and their SQL is the platform's (`services.audit.audit_cte`,
# `services.events.outbox.outbox_ctes`); the workers are woken after the commit
# (`services.events.wakeup`). With a key, everything hangs off the key's claim: when the key
# exists nothing is written and no row comes back; a concurrent holder of the key makes the
# claim wait on the unique index until its transaction ends. The stored receipt and the event
# get the reference the statement drew.
_INTAKE = """
WITH {claim}
num AS MATERIALIZED (SELECT nextval('referral_reference_seq') AS n FROM gate),
ref AS MATERIALIZED (
    SELECT n, {reference} AS r FROM num
),
referral AS (
    INSERT INTO referral_referrals (
        id, reference, council_id, agency_id, submitted_by, received_at, submitted_at,
        decision_due_at, phone_call_at, phone_contact_reference, written_follow_up_due_at,
        request_type, immediate_risk, subject_count, child_voice_missing, marf, receipt,
        status, status_changed_at
    )
    SELECT CAST(:referral_id AS uuid), ref.r, CAST(:council_id AS text),
        CAST(:agency_id AS text), CAST(:submitted_by AS text), CAST(:received_at AS timestamptz),
        CAST(:submitted_at AS timestamptz), CAST(:decision_due_at AS timestamptz),
        CAST(:phone_call_at AS timestamptz), CAST(:phone_contact_reference AS text),
        CAST(:written_follow_up_due_at AS timestamptz), CAST(:request_type AS text),
        CAST(:immediate_risk AS boolean), CAST(:subject_count AS smallint),
        CAST(:child_voice_missing AS boolean), CAST(:marf AS jsonb),
        jsonb_set(jsonb_set(jsonb_set(CAST(:receipt AS jsonb),
            '{{reference}}', to_jsonb(ref.r)),
            '{{url}}', to_jsonb('/v1/referrals/' || ref.r)),
            '{{what_happens_next}}', to_jsonb(replace(CAST(:what_happens_next AS text),
                CAST(:placeholder AS text), ref.r))),
        'received', CAST(:submitted_at AS timestamptz)
    FROM ref
),
{audit},
{outbox}
SELECT ref.n FROM ref
"""
_CLAIM = """
claimed AS (
    INSERT INTO referral_idempotency_keys (agency_id, key, request_hash, referral_id)
    VALUES (CAST(:agency_id AS text), CAST(:key AS text), CAST(:request_hash AS text),
        CAST(:referral_id AS uuid))
    ON CONFLICT (agency_id, key) DO NOTHING
    RETURNING 1
),
gate AS (SELECT 1 FROM claimed),"""
# `reference_for` in SQL: the prefix ("FD-2026-") and the number, zero-padded to 6 digits.
REFERENCE_SQL = "CAST(:prefix AS text) || lpad(n::text, greatest(6, length(n::text)), '0')"
# The audit row names the referral the statement inserts; the event's payload is completed
# with the reference the statement drew and the MARF as stored.
_PLATFORM_ROWS = {
    "audit": audit_cte("audit", source="ref", entity_id_sql="CAST(:referral_id AS uuid)::text"),
    "outbox": outbox_ctes(
        source="ref",
        payload_sql="CAST(:event AS jsonb)\n"
        "            || jsonb_build_object('reference', ref.r, 'marf', CAST(:marf AS jsonb))",
    ),
}
INTAKE_KEYED = driver_statement(
    text(_INTAKE.format(claim=_CLAIM, reference=REFERENCE_SQL, **_PLATFORM_ROWS))
)
INTAKE_UNKEYED = driver_statement(
    text(_INTAKE.format(claim="gate AS (SELECT 1),", reference=REFERENCE_SQL, **_PLATFORM_ROWS))
)
RECEIVED_TOPIC = ReferralReceived.topic


async def insert_submission(
    conn: asyncpg.Connection,
    prepared: PreparedSubmission,
    *,
    actor: Principal,
    service: str,
    key: str | None,
    request_hash: str | None,
) -> int | None:
    """Write a submission in one statement; its reference number, or None when `key` exists."""
    params: dict[str, Any] = {
        "prefix": prepared.reference_prefix,
        "referral_id": prepared.referral_id,
        "council_id": prepared.council_id,
        "agency_id": prepared.agency_id,
        "submitted_by": prepared.submitted_by,
        "received_at": prepared.received_at,
        "submitted_at": prepared.submitted_at,
        "decision_due_at": prepared.decision_due_at,
        "phone_call_at": prepared.phone_call_at,
        "phone_contact_reference": prepared.phone_contact_reference,
        "written_follow_up_due_at": prepared.written_follow_up_due_at,
        "request_type": prepared.request_type,
        "immediate_risk": prepared.immediate_risk,
        "subject_count": prepared.subject_count,
        "child_voice_missing": prepared.child_voice_missing,
        "marf": prepared.marf_json,
        "receipt": prepared.receipt_json,
        "what_happens_next": prepared.what_happens_next,
        "placeholder": REFERENCE_PLACEHOLDER,
        "event": prepared.event_json,
        **audit_params(service=service, actor=actor, action="referral.submitted"),
        **outbox_params(ReferralReceived, event_id=prepared.event_id, producer=service),
    }
    statement = INTAKE_UNKEYED
    if key is not None:
        statement = INTAKE_KEYED
        params["key"] = key
        params["request_hash"] = request_hash
    number = await conn.fetchval(statement.sql, *statement.args(params))
    return None if number is None else int(number)


async def claim_addendum_key(
    session: AsyncSession,
    *,
    agency_id: str,
    key: str,
    request_hash: str,
    referral_id: uuid.UUID,
    addendum_id: uuid.UUID,
) -> bool:
    """Insert an addendum's idempotency key; False when the key exists (see above)."""
    inserted = await session.scalar(
        insert(IdempotencyKey)
        .values(
            agency_id=agency_id,
            key=key,
            request_hash=request_hash,
            referral_id=referral_id,
            addendum_id=addendum_id,
        )
        .on_conflict_do_nothing(index_elements=["agency_id", "key"])
        .returning(IdempotencyKey.key)
    )
    return inserted is not None


async def get_idempotent_addendum(
    session: AsyncSession, *, agency_id: str, key: str
) -> tuple[str, ReferralAddendum | None] | None:
    """(request hash, the addendum it added, if it added one) for a key already used."""
    row = (
        await session.execute(
            select(IdempotencyKey.request_hash, ReferralAddendum)
            .outerjoin(ReferralAddendum, ReferralAddendum.id == IdempotencyKey.addendum_id)
            .where(IdempotencyKey.agency_id == agency_id, IdempotencyKey.key == key)
        )
    ).first()
    return None if row is None else (row[0], row[1])


_IDEMPOTENT_RECEIPT = driver_statement(
    select(IdempotencyKey.request_hash, cast(Referral.receipt, Text))
    .join(Referral, Referral.id == IdempotencyKey.referral_id)
    .where(
        IdempotencyKey.agency_id == bindparam("agency_id"),
        IdempotencyKey.key == bindparam("key"),
        Referral.council_id == bindparam("council_id"),
    )
)


async def get_idempotent_receipt(
    conn: asyncpg.Connection, *, council_id: str, agency_id: str, key: str
) -> tuple[str, dict[str, Any]] | None:
    """(request hash, the receipt sent) for a key already used by this agency (in this
    council: a token of another council never sees the receipt)."""
    statement = _IDEMPOTENT_RECEIPT
    values = {"agency_id": agency_id, "key": key, "council_id": council_id}
    row = await conn.fetchrow(statement.sql, *statement.args(values))
    return None if row is None else (row[0], json.loads(row[1]))


async def purge_idempotency_keys(session: AsyncSession, *, before: datetime, batch: int) -> int:
    doomed = (
        select(IdempotencyKey.agency_id, IdempotencyKey.key)
        .where(IdempotencyKey.created_at < before)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    result = await session.execute(
        delete(IdempotencyKey).where(
            tuple_(IdempotencyKey.agency_id, IdempotencyKey.key).in_(doomed)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def get_agency_referral(
    session: AsyncSession, *, council_id: str, agency_id: str, reference: str
) -> Referral | None:
    return await session.scalar(
        select(Referral).where(
            Referral.reference == reference,
            Referral.agency_id == agency_id,
            Referral.council_id == council_id,
        )
    )


async def get_referral_for_update(session: AsyncSession, referral_id: uuid.UUID) -> Referral | None:
    return await session.scalar(
        select(Referral).where(Referral.id == referral_id).with_for_update()
    )


async def list_referrals(session: AsyncSession, flt: ListFilter, limit: int) -> list[Referral]:
    query = select(Referral).where(
        Referral.agency_id == flt.agency_id, Referral.council_id == flt.council_id
    )
    if flt.statuses:
        query = query.where(Referral.status.in_(flt.statuses))
    if flt.received_from is not None:
        query = query.where(Referral.received_at >= flt.received_from)
    if flt.received_to is not None:
        query = query.where(Referral.received_at < flt.received_to)
    if flt.after is not None:
        query = query.where(tuple_(Referral.received_at, Referral.id) < tuple_(*flt.after))
    query = query.order_by(Referral.received_at.desc(), Referral.id.desc()).limit(limit)
    return list((await session.scalars(query)).all())


async def list_addenda(session: AsyncSession, referral_id: uuid.UUID) -> list[ReferralAddendum]:
    query = (
        select(ReferralAddendum)
        .where(ReferralAddendum.referral_id == referral_id)
        .order_by(ReferralAddendum.added_at, ReferralAddendum.id)
    )
    return list((await session.scalars(query)).all())


async def count_addenda(session: AsyncSession, referral_id: uuid.UUID) -> int:
    query = select(func.count()).where(ReferralAddendum.referral_id == referral_id)
    return int(await session.scalar(query) or 0)
