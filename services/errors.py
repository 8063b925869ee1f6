"""The domain error hierarchy and the one handler that renders every error as JSON.

Body shape: `{"error": "ReferralNotFound", "detail": "...", "fields": [...]}`; 422 bodies list
every failing field with its path and reason. Messages never carry personal data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import exc as sqlalchemy_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger(__name__)


class FieldError(BaseModel):
    path: str
    reason: str


class ErrorBody(BaseModel):
    error: str
    detail: str
    fields: list[FieldError] | None = None


class AppError(Exception):
    """Base of every error a service raises below its router."""

    status_code: ClassVar[int] = 400
    detail: ClassVar[str] = "The request could not be processed."
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str | None = None, *, fields: list[FieldError] | None = None):
        self.message = detail or self.detail
        self.fields = fields
        self.extra_headers: dict[str, str] = {}
        super().__init__(self.message)

    def response_headers(self) -> dict[str, str]:
        return {**self.headers, **self.extra_headers}

    def body(self) -> ErrorBody:
        return ErrorBody(error=type(self).__name__, detail=self.message, fields=self.fields)


class NotFound(AppError):
    status_code = 404
    detail = "Not found."


class Conflict(AppError):
    status_code = 409
    detail = "The request conflicts with the current state."


class Unprocessable(AppError):
    status_code = 422
    detail = "The request is not valid."


class NotAuthenticated(AppError):
    status_code = 401
    detail = "A valid bearer token is required."
    headers: ClassVar[dict[str, str]] = {"WWW-Authenticate": "Bearer"}  # RFC 6750 §3


class Forbidden(AppError):
    status_code = 403
    detail = "Your role may not do this."


class UnsupportedMediaType(AppError):
    status_code = 415
    detail = "Send the body as application/json."


class PayloadTooLarge(AppError):
    status_code = 413
    detail = "The body is too large."


class HeadersTooLarge(AppError):
    status_code = 431
    detail = "The request's headers are too large."


class TooManyRequests(AppError):
    status_code = 429
    detail = "Too many requests; try again after the time in Retry-After."

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail)
        self.extra_headers = {"Retry-After": str(retry_after)}  # RFC 9110 §10.2.3


class InternalError(AppError):
    status_code = 500
    detail = "Something went wrong; it has been logged."


class ServiceUnavailable(AppError):
    status_code = 503
    detail = "A service this request needs is unavailable; try again shortly."


# A database restart or failover takes seconds; a partner retrying sooner only adds load.
RETRY_AFTER_SECONDS = 5


class DatabaseUnavailable(ServiceUnavailable):
    """The database did not answer in time or refused the connection: retry, with the same
    Idempotency-Key, after `Retry-After` seconds (nothing was stored, or the replay says so)."""

    detail = "The database is unavailable; retry shortly with the same Idempotency-Key."
    headers: ClassVar[dict[str, str]] = {"Retry-After": str(RETRY_AFTER_SECONDS)}


# asyncpg's errors that mean "the server is down, restarting, full or too slow", not "this
# request is wrong": connection exceptions (SQLSTATE class 08), 53300 too many connections,
# 57014 statement timeout, 55P03 lock timeout, 57P01-57P03 shutdown and start-up.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,
    asyncpg.LockNotAvailableError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.CannotConnectNowError,
    # What asyncpg raises for a statement in flight when the server's socket closes under it
    # (seen with PostgreSQL stopped mid-request in tests/faults).
    asyncpg.exceptions.InternalClientError,
    sqlalchemy_exc.TimeoutError,  # no pooled connection came free in time
    sqlalchemy_exc.DisconnectionError,
)
# Refused, reset or unreachable, and the client-side backstop (a frozen server): the database
# being unavailable only when they come out of the database's code (`_from_database`). The
# same classes from anything else (a missing file, an HTTP call's timeout) are a plain 500.
_UNAVAILABLE_FROM_DATABASE: tuple[type[BaseException], ...] = (OSError, TimeoutError)
_DATABASE_PACKAGES = frozenset({"asyncpg", "sqlalchemy"})
# asyncpg's InterfaceError is mostly a misuse (a bug: 500), except these: a connection the
# server closed ("connection is closed"; a pooled one is taken back by asyncpg at that moment,
# and any later call on it says it was released: an API only calls a connection while its
# request holds it, so that too is the server's doing), or the pool shutting down.
_CLOSED = (
    "connection is closed",
    "connection has been released back to the pool",
    "pool is closing",
    "pool is closed",
)


def _from_database(error: BaseException) -> bool:
    """Whether `error`, or one it was raised from (`raise ... from`), went through asyncpg's or
    SQLAlchemy's code: a connect, a pool checkout, a statement."""
    current: BaseException | None = error
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            module = str(tb.tb_frame.f_globals.get("__name__", ""))
            if module.partition(".")[0] in _DATABASE_PACKAGES:
                return True
            tb = tb.tb_next
        current = current.__cause__
    return False


