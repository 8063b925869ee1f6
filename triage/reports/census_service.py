"""The CIN census return: the year's referrals checked against the census rules, then
streamed as CSV or the census XML. Every read is audited; nothing here commits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.errors import FieldError
from triage.council import repository as council_repository
from triage.council.config import load_council
from triage.reports import census, repository
from triage.reports.exceptions import BadCollectionYear, CensusReturnInvalid
from triage.reports.schemas import CensusFailureRead, CensusValidation, ExportFormat
from triage.reports.service import audit_read

# Failures listed in a refused export's body (its detail says how many more there are); the
# validation report, GET /v1/exports/cin-referrals/validation, lists every one.
MAX_FAILURES_IN_ERROR = 500


def _local_date(at: datetime | None, zone: ZoneInfo) -> date | None:
    return at.astimezone(zone).date() if at is not None else None


def _iso_date(raw: object) -> date | None:
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def census_row(r: Row[Any], zone: ZoneInfo, year_end: date) -> census.CensusReferral:
    """One child on one referral, as the return reports it at its reference date
    (`year_end`): an assessment that started after it is not in this return, and one
    authorised after it was still open then (its factors go with next year's return); an
    episode closed after it was open then (no closure in this return)."""
    subject = r.subject if isinstance(r.subject, dict) else {}
    gender = subject.get("gender")
    ethnicity = subject.get("ethnicity")
    upn = r.upn or subject.get("upn")
    child = None if r.position is None else r.position + 1
    nfa = census.referral_nfa(r.outcome)
    started = _local_date(r.assessment_started_at, zone)
    authorised = _local_date(r.assessment_met_at, zone)
    factors = tuple(r.factors or ())
    if started is not None and started > year_end:
        started, authorised, factors = None, None, ()
    if authorised is not None and authorised > year_end:
        authorised, factors = None, ()
    # A closure after the reference date is not in this return: the episode was open then.
    closed_on, closure_reason = r.closed_on, r.closure_reason
    if closed_on is not None and closed_on > year_end:
        closed_on, closure_reason = None, None
    if nfa and r.factors_child != child:
        # The contact's assessment is the group's; this child's own line was NFA, so it is
        # not theirs (factors recorded for this child themselves are kept: rule 8831).
        started, authorised, factors = None, None, ()
    return census.CensusReferral(
        la_child_id=census.la_child_id(r.la_child_number),
        contact_reference=r.reference,
        child=child,
        kind=r.kind,
        date_of_birth=_iso_date(subject.get("date_of_birth")),
        expected_birth_date=_iso_date(subject.get("expected_due_date")),
        gender=str(gender) if gender is not None else None,
        referral_date=r.received_at.astimezone(zone).date(),
        referral_source=r.referral_source,
        primary_need_code=r.primary_need_code,
        nfa=nfa,
        assessment_authorised=authorised,
        factors=factors,
        assessment_started=started,
        upn=str(upn) if upn else None,
        ethnicity=str(ethnicity) if ethnicity else None,
        la_child_id_clash=bool(r.la_child_id_clash),
        # Recorded by a worker (PUT /v1/contacts/{id}/disabilities), never from the MARF's
        # yes/no `disability` box: that is neither a code nor a recorded "NONE" (rule 8540).
        disabilities=tuple(r.disabilities or ()),
        disabilities_recorded_at=r.disabilities_recorded_at,
        # Recorded by a worker (PUT /v1/contacts/{id}/closure): the front door does not close
        # episodes itself.
        closed_on=closed_on,
        closure_reason=closure_reason,
    )


def collection_window(year: int, today: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    first, last = census.collection_bounds(year)
    if first > today:
        raise BadCollectionYear(
            fields=[FieldError(path="year", reason=f"the {year} collection year has not started")]
        )
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    return datetime.combine(first, datetime.min.time(), tzinfo=zone), end


async def _census_rows(
    session: AsyncSession, council_id: str, year: int, zone: ZoneInfo, today: date
) -> AsyncIterator[census.CensusReferral]:
    start, end = collection_window(year, today, zone)
    year_end = census.collection_bounds(year)[1]
    async for r in repository.stream_census(session, council_id, start, end):
        yield census_row(r, zone, year_end)


async def _by_child(
    rows: AsyncIterator[census.CensusReferral],
) -> AsyncIterator[list[census.CensusReferral]]:
    group: list[census.CensusReferral] = []
    async for row in rows:
        if group and group[-1].la_child_id != row.la_child_id:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


async def validate_census(
    session: AsyncSession,
    *,
    principal: Principal,
    year: int,
    now: datetime | None = None,
    reader: AsyncSession | None = None,
) -> CensusValidation:
    """Every census rule failure in the year's return, each with the child's record. The
    audit row is written on `session`; the records are read on `reader` (default the same)."""
    reader = reader or session
    council = await load_council(reader, principal.council_id)
    zone = council.calendar.zone
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    await audit_read(session, principal, "report.cin_census.validate", principal.council_id)
    await repository.tune_for_reports(reader)
    checked, found = 0, []
    rows = _census_rows(reader, principal.council_id, year, zone, today)
    async for group in _by_child(rows):
        checked += len(group)
        for row in group:
            found += census.failures(row, year)
        found += census.child_failures(group, year)
    start, end = collection_window(year, today, zone)
    undecided = await repository.census_undecided(reader, principal.council_id, start, end)
    found += [census.undecided(reference) for reference in undecided]
    settings = await council_repository.settings(reader, principal.council_id)
    found += census.la_code_failures(settings.get("la_code"))
    first, last = census.collection_bounds(year)
    return CensusValidation(
        year=year,
        collection_start=first,
        collection_end=last,
        referrals_checked=checked,
        valid=not found,
        failures=[CensusFailureRead(**vars(f)) for f in found],
    )


def _path(f: CensusFailureRead) -> str:
    if not f.contact_reference:  # the council's own setting (FD04)
        return f"settings/{f.field}"
    return f"{f.contact_reference}/child/{f.child or '-'}/{f.field}"


async def check_census_export(
    session: AsyncSession,
    *,
    principal: Principal,
    year: int,
    fmt: ExportFormat = "csv",
    stream: AsyncSession | None = None,
    now: datetime | None = None,
) -> CensusReturnInvalid | None:
    """The refusal (422, each failure named) of a return the DfE's validator would refuse,
    or None when it may go. Returned, not raised: the refusal lists records, so its audit
    rows must be committed with it (a raised error rolls the request's transaction back).

    With `stream` (the session the return is then streamed on), the records are checked on
    it, in one REPEATABLE READ snapshot: what is streamed is what was checked, even when a
    contact is decided in between. `stream` must not have run a query yet."""
    if stream is not None:
        await repository.one_snapshot(stream)
    report = await validate_census(session, principal=principal, year=year, now=now, reader=stream)
    # The CSV carries no LEA: only the XML needs the council's la_code (FD04).
    failures = [f for f in report.failures if fmt == "xml" or f.rule != "FD04"]
    if failures:
        fields = [
            FieldError(path=_path(f), reason=f"{f.rule}: {f.message}")
            for f in failures[:MAX_FAILURES_IN_ERROR]
        ]
        more = len(failures) - len(fields)
        detail = CensusReturnInvalid.detail + (f" ({more} more not shown here.)" if more else "")
        await audit_read(session, principal, "export.cin_census.refused", principal.council_id)
        return CensusReturnInvalid(detail, fields=fields)
    await audit_read(session, principal, "export.cin_census", principal.council_id)
    return None


async def census_lines(
    session: AsyncSession,
    *,
    council_id: str,
    year: int,
    fmt: ExportFormat,
    now: datetime | None = None,
) -> AsyncIterator[str]:
    """The return as text, a child at a time (CSV: one line per child per referral)."""
    now = now or datetime.now(UTC)
    council = await load_council(session, council_id)
    zone = council.calendar.zone
    settings = await council_repository.settings(session, council_id)
    await repository.tune_for_reports(session)
    rows = _census_rows(session, council_id, year, zone, now.astimezone(zone).date())
    if fmt == "csv":
        header = ",".join(census.CSV_COLUMNS) + "\r\n"
        lines = (line async for group in _by_child(rows) for line in census.csv_lines(group))
        async for chunk in _chunked(_prefixed(header, lines)):
            yield chunk
        return
    # Checked first (FD04): never a made-up LEA.
    header = census.xml_header(year, str(settings.get("la_code", "")), now)
    async for chunk in _chunked(_prefixed(header, _xml(rows))):
        yield chunk
    yield census.XML_FOOTER


async def _prefixed(first: str, rest: AsyncIterator[str]) -> AsyncIterator[str]:
    yield first
    async for piece in rest:
        yield piece


# A response chunk per this many characters, not per line: each chunk is one ASGI send, and a
# send per line made the CSV a third as fast as the XML (bench/reports.py).
CHUNK_CHARS = 64 * 1024


async def _chunked(pieces: AsyncIterator[str]) -> AsyncIterator[str]:
    buffer: list[str] = []
    size = 0
    async for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


async def _xml(rows: AsyncIterator[census.CensusReferral]) -> AsyncIterator[str]:
    async for group in _by_child(rows):
        for chunk in census.xml_children(group):
            yield chunk
