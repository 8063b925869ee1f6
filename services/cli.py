"""The `frontdoor` command: run, api, worker, migrate, seed-demo, token, audit verify, purge."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any

import structlog
import uvicorn
from alembic import command
from alembic.config import Config

from services import db
from services.app import PROJECT_ROOT
from services.audit_chain import seal_job
from services.auth import Role, mint_token
from services.calendar import preload_bank_holidays
from services.events.consumer import Worker
from services.events.wakeup import wakeup
from services.logging import configure_logging
from services.registry import APPS, DEMO_SEEDS, SERVICES, WORKERS, load
from services.retention import purge_job
from services.settings import get_settings

log = structlog.get_logger(__name__)

# uvicorn is given this many 50 ms polls (30 s) to bind its port before `run` gives up.
STARTUP_POLLS = 600

# The demo's fixed identities: who each printed token speaks for.
DEMO_PRINCIPALS: dict[Role, dict[str, str]] = {
    Role.referrer: {"sub": "demo-referrer", "agency_id": "west-yorkshire-police"},
    Role.front_door_worker: {"sub": "demo-social-worker"},
    Role.team_manager: {"sub": "demo-team-manager"},
    Role.dv_screener: {"sub": "demo-dv-screener", "agency_id": "west-yorkshire-police"},
    Role.police_feed: {"sub": "demo-police-feed", "agency_id": "west-yorkshire-police"},
    Role.school_dsl: {"sub": "demo-dsl", "school_urn": "107301"},
    Role.admin: {"sub": "demo-admin"},
    Role.mash_partner: {"sub": "demo-mash-police", "agency_id": "west-yorkshire-police"},
    Role.case_system: {"sub": "demo-case-system"},
    Role.auditor: {"sub": "demo-auditor"},
}


def database_url() -> str:
    """Resolve (and export, for child processes and Alembic) the database URL."""
    url = db.resolve_database_url(get_settings())
    os.environ["DATABASE_URL"] = url
    return url


def migrate() -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url())
    command.upgrade(config, "head")
    # Alembic's env.py applies alembic.ini's logging config; put the platform's back.
    configure_logging(get_settings())


class DemoRefused(SystemExit):
    """The demo council (known tokens' principals, sample schools) never goes into production."""


async def seed_demo() -> None:
    if get_settings().is_production:
        raise DemoRefused("seed-demo is refused with ENVIRONMENT=production")
    async with db.transaction() as session:
        for target in DEMO_SEEDS.values():
            await load(target)(session, get_settings())


def token_for(role: Role, *, ttl_seconds: int = 12 * 3600, **overrides: str) -> str:
    """A development token for `role`, as the demo's principal unless overridden."""
    claims = {**DEMO_PRINCIPALS[role], **{k: v for k, v in overrides.items() if v}}
    return mint_token(
        get_settings(),
        role=role,
        sub=claims["sub"],
        agency_id=claims.get("agency_id"),
        school_urn=claims.get("school_urn"),
        ttl_seconds=ttl_seconds,
    )


def build_worker(name: str) -> Worker:
    """The service's worker, plus the platform's own periodic jobs (outbox retention)."""
    preload_bank_holidays()  # not on the first event's time
    database_url()  # resolved (and exported) first: the embedded server starts here
    listen_url = db.resolve_app_database_url(get_settings())
    worker: Worker = load(WORKERS[name])(db.get_sessionmaker(), listen_url)
    worker.periodic.append(purge_job(get_settings()))
    worker.periodic.append(seal_job())
    return worker


async def run_worker(name: str, stop: asyncio.Event) -> None:
    await build_worker(name).run(stop)


class _InProcessServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the all-in-one process (one Ctrl-C stops all)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(server: uvicorn.Server, stop: asyncio.Event) -> None:
    task = asyncio.create_task(server.serve())
    done, _ = await asyncio.wait(
        [task, asyncio.ensure_future(stop.wait())], return_when=asyncio.FIRST_COMPLETED
    )
    if task not in done:
        server.should_exit = True
    await task


async def _until_started(server: uvicorn.Server, stop: asyncio.Event) -> bool:
    """Wait (bounded) until uvicorn listens; False if it failed to start or was stopped."""
    for _ in range(STARTUP_POLLS):
        if server.started:
            return True
        if stop.is_set():
            return False
        await asyncio.sleep(0.05)
    return False


def _stop_when_done(stop: asyncio.Event, what: str) -> Callable[[asyncio.Task[None]], None]:
    """A task that ends on its own (a crash, a port in use) stops the whole process."""

    def callback(task: asyncio.Task[None]) -> None:
        if not stop.is_set():
            error = None if task.cancelled() else task.exception()
            log.error(
                "component_stopped", component=what, error=type(error).__name__ if error else None
            )
            stop.set()

    return callback


async def run_all(host: str, port: int) -> int:
    """Everything in one process: the APIs on one port, every worker, the demo sinks."""
    from services import devtools

    migrate()
    await db.check_pool_capacity()
    await seed_demo()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sinks = await devtools.start_demo_sinks(get_settings())
    config = uvicorn.Config(
        "services.combined:create_combined_app",
        factory=True,
        host=host,
        port=port,
        log_level="warning",
        log_config=None,
        access_log=False,
        lifespan="off",
        server_header=False,  # no banner naming the server and its version
    )
    server = _InProcessServer(config)
    components: dict[str, Coroutine[Any, Any, None]] = {
        "api": _serve(server, stop),
        "demo_receiver": devtools.serve_receiver(sinks, stop),
        **{f"worker:{name}": run_worker(name, stop) for name in SERVICES},
    }
    tasks = []
    for what, coroutine in components.items():
        task = asyncio.create_task(coroutine)
        task.add_done_callback(_stop_when_done(stop, what))
        tasks.append(task)
    started = await _until_started(server, stop)
    if started:
        print(banner(host, port, sinks), flush=True)
    try:
        await stop.wait()
    finally:
        print("\nStopping frontdoor (data kept; `make reset` wipes it)...", flush=True)
        await asyncio.gather(*tasks, return_exceptions=True)
        sinks.close()
        await wakeup.flush()  # a wake-up still due goes out before the pools close
        await db.driver_pool.close()
        await db.get_engine().dispose()
    return 0 if started else 1


def demo_environment(host: str, port: int) -> None:
    """`run`'s defaults that follow its options: links point at `--port`, and every service's
    mail goes to the demo SMTP sink wherever `DEMO_SMTP_PORT` put it. Explicit settings win."""
    from services import devtools

    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{shown}:{port}")
    # Both services that send mail: the Encompass alerts (notifications) and the scheduled
    # reports (triage).
    for prefix in ("NOTIFICATIONS", "TRIAGE"):
        os.environ.setdefault(f"{prefix}_SMTP_HOST", devtools.RECEIVER_HOST)
        os.environ.setdefault(f"{prefix}_SMTP_PORT", str(devtools.SMTP_PORT))
    get_settings.cache_clear()


def _database_kind() -> str:
    return "external database" if get_settings().database_url else "embedded PostgreSQL"


def banner(host: str, port: int, sinks: object) -> str:
    base = f"http://{host}:{port}"
    lines = [
        "",
        f"frontdoor is running with the demo council ({_database_kind()}).",
        f"  Console:       {base}/   (open it in a browser)",
        "                 sign in as a demo identity, e.g. 'Front-door social worker';",
        "                 the team manager signs off; the DSL sees the schools' alerts",
        f"  API base:      {base}/v1",
        f"  API docs:      {base}/docs",
        f"  Health:        {base}/healthz   {base}/readyz   {base}/metrics",
        f"  {sinks}",
        "",
        "Bearer tokens (paste after 'Authorization: Bearer '):",
    ]
    for role in Role:
        lines.append(f"  {role.value:18} {token_for(role)}")
    lines += ["", "Ctrl-C stops everything; data is kept for next time.", ""]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="frontdoor", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start everything on one port with the demo council")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    api = sub.add_parser("api", help="serve one service's API")
    api.add_argument("name", choices=SERVICES)
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.add_argument("--workers", type=int, default=1)
    worker = sub.add_parser("worker", help="run one service's event worker")
    worker.add_argument("name", choices=SERVICES)
    sub.add_parser("migrate", help="apply database migrations")
    sub.add_parser("seed-demo", help="load the demo council (idempotent)")
    token = sub.add_parser("token", help="mint a development bearer token")
    token.add_argument("role", choices=[r.value for r in Role])
    token.add_argument("--sub", default="")
    token.add_argument("--agency-id", default="")
    token.add_argument("--school-urn", default="")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    audit = sub.add_parser("audit", help="the audit trail's tamper evidence")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="recompute the hash chain; name the first broken link")
    sub.add_parser("purge", help="delete what the retention windows no longer keep (audited)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(get_settings())
    if args.command == "run":
        demo_environment(args.host, args.port)
        database_url()
        with contextlib.suppress(KeyboardInterrupt):
            return asyncio.run(run_all(args.host, args.port))
    elif args.command == "api":
        # Resolved once here and inherited by uvicorn's worker processes through the
        # environment, so they share one database (the embedded one included).
        database_url()
        asyncio.run(_check_capacity(processes=args.workers))
        uvicorn.run(
            APPS[args.name],
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            lifespan="off",
            log_config=None,
            access_log=False,  # the platform middleware logs each request (route, no raw path)
            proxy_headers=True,
            server_header=False,  # no banner naming the server and its version
        )
    elif args.command == "worker":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_worker_main(args.name))
    elif args.command == "migrate":
        migrate()
    elif args.command == "seed-demo":
        database_url()
        asyncio.run(seed_demo())
    elif args.command == "audit":
        return audit_verify()
    elif args.command == "purge":
        database_url()
        report = asyncio.run(_purge())
        print(report)
    elif args.command == "token":
        role = Role(args.role)
        print(
            token_for(
                role,
                ttl_seconds=args.ttl,
                sub=args.sub,
                agency_id=args.agency_id,
                school_urn=args.school_urn,
            )
        )
    return 0


