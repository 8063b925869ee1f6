"""PostgreSQL restarted and crashed, an API and a worker killed, while referrals arrive."""

from __future__ import annotations

import threading
from collections.abc import Callable

from tests.e2e.conftest import Processes, eventually, free_port
from tests.faults.conftest import Cluster, killed, start_api
from tests.faults.load import Submissions, run_load, scalar, stored

# Bounded: enough requests to straddle each fault on a busy 2-core machine.
TOTAL = 40
API_ENV = {"DB_POOL_SIZE": "4", "DB_CONNECT_TIMEOUT_SECONDS": "2"}


def when_accepted(seen: Submissions, n: int, action: Callable[[], None]) -> threading.Thread:
    """Run `action` (a fault) once `n` submissions have been acknowledged."""

    def wait_then_act() -> None:
        for _ in range(6000):
            if len(seen.accepted) >= n:
                action()
                return
            threading.Event().wait(0.02)

    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


class TestPostgresRestartedAndKilled:
    async def test_every_acknowledged_referral_is_stored_once_and_triaged_once(
        self, cluster: Cluster, fprocesses: Processes
    ) -> None:
        fprocesses.run_to_completion("seed-demo")
        demo_referrals, _ = stored(cluster.url)  # the demo council's own
        port = free_port()
        start_api(fprocesses, "referral_api", port, **API_ENV)
        worker = fprocesses.worker("triage")
        seen = Submissions()

        def restart() -> None:
            cluster.restart(down_for=1.5)

        def crash() -> None:
            cluster.kill()
            threading.Event().wait(1.5)
            cluster.start()

        def kill_worker() -> None:
            killed(fprocesses, worker)  # SIGKILL, mid-intake
            fprocesses.worker("triage")

        faults = [
            when_accepted(seen, 8, restart),
            when_accepted(seen, 18, kill_worker),
            when_accepted(seen, 26, crash),
        ]
        await run_load(f"http://127.0.0.1:{port}", TOTAL, seen=seen)
        for fault in faults:
            fault.join(timeout=60)

        # Never a 500: 201, or 503 while the database was away.
        assert seen.unexpected == [], fprocesses.report()
        assert 503 in seen.statuses
        assert set(seen.retry_after) == {"5"}
        assert len(seen.accepted) == TOTAL
        count, by_key = stored(cluster.url)
        assert count - demo_referrals == TOTAL  # none twice per key
        assert by_key == seen.accepted  # every 201 is there, with the reference it gave
        # The load's referrals' contacts (the demo council's own referral is triaged too).
        contacts = (
            "SELECT count(*) FROM triage_contacts c JOIN referral_idempotency_keys k "
            "ON k.referral_id = c.referral_id WHERE k.key LIKE 'faults-%'"
        )

        async def all_triaged() -> bool:
            return scalar(cluster.url, contacts) >= TOTAL

        await eventually(
            all_triaged, what="every referral triaged", processes=fprocesses, timeout=240
        )
        # Each referral once: the worker killed mid-intake redid nothing it had committed.
        assert scalar(cluster.url, contacts) == TOTAL
        clocks = (
            "SELECT count(*) FROM triage_clocks cl JOIN triage_contacts c ON c.id = cl.contact_id "
            "JOIN referral_idempotency_keys k ON k.referral_id = c.referral_id "
            "WHERE k.key LIKE 'faults-%'"
        )
        per_contact = scalar(cluster.url, clocks) / TOTAL
        assert per_contact == int(per_contact)  # the same clocks for each, none started twice

    async def test_the_api_answers_503_while_the_database_is_down_and_recovers(
        self, cluster: Cluster, fprocesses: Processes
    ) -> None:
        import httpx

        port = free_port()
        start_api(fprocesses, "referral_api", port, **API_ENV)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            assert (await client.get("/readyz")).status_code == 200
            cluster.stop()
            down = await client.get("/readyz")
            seen = Submissions()
            from tests.factories import make_marf
            from tests.faults.load import REFERRER

            response = await client.post(
                "/v1/referrals", json=make_marf(), headers={**REFERRER, "Idempotency-Key": "k1"}
            )
            cluster.start()

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready, what="readiness after the restart", processes=fprocesses)
            await run_load(base, 5, seen=seen)
        assert (down.status_code, down.headers.get("retry-after")) == (503, "5")
        assert (response.status_code, response.headers.get("retry-after")) == (503, "5")
        assert response.json()["error"] == "DatabaseUnavailable"
        assert len(seen.accepted) == 5


class TestApiKilledMidRequest:
    async def test_every_201_sent_before_the_kill_is_stored(
        self, cluster: Cluster, fprocesses: Processes
    ) -> None:
        port = free_port()
        api = start_api(fprocesses, "referral_api", port, **API_ENV)
        seen = Submissions()

        def kill_and_restart() -> None:
            killed(fprocesses, api)  # SIGKILL with requests in flight
            start_api(fprocesses, "referral_api", port, **API_ENV)

        fault = when_accepted(seen, 12, kill_and_restart)
        await run_load(f"http://127.0.0.1:{port}", 36, seen=seen, concurrency=6)
        fault.join(timeout=60)
        assert seen.broken > 0  # the kill did land mid-request
        acknowledged_before = dict(seen.accepted)
        count, by_key = stored(cluster.url)
        assert seen.unexpected == []
        assert count == 36
        assert by_key == acknowledged_before
