"""How the triage pages word things (pure): lane and outcome names, a clock's time left."""

from __future__ import annotations

from datetime import datetime

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
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, BAR_AREA = 22, 8, 330, 300


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
