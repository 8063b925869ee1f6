"""Management information at Bradford's size: the year's scorecard and the CIN census export,
each beside the bare SQL behind it.

    DATABASE_URL=postgresql://... .venv/bin/python -m bench.reports [--runs 5] [--keep]

The database must be migrated (`frontdoor migrate`). Two collection years of a Bradford-sized
front door (35,000 contacts a year, domain §9: 32,038 contacts, 9,934 referrals) are loaded
with INSERT ... SELECT under a council of their own ("bench-reports"): contacts of every
type, their children, clocks, decisions, assessments with factors, the children's census
disability codes and the closures of episodes a later referral follows, MASH screening (RAG
ratings and MASH clocks), and Operation Encompass alerts; removed afterwards unless --keep
(a rerun with the rows kept skips the load). The census year's contacts are all decided and
its return is one the DfE's rules accept (the export answers 200).

Scorecard: GET /v1/reports/scorecard for the year (and, as every scorecard does, the year
before it for the direction of travel), the whole request in process (ASGI: JWT, role check,
audit row, every query, JSON), against the same SQL statements run bare on one asyncpg
connection. Goal: under 1 s.

Census: GET /v1/exports/cin-referrals?year=2026, CSV and XML (validation pass, then the
streamed export), in rows per second, against the export's SELECT fetched bare by asyncpg.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy.dialects import postgresql

from services.auth import Role, mint_token
from services.db import get_engine, libpq_url, resolve_database_url
from services.settings import get_settings
from triage.reports import repository
from triage.reports.periods import period_of, previous

COUNCIL = "bench-reports"
PER_YEAR = 35_000
FIRST_DAY = date(2024, 4, 1)  # two collection years: 2024-25 and 2025-26
YEAR = 2026
GOAL_SCORECARD_S = 1.0
LONDON = ZoneInfo("Europe/London")

CODES = ("1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4", "5A", "5B")
SOURCES = "ARRAY[" + ",".join(f"'{c}'" for c in (*CODES, "5C", "5D", "6", "7", "8", "10")) + "]"
LOAD_CONTACTS = f"""
INSERT INTO triage_contacts (
  id, council_id, reference, channel, kind, from_professional, received_at, recorded_by, status,
  record, facts, evaluation, subjects_summary, lane, level, rag, priority, safety_floor,
  queue_deadline_at, breached, child_voice_present, wants_feedback, previous_referrals_12m,
  re_referral, contact_type, outcome, decided_at, feedback_given_at)
SELECT gen_random_uuid(), $1, 'BR-' || g, 'api',
  CASE WHEN t = 'notification' THEN 'dv_notification' ELSE 'marf' END,
  true, at, 'bench', CASE WHEN undecided THEN 'open' ELSE 'decided' END,
  jsonb_build_object('source', 'front_door', 'contact', jsonb_build_object('subjects',
    CASE WHEN g % 3 = 0 THEN jsonb_build_array(child, sibling) ELSE jsonb_build_array(child) END)),
  jsonb_build_object('referral_source', ({SOURCES})[1 + g % 21],
    'dv_risk_level',
      CASE WHEN t = 'notification' THEN (ARRAY['standard','medium','high'])[1 + g % 3] END),
  '{{}}', '[]',
  CASE t WHEN 'notification' THEN 'dv_screening' WHEN 'early_help_request' THEN 'early_help'
         WHEN 'advice_information' THEN 'advice' WHEN 'lado' THEN 'lado' ELSE 'mash' END,
  2, (ARRAY['red','amber','green'])[1 + g % 3], g % 4, false, at + interval '24 hours', false,
  g % 3 <> 0, g % 4 <> 0, 0, false,
  CASE WHEN undecided THEN NULL ELSE t END,
  CASE WHEN undecided THEN NULL WHEN t = 'referral'
       THEN (ARRAY['s17_assessment', 'early_help', 'strategy_discussion', 'nfa',
                   'family_support', 's47_enquiry', 'referral_to_other_agency'])[1 + g % 7]
       ELSE (ARRAY['advice_given','nfa','signposted'])[1 + g % 3] END,
  CASE WHEN undecided THEN NULL ELSE at + interval '3 hours' END,
  CASE WHEN NOT undecided AND g % 10 < 7 THEN at + interval '5 hours' END
