"""All of the management information's SQL.

Every query reads one council's contacts received in one period through the
(council_id, received_at) index. The notifications service's tables are read, never written
(table ownership: "others may read"), and only through SQL: the triage service imports no
notifications code.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Select, TextClause, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar
from services.models.triage import OPEN_STATUSES, TriageClock, TriageContact, TriageSubject
from services.models.triage_reports import (
    TriageAssessmentFactors,
    TriageChildClosure,
    TriageChildDisabilities,
    TriageReportSend,
)

# Every scorecard query reads the period and the one before it in one pass (`current` says
# which), through the (council_id, received_at) index.
_BOTH = "c.council_id = :council AND c.received_at >= :prev_start AND c.received_at < :end"
_IN_PERIOD = "c.council_id = :council AND c.received_at >= :start AND c.received_at < :end"
# The decision that counted: a contact is decided once, so at most one of its decisions is
# final (no sign-off needed) or approved (signed off); returned ones do not count.
_DECISION = "dec.contact_id = c.id AND dec.status IN ('final', 'approved')"

# Clock rows are unique per (contact, kind): counting joined rows counts contacts. A clock is
# measurable once it was met or its deadline has passed (at :now): a contact still open past
# its deadline counts as not met (under contact type "undecided", by its lane: its type is not
# known yet, and lanes are never mixed either), so a backlog lowers the figure instead of being
# left out; an open contact whose deadline is still to come is not measurable yet and is left
# out.
_MEASURABLE = "(k.met_at IS NOT NULL OR k.deadline_at <= :now)"
TIMELINESS_SQL = text(
    f"""
    SELECT c.received_at >= :start AS current,
      CASE WHEN c.status = 'decided' THEN c.contact_type ELSE 'undecided' END AS contact_type,
      CASE WHEN c.status = 'decided' THEN NULL ELSE c.lane END AS lane,
      count(*) FILTER (WHERE k.kind = 'decision') AS with_decision_clock,
      count(*) FILTER (WHERE k.kind = 'decision' AND k.met_at <= k.deadline_at) AS decided_1wd,
      count(*) FILTER (WHERE k.kind = 'completed_24h') AS with_24h_clock,
      count(*) FILTER (WHERE k.kind = 'completed_24h' AND k.met_at <= k.deadline_at)
        AS completed_24h,
      count(*) FILTER (WHERE k.kind = 'all_contacts_48h') AS with_48h_clock,
      count(*) FILTER (WHERE k.kind = 'all_contacts_48h' AND k.met_at <= k.deadline_at)
        AS completed_48h
    FROM triage_contacts c
    JOIN triage_clocks k ON k.contact_id = c.id
      AND k.kind IN ('decision', 'completed_24h', 'all_contacts_48h') AND {_MEASURABLE}
    WHERE {_BOTH} AND c.status IN ('decided', 'open', 'awaiting_sign_off')
    GROUP BY 1, 2, 3
    """
)

# Consent recorded for the decision as the Bradford audit meant it (the decision `dec`): its
# outcome and, when given or refused, who gave it; not sought or dispensed needs the reason.
# Shared by the scorecard and the deprecated /v1/reports/kpis.
CONSENT_RECORDED = (
    "(dec.consent_state IN ('given', 'refused') AND dec.consent_given_by IS NOT NULL"
    " OR dec.consent_state IN ('not_sought', 'dispensed')"
    " AND btrim(coalesce(dec.consent_reason, '')) <> '')"
)

# Contacts by state, type, lane and outcome, DV notifications by risk, and the quality counts
# of the decided ones: one small table the service sums into the scorecard (one pass).
TALLIES_SQL = text(
    f"""
    SELECT c.received_at >= :start AS current, c.status = 'decided' AS decided,
      c.contact_type, c.lane, c.outcome,
      CASE WHEN c.kind = 'dv_notification'
           THEN coalesce(c.facts->>'dv_risk_level', 'not_recorded') END AS dv_risk,
      count(*) AS n,
      count(*) FILTER (WHERE {CONSENT_RECORDED}) AS consent,
      count(*) FILTER (WHERE c.child_voice_present) AS voice,
      count(*) FILTER (WHERE c.wants_feedback) AS want_feedback,
      count(*) FILTER (WHERE c.wants_feedback AND c.feedback_given_at IS NOT NULL) AS feedback,
      count(*) FILTER (WHERE btrim(coalesce(dec.nfa_reason, '')) <> '') AS with_nfa_reason
    FROM triage_contacts c LEFT JOIN triage_decisions dec ON {_DECISION}
    WHERE {_BOTH}
    GROUP BY 1, 2, 3, 4, 5, 6
    """
)

# Reasons as recorded, grouped case- and space-insensitively: the commonest per type.
NFA_REASONS_SQL = text(
    f"""
    SELECT contact_type, reason, n FROM (
      SELECT c.contact_type, lower(btrim(dec.nfa_reason)) AS reason, count(*) AS n,
        row_number() OVER (PARTITION BY c.contact_type ORDER BY count(*) DESC,
                           lower(btrim(dec.nfa_reason))) AS rank
      FROM triage_contacts c JOIN triage_decisions dec ON {_DECISION}
      WHERE {_IN_PERIOD} AND c.status = 'decided' AND c.outcome = 'nfa'
        AND btrim(coalesce(dec.nfa_reason, '')) <> ''
      GROUP BY 1, 2
    ) r WHERE rank <= :top ORDER BY contact_type, n DESC, reason
    """
)

# Re-referrals are counted per child on each referral, as the CIN census and the DfE's
# published rate count them: a decided referral about two siblings is two referrals (one per
# subject row; a referral with no child recorded counts once, never as a re-referral), and
# each is a re-referral when that child (NHS number, UPN, or name + date of birth) had a
# decided referral in the 12 months before it was received (domain §2). For each key, a
# window over the children's referrals counts those strictly earlier and at most 12 months
# before: one sort per key instead of a join per pair. The referrals counted here are the
# children on decided referrals: the figure behind referrals per 10,000 children too.
_EARLIER = (
    "ORDER BY received_at RANGE BETWEEN interval '12 months' PRECEDING "
    "AND interval '1 microsecond' PRECEDING"
)
RE_REFERRALS_SQL = text(
    f"""
    WITH s AS (
      SELECT c.received_at, s.nhs_number, s.upn, s.family_name_norm, s.given_name_norm,
        s.date_of_birth
      FROM triage_contacts c LEFT JOIN triage_subjects s ON s.contact_id = c.id
      WHERE c.council_id = :council AND c.status = 'decided' AND c.contact_type = 'referral'
        AND c.received_at >= CAST(:prev_start AS timestamptz) - interval '12 months'
        AND c.received_at < :end
    ), w AS (
      SELECT received_at,
        CASE WHEN nhs_number IS NOT NULL
             THEN count(*) OVER (PARTITION BY nhs_number {_EARLIER}) ELSE 0 END
        + CASE WHEN upn IS NOT NULL
             THEN count(*) OVER (PARTITION BY upn {_EARLIER}) ELSE 0 END
        + CASE WHEN family_name_norm IS NOT NULL AND given_name_norm IS NOT NULL
                    AND date_of_birth IS NOT NULL
             THEN count(*) OVER (PARTITION BY family_name_norm, given_name_norm, date_of_birth
                                 {_EARLIER}) ELSE 0 END AS earlier
      FROM s
    )
    SELECT received_at >= :start AS current, count(*) AS referrals,
      count(*) FILTER (WHERE earlier > 0) AS re_referrals
    FROM w WHERE received_at >= :prev_start GROUP BY 1
    """
)

# Operation Encompass alerts made in the periods (the notifications service's tables). An
# alert to a school is due at the start of the school day (`deadline_at`): one not delivered
# whose school day has not started yet (at :now) is not measurable and is left out of
# "before the school day"; delivered late or still undelivered past it counts as not met.
# Acknowledgement and the welfare check have no due time of their own in the tables, so every
# alert to a school counts for them (documented in docs/reports.md).
ENCOMPASS_SQL = text(
    """
    SELECT n.created_at >= :start AS current,
      count(*) AS notifications,
      count(*) FILTER (WHERE n.route = 'school') AS to_schools,
      count(*) FILTER (WHERE n.route = 'ehe') AS to_ehe_officer,
      count(*) FILTER (WHERE n.route = 'school' AND n.deadline_at IS NOT NULL
                         AND (n.delivered_at IS NOT NULL OR n.deadline_at <= :now))
        AS with_deadline,
      count(*) FILTER (WHERE n.route = 'school' AND n.delivered_at <= n.deadline_at)
        AS before_school_day,
      count(*) FILTER (WHERE n.route = 'school' AND n.acknowledged_at IS NOT NULL)
        AS acknowledged,
      count(*) FILTER (WHERE n.route = 'school' AND n.welfare_check_at IS NOT NULL)
        AS welfare_checked
    FROM notif_notifications n JOIN notif_incidents i ON i.id = n.incident_id
    WHERE i.council_id = :council AND n.created_at >= :prev_start AND n.created_at < :end
    GROUP BY 1
    """
)

# Contacts received in the periods and screened (they have a MASH clock), per the contact's
# latest RAG rating: met within the timescale when the clock was met by its deadline; met
# late or breached (running past its deadline) counts in the denominator only; a clock still
# running whose deadline is still to come (at :now) is not measurable yet and is left out.
# Only a screening rating starts the MASH clock, and every rating sets `triage_contacts.rag`
# (which a re-evaluation of the rules never overrides once rated: triage.intake), so on these
# contacts `c.rag` is the latest rating; reading it saves a lookup per contact in
# mash_rag_ratings (a quarter of the scorecard's time at Bradford's size).
MASH_SQL = text(
    f"""
    SELECT c.received_at >= :start AS current, c.rag, count(*) AS screened,
      count(*) FILTER (WHERE k.met_at IS NOT NULL AND k.met_at <= k.deadline_at) AS met
    FROM triage_contacts c
    JOIN triage_clocks k ON k.contact_id = c.id AND k.kind = 'mash' AND {_MEASURABLE}
    WHERE {_BOTH}
    GROUP BY 1, 2
    """
)


# For the report's own transaction: JIT compilation of these aggregate plans costs seconds,
# far more than running them (measured by bench/reports.py: 4.4 s of JIT on a 7.5 s query);
# and the year's sorts and hashes fit in memory instead of spilling to disk.
REPORT_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '32MB'")


async def tune_for_reports(session: AsyncSession) -> None:
    for statement in REPORT_SETTINGS:
        await session.execute(text(statement))


def _params(council_id: str, start: datetime, end: datetime, **more: object) -> dict[str, Any]:
    return {"council": council_id, "start": start, "end": end, **more}


async def both_periods(
    session: AsyncSession, sql: TextClause, council_id: str, prev_start: datetime,
    start: datetime, end: datetime, **more: object,
) -> Sequence[Row[Any]]:  # fmt: skip
    """Rows for the period (`current` true) and the one just before it (false)."""
    params = _params(council_id, start, end, prev_start=prev_start, **more)
    return (await session.execute(sql, params)).all()


async def rows(
    session: AsyncSession,
    sql: TextClause,
    council_id: str,
    start: datetime,
    end: datetime,
    **more: object,
) -> Sequence[Row[Any]]:
    result = await session.execute(sql, _params(council_id, start, end, **more))
    return result.all()


async def council_ids(session: AsyncSession) -> list[str]:
    return list((await session.scalars(select(CouncilCalendar.council_id))).all())


async def council_count(session: AsyncSession) -> int:
    """How many councils the deployment serves (their calendar rows)."""
    return int(await session.scalar(select(func.count()).select_from(CouncilCalendar)) or 0)


# --- the census return ------------------------------------------------------------------

_CENSUS_DECISION = f"LEFT JOIN triage_decisions dec ON {_DECISION}"
_CENSUS_FROM = """
    FROM triage_contacts c
    LEFT JOIN triage_subjects s ON s.contact_id = c.id
    LEFT JOIN mash_child_links l ON l.contact_id = c.id AND l.subject_position = s.position
    LEFT JOIN triage_clocks a ON a.contact_id = c.id AND a.kind = 'assessment'
    LEFT JOIN LATERAL (
      SELECT f.factors, f.child FROM triage_assessment_factors f
      WHERE f.contact_id = c.id AND f.child IN (0, s.position + 1)
      ORDER BY f.child DESC LIMIT 1
    ) af ON true
    LEFT JOIN triage_child_disabilities cd ON cd.contact_id = c.id AND cd.child = s.position + 1
    LEFT JOIN triage_child_closures cc ON cc.contact_id = c.id AND cc.child = s.position + 1
    {decision}
    LEFT JOIN LATERAL (
      SELECT e AS line FROM jsonb_array_elements(
        CASE WHEN jsonb_typeof(dec.children) = 'array' THEN dec.children END) e
      WHERE e->>'position' = s.position::text LIMIT 1
    ) cl ON true
    WHERE c.council_id = :council AND c.status = 'decided' AND c.contact_type = 'referral'
      AND c.received_at >= :start AND c.received_at < :end
