"""MARF intake: full submissions at concurrency 32 vs a bare FastAPI+asyncpg jsonb insert.

Both run under uvicorn (one process each) on 127.0.0.1 against the same PostgreSQL
(`DATABASE_URL`, default the embedded one). The referral API does the whole intake: JWT, MARF
validation, idempotency key, reference sequence, calendar, referral row, audit row, outbox
event; the baseline only inserts the JSON. Prints throughput, p50/p95 and the ratios.

    .venv/bin/python -m bench.intake [--requests 3000] [--concurrency 32] [--rounds 3]

Each round drives the baseline, then the referral API (both servers stay up), and prints
throughput, p50/p95/p99 and each server's CPU per request; the verdict uses the medians.

With `--rates 100,200,400` it drives an open loop instead: each offered rate for
`--step-seconds`, the baseline then the referral API, latency counted from when each request
was due; it prints p50/p95/p99 per rate and side, and the highest rate each side served with
a p95 within the goal. A closed loop's latency is its concurrency divided by its throughput;
the open loop shows the latency a partner system sees at a given load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

from bench.intake_baseline import TABLE
from bench.intake_load import (
    Result,
    Server,
    Target,
    drive,
    drive_at_rate,
    start_server,
    wait_ready,
)
from services.auth import Role, mint_token
from services.cli import migrate
from services.db import resolve_database_url, sync_url
from services.settings import get_settings

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
BENCH_AGENCY = "bench-intake"
# The goals set for the intake (issue 4).
GOAL_RATIO = 0.5
GOAL_P95_MS = 50.0
BASELINE_PATH, REFERRAL_PATH = "/baseline/referrals", "/v1/referrals"


def example_bodies() -> list[dict[str, Any]]:
    """The documented example MARFs (unborn due dates and phone-call times moved into range)."""
    today = datetime.now(ZoneInfo("Europe/London")).date()
    bodies = []
    for path in sorted(EXAMPLES.glob("marf-*.json")):
        marf = json.loads(path.read_text())
        follow_up = marf.get("follow_up_to_phone_call")
        if follow_up:  # a follow-up must come within 168 h of the call: an hour ago
            now = datetime.now(ZoneInfo("Europe/London"))
            follow_up["call_at"] = (now - timedelta(hours=1)).isoformat(timespec="seconds")
        for subject in marf["subjects"]:
            if subject["kind"] == "unborn":
                subject["expected_due_date"] = (today + timedelta(days=120)).isoformat()
        bodies.append(marf)
    return bodies


def cleanup(url: str, agency_id: str = BENCH_AGENCY) -> None:
    """Remove what the run wrote: the baseline table and the bench agency's referrals."""
    engine = create_engine(sync_url(url))
    agency = {"agency": agency_id}
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


def _stat(pid: int | str) -> tuple[str, list[str]] | None:
    try:
        comm, _, rest = Path(f"/proc/{pid}/stat").read_text().rpartition(")")
    except OSError:
        return None
    return comm.partition("(")[2], rest.split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc; 0 elsewhere)."""
    stat = _stat(pid)
    if stat is None:
        return 0.0
    fields = stat[1]
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float:
    """CPU used so far by every PostgreSQL process on this machine, with what exited backends
    left to their postmaster (Linux /proc; 0 elsewhere). Nothing else uses the database while
    a benchmark runs, so a difference of two readings is the benchmark's."""
    processes = {}
    for entry in Path("/proc").iterdir():
        stat = _stat(entry.name) if entry.name.isdigit() else None
        if stat is not None and stat[0] == "postgres":
            processes[entry.name] = stat[1]
    ticks = 0
    for fields in processes.values():
        ticks += int(fields[11]) + int(fields[12])
        if fields[1] not in processes:  # a postmaster: add its exited backends' CPU
            ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Round:
    baseline: Result
    referral: Result
    baseline_cpu_ms: float  # server CPU per request
    referral_cpu_ms: float
    baseline_db_cpu_ms: float  # the database's CPU per request
    referral_db_cpu_ms: float

    @property
    def ratio(self) -> float:
        b = self.baseline.throughput
        return self.referral.throughput / b if b else 0.0


def report(rounds: list[Round], args: argparse.Namespace) -> bool:
    print(f"\n{args.requests} requests per side per round, concurrency {args.concurrency}")
    head = f"{'':<8}{'side':<14}{'done':>6}{'failed':>7}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}"
    print(head + f"{'p99 ms':>8}{'cpu ms/req':>11}{'db cpu ms/req':>14}")
    for i, rnd in enumerate(rounds, 1):
        sides = (
            (rnd.baseline, rnd.baseline_cpu_ms, rnd.baseline_db_cpu_ms),
            (rnd.referral, rnd.referral_cpu_ms, rnd.referral_db_cpu_ms),
        )
        for r, cpu, db_cpu in sides:
            print(
                f"{'round ' + str(i):<8}{r.name:<14}{r.completed:>6}{r.failed:>7}"
                f"{r.throughput:>8.0f}{r.percentile(50):>8.1f}{r.percentile(95):>8.1f}"
                f"{r.percentile(99):>8.1f}{cpu:>11.2f}{db_cpu:>14.2f}"
            )
        print(f"{'':<8}ratio {rnd.ratio:.2f}")
    ratio = statistics.median(r.ratio for r in rounds)
    p95 = statistics.median(r.referral.percentile(95) for r in rounds)
    failed = sum(r.referral.failed + r.baseline.failed for r in rounds)
    print(f"\nmedian throughput ratio referral_api / baseline: {ratio:.2f} (goal >= {GOAL_RATIO})")
    print(f"median referral_api p95: {p95:.1f} ms (goal <= {GOAL_P95_MS:.0f} ms)")
    met = ratio >= GOAL_RATIO and p95 <= GOAL_P95_MS and failed == 0
    print("goals met" if met else "goals NOT met")
    return met


