"""ASGI middleware shared by every API: request ids, body limits, content types, metrics.

It sits outside FastAPI's own exception handling, so it also turns anything unexpected into
the platform's 500 body: the exception's class is logged, never its message (it may quote
data about a child), and nothing reaches the server's default traceback log.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.errors import (
    AppError,
    HeadersTooLarge,
    InternalError,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
    unavailable_response,
)
from services.logging import reset_request_id, set_request_id
from services.ratelimit import failed_auth_wait, record_failed_auth
from services.settings import FrontdoorSettings, get_settings

log = structlog.get_logger(__name__)

# Partner systems send one MARF per request; 256 KB is ~50x a full sibling-group MARF.
MAX_BODY_BYTES = 256 * 1024
# An identity provider's token is 1-2 KB; 8 KiB is nginx's default header buffer. All headers
# together get 16 KiB (h11's own default limit for the whole head).
MAX_AUTHORIZATION_BYTES = 8 * 1024
MAX_HEADER_BYTES = 16 * 1024
# Every answer: browsers never guess a content type, and nothing is kept in a cache (the
# answers carry children's records; a shared or browser cache must not hold them).
_SECURITY_HEADERS = ((b"x-content-type-options", b"nosniff"),)
_NO_STORE = (b"cache-control", b"no-store")
REQUEST_ID_HEADER = "x-request-id"
# A caller's request id is kept only when it is a plain token (it ends up in every log line).
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

REQUESTS = Counter(
    "frontdoor_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
LATENCY = Histogram(
    "frontdoor_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)

_WANTED = {
    name.encode(): name
    for name in (REQUEST_ID_HEADER, "content-length", "content-type", "transfer-encoding")
}
# Routes are templates and methods a fixed set, so this stays small; the cap is a backstop.
_MAX_CACHED_SERIES = 1024

# The pages' forms post urlencoded bodies (multipart for a CSV upload); every API path is
# under /v1 and takes JSON.
FORM_TYPE = "application/x-www-form-urlencoded"
FORM_TYPES = frozenset({FORM_TYPE, "multipart/form-data"})
API_PREFIX = "/v1/"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class PlatformMiddleware:
    """Request id, 415/413 checks, per-route metrics (route templates, never ids), 500s."""

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
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers, oversized = _wanted_headers(scope["headers"])
        settings = get_settings()
        client = _client(scope)
        request_id = _request_id(headers.get(REQUEST_ID_HEADER, ""))
        token = set_request_id(request_id)
        started = time.perf_counter()
        state = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
                if message["status"] == 401:
                    record_failed_auth(settings, client)
                sent = message.get("headers", [])
                # A page's own headers (services.web) stand; the rest are added once.
                present = {n.lower() for n, _ in sent}
                message["headers"] = [
                    *sent,
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                    *(h for h in (*_SECURITY_HEADERS, _NO_STORE) if h[0] not in present),
                ]
            await send(message)

        try:
            error = oversized or _blocked(settings, client, scope) or self._precheck(scope, headers)
            if error is None and scope["method"] in _BODY_METHODS:
                receive, error = await self._buffered(receive)
            if error is not None:
                await _send_error(error, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        except Exception as exc:
            unavailable = unavailable_response(exc)
            if unavailable is None:
                log.error("unhandled_error", error_type=type(exc).__name__, path=_route(scope))
            if not state["started"]:
                await _send_error(unavailable or InternalError(), send_with_id)
        finally:
            self._observe(scope, str(state["status"]), time.perf_counter() - started)
            reset_request_id(token)

    def _observe(self, scope: Scope, status: str, seconds: float) -> None:
        # Unknown methods collapse to one label so a scanner cannot grow the series.
        method = scope["method"] if scope["method"] in _KNOWN_METHODS else "OTHER"
        route = _route(scope)
        counter, histogram = self._series(method, route, status)
        counter.inc()
        histogram.observe(seconds)
        # The access log line: the route template, never the raw path or query string (they
        # can carry references or search terms), with the request id bound like every line.
        log.info(
            "request",
            method=method,
            route=route,
            status=int(status),
            duration_ms=round(seconds * 1000, 1),
        )

    def _series(self, method: str, route: str, status: str) -> tuple[Counter, Histogram]:
        """The labelled children, looked up once per (method, route template, status): the
        label lookup takes a lock and builds a tuple each time. Bounded like the series."""
        key = (method, route, status)
        series = self._children.get(key)
        if series is None:
            series = (
                REQUESTS.labels(self.service, method, route, status),
                LATENCY.labels(self.service, method, route),
            )
            if len(self._children) < _MAX_CACHED_SERIES:
                self._children[key] = series
        return series

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
        json_type = ctype.startswith("application/") and ctype.endswith(("/json", "+json"))
        if ctype in FORM_TYPES and not scope["path"].startswith(API_PREFIX):
            return None  # a page's form (the API under /v1 takes JSON only)
        if not json_type:
            return UnsupportedMediaType()
        return None

    async def _buffered(self, receive: Receive) -> tuple[Receive, AppError | None]:
        """Read the whole body (at most `max_body` bytes, however it is chunked) up front.

        Counting inside the app's own reads is not enough: the framework turns an exception
        raised while it parses a body into a 400, so the limit is enforced before the app runs.
        """
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return _replay([message], receive), None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return receive, PayloadTooLarge(f"The body is over {self.max_body // 1024} KB.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        return _replay([whole], receive), None


def _wanted_headers(raw: Iterable[tuple[bytes, bytes]]) -> tuple[dict[str, str], AppError | None]:
    """Only the headers the middleware reads, decoded (ASGI servers send lower-case names,
    but a name is lower-cased here too when it is not); the token and the rest stay bytes.
    With them, the refusal when the headers are too large (431, RFC 6585 §5)."""
    found: dict[str, str] = {}
    total = 0
    too_large: AppError | None = None
    for name, value in raw:
        total += len(name) + len(value)
        key = _WANTED.get(name)
        if key is None:
            lowered = name.lower()
            if lowered == b"authorization" and len(value) > MAX_AUTHORIZATION_BYTES:
                too_large = HeadersTooLarge("The Authorization header is over 8 KiB.")
            if lowered == name:
                continue
            key = _WANTED.get(lowered)
            if key is None:
                continue
        found[key] = value.decode("latin-1")
    if total > MAX_HEADER_BYTES:
        too_large = HeadersTooLarge("The request's headers are over 16 KiB.")
    return found, too_large


# Health checks come from the load balancer and are never refused for others' failures.
_NEVER_BLOCKED = frozenset({"/healthz", "/readyz"})


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _blocked(settings: FrontdoorSettings, client: str, scope: Scope) -> AppError | None:
    """429 for an address over its failed-authentication limit (services.ratelimit)."""
    if scope["path"] in _NEVER_BLOCKED:
        return None
    wait = failed_auth_wait(settings, client)
    if wait is None:
        return None
    return TooManyRequests("Too many failed authentications from here.", retry_after=wait)


def _request_id(offered: str) -> str:
    return offered if _REQUEST_ID.match(offered) else uuid.uuid4().hex


def _route(scope: Scope) -> str:
    """The matched route's template (`/v1/referrals/{reference}`), never the raw path."""
    return str(getattr(scope.get("route"), "path", "unmatched"))


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _send_error(error: AppError, send: Send) -> None:
    body = error.body().model_dump_json(exclude_none=True).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status_code,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *[(k.lower().encode(), v.encode()) for k, v in error.response_headers().items()],
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
