"""The scorecard and the census return: definitions applied to the repository's counts.

Every read is audited (one row per report read, naming the council, never a child).
Nothing here commits: the request's session does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import structlog
from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal
from triage.council import repository as council_repository
from triage.council.config import load_council
from triage.reports import indicators, repository
from triage.reports.exceptions import BadPeriod
from triage.reports.indicators import Indicator
from triage.reports.operational import population_rate
from triage.reports.periods import (
    Period,
    day_errors,
    period_of,
    previous,
    range_errors,
    resolve,
)
from triage.reports.schemas import (
    ContactCounts,
    CountRow,
    EncompassCounts,
    IndicatorRead,
    NfaReason,
    PeriodRead,
    PreviousValue,
    ScorecardReport,
)

log = structlog.get_logger(__name__)
SERVICE = "triage"
NFA_REASONS_TOP = 10  # the commonest reasons per contact type; the rest are in the records
NOT_INCLUDED: list[str] = []


async def audit_read(
    session: AsyncSession, principal: Principal | None, action: str, entity: str
) -> None:
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action=action,
        entity_type="report",
        entity_id=entity,
    )


def _period_read(p: Period) -> PeriodRead:
    return PeriodRead(
        first_day=p.first_day, last_day=p.last_day, start=p.start, end=p.end, days=p.days
    )


# An indicator's figures are keyed by (name, contact type, lane): the lane only for contacts
# not yet decided ("undecided"), which are split by lane, never lumped together.
RatioKey = tuple[str, str | None, str | None]


class _Figures:
    """One period's raw counts, keyed for comparison with the period before."""

    def __init__(self) -> None:
        self.ratios: dict[RatioKey, tuple[int, int]] = {}
        self.counts = ContactCounts(decided_by_type={}, undecided_by_lane={})
        self.outcomes: dict[tuple[str, str], int] = {}
        self.dv: dict[tuple[str, str], int] = {}
        self.encompass = EncompassCounts(notifications=0, to_schools=0, to_ehe_officer=0)
        self.referred_children = 0  # children on decided referrals (the census's count)
        self.nfa_reasons: list[NfaReason] = []


class _Alerts:
    """No Encompass alerts in a period (the query returns no row for it)."""

    notifications = to_schools = to_ehe_officer = with_deadline = 0
    before_school_day = acknowledged = welfare_checked = 0


_NO_ALERTS: Any = _Alerts()
_PER_TYPE_FIELDS = {
    "decided_within_one_working_day": ("decided_1wd", "with_decision_clock"),
    "completed_within_24_hours": ("completed_24h", "with_24h_clock"),
    "completed_within_48_hours": ("completed_48h", "with_48h_clock"),
    "consent_recorded_for_decision": ("consent", "decided"),
    "child_voice_recorded": ("voice", "decided"),
    "feedback_given": ("feedback", "want_feedback"),
    "nfa_reason_recorded": ("nfa_with_reason", "nfa"),
}


def _per_type(figs: dict[bool, _Figures], rows: Sequence[Any]) -> dict[bool, int]:
    """Each indicator whose counts are in these rows, per period and contact type."""
    decided = {True: 0, False: 0}
    for row in rows:
        fields = row._mapping
        decided[row.current] += fields.get("decided", 0)
        for name, (num, den) in _PER_TYPE_FIELDS.items():
            if num in fields:
                key = (name, row.contact_type, fields.get("lane"))
                figs[row.current].ratios[key] = (fields[num], fields[den])
    return decided


def _tallies(figs: dict[bool, _Figures], rows: Sequence[Row[Any]]) -> None:
    for row in rows:
        fig = figs[row.current]
        counts = fig.counts.decided_by_type if row.decided else fig.counts.undecided_by_lane
        group = (row.contact_type if row.decided else row.lane) or "not_recorded"
        counts[group] = counts.get(group, 0) + row.n
        if row.decided:
            key = (row.contact_type or "not_recorded", row.outcome or "not_recorded")
            fig.outcomes[key] = fig.outcomes.get(key, 0) + row.n
        if row.dv_risk is not None:
            dv_key = (row.dv_risk, row.outcome if row.decided else "undecided")
            fig.dv[dv_key] = fig.dv.get(dv_key, 0) + row.n