"""
# A uuid as a number below 36**10 (census.LA_CHILD_ID_SPACE): its first 13 hex digits (52
# bits), reduced; census.la_child_id writes it as the 10-character LAchildID.
_LA_CHILD_NUMBER = (
    "(('x' || left(replace({uuid}::text, '-', ''), 13))::bit(52)::bigint % 3656158440062976)"
)
# One row per child per referral, grouped by child. The child is the MASH child record the
# subject is linked to (mash_child_links, set at intake: triage/children/linking.py) when
# there is one: LAchildID is then derived from that record's id, the same in every year and
# whichever identifier the referral carried. Otherwise (no link) the child key is the first
# of the child's subject rows in the year (NHS number, UPN, or name + date of birth, as for
# re-referrals) and LAchildID is derived from that row's id. Either way it is random-derived
# and says nothing about the child. Two different children that would share an LAchildID
# are flagged (`la_child_id_clash`): a census failure, never merged. The outcome and primary
# need code are the child's own line of the decision (`dec.children`, by subject position)
# when it has one, else the decision's; `factors_child` says whose factors were read (0: the
# contact's). `disabilities` are the child's own, recorded for this child on this contact, and
# so is the closure of the child's episode (`closed_on`, `closure_reason`).
CENSUS_SQL = text(
    f"""
    WITH r AS (
      SELECT c.id AS contact_id, c.reference, c.received_at, s.id AS subject_id, s.position,
        s.kind, s.date_of_birth,
        coalesce(c.record->'subjects', c.record->'marf'->'subjects',
                 c.record->'contact'->'subjects') -> s.position AS subject,
        coalesce(c.facts->>'referral_source', c.record->'contact'->>'referral_source',
                 c.record->'marf'->'referrer'->>'referral_source') AS referral_source,
        coalesce(cl.line->>'outcome', c.outcome) AS outcome,
        CASE WHEN cl.line IS NOT NULL THEN cl.line->>'primary_need_code'
             ELSE dec.primary_need_code END AS primary_need_code,
        a.met_at AS assessment_met_at, a.started_at AS assessment_started_at, s.upn,
        af.factors, af.child AS factors_child, l.child_id AS mash_child_id,
        cd.disabilities, cd.recorded_at AS disabilities_recorded_at,
        cc.closed_on, cc.reason AS closure_reason,
        coalesce('m' || l.child_id::text, 'n' || s.nhs_number, 'u' || s.upn,
                 'p' || s.family_name_norm || '|' || s.given_name_norm || '|' || s.date_of_birth,
                 's' || s.id::text, 'c' || c.id::text) AS child_key
      {_CENSUS_FROM.format(decision=_CENSUS_DECISION)}
    ), k AS (
      SELECT r.*, CASE
        WHEN mash_child_id IS NOT NULL THEN {_LA_CHILD_NUMBER.format(uuid="mash_child_id")}
        ELSE {
        _LA_CHILD_NUMBER.format(
            uuid="first_value(coalesce(subject_id, contact_id)) "
            "OVER (PARTITION BY child_key "
            "ORDER BY received_at, subject_id)"
        )
    }
        END AS la_child_number
      FROM r
    )
    SELECT k.*, min(child_key) OVER (PARTITION BY la_child_number)
        <> max(child_key) OVER (PARTITION BY la_child_number) AS la_child_id_clash
    FROM k ORDER BY la_child_number, received_at, reference, position
    """
)

# Contacts received in the year that are not decided yet: open ones (any may yet be decided
# as a referral) and those awaiting sign-off of a referral decision (census failure FD03).
CENSUS_UNDECIDED_SQL = text(
    """
    SELECT c.reference FROM triage_contacts c
    WHERE c.council_id = :council AND c.received_at >= :start AND c.received_at < :end
      AND (c.status = 'open' OR (c.status = 'awaiting_sign_off' AND EXISTS (
        SELECT 1 FROM triage_decisions d WHERE d.contact_id = c.id
          AND d.status = 'pending_sign_off' AND d.contact_type = 'referral')))
    ORDER BY c.received_at, c.reference
    """
)


async def census_undecided(
    session: AsyncSession, council_id: str, start: datetime, end: datetime
) -> list[str]:
    result = await session.execute(CENSUS_UNDECIDED_SQL, _params(council_id, start, end))
    return list(result.scalars().all())


async def one_snapshot(session: AsyncSession) -> None:
    """Every query in the session's transaction reads the snapshot its first query takes
    (REPEATABLE READ): the census return is checked and streamed from the same data. Called
    before the transaction's first query. Inside a savepoint (the tests' shared session) the
    outer transaction's isolation holds and cannot be changed."""
    if session.in_nested_transaction():
        return
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))


