"""The audit trail no one can quietly edit: least privilege, the hash chain, `audit verify`.

The application's role (every engine the services open) may INSERT and SELECT on audit_log
and nothing more; the schema owner can still edit rows, and the chain then names the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from referral_api.main import create_app
from services import audit, cli
from services.audit_chain import (
    GENESIS,
    canonical,
    check_links,
    link_hash,
    seal_pending,
    verify,
)
from services.auth import Principal, Role
from services.db import sync_url, transaction
from tests.conftest import TokenFactory
from tests.factories import make_marf

Maker = async_sessionmaker[AsyncSession]
WORKER = Principal(sub="sw-1", role=Role.front_door_worker)


@pytest.fixture
def owner(committed_db: str) -> Iterator[Engine]:
    """The schema owner (what migrations run as): the one role that can still edit rows."""
    engine = create_engine(sync_url(committed_db))
    yield engine
    engine.dispose()


async def write(maker: Maker, n: int, *, reason: str | None = None) -> None:
    async with transaction(maker) as session:
        for i in range(n):
            await audit.record(
                session,
                service="triage",
                actor=WORKER,
                action="contact.read",
                entity_type="contact",
                entity_id=f"c-{i}",
                reason=reason,
            )


def verify_command() -> tuple[int, str]:
    """`frontdoor audit verify` (what `main` dispatches to), its exit code and output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.audit_verify()
    return code, out.getvalue()


def run_verify(owner: Engine) -> str:
    with owner.connect() as conn:
        seal_pending(conn)
        verdict = verify(conn)
    return "ok" if verdict.broken is None else str(verdict.broken)


class TestTheApplicationRole:
    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE audit_log SET actor_sub = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "DELETE FROM audit_chain",
            "INSERT INTO audit_chain (seq, audit_id, prev_hash, row_hash) VALUES (1, 1, 'a', 'b')",
            "ALTER TABLE audit_log DISABLE TRIGGER audit_log_chain",
            "SELECT audit_chain_append(a) FROM audit_log a",
        ],
    )
    async def test_it_may_not_edit_the_trail(self, engine: AsyncEngine, statement: str) -> None:
        async with engine.connect() as conn:
            await conn.execute(
                text(
                    "INSERT INTO audit_log (service, actor_sub, actor_role, action, "
                    "entity_type, entity_id) VALUES ('t', 'u', 'admin', 'a', 'e', '1')"
                )
            )
            with pytest.raises(ProgrammingError, match=r"permission denied|must be owner"):
                await conn.execute(text(statement))
            await conn.rollback()

    async def test_it_is_not_the_owner_and_not_a_superuser(self, engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT current_user, rolsuper, "
                        "has_table_privilege('audit_log', 'INSERT'), "
                        "has_table_privilege('audit_log', 'SELECT') "
                        "FROM pg_roles WHERE rolname = current_user"
                    )
                )
            ).one()
        assert tuple(row) == ("frontdoor_app", False, True, True)


