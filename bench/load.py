"""Mixed load on loopback: MARF submissions, queue reads, decisions and an Encompass batch.

    DATABASE_URL=postgresql://... .venv/bin/python -m bench.load [--seconds 30] [--rate 100]
        [--hanging 0.1]

Starts the three APIs (uvicorn, one process each, as `bench.intake` does), the three event
workers (`frontdoor worker NAME`) and local webhook receivers (`bench.delivery_receiver`), all
on 127.0.0.1 against one PostgreSQL (`DATABASE_URL`, default the embedded one). For
`--seconds` it drives, at once: POST /v1/referrals with an Idempotency-Key at `--rate` per
second (open loop, `bench.intake_load.drive_at_rate`), GET /v1/queue, claim + decision on queued
contacts, and one POST /v1/encompass/batches to SCHOOLS schools whose webhooks point at the
receivers. Then it waits (bounded) for every referral to become a contact and every alert to
be delivered, and prints non-2xx counts and p50/p95/p99 per endpoint, whether the queue drained,
alerts delivered before their deadline, and each process's RSS.

With `--hanging F` (e.g. 0.1) a second phase runs the same load with a fraction F of the
schools' receivers hanging past the attempt timeout; it prints the healthy schools' delivery
p95 and its ratio to the first phase's (goal <= 2x).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.delivery import add_schools, feed, receivers
from bench.delivery import wait_ready as receiver_ready
from bench.intake import cleanup, example_bodies
from bench.intake_load import Server, Target, drive_at_rate, start_server, wait_ready
from notifications.settings import NotificationsSettings
from services import db
from services.auth import Role, mint_token
from services.cli import migrate
from services.db import resolve_database_url, sync_url
from services.settings import get_settings

AGENCY = "bench-load"
FORCE = "bench-police"
SCHOOLS = 20
ALERTS = 200
# Workers and receivers share this per-attempt timeout; hanging receivers sleep past it.
ATTEMPT_TIMEOUT_SECONDS = 3.0
HANG_SECONDS = ATTEMPT_TIMEOUT_SECONDS + 2.0
QUEUE_READ_INTERVAL = 0.2
DECISION_INTERVAL = 0.2
# Bounds on the waits after the load (seconds).
DRAIN_LIMIT = 90.0
DELIVERY_LIMIT = 90.0
GOAL_RATIO = 2.0
DECISION = {
    "contact_type": "referral",
    "outcome": "early_help",
    "primary_need_code": "N1",
    "rationale": "Needs met with early help; family agrees.",
}
# At level 4: a strategy discussion, consent not sought (recorded with its reason and who decided).
DECISION_AT_4 = {
    "contact_type": "referral",
    "outcome": "strategy_discussion",
    "primary_need_code": "N1",
    "rationale": "Risk of significant harm: strategy discussion with police and health.",
    "consent_state": "refused",
    "consent_reason": "Asking again would alert the alleged abuser: risk of significant harm.",
    "consent_decided_by": "bench-manager (duty team manager)",
}


def percentile(samples: list[float], p: int) -> float:
    if len(samples) < 2:
        return samples[0] if samples else 0.0
    return statistics.quantiles(samples, n=100, method="inclusive")[p - 1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (Linux /proc; 0 elsewhere)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class Endpoint:
    """Latencies of the 2xx answers and the count of every other status per endpoint."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass
class Phase:
    name: str
    endpoints: dict[str, Endpoint]
    submitted: int
    contacts: int
    drained_s: float | None
    alerts: int
    delivered: int
    in_time: int
    healthy_delivery_ms: list[float]
    healthy_in_time: int
    rss: dict[str, float]


