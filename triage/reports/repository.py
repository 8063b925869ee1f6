"""All of the management information's SQL.

Every query reads one council's contacts received in one period through the
(council_id, received_at) index. The notifications service's tables are read, never written
(table ownership: "others may read"), and only through SQL: the triage service imports no
notifications code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar
from services.models.triage_reports import TriageAssessmentFactors, TriageReportSend

# The decision that counted: the last one made final or approved by a manager.
_LAST_DECISION = """
    LEFT JOIN LATERAL (
      SELECT x.consent_state, x.consent_reason, x.consent_given_by, x.nfa_reason,
             x.primary_need_code
      FROM triage_decisions x
      WHERE x.contact_id = c.id AND x.status IN ('final', 'approved')
      ORDER BY x.made_at DESC LIMIT 1
    ) dec ON true
"""
_IN_PERIOD = "c.council_id = :council AND c.received_at >= :start AND c.received_at < :end"

PER_TYPE_SQL = text(
    f"""
    SELECT c.contact_type AS contact_type,
      count(*) AS decided,
      count(d.id) AS with_decision_clock,
      count(*) FILTER (WHERE d.met_at <= d.deadline_at) AS decided_1wd,
      count(h.id) AS with_24h_clock,
      count(*) FILTER (WHERE h.met_at <= h.deadline_at) AS completed_24h,
      count(f.id) AS with_48h_clock,
      count(*) FILTER (WHERE f.met_at <= f.deadline_at) AS completed_48h,
      count(*) FILTER (WHERE dec.consent_state IN ('given', 'refused')
                         AND dec.consent_given_by IS NOT NULL
                       OR dec.consent_state IN ('not_sought', 'dispensed')
                         AND btrim(coalesce(dec.consent_reason, '')) <> '') AS consent,
      count(*) FILTER (WHERE c.child_voice_present) AS voice,
      count(*) FILTER (WHERE c.wants_feedback) AS want_feedback,
      count(*) FILTER (WHERE c.wants_feedback AND c.feedback_given_at IS NOT NULL) AS feedback,
      count(*) FILTER (WHERE c.outcome = 'nfa') AS nfa,
      count(*) FILTER (WHERE c.outcome = 'nfa'
                         AND btrim(coalesce(dec.nfa_reason, '')) <> '') AS nfa_with_reason
    FROM triage_contacts c
    LEFT JOIN triage_clocks d ON d.contact_id = c.id AND d.kind = 'decision'
    LEFT JOIN triage_clocks h ON h.contact_id = c.id AND h.kind = 'completed_24h'
    LEFT JOIN triage_clocks f ON f.contact_id = c.id AND f.kind = 'all_contacts_48h'
    {_LAST_DECISION}
    WHERE {_IN_PERIOD} AND c.status = 'decided'
    GROUP BY c.contact_type ORDER BY c.contact_type
    """
)

COUNTS_SQL = text(
    f"""
    SELECT c.status = 'decided' AS decided,
      CASE WHEN c.status = 'decided' THEN c.contact_type ELSE c.lane END AS grp,
      count(*) AS n
    FROM triage_contacts c WHERE {_IN_PERIOD}
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)

