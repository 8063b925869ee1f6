"""Queue page latency: GET /v1/queue over 500,000 historical + 5,000 open contacts vs the
same SQL run bare on asyncpg, side by side.

    DATABASE_URL=postgresql://... .venv/bin/python -m bench.queue [--requests 300] [--keep]

The database must be migrated (`frontdoor migrate`). Rows are bulk-loaded with one
INSERT ... SELECT under a council id of their own ("bench-queue") and removed afterwards
unless --keep (a rerun with the rows kept skips the load). The API path is the whole
request in process (ASGI): JWT, role check, the query, the audit row, the commit and JSON.
Two bare baselines run side by side with it, each one FastAPI route on an asyncpg pool
(same ASGI transport): the identical compiled queue SELECT alone, and the same SQL the API
runs for the read (BEGIN, the queue SELECT, the API's own audit INSERT captured from a real
request, and a durable COMMIT). Also shown: the endpoint's data path alone (the statement
through the SQLAlchemy session) and the bare query on one asyncpg connection.
Goal: p95 <= 50 ms and <= 2x the bare baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect

from bench.queue_baseline import bare_app
from services.auth import Role, mint_token
from services.db import get_engine, resolve_database_url
from services.settings import get_settings
from triage.access import lanes_for
from triage.service.queue import QueueFilters, queue_statement

COUNCIL = "bench-queue"
HISTORICAL, OPEN = 500_000, 5_000
PAGE = 50
GOAL_P95_MS, GOAL_RATIO = 50.0, 2.0

LOAD_SQL = """
INSERT INTO triage_contacts (
  id, council_id, reference, channel, kind, from_professional, received_at, recorded_by,
  status, record, facts, evaluation, subjects_summary, lane, level, rag, priority,
  safety_floor, queue_deadline_at, breached, child_voice_present, wants_feedback,
  previous_referrals_12m, re_referral, contact_type, outcome, decided_at)
SELECT gen_random_uuid(), $1, 'BQ-' || g, 'api', 'marf', true,
  now() - make_interval(mins => g), 'bench',
  CASE WHEN g <= $2 THEN 'open' ELSE 'decided' END,
  '{"source": "bench"}', '{}', '{}',
  jsonb_build_array(
    jsonb_build_object('position', 0, 'kind', 'child', 'name', 'Child ' || g, 'age', g % 17),
    jsonb_build_object('position', 1, 'kind', 'child', 'name', 'Sibling ' || g, 'age', g % 11)),
  (ARRAY['mash','dv_screening','early_help','advice','lado','out_of_hours'])[1 + g % 6],
  1 + g % 4, (ARRAY['red','amber','green'])[1 + g % 3], g % 4, g % 97 = 0,
  now() + make_interval(mins => ((g::bigint * 7919) % 2880)::int),
  g % 13 = 0, g % 2 = 0, true, 0, false,
  CASE WHEN g <= $2 THEN NULL ELSE 'referral' END,
  CASE WHEN g <= $2 THEN NULL ELSE 'early_help' END,
  CASE WHEN g <= $2 THEN NULL ELSE now() - make_interval(mins => g - 60) END
FROM generate_series(1, $3) AS g
"""


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def ensure_data(conn: asyncpg.Connection) -> None:
    have = await conn.fetchval(
        "SELECT count(*) FROM triage_contacts WHERE council_id = $1", COUNCIL
    )
    if have == HISTORICAL + OPEN:
        print(f"reusing {have:,} contacts already loaded")
        return
    await cleanup(conn)
    started = time.perf_counter()
    await conn.execute(LOAD_SQL, COUNCIL, OPEN, HISTORICAL + OPEN)
    await conn.execute("ANALYZE triage_contacts")
    print(
        f"loaded {HISTORICAL:,} historical + {OPEN:,} open in {time.perf_counter() - started:.1f} s"
    )


async def cleanup(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM triage_contacts WHERE council_id = $1", COUNCIL)
    await conn.execute("DELETE FROM audit_log WHERE entity_id = $1", COUNCIL)


def page_statement() -> Any:
    """The statement the endpoint runs for a front-door worker's first page."""
    filters = QueueFilters(lanes=lanes_for(Role.front_door_worker))
    return queue_statement(COUNCIL, filters, limit=PAGE, cursor=None)


def bare_query() -> tuple[str, list[Any]]:
    """The same statement compiled once, for asyncpg with no ORM at all."""
    stmt = page_statement()
    compiled = stmt.compile(
        dialect=asyncpg_dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"render_postcompile": True},
    )
    params = [compiled.params[name] for name in compiled.positiontup or []]
    return compiled.string, params


