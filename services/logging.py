"""structlog set-up: JSON in production, readable in development, a request id on every line.

Never bind names, dates of birth, addresses or identifiers of a child: ids of records only.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar

import structlog

from services.settings import FrontdoorSettings

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)
    structlog.contextvars.bind_contextvars(request_id=value)


def configure_logging(settings: FrontdoorSettings) -> None:
    as_json = settings.log_json if settings.log_json is not None else settings.is_production
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
