"""The front door's alert emails: pure, nothing identifying.

An alert names a contact by its front-door reference and links to it; the person who opens the
link signs in to see the child. Never a child's name, date of birth, address or identifier.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

# The clocks in plain words (the kinds are triage's: triage.clocks.rules.RULES).
CLOCK_WORDS = {
    "written_follow_up": "written follow-up of a phone referral (24 hours)",
    "decision": "front-door decision (one working day)",
    "completed_24h": "contact completed (24 hours)",
    "all_contacts_48h": "contact processed (48 hours)",
    "feedback": "feedback to the referrer (one working day)",
    "unallocated": "worker allocated (7 days)",
    "assessment": "assessment authorised (45 working days)",
    "icpc": "initial child protection conference (15 working days)",
}

_HEADINGS = (
    ("breached", "Deadlines missed"),
    ("due_soon", "Due soon"),
    ("follow_up_overdue", "Written follow-ups overdue, no referrer email: please phone them"),
)


@dataclass(frozen=True)
class AlertLine:
    kind: str  # breached | due_soon | follow_up_overdue
    clock_kind: str | None
    contact_id: uuid.UUID
    contact_reference: str | None
    deadline_at: datetime | None


def _when(at: datetime | None, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%a %d %b %Y %H:%M") if at else "not set"


def _line(item: AlertLine, zone: str, link: Callable[[uuid.UUID], str]) -> str:
    what = CLOCK_WORDS.get(item.clock_kind or "", item.clock_kind or "written follow-up")
    reference = item.contact_reference or str(item.contact_id)
    return f"- {reference}: {what}, due {_when(item.deadline_at, zone)}\n  {link(item.contact_id)}"


def duty_manager_email(
    items: Sequence[AlertLine], *, zone: str, link: Callable[[uuid.UUID], str]
) -> tuple[str, str]:
    """One email for everything due at once: sections per kind, each contact by reference."""
    counts = {kind: sum(i.kind == kind for i in items) for kind, _ in _HEADINGS}
    parts = [f"{n} {kind.replace('_', ' ')}" for kind, n in counts.items() if n]
    subject = f"Front door: {', '.join(parts)}"
    lines = ["The front door's timeliness clocks need a manager's attention.", ""]
    for kind, heading in _HEADINGS:
        chosen = [i for i in items if i.kind == kind]
        if chosen:
            lines += [f"{heading} ({len(chosen)}):", *(_line(i, zone, link) for i in chosen), ""]
    lines.append("Sign in to see each contact. This email holds no personal details.")
    return subject, "\n".join(lines) + "\n"


def referrer_chase_email(
    items: Sequence[AlertLine], *, zone: str, submit_url: str
) -> tuple[str, str]:
    """To the professional who phoned: the written MARF is overdue (references only)."""
    references = [i.contact_reference or str(i.contact_id) for i in items]
    subject = f"Written referral overdue: {', '.join(references[:3])}" + (
        f" and {len(references) - 3} more" if len(references) > 3 else ""
    )
    lines = [
        "You made a phone referral to the children's front door. A phone referral must be "
        "followed up in writing (the multi-agency referral form) within 24 hours, and we have "
        "not received it for:",
        "",
        *(
            f"- {ref} (due {_when(i.deadline_at, zone)})"
            for ref, i in zip(references, items, strict=True)
        ),
        "",
        "Please submit the referral form today, marked as the follow-up to your phone call and "
        "quoting the reference above. If the child is at immediate risk, call 999.",
        "",
        f"Submit it here: {submit_url}",
    ]
    return subject, "\n".join(lines) + "\n"