OUTCOMES_SQL = text(
    f"""
    SELECT c.contact_type AS grp, c.outcome AS name, count(*) AS n
    FROM triage_contacts c WHERE {_IN_PERIOD} AND c.status = 'decided'
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)

# Reasons as recorded, grouped case- and space-insensitively: the commonest per type.
NFA_REASONS_SQL = text(
    f"""
    SELECT contact_type, reason, n FROM (
      SELECT c.contact_type, lower(btrim(dec.nfa_reason)) AS reason, count(*) AS n,
        row_number() OVER (PARTITION BY c.contact_type ORDER BY count(*) DESC,
                           lower(btrim(dec.nfa_reason))) AS rank
      FROM triage_contacts c {_LAST_DECISION}
      WHERE {_IN_PERIOD} AND c.status = 'decided' AND c.outcome = 'nfa'
        AND btrim(coalesce(dec.nfa_reason, '')) <> ''
      GROUP BY 1, 2
    ) r WHERE rank <= :top ORDER BY contact_type, n DESC, reason
    """
)

# A referral is a re-referral when the same child (NHS number, UPN, or name + date of birth)
# had a decided referral in the 12 months before it was received.
_PREVIOUS_REFERRAL = """
    EXISTS (
      SELECT 1 FROM triage_subjects s JOIN triage_subjects p
        ON p.council_id = s.council_id AND p.contact_id <> s.contact_id AND {match}
      JOIN triage_contacts pc ON pc.id = p.contact_id
      WHERE s.contact_id = c.id AND pc.status = 'decided' AND pc.contact_type = 'referral'
        AND pc.received_at < c.received_at
        AND pc.received_at >= c.received_at - make_interval(months => :months)
    )
"""
_MATCHES = (
    "p.nhs_number = s.nhs_number",
    "p.upn = s.upn",
    "p.family_name_norm = s.family_name_norm AND p.given_name_norm = s.given_name_norm "
    "AND p.date_of_birth = s.date_of_birth",
)
RE_REFERRALS_SQL = text(
    f"""
    SELECT count(*) AS referrals,
      count(*) FILTER (WHERE {" OR ".join(_PREVIOUS_REFERRAL.format(match=m) for m in _MATCHES)})
        AS re_referrals
    FROM triage_contacts c
    WHERE {_IN_PERIOD} AND c.status = 'decided' AND c.contact_type = 'referral'
    """
)

DV_SQL = text(
    f"""
    SELECT coalesce(c.facts->>'dv_risk_level', 'not_recorded') AS grp,
      CASE WHEN c.status = 'decided' THEN c.outcome ELSE 'undecided' END AS name,
      count(*) AS n
    FROM triage_contacts c WHERE {_IN_PERIOD} AND c.kind = 'dv_notification'
    GROUP BY 1, 2 ORDER BY 1, 2
    """
)

# Operation Encompass alerts made in the period (the notifications service's tables).
ENCOMPASS_SQL = text(
    """
    SELECT count(*) AS notifications,
      count(*) FILTER (WHERE n.route = 'school') AS to_schools,
      count(*) FILTER (WHERE n.route = 'ehe') AS to_ehe_officer,
      count(*) FILTER (WHERE n.route = 'school' AND n.deadline_at IS NOT NULL) AS with_deadline,
      count(*) FILTER (WHERE n.route = 'school' AND n.delivered_at <= n.deadline_at)
        AS before_school_day,
      count(*) FILTER (WHERE n.route = 'school' AND n.acknowledged_at IS NOT NULL)
        AS acknowledged,
      count(*) FILTER (WHERE n.route = 'school' AND n.welfare_check_at IS NOT NULL)
        AS welfare_checked
    FROM notif_notifications n JOIN notif_incidents i ON i.id = n.incident_id
    WHERE i.council_id = :council AND n.created_at >= :start AND n.created_at < :end
    """
)


def _params(council_id: str, start: datetime, end: datetime, **more: Any) -> dict[str, Any]:
    return {"council": council_id, "start": start, "end": end, **more}


async def rows(
    session: AsyncSession, sql: Any, council_id: str, start: datetime, end: datetime, **more: Any
) -> Sequence[Row[Any]]:
    result = await session.execute(sql, _params(council_id, start, end, **more))
    return result.all()


async def council_settings(session: AsyncSession, council_id: str) -> dict[str, Any]:
    row = await session.get(CouncilCalendar, council_id)
    return dict(row.settings or {}) if row else {}


async def council_ids(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(CouncilCalendar.council_id))).all())


# --- the census return ------------------------------------------------------------------

_CENSUS_FROM = """
    FROM triage_contacts c
    LEFT JOIN triage_subjects s ON s.contact_id = c.id
    LEFT JOIN triage_clocks a ON a.contact_id = c.id AND a.kind = 'assessment'
    LEFT JOIN triage_assessment_factors af ON af.contact_id = c.id
    {decision}
    WHERE c.council_id = :council AND c.status = 'decided' AND c.contact_type = 'referral'
      AND c.received_at >= :start AND c.received_at < :end
"""
# One row per child per referral, grouped by child: the child key is the first of the
# child's subject rows in the year (NHS number, UPN, or name + date of birth, as for
# re-referrals), so LAchildID is random-derived and says nothing about the child.
CENSUS_SQL = text(
    f"""
    WITH r AS (
      SELECT c.reference, c.received_at, s.id AS subject_id, s.position, s.kind,
        s.date_of_birth,
        coalesce(c.record->'marf'->'subjects', c.record->'contact'->'subjects')
          -> s.position AS subject,
        coalesce(c.facts->>'referral_source', c.record->'contact'->>'referral_source',
                 c.record->'marf'->'referrer'->>'referral_source') AS referral_source,
        c.outcome, dec.primary_need_code, a.met_at AS assessment_met_at, af.factors,
        coalesce('n' || s.nhs_number, 'u' || s.upn,
                 'p' || s.family_name_norm || '|' || s.given_name_norm || '|' || s.date_of_birth,
                 's' || s.id::text, 'c' || c.id::text) AS child_key
      {_CENSUS_FROM.format(decision=_LAST_DECISION)}
    )
    SELECT r.*, upper(left(replace(first_value(coalesce(subject_id::text, child_key))
        OVER (PARTITION BY child_key ORDER BY received_at, subject_id), '-', ''), 10))
        AS la_child_id
    FROM r ORDER BY la_child_id, received_at, reference, position
    """
)


async def stream_census(
    session: AsyncSession, council_id: str, start: datetime, end: datetime
) -> AsyncIterator[Row[Any]]:
    """The year's rows from a server-side cursor, a batch at a time."""
    result = await session.stream(
        CENSUS_SQL.execution_options(yield_per=1000), _params(council_id, start, end)
    )
    async for row in result:
        yield row


# --- assessment factors -----------------------------------------------------------------


async def put_factors(
    session: AsyncSession, *, contact_id: uuid.UUID, factors: list[str], by: str, at: datetime
) -> TriageAssessmentFactors:
    values = {"factors": factors, "recorded_by": by, "recorded_at": at}
    await session.execute(
        insert(TriageAssessmentFactors)
        .values(contact_id=contact_id, **values)
        .on_conflict_do_update(index_elements=["contact_id"], set_=values)
    )
    row = await session.get(TriageAssessmentFactors, contact_id, populate_existing=True)
    assert row is not None
    return row


# --- scheduled sendings -----------------------------------------------------------------


async def claim_slot(
    session: AsyncSession, *, council_id: str, report: str, slot_at: datetime, now: datetime
) -> TriageReportSend | None:
    """The slot's row, newly claimed or failed earlier (to retry); None if taken or sent."""
    inserted = await session.execute(
        insert(TriageReportSend)
        .values(
            id=uuid.uuid4(),
            council_id=council_id,
            report=report,
            slot_at=slot_at,
            status="sending",
            attempts=1,
            recipients=0,
            claimed_at=now,
        )
        .on_conflict_do_nothing(index_elements=["council_id", "report", "slot_at"])
        .returning(TriageReportSend.id)
    )
    new_id = inserted.scalar_one_or_none()
    if new_id is not None:
        return await session.get(TriageReportSend, new_id)
    retried = await session.execute(
        update(TriageReportSend)
        .where(
            TriageReportSend.council_id == council_id,
            TriageReportSend.report == report,
            TriageReportSend.slot_at == slot_at,
            TriageReportSend.status == "failed",
        )
        .values(status="sending", attempts=TriageReportSend.attempts + 1, claimed_at=now)
        .returning(TriageReportSend.id)
    )
    again = retried.scalar_one_or_none()
    return None if again is None else await session.get(TriageReportSend, again)
