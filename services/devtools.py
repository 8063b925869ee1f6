"""Demo-only helpers started by `frontdoor run`: a local webhook receiver and an SMTP sink."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.settings import FrontdoorSettings


@dataclass
class DemoSinks:
    def close(self) -> None:
        """Stop the sinks."""

    def __str__(self) -> str:
        return "Demo sinks: not started yet"


async def start_demo_sinks(settings: FrontdoorSettings) -> DemoSinks:
    return DemoSinks()


async def serve_receiver(sinks: DemoSinks, stop: asyncio.Event) -> None:
    await stop.wait()
