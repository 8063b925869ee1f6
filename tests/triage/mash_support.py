"""Helpers for the MASH tests: contacts through the API, partner tokens, audit rows."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry, CouncilCalendar
from tests.triage.conftest import phone_contact

Headers = dict[str, str]
# Monday 23 November 2026, 09:00 in London (GMT, so 09:00 UTC).
MONDAY_0900 = "2026-11-23T09:00:00+00:00"


async def new_contact(
    client: httpx.AsyncClient, headers: Headers, **overrides: Any
) -> dict[str, Any]:
    body = phone_contact(**({"received_at": MONDAY_0900} | overrides))
    response = await client.post("/v1/contacts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def rate(
    client: httpx.AsyncClient, headers: Headers, contact_id: str, rag: str, reason: str = "r"
) -> httpx.Response:
    return await client.post(
        f"/v1/contacts/{contact_id}/rag", json={"rag": rag, "reason": reason}, headers=headers
    )


async def audit_actions(session: AsyncSession, entity_id: object) -> list[str]:
    rows = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.id)
    )
    return list(rows.all())


async def configure_mash(session: AsyncSession, mash: dict[str, Any]) -> None:
    row = await session.get(CouncilCalendar, "demo")
    assert row is not None
    row.settings = {**(row.settings or {}), "mash": mash}
    await session.flush()