FROM (
  SELECT g, $2::timestamptz + make_interval(secs => (g::float8 * 31536000 / $4)::int) AS at,
    CASE WHEN g % 100 < 31 THEN 'referral' WHEN g % 100 < 60 THEN 'advice_information'
         WHEN g % 100 < 80 THEN 'notification' WHEN g % 100 < 90 THEN 'early_help_request'
         WHEN g % 100 < 93 THEN 'lado' ELSE 'other' END AS t,
    -- One in 25 of the first year's contacts is still open; the census year's are all
    -- decided, as they are when the return is made (else it lists them: FD03).
    g % 25 = 0 AND g < $4 AS undecided,
    jsonb_build_object('kind', 'child', 'gender', (1 + g % 2)::text,
      'date_of_birth', (date '2008-01-01' + (g * 7919) % 5800)::text) AS child,
    jsonb_build_object('kind', 'child', 'gender', (2 - g % 2)::text,
      'date_of_birth', (date '2012-01-01' + (g * 31) % 3000)::text) AS sibling
  FROM generate_series(1, $3) AS g
) src
"""
LOAD_SUBJECTS = """
INSERT INTO triage_subjects (id, contact_id, council_id, position, kind, date_of_birth,
  nhs_number, received_at)
SELECT gen_random_uuid(), c.id, c.council_id, p.pos, 'child',
  (c.record->'contact'->'subjects'->p.pos->>'date_of_birth')::date,
  lpad(CASE WHEN p.pos = 1 THEN 8000000 + n WHEN n % 5 = 0 THEN 9000000 + n % 5000
            ELSE n END::text, 10, '0'),
  c.received_at
FROM (SELECT *, split_part(reference, '-', 2)::int AS n FROM triage_contacts
      WHERE council_id = $1) c
CROSS JOIN LATERAL generate_series(0,
  jsonb_array_length(c.record->'contact'->'subjects') - 1) AS p(pos)
WHERE c.council_id = $1
"""
LOAD_CLOCKS = """
INSERT INTO triage_clocks (id, contact_id, kind, started_at, deadline_at, due_soon_at, state,
  met_at)
SELECT gen_random_uuid(), c.id, k.kind, c.received_at, c.received_at + k.limit_,
  c.received_at + k.limit_ - interval '2 hours', 'met',
  c.received_at + CASE WHEN split_part(c.reference, '-', 2)::int % 10 < k.on_time
                       THEN interval '3 hours' ELSE k.limit_ + interval '1 hour' END
FROM triage_contacts c
CROSS JOIN (VALUES ('decision', interval '24 hours', 7), ('completed_24h', interval '24 hours', 8),
                   ('all_contacts_48h', interval '48 hours', 9)) AS k(kind, limit_, on_time)
WHERE c.council_id = $1 AND c.status = 'decided'
"""
LOAD_DECISIONS = """
INSERT INTO triage_decisions (id, contact_id, made_by, made_at, contact_type, outcome, nfa_reason,
  level, primary_need_code, rationale, consent_state, consent_reason, consent_given_by,
  strategy_discussion, status)
SELECT gen_random_uuid(), c.id, 'bench', c.decided_at, c.contact_type, c.outcome,
  CASE WHEN c.outcome = 'nfa'
    THEN (ARRAY['Needs met by universal services', 'Concern not substantiated',
                'Family engaging with school'])[1 + n % 3] END,
  2, CASE WHEN c.outcome = 'nfa' THEN NULL ELSE 'N' || (1 + n % 9) END, 'Bench.',
  (ARRAY['given','refused','not_sought','dispensed', NULL])[1 + n % 5],
  CASE WHEN n % 5 IN (2, 3) THEN 'Recorded reason.' END,
  CASE WHEN n % 5 IN (0, 1) AND n % 4 <> 0 THEN 'parent_or_carer' END,
  false, 'final'
FROM (SELECT c.*, split_part(c.reference, '-', 2)::int AS n FROM triage_contacts c
      WHERE c.council_id = $1 AND c.status = 'decided') c
