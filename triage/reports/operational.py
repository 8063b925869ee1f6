"""Reports for managers (domain §5): in progress, unallocated over 7 days, KPI scorecard.

Contact types are never counted together: every timeliness and quality KPI is reported per
decided contact type (Bradford's audit found mixing them distorted the figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from services.errors import FieldError
from services.models.triage import TriageContact
from triage.council import repository as council_repository
from triage.council.config import load_council
from triage.reports import repository
from triage.reports.exceptions import BadPeriod
from triage.reports.periods import MAX_PERIOD_DAYS, instant_errors
from triage.reports.schemas import (
    InProgressReport,
    InProgressRow,
    Kpi,
    PopulationRate,
    ReportTallies,
    Scorecard,
)

SERVICE = "triage"
REPORT_ROW_LIMIT = 10_000  # rows listed; the count is always the full COUNT(*)
UNALLOCATED_AFTER = timedelta(days=7)  # Birmingham scorecard
# A decided referral with no allocated worker stays on the unallocated list only while it was
# decided in the last this-many days (a council sets its own: settings
# `unallocated_decided_days`); open contacts stay on it until they are allocated or decided.
UNALLOCATED_DECIDED_DAYS = 28

# name -> (target, polarity, meaning). Targets: the audits' improved figures and the
# councils' published ambitions (Bradford 84% within 24 h, feedback 70%; re-referrals ~21%).
KPI_TARGETS: dict[str, tuple[float, str]] = {
    "within_one_working_day": (0.9, "higher_is_better"),
    "within_24_hours": (0.84, "higher_is_better"),
    "consent_recorded": (0.9, "higher_is_better"),
    "child_voice_recorded": (0.9, "higher_is_better"),
    "feedback_given": (0.7, "higher_is_better"),
    "re_referral_rate": (0.21, "lower_is_better"),
}
CONVERSION_TARGET = (0.31, "higher_is_better")  # Bradford: 9,934 referrals of 32,038 contacts

SERVICE = "triage"


def _row(contact: TriageContact, now: datetime) -> InProgressRow:
    return InProgressRow(
        id=contact.id,
        reference=contact.reference,
        lane=contact.lane,
        status=contact.status,
        rag=contact.rag,
        received_at=contact.received_at,
        age_hours=round((now - contact.received_at).total_seconds() / 3600, 1),
        deadline_at=contact.queue_deadline_at,
        breached=contact.breached,
        assigned_to=contact.assigned_to,
    )


async def in_progress(session: AsyncSession, *, council_id: str, now: datetime) -> InProgressReport:
    count, found = await repository.open_contacts(session, council_id, limit=REPORT_ROW_LIMIT)
    return InProgressReport(generated_at=now, count=count, rows=[_row(c, now) for c in found])


def _decided_days(settings: dict[str, Any]) -> int:
    raw = settings.get("unallocated_decided_days")
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 366:
        return raw
    return UNALLOCATED_DECIDED_DAYS


async def _unallocated_window(
    session: AsyncSession, council_id: str, now: datetime
) -> tuple[datetime, datetime]:
    """Received before, and (for decided referrals) decided since."""
    settings = await council_repository.settings(session, council_id)
    return now - UNALLOCATED_AFTER, now - timedelta(days=_decided_days(settings))


async def unallocated(session: AsyncSession, *, council_id: str, now: datetime) -> InProgressReport:
    received_before, decided_since = await _unallocated_window(session, council_id, now)
    count, found = await repository.unallocated_contacts(
        session,
        council_id,
        received_before=received_before,
        decided_since=decided_since,
        limit=REPORT_ROW_LIMIT,
    )
    return InProgressReport(generated_at=now, count=count, rows=[_row(x, now) for x in found])


def _summed(rows: Sequence[Row[Any]]) -> ReportTallies:
    by_lane: dict[str, int] = {}
    by_rag: dict[str, int] = {}
    for r in rows:
        by_lane[r.lane] = by_lane.get(r.lane, 0) + r.n
        by_rag[r.rag] = by_rag.get(r.rag, 0) + r.n
    return ReportTallies(
        count=sum(r.n for r in rows),
        breached=sum(r.breached for r in rows),
        due_soon=sum(r.due_soon for r in rows),
        unallocated=sum(r.unallocated for r in rows),
        by_lane=by_lane,
        by_rag=by_rag,
    )


async def in_progress_tallies(
    session: AsyncSession, *, council_id: str, now: datetime, due_soon: timedelta
) -> ReportTallies:
    """The in-progress report's counts over every open contact (the emails' figures)."""
    rows = await repository.open_tallies(session, council_id, due_before=now + due_soon)
    return _summed(rows)


async def unallocated_tallies(
    session: AsyncSession, *, council_id: str, now: datetime
) -> ReportTallies:
    """The unallocated report's counts over every matching contact."""
    received_before, decided_since = await _unallocated_window(session, council_id, now)
    rows = await repository.unallocated_tallies(
        session, council_id, received_before=received_before, decided_since=decided_since,
        due_before=now,
    )  # fmt: skip
    return _summed(rows)


