"""PostgreSQL restarted, crashed and exhausted, an API and a worker killed, while work arrives."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import make_url

from services.app import READINESS_TIMEOUT_SECONDS
from services.auth import Role
from services.db import CLIENT_BACKENDS, libpq_url
from services.errors import RETRY_AFTER_SECONDS
from services.settings import FrontdoorSettings
from tests.e2e.conftest import (
    Process,
    Processes,
    WebhookReceiver,
    eventually,
    free_port,
    webhook_receiver,  # noqa: F401 - the fixture
)
from tests.factories import make_marf
from tests.faults.conftest import SERVER_WAIT_SECONDS, Cluster, killed, own_cluster, start_api
from tests.faults.load import AGENCY, REFERRER, Submissions, bearer, run_load, scalar, stored
from triage.contacts.opening import OPENING_CLOCKS

# Bounded: enough requests to straddle each fault on a busy 2-core machine.
TOTAL = 40
API_ENV = {"DB_POOL_SIZE": "4", "DB_CONNECT_TIMEOUT_SECONDS": "2"}
RETRY_AFTER = str(RETRY_AFTER_SECONDS)
# How long each outage lasts at least (the load sees it too, not only the probes).
DOWN_SECONDS = 1.5

ADMIN = bearer(Role.admin)
STAFF = bearer(Role.front_door_worker)
POLICE_FEED = bearer(Role.police_feed, agency_id=AGENCY)
# One read per API that needs the database, with a caller allowed to make it.
PROBES: dict[str, tuple[str, dict[str, str]]] = {
    "referral_api": ("/v1/referrals", REFERRER),
    "triage": ("/v1/queue", STAFF),
    "notifications": ("/v1/schools", ADMIN),
}

# The contacts made from the load's referrals (the demo council's own left out).
LOAD_CONTACTS = (
    "FROM triage_contacts c JOIN referral_idempotency_keys k ON k.referral_id = c.referral_id "
    "WHERE k.key LIKE 'faults-%'"
)
UNCONSUMED = "SELECT count(*) FROM event_consumptions WHERE status <> 'done'"
DELIVERED = "SELECT count(*) FROM notif_notifications WHERE delivered_at IS NOT NULL"


# (status, Retry-After, what the body says)
Answer = tuple[int, str | None, str]


@dataclass
class Apis:
    """The APIs under test, each a `frontdoor api` process on its own loopback port."""

    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def get(self, service: str, path: str = "") -> httpx.Response:
        """The API's answer to its probe read (or to `path`, e.g. /readyz)."""
        probe, headers = PROBES[service]
        return httpx.get(self.url(service) + (path or probe), headers=headers, timeout=30)

    def answers(self, path: str = "") -> dict[str, Answer]:
        """Each API's status, Retry-After, and its body's `error` (or readiness `status`)."""
        out = {}
        for service in self.ports:
            response = self.get(service, path)
            try:
                body = response.json()
                said = str(body.get("error") or body.get("status"))
            except ValueError:
                said = response.text[:200]
            out[service] = (response.status_code, response.headers.get("retry-after"), said)
        return out

    def statuses(self, path: str = "") -> dict[str, int]:
        """Each API's status (0: the connection broke)."""
        out = {}
        for service in self.ports:
            try:
                out[service] = self.get(service, path).status_code
            except httpx.TransportError:
                out[service] = 0
        return out

    def answers_2xx(self, path: str = "", timeout: float = 90) -> dict[str, int]:
        """Poll until every API answers 2xx (bounded); each one's last status."""
        deadline = time.monotonic() + timeout
        while True:
            statuses = self.statuses(path)
            if all(200 <= s < 300 for s in statuses.values()) or time.monotonic() > deadline:
                return statuses
            time.sleep(0.2)

    def still_running(self) -> dict[str, bool]:
        return {s: p.popen.poll() is None for s, p in self.processes.items()}


def start_apis(procs: Processes, *services: str) -> Apis:
    apis = Apis()
    for service in services:
        apis.ports[service] = free_port()
        apis.processes[service] = start_api(procs, service, apis.ports[service], **API_ENV)
    return apis


