"""What the referrer is told on submission: deadlines, plain next steps, warnings. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from referral_api.schemas import ReceiptWarning
from services.contracts.marf import Marf

CALL_999 = (
    "If a child is in immediate danger, call 999 now: the front door reads referrals within "
    "office hours and this referral does not replace an emergency call."
)


@dataclass(frozen=True)
class Clocks:
    """The clocks a submission starts, in the council's zone."""

    received_at: datetime
    submitted_at: datetime
    decision_due_at: datetime
    written_follow_up_due_at: datetime | None

    @property
    def zone(self) -> ZoneInfo:
        zone = self.received_at.tzinfo
        return zone if isinstance(zone, ZoneInfo) else ZoneInfo("UTC")


_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip


def _when(at: datetime) -> str:
    """`Tuesday 24 November 2026 at 16:00`, in English whatever the process's locale."""
    day, month = _DAYS[at.weekday()], _MONTHS[at.month - 1]
    return f"{day} {at.day} {month} {at.year} at {at.hour:02d}:{at.minute:02d}"


def what_happens_next(marf: Marf, reference: str, clocks: Clocks) -> str:
    parts: list[str] = []
    if marf.immediate_risk:
        parts.append(CALL_999)
    parts.append(
        f"The front door has received referral {reference}. A social worker will screen it "
        f"and decide the next step by {_when(clocks.decision_due_at)}."
    )
    if clocks.written_follow_up_due_at is not None:
        parts.append("This written referral is the follow-up of your phone call.")
    if marf.referrer.anonymous:
        parts.append("You asked to stay anonymous, so the front door cannot tell you the outcome.")
    elif marf.referrer.wants_feedback:
        parts.append(
            f"Check GET /v1/referrals/{reference} for the status, the outcome and the front "
            "door's feedback."
        )
    parts.append(
        "Send anything you learn later as an addendum; a submitted referral is never edited."
    )
    return " ".join(parts)


def warnings_for(marf: Marf, clocks: Clocks) -> list[ReceiptWarning]:
    out: list[ReceiptWarning] = []
    if marf.child_voice_missing:
        out.append(
            ReceiptWarning(
                code="child_voice_missing",
                message="The child's voice and lived experience is missing: what the child "
                "said or did, and how they seem. Add it as an addendum if you can.",
            )
        )
    if marf.immediate_risk and not marf.emergency_services_called:
        out.append(ReceiptWarning(code="immediate_risk_without_999", message=CALL_999))
    due = clocks.written_follow_up_due_at
    if due is not None and clocks.submitted_at > due:
        out.append(
            ReceiptWarning(
                code="written_follow_up_late",
                message="This written follow-up arrived more than 24 hours after the phone call.",
            )
        )
    if marf.consent.state == "refused":
        out.append(
            ReceiptWarning(
                code="consent_refused",
                message="Consent was refused: the front door can act without it only where a "
                "child is at risk of significant harm.",
            )
        )
    return out


_REFERENCE = re.compile(r"FD-[0-9]{4}-[0-9]{6,12}")


def is_reference(value: str) -> bool:
    """The shape of a reference this service issues (anything else cannot exist)."""
    return _REFERENCE.fullmatch(value) is not None


def reference_for(year: int, number: int) -> str:
    """`FD-2026-000123`: the receipt year and the sequence number (wider past 999,999)."""
    return f"FD-{year:04d}-{number:06d}"