class Stack:
    """The three APIs and three workers we started, stopped by their own pids."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.apis: dict[str, Server] = {}
        self.workers: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for name in ("referral_api", "triage", "notifications"):
            self.apis[name] = start_server(f"{name}.main:create_app", self.env)
        script = Path(sys.executable).with_name("frontdoor")
        base = [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]
        for name in ("referral_api", "triage", "notifications"):
            self.workers[name] = subprocess.Popen(
                [*base, "worker", name],
                env={**os.environ, **self.env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    def pids(self) -> dict[str, int]:
        out = {f"api {n}": s.process.pid for n, s in self.apis.items()}
        out.update({f"worker {n}": p.pid for n, p in self.workers.items()})
        return out

    def stop(self) -> None:
        for server in self.apis.values():
            server.stop()
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.workers.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def tokens() -> dict[str, dict[str, str]]:
    settings = get_settings()

    def bearer(**kw: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(settings, **kw)}"}

    return {
        "referrer": bearer(sub="bench", role=Role.referrer, agency_id=AGENCY),
        "worker": bearer(sub="bench-worker", role=Role.front_door_worker),
        "police": bearer(sub="bench-police", role=Role.police_feed, agency_id=FORCE),
    }


async def timed(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    method: str,
    url: str,
    **kw: Any,
) -> httpx.Response | None:
    t0 = time.perf_counter()
    try:
        response = await client.request(method, url, **kw)
    except httpx.HTTPError as error:
        endpoint.errors[type(error).__name__] += 1
        return None
    if 200 <= response.status_code < 300:
        endpoint.latencies_ms.append((time.perf_counter() - t0) * 1000)
    else:
        endpoint.errors[str(response.status_code)] += 1
    return response


async def read_queue(
    client: httpx.AsyncClient, base: str, headers: dict[str, str], ep: Endpoint, until: float
) -> None:
    while time.monotonic() < until:
        await timed(client, ep, "GET", f"{base}/v1/queue", headers=headers)
        await asyncio.sleep(QUEUE_READ_INTERVAL)


async def decide(
    client: httpx.AsyncClient,
    base: str,
    headers: dict[str, str],
    eps: dict[str, Endpoint],
    until: float,
) -> None:
    """Claim the first unclaimed contact at level 1-4 on a queue page, then decide it at its
    proposed level (a decision above the proposal needs a reason; level 4 records consent)."""
    tried: set[str] = set()
    while time.monotonic() < until:
        await asyncio.sleep(DECISION_INTERVAL)
        response = await client.get(f"{base}/v1/queue?limit=50", headers=headers)
        if response.status_code != 200:  # counted with the queue reads' errors
            eps["queue"].errors[str(response.status_code)] += 1
            continue
        items = [
            i
            for i in response.json()["items"]
            if i["lease_holder"] is None and i["level"] <= 4 and i["id"] not in tried
        ]
        if not items:
            continue
        item = items[0]
        tried.add(item["id"])
        url = f"{base}/v1/contacts/{item['id']}"
        claim = await timed(client, eps["claim"], "POST", f"{url}/claim", headers=headers)
        if claim is None or claim.status_code != 200:
            continue
        body = {**(DECISION_AT_4 if item["level"] == 4 else DECISION), "level": item["level"]}
        done = await timed(
            client, eps["decision"], "POST", f"{url}/decision", json=body, headers=headers
        )
        if done is not None and done.status_code >= 300 and not eps["decision"].latencies_ms:
            print("decision refused:", done.text[:400])


async def encompass(
    client: httpx.AsyncClient,
    base: str,
    headers: dict[str, str],
    ep: Endpoint,
    urns: list[str],
    tag: str,
    at: float,
) -> None:
    await asyncio.sleep(at)
    body = {"incidents": feed(ALERTS, urns, tag)}
    url = f"{base}/v1/encompass/batches"
    response = await timed(client, ep, "POST", url, json=body, headers=headers)
    if response is not None and response.status_code == 200:
        result = response.json()
        print(f"encompass batch: accepted {result['accepted']}, rejected {result['rejected']}")
        if result["rejected"]:
            ep.errors["rejected items"] += result["rejected"]
            print("first rejection:", next(i["errors"] for i in result["items"] if i["errors"]))


def counts(url: str, urns: list[str]) -> dict[str, Any]:
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        params = {"agency": AGENCY, "urns": urns}
        referrals = "FROM referral_referrals WHERE agency_id = :agency"
        submitted = conn.scalar(text(f"SELECT count(*) {referrals}"), params)
        contacts = conn.scalar(
            text(
                f"SELECT count(*) FROM triage_contacts WHERE referral_id IN (SELECT id {referrals})"
            ),
            params,
        )
        alerts = conn.execute(
            text(
                "SELECT school_urn, delivered_at IS NOT NULL, delivered_at <= deadline_at,"
                " EXTRACT(EPOCH FROM delivered_at - created_at) * 1000"
                " FROM notif_notifications WHERE school_urn = ANY(:urns)"
            ),
            params,
        ).all()
    engine.dispose()
    return {"submitted": submitted or 0, "contacts": contacts or 0, "alerts": alerts}


async def phase(
    name: str,
    args: argparse.Namespace,
    url: str,
    stack: Stack,
    receiver_pids: dict[str, int],
    urns: list[str],
    healthy: set[str],
    tag: str,
) -> Phase:
    heads = tokens()
    eps = {k: Endpoint() for k in ("referrals", "queue", "claim", "decision", "encompass")}
    cleanup(url, AGENCY)  # the agency's referrals are this phase's only
    referral = stack.apis["referral_api"].base_url
    target = Target(referral + "/v1/referrals", example_bodies(), heads["referrer"], True)
    until = time.monotonic() + args.seconds
    async with httpx.AsyncClient(timeout=30.0) as client:
        submissions = drive_at_rate(
            "referrals",
            target,
            rate=args.rate,
            requests=round(args.rate * args.seconds),
            concurrency=32,
            time_limit=args.seconds,
        )
        triage, notif = stack.apis["triage"].base_url, stack.apis["notifications"].base_url
        result, *_ = await asyncio.gather(
            submissions,
            read_queue(client, triage, heads["worker"], eps["queue"], until),
            decide(client, triage, heads["worker"], eps, until),
            encompass(
                client, notif, heads["police"], eps["encompass"], urns, tag, args.seconds / 3
            ),
        )
    eps["referrals"].latencies_ms = result.latencies_ms
    if result.failed:
        eps["referrals"].errors["failed"] += result.failed
    drained_s: float | None = None
    started = time.monotonic()
    while time.monotonic() - started < max(DRAIN_LIMIT, DELIVERY_LIMIT):
        c = counts(url, urns)
        if drained_s is None and c["contacts"] == c["submitted"]:
            drained_s = time.monotonic() - started
        healthy_done = all(r[1] for r in c["alerts"] if r[0] in healthy)
        if drained_s is not None and healthy_done and len(c["alerts"]) >= ALERTS:
            break
        await asyncio.sleep(1.0)
    rss = {n: rss_mb(p) for n, p in {**stack.pids(), **receiver_pids}.items()}
    alerts = c["alerts"]
    return Phase(
        name=name,
        endpoints=eps,
        submitted=int(c["submitted"]),
        contacts=int(c["contacts"]),
        drained_s=drained_s,
        alerts=len(alerts),
        delivered=sum(1 for r in alerts if r[1]),
        in_time=sum(1 for r in alerts if r[2]),
        healthy_delivery_ms=[float(r[3]) for r in alerts if r[0] in healthy and r[1]],
        healthy_in_time=sum(1 for r in alerts if r[0] in healthy and r[2]),
        rss=rss,
    )


def report(p: Phase, args: argparse.Namespace) -> None:
    print(f"\n== {p.name}: {args.seconds:g} s, MARF rate {args.rate:g}/s ==")
    print(f"{'endpoint':<12}{'2xx':>7}{'non-2xx':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}")
    for name, ep in p.endpoints.items():
        lat = ep.latencies_ms
        errors = sum(ep.errors.values())
        detail = f"  {dict(ep.errors)}" if errors else ""
        print(
            f"{name:<12}{len(lat):>7}{errors:>9}{percentile(lat, 50):>9.1f}"
            f"{percentile(lat, 95):>9.1f}{percentile(lat, 99):>9.1f}{detail}"
        )
    drained = f"yes, {p.drained_s:.0f} s after the load" if p.drained_s is not None else "NO"
    print(f"queue drained: {drained} ({p.contacts}/{p.submitted} referrals became contacts)")
    print(f"alerts delivered: {p.delivered}/{p.alerts}, before their deadline: {p.in_time}")
    lat = p.healthy_delivery_ms
    print(
        f"healthy schools' delivery (created -> delivered): {len(lat)} alerts, "
        f"p50 {percentile(lat, 50):.0f} ms, p95 {percentile(lat, 95):.0f} ms"
    )
    print("RSS at the end (MiB): " + ", ".join(f"{n} {v:.0f}" for n, v in p.rss.items()))


async def run(args: argparse.Namespace) -> int:
    url = resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    migrate()
    subprocess.run(
        [sys.executable, "-m", "services.cli", "seed-demo"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    env = {
        "DATABASE_URL": url,
        "ENVIRONMENT": "development",
        "LOG_JSON": "true",
        "LOG_LEVEL": "WARNING",
        # One caller at 100 submissions a second stands for many partner systems: the
        # per-caller write limit (300 a minute) would refuse most of them.
        "RATE_LIMIT_ENABLED": "false",
        "NOTIFICATIONS_ATTEMPT_TIMEOUT_SECONDS": str(ATTEMPT_TIMEOUT_SECONDS),
    }
    os.environ.update(env)
    settings = NotificationsSettings()
    maker = db.get_sessionmaker()
    stack = Stack(env)
    phases: list[Phase] = []
    ok = True
    with receivers(1) as good, receivers(1, hang_seconds=HANG_SECONDS) as bad:
        try:
            for r in (*good, *bad):
                await receiver_ready(r)
            stack.start()
            for server in stack.apis.values():
                await wait_ready(server)
            pids = {"receiver": good[0].process.pid, "hanging receiver": bad[0].process.pid}
            runs = [("without hanging receivers", 0.0)]
            if args.hanging:
                runs.append((f"{args.hanging:.0%} of receivers hanging", args.hanging))
            # Fresh school URNs each run: the delivery tables are append-only (no TRUNCATE).
            first_urn = 100000 + (int(time.time() / 10) % 8000) * 100
            for i, (name, fraction) in enumerate(runs):
                hanging = round(SCHOOLS * fraction)
                first = first_urn + 50 * i
                urns = await add_schools(maker, settings, good, first, SCHOOLS - hanging)
                if hanging:
                    urns += await add_schools(maker, settings, bad, first + 40, hanging)
                healthy = set(urns[: SCHOOLS - hanging])
                random.shuffle(urns)
                p = await phase(name, args, url, stack, pids, urns, healthy, str(first))
                report(p, args)
                phases.append(p)
                errors = sum(sum(e.errors.values()) for e in p.endpoints.values())
                healthy_in_time = p.healthy_in_time == round(ALERTS * len(healthy) / SCHOOLS)
                ok = ok and errors == 0 and p.drained_s is not None and healthy_in_time
                ok = ok and (fraction > 0 or p.in_time == p.alerts)
        finally:
            stack.stop()
            cleanup(url, AGENCY)
            await db.get_engine().dispose()
    if len(phases) == 2:
        base = percentile(phases[0].healthy_delivery_ms, 95)
        hung = percentile(phases[1].healthy_delivery_ms, 95)
        ratio = hung / base if base else float("inf")
        print(
            f"\nhealthy schools' delivery p95: {base:.0f} ms without, {hung:.0f} ms with hanging "
            f"receivers: ratio {ratio:.2f}x (goal <= {GOAL_RATIO:g}x)"
        )
        ok = ok and ratio <= GOAL_RATIO
    print("RESULT:", "goals met" if ok else "goals NOT met")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the load")
    parser.add_argument("--rate", type=float, default=100.0, help="MARF submissions per second")
    parser.add_argument(
        "--hanging", type=float, default=0.0, help="second phase: this fraction of receivers hang"
    )
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 120 or not 0 < args.rate <= 500 or not 0 <= args.hanging < 1:
        parser.error("--seconds in (0, 120], --rate in (0, 500], --hanging in [0, 1)")
    return asyncio.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
