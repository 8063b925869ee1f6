"""MASH search over 500,000 children and 1,000,000 contacts, and a 200-entry chronology, each
beside the same SQL run bare on asyncpg.

    DATABASE_URL=postgresql://... .venv/bin/python -m bench.mash [--requests 300] [--keep]

The database must be migrated. Rows are bulk-loaded with INSERT ... SELECT under a council id
of their own ("bench-mash") and removed afterwards unless --keep (a rerun with the rows kept
skips the load). The service path is the search or chronology service function in a session
(caller check, normalisation, the queries, the audit rows, the response models), rolled back
after each call; the bare path is the same SELECTs on one asyncpg connection.
The name search is served by `ix_mash_children_family_given` (a b-tree on the normalised
family name, `text_pattern_ops`, then the normalised given name): an equality on the family
name and a prefix on the given name, no trigram index needed because names are normalised
(accents, apostrophes, case and spaces removed) when they are stored and when searched.
Goal: p95 <= 50 ms for both.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.auth import Principal, Role
from services.db import get_engine, libpq_url, resolve_database_url
from services.settings import get_settings
from triage.children import service as children
from triage.chronology import service as chronology
from triage.chronology.repository import HISTORY_SQL

COUNCIL = "bench-mash"
CHILDREN, CONTACTS = 500_000, 1_000_000
GOAL_P95_MS = 50.0
GIVEN = ["sam", "alex", "zoe", "mia", "leo", "ava", "noah", "isla", "omar", "amira"]

LOAD_CHILDREN = """
INSERT INTO mash_children (id, council_id, display_name, given_name_norm, family_name_norm,
  date_of_birth, nhs_number, upn, postcode, restricted, active_flags)
SELECT gen_random_uuid(), $1, 'Child ' || g,
  (ARRAY['sam','alex','zoe','mia','leo','ava','noah','isla','omar','amira'])[1 + g % 10],
  'f' || translate(((g::bigint * 7919) % 100000)::text, '0123456789', 'abcdefghij'),
  date '2008-01-01' + (g % 6500), lpad((g::bigint * 13)::text, 10, '0'), NULL,
  'BD' || (1 + g % 20) || ' ' || (g % 10) || 'AA', false,
  CASE WHEN g % 50 = 0 THEN ARRAY['cse'] ELSE '{}' END
FROM generate_series(1, $2) AS g
"""
LOAD_CONTACTS = """
INSERT INTO triage_contacts (id, council_id, reference, channel, kind, from_professional,
  received_at, recorded_by, status, record, facts, evaluation, subjects_summary, lane, level,
  rag, priority, safety_floor, queue_deadline_at, breached, child_voice_present,
  wants_feedback, previous_referrals_12m, re_referral, contact_type, outcome, decided_at)
SELECT gen_random_uuid(), $1, 'BM-' || g, 'api', 'marf', true, now() - make_interval(mins => g),
  'bench', 'decided', '{}', '{}', '{}', '[]', 'mash', 2, 'green', 3, false, now(), false,
  true, true, 0, false, 'referral', 'early_help', now()
FROM generate_series(1, $2) AS g
"""
LOAD_LINKS = """
INSERT INTO mash_child_links (id, child_id, contact_id, subject_position, matched_on, state)
SELECT gen_random_uuid(), ch.id, c.id, 0, '[]', 'matched'
FROM (SELECT id, row_number() OVER (ORDER BY reference) AS n FROM triage_contacts
      WHERE council_id = $1) c
JOIN (SELECT id, row_number() OVER (ORDER BY display_name) AS n FROM mash_children
      WHERE council_id = $1) ch ON ch.n = 1 + (c.n % $2)
"""
# The service's own name search, as the bare baseline runs it.
BARE_SEARCH = """
SELECT * FROM mash_children
WHERE council_id = $1 AND ((family_name_norm = $2 AND given_name_norm LIKE $3 || '%')
   OR (family_name_norm = $3 AND given_name_norm LIKE $2 || '%'))
