"""The scorecard as CSV (pure): one long table, a row per figure, so a spreadsheet can pivot it."""

from __future__ import annotations

import csv
import io

from triage.reports.schemas import ScorecardReport

FORMULA_STARTS = frozenset("=+-@\t\r")
COLUMNS = (
    "section",
    "name",
    "group",
    "numerator",
    "denominator",
    "value",
    "target",
    "polarity",
    "on_target",
    "previous_numerator",
    "previous_denominator",
    "previous_value",
    "direction",
    "rating",
    # Last, so the columns before keep their places: the lane of contacts not yet decided
    # (indicator rows of contact type "undecided", and the undecided counts by lane).
    "lane",
)


def _fmt(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # Free text (NFA reasons) must not run as a spreadsheet formula (CSV injection).
    return "'" + text if text[:1] in FORMULA_STARTS else text


def scorecard_csv(card: ScorecardReport) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(("period_from", card.period.first_day, "period_to", card.period.last_day))
    w.writerow(
        (
            "previous_from",
            card.previous_period.first_day,
            "previous_to",
            card.previous_period.last_day,
        )
    )
    w.writerow(COLUMNS)
    for i in card.indicators:
        w.writerow(
            [
                _fmt(v)
                for v in (
                    "indicator", i.name, i.contact_type, i.numerator, i.denominator, i.value,
                    i.target, i.polarity, i.on_target, i.previous.numerator,
                    i.previous.denominator, i.previous.value, i.direction, i.rating, i.lane,
                )
            ]
        )  # fmt: skip
    # section, name, group, count, previous count, polarity, direction, lane
    counts: list[tuple[str, str, str | None, object, object, str, str, str]] = []
    # Every type and lane of either period, as the JSON has them (one only in the period
    # before shows 0 now, not nothing).
    decided, was_decided = card.contacts.decided_by_type, card.previous_contacts.decided_by_type
    counts += [
        ("contacts_decided", k, "", decided.get(k, 0), was_decided.get(k, 0), "", "", "")
        for k in sorted(set(decided) | set(was_decided))
    ]
    lanes, was_lanes = card.contacts.undecided_by_lane, card.previous_contacts.undecided_by_lane
    counts += [
        ("contacts_undecided", k, "lane", lanes.get(k, 0), was_lanes.get(k, 0), "", "", k)
        for k in sorted(set(lanes) | set(was_lanes))
    ]
    counts += [
        ("outcome", r.name, r.group, r.count, r.previous_count, "", "", "") for r in card.outcomes
    ]
    counts += [
        ("dv_notification", r.name, r.group, r.count, r.previous_count, "", "", "")
        for r in card.dv_notifications
    ]
    # The commonest reasons are read for the period only: no previous count.
    counts += [
        ("nfa_reason", r.reason, r.contact_type, r.count, "", "", "", "") for r in card.nfa_reasons
    ]
    enc, was_enc = card.encompass, card.previous_encompass
    counts += [
        ("encompass", name, "", getattr(enc, name), getattr(was_enc, name), "", "", "")
        for name in ("notifications", "to_schools", "to_ehe_officer")
    ]
    rate, was = card.referrals_per_10000_children, card.previous_referrals_per_10000_children
    if rate is not None:
        # The period's rate (not annualised) beside the period before's, with the direction
        # of travel of the annualised rates (as the JSON gives it); a context measure.
        counts.append(
            (
                "rate",
                "referrals_per_10000_children",
                "",
                rate.per_10000_children,
                was.per_10000_children if was else "",
                "neutral",
                card.referrals_per_10000_children_direction,
                "",
            )
        )
    for section, name, group, n, before, polarity, direction, lane in counts:
        cells = (
            section, name, group, n, "", "", "", polarity, "", before, "", "", direction, "", lane,
        )  # fmt: skip
        w.writerow([_fmt(v) for v in cells])
    return out.getvalue()
