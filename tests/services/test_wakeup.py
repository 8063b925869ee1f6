"""Coalesced wake-ups: a burst of commits sends one NOTIFY per topic, after the commits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg

from services.db import libpq_url
from services.events.outbox import NOTIFY_CHANNEL
from services.events.wakeup import Wakeup
from tests.polling import until

# NOTIFYed by the listener itself after the scenario: PostgreSQL delivers notifications in
# commit order, so once the marker is heard every wake-up sent before it has arrived.
_MARKER = "test.marker"


async def heard_during(
    database_url: str, scenario: Callable[[Wakeup], Awaitable[None]]
) -> list[str]:
    """The topics NOTIFYed while `scenario` pokes a Wakeup, up to its last flush."""
    listener = await asyncpg.connect(libpq_url(database_url))
    heard: list[str] = []
    try:
        await listener.add_listener(NOTIFY_CHANNEL, lambda *args: heard.append(args[3]))
        wakeup = Wakeup(delay=0.05)
        await scenario(wakeup)
        await wakeup.flush()
        await listener.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, _MARKER)
        await until(lambda: _MARKER in heard, what="the marker NOTIFY")
    finally:
        await listener.close()
    return [topic for topic in heard if topic != _MARKER]


class TestWakeup:
    async def test_a_burst_sends_one_notify_per_topic(self, database_url: str) -> None:
        async def burst(wakeup: Wakeup) -> None:
            for _ in range(200):
                wakeup.soon("referral.received")
            for _ in range(3):
                wakeup.soon("referral.addendum_added")

        heard = await heard_during(database_url, burst)
        assert sorted(heard) == ["referral.addendum_added", "referral.received"]

    async def test_a_topic_added_while_sending_goes_out_in_the_next_pass(
        self, database_url: str
    ) -> None:
        async def late(wakeup: Wakeup) -> None:
            wakeup.soon("first")
            await asyncio.sleep(0.06)  # past the first pass's wait: that pass is sending
            wakeup.soon("second")

        assert sorted(await heard_during(database_url, late)) == ["first", "second"]
