"""ASGI middleware shared by every API: request ids, body limits, content types, metrics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.errors import AppError, PayloadTooLarge, UnsupportedMediaType
from services.logging import set_request_id

# Partner systems send one MARF per request; 256 KB is ~50x a full sibling-group MARF.
MAX_BODY_BYTES = 256 * 1024

REQUESTS = Counter(
    "frontdoor_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "frontdoor_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class _BodyTooLarge(Exception):
    pass


class PlatformMiddleware:
    """Request id, 415/413 checks, and per-route metrics (route templates, never ids)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        raw_body_paths: Iterable[str] = (),
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.app, self.service, self.max_body = app, service, max_body
        self.raw_body_paths = frozenset(raw_body_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request_id = headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        set_request_id(request_id)
        started = time.perf_counter()
        status_holder = {"status": 500}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        error = self._precheck(scope, headers)
        try:
            if error is not None:
                await _send_error(error, send_with_id)
            else:
                await self.app(scope, self._limited(receive), send_with_id)
        except _BodyTooLarge:
            await _send_error(PayloadTooLarge(), send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            REQUESTS.labels(self.service, method, route, str(status_holder["status"])).inc()
            LATENCY.labels(self.service, method, route).observe(time.perf_counter() - started)

    def _precheck(self, scope: Scope, headers: dict[str, str]) -> AppError | None:
        if scope["method"] not in _BODY_METHODS:
            return None
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            return PayloadTooLarge(f"The body is over {self.max_body // 1024} KB.")
        has_body = (length is not None and length != "0") or "transfer-encoding" in headers
        if not has_body or scope["path"] in self.raw_body_paths:
            return None
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            return UnsupportedMediaType()
        return None

    def _limited(self, receive: Receive) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise _BodyTooLarge
            return message

        return wrapped


async def _send_error(error: AppError, send: Send) -> None:
    body = error.body().model_dump_json(exclude_none=True).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