async def _check_capacity(*, processes: int) -> None:
    """The start-up warning when the pools could exceed the server (its own event loop)."""
    try:
        await db.check_pool_capacity(processes=processes)
    finally:
        await db.get_engine().dispose()


def audit_verify() -> int:
    """`frontdoor audit verify`: 0 when every link holds, 1 naming the first that does not."""
    from sqlalchemy import create_engine

    from services.audit_chain import seal_pending, verify

    database_url()
    engine = create_engine(db.sync_url(db.resolve_app_database_url(get_settings())))
    try:
        with engine.connect() as conn:
            for _ in range(1000):  # what the commits left, first (bounded)
                if seal_pending(conn) == 0:
                    break
            verdict = verify(conn)
    finally:
        engine.dispose()
    if verdict.broken is not None:
        print(f"audit chain BROKEN after {verdict.links - 1} good links: {verdict.broken}")
        return 1
    print(
        f"audit chain intact: {verdict.links} links; "
        f"head link {verdict.head_seq} hash {verdict.head_hash}"
    )
    return 0


async def _purge() -> str:
    from services.retention import purge_all

    try:
        return str(await purge_all(db.get_sessionmaker(), get_settings()))
    finally:
        await db.get_engine().dispose()


async def _worker_main(name: str) -> None:
    database_url()
    await db.check_pool_capacity()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await run_worker(name, stop)
    finally:
        await db.get_engine().dispose()


if __name__ == "__main__":
    sys.exit(main())
