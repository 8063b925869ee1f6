"""Waiting for an asynchronous effect: poll a condition until a deadline, never a fixed sleep.

A fixed sleep is either too short on a loaded machine (a flaky failure) or longer than needed
everywhere else; a deadline is generous and the poll returns as soon as the effect is there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

# Generous: the suite runs on shared machines; a passing poll returns at once anyway.
DEADLINE_SECONDS = 30.0


async def until(
    condition: Callable[[], object],
    *,
    what: str,
    timeout: float = DEADLINE_SECONDS,
    interval: float = 0.01,
) -> None:
    """Return once `condition()` is truthy; fail naming `what` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout} s")
        await asyncio.sleep(interval)