"""
LOAD_ASSESSMENTS = """
WITH a AS (
  INSERT INTO triage_clocks (id, contact_id, kind, started_at, deadline_at, due_soon_at, state,
    met_at)
  SELECT gen_random_uuid(), c.id, 'assessment', c.received_at, c.received_at + interval '63 days',
    c.received_at + interval '60 days', 'met', c.received_at + interval '30 days'
  FROM triage_contacts c WHERE c.council_id = $1 AND c.outcome = 's17_assessment'
  RETURNING contact_id
)
INSERT INTO triage_assessment_factors (contact_id, factors, recorded_by, recorded_at)
SELECT contact_id, '["3A", "16A"]', 'bench', now() FROM a
"""
# Every child on a decided referral has census disability codes (one in twelve has some; the
# rest NONE), as a data officer records them before the return (DfE rule 8540).
LOAD_DISABILITIES = """
INSERT INTO triage_child_disabilities (contact_id, child, disabilities, recorded_by, recorded_at)
SELECT s.contact_id, s.position + 1,
  CASE WHEN split_part(c.reference, '-', 2)::int % 12 = 0 THEN '["LD", "COMM"]'
       ELSE '["NONE"]' END::jsonb, 'bench', now()
FROM triage_subjects s JOIN triage_contacts c ON c.id = s.contact_id
WHERE c.council_id = $1 AND c.status = 'decided' AND c.contact_type = 'referral'
"""
# A child referred again while an episode that went further (not NFA) is open: the earlier
# episode is closed before the next referral, as the case system records it (DfE rules 8815,
# 8816, 8820): 31 days after its referral (after its assessment, authorised at 30 days), and
# always before the child's next referral. RC8 (closed after assessment, no further action)
# for an assessment, RC7 (services ceased) otherwise. The child is the census's: the NHS
# number (the bench has no MASH child records).
LOAD_CLOSURES = """
INSERT INTO triage_child_closures (contact_id, child, closed_on, reason, recorded_by,
  recorded_at)
SELECT e.contact_id, e.position + 1,
  least(((e.received_at + interval '31 days') AT TIME ZONE 'Europe/London')::date,
        (e.next_at AT TIME ZONE 'Europe/London')::date - 1),
  CASE WHEN e.outcome = 's17_assessment' THEN 'RC8' ELSE 'RC7' END, 'bench', now()
FROM (
  SELECT s.contact_id, s.position, c.received_at, c.outcome,
    lead(c.received_at) OVER (PARTITION BY s.nhs_number ORDER BY c.received_at) AS next_at
  FROM triage_subjects s JOIN triage_contacts c ON c.id = s.contact_id
  WHERE c.council_id = $1 AND c.status = 'decided' AND c.contact_type = 'referral'
) e
WHERE e.next_at IS NOT NULL
  AND e.outcome IN ('s17_assessment', 'strategy_discussion', 's47_enquiry',
                    'immediate_protection')
"""
LOAD_ENCOMPASS = """
WITH i AS (
  INSERT INTO notif_incidents (id, council_id, force_id, police_reference, incident_at, area,
    adult_roles, source, received_at)
  SELECT gen_random_uuid(), $1, 'bench-police', 'BENCH-' || g,
    $2::timestamptz + make_interval(secs => (g::float8 * 63072000 / $3)::int), NULL, '[]',
      'batch', now()
  FROM generate_series(1, $3) AS g
  RETURNING id, incident_at, police_reference
)
INSERT INTO notif_notifications (id, incident_id, child_key, school_urn, route, given_name,
  family_name, deadline_at, in_holiday, delivered_at, acknowledged_at, welfare_check_at, created_at)
SELECT gen_random_uuid(), i.id, md5(i.police_reference),
  CASE WHEN n % 20 = 0 THEN NULL ELSE '999001' END,
  CASE WHEN n % 20 = 0 THEN 'ehe' ELSE 'school' END, 'Bench', 'Child',
  i.incident_at + interval '8 hours', false,
  i.incident_at + CASE WHEN n % 10 < 9 THEN interval '1 hour' ELSE interval '9 hours' END,
  CASE WHEN n % 10 < 8 THEN i.incident_at + interval '9 hours' END,
  CASE WHEN n % 10 < 7 THEN i.incident_at + interval '30 hours' END,
  i.incident_at + interval '10 minutes'