async def stream_census(
    session: AsyncSession, council_id: str, start: datetime, end: datetime
) -> AsyncIterator[Row[Any]]:
    """The year's rows from a server-side cursor, a batch at a time."""
    result = await session.stream(
        CENSUS_SQL.execution_options(yield_per=1000), _params(council_id, start, end)
    )
    # A batch per await: iterating the async result row by row costs a greenlet switch a row.
    async for batch in result.partitions(1000):
        for row in batch:
            yield row


# --- assessment factors -----------------------------------------------------------------


async def has_assessment_clock(session: AsyncSession, contact_id: uuid.UUID) -> bool:
    """Whether the contact's assessment clock was started (it went to assessment)."""
    found = await session.scalar(
        select(TriageClock.id).where(
            TriageClock.contact_id == contact_id, TriageClock.kind == "assessment"
        )
    )
    return found is not None


async def child_count(session: AsyncSession, contact_id: uuid.UUID) -> int:
    query = select(func.count()).where(TriageSubject.contact_id == contact_id)
    return int(await session.scalar(query) or 0)


_ChildRow = TypeVar(
    "_ChildRow", TriageAssessmentFactors, TriageChildDisabilities, TriageChildClosure
)


async def _put_child_row(
    session: AsyncSession,
    model: type[_ChildRow],
    contact_id: uuid.UUID,
    child: int,
    values: dict[str, Any],
) -> _ChildRow:
    """Record (or replace) one child's row on a contact: factors, disability codes or the
    closure of the child's episode are each one row per (contact, child)."""
    await session.execute(
        insert(model)
        .values(contact_id=contact_id, child=child, **values)
        .on_conflict_do_update(index_elements=["contact_id", "child"], set_=values)
    )
    row = await session.get(model, (contact_id, child), populate_existing=True)
    assert row is not None
    return row


