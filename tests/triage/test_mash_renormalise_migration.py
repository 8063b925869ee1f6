"""Migration 0016 re-normalises name keys stored under the old rule (Ł dropped, now l)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import MashChild
from services.models.triage import TriageSubject
from tests.triage.mash_support import Headers, new_contact
from tests.triage.test_mash_children import child, links

MIGRATION = Path(__file__).parents[2] / "migrations/versions/0016_mash_renormalise_names.py"


def migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("m0016", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def run(session: AsyncSession, step: str) -> None:
    module = migration()

    def go(conn: Connection) -> None:
        with Operations.context(MigrationContext.configure(conn)):
            getattr(module, step)()

    connection = await session.connection()
    await connection.run_sync(go)


async def keys(session: AsyncSession, child_id: Any, contact_id: Any) -> tuple[Any, ...]:
    ch = await session.execute(
        select(MashChild.given_name_norm, MashChild.family_name_norm).where(
            MashChild.id == child_id
        )
    )
    sub = await session.execute(
        select(TriageSubject.given_name_norm, TriageSubject.family_name_norm).where(
            TriageSubject.contact_id == contact_id
        )
    )
    return (*ch.one(), *sub.one())


async def test_keys_stored_under_the_old_rule_are_rewritten_and_found(
    client: httpx.AsyncClient, worker: Headers, session: AsyncSession
) -> None:
    contact = await new_contact(
        client, worker, subjects=child(given_name="Łukasz", family_name="Groß")
    )
    untouched = await new_contact(
        client, worker, subjects=child(nhs_number=None, given_name="Sam", family_name="Ward")
    )
    child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
    # As the old rule stored them.
    await session.execute(
        update(MashChild)
        .where(MashChild.id == child_id)
        .values(given_name_norm="ukasz", family_name_norm="gro")
    )
    await session.execute(
        update(TriageSubject)
        .where(TriageSubject.contact_id == contact["id"])
        .values(given_name_norm="ukasz", family_name_norm="gro")
    )
    await session.commit()
    await run(session, "upgrade")
    await session.commit()
    assert await keys(session, child_id, contact["id"]) == ("lukasz", "gross") * 2
    other = (await links(client, worker, untouched["id"]))[0]["child_id"]
    assert await keys(session, other, untouched["id"]) == ("sam", "ward") * 2
    found = await client.get("/v1/children/search", params={"name": "Lukasz Gross"}, headers=worker)
    assert [h["id"] for h in found.json()] == [child_id]
    # And back.
    await run(session, "downgrade")
    await session.commit()
    assert await keys(session, child_id, contact["id"]) == ("ukasz", "gro") * 2