async def time_api(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get("/v1/queue", headers=headers)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        assert len(response.json()["items"]) == PAGE
    return out


async def time_session(stmt: Any, n: int) -> list[float]:
    """The endpoint's data path alone: the same statement through the app's SQLAlchemy
    session and the queue items built from the rows (no HTTP, auth, audit or commit)."""
    from services.db import get_sessionmaker
    from triage.service.read import queue_item

    maker = get_sessionmaker()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        async with maker() as session:
            rows = (await session.execute(stmt)).all()
            items = [queue_item(r) for r in rows]
        out.append((time.perf_counter() - started) * 1000)
        assert len(items) == PAGE + 1
    return out


class Captured:
    """The statements the API sends to PostgreSQL during one request."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.statements.append((statement, params))

    def audit_insert(self) -> tuple[str, list[Any]]:
        for statement, params in self.statements:
            if statement.lstrip().upper().startswith("INSERT INTO AUDIT_LOG"):
                return statement, list(params)
        raise RuntimeError("the API wrote no audit row")


async def capture_api_sql(client: httpx.AsyncClient, headers: dict[str, str]) -> Captured:
    captured = Captured()
    sync_engine = get_engine().sync_engine
    event.listen(sync_engine, "before_cursor_execute", captured)
    try:
        await time_api(client, headers, 1)
    finally:
        event.remove(sync_engine, "before_cursor_execute", captured)
    return captured


async def time_bare_http(client: httpx.AsyncClient, n: int, path: str = "/queue") -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get(path)
        out.append((time.perf_counter() - started) * 1000)
        assert len(response.json()["items"]) == PAGE + 1
    return out


async def time_bare(conn: asyncpg.Connection, sql: str, params: list[Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        rows = await conn.fetch(sql, *params)
        out.append((time.perf_counter() - started) * 1000)
        assert len(rows) == PAGE + 1
    return out


async def run(requests: int, keep: bool) -> None:
    from triage.main import create_app  # after DATABASE_URL is set

    url = resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    dsn = url.replace("postgresql+asyncpg", "postgresql")
    conn = await asyncpg.connect(dsn)
    try:
        await ensure_data(conn)
        settings = get_settings().model_copy(update={"council_id": COUNCIL})
        token = mint_token(settings, sub="bench-worker", role=Role.front_door_worker)
        headers = {"Authorization": f"Bearer {token}"}
        sql, params = bare_query()
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
        transport = httpx.ASGITransport(app=create_app())
        logging.getLogger("services.http").setLevel(logging.WARNING)  # no access log lines
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await time_api(client, headers, 20)  # warm up every path
            captured = await capture_api_sql(client, headers)
            audit_sql, audit_params = captured.audit_insert()
            print(f"API statements per request: {len(captured.statements)}")
            for statement, _ in captured.statements:
                print(f"  {' '.join(statement.split())[:100]}")
            bare_transport = httpx.ASGITransport(
                app=bare_app(pool, sql, params, audit_sql, lambda: audit_params)
            )
            async with httpx.AsyncClient(
                transport=bare_transport, base_url="http://bare"
            ) as bare_client:
                await time_bare_http(bare_client, 20)
                await time_bare_http(bare_client, 20, "/queue-audited")
                await time_bare(conn, sql, params, 20)
                await time_session(page_statement(), 20)
                runs: dict[str, list[float]] = {
                    k: [] for k in ("api", "http", "audited", "data", "bare")
                }
                for _ in range(max(1, requests // 50)):  # interleaved, 50 at a time
                    runs["api"] += await time_api(client, headers, 50)
                    runs["http"] += await time_bare_http(bare_client, 50)
                    runs["audited"] += await time_bare_http(bare_client, 50, "/queue-audited")
                    runs["data"] += await time_session(page_statement(), 50)
                    runs["bare"] += await time_bare(conn, sql, params, 50)
        await pool.close()
        report(runs)
    finally:
        if not keep:
            await cleanup(conn)
        await conn.close()


LABELS = {
    "api": "API GET /v1/queue (whole request)",
    "http": "bare FastAPI+asyncpg: SELECT only",
    "audited": "bare FastAPI+asyncpg: SELECT+audit+COMMIT",
    "data": "service data path (session+items)",
    "bare": "bare asyncpg query, same SQL",
}


def report(runs: dict[str, list[float]]) -> None:
    p95 = {k: percentile(xs, 95) for k, xs in runs.items()}
    p50 = {k: statistics.median(xs) for k, xs in runs.items()}
    print(f"queue page ({PAGE} items), {len(runs['api'])} requests each, sequential, interleaved")
    for key, label in LABELS.items():
        print(f"  {label:<42} p50 {p50[key]:6.2f} ms   p95 {p95[key]:6.2f} ms")
    for a, b in (("api", "http"), ("api", "audited"), ("data", "bare")):
        print(f"  ratio {a} / {b:<8} p50 {p50[a] / p50[b]:5.2f}x   p95 {p95[a] / p95[b]:5.2f}x")
    for base, what in (("http", "SELECT-only"), ("audited", "SELECT+audit+COMMIT")):
        ok = p95["api"] <= GOAL_P95_MS and p95["api"] / p95[base] <= GOAL_RATIO
        goal = f"API p95 <= {GOAL_P95_MS:.0f} ms and <= {GOAL_RATIO:.0f}x bare {what}"
        print(f"  goal {goal}: {'meets' if ok else 'MISSES'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the loaded rows for a rerun")
    args = parser.parse_args()
    asyncio.run(run(min(args.requests, 5_000), args.keep))


if __name__ == "__main__":
    main()