FROM (SELECT *, split_part(police_reference, '-', 2)::int AS n FROM i) i
"""
# MASH screening of the contacts in the MASH lane: each has its RAG ratings and a MASH clock
# (kind `mash`), as the first rating sets it. The timescales are the defaults' hours taken as
# elapsed hours (red 4, amber 24, green 72: enough for timing the query). One in ten rated red or
# amber was first rated green and reviewed up (the latest rating counts), so the query's
# LATERAL pick of the latest rating has two to choose from. Decided contacts: 8 in 10 met within
# the timescale (at half of it), the rest an hour late (breached); open ones still running.
_MASH = """
  SELECT c.id, c.received_at, c.rag, c.status, split_part(c.reference, '-', 2)::int AS n,
    CASE c.rag WHEN 'red' THEN interval '4 hours' WHEN 'amber' THEN interval '24 hours'
         ELSE interval '72 hours' END AS limit_
  FROM triage_contacts c WHERE c.council_id = $1 AND c.lane = 'mash'
"""
LOAD_MASH_RATINGS = f"""
INSERT INTO mash_rag_ratings (id, contact_id, rag, previous_rag, reason, set_by, set_at, due_at)
SELECT gen_random_uuid(), m.id, v.rag, v.previous_rag, 'Bench.', 'bench',
  m.received_at + v.after, m.received_at + v.limit_
FROM ({_MASH}) m
CROSS JOIN LATERAL (
  SELECT 'green' AS rag, NULL AS previous_rag, interval '10 minutes' AS after,
    interval '72 hours' AS limit_
  WHERE m.n % 10 = 3 AND m.rag <> 'green'
  UNION ALL
  SELECT m.rag, CASE WHEN m.n % 10 = 3 AND m.rag <> 'green' THEN 'green' END,
    interval '20 minutes', m.limit_
) v
"""
LOAD_MASH_CLOCKS = f"""
INSERT INTO triage_clocks (id, contact_id, kind, started_at, deadline_at, due_soon_at, state,
  met_at, breached_at)
SELECT gen_random_uuid(), m.id, 'mash', m.received_at, m.received_at + m.limit_,
  m.received_at + m.limit_ - interval '1 hour',
  CASE WHEN m.status = 'open' THEN 'running' ELSE 'met' END,
  CASE WHEN m.status = 'open' THEN NULL WHEN m.n % 10 < 8 THEN m.received_at + m.limit_ / 2
       ELSE m.received_at + m.limit_ + interval '1 hour' END,
  CASE WHEN m.status <> 'open' AND m.n % 10 >= 8 THEN m.received_at + m.limit_ END
