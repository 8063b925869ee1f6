"""The council's MASH configuration (pure): RAG timescales, partner agencies, check times.

Read from the council calendar row's `settings["mash"]`; every part has a default taken from
a published police MASH procedure (domain §5a): red within 4 hours worked to completion (so
it runs outside office hours too), amber within 24 working hours, green within 72 working
hours. Partner checks are due within half of the contact's timescale, counted from the
request in the same unit, so the partners' answers arrive before the MASH must decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.calendar import WorkingCalendar

Rag = Literal["red", "amber", "green"]
TimeUnit = Literal["working_hours", "elapsed_hours"]


@dataclass(frozen=True)
class Timescale:
    hours: float
    unit: TimeUnit

    def due(self, start: datetime, calendar: WorkingCalendar) -> datetime:
        if self.unit == "elapsed_hours":
            return calendar.add_hours(start, self.hours)
        return calendar.add_working_hours(start, self.hours)


DEFAULT_RAG_TIMESCALES: dict[str, Timescale] = {
    "red": Timescale(4, "elapsed_hours"),
    "amber": Timescale(24, "working_hours"),
    "green": Timescale(72, "working_hours"),
}
DEFAULT_CHECK_TIMESCALES: dict[str, Timescale] = {
    "red": Timescale(2, "elapsed_hours"),
    "amber": Timescale(12, "working_hours"),
    "green": Timescale(36, "working_hours"),
}
# The agencies co-located in a typical MASH (id -> name); councils list their own.
DEFAULT_PARTNER_AGENCIES: dict[str, str] = {
    "police": "Police",
    "health": "Health",
    "education": "Education",
    "probation": "Probation",
    "housing": "Housing",
    "adult_services": "Adult social care",
}


@dataclass(frozen=True)
class MashConfig:
    calendar: WorkingCalendar
    rag_timescales: dict[str, Timescale]
    check_timescales: dict[str, Timescale]
    partner_agencies: dict[str, str]

    def contact_due(self, rag: str, received_at: datetime) -> datetime:
        return self.rag_timescales[rag].due(received_at, self.calendar)

    def check_due(self, rag: str, requested_at: datetime) -> datetime:
        return self.check_timescales[rag].due(requested_at, self.calendar)


def _timescales(raw: object, default: dict[str, Timescale]) -> dict[str, Timescale]:
    out = dict(default)
    if not isinstance(raw, dict):
        return out
    for rag, spec in raw.items():
        if rag in out and isinstance(spec, dict):
            unit = spec.get("unit", "working_hours")
            hours = spec.get("hours")
            if unit in ("working_hours", "elapsed_hours") and isinstance(hours, int | float):
                if hours > 0:
                    out[rag] = Timescale(float(hours), unit)
    return out


def _agencies(raw: object) -> dict[str, str]:
    if not isinstance(raw, list) or not raw:
        return dict(DEFAULT_PARTNER_AGENCIES)
    out = {}
    for item in raw:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            out[item["id"]] = str(item.get("name") or item["id"])
    return out or dict(DEFAULT_PARTNER_AGENCIES)


def mash_config_from(calendar: WorkingCalendar, raw: dict[str, Any]) -> MashConfig:
    """The MASH configuration from the council's `settings` (defaults where absent)."""
    mash = raw.get("mash") if isinstance(raw.get("mash"), dict) else {}
    assert isinstance(mash, dict)
    return MashConfig(
        calendar=calendar,
        rag_timescales=_timescales(mash.get("rag_timescales"), DEFAULT_RAG_TIMESCALES),
        check_timescales=_timescales(mash.get("check_timescales"), DEFAULT_CHECK_TIMESCALES),
        partner_agencies=_agencies(mash.get("partner_agencies")),
    )
