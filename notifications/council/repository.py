"""All of the council configuration's SQL."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.council.schemas import CouncilTermIn
from services.models.notifications_extra import CouncilContacts, CouncilTerm


async def list_terms(session: AsyncSession, council_id: str) -> Sequence[CouncilTerm]:
    rows = await session.scalars(
        select(CouncilTerm)
        .where(CouncilTerm.council_id == council_id)
        .order_by(CouncilTerm.start_date)
    )
    return rows.all()


async def replace_terms(
    session: AsyncSession, council_id: str, terms: Sequence[CouncilTermIn]
) -> None:
    # One replacement at a time per council: two at once would both delete, then the second's
    # inserts would collide with the first's (a unique violation, a 500), never a merge.
    await session.execute(
        select(func.pg_advisory_xact_lock(func.hashtext(f"notif_council_terms:{council_id}")))
    )
    await session.execute(delete(CouncilTerm).where(CouncilTerm.council_id == council_id))
    session.add_all(
        CouncilTerm(
            id=uuid.uuid4(),
            council_id=council_id,
            name=t.name,
            start_date=t.start,
            end_date=t.end,
        )
        for t in terms
    )
    await session.flush()


async def put_contacts(session: AsyncSession, council_id: str, email: str) -> None:
    await session.execute(
        insert(CouncilContacts)
        .values(council_id=council_id, duty_manager_email=email)
        .on_conflict_do_update(index_elements=["council_id"], set_={"duty_manager_email": email})
    )
