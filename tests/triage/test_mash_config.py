"""The council's MASH configuration: defaults, overrides, and malformed values ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.calendar import WorkingCalendar
from triage.mash.config import (
    DEFAULT_PARTNER_AGENCIES,
    DEFAULT_RAG_TIMESCALES,
    Timescale,
    mash_config_from,
)

CAL = WorkingCalendar()
MONDAY_0900 = datetime(2026, 11, 23, 9, tzinfo=UTC)


class TestMashConfig:
    def test_defaults_without_configuration(self) -> None:
        config = mash_config_from(CAL, {})
        assert config.rag_timescales == DEFAULT_RAG_TIMESCALES
        assert config.partner_agencies == DEFAULT_PARTNER_AGENCIES
        assert config.contact_due("red", MONDAY_0900) == MONDAY_0900 + timedelta(hours=4)

    def test_a_council_s_own_timescales_and_agencies(self) -> None:
        raw = {
            "mash": {
                "rag_timescales": {"green": {"hours": 40, "unit": "elapsed_hours"}},
                "partner_agencies": [{"id": "wyp", "name": "West Yorkshire Police"}],
            }
        }
        config = mash_config_from(CAL, raw)
        assert config.rag_timescales["green"] == Timescale(40, "elapsed_hours")
        assert config.rag_timescales["amber"] == DEFAULT_RAG_TIMESCALES["amber"]
        assert config.partner_agencies == {"wyp": "West Yorkshire Police"}

    @pytest.mark.parametrize(
        "spec",
        [
            {"hours": -1, "unit": "working_hours"},
            {"hours": 0},
            {"hours": "4"},
            {"hours": 4, "unit": "fortnights"},
            "four hours",
        ],
    )
    def test_a_malformed_timescale_keeps_the_default(self, spec: object) -> None:
        config = mash_config_from(CAL, {"mash": {"rag_timescales": {"amber": spec}}})
        assert config.rag_timescales["amber"] == DEFAULT_RAG_TIMESCALES["amber"]

    @pytest.mark.parametrize("raw", [{"mash": "yes"}, {"mash": {"partner_agencies": []}}])
    def test_malformed_sections_keep_the_defaults(self, raw: dict[str, object]) -> None:
        assert mash_config_from(CAL, raw).partner_agencies == DEFAULT_PARTNER_AGENCIES