_QUALITY = ("consent", "voice", "want_feedback", "feedback")


def _quality(tallies: Sequence[Row[Any]]) -> list[Any]:
    """The decided contacts' quality counts per period and contact type, summed over lanes
    and outcomes (NFA ones for the NFA-reason indicator)."""
    sums: dict[tuple[bool, str | None], dict[str, Any]] = {}
    for row in tallies:
        if not row.decided:
            continue
        key = (row.current, row.contact_type)
        out = sums.setdefault(
            key, {"current": row.current, "contact_type": row.contact_type, "decided": 0,
                  "nfa": 0, "nfa_with_reason": 0, **dict.fromkeys(_QUALITY, 0)},
        )  # fmt: skip
        out["decided"] += row.n
        for name in _QUALITY:
            out[name] += getattr(row, name)
        if row.outcome == "nfa":
            out["nfa"] += row.n
            out["nfa_with_reason"] += row.with_nfa_reason
    return [_Sums(v) for v in sums.values()]


class _Sums:
    """A summed row, read like a database row by `_per_type`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._mapping = values
        self.current = values["current"]
        self.contact_type = values["contact_type"]


def _encompass(fig: _Figures, row: Row[Any]) -> None:
    fig.encompass = EncompassCounts(
        notifications=row.notifications,
        to_schools=row.to_schools,
        to_ehe_officer=row.to_ehe_officer,
    )
    fig.ratios[("encompass_delivered_before_school_day", None, None)] = (
        row.before_school_day,
        row.with_deadline,
    )
    fig.ratios[("encompass_acknowledged", None, None)] = (row.acknowledged, row.to_schools)
    fig.ratios[("encompass_welfare_check_recorded", None, None)] = (
        row.welfare_checked,
        row.to_schools,
    )


async def _figures(
    session: AsyncSession, council_id: str, period: Period, before: Period, now: datetime
) -> dict[bool, _Figures]:
    """The period's figures (True) and the previous period's (False), read together; `now`
    decides which clocks are measurable yet (met, or their deadline has passed)."""
    figs = {True: _Figures(), False: _Figures()}
    args = (council_id, before.start, period.start, period.end)
    both = repository.both_periods
    _per_type(figs, await both(session, repository.TIMELINESS_SQL, *args, now=now))
    tallies = await both(session, repository.TALLIES_SQL, *args)
    _tallies(figs, tallies)
    decided = _per_type(figs, _quality(tallies))
    # Per child on each decided referral (as the census counts them): re-referrals, and the
    # children behind referrals per 10,000 children.
    for row in await both(session, repository.RE_REFERRALS_SQL, *args):
        figs[row.current].referred_children = row.referrals
        key = ("re_referral_within_12_months", "referral", None)
        figs[row.current].ratios[key] = (row.re_referrals, row.referrals)
    for current, fig in figs.items():
        # Per contact: decided referrals of the decided contacts.
        referrals = fig.counts.decided_by_type.get("referral", 0)
        fig.ratios[("contact_to_referral_conversion", None, None)] = (referrals, decided[current])
        _encompass(fig, _NO_ALERTS)
        for rag in indicators.MASH_RAGS:  # every RAG shown, with no data when none screened
            fig.ratios[(f"mash_{rag}_met_within_timescale", None, None)] = (0, 0)
    for row in await both(session, repository.ENCOMPASS_SQL, *args, now=now):
        _encompass(figs[row.current], row)
    for row in await both(session, repository.MASH_SQL, *args, now=now):
        if row.rag in indicators.MASH_RAGS:
            figs[row.current].ratios[(f"mash_{row.rag}_met_within_timescale", None, None)] = (
                row.met,
                row.screened,
            )
    return figs


async def _nfa_reasons(session: AsyncSession, council_id: str, p: Period) -> list[NfaReason]:
    found = await repository.rows(
        session, repository.NFA_REASONS_SQL, council_id, p.start, p.end, top=NFA_REASONS_TOP
    )
    return [NfaReason(contact_type=r.contact_type, reason=r.reason, count=r.n) for r in found]


def _indicator(
    ind: Indicator, key: RatioKey, now: tuple[int, int], before: tuple[int, int]
) -> IndicatorRead:
    value, was = indicators.ratio(*now), indicators.ratio(*before)
    return IndicatorRead(
        name=ind.name,
        contact_type=key[1],
        lane=key[2],
        meaning=ind.meaning,
        numerator=now[0],
        denominator=now[1],
        value=value,
        target=ind.target,
        polarity=ind.polarity,
        on_target=indicators.meets(value, ind.target, ind.polarity),
        previous=PreviousValue(numerator=before[0], denominator=before[1], value=was),
        direction=indicators.direction(value, was, ind.polarity),
        rating=indicators.rating(value, was, ind.target, ind.polarity),
    )


def _indicators(defs: dict[str, Indicator], now: _Figures, before: _Figures) -> list[IndicatorRead]:
    keys = sorted(
        set(now.ratios) | set(before.ratios),
        key=lambda k: (list(defs).index(k[0]), k[1] or "", k[2] or ""),
    )
    return [
        _indicator(defs[key[0]], key, now.ratios.get(key, (0, 0)), before.ratios.get(key, (0, 0)))
        for key in keys
    ]


def _targets(settings: dict[str, Any]) -> dict[str, Indicator]:
    """The indicators with the council's own targets; `kpi_targets` that is not a mapping of
    indicator names to numbers is ignored (logged, naming the setting) for the defaults."""
    raw = settings.get("kpi_targets")
    if raw is not None and not isinstance(raw, dict):
        log.warning("council_setting_ignored", setting="kpi_targets", reason="not_an_object")
        raw = None
    return indicators.with_targets(raw or {})


def _count_rows(
    now: dict[tuple[str, str], int], before: dict[tuple[str, str], int]
) -> list[CountRow]:
    return [
        CountRow(group=g, name=n, count=now.get((g, n), 0), previous_count=before.get((g, n), 0))
        for g, n in sorted(set(now) | set(before))
    ]


def check_period(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    out_of_range = day_errors(first, last)
    if out_of_range:
        raise BadPeriod(fields=out_of_range)
    first, last = resolve(first, last, today)
    errors = range_errors(first, last, today)
    if errors:
        raise BadPeriod(fields=errors)
    return first, last


async def scorecard(
    session: AsyncSession,
    *,
    principal: Principal,
    first: date | None,
    last: date | None,
    now: datetime | None = None,
) -> ScorecardReport:
    """The scorecard for a period of whole local days, with the period before it."""
    now = now or datetime.now(UTC)
    council = await load_council(session, principal.council_id)
    zone = council.calendar.zone
    first, last = check_period(first, last, now.astimezone(zone).date())
    period = period_of(first, last, zone)
    before = previous(period, zone)
    await audit_read(session, principal, "report.scorecard", principal.council_id)
    await repository.tune_for_reports(session)
    figs = await _figures(session, principal.council_id, period, before, now)
    fig_now, fig_before = figs[True], figs[False]
    settings = await council_repository.settings(session, principal.council_id)
    defs = _targets(settings)
    pop = council.child_population
    rate = population_rate(fig_now.referred_children, pop, period.start, period.end)
    was = population_rate(fig_before.referred_children, pop, before.start, before.end)
    return ScorecardReport(
        generated_at=now,
        period=_period_read(period),
        previous_period=_period_read(before),
        contacts=fig_now.counts,
        previous_contacts=fig_before.counts,
        indicators=_indicators(defs, fig_now, fig_before),
        outcomes=_count_rows(fig_now.outcomes, fig_before.outcomes),
        nfa_reasons=await _nfa_reasons(session, principal.council_id, period),
        dv_notifications=_count_rows(fig_now.dv, fig_before.dv),
        encompass=fig_now.encompass,
        previous_encompass=fig_before.encompass,
        # Per child on a referral (as the CIN census counts them), not per contact; annualised
        # for the direction (the two periods are the same length in days, not always in hours).
        referrals_per_10000_children=rate,
        previous_referrals_per_10000_children=was,
        referrals_per_10000_children_direction=indicators.direction(
            rate.per_10000_children_annualised if rate else None,
            was.per_10000_children_annualised if was else None,
            indicators.NEUTRAL,
        ),
        not_included=NOT_INCLUDED,
    )
