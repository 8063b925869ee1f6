"""All of the referral service's SQL. Never commits; flushes when it needs ids."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.referral import (
    REFERENCE_SEQUENCE,
    IdempotencyKey,
    Referral,
    ReferralAddendum,
)


@dataclass(frozen=True)
class ListFilter:
    agency_id: str
    statuses: Sequence[str] = ()
    received_from: datetime | None = None
    received_to: datetime | None = None
    after: tuple[datetime, uuid.UUID] | None = None


async def next_reference_number(session: AsyncSession) -> int:
    return int(await session.scalar(REFERENCE_SEQUENCE.next_value()) or 0)


async def claim_key_and_number(
    session: AsyncSession,
    *,
    agency_id: str,
    key: str,
    request_hash: str,
    referral_id: uuid.UUID,
) -> tuple[bool, int]:
    """Insert the idempotency key and draw a reference number in one round trip.

    False when the key exists. A concurrent holder of the same key makes the insert wait
    until that transaction ends (the unique index), so duplicates never race; a replay wastes
    a sequence number, which only leaves a gap.
    """
    claimed = (
        insert(IdempotencyKey)
        .values(agency_id=agency_id, key=key, request_hash=request_hash, referral_id=referral_id)
        .on_conflict_do_nothing(index_elements=["agency_id", "key"])
        .returning(IdempotencyKey.key)
        .cte("claimed")
    )
    row = (
        await session.execute(select(exists(select(claimed)), REFERENCE_SEQUENCE.next_value()))
    ).one()
    return bool(row[0]), int(row[1])


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


async def get_idempotent_receipt(
    session: AsyncSession, *, agency_id: str, key: str
) -> tuple[str, dict[str, Any]] | None:
    """(request hash, the receipt sent) for a key already used by this agency."""
    row = (
        await session.execute(
            select(IdempotencyKey.request_hash, Referral.receipt)
            .join(Referral, Referral.id == IdempotencyKey.referral_id)
            .where(IdempotencyKey.agency_id == agency_id, IdempotencyKey.key == key)
        )
    ).first()
    return None if row is None else (row[0], row[1])


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
    session: AsyncSession, *, agency_id: str, reference: str
) -> Referral | None:
    return await session.scalar(
        select(Referral).where(Referral.reference == reference, Referral.agency_id == agency_id)
    )


async def get_referral_for_update(session: AsyncSession, referral_id: uuid.UUID) -> Referral | None:
    return await session.scalar(
        select(Referral).where(Referral.id == referral_id).with_for_update()
    )


async def list_referrals(session: AsyncSession, flt: ListFilter, limit: int) -> list[Referral]:
    query = select(Referral).where(Referral.agency_id == flt.agency_id)
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
