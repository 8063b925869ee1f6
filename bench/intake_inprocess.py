"""The intake's own cost per request, in process: the ASGI app called in a loop, no network.

Calls the referral API's app (or the baseline's) directly with full example MARFs, one request
at a time against `DATABASE_URL`, and prints the process's CPU per request. CPU time on a
shared machine moves by tens of percent between runs; instruction counts do not. Run under
callgrind with `--callgrind` to count only the measured requests (start-up and warm-up are
not instrumented):

    .venv/bin/python -m bench.intake_inprocess [--app referral|baseline] [--requests 1000]
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/intake.cg \\
        .venv/bin/python -m bench.intake_inprocess --callgrind --requests 200
    grep ^totals: /tmp/intake.cg   # instructions; divide by --requests

Writes referrals for the bench agency, as bench.intake does (removed unless --keep).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI

from bench.intake import BENCH_AGENCY, cleanup, example_bodies
from services.auth import Role, mint_token
from services.cli import migrate
from services.db import resolve_database_url
from services.settings import get_settings

WARM_UP = 300


def _app(which: str) -> tuple[FastAPI, str]:
    if which == "baseline":
        from bench.intake_baseline import create_app as baseline

        return baseline(), "/baseline/referrals"
    from referral_api.main import create_app

    return create_app(), "/v1/referrals"


def _requester(app: FastAPI, path: str) -> Callable[[int], Awaitable[None]]:
    token = mint_token(get_settings(), sub="bench", role=Role.referrer, agency_id=BENCH_AGENCY)
    bodies = [json.dumps(b).encode() for b in example_bodies()]

    async def one(i: int) -> None:
        body = bodies[i % len(bodies)]
        headers = [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
            (b"idempotency-key", uuid.uuid4().hex.encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the app never reads past the body
            return {}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await app(scope, receive, send)
        if statuses != [201]:
            raise RuntimeError(f"request {i} answered {statuses}")

    return one


def _callgrind(state: str) -> None:
    subprocess.run(["callgrind_control", "-i", state, str(os.getpid())], check=False)


async def run(args: argparse.Namespace) -> tuple[float, float]:
    app, path = _app(args.app)
    one = _requester(app, path)
    async with app.router.lifespan_context(app):
        for i in range(WARM_UP):
            await one(i)
        if args.callgrind:
            _callgrind("on")
        started, wall_started = time.process_time(), time.perf_counter()
        for i in range(args.requests):
            await one(i)
        used = time.process_time() - started
        wall = time.perf_counter() - wall_started
        if args.callgrind:
            _callgrind("off")
    # Wall time includes the database's side of each request (triggers, commit), CPU does not.
    return 1000 * used / int(args.requests), 1000 * wall / int(args.requests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=("referral", "baseline"), default="referral")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--callgrind", action="store_true", help="instrument only the requests")
    parser.add_argument("--keep", action="store_true", help="keep the rows the run wrote")
    args = parser.parse_args(argv)
    # Logged as the served API logs (JSON lines at INFO) into /dev/null, as bench.intake does.
    os.environ.setdefault("LOG_JSON", "true")
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())
    get_settings.cache_clear()
    url = resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    migrate()
    try:
        ms, wall_ms = asyncio.run(run(args))
    finally:
        if not args.keep:
            cleanup(url)
    print(
        f"{args.app}: {ms:.3f} ms of CPU, {wall_ms:.3f} ms wall per request over {args.requests}",
        file=sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
