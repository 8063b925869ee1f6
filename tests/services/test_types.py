"""The shared constrained input types and the 422 body's escaping of what a client sent."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from services.errors import field_errors_from_pydantic
from services.types import QueryDatetime, SafeDate, SafeDatetime, SafeJsonDict, SafeStr, SafeText


class Shapes(BaseModel):
    line: SafeStr | None = None
    text: SafeText | None = None
    day: SafeDate | None = None
    at: SafeDatetime | None = None
    query_at: QueryDatetime | None = None
    free: SafeJsonDict | None = None


def refused(**fields: Any) -> str:
    with pytest.raises(ValidationError) as caught:
        Shapes.model_validate(fields)
    return str(caught.value.errors()[0]["loc"][0])


class TestText:
    @pytest.mark.parametrize("value", ["a\x00b", "\ud800", "low \udfff", "tab\there", "new\nline"])
    def test_a_single_line_refuses_control_and_unencodable_characters(self, value: str) -> None:
        assert refused(line=value) == "line"

    @pytest.mark.parametrize("value", ["a\x00b", "\ud83d", "bell\x07", "esc\x1b"])
    def test_free_text_refuses_nul_surrogates_and_other_controls(self, value: str) -> None:
        assert refused(text=value) == "text"

    def test_free_text_keeps_line_breaks_and_tabs_and_any_real_character(self) -> None:
        value = "Line one\r\nline two\n\ttabbed: Zoë 😀 ١٢٣"
        assert Shapes(text=value).text == value
        assert (
            Shapes.model_validate({"line": "Zoë O'Brien-Smith 😀"}).line == "Zoë O'Brien-Smith 😀"
        )


class TestCalendarEdges:
    @pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"])
    def test_dates_outside_the_products_calendar_are_refused(self, value: str) -> None:
        assert refused(day=value) == "day"

    def test_the_bounds_themselves_are_accepted(self) -> None:
        assert Shapes.model_validate({"day": "1900-01-01"}).day == date(1900, 1, 1)
        assert Shapes.model_validate({"day": "2999-12-31"}).day == date(2999, 12, 31)

    @pytest.mark.parametrize(
        "value",
        [
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T23:59:59+23:59",
            "0001-01-01T00:00:00+01:00",
            "0001-01-01T00:00:00-01:00",
            "2999-12-31T23:30:00-01:00",  # inside the bounds locally, past them in UTC
        ],
    )
    def test_times_whose_utc_form_is_outside_are_refused(self, value: str) -> None:
        assert refused(at=value) == "at"
        assert refused(query_at=value) == "query_at"

    def test_a_body_time_needs_an_offset_and_a_query_time_reads_naive_as_utc(self) -> None:
        assert refused(at="2026-01-01T00:00:00") == "at"
        parsed = Shapes.model_validate({"query_at": "2026-01-01T00:00:00"}).query_at
        assert parsed is not None
        assert parsed.utcoffset() is not None
        assert Shapes.model_validate(
            {"at": "2026-01-01T00:00:00+05:30"}
        ).at == datetime.fromisoformat("2026-01-01T00:00:00+05:30")


class TestFreeJson:
    @pytest.mark.parametrize(
        "value",
        [
            {"a": "x\x00"},
            {"a\x00": 1},
            {"a": ["\ud800"]},
            {"a": {"b": [{"c": "\x00"}]}},
            {"a": 2**63},
            {"a": -(2**64)},
        ],
    )
    def test_what_jsonb_cannot_hold_is_refused(self, value: dict[str, Any]) -> None:
        assert refused(free=value) == "free"

    def test_ordinary_json_passes_unchanged(self) -> None:
        value = {"a": [1, 2.5, True, None, "line\nbreak"], "b": {"c": 2**62}}
        assert Shapes(free=value).free == value


class TestErrorPaths:
    def test_a_path_quoting_a_clients_key_is_escaped_and_bounded(self) -> None:
        errors = [{"loc": ("body", "\ud800\x00", "x" * 500), "msg": "bad \x00"}]
        [field] = field_errors_from_pydantic(errors)
        assert field.path.startswith("\\ud800\\u0000.xxx")
        assert len(field.path) == 200
        assert field.reason == "bad \\u0000"
        field.model_dump_json().encode("utf-8")  # encodable: no 500 rendering the 422