@dataclass
class Outage:
    """What each API answered while the server was down, and once it was back."""

    name: str
    down: dict[str, Answer] = field(default_factory=dict)
    ready_down: dict[str, Answer] = field(default_factory=dict)
    back: dict[str, int] = field(default_factory=dict)
    ready_back: dict[str, int] = field(default_factory=dict)


def observe_outage(
    name: str, apis: Apis, take_down: Callable[[], None], bring_up: Callable[[], None]
) -> Outage:
    """Take the server down, ask every API (a read and /readyz), bring it up, ask again."""
    outage = Outage(name)
    take_down()
    went_down = time.monotonic()
    try:
        outage.down = apis.answers()
        outage.ready_down = apis.answers("/readyz")
        threading.Event().wait(max(0.0, DOWN_SECONDS - (time.monotonic() - went_down)))
    finally:
        bring_up()
    # No API is restarted: each must find the server again by itself.
    outage.back = apis.answers_2xx()
    outage.ready_back = apis.answers_2xx("/readyz")
    return outage


class FaultsInTurn(threading.Thread):
    """Each fault once `n` submissions have been acknowledged, one after the other (an
    outage is over, and seen to be, before the next begins)."""

    def __init__(self, seen: Submissions, steps: list[tuple[int, Callable[[], None]]]) -> None:
        super().__init__(daemon=True)
        self.seen, self.steps = seen, steps
        self.done: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for n, action in self.steps:
                deadline = time.monotonic() + SERVER_WAIT_SECONDS
                while len(self.seen.accepted) < n and time.monotonic() < deadline:
                    threading.Event().wait(0.02)
                if len(self.seen.accepted) < n:
                    return
                action()
                self.done.append(n)
        except BaseException as error:  # reported by the test, not lost in the thread
            self.error = error


async def add_school_with_webhook(notifications: str, urn: str, url: str) -> None:
    async with httpx.AsyncClient(base_url=notifications, timeout=30) as api:
        created = await api.post(
            "/v1/schools",
            headers=ADMIN,
            json={"urn": urn, "name": "Example Primary", "delivery_preference": "webhook"},
        )
        assert created.status_code == 201, created.text
        endpoint = await api.post(f"/v1/schools/{urn}/endpoints", headers=ADMIN, json={"url": url})
        assert endpoint.status_code == 201, endpoint.text


async def encompass_alert(notifications: str, urn: str, police_reference: str) -> None:
    async with httpx.AsyncClient(base_url=notifications, timeout=30) as api:
        incident = await api.post(
            "/v1/encompass/incidents",
            headers=POLICE_FEED,
            json={
                "police_reference": police_reference,
                "incident_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
                "children": [{"given_name": "C", "family_name": "X", "school_urn": urn}],
            },
        )
        assert incident.status_code == 200, incident.text


async def delivered(url: str, n: int, procs: Processes) -> None:
    async def enough() -> bool:
        return scalar(url, DELIVERED) >= n

    await eventually(enough, what=f"{n} alerts delivered", processes=procs, timeout=120)


async def all_consumed(url: str, procs: Processes) -> None:
    """No event left pending or dead (a retry after an outage waits up to 30 s)."""

    async def none_left() -> bool:
        return scalar(url, UNCONSUMED) == 0

    await eventually(none_left, what="every event consumed", processes=procs, timeout=240)


async def all_triaged(url: str, procs: Processes, total: int) -> None:
    async def done() -> bool:
        return scalar(url, f"SELECT count(*) {LOAD_CONTACTS}") >= total

    await eventually(done, what="every referral triaged", processes=procs, timeout=240)


