"""Keyset paging, once for every list endpoint: the `Page[T]` answer and the cursor codec. Pure.

A list is ordered by a key that is unique (a time and an id, say); a page answers `limit` items
and, when more follow, `next_cursor`: the last item's key, encoded. The client passes it back
as `cursor` and the next query asks for the rows after that key (`(a, b) < (:a, :b)`), which an
index serves directly however deep the client goes, and which neither skips nor repeats a row
when rows are added meanwhile (offset paging does both).

The cursor is opaque to clients: URL-safe base64 of a compact JSON array of the key's values
(datetimes as ISO 8601 with their offset, UUIDs as strings, integers, strings). A cursor this
API did not issue is a 422 naming the `cursor` parameter, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Generic, TypeVar, overload

from pydantic import BaseModel

from services.errors import FieldError, Unprocessable

T = TypeVar("T")
A = TypeVar("A", int, str, datetime, uuid.UUID)
B = TypeVar("B", int, str, datetime, uuid.UUID)
C = TypeVar("C", int, str, datetime, uuid.UUID)

CursorValue = int | str | datetime | uuid.UUID
# Far above any key this product encodes (three values, a time and a UUID: about 110
# characters), so a query-string cursor is bounded before it is decoded.
MAX_CURSOR_LENGTH = 400


class Page(BaseModel, Generic[T]):
    """A page of results, newest first; pass `next_cursor` as `cursor` for the next page."""

    items: list[T]
    limit: int
    next_cursor: str | None


class CursorInvalid(Unprocessable):
    detail = "The cursor is not one this API issued."

    def __init__(self) -> None:
        super().__init__(fields=[FieldError(path="cursor", reason="not a valid cursor")])


def _plain(value: CursorValue) -> int | str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a cursor's times carry their UTC offset")
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_cursor(*values: CursorValue) -> str:
    """The cursor after an item whose sort key is `values` (in the order of the ORDER BY)."""
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _typed(kind: type[object], value: object) -> CursorValue:
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError("time")
        at = datetime.fromisoformat(value)
        if at.tzinfo is None:
            raise ValueError("naive")
        return at
    if kind is uuid.UUID:
        if not isinstance(value, str):
            raise TypeError("uuid")
        return uuid.UUID(value)
    if kind is int:
        # bool is an int to Python, not to a cursor; and PostgreSQL's bigint stops at 2**63.
        if type(value) is not int or not -(2**63) <= value < 2**63:
            raise TypeError("int")
        return value
    if not isinstance(value, str):
        raise TypeError("str")
    return value


def _decode(cursor: str, kinds: Sequence[type[object]]) -> tuple[CursorValue, ...]:
    try:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("shape")
        return tuple(_typed(kind, value) for kind, value in zip(kinds, values, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
        raise CursorInvalid() from None


@overload
def decode_cursor(cursor: str, kinds: tuple[type[A]]) -> tuple[A]: ...
@overload
def decode_cursor(cursor: str, kinds: tuple[type[A], type[B]]) -> tuple[A, B]: ...
@overload
def decode_cursor(cursor: str, kinds: tuple[type[A], type[B], type[C]]) -> tuple[A, B, C]: ...
def decode_cursor(cursor: str, kinds: tuple[type[object], ...]) -> tuple[CursorValue, ...]:
    """The key a cursor encodes, each value of its kind (`(datetime, uuid.UUID)`, say); any
    other string raises `CursorInvalid` (422, field `cursor`)."""
    return _decode(cursor, kinds)


def page_of(
    rows: Sequence[T], *, limit: int, key: Callable[[T], tuple[CursorValue, ...]]
) -> Page[T]:
    """The page from a query that fetched `limit + 1` rows: the first `limit`, and the cursor
    after the last of them when the extra row shows that more follow."""
    shown = list(rows[:limit])
    more = len(rows) > limit and bool(shown)
    return Page(
        items=shown, limit=limit, next_cursor=encode_cursor(*key(shown[-1])) if more else None
    )