async def put_factors(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID,
    child: int,
    factors: list[str],
    by: str,
    at: datetime,
) -> TriageAssessmentFactors:
    values = {"factors": factors, "recorded_by": by, "recorded_at": at}
    return await _put_child_row(session, TriageAssessmentFactors, contact_id, child, values)


# --- a child's disability codes ---------------------------------------------------------


async def subject_kind(session: AsyncSession, contact_id: uuid.UUID, child: int) -> str | None:
    """The kind of the contact's `child`-th subject (1-based); None: no such child."""
    query = select(TriageSubject.kind).where(
        TriageSubject.contact_id == contact_id, TriageSubject.position == child - 1
    )
    kind: str | None = await session.scalar(query)
    return kind


async def put_disabilities(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID,
    child: int,
    disabilities: list[str],
    by: str,
    at: datetime,
) -> TriageChildDisabilities:
    values = {"disabilities": disabilities, "recorded_by": by, "recorded_at": at}
    return await _put_child_row(session, TriageChildDisabilities, contact_id, child, values)


# --- the closure of a child's episode ---------------------------------------------------


async def put_closure(
    session: AsyncSession,
    *,
    contact_id: uuid.UUID,
    child: int,
    closed_on: date,
    reason: str,
    by: str,
    at: datetime,
) -> TriageChildClosure:
    values = {"closed_on": closed_on, "reason": reason, "recorded_by": by, "recorded_at": at}
    return await _put_child_row(session, TriageChildClosure, contact_id, child, values)


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


