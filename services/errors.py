"""The domain error hierarchy and the one handler that renders every error as JSON.

Body shape: `{"error": "ReferralNotFound", "detail": "...", "fields": [...]}`; 422 bodies list
every failing field with its path and reason. Messages never carry personal data.
"""

from __future__ import annotations

from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
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
        super().__init__(self.message)

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


class InternalError(AppError):
    status_code = 500
    detail = "Something went wrong; it has been logged."


class ServiceUnavailable(AppError):
    status_code = 503
    detail = "A service this request needs is unavailable; try again shortly."


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for an endpoint: each error's status with the shared body schema."""
    out: dict[int | str, dict[str, Any]] = {}
    for err in errors:
        out[err.status_code] = {"model": ErrorBody, "description": err.detail}
    return out


def _loc_to_path(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) or "body"


def field_errors_from_pydantic(errors: Any) -> list[FieldError]:
    return [FieldError(path=_loc_to_path(e["loc"]), reason=e["msg"]) for e in errors]


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
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
        headers=exc.headers or None,
    )


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
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


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # Only the exception's class: its message may quote data about a child.
    log.error("unhandled_error", error_type=type(exc).__name__)
    return JSONResponse(InternalError().body().model_dump(exclude_none=True), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