class TestPostgresRestartedAndKilled:
    async def test_the_apis_answer_503_while_it_is_down_and_recover_and_the_workers_resume(
        self,
        cluster: Cluster,
        fprocesses: Processes,
        webhook_receiver: WebhookReceiver,  # noqa: F811
    ) -> None:
        fprocesses.run_to_completion("seed-demo")
        demo_referrals, _ = stored(cluster.url)  # the demo council's own
        apis = start_apis(fprocesses, "referral_api", "triage", "notifications")
        pids = {s: p.popen.pid for s, p in apis.processes.items()}
        for service in ("triage", "notifications", "referral_api"):
            fprocesses.worker(service)
        notifications = apis.url("notifications")
        urn = "199977"
        await add_school_with_webhook(notifications, urn, webhook_receiver.url)
        await encompass_alert(notifications, urn, "WYP/OUTAGE/before")
        await delivered(cluster.url, 1, fprocesses)  # the notifications worker at work
        # Each probe is a read its caller may make: a 503 later is the outage, nothing else.
        assert apis.statuses() == dict.fromkeys(PROBES, 200)
        seen = Submissions()
        outages: list[Outage] = []

        def restart() -> None:
            outages.append(observe_outage("restart", apis, cluster.stop, cluster.start))

        def crash() -> None:
            outages.append(observe_outage("crash", apis, cluster.kill, cluster.start))

        faults = FaultsInTurn(seen, [(8, restart), (26, crash)])
        faults.start()
        await run_load(apis.url("referral_api"), TOTAL, seen=seen)
        await asyncio.to_thread(faults.join, SERVER_WAIT_SECONDS)
        assert faults.error is None, repr(faults.error)
        assert faults.done == [8, 26], "the load ended before every fault"

        # Each outage, each API: 503 with Retry-After while down, 2xx again once it is back.
        for outage in outages:
            down = (503, RETRY_AFTER, "DatabaseUnavailable")
            assert outage.down == dict.fromkeys(PROBES, down), outage
            ready_down = (503, RETRY_AFTER, "not_ready")
            assert outage.ready_down == dict.fromkeys(PROBES, ready_down), outage
            assert outage.back == dict.fromkeys(PROBES, 200), outage
            assert outage.ready_back == dict.fromkeys(PROBES, 200), outage
        # ...by themselves: the same processes throughout.
        assert apis.still_running() == dict.fromkeys(PROBES, True), fprocesses.report()
        assert {s: p.popen.pid for s, p in apis.processes.items()} == pids

        # The load: never a 500 (201, or 503 while the database was away).
        assert seen.unexpected == [], fprocesses.report()
        assert 503 in seen.statuses
        assert set(seen.retry_after) == {RETRY_AFTER}
        assert len(seen.accepted) == TOTAL
        count, by_key = stored(cluster.url)
        assert count - demo_referrals == TOTAL  # none twice per key
        assert by_key == seen.accepted  # every 201 is there, with the reference it gave

        # The workers resumed: triage took in every referral once; an alert made after the
        # outages crossed to the notifications worker and reached the school; nothing is left.
        await all_triaged(cluster.url, fprocesses, TOTAL)
        assert scalar(cluster.url, f"SELECT count(*) {LOAD_CONTACTS}") == TOTAL
        await encompass_alert(notifications, urn, "WYP/OUTAGE/after")
        await delivered(cluster.url, 2, fprocesses)
        webhook_ids = {r.headers["webhook-id"] for r in webhook_receiver.received}
        assert len(webhook_ids) == 2
        await all_consumed(cluster.url, fprocesses)

    async def test_the_api_answers_503_while_the_database_is_down_and_recovers(
        self, cluster: Cluster, fprocesses: Processes
    ) -> None:
        port = free_port()
        start_api(fprocesses, "referral_api", port, **API_ENV)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            assert (await client.get("/readyz")).status_code == 200
            cluster.stop()
            down = await client.get("/readyz")
            response = await client.post(
                "/v1/referrals", json=make_marf(), headers={**REFERRER, "Idempotency-Key": "k1"}
            )
            cluster.start()

            async def ready() -> bool:
                return (await client.get("/readyz")).status_code == 200

            await eventually(ready, what="readiness after the restart", processes=fprocesses)
            seen = await run_load(base, 5)
        assert (down.status_code, down.headers.get("retry-after")) == (503, RETRY_AFTER)
        assert (response.status_code, response.headers.get("retry-after")) == (503, RETRY_AFTER)
        assert response.json()["error"] == "DatabaseUnavailable"
        assert len(seen.accepted) == 5


