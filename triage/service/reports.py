"""Reports for managers (domain §5): in progress, unallocated over 7 days, KPI scorecard.

Contact types are never counted together: every timeliness and quality KPI is reported per
decided contact type (Bradford's audit found mixing them distorted the figures).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar
from services.models.triage import OPEN_STATUSES, TriageContact
from triage.schemas.reports import (
    InProgressReport,
    InProgressRow,
    Kpi,
    PopulationRate,
    Scorecard,
)

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


async def _listed(
    session: AsyncSession, stmt: Select[TriageContact], now: datetime
) -> InProgressReport:
    """The first REPORT_ROW_LIMIT rows, oldest first, and the count of all of them."""
    count = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    found = await session.scalars(stmt.order_by(TriageContact.received_at).limit(REPORT_ROW_LIMIT))
    return InProgressReport(
        generated_at=now, count=int(count or 0), rows=[_row(c, now) for c in found.all()]
    )


async def in_progress(session: AsyncSession, *, council_id: str, now: datetime) -> InProgressReport:
    stmt = select(TriageContact).where(
        TriageContact.council_id == council_id, TriageContact.status.in_(OPEN_STATUSES)
    )
    return await _listed(session, stmt, now)


async def _decided_days(session: AsyncSession, council_id: str) -> int:
    settings = await session.scalar(
        select(CouncilCalendar.settings).where(CouncilCalendar.council_id == council_id)
    )
    raw = (settings or {}).get("unallocated_decided_days")
    ok = isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 366
    return raw if ok else UNALLOCATED_DECIDED_DAYS  # type: ignore[return-value]


async def unallocated(session: AsyncSession, *, council_id: str, now: datetime) -> InProgressReport:
    c = TriageContact
    decided_since = now - timedelta(days=await _decided_days(session, council_id))
    stmt = select(c).where(
        c.council_id == council_id,
        c.assigned_to.is_(None),
        c.received_at <= now - UNALLOCATED_AFTER,
        (c.status.in_(OPEN_STATUSES))
        | ((c.contact_type == "referral") & (c.decided_at >= decided_since)),
    )
    return await _listed(session, stmt, now)


_KPI_SQL = text(
    """
    SELECT c.contact_type AS contact_type,
      count(*) AS decided,
      count(*) FILTER (WHERE d.met_at IS NOT NULL AND d.breached_at IS NULL) AS on_time_1wd,
      count(*) FILTER (WHERE h.met_at IS NOT NULL AND h.breached_at IS NULL) AS on_time_24h,
      count(*) FILTER (WHERE c.consent_state IS NOT NULL) AS consent,
      count(*) FILTER (WHERE c.child_voice_present) AS voice,
      count(*) FILTER (WHERE c.wants_feedback) AS want_feedback,
      count(*) FILTER (WHERE c.wants_feedback AND c.feedback_given_at IS NOT NULL) AS feedback,
      count(*) FILTER (WHERE c.re_referral) AS re_referrals
    FROM triage_contacts c
    LEFT JOIN triage_clocks d ON d.contact_id = c.id AND d.kind = 'decision'
    LEFT JOIN triage_clocks h ON h.contact_id = c.id AND h.kind = 'completed_24h'
    WHERE c.council_id = :council AND c.received_at >= :start AND c.received_at < :end
      AND c.status = 'decided'
    GROUP BY c.contact_type ORDER BY c.contact_type
    """
)

_COUNT_SQL = text(
    """
    SELECT COALESCE(contact_type, 'undecided') AS contact_type, count(*) AS n
    FROM triage_contacts
    WHERE council_id = :council AND received_at >= :start AND received_at < :end
    GROUP BY 1 ORDER BY 1
    """
)


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


def _kpis_for(row: Any) -> list[Kpi]:
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
    params = {"council": council_id, "start": start, "end": end}
    counts = {r.contact_type: r.n for r in (await session.execute(_COUNT_SQL, params)).all()}
    kpis: list[Kpi] = []
    decided = 0
    for row in (await session.execute(_KPI_SQL, params)).all():
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
