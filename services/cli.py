"""The `frontdoor` command: run, api, worker, migrate, seed-demo, token."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Sequence

import uvicorn
from alembic import command
from alembic.config import Config

from services import db
from services.app import PROJECT_ROOT
from services.auth import Role, mint_token
from services.logging import configure_logging
from services.registry import APPS, DEMO_SEEDS, SERVICES, WORKERS, load
from services.settings import get_settings

# The demo's fixed identities: who each printed token speaks for.
DEMO_PRINCIPALS: dict[Role, dict[str, str]] = {
    Role.referrer: {"sub": "demo-referrer", "agency_id": "west-yorkshire-police"},
    Role.front_door_worker: {"sub": "demo-social-worker"},
    Role.team_manager: {"sub": "demo-team-manager"},
    Role.dv_screener: {"sub": "demo-dv-screener", "agency_id": "west-yorkshire-police"},
    Role.police_feed: {"sub": "demo-police-feed", "agency_id": "west-yorkshire-police"},
    Role.school_dsl: {"sub": "demo-dsl", "school_urn": "107301"},
    Role.admin: {"sub": "demo-admin"},
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


async def seed_demo() -> None:
    async with db.transaction() as session:
        for target in DEMO_SEEDS.values():
            await load(target)(session, get_settings())


def token_for(role: Role, **overrides: str) -> str:
    claims = {**DEMO_PRINCIPALS[role], **{k: v for k, v in overrides.items() if v}}
    return mint_token(
        get_settings(),
        role=role,
        sub=claims["sub"],
        agency_id=claims.get("agency_id"),
        school_urn=claims.get("school_urn"),
    )


async def run_worker(name: str, stop: asyncio.Event) -> None:
    worker = load(WORKERS[name])(db.get_sessionmaker(), database_url())
    await worker.run(stop)


class _InProcessServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the all-in-one process (one Ctrl-C stops all)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(app_target: str, host: str, port: int, stop: asyncio.Event) -> None:
    config = uvicorn.Config(
        app_target, factory=True, host=host, port=port, log_level="warning", lifespan="off"
    )
    server = _InProcessServer(config)
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task


async def run_all(host: str, port: int) -> None:
    """Everything in one process: the APIs on one port, every worker, the demo sinks."""
    from services import devtools

    migrate()
    await seed_demo()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    sinks = await devtools.start_demo_sinks(get_settings())
    tasks = [asyncio.create_task(_serve("services.combined:create_combined_app", host, port, stop))]
    tasks += [asyncio.create_task(run_worker(name, stop)) for name in SERVICES]
    tasks.append(asyncio.create_task(devtools.serve_receiver(sinks, stop)))
    await asyncio.sleep(0.5)
    print(banner(host, port, sinks))
    try:
        await stop.wait()
    finally:
        print("\nStopping frontdoor (data kept; `make reset` wipes it)...")
        await asyncio.gather(*tasks, return_exceptions=True)
        sinks.close()


def banner(host: str, port: int, sinks: object) -> str:
    base = f"http://{host}:{port}"
    lines = [
        "",
        "frontdoor is running on the embedded demo council.",
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging(get_settings())
    if args.command == "run":
        database_url()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_all(args.host, args.port))
    elif args.command == "api":
        database_url()
        uvicorn.run(
            APPS[args.name],
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            lifespan="off",
        )
    elif args.command == "worker":
        asyncio.run(_worker_main(args.name))
    elif args.command == "migrate":
        migrate()
    elif args.command == "seed-demo":
        database_url()
        asyncio.run(seed_demo())
    elif args.command == "token":
        print(
            token_for(
                Role(args.role), sub=args.sub, agency_id=args.agency_id, school_urn=args.school_urn
            )
        )
    return 0


async def _worker_main(name: str) -> None:
    database_url()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(name, stop)


if __name__ == "__main__":
    sys.exit(main())
