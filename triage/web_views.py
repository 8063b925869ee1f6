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
