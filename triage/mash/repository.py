"""SQL the MASH features share: whether a partner agency has a check on a contact."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashPartnerCheck


async def partner_has_check(
    session: AsyncSession, *, council_id: str, agency_id: str | None, contact_id: uuid.UUID
) -> bool:
    """Whether a check on the contact is addressed to the agency (of the council)."""
    found = await session.scalar(
        select(MashPartnerCheck.id).where(
            MashPartnerCheck.contact_id == contact_id,
            MashPartnerCheck.council_id == council_id,
            MashPartnerCheck.agency_id == agency_id,
        )
    )
    return found is not None