class TestTriageWorkerKilledMidIntake:
    async def test_every_referral_becomes_one_contact_with_its_clocks(
        self, cluster: Cluster, fprocesses: Processes
    ) -> None:
        total = 60
        fprocesses.run_to_completion("seed-demo")
        port = free_port()
        start_api(fprocesses, "referral_api", port, **API_ENV)
        fprocesses.worker("referral_api")  # takes in the triage worker's events
        seen = await run_load(f"http://127.0.0.1:{port}", total)
        assert len(seen.accepted) == total

        contacts = f"SELECT count(*) {LOAD_CONTACTS}"
        watcher = await asyncpg.connect(libpq_url(cluster.url))
        try:
            worker = fprocesses.worker("triage")
            deadline = time.monotonic() + SERVER_WAIT_SECONDS
            taken_in = 0
            while taken_in == 0 and time.monotonic() < deadline:
                taken_in = int(await watcher.fetchval(contacts))
                if taken_in == 0:
                    await asyncio.sleep(0.005)
            assert 0 < taken_in < total, f"no moment mid-intake seen ({taken_in}/{total})"
            killed(fprocesses, worker)  # SIGKILL, with the rest of the queue still to do
            at_kill = int(await watcher.fetchval(contacts))
        finally:
            await watcher.close()
        assert 0 < at_kill < total  # the kill did land mid-intake

        fprocesses.worker("triage")
        await all_triaged(cluster.url, fprocesses, total)
        await all_consumed(cluster.url, fprocesses)

        per_referral = """
            SELECT k.key, count(c.id) AS n FROM referral_idempotency_keys k
            LEFT JOIN triage_contacts c ON c.referral_id = k.referral_id
            WHERE k.key LIKE 'faults-%' GROUP BY k.key"""
        twice = "SELECT contact_id, kind FROM triage_clocks GROUP BY 1, 2 HAVING count(*) > 1"
        kinds = """
            SELECT c.id, array_remove(array_agg(cl.kind), NULL) AS kinds
            FROM triage_contacts c JOIN referral_idempotency_keys k ON k.referral_id = c.referral_id
            LEFT JOIN triage_clocks cl ON cl.contact_id = c.id
            WHERE k.key LIKE 'faults-%' GROUP BY c.id"""
        conn = await asyncpg.connect(libpq_url(cluster.url))
        try:
            contacts_of = {r["key"]: r["n"] for r in await conn.fetch(per_referral)}
            clocks_twice = await conn.fetch(twice)
            clocks_of = {r["id"]: sorted(r["kinds"]) for r in await conn.fetch(kinds)}
        finally:
            await conn.close()
        assert contacts_of == dict.fromkeys(seen.accepted, 1)  # each referral, one contact
        assert clocks_twice == []  # no clock started twice
        # Each contact, the clocks a written referral opens with, each once.
        assert len(clocks_of) == total
        assert {k: v for k, v in clocks_of.items() if v != sorted(OPENING_CLOCKS)} == {}


# Small enough to fill with a handful of connections.
SMALL_SERVER_CONNECTIONS = 12
BACKENDS = CLIENT_BACKENDS


@pytest.fixture
def small_server(tmp_path: Path) -> Iterator[tuple[Cluster, Processes]]:
    """A server of the test's own with few connection slots, and processes on it."""
    with own_cluster(max_connections=SMALL_SERVER_CONNECTIONS) as server:
        procs = Processes(database_url=server.url, logs=tmp_path)
        try:
            yield server, procs
        finally:
            procs.stop_all()


