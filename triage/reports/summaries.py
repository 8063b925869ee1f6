"""The scheduled reports' emails (pure): counts, breaches, the oldest items and links.

No names, dates of birth, addresses or other identifying details, and no worker's identity:
a contact appears only by its front-door reference, lane, RAG, age and deadline, with a link
to the record for someone signed in to open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from triage.reports.schemas import InProgressReport, InProgressRow, ReportTallies

OLDEST_SHOWN = 10  # enough to act on; the full list is one click away
FOOTER = (
    "This email carries no names or identifying details. Open the links (sign-in needed) "
    "to see the records."
)


@dataclass(frozen=True)
class Email:
    subject: str
    text: str


def _when(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %d %b %H:%M")


def _tally(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "none"


def _line(row: InProgressRow, base: str, zone: ZoneInfo, in_days: bool) -> str:
    age = f"{row.age_hours / 24:.1f} days" if in_days else f"{row.age_hours:.1f} h"
    flag = "  BREACHED" if row.breached else ""
    return (
        f"  {row.reference}  {row.lane}  {row.rag}  age {age}  due {_when(row.deadline_at, zone)}"
        f"{flag}\n    {base}/contacts/{row.id}"
    )


def in_progress_email(
    report: InProgressReport,
    tallies: ReportTallies,
    *,
    base: str,
    zone: ZoneInfo,
    due_soon: timedelta,
) -> Email:
    """The counts are `tallies` (every open contact, however many); the oldest are listed."""
    rows = report.rows
    lines = [
        f"Contacts in progress at {_when(report.generated_at, zone)}",
        "",
        f"In progress: {tallies.count}",
        f"Breached (past a deadline): {tallies.breached}",
        f"Due within {due_soon.total_seconds() / 3600:g} hours: {tallies.due_soon}",
        f"Not allocated to a worker: {tallies.unallocated}",
        f"By lane: {_tally(tallies.by_lane)}",
        f"By RAG: {_tally(tallies.by_rag)}",
        "",
        f"Oldest {min(OLDEST_SHOWN, len(rows))}:",
        *(_line(r, base, zone, in_days=False) for r in rows[:OLDEST_SHOWN]),
        "",
        f"Full report: {base}/reports",
        "",
        FOOTER,
    ]
    subject = (
        f"Front door in progress: {tallies.count} open, {tallies.breached} breached "
        f"({_when(report.generated_at, zone)})"
    )
    return Email(subject, "\n".join(lines) + "\n")


def unallocated_email(
    report: InProgressReport, tallies: ReportTallies, *, base: str, zone: ZoneInfo
) -> Email:
    """The counts are `tallies` (every matching contact); the oldest are listed."""
    rows = report.rows
    lines = [
        f"Contacts with no allocated worker 7 days after receipt, at "
        f"{_when(report.generated_at, zone)}",
        "",
        f"Unallocated over 7 days: {tallies.count}",
        f"Breached (past a deadline): {tallies.breached}",
        f"By lane: {_tally(tallies.by_lane)}",
        "",
        f"Oldest {min(OLDEST_SHOWN, len(rows))}:",
        *(_line(r, base, zone, in_days=True) for r in rows[:OLDEST_SHOWN]),
        "",
        f"Full report: {base}/reports",
        "",
        FOOTER,
    ]
    subject = (
        f"Front door unallocated over 7 days: {tallies.count} ({_when(report.generated_at, zone)})"
    )
    return Email(subject, "\n".join(lines) + "\n")
