"""A receiver's Retry-After counts from its answer, not from when the request went out."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from notifications.delivery.transport import make_client, post_webhook
from notifications.settings import NotificationsSettings

ANSWER_AFTER = 0.5


@pytest.fixture
def slow_429() -> Iterator[str]:
    """Answers 429 with `Retry-After: 1` half a second after each request arrives."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            time.sleep(ANSWER_AFTER)
            self.send_response(429)
            self.send_header("Retry-After", "1")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


async def test_a_slow_429s_retry_after_counts_from_the_answer(slow_429: str) -> None:
    settings = NotificationsSettings(attempt_timeout_seconds=5)
    async with make_client(settings) as client:
        result = await post_webhook(
            client,
            settings,
            url=slow_429,
            secrets=["whsec_" + "A" * 32],
            message_id="msg_1",
            body="{}",
        )
    assert (result.outcome, result.status_code) == ("failed", 429)
    # Seconds after `attempted_at` (the request's start): the answer's delay, then 1 s.
    assert result.retry_after is not None
    assert result.retry_after >= 1 + ANSWER_AFTER
    assert result.retry_after < 1 + settings.attempt_timeout_seconds
