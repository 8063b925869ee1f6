"""Helpers for the MASH tests: contacts through the API, partner tokens, audit rows."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry, CouncilCalendar
from tests.triage.conftest import phone_contact

Headers = dict[str, str]
# Monday 23 November 2026, 09:00 in London (GMT, so 09:00 UTC).
MONDAY_0900 = "2026-11-23T09:00:00+00:00"


async def new_contact(
    client: httpx.AsyncClient, headers: Headers, **overrides: Any
) -> dict[str, Any]:
    body = phone_contact(**({"received_at": MONDAY_0900} | overrides))
    response = await client.post("/v1/contacts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def rate(
    client: httpx.AsyncClient, headers: Headers, contact_id: str, rag: str, reason: str = "r"
) -> httpx.Response:
    return await client.post(
        f"/v1/contacts/{contact_id}/rag", json={"rag": rag, "reason": reason}, headers=headers
    )


async def audit_actions(session: AsyncSession, entity_id: object) -> list[str]:
    rows = await session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.id)
    )
    return list(rows.all())


async def configure_mash(session: AsyncSession, mash: dict[str, Any]) -> None:
    row = await session.get(CouncilCalendar, "demo")
    assert row is not None
    row.settings = {**(row.settings or {}), "mash": mash}
    await session.flush()


# --- a real local webhook receiver (the case system's end) ------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: answers from `script` (then 200), records every POST."""

    port: int = 0
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/case-system/hook"

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            return self.script.pop(0) if self.script else (200, {})


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with receiver.lock:
                receiver.received.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
            status, headers = receiver.answer()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
