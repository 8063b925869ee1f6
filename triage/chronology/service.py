"""The contact's chronology and the MASH overview (both audited reads)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from triage.checks import repository as checks_repository
from triage.checks.service import check_read
from triage.chronology import repository
from triage.chronology.build import chronology
from triage.chronology.schemas import Chronology, MashOverview
from triage.mash.access import load_mash_config, mash_contact, record
from triage.strategy.service import overdue_actions


async def contact_chronology(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> Chronology:
    contact = await mash_contact(session, principal, contact_id)
    history = await repository.history(session, contact.id)
    await record(session, principal, "contact.chronology", "contact", contact.id)
    return Chronology(
        contact_id=contact.id, reference=contact.reference, entries=chronology(contact, history)
    )


async def overview(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> MashOverview:
    contact = await mash_contact(session, principal, contact_id)
    config = await load_mash_config(session, contact.council_id)
    now = datetime.now(UTC)
    checks = [
        check_read(c, config, now) for c in await checks_repository.for_contact(session, contact.id)
    ]
    clocks = await repository.overview_clocks(session, contact.id)
    screened = await repository.screened(session, contact.id)
    actions = await overdue_actions(session, contact, now.astimezone(config.calendar.zone).date())
    await record(session, principal, "contact.mash_overview", "contact", contact.id)
    mash, icpc = clocks.get("mash"), clocks.get("icpc")
    return MashOverview(
        contact_id=contact.id,
        rag=contact.rag,
        screened=screened,
        mash_due_at=mash.deadline_at if mash else None,
        mash_clock_state=mash.state if mash else None,
        icpc_due_at=icpc.deadline_at if icpc else None,
        checks=checks,
        overdue_checks=sum(c.overdue for c in checks),
        overdue_actions=actions,
    )