ORDER BY family_name_norm, given_name_norm, id LIMIT 50
"""
BARE_CONTACTS = """
SELECT l.child_id, l.state, c.id, c.reference, c.received_at, c.status, c.outcome
FROM mash_child_links l JOIN triage_contacts c ON c.id = l.contact_id
WHERE l.child_id = ANY($1::uuid[]) ORDER BY c.received_at DESC
"""
# The chronology's own statement (one round trip for the nine tables).
BARE_CHRONOLOGY = HISTORY_SQL


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def family(g: int) -> str:
    return "f" + str((g * 7919) % 100000).translate(str.maketrans("0123456789", "abcdefghij"))


async def load(conn: asyncpg.Connection) -> None:
    have = await conn.fetchval("SELECT count(*) FROM mash_children WHERE council_id = $1", COUNCIL)
    if have == CHILDREN:
        print(f"reusing {have:,} children already loaded")
        return
    await cleanup(conn)
    started = time.perf_counter()
    await conn.execute(LOAD_CHILDREN, COUNCIL, CHILDREN)
    await conn.execute(LOAD_CONTACTS, COUNCIL, CONTACTS)
    await conn.execute(LOAD_LINKS, COUNCIL, CHILDREN)
    await conn.execute("ANALYZE mash_children; ANALYZE triage_contacts; ANALYZE mash_child_links")
    print(
        f"loaded {CHILDREN:,} children, {CONTACTS:,} contacts and links in "
        f"{time.perf_counter() - started:.0f} s"
    )


async def chronology_contact(conn: asyncpg.Connection) -> uuid.UUID:
    """One contact with 200 chronology entries (ratings, checks asked and answered, notes)."""
    contact_id: uuid.UUID = await conn.fetchval(
        "SELECT id FROM triage_contacts WHERE council_id = $1 AND reference = 'BM-1'", COUNCIL
    )
    await conn.execute("DELETE FROM mash_rag_ratings WHERE contact_id = $1", contact_id)
    await conn.execute("DELETE FROM mash_partner_checks WHERE contact_id = $1", contact_id)
    await conn.execute("DELETE FROM mash_case_notes WHERE contact_id = $1", contact_id)
    await conn.execute(
        """INSERT INTO mash_rag_ratings (id, contact_id, rag, previous_rag, reason, set_by,
             set_at, due_at)
           SELECT gen_random_uuid(), $1, (ARRAY['red','amber','green'])[1 + g % 3],
             (ARRAY['green','red','amber'])[1 + g % 3], 'review ' || g, 'bench',
             now() - make_interval(mins => 1000 - g), now() FROM generate_series(1, 49) g""",
        contact_id,
    )
    await conn.execute(
        """INSERT INTO mash_partner_checks (id, contact_id, council_id, agency_id, requested_by,
             requested_at, due_at, status, known, summary, risk_indicators, responded_by,
             responded_at, researched_by)
           SELECT gen_random_uuid(), $1, $2, 'agency-' || g, 'bench',
             now() - make_interval(mins => 900 - g), now(), 'answered', true, 'held', '[]',
             'bench', now() - make_interval(mins => 800 - g), 'bench'
           FROM generate_series(1, 50) g""",
        contact_id,
        COUNCIL,
    )
    await conn.execute(
        """INSERT INTO mash_case_notes (id, contact_id, author, author_role, written_at, text)
           SELECT gen_random_uuid(), $1, 'bench', 'front_door_worker',
             now() - make_interval(mins => 700 - g), 'note ' || g FROM generate_series(1, 50) g""",
        contact_id,
    )
    return contact_id


async def cleanup(conn: asyncpg.Connection) -> None:
    await conn.execute("DELETE FROM triage_contacts WHERE council_id = $1", COUNCIL)
    await conn.execute("DELETE FROM mash_children WHERE council_id = $1", COUNCIL)


async def timed(call: Callable[[int], Awaitable[Any]], n: int) -> list[float]:
    samples = []
    for i in range(n):
        started = time.perf_counter()
        await call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def line(label: str, samples: list[float]) -> str:
    return (
        f"  {label:<34} p50 {statistics.median(samples):6.1f} ms   "
        f"p95 {percentile(samples, 95):6.1f} ms   max {max(samples):6.1f} ms"
    )


async def run(n: int, keep: bool) -> int:
    url = resolve_database_url(get_settings())
    conn = await asyncpg.connect(libpq_url(url))
    maker = async_sessionmaker(get_engine(), expire_on_commit=False)
    worker = Principal(sub="bench", role=Role.front_door_worker, council_id=COUNCIL)
    try:
        await load(conn)
        contact_id = await chronology_contact(conn)

        async def in_session(work: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
            async with maker() as session:
                try:
                    return await work(session)
                finally:
                    await session.rollback()

        async def service_search(i: int) -> Any:
            g = 1 + (i * 104729) % CHILDREN
            name = f"{GIVEN[g % 10].title()} {family(g).upper()}"
            return await in_session(
                lambda s: children.search(
                    s, principal=worker, name=name, date_of_birth=None, nhs_number=None,
                    upn=None, postcode=None,
                )
            )  # fmt: skip

        async def bare_search(i: int) -> Any:
            g = 1 + (i * 104729) % CHILDREN
            rows = await conn.fetch(BARE_SEARCH, COUNCIL, family(g), GIVEN[g % 10])
            return await conn.fetch(BARE_CONTACTS, [r["id"] for r in rows])

        async def service_chronology(_: int) -> Any:
            return await in_session(
                lambda s: chronology.contact_chronology(s, principal=worker, contact_id=contact_id)
            )

        async def bare_chronology(_: int) -> Any:
            return await conn.fetchrow(BARE_CHRONOLOGY, contact_id)

        hits = await service_search(0)
        entries = (await service_chronology(0)).entries
        print(
            f"a name search finds {len(hits)} children; the chronology has {len(entries)} entries"
        )
        plan = await conn.fetch("EXPLAIN " + BARE_SEARCH, COUNCIL, family(1), GIVEN[1])
        print("plan:", " / ".join(r[0].strip() for r in plan if "Index" in r[0] or "Scan" in r[0]))
        results = {
            "search (service)": await timed(service_search, n),
            "search (bare SQL)": await timed(bare_search, n),
            "chronology 200 (service)": await timed(service_chronology, n),
            "chronology 200 (bare SQL)": await timed(bare_chronology, n),
        }
        for label, samples in results.items():
            print(line(label, samples))
        worst = max(percentile(results[k], 95) for k in results if "service" in k)
        print(f"goal p95 <= {GOAL_P95_MS:.0f} ms: {'met' if worst <= GOAL_P95_MS else 'NOT met'}")
        return 0
    finally:
        if not keep:
            await cleanup(conn)
        await conn.close()
        await get_engine().dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    return asyncio.run(run(args.requests, args.keep))


if __name__ == "__main__":
    raise SystemExit(main())
