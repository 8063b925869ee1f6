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
request, and a durable COMMIT). The run stops if the SELECT the API sends (captured from a
real request) is not the baselines' SQL with the same parameters. Also shown: the endpoint's
data path alone (its page read through the SQLAlchemy session, items built) and the bare
query on one asyncpg connection.
Goal: p95 <= 50 ms and <= 2x the bare baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from bench.queue_baseline import bare_app
from services.auth import Role, mint_token
from services.db import get_engine, resolve_database_url
from services.settings import get_settings
from triage.queue.lanes import lanes_for
from triage.queue.repository import QueueFilters, queue_query

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


def bare_query() -> tuple[str, list[Any]]:
    """The SQL and arguments the endpoint runs for a front-door worker's first page."""
    filters = QueueFilters(lanes=lanes_for(Role.front_door_worker))
    return queue_query(COUNCIL, filters, sub="bench-worker", limit=PAGE, cursor=None)


async def time_api(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.get("/v1/queue", headers=headers)
        out.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        assert len(response.json()["items"]) == PAGE
    return out


async def time_session(n: int) -> list[float]:
    """The endpoint's data path alone: a page read through the app's SQLAlchemy session and
    its queue items built (no HTTP, auth, audit or commit)."""
    from services.db import get_sessionmaker
    from triage.queue.repository import queue_page

    maker = get_sessionmaker()
    filters = QueueFilters(lanes=lanes_for(Role.front_door_worker))
    out = []
    for _ in range(n):
        started = time.perf_counter()
        async with maker() as session:
            page = await queue_page(
                session, COUNCIL, filters, sub="bench-worker", limit=PAGE, cursor=None
            )
        out.append((time.perf_counter() - started) * 1000)
        assert len(page.items) == PAGE
    return out


class Captured:
    """The statements the API sends to PostgreSQL during one request, in order: those run
    through SQLAlchemy (its cursor event) and those run on the asyncpg connection itself,
    including BEGIN and COMMIT (asyncpg's query logger)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []

    def sqlalchemy(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.statements.append((statement, list(params or ())))

    def driver(self, query: Any) -> None:
        if query.query.lstrip().upper().startswith(("SELECT", "BEGIN", "COMMIT", "ROLLBACK")):
            self.statements.append((query.query, list(query.args or ())))

    def attach(self, dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(self.driver)

    def detach(self, dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.driver_connection.remove_query_logger(self.driver)

    def first(self, prefix: str) -> tuple[str, list[Any]]:
        for statement, params in self.statements:
            if statement.lstrip().upper().startswith(prefix):
                return statement, params
        raise RuntimeError(f"the API ran no {prefix}")


async def capture_api_sql(client: httpx.AsyncClient, headers: dict[str, str]) -> Captured:
    captured = Captured()
    sync_engine = get_engine().sync_engine
    listeners: list[tuple[Any, str, Callable[..., Any]]] = [
        (sync_engine, "after_cursor_execute", captured.sqlalchemy),
        (sync_engine.pool, "checkout", captured.attach),
        (sync_engine.pool, "checkin", captured.detach),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        await time_api(client, headers, 1)
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
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
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            await time_api(client, headers, 20)  # warm up every path
            captured = await capture_api_sql(client, headers)
            audit_sql, audit_params = captured.first("INSERT INTO AUDIT_LOG")
            print(f"API statements per request: {len(captured.statements)}")
            for statement, _ in captured.statements:
                print(f"  {' '.join(statement.split())[:100]}")
            if captured.first("SELECT") != (sql, params):
                raise RuntimeError("the bare baselines would not run the API's SELECT")
            print("  (the bare baselines run this same SELECT, with the same parameters)")
            bare_transport = httpx.ASGITransport(
                app=bare_app(pool, sql, params, audit_sql, lambda: audit_params)
            )
            async with httpx.AsyncClient(
                transport=bare_transport, base_url="http://bare"
            ) as bare_client:
                await time_bare_http(bare_client, 20)
                await time_bare_http(bare_client, 20, "/queue-audited")
                await time_bare(conn, sql, params, 20)
                await time_session(20)
                runs: dict[str, list[float]] = {
                    k: [] for k in ("api", "http", "audited", "data", "bare")
                }
                for _ in range(max(1, requests // 50)):  # interleaved, 50 at a time
                    runs["api"] += await time_api(client, headers, 50)
                    runs["http"] += await time_bare_http(bare_client, 50)
                    runs["audited"] += await time_bare_http(bare_client, 50, "/queue-audited")
                    runs["data"] += await time_session(50)
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
    # No access log line per request (neither baseline writes one): read with the settings.
    os.environ["LOG_LEVEL"] = "WARNING"
    asyncio.run(run(min(args.requests, 5_000), args.keep))


if __name__ == "__main__":
    main()
