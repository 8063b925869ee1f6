"""Fixtures for the notifications tests: real local SMTP, real local webhook receivers."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery.secretbox import encrypt
from notifications.main import create_app
from notifications.settings import NotificationsSettings, get_notifications_settings
from services.devtools import MailSink, start_mail_sink
from services.models.notifications import Endpoint, School

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[tuple[MailSink, int]]:
    port = free_port()
    sink, controller = start_mail_sink("127.0.0.1", port)
    yield sink, port
    controller.stop()


@pytest.fixture
def mail(mail_sink: tuple[MailSink, int]) -> MailSink:
    sink, _ = mail_sink
    sink.messages.clear()
    return sink


@pytest.fixture
def nsettings(database_url: str, mail_sink: tuple[MailSink, int]) -> NotificationsSettings:
    _, port = mail_sink
    return NotificationsSettings(
        smtp_port=port,
        retry_schedule=(0, 0, 0, 0),
        retry_repeat_seconds=0,
        retry_jitter=0,
        delivery_concurrency=8,
        public_base_url="http://frontdoor.test",
    )


@pytest.fixture
def app(nsettings: NotificationsSettings) -> FastAPI:
    application = create_app()
    application.dependency_overrides[get_notifications_settings] = lambda: nsettings
    return application


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1: answers from `script` (then `default`), records all."""

    port: int
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    default: int = 200
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self) -> tuple[int, dict[str, str]]:
        with self.lock:
            return self.script.pop(0) if self.script else (self.default, {})


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length)
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
            status, headers = receiver.answer()
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            reply = b'{"received": true}'
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:
            with receiver.lock:
                receiver.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, b"")
                )
            reply = b'{"id": "n-1", "reminder": "do not contact parents"}'
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(Receiver(port=0)))
    rec = Receiver(port=server.server_address[1])
    server.RequestHandlerClass = _handler(rec)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield rec
    server.shutdown()
    server.server_close()


async def create_school(session: AsyncSession, **overrides: Any) -> School:
    values: dict[str, Any] = {
        "urn": overrides.pop("urn", str(100000 + uuid.uuid4().int % 899999)),
        "council_id": "demo",
        "name": "Test Primary School",
        "phase": "Primary",
        "postcode": "BD1 1AA",
        "school_day_start": time(8, 30),
        "terms": [],
        "closure_days": [],
        "dsl_email": "dsl@school.example",
        "deputy_email": "deputy@school.example",
        "delivery_preference": "both",
    }
    values.update(overrides)
    school = School(**values)
    session.add(school)
    await session.flush()
    return school


async def create_endpoint(
    session: AsyncSession, settings: NotificationsSettings, school: School, url: str, **kw: Any
) -> Endpoint:
    endpoint = Endpoint(
        school_urn=school.urn,
        url=url,
        event_types=["encompass.notification.created", "encompass.ping"],
        enabled=True,
        consecutive_failures=0,
        secret_encrypted=encrypt(settings.encryption_key, kw.pop("secret", SECRET)),
        **kw,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


def incident(
    reference: str = "WY-2026-0001",
    *,
    at: datetime | None = None,
    children: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "police_reference": reference,
        "incident_at": (at or datetime(2026, 11, 20, 22, 30, tzinfo=UTC)).isoformat(),
        "area": "Bradford South",
        "children": children
        or [
            {
                "given_name": "Amira",
                "family_name": "Testchild",
                "date_of_birth": date(2017, 3, 4).isoformat(),
                "school_urn": "107301",
                "present": True,
                "spoken_to": True,
                "child_voice": "I hid upstairs",
            }
        ],
        "adult_roles": ["mother", "mother's partner"],
        "circumstances": "Verbal argument, neighbours called police",
        **extra,
    }
