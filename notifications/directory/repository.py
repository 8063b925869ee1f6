"""SQL for the school directory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.notifications import Attempt, Delivery, Endpoint, School


async def list_schools(
    session: AsyncSession, *, council_id: str, only_urn: str | None
) -> Sequence[School]:
    query = select(School).where(School.council_id == council_id).order_by(School.urn)
    if only_urn is not None:
        query = query.where(School.urn == only_urn)
    return (await session.scalars(query)).all()


async def get_school(session: AsyncSession, urn: str) -> School | None:
    return await session.get(School, urn)


async def schools_by_urn(session: AsyncSession, urns: Sequence[str]) -> dict[str, School]:
    rows = await session.scalars(select(School).where(School.urn.in_(urns)))
    return {s.urn: s for s in rows}


async def list_endpoints(session: AsyncSession, urn: str) -> Sequence[Endpoint]:
    query = select(Endpoint).where(Endpoint.school_urn == urn).order_by(Endpoint.created_at)
    return (await session.scalars(query)).all()


async def get_endpoint(
    session: AsyncSession, endpoint_id: uuid.UUID
) -> tuple[Endpoint, str] | None:
    """The endpoint and its school's council."""
    row = (
        await session.execute(
            select(Endpoint, School.council_id)
            .join(School, School.urn == Endpoint.school_urn)
            .where(Endpoint.id == endpoint_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def endpoint_attempts(
    session: AsyncSession, endpoint_id: uuid.UUID, limit: int
) -> Sequence[tuple[Attempt, str, str]]:
    """The endpoint's most recent delivery attempts, newest first, each with its delivery's
    kind and webhook-id (nothing about the child: the notification is not joined)."""
    rows = await session.execute(
        select(Attempt, Delivery.kind, Delivery.message_id)
        .join(Delivery, Delivery.id == Attempt.delivery_id)
        .where(Delivery.endpoint_id == endpoint_id)
        .order_by(Attempt.id.desc())
        .limit(limit)
    )
    return [(a, kind, message_id) for a, kind, message_id in rows]
