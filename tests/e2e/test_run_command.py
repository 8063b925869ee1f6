"""`frontdoor run` (what `make run` starts): ready, all three services answer, Ctrl-C stops it."""

from __future__ import annotations

import signal

import httpx
import pytest

from services.auth import Role, mint_token
from services.settings import FrontdoorSettings
from tests.e2e.conftest import STOP_WAIT_SECONDS, Processes, eventually, free_port

pytestmark = pytest.mark.e2e

# A laptop start-up migrates, seeds and binds: allow it generously (a bound, not a target).
STARTUP_WAIT_SECONDS = 120.0


def bearer(role: Role, **claims: str | None) -> dict[str, str]:
    token = mint_token(
        FrontdoorSettings(),
        sub="smoke",
        role=role,
        agency_id=claims.get("agency_id"),
        school_urn=claims.get("school_urn"),
    )
    return {"Authorization": f"Bearer {token}"}


class TestRunCommand:
    async def test_run_serves_every_service_and_stops_cleanly_on_ctrl_c(
        self, processes: Processes
    ) -> None:
        port, smtp_port = free_port(), free_port()
        run = processes.start(
            "run",
            "--port",
            str(port),
            DEMO_RECEIVER_PORT=str(free_port()),
            DEMO_SMTP_PORT=str(smtp_port),
            NOTIFICATIONS_SMTP_PORT=str(smtp_port),
        )
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(
                ready, what="/readyz", processes=processes, timeout=STARTUP_WAIT_SECONDS
            )
            referral = await client.get(
                "/v1/referrals", headers=bearer(Role.referrer, agency_id="west-yorkshire-police")
            )
            queue = await client.get("/v1/queue", headers=bearer(Role.front_door_worker))
            schools = await client.get("/v1/schools", headers=bearer(Role.admin))
            docs = await client.get("/docs")
            console = await client.get("/")  # the console: a browser is sent to sign in
            assert console.status_code == 303
            assert console.headers["location"] == "/sign-in?next=%2F"
            assert (referral.status_code, queue.status_code, schools.status_code) == (
                200,
                200,
                200,
            ), run.output()
            assert docs.status_code == 200
            assert schools.json(), "the demo council's schools are loaded"
        banner = run.output()
        assert f"{base}/v1" in banner
        assert f"Console:       {base}/" in banner
        for role in Role:
            assert role.value in banner
        assert processes.interrupt(run) == 0, run.output()
        assert "Stopping frontdoor" in run.output()


class TestApiCommand:
    async def test_api_serves_one_service_with_several_uvicorn_workers(
        self, processes: Processes
    ) -> None:
        port = free_port()
        api = processes.start("api", "triage", "--port", str(port), "--workers", "2")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(
                ready, what="/readyz", processes=processes, timeout=STARTUP_WAIT_SECONDS
            )
            queue = await client.get("/v1/queue", headers=bearer(Role.front_door_worker))
            other_service = await client.get("/v1/schools", headers=bearer(Role.admin))
            assert queue.status_code == 200, api.output()
            assert other_service.status_code == 404  # only the triage API is served here
            assert queue.headers["x-request-id"]
        assert processes.interrupt(api) == 0, api.output()


class TestWorkerCommand:
    async def test_a_worker_stops_cleanly_on_sigterm(self, processes: Processes) -> None:
        # Containers are stopped with SIGTERM: the worker finishes its event and exits 0.
        worker = processes.worker("triage")

        async def started() -> bool:
            return "worker_started" in worker.output()

        await eventually(started, what="the worker to start", processes=processes)
        worker.popen.send_signal(signal.SIGTERM)
        assert worker.popen.wait(timeout=STOP_WAIT_SECONDS) == 0, worker.output()
        assert "worker_stopped" in worker.output()
