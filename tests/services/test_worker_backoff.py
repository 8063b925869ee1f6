"""Workers during a database outage: they keep trying, less and less often and less loudly."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import create_engine
from services.events import consumer as consumer_module
from services.events.consumer import Backoff, Consumer, Periodic, Worker
from tests.polling import until
from tests.services.test_app import log_lines  # noqa: F401 - the fixture

REFUSED = "postgresql://postgres@127.0.0.1:9/none"


class CountingWorker(Worker):
    ticks = 0

    async def tick(self) -> int:
        self.ticks += 1
        return await super().tick()


def events(buffer: io.StringIO, name: str) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    return [line for line in lines if line.get("event") == name]


class TestBackoff:
    def test_waits_double_up_to_the_cap_and_only_powers_of_two_are_logged(self) -> None:
        backoff = Backoff()
        steps = [backoff.failed() for _ in range(10)]
        delays = [d for d, _ in steps]
        assert delays == sorted(delays)
        assert delays[-1] == consumer_module.BACKOFF_MAX_SECONDS
        assert [i + 1 for i, (_, loud) in enumerate(steps) if loud] == [1, 2, 4, 8]
        assert backoff.succeeded() == 10
        assert backoff.succeeded() == 0


class TestWorkerDuringAnOutage:
    async def test_a_long_outage_is_a_few_log_lines_and_the_recovery_one(
        self,
        database_url: str,
        log_lines: io.StringIO,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(consumer_module, "BACKOFF_FIRST_SECONDS", 0.005)
        monkeypatch.setattr(consumer_module, "BACKOFF_MAX_SECONDS", 0.02)
        down = create_engine(REFUSED, pool_size=1)
        up = create_engine(database_url, pool_size=1)
        jobs: list[str] = []

        async def job(_: async_sessionmaker[AsyncSession]) -> int:
            jobs.append("ran")
            return 0

        worker = CountingWorker(
            name="t",
            maker=async_sessionmaker(down),
            database_url=REFUSED,
            consumers=[Consumer(name="t.none", handlers={})],
            periodic=[Periodic("t.job", 0.001, job)],
            poll=0.001,
        )
        stop = asyncio.Event()
        running = asyncio.create_task(worker.run(stop))
        try:
            await until(lambda: worker.ticks >= 40, what="40 failed passes", interval=0.005)
            failed = events(log_lines, "worker_tick_failed")
            # 40 failed passes, logged at the 1st, 2nd, 4th, 8th, 16th, 32nd: six lines.
            assert 1 <= len(failed) <= 7
            assert len(events(log_lines, "worker_listen_failed")) <= 7
            worker.maker = async_sessionmaker(up)  # the database is back
            await until(lambda: bool(jobs), what="the periodic job after recovery", interval=0.005)
            (recovered,) = events(log_lines, "worker_recovered")
            assert int(str(recovered["after_failures"])) >= 40
        finally:
            stop.set()
            await asyncio.wait_for(running, 30)
            await down.dispose()
            await up.dispose()
