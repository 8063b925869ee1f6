"""The platform's keyset paging: the cursor codec round trip, refusals, and `page_of`."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from services.paging import (
    MAX_CURSOR_LENGTH,
    CursorInvalid,
    Page,
    decode_cursor,
    encode_cursor,
    page_of,
)

AT = datetime(2026, 3, 4, 10, 30, 15, 123456, tzinfo=UTC)
ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def raw(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


class TestCodec:
    def test_round_trip_of_each_kind(self) -> None:
        cursor = encode_cursor(AT, ID)
        assert decode_cursor(cursor, (datetime, uuid.UUID)) == (AT, ID)
        three = encode_cursor(7, AT, "FD-1")
        assert decode_cursor(three, (int, datetime, str)) == (7, AT, "FD-1")
        assert decode_cursor(encode_cursor(42), (int,)) == (42,)

    def test_offset_is_kept(self) -> None:
        local = AT.astimezone(timezone(timedelta(hours=1)))
        [(at)] = decode_cursor(encode_cursor(local), (datetime,))
        assert at == AT
        assert at.utcoffset() == timedelta(hours=1)

    def test_url_safe_without_padding(self) -> None:
        cursor = encode_cursor(AT, ID)
        assert "=" not in cursor
        assert "+" not in cursor
        assert "/" not in cursor

    def test_the_referral_api_format_is_unchanged(self) -> None:
        """Cursors issued before the platform codec (compact JSON) still decode."""
        old = base64.urlsafe_b64encode(
            json.dumps([AT.isoformat(), str(ID)], separators=(",", ":")).encode()
        )
        assert encode_cursor(AT, ID) == old.decode().rstrip("=")

    def test_naive_times_are_not_encoded(self) -> None:
        with pytest.raises(ValueError, match="offset"):
            encode_cursor(AT.replace(tzinfo=None))

    @pytest.mark.parametrize(
        "cursor",
        [
            "",
            "not-a-cursor",
            "W10",  # []
            "é",
            raw([AT.isoformat()]),  # too short
            raw([AT.isoformat(), str(ID), 1]),  # too long
            raw({"at": AT.isoformat()}),
            raw([AT.replace(tzinfo=None).isoformat(), str(ID)]),  # naive
            raw(["yesterday", str(ID)]),
            raw([AT.isoformat(), "not-a-uuid"]),
            raw([1, str(ID)]),
            raw([AT.isoformat(), 5]),
            "A" * (MAX_CURSOR_LENGTH + 4),
        ],
    )
    def test_anything_else_is_a_422_naming_the_cursor(self, cursor: str) -> None:
        with pytest.raises(CursorInvalid) as caught:
            decode_cursor(cursor, (datetime, uuid.UUID))
        assert caught.value.status_code == 422
        assert [f.path for f in caught.value.fields or []] == ["cursor"]

    @pytest.mark.parametrize("value", [True, 2**63, -(2**63) - 1, "7", 1.5])
    def test_integers_are_plain_bigints(self, value: object) -> None:
        with pytest.raises(CursorInvalid):
            decode_cursor(raw([value]), (int,))


class TestPageOf:
    def test_more_rows_than_the_limit_give_a_cursor_after_the_last_shown(self) -> None:
        rows = [(AT - timedelta(minutes=n), uuid.uuid4()) for n in range(4)]
        page = page_of(rows, limit=3, key=lambda r: r)
        assert page.items == rows[:3]
        assert page.limit == 3
        assert page.next_cursor is not None
        assert decode_cursor(page.next_cursor, (datetime, uuid.UUID)) == rows[2]

    @pytest.mark.parametrize("count", [0, 2, 3])
    def test_the_last_page_has_no_cursor(self, count: int) -> None:
        rows = [(AT, uuid.uuid4()) for _ in range(count)]
        page = page_of(rows, limit=3, key=lambda r: r)
        assert page.items == rows
        assert page.next_cursor is None

    def test_page_schema_names_the_item_type(self) -> None:
        schema = Page[int].model_json_schema()
        assert schema["title"] == "Page[int]"
        assert set(schema["required"]) == {"items", "limit", "next_cursor"}
