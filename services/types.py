"""Constrained input types every service uses for free text, dates, numbers and raw JSON.

Why: PostgreSQL's `text` and `jsonb` cannot hold a NUL character, a lone surrogate cannot be
encoded as UTF-8, a date at the very edge of the calendar overflows as soon as the code adds a
day or moves it to UTC, and PostgreSQL's integers stop at 64 bits. Each of those reached the
database or the clock arithmetic and answered 500; these types refuse them up front with a 422
naming the field.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, AwareDatetime, Field, WithJsonSchema

# Control characters (NUL above all) and lone surrogates. Single-line text refuses every
# control character; multi-line text keeps tabs and line breaks (CR, LF).
_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_MULTILINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_JSON_FORBIDDEN = re.compile(r"[\x00\ud800-\udfff]")

# Dates and times the product handles: people born since 1900, deadlines before 3000. Past
# these bounds a record is a typo or a probe, and the clock arithmetic is safe inside them.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)
# PostgreSQL `integer` (and LIMIT/OFFSET far below `bigint`): query-string numbers stop here.
PG_INT_MAX = 2**31 - 1


def single_line(value: str) -> str:
    if _LINE_FORBIDDEN.search(value):
        raise ValueError("contains control or unencodable characters")
    return value


def multiline(value: str) -> str:
    if _MULTILINE_FORBIDDEN.search(value):
        raise ValueError("contains control or unencodable characters")
    return value


def _in_range(day: date) -> None:
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE}")


def plausible_date(value: date) -> date:
    _in_range(value)
    return value


def plausible_datetime(value: datetime) -> datetime:
    """In range once moved to UTC (a naive time is read as UTC, as PostgreSQL would)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    _in_range(value.date())  # the local date first: moving it to UTC must not overflow
    utc = value.astimezone(UTC)
    _in_range(utc.date())
    return value


def local_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a local time of day, without an offset")
    return value


_J = TypeVar("_J")


def json_safe(value: _J) -> _J:
    """Every key and string inside free JSON storable in `jsonb`."""
    _check_json(value)
    return value


def _check_json(value: object) -> None:
    if isinstance(value, str):
        if _JSON_FORBIDDEN.search(value):
            raise ValueError("contains a NUL or an unencodable character")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json(key)
            _check_json(item)
    elif isinstance(value, list):
        for item in value:
            _check_json(item)
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
        raise ValueError("a number is past 64 bits")


# A single line of text (names, references, roles): no control characters.
SafeStr = Annotated[str, AfterValidator(single_line)]
# Free text that may run over lines (summaries, rationales, a child's words).
SafeText = Annotated[str, AfterValidator(multiline)]
# Dates and aware times within the product's calendar; query-string times may be naive (UTC).
SafeDate = Annotated[date, AfterValidator(plausible_date)]
SafeDatetime = Annotated[AwareDatetime, AfterValidator(plausible_datetime)]
QueryDatetime = Annotated[datetime, AfterValidator(plausible_datetime)]
# A query-string or path integer PostgreSQL can take.
QueryInt = Annotated[int, Field(le=PG_INT_MAX, ge=-PG_INT_MAX)]
_LOCAL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"
# A local time of day ("08:30" or "08:30:00"). JSON Schema's "time" format demands an offset,
# so the documents give the pattern instead.
LocalTime = Annotated[
    time,
    AfterValidator(local_time),
    WithJsonSchema({"type": "string", "pattern": _LOCAL_TIME, "examples": ["08:30:00"]}),
]
# Free JSON (rule-set bodies, raw batch items) storable in `jsonb`.
SafeJsonDict = Annotated[dict[str, Any], AfterValidator(json_safe)]
