"""MARF intake: full submissions at concurrency 32 vs a bare FastAPI+asyncpg jsonb insert.

Both run under uvicorn (one process each) on 127.0.0.1 against the same PostgreSQL
(`DATABASE_URL`, default the embedded one). The referral API does the whole intake: JWT, MARF
validation, idempotency key, reference sequence, calendar, referral row, audit row, outbox
event; the baseline only inserts the JSON. Prints throughput, p50/p95 and the ratios.

    .venv/bin/python -m bench.intake [--requests 3000] [--concurrency 32] [--time-limit 120]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from bench.intake_baseline import TABLE
from bench.intake_load import Result, Server, drive, start_server, wait_ready
from services.auth import Role, mint_token
from services.cli import migrate
from services.db import resolve_database_url, sync_url
from services.settings import get_settings

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
BENCH_AGENCY = "bench-intake"
# The goals set for the intake (issue 4).
GOAL_RATIO = 0.5
GOAL_P95_MS = 50.0


def example_bodies() -> list[dict[str, Any]]:
    """The documented example MARFs (unborn due dates moved into range)."""
    today = datetime.now(ZoneInfo("Europe/London")).date()
    bodies = []
    for path in sorted(EXAMPLES.glob("marf-*.json")):
        marf = json.loads(path.read_text())
        for subject in marf["subjects"]:
            if subject["kind"] == "unborn":
                subject["expected_due_date"] = (today + timedelta(days=120)).isoformat()
        bodies.append(marf)
    return bodies


def cleanup(url: str) -> None:
    """Remove what the run wrote: the baseline table and the bench agency's referrals."""
    engine = create_engine(sync_url(url))
    agency = {"agency": BENCH_AGENCY}
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {TABLE}"))
        events = "SELECT id FROM outbox_events WHERE payload->>'agency_id' = :agency"
        conn.execute(text(f"DELETE FROM event_consumptions WHERE event_id IN ({events})"), agency)
        conn.execute(
            text("DELETE FROM outbox_events WHERE payload->>'agency_id' = :agency"), agency
        )
        conn.execute(text("DELETE FROM audit_log WHERE actor_org = :agency"), agency)
        doomed = "SELECT id FROM referral_referrals WHERE agency_id = :agency"
        conn.execute(
            text(f"DELETE FROM referral_idempotency_keys WHERE referral_id IN ({doomed})"), agency
        )
        conn.execute(text("DELETE FROM referral_referrals WHERE agency_id = :agency"), agency)
    engine.dispose()


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(f"\n{args.requests} requests per side, concurrency {args.concurrency}")
    print(f"{'':<14}{'done':>7}{'failed':>8}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for r in results:
        print(
            f"{r.name:<14}{r.completed:>7}{r.failed:>8}{r.throughput:>10.0f}"
            f"{r.percentile(50):>9.1f}{r.percentile(95):>9.1f}{r.percentile(99):>9.1f}"
        )
    baseline, referral = results
    ratio = referral.throughput / baseline.throughput if baseline.throughput else 0.0
    p95 = referral.percentile(95)
    print(f"\nthroughput ratio referral_api / baseline: {ratio:.2f} (goal >= {GOAL_RATIO})")
    print(f"referral_api p95: {p95:.1f} ms (goal <= {GOAL_P95_MS:.0f} ms)")
    met = ratio >= GOAL_RATIO and p95 <= GOAL_P95_MS and referral.failed == 0
    print("goals met" if met else "goals NOT met")


async def run(args: argparse.Namespace) -> list[Result]:
    url = resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    migrate()
    env = {"DATABASE_URL": url, "ENVIRONMENT": "development", "LOG_JSON": "true"}
    token = mint_token(get_settings(), sub="bench", role=Role.referrer, agency_id=BENCH_AGENCY)
    bodies = example_bodies()
    results: list[Result] = []
    sides = [
        ("baseline", "bench.intake_baseline:create_app", "/baseline/referrals", False),
        ("referral_api", "referral_api.main:create_app", "/v1/referrals", True),
    ]
    try:
        # Partner systems send an Idempotency-Key with every submission: so does the bench.
        for name, factory, path, keyed in sides:
            server: Server = start_server(factory, env)
            try:
                await wait_ready(server)
                headers = {"Authorization": f"Bearer {token}"}
                warm = min(200, args.requests)
                await drive(
                    name,
                    server.base_url + path,
                    bodies,
                    headers,
                    requests=warm,
                    concurrency=args.concurrency,
                    time_limit=args.time_limit,
                )
                results.append(
                    await drive(
                        name,
                        server.base_url + path,
                        bodies,
                        headers,
                        requests=args.requests,
                        concurrency=args.concurrency,
                        time_limit=args.time_limit,
                        idempotency_keys=keyed,
                    )
                )
            finally:
                server.stop()
    finally:
        if not args.keep:
            cleanup(url)
    return results


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per side")
    parser.add_argument("--keep", action="store_true", help="keep the rows the run wrote")
    args = parser.parse_args(argv)
    report(asyncio.run(run(args)), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
