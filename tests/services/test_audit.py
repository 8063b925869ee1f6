"""The audit writer: same transaction as the change, ids only, the request id kept."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import AUDIT_COLUMNS, audit_cte, audit_params, record
from services.auth import Principal, Role
from services.db import transaction
from services.logging import reset_request_id, set_request_id
from services.models.platform import AuditEntry, CouncilCalendar

REFERRER = Principal(sub="u-1", role=Role.referrer, agency_id="police-wy")


async def count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(AuditEntry)) or 0


class TestAuditWriter:
    async def test_a_row_names_who_did_what_to_which_record(self, session: AsyncSession) -> None:
        token = set_request_id("req-9")
        try:
            await record(
                session,
                service="referral_api",
                actor=REFERRER,
                action="referral.read",
                entity_type="referral",
                entity_id="FD-2026-000001",
                reason="status check",
            )
            await session.flush()
        finally:
            reset_request_id(token)
        row = (await session.scalars(select(AuditEntry))).one()
        assert (row.actor_sub, row.actor_role, row.actor_org) == ("u-1", "referrer", "police-wy")
        assert (row.action, row.entity_type, row.entity_id) == (
            "referral.read",
            "referral",
            "FD-2026-000001",
        )
        assert (row.request_id, row.reason, row.service) == (
            "req-9",
            "status check",
            "referral_api",
        )
        assert row.occurred_at is not None

    async def test_the_entity_type_defaults_to_the_actions_first_word(
        self, session: AsyncSession
    ) -> None:
        await record(
            session, service="notifications", actor=REFERRER, action="school.update", entity_id=7
        )
        await record(
            session,
            service="notifications",
            actor=REFERRER,
            action="school.update",
            entity_type="directory",
            entity_id=8,
        )
        rows = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        assert [(r.entity_type, r.entity_id) for r in rows] == [("school", "7"), ("directory", "8")]

    async def test_a_worker_is_recorded_as_the_service_itself(self, session: AsyncSession) -> None:
        await record(
            session,
            service="triage",
            actor=None,
            action="contact.created",
            entity_type="contact",
            entity_id=42,
        )
        await session.flush()
        row = (await session.scalars(select(AuditEntry))).one()
        assert (row.actor_sub, row.actor_role, row.actor_org) == ("system:triage", "system", None)
        assert row.entity_id == "42"

    async def test_the_audit_row_rolls_back_with_the_change(self, session: AsyncSession) -> None:
        nested = await session.begin_nested()
        session.add(CouncilCalendar(council_id="x", name="x", office_hours={}, settings={}))
        await record(
            session,
            service="triage",
            actor=REFERRER,
            action="calendar.write",
            entity_type="calendar",
            entity_id="x",
        )
        await session.flush()
        assert await count(session) == 1
        await nested.rollback()
        assert await count(session) == 0
        assert await session.get(CouncilCalendar, "x") is None

    async def test_the_audit_row_commits_with_the_change(
        self, committed_db: str, maker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with transaction(maker) as s:
            s.add(CouncilCalendar(council_id="y", name="y", office_hours={}, settings={}))
            await record(
                s,
                service="triage",
                actor=None,
                action="calendar.write",
                entity_type="calendar",
                entity_id="y",
            )
        async with transaction(maker) as s:
            assert await count(s) == 1


class TestStatementFragments:
    """The fragments a one-statement hot path (the MARF intake) takes from the platform."""

    def test_the_audit_columns_are_the_tables(self) -> None:
        table_columns = {c.name for c in AuditEntry.__table__.columns}
        assert set(AUDIT_COLUMNS) <= table_columns
        assert {"id", "occurred_at"}.isdisjoint(AUDIT_COLUMNS)

    async def test_audit_cte_writes_the_row_record_writes(self, session: AsyncSession) -> None:
        token = set_request_id("req-cte")
        try:
            params = audit_params(service="referral_api", actor=REFERRER, action="referral.seen")
            cte = audit_cte("a", source="src", entity_id_sql="src.rid")
            sql = f"WITH src AS (SELECT 'R-1' AS rid), {cte} SELECT 1"
            await session.execute(text(sql), params)
            await record(
                session,
                service="referral_api",
                actor=REFERRER,
                action="referral.seen",
                entity_id="R-1",
            )
        finally:
            reset_request_id(token)
        rows = (await session.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        columns = [[getattr(r, c) for c in AUDIT_COLUMNS] for r in rows]
        assert len(columns) == 2
        assert columns[0] == columns[1]