async def _measure(side: Side, args: argparse.Namespace) -> tuple[Result, float, float]:
    pid = side.server.process.pid
    before, db_before = cpu_seconds(pid), database_cpu_seconds()
    result = await drive(
        side.name,
        side.target,
        requests=args.requests,
        concurrency=args.concurrency,
        time_limit=args.time_limit,
    )
    used = cpu_seconds(pid) - before
    db_used = database_cpu_seconds() - db_before
    count = max(1, result.completed + result.failed)
    return result, 1000 * used / count, 1000 * db_used / count


@dataclass
class Step:
    """One offered rate of the open-loop ladder, both sides."""

    rate: float
    baseline: Result
    referral: Result


@dataclass
class Side:
    """One server under test and the load it gets."""

    name: str
    server: Server
    target: Target


@asynccontextmanager
async def _servers(args: argparse.Namespace) -> AsyncIterator[tuple[Side, Side]]:
    """Both servers started, ready and warmed up, with their load; removed afterwards."""
    url = resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    migrate()
    env = {"DATABASE_URL": url, "ENVIRONMENT": "development", "LOG_JSON": "true"}
    token = mint_token(get_settings(), sub="bench", role=Role.referrer, agency_id=BENCH_AGENCY)
    bodies, headers = example_bodies(), {"Authorization": f"Bearer {token}"}
    baseline = start_server("bench.intake_baseline:create_app", env)
    referral = start_server("referral_api.main:create_app", env)
    sides = (
        Side("baseline", baseline, Target(baseline.base_url + BASELINE_PATH, bodies, headers)),
        # Partner systems send an Idempotency-Key with every submission: so does the bench.
        Side(
            "referral_api",
            referral,
            Target(referral.base_url + REFERRAL_PATH, bodies, headers, idempotency_keys=True),
        ),
    )
    try:
        for side in sides:
            await wait_ready(side.server)
        for side in sides:
            await drive(
                "warm",
                side.target,
                requests=min(200, args.requests),
                concurrency=args.concurrency,
                time_limit=args.time_limit,
            )
        yield sides
    finally:
        baseline.stop()
        referral.stop()
        if not args.keep:
            cleanup(url)


async def run(args: argparse.Namespace) -> list[Round]:
    """Closed loop: `concurrency` requests always in flight."""
    rounds: list[Round] = []
    async with _servers(args) as (baseline, referral):
        # Side by side: the two alternate within each round, so a noisy neighbour on the
        # shared machine hits both; the verdict uses the rounds' medians.
        for _ in range(args.rounds):
            b, b_cpu, b_db = await _measure(baseline, args)
            r, r_cpu, r_db = await _measure(referral, args)
            rounds.append(Round(b, r, b_cpu, r_cpu, b_db, r_db))
    return rounds


async def run_ladder(args: argparse.Namespace) -> list[Step]:
    """Open loop: each offered rate for `step_seconds`, the baseline then the referral API."""
    steps = []
    async with _servers(args) as sides:
        for rate in args.rates:
            b, r = [
                await drive_at_rate(
                    side.name,
                    side.target,
                    rate=rate,
                    requests=round(rate * args.step_seconds),
                    concurrency=args.concurrency,
                    time_limit=args.time_limit,
                )
                for side in sides
            ]
            steps.append(Step(rate, b, r))
    return steps


def report_ladder(steps: list[Step], args: argparse.Namespace) -> None:
    print(f"\nopen loop: each rate for {args.step_seconds:g} s per side, latency from when due")
    head = f"{'rate/s':>7}  {'side':<14}{'done':>6}{'failed':>7}"
    print(head + f"{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}")
    for step in steps:
        for r in (step.baseline, step.referral):
            print(
                f"{step.rate:>7.0f}  {r.name:<14}{r.completed:>6}{r.failed:>7}"
                f"{r.percentile(50):>8.1f}{r.percentile(95):>8.1f}{r.percentile(99):>8.1f}"
            )
    for side in ("baseline", "referral"):
        within = [
            s.rate
            for s in steps
            if getattr(s, side).failed == 0 and getattr(s, side).percentile(95) <= GOAL_P95_MS
        ]
        best = f"{max(within):.0f} req/s" if within else "none of the rates"
        print(f"{side}: highest offered rate with p95 <= {GOAL_P95_MS:.0f} ms: {best}")


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request otherwise
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="baseline/referral_api pairs")
    parser.add_argument("--time-limit", type=float, default=120.0, help="seconds per side")
    parser.add_argument("--keep", action="store_true", help="keep the rows the run wrote")
    parser.add_argument(
        "--rates",
        type=lambda text: [float(r) for r in text.split(",")],
        help="open loop instead: offered rates per second, e.g. 100,200,400",
    )
    parser.add_argument("--step-seconds", type=float, default=10.0, help="per rate and side")
    args = parser.parse_args(argv)
    if args.rates:
        report_ladder(asyncio.run(run_ladder(args)), args)
    else:
        report(asyncio.run(run(args)), args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
