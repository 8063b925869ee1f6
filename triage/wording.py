"""How the triage pages word things (pure): lane and outcome names, a clock's time left."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

LANE_NAMES = {
    "mash": "MASH",
    "dv_screening": "DV screening",
    "early_help": "Early help",
    "lado": "LADO",
    "advice": "Advice",
    "out_of_hours": "Out of hours",
}
OUTCOME_NAMES = {
    "nfa": "No further action",
    "advice_given": "Advice given",
    "signposted": "Signposted",
    "early_help": "Early help",
    "family_support": "Family support",
    "referral_to_other_agency": "Referral to another agency",
    "lado": "LADO",
    "s17_assessment": "Section 17 assessment",
    "strategy_discussion": "Strategy discussion",
    "s47_enquiry": "Section 47 enquiry",
    "immediate_protection": "Immediate protection",
}


def time_left(deadline: datetime, now: datetime) -> str:
    """'3 h 20 min left' or '2 h 5 min overdue' (days once it is more than two days)."""
    seconds = int((deadline - now).total_seconds())
    suffix = "left" if seconds >= 0 else "overdue"
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days >= 2:
        text = f"{days} days"
    elif days or hours:
        text = f"{days * 24 + hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return f"{text} {suffix}"


# A horizontal bar chart's geometry, in SVG user units.
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, BAR_AREA = 22, 8, 420, 280


def bar_chart(
    rows: list[tuple[str, int]], *, title: str, maximum: int | None = None
) -> dict[str, object]:
    """What the SVG template draws: one bar per row, scaled to the largest (or `maximum`)."""
    top = max([maximum or 0, *(value for _, value in rows), 1])
    bars = [
        {
            "label": label,
            "value": value,
            "y": i * (BAR_HEIGHT + BAR_GAP),
            "width": round(BAR_AREA * max(value, 0) / top),
        }
        for i, (label, value) in enumerate(rows)
    ]
    return {
        "title": title,
        "bars": bars,
        "label_width": LABEL_WIDTH,
        "bar_height": BAR_HEIGHT,
        "width": LABEL_WIDTH + BAR_AREA + 60,
        "height": max(len(rows), 1) * (BAR_HEIGHT + BAR_GAP),
    }


RAG_COLOURS = {"red": "red", "amber": "orange", "green": "green"}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _local(at: datetime, zone: ZoneInfo) -> str:
    t = at.astimezone(zone)
    return f"{t.day} {_MONTHS[t.month - 1]} {t.year} {t.hour:02d}:{t.minute:02d}"


def words(code: str) -> str:
    """A code as words: `s17_assessment` -> `s17 assessment`."""
    return code.replace("_", " ")


def _tag(text: str, colour: str) -> str:
    return f'<strong class="govuk-tag govuk-tag--{colour}">{escape(text)}</strong>'


def queue_row(item: Any, now: datetime, zone: ZoneInfo) -> str:
    """One queue row's HTML. Written in Python, not the template: the queue is rendered every
    few seconds on every open page, and a template's per-attribute lookups were most of the
    page's time (bench/console_queue.py). Every value is escaped."""
    subjects = ", ".join(
        escape(s.name) + (f" ({s.age})" if s.age is not None else "") for s in item.subjects
    )
    if len(item.subjects) > 1:
        subjects += f'<br><span class="govuk-body-s">Sibling group of {len(item.subjects)}</span>'
    tags = _tag(item.rag.upper(), RAG_COLOURS.get(item.rag, "grey"))
    if item.safety_floor:
        tags += " " + _tag("Immediate risk", "red")
    if item.re_referral:
        tags += " " + _tag("Re-referral", "purple")
    if item.status == "awaiting_sign_off":
        tags += " " + _tag("Awaiting sign-off", "blue")
    breaches = "".join("<br>" + _tag(f"Breached: {words(c)}", "red") for c in item.breached_clocks)
    worker = escape(item.assigned_to or "Unallocated")
    if item.lease_holder:
        worker += f'<br><span class="govuk-body-s">held by {escape(item.lease_holder)}</span>'
    ref = escape(item.reference)
    cell = '<td class="govuk-table__cell"'
    return (
        f'<tr class="govuk-table__row" data-contact="{ref}">'
        f'{cell}><a class="govuk-link" href="/contacts/{item.id}">{ref}</a><br>'
        f'<span class="govuk-body-s">{escape(words(item.kind))} · '
        f"{escape(words(item.channel))}</span></td>"
        f"{cell}>{subjects}</td>"
        f'{cell} data-sort-value="{escape(item.lane)}">'
        f"{escape(LANE_NAMES.get(item.lane, item.lane))}</td>"
        f'{cell} data-sort-value="{item.level}">{item.level}</td>'
        f"{cell}>{tags}</td>"
        f'{cell} data-sort-value="{item.deadline_at.isoformat()}">'
        f"{_local(item.deadline_at, zone)}<br>"
        f'<span class="govuk-body-s">{time_left(item.deadline_at, now)}</span>{breaches}</td>'
        f"{cell}>{worker}</td></tr>"
    )


def queue_rows(items: list[Any], now: datetime, zone: str = "Europe/London") -> Markup:
    """Every row of a page of the queue (already escaped, ready for the template)."""
    tz = ZoneInfo(zone)
    return Markup("".join(queue_row(item, now, tz) for item in items))