FROM ({_MASH}) m
"""
RELOADED = (
    "triage_contacts", "triage_subjects", "triage_clocks", "triage_decisions",
    "triage_assessment_factors", "mash_rag_ratings", "triage_child_disabilities",
    "triage_child_closures", "notif_notifications", "notif_incidents",
)  # fmt: skip
CLEAN = [
    "DELETE FROM notif_notifications WHERE incident_id IN"
    " (SELECT id FROM notif_incidents WHERE council_id = $1)",
    "DELETE FROM notif_incidents WHERE council_id = $1",
    "DELETE FROM triage_contacts WHERE council_id = $1",
    "DELETE FROM audit_log WHERE actor_org IS NULL AND entity_id = $1",
    "DELETE FROM council_calendars WHERE council_id = $1",
]


async def ensure_data(conn: asyncpg.Connection) -> int:
    total = PER_YEAR * 2
    have = await conn.fetchval(
        "SELECT count(*) FROM triage_contacts WHERE council_id = $1", COUNCIL
    )
    # Rows kept by an older loader without MASH screening, disability codes or episode
    # closures are loaded again, with them.
    screened = (
        await conn.fetchval(
            "SELECT count(*) FROM triage_clocks k JOIN triage_contacts c ON c.id = k.contact_id"
            " WHERE c.council_id = $1 AND k.kind = 'mash'",
            COUNCIL,
        )
        and await conn.fetchval(
            "SELECT count(*) FROM triage_child_disabilities d"
            " JOIN triage_contacts c ON c.id = d.contact_id WHERE c.council_id = $1",
            COUNCIL,
        )
        and await conn.fetchval(
            "SELECT count(*) FROM triage_child_closures x"
            " JOIN triage_contacts c ON c.id = x.contact_id WHERE c.council_id = $1",
            COUNCIL,
        )
    )
    if have == total and screened:
        print(f"reusing {have:,} contacts already loaded")
        return int(have)
    await clean(conn)
    # A reload after a clean would otherwise append to tables full of the deleted rows, and
    # every scorecard statement would scan them too (measured: 0.9-1.0 s instead of 0.6 s
    # after three reloads); VACUUM frees them (and gives back the empty pages at the end).
    for table in RELOADED:
        await conn.execute(f"VACUUM {table}")
    started = time.perf_counter()
    start = datetime.combine(FIRST_DAY, datetime.min.time(), tzinfo=LONDON)
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO council_calendars (council_id, name, timezone, office_hours,"
            " working_day_rule, settings) "
            "VALUES ($1, 'Bench council', 'Europe/London', '{}', 'same_time', $2)",
            COUNCIL, '{"child_population": 140000, "la_code": "380"}',
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO notif_schools (urn, council_id, name, school_day_start, terms,"
            " closure_days,"
            " delivery_preference, created_at, updated_at) VALUES ('999001', $1, 'Bench school',"
            " '08:30', '[]', '[]', 'both', now(), now()) ON CONFLICT DO NOTHING",
            COUNCIL,
        )
        await conn.execute(LOAD_CONTACTS, COUNCIL, start, total, PER_YEAR)
        loaders = (
            LOAD_SUBJECTS, LOAD_CLOCKS, LOAD_DECISIONS, LOAD_ASSESSMENTS, LOAD_MASH_RATINGS,
            LOAD_MASH_CLOCKS, LOAD_DISABILITIES, LOAD_CLOSURES,
        )  # fmt: skip
        for sql in loaders:
            await conn.execute(sql, COUNCIL)
        await conn.execute(LOAD_ENCOMPASS, COUNCIL, start, 10_000)
    await conn.execute("ANALYZE")
    print(f"loaded {total:,} contacts and their rows in {time.perf_counter() - started:.1f} s")
    return total


async def clean(conn: asyncpg.Connection) -> None:
    for sql in CLEAN:
        await conn.execute(sql, COUNCIL)


def bare(stmt: Any, params: dict[str, Any]) -> tuple[str, list[Any]]:
    compiled = stmt.compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[no-untyped-call]
    return str(compiled), [params[name] for name in compiled.positiontup]


def scorecard_statements() -> list[tuple[str, list[Any]]]:
    """The statements the scorecard runs (the year and the year before read together)."""
    period = period_of(date(YEAR - 1, 4, 1), date(YEAR, 3, 31), LONDON)
    before = previous(period, LONDON)
    both = {
        "council": COUNCIL,
        "prev_start": before.start,
        "start": period.start,
        "end": period.end,
        "now": datetime.now(UTC),  # which clocks are measurable yet
    }
    return [
        bare(repository.TIMELINESS_SQL, both),
        bare(repository.TALLIES_SQL, both),
        bare(repository.RE_REFERRALS_SQL, both),
        bare(repository.ENCOMPASS_SQL, both),
        bare(repository.MASH_SQL, both),
        bare(repository.NFA_REASONS_SQL, {**both, "top": 10}),
    ]


async def time_bare(conn: asyncpg.Connection, statements: list[tuple[str, list[Any]]]) -> float:
    """The statements in one transaction with the report's settings, as the API runs them."""
    started = time.perf_counter()
    async with conn.transaction():
        for setting in repository.REPORT_SETTINGS:
            await conn.execute(setting)
        for sql, args in statements:
            await conn.fetch(sql, *args)
    return time.perf_counter() - started


