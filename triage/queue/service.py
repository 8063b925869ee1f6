"""Reading the queue: one page of open contacts, each read audited.

The SQL is in `triage.queue.repository`; `QueueFilters`, `decode_cursor` and `queue_page` are
re-exported here for the pages (`triage.queue.web`).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.paging import Page
from triage.queue.repository import QueueFilters, decode_cursor, queue_page
from triage.queue.schemas import QueueItem

__all__ = ["QueueFilters", "decode_cursor", "queue_page", "read_queue"]

SERVICE = "triage"


async def read_queue(
    session: AsyncSession,
    *,
    principal: Principal,
    filters: QueueFilters,
    limit: int,
    cursor: str | None,
) -> Page[QueueItem]:
    """A page of the caller's queue; the page and each contact it lists are audited."""
    if cursor:
        decode_cursor(cursor)  # a bad cursor is a 422 before anything is written
    # The audit row first: it begins the request's transaction, and the page is read in it.
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="queue.read",
        entity_type="queue",
        entity_id=principal.council_id,
    )
    page = await queue_page(
        session, principal.council_id, filters, sub=principal.sub, limit=limit, cursor=cursor
    )
    # Which contacts the page showed: each is a read of a child's record, if a short one.
    await audit.record_many(
        session,
        service=SERVICE,
        actor=principal,
        action="contact.listed",
        entity_type="contact",
        entity_ids=[item.id for item in page.items],
    )
    return page
