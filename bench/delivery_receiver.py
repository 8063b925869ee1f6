"""A minimal local webhook receiver for `bench.delivery` (run under uvicorn on 127.0.0.1).

`GET /stats` reports requests, distinct `webhook-id`s and refusals. With
`BENCH_FAIL_FIRST=N` it answers 503 (Retry-After: 0) to the first N tries of every id, like
a school system that is down when the morning feed arrives. With `BENCH_HANG_SECONDS=S` it
waits S seconds before answering every POST, like a school system that hangs (`bench.load`).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from typing import Any

from starlette.types import Receive, Scope, Send


class Stats:
    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.requests = 0
        self.refused = 0
        self.tries: Counter[str] = Counter()


async def _drain(receive: Receive) -> None:
    more = True
    while more:
        message = await receive()
        more = bool(message.get("more_body"))


async def _reply(
    send: Send, status: int, body: bytes = b"", extra: list[Any] | None = None
) -> None:
    headers = [(b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def make_app() -> Any:
    stats = Stats(int(os.environ.get("BENCH_FAIL_FIRST", "0")))
    hang = float(os.environ.get("BENCH_HANG_SECONDS", "0"))

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            body = json.dumps(
                {
                    "requests": stats.requests,
                    "distinct_ids": len(stats.tries),
                    "refused": stats.refused,
                }
            ).encode()
            await _reply(send, 200, body)
            return
        await _drain(receive)
        headers = dict(scope["headers"])
        webhook_id = headers.get(b"webhook-id", b"").decode()
        stats.requests += 1
        stats.tries[webhook_id] += 1
        if hang:
            await asyncio.sleep(hang)
        if stats.tries[webhook_id] <= stats.fail_first:
            stats.refused += 1
            await _reply(send, 503, extra=[(b"retry-after", b"0")])
            return
        await _reply(send, 204)

    return app