# --- the managers' reports (triage.reports.operational) -----------------------------------


async def _listed(
    session: AsyncSession, stmt: Select[TriageContact], limit: int
) -> tuple[int, Sequence[TriageContact]]:
    """The count of all the rows, and the first `limit` of them, oldest first."""
    count = await session.scalar(select(func.count()).select_from(stmt.subquery()))
    found = await session.scalars(stmt.order_by(TriageContact.received_at).limit(limit))
    return int(count or 0), found.all()


def _open(council_id: str) -> Select[TriageContact]:
    return select(TriageContact).where(
        TriageContact.council_id == council_id, TriageContact.status.in_(OPEN_STATUSES)
    )


def _unallocated(
    council_id: str, received_before: datetime, decided_since: datetime
) -> Select[TriageContact]:
    c = TriageContact
    return select(c).where(
        c.council_id == council_id,
        c.assigned_to.is_(None),
        c.received_at <= received_before,
        (c.status.in_(OPEN_STATUSES))
        | ((c.contact_type == "referral") & (c.decided_at >= decided_since)),
    )


async def open_contacts(
    session: AsyncSession, council_id: str, *, limit: int
) -> tuple[int, Sequence[TriageContact]]:
    """The council's contacts in progress, oldest first."""
    return await _listed(session, _open(council_id), limit)