async def server_cpu(conn: asyncpg.Connection) -> float:
    """CPU seconds used so far by this database's server processes (the server is local).

    On a shared machine wall time mostly measures the wait for a core; CPU time is the work.
    """
    pids = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    ticks = 0
    for row in pids:
        try:
            with open(f"/proc/{row['pid']}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def summary(samples: list[float]) -> str:
    return f"median {statistics.median(samples) * 1000:7.1f} ms   min {min(samples) * 1000:7.1f} ms"


async def run(runs: int, keep: bool) -> int:
    url = resolve_database_url(get_settings())
    conn = await asyncpg.connect(libpq_url(url))
    from triage.main import create_app  # after DATABASE_URL is set

    app = create_app()
    # The bench council's own manager: tokens carry the configured council.
    token = mint_token(
        get_settings().model_copy(update={"council_id": COUNCIL}),
        sub="bench-manager",
        role=Role.team_manager,
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        await ensure_data(conn)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            ok = await scorecard_bench(client, headers, conn, runs)
            await census_bench(client, headers, conn, runs)
    finally:
        if not keep:
            await clean(conn)
        await conn.close()
        await get_engine().dispose()
    return 0 if ok else 1


async def scorecard_bench(
    client: httpx.AsyncClient, headers: dict[str, str], conn: asyncpg.Connection, runs: int
) -> bool:
    params = {"from": f"{YEAR - 1}-04-01", "to": f"{YEAR}-03-31"}
    first = await client.get("/v1/reports/scorecard", params=params, headers=headers)
    assert first.status_code == 200, first.text
    card = first.json()
    api, sql, api_cpu, sql_cpu = [], [], [], []
    for _ in range(runs):
        cpu, server = time.process_time(), await server_cpu(conn)
        started = time.perf_counter()
        resp = await client.get("/v1/reports/scorecard", params=params, headers=headers)
        api.append(time.perf_counter() - started)
        api_cpu.append(time.process_time() - cpu + await server_cpu(conn) - server)
        assert resp.status_code == 200
        server = await server_cpu(conn)
        sql.append(await time_bare(conn, scorecard_statements()))
        sql_cpu.append(await server_cpu(conn) - server)
    decided = sum(card["contacts"]["decided_by_type"].values())
    print(f"\nScorecard {params['from']}..{params['to']} with the year before "
          f"({decided:,} decided contacts this year, "
          f"{len(card['indicators'])} indicators)")  # fmt: skip
    print(f"  API  GET /v1/reports/scorecard   {summary(api)}   CPU {summary(api_cpu)}")
    print(f"  bare SQL (same statements)       {summary(sql)}   CPU {summary(sql_cpu)}")
    load = os.getloadavg()[0]
    print(f"  (load average {load:.1f} on {os.cpu_count()} cores; CPU = client + server)")
    ratio = statistics.median(api) / statistics.median(sql)
    met = statistics.median(api) < GOAL_SCORECARD_S
    print(f"  ratio {ratio:.2f}x   goal < {GOAL_SCORECARD_S:.0f} s: {'met' if met else 'NOT met'}")
    return met


async def census_bench(
    client: httpx.AsyncClient, headers: dict[str, str], conn: asyncpg.Connection, runs: int
) -> None:
    start = datetime.combine(date(YEAR - 1, 4, 1), datetime.min.time(), tzinfo=LONDON)
    end = datetime.combine(date(YEAR, 4, 1), datetime.min.time(), tzinfo=LONDON)
    sql, args = bare(repository.CENSUS_SQL, {"council": COUNCIL, "start": start, "end": end})
    print(f"\nCIN census export, collection year {YEAR}")
    for fmt in ("csv", "xml"):
        rates, rows = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            rows = 0
            async with client.stream(
                "GET",
                "/v1/exports/cin-referrals",
                params={"year": YEAR, "format": fmt},
                headers=headers,
            ) as resp:
                assert resp.status_code == 200, (await resp.aread()).decode()[:500]
                async for chunk in resp.aiter_text():
                    rows += chunk.count("\n" if fmt == "csv" else "<CINdetails>")
            rows -= 1 if fmt == "csv" else 0  # the header line
            rates.append(rows / (time.perf_counter() - started))
        print(f"  API  {fmt.upper()} (validate, then stream)  {rows:,} rows   "
              f"median {statistics.median(rates):9,.0f} rows/s")  # fmt: skip
    bare_rates = []
    for _ in range(runs):
        started = time.perf_counter()
        async with conn.transaction():
            n = 0
            async for _row in conn.cursor(sql, *args, prefetch=1000):
                n += 1
        bare_rates.append(n / (time.perf_counter() - started))
    print(
        f"  bare SQL (the export's SELECT)    {n:,} rows   median "
        f"{statistics.median(bare_rates):9,.0f} rows/s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the loaded rows for a rerun")
    args = parser.parse_args()
    return asyncio.run(run(args.runs, args.keep))


if __name__ == "__main__":
    raise SystemExit(main())