def _kpi(name: str, contact_type: str | None, num: int, den: int, goal: tuple[float, str]) -> Kpi:
    target, polarity = goal
    value = round(num / den, 4) if den else None
    on_target = None
    if value is not None:
        on_target = value >= target if polarity == "higher_is_better" else value <= target
    return Kpi(
        name=name,
        contact_type=contact_type,
        numerator=num,
        denominator=den,
        value=value,
        target=target,
        polarity=polarity,  # type: ignore[arg-type]
        on_target=on_target,
    )


def _kpis_for(row: Row[Any]) -> list[Kpi]:
    t = row.contact_type
    out = [
        _kpi(
            "within_one_working_day",
            t,
            row.on_time_1wd,
            row.decided,
            KPI_TARGETS["within_one_working_day"],
        ),
        _kpi("within_24_hours", t, row.on_time_24h, row.decided, KPI_TARGETS["within_24_hours"]),
        _kpi("consent_recorded", t, row.consent, row.decided, KPI_TARGETS["consent_recorded"]),
        _kpi(
            "child_voice_recorded", t, row.voice, row.decided, KPI_TARGETS["child_voice_recorded"]
        ),
        _kpi("feedback_given", t, row.feedback, row.want_feedback, KPI_TARGETS["feedback_given"]),
    ]
    if t == "referral":
        out.append(
            _kpi(
                "re_referral_rate",
                t,
                row.re_referrals,
                row.decided,
                KPI_TARGETS["re_referral_rate"],
            )
        )
    return out


DAYS_PER_YEAR = 365.25


def population_rate(
    referrals: int, child_population: int | None, start: datetime, end: datetime
) -> PopulationRate | None:
    """Referrals per 10,000 children in the period, and scaled to a year."""
    days = (end - start).total_seconds() / 86_400
    if not child_population or days <= 0:
        return None
    rate = referrals * 10_000 / child_population
    return PopulationRate(
        referrals=referrals,
        child_population=child_population,
        period_days=round(days, 2),
        per_10000_children=round(rate, 2),
        per_10000_children_annualised=round(rate * DAYS_PER_YEAR / days, 1),
    )


async def scorecard(
    session: AsyncSession,
    *,
    council_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    child_population: int | None = None,
) -> Scorecard:
    counts = await repository.contacts_by_type(session, council_id, start, end)
    kpis: list[Kpi] = []
    decided = 0
    for row in await repository.kpi_rows(session, council_id, start, end):
        kpis += _kpis_for(row)
        decided += row.decided
    referrals = counts.get("referral", 0)
    kpis.append(_kpi("contact_to_referral_conversion", None, referrals, decided, CONVERSION_TARGET))
    return Scorecard(
        generated_at=now,
        period_from=start,
        period_to=end,
        contacts_by_type=counts,
        kpis=kpis,
        referrals_per_10000_children=population_rate(referrals, child_population, start, end),
    )


# The API's reports, each read audited (the pages call the functions above and audit
# themselves).


async def in_progress_report(session: AsyncSession, *, principal: Principal) -> InProgressReport:
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="report.in_progress",
        entity_id=principal.council_id,
    )
    return await in_progress(session, council_id=principal.council_id, now=datetime.now(UTC))


async def unallocated_report(session: AsyncSession, *, principal: Principal) -> InProgressReport:
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="report.unallocated",
        entity_id=principal.council_id,
    )
    return await unallocated(session, council_id=principal.council_id, now=datetime.now(UTC))


async def kpi_scorecard(
    session: AsyncSession,
    *,
    principal: Principal,
    period_from: datetime | None,
    period_to: datetime | None,
) -> Scorecard:
    """The KPI scorecard for a period (default: the last 28 days; at most a year)."""
    now = datetime.now(UTC)
    errors = instant_errors(period_from, period_to)
    if errors:
        raise BadPeriod(fields=errors)
    end = period_to or now
    start = period_from or end - timedelta(days=28)
    if start >= end:
        raise BadPeriod(fields=[FieldError(path="from", reason="from is not before to")])
    if end - start > timedelta(days=MAX_PERIOD_DAYS):
        raise BadPeriod(fields=[FieldError(path="from", reason="a period is at most a year")])
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="report.kpis",
        entity_id=principal.council_id,
    )
    council = await load_council(session, principal.council_id)
    return await scorecard(
        session,
        council_id=principal.council_id,
        start=start,
        end=end,
        now=now,
        child_population=council.child_population,
    )