def _says_unavailable(error: BaseException) -> bool:
    if isinstance(error, _UNAVAILABLE):
        return True
    if isinstance(error, sqlalchemy_exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, asyncpg.InterfaceError) and any(m in str(error) for m in _CLOSED):
        return True
    return isinstance(error, _UNAVAILABLE_FROM_DATABASE) and _from_database(error)


def is_database_unavailable(error: BaseException) -> bool:
    """Whether an exception, or one it was raised from, says the database is unavailable."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _says_unavailable(current):
            return True
        orig = getattr(current, "orig", None)
        pending += [current.__cause__, current.__context__]
        if isinstance(orig, BaseException):
            pending.append(orig)
    return False


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an endpoint: each error's status with the shared body schema."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        # JSON whatever the endpoint's own media type (a text/plain endpoint's errors are JSON).
        out[err.status_code] = {
            "model": ErrorBody,
            "description": err.detail,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
        }
    return out


# A field path can quote a key the client sent: control characters and lone surrogates in it
# are escaped so that the 422 itself can always be encoded.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
MAX_PATH_CHARS = 200


def _printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _loc_to_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return _printable(".".join(parts))[:MAX_PATH_CHARS] or "body"


def field_errors_from_pydantic(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    return [
        FieldError(path=_loc_to_path(e["loc"]), reason=_printable(str(e["msg"]))) for e in errors
    ]


async def app_error_response(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if exc.status_code in (403, 404):
        from services.audit import record_refusal  # audit -> auth -> errors

        try:
            await record_refusal(request, exc.status_code)
        except Exception as error:  # the refusal still answers; the failure is logged
            log.error("refusal_audit_failed", error_type=type(error).__name__)
    return JSONResponse(
        exc.body().model_dump(exclude_none=True),
        status_code=exc.status_code,
        headers=exc.response_headers() or None,
    )


async def validation_error_response(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = field_errors_from_pydantic(exc.errors())
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        body = ErrorBody(error="InvalidJson", detail="The body is not valid JSON.", fields=fields)
    else:
        body = ErrorBody(
            error="ValidationFailed", detail="Some fields are not valid.", fields=fields
        )
    return JSONResponse(body.model_dump(exclude_none=True), status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    names = {404: "NotFound", 405: "MethodNotAllowed", 401: "NotAuthenticated"}
    body = ErrorBody(error=names.get(exc.status_code, "HTTPError"), detail=str(exc.detail))
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=exc.status_code, headers=exc.headers
    )


def unavailable_response(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 to answer for an unexpected exception that is the database being unavailable."""
    if not is_database_unavailable(exc):
        return None
    log.warning("database_unavailable", error_type=type(exc).__name__)
    return DatabaseUnavailable()


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    unavailable = unavailable_response(exc)
    if unavailable is not None:
        return await app_error_response(request, unavailable)
    # Only the exception's class: its message may quote data about a child.
    log.error("unhandled_error", error_type=type(exc).__name__)
    return JSONResponse(InternalError().body().model_dump(exclude_none=True), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, app_error_response)
    app.add_exception_handler(RequestValidationError, validation_error_response)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