class TestTheChain:
    async def test_rows_committed_side_by_side_form_one_valid_chain(
        self, maker: Maker, owner: Engine
    ) -> None:
        await asyncio.gather(*(write(maker, 3) for _ in range(8)))
        with owner.connect() as conn:
            seal_pending(conn)  # rows whose commit found the lock busy
            verdict = verify(conn)
        assert verdict.broken is None
        assert verdict.links == 24

    async def test_a_rolled_back_transaction_leaves_no_link(
        self, maker: Maker, owner: Engine
    ) -> None:
        await write(maker, 2)
        async with maker() as session:
            await audit.record(
                session, service="t", actor=WORKER, action="a", entity_type="e", entity_id="x"
            )
            await session.rollback()  # the request failed
        await write(maker, 1)
        with owner.connect() as conn:
            seal_pending(conn)
            assert verify(conn).links == 3
            assert verify(conn).ok

    async def test_pythons_canonical_form_is_the_databases(
        self, maker: Maker, owner: Engine
    ) -> None:
        tricky = 'quote " backslash \\ newline \n tab \t \x01 \x7f é € 😀 \u2028 </script>'
        await write(maker, 1, reason=tricky)
        with owner.connect() as conn:
            in_sql = conn.execute(text("SELECT audit_canonical(a) FROM audit_log a")).scalar()
            row = conn.execute(text("SELECT * FROM audit_log")).mappings().one()
        assert canonical(dict(row)) == in_sql
        assert run_verify(owner) == "ok"

    async def test_an_edit_by_the_owner_is_named(self, maker: Maker, owner: Engine) -> None:
        await write(maker, 5)
        with owner.begin() as conn:
            ids = conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
            conn.execute(
                text("UPDATE audit_log SET actor_sub = 'covered-up' WHERE id = :id"),
                {"id": ids[2]},
            )
        assert run_verify(owner).startswith(f"audit row {ids[2]} ")
        assert run_verify(owner).endswith("the row was changed")

    async def test_a_deleted_row_is_named(self, maker: Maker, owner: Engine) -> None:
        await write(maker, 4)
        with owner.begin() as conn:
            ids = conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
            conn.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
        assert run_verify(owner) == f"audit row {ids[1]} ({_link(owner, ids[1])}): " + (
            "the row was deleted"
        )

    async def test_a_removed_link_is_named(self, maker: Maker, owner: Engine) -> None:
        await write(maker, 4)
        with owner.begin() as conn:
            ids = conn.execute(text("SELECT id FROM audit_log ORDER BY id")).scalars().all()
            conn.execute(text("DELETE FROM audit_chain WHERE audit_id = :id"), {"id": ids[1]})
        assert run_verify(owner).startswith(f"audit row {ids[2]} ")
        assert "does not follow" in run_verify(owner)

    async def test_a_commit_never_waits_for_the_chain_and_the_sealer_catches_up(
        self, maker: Maker, owner: Engine
    ) -> None:
        await write(maker, 1)
        with owner.connect() as holder:
            # Another transaction holds the chain's lock (as while its commit is flushed).
            holder.execute(text("SELECT pg_advisory_lock(hashtext('frontdoor:audit_chain'))"))
            await asyncio.wait_for(write(maker, 2), timeout=30)  # committed, not blocked
            with owner.connect() as conn:
                verdict = verify(conn)
                assert verdict.links == 1
                assert verdict.broken is not None
                assert verdict.broken.reason == "the row has no link (never sealed)"
                assert seal_pending(conn) == 0  # the lock is still held: nothing sealed
            holder.execute(text("SELECT pg_advisory_unlock(hashtext('frontdoor:audit_chain'))"))
            holder.commit()
        with owner.connect() as conn:
            assert seal_pending(conn) == 2
            assert verify(conn).links == 3
        assert run_verify(owner) == "ok"

    async def test_the_workers_seal_what_the_commits_left(
        self, maker: Maker, owner: Engine
    ) -> None:
        from services.cli import build_worker

        jobs = {job.name: job for job in build_worker("triage").periodic}
        with owner.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(hashtext('frontdoor:audit_chain'))"))
            await write(maker, 2)
            holder.execute(text("SELECT pg_advisory_unlock(hashtext('frontdoor:audit_chain'))"))
            holder.commit()
        assert await jobs["platform.audit_seal"].job(maker) == 2
        assert run_verify(owner) == "ok"

    async def test_the_intake_statements_own_audit_row_is_chained(
        self, committed_db: str, owner: Engine, auth: TokenFactory
    ) -> None:
        app = create_app()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post(
                "/v1/referrals",
                json=make_marf(),
                headers=auth("referrer", agency_id="west-yorkshire-police"),
            )
        assert response.status_code == 201, response.text
        with owner.connect() as conn:
            linked = conn.execute(
                text(
                    "SELECT a.action, a.council_id FROM audit_chain c "
                    "JOIN audit_log a ON a.id = c.audit_id"
                )
            ).all()
        assert [tuple(r) for r in linked] == [("referral.submitted", "demo")]
        assert run_verify(owner) == "ok"


class TestVerifyCommand:
    async def test_it_exits_0_on_an_intact_chain_and_1_naming_the_edited_row(
        self, maker: Maker, owner: Engine
    ) -> None:
        await write(maker, 3)
        assert cli._parser().parse_args(["audit", "verify"]).audit_command == "verify"
        code, out = verify_command()
        assert code == 0
        assert "audit chain intact: 3 links" in out
        with owner.begin() as conn:
            first = conn.execute(text("SELECT min(id) FROM audit_log")).scalar()
            conn.execute(
                text("UPDATE audit_log SET reason = 'edited' WHERE id = :id"), {"id": first}
            )
        code, out = verify_command()
        assert code == 1
        assert f"audit row {first} (link " in out
        assert "the row was changed" in out


class TestCheckLinks:
    def test_an_empty_chain_is_intact(self) -> None:
        assert check_links([]) == (0, None, GENESIS, None)

    def test_the_first_links_previous_hash_must_be_the_genesis(self) -> None:
        from datetime import UTC, datetime

        row = {
            "id": 1,
            "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
            "council_id": "demo",
            "service": "t",
            "actor_sub": "u",
            "actor_role": "admin",
            "actor_org": None,
            "action": "a",
            "entity_type": "e",
            "entity_id": "1",
            "request_id": None,
            "reason": None,
        }
        good = {**row, "seq": 1, "audit_id": 1, "present": 1, "prev_hash": GENESIS}
        good["row_hash"] = link_hash(GENESIS, row)
        assert check_links([good])[3] is None
        forged = {**good, "prev_hash": "f" * 64, "row_hash": link_hash("f" * 64, row)}
        broken = check_links([forged])[3]
        assert broken is not None
        assert broken.reason == "does not follow the link before"


def _link(owner: Engine, audit_id: int) -> str:
    with owner.connect() as conn:
        seq = conn.execute(
            text("SELECT seq FROM audit_chain WHERE audit_id = :id"), {"id": audit_id}
        ).scalar()
    return f"link {seq}"