class TestServerOutOfConnections:
    async def test_readiness_and_the_api_answer_503_and_both_recover(
        self, small_server: tuple[Cluster, Processes]
    ) -> None:
        server, procs = small_server
        port = free_port()
        start_api(procs, "referral_api", port, **API_ENV)
        base = f"http://127.0.0.1:{port}"
        path, headers = PROBES["referral_api"]
        # The fillers are what the other services' pools and other clients would be: half the
        # application's role, half another (whose rows PostgreSQL hides from the application
        # role: readiness must count them all the same); the watcher is the application's.
        app_role = libpq_url(
            make_url(server.url)
            .set(username=FrontdoorSettings().database_app_role)
            .render_as_string(hide_password=False)
        )
        watcher = await asyncpg.connect(app_role)
        fillers: list[asyncpg.Connection] = []
        try:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                # Not asked anything yet, the API holds no connection: its next request needs
                # a slot of its own.
                others = await watcher.fetch(
                    "SELECT usename, state, query FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                )
                assert others == [], others
                # Every slot an ordinary role may use, taken.
                reserved = int(await watcher.fetchval("SHOW superuser_reserved_connections"))
                free = SMALL_SERVER_CONNECTIONS - reserved - int(await watcher.fetchval(BACKENDS))
                assert free > 0
                for i in range(free):
                    fillers.append(await asyncpg.connect(app_role if i % 2 else server.url))

                started = time.monotonic()
                full = await client.get("/readyz")
                elapsed = time.monotonic() - started
                refused = await client.get(path, headers=headers)

                # One slot back, and the API takes it: readiness still says the server is
                # full (its neighbours would be refused), though this process can connect.
                await fillers.pop().close()
                for _ in range(100):  # until the server has seen it go
                    if await watcher.fetchval(BACKENDS) < SMALL_SERVER_CONNECTIONS - reserved:
                        break
                    await asyncio.sleep(0.05)
                last_slot = await client.get("/readyz")

                for filler in fillers:
                    await filler.close()
                fillers.clear()

                async def recovered() -> bool:
                    ready = await client.get("/readyz")
                    read = await client.get(path, headers=headers)
                    return (ready.status_code, read.status_code) == (200, 200)

                await eventually(recovered, what="recovery once connections free", processes=procs)
        finally:
            for filler in fillers:
                await filler.close()
            await watcher.close()

        # The documented budget of /readyz (a contract, so asserted as a time).
        assert elapsed < READINESS_TIMEOUT_SECONDS
        assert full.status_code == 503, full.text
        assert full.headers.get("retry-after") == RETRY_AFTER
        assert full.json()["connections_available"] is False
        assert refused.status_code == 503, refused.text
        assert refused.headers.get("retry-after") == RETRY_AFTER
        assert refused.json()["error"] == "DatabaseUnavailable"
        assert last_slot.status_code == 503, last_slot.text
        assert (last_slot.json()["database"], last_slot.json()["connections_available"]) == (
            True,
            False,
        )


class TestApiKilledMidRequest:
    async def test_every_201_sent_before_the_kill_is_stored(
        self, cluster: Cluster, fprocesses: Processes
    ) -> None:
        total = 36
        port = free_port()
        api = start_api(fprocesses, "referral_api", port, **API_ENV)
        seen = Submissions()
        acknowledged_before_kill: dict[str, str] = {}

        def kill_and_restart() -> None:
            acknowledged_before_kill.update(seen.accepted)
            killed(fprocesses, api)  # SIGKILL with requests in flight
            start_api(fprocesses, "referral_api", port, **API_ENV)

        fault = FaultsInTurn(seen, [(12, kill_and_restart)])
        fault.start()
        await run_load(f"http://127.0.0.1:{port}", total, seen=seen, concurrency=6)
        await asyncio.to_thread(fault.join, SERVER_WAIT_SECONDS)
        assert fault.error is None, repr(fault.error)
        assert fault.done == [12]
        assert seen.broken > 0  # the kill did land mid-request
        count, by_key = stored(cluster.url)
        assert seen.unexpected == []
        assert len(acknowledged_before_kill) >= 12
        # Every 201 answered before the kill is stored, with the reference it gave...
        assert {k: by_key.get(k) for k in acknowledged_before_kill} == acknowledged_before_kill
        # ...and so is every one of the run's, each key once.
        assert count == total
        assert by_key == seen.accepted
