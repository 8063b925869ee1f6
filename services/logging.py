"""structlog set-up: JSON in production, readable in development, a request id on every line.

The standard library's loggers (uvicorn, alembic, SQLAlchemy) go through the same renderer,
so every line of a process has one format and carries the request id when there is one.
Never bind names, dates of birth, addresses or identifiers of a child: ids of records only.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any, TextIO

import orjson
import structlog

from services.settings import FrontdoorSettings

QUIET_LOGGERS = ("httpx", "httpcore", "mail.log", "asyncio")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


RequestIdToken = tuple[Token[str | None], Mapping[str, Token[Any]]]


def set_request_id(value: str | None) -> RequestIdToken:
    """Bind the request id for this task; pass the result to `reset_request_id` when done."""
    return _request_id.set(value), structlog.contextvars.bind_contextvars(request_id=value)


def reset_request_id(token: RequestIdToken) -> None:
    own, bound = token
    _request_id.reset(own)
    structlog.contextvars.reset_contextvars(**bound)


def renders_json(settings: FrontdoorSettings) -> bool:
    return settings.log_json if settings.log_json is not None else settings.is_production


class _LineLogger:
    """structlog's own output path: each rendered line written to one stream, the one the
    standard library's handler writes to. Carries the logger's name for `add_logger_name`."""

    def __init__(self, name: str, stream: TextIO) -> None:
        self.name, self.stream = name, stream

    def msg(self, message: str) -> None:
        self.stream.write(message + "\n")
        self.stream.flush()

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


class _LineLoggerFactory:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, *args: object) -> _LineLogger:
        return _LineLogger(str(args[0]) if args else "", self.stream)


def configure_logging(settings: FrontdoorSettings) -> None:
    """Our own lines render in structlog and go straight to stderr (no `logging.LogRecord`,
    no handler chain: a third of the cost of a line); the standard library's loggers go
    through the same processors and renderer, so every line of a process has one format."""
    as_json = renders_json(settings)
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(serializer=_orjson_text)
        if as_json
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            # A developer's traceback, without the locals: they can hold a child's details.
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
        )
    )
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # A traceback can quote the data that caused it: outside a developer's laptop only the
    # exception's class is kept.
    keep_or_strip_tracebacks: list[structlog.types.Processor] = (
        [] if settings.environment == "development" and not as_json else [_exception_class_only]
    )
    structlog.configure(
        processors=[*shared, *keep_or_strip_tracebacks, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_LineLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *keep_or_strip_tracebacks,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    # Chatty at INFO: every outgoing URL (httpx) and every SMTP session step (aiosmtpd).
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


# Dataclasses and datetimes go to structlog's `default` as they did with the standard library
# (a dataclass may hide fields from its repr or its `__structlog__`; orjson would write them).
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)


def _orjson_text(event: object, *, default: Callable[[object], object] | None = None) -> str:
    """structlog's JSON lines through orjson (a fifth of the standard library's time). A line
    is the standard library's, as before, when orjson refuses it (an integer beyond 64 bits)
    or it is not ASCII (orjson would not escape U+2028 and the like, which some readers take
    for line breaks): a log call never fails and a line stays one ASCII line."""
    try:
        text = orjson.dumps(event, default=default, option=_ORJSON_OPTIONS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(event, default=default)
    return text if text.isascii() else json.dumps(event, default=default)


def _exception_class_only(
    _: object, __: str, event: structlog.types.EventDict
) -> structlog.types.EventDict:
    exc_info = event.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        if isinstance(exc_info, BaseException):
            event["error_type"] = type(exc_info).__name__
        elif isinstance(exc_info, tuple) and exc_info[0] is not None:
            event["error_type"] = exc_info[0].__name__
    return event
