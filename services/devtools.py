"""Demo-only helpers started by `frontdoor run`: a local webhook receiver and an SMTP sink.

The receiver (default http://127.0.0.1:8001) plays a school's system: it verifies every
webhook with the `standardwebhooks` library, deduplicates on `webhook-id`, and lists what
arrived at `GET /received`; `GET /emails` lists the mail the SMTP sink (127.0.0.1:8025)
captured. Nothing here imports a service package: the demo endpoints are seeded with
`DEMO_WEBHOOK_SECRET`, which the receiver knows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.settings import FrontdoorSettings

# The demo schools' endpoint secret (development only; real endpoints get a random secret).
DEMO_WEBHOOK_SECRET = "whsec_ZnJvbnRkb29yLWRlbW8tc2Nob29sLXJlY2VpdmVyLWtleQ=="
RECEIVER_HOST = "127.0.0.1"
RECEIVER_PORT = int(os.environ.get("DEMO_RECEIVER_PORT", "8001"))
SMTP_PORT = int(os.environ.get("DEMO_SMTP_PORT", "8025"))
# The demo keeps the latest few hundred of each; it is a window to look through, not a store.
KEEP = 500


@dataclass
class CapturedMail:
    received_at: str
    mail_from: str
    recipients: list[str]
    subject: str
    body: str


class MailSink:
    """aiosmtpd handler keeping the messages it accepts."""

    def __init__(self) -> None:
        self.messages: deque[CapturedMail] = deque(maxlen=KEEP)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else (content or "").encode()
        parsed = message_from_bytes(raw)
        mail = CapturedMail(
            received_at=datetime.now(UTC).isoformat(),
            mail_from=str(envelope.mail_from),
            recipients=list(envelope.rcpt_tos),
            subject=str(parsed.get("Subject", "")),
            body=_text_of(parsed),
        )
        with self._lock:
            self.messages.append(mail)
        return "250 Message accepted for delivery"

    def snapshot(self) -> list[CapturedMail]:
        with self._lock:
            return list(self.messages)


def _text_of(message: Message) -> str:
    part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), message)
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""


@dataclass
class ReceivedWebhook:
    received_at: str
    path: str
    webhook_id: str | None
    verified: bool
    duplicate: bool
    body: Any


@dataclass
class WebhookReceiver:
    """An ASGI app that verifies Standard Webhooks signatures and remembers what came."""

    secret: str = DEMO_WEBHOOK_SECRET
    received: deque[ReceivedWebhook] = field(default_factory=lambda: deque(maxlen=KEEP))
    seen_ids: set[str] = field(default_factory=set)
    mail: MailSink | None = None

    async def hook(self, request: Request) -> Response:
        raw = await request.body()
        headers = dict(request.headers)
        try:
            body = Webhook(self.secret).verify(raw, headers)
            verified = True
        except (WebhookVerificationError, ValueError):
            body, verified = _safe_json(raw), False
        webhook_id = headers.get("webhook-id")
        duplicate = webhook_id in self.seen_ids
        if verified and webhook_id:
            self.seen_ids.add(webhook_id)
        self.received.append(
            ReceivedWebhook(
                received_at=datetime.now(UTC).isoformat(),
                path=request.url.path,
                webhook_id=webhook_id,
                verified=verified,
                duplicate=duplicate,
                body=body,
            )
        )
        if verified:
            return Response(status_code=204)
        return JSONResponse({"error": "signature did not verify"}, status_code=401)

    async def list_received(self, request: Request) -> Response:
        return JSONResponse([vars(r) for r in reversed(self.received)])

    async def list_emails(self, request: Request) -> Response:
        mails = self.mail.snapshot() if self.mail else []
        return JSONResponse([vars(m) for m in reversed(mails)])

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hooks/{school}", self.hook, methods=["POST"]),
                Route("/received", self.list_received, methods=["GET"]),
                Route("/emails", self.list_emails, methods=["GET"]),
            ]
        )


def _safe_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


@dataclass
class DemoSinks:
    receiver: WebhookReceiver
    mail: MailSink
    smtp: Controller | None = None
    host: str = RECEIVER_HOST
    port: int = RECEIVER_PORT
    smtp_port: int = SMTP_PORT

    def close(self) -> None:
        """Stop the SMTP sink (the receiver stops with `serve_receiver`)."""
        if self.smtp is not None:
            with contextlib.suppress(Exception):
                self.smtp.stop()
            self.smtp = None

    def __str__(self) -> str:
        base = f"http://{self.host}:{self.port}"
        return (
            f"Demo school receiver: {base}/received (webhooks)   {base}/emails "
            f"(mail captured by the SMTP sink on {self.host}:{self.smtp_port})"
        )


def start_mail_sink(host: str, port: int) -> tuple[MailSink, Controller]:
    sink = MailSink()
    controller = Controller(sink, hostname=host, port=port)
    controller.start()
    return sink, controller


async def start_demo_sinks(
    settings: FrontdoorSettings, *, port: int = RECEIVER_PORT, smtp_port: int = SMTP_PORT
) -> DemoSinks:
    sink, controller = start_mail_sink(RECEIVER_HOST, smtp_port)
    receiver = WebhookReceiver(mail=sink)
    return DemoSinks(receiver=receiver, mail=sink, smtp=controller, port=port, smtp_port=smtp_port)


class _QuietServer(uvicorn.Server):
    """Leaves signal handling to the all-in-one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_receiver(sinks: DemoSinks, stop: asyncio.Event) -> None:
    config = uvicorn.Config(
        sinks.receiver.app(), host=sinks.host, port=sinks.port, log_level="warning", lifespan="off"
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    await stop.wait()
    server.should_exit = True
    await task