async def unallocated_contacts(
    session: AsyncSession,
    council_id: str,
    *,
    received_before: datetime,
    decided_since: datetime,
    limit: int,
) -> tuple[int, Sequence[TriageContact]]:
    """Contacts received before the cut-off with no allocated worker: open ones, and referrals
    decided since `decided_since`."""
    return await _listed(session, _unallocated(council_id, received_before, decided_since), limit)


async def _tallied(
    session: AsyncSession, stmt: Select[TriageContact], due_before: datetime
) -> Sequence[Row[Any]]:
    """Every matching row counted (not only the listed ones) by lane and RAG: breached, due
    before `due_before` (and not breached), and with no allocated worker."""
    sub = stmt.subquery()
    breached = sub.c.breached.is_(True)
    query = select(
        sub.c.lane,
        sub.c.rag,
        func.count().label("n"),
        func.count().filter(breached).label("breached"),
        func.count().filter(~breached & (sub.c.queue_deadline_at <= due_before)).label("due_soon"),
        func.count().filter(sub.c.assigned_to.is_(None)).label("unallocated"),
    ).group_by(sub.c.lane, sub.c.rag)
    return (await session.execute(query)).all()


async def open_tallies(
    session: AsyncSession, council_id: str, *, due_before: datetime
) -> Sequence[Row[Any]]:
    return await _tallied(session, _open(council_id), due_before)


async def unallocated_tallies(
    session: AsyncSession,
    council_id: str,
    *,
    received_before: datetime,
    decided_since: datetime,
    due_before: datetime,
) -> Sequence[Row[Any]]:
    stmt = _unallocated(council_id, received_before, decided_since)
    return await _tallied(session, stmt, due_before)


# The deprecated /v1/reports/kpis: its old definitions, except consent, which is the
# scorecard's (CONSENT_RECORDED: for the decision, with its outcome and who gave it).
_KPI_SQL = text(
    f"""
    SELECT c.contact_type AS contact_type,
      count(*) AS decided,
      count(*) FILTER (WHERE d.met_at IS NOT NULL AND d.breached_at IS NULL) AS on_time_1wd,
      count(*) FILTER (WHERE h.met_at IS NOT NULL AND h.breached_at IS NULL) AS on_time_24h,
      count(*) FILTER (WHERE {CONSENT_RECORDED}) AS consent,
      count(*) FILTER (WHERE c.child_voice_present) AS voice,
      count(*) FILTER (WHERE c.wants_feedback) AS want_feedback,
      count(*) FILTER (WHERE c.wants_feedback AND c.feedback_given_at IS NOT NULL) AS feedback,
      count(*) FILTER (WHERE c.re_referral) AS re_referrals
    FROM triage_contacts c
    LEFT JOIN triage_clocks d ON d.contact_id = c.id AND d.kind = 'decision'
    LEFT JOIN triage_clocks h ON h.contact_id = c.id AND h.kind = 'completed_24h'
    LEFT JOIN triage_decisions dec ON {_DECISION}
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


async def contacts_by_type(
    session: AsyncSession, council_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Contacts received in the period, by decided contact type (`undecided` for the rest)."""
    found = await session.execute(_COUNT_SQL, _params(council_id, start, end))
    return {r.contact_type: r.n for r in found.all()}


async def kpi_rows(
    session: AsyncSession, council_id: str, start: datetime, end: datetime
) -> Sequence[Row[Any]]:
    """Per decided contact type: the counts the KPI scorecard is computed from."""
    return (await session.execute(_KPI_SQL, _params(council_id, start, end))).all()
