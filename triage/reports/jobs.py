"""The scheduled reports, sent by the triage worker (a periodic job).

Each tick finds, per council and report, the latest slot that is due (see `schedule`). The
slot's row is claimed and committed *before* the email goes: a slot is sent at most once,
whatever number of workers run and however often they restart. A send the SMTP server
refused (so known not to have gone) is retried on later ticks while the slot is still the
latest and inside its catch-up window; one whose reply never came (it may have gone) is
`unconfirmed` and never retried; one refused more than `report_max_attempts` times becomes
`given_up`; a slot with no recipients is `skipped` at once (never retried: a council's own
`report_recipients`, or the global list only in a deployment of one council); a worker that
died mid-send leaves its row `sending`,
which is never sent again (a duplicate is worse than one missed summary, and the log and the
row say what happened).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.mailer import MailNotSent, MailOutcomeUnknown, SmtpServer, send_text
from services.models.triage_reports import ReportSendStatus, TriageReportSend
from triage.council import repository as council_repository
from triage.council.config import load_council
from triage.reports import operational as reports
from triage.reports import repository
from triage.reports.schedule import Schedule, latest_due, parse_time, parse_weekly
from triage.reports.service import audit_read
from triage.reports.summaries import Email, in_progress_email, unallocated_email
from triage.settings import TriageSettings

log = structlog.get_logger(__name__)
NO_RECIPIENTS = "no recipients configured for the council"
Clock = Callable[[], datetime]


def schedules(settings: TriageSettings) -> list[Schedule]:
    weekday, at = parse_weekly(settings.report_unallocated_weekly)
    return [
        Schedule(
            "in_progress",
            tuple(parse_time(t) for t in settings.report_in_progress_times),
            None,
            timedelta(hours=settings.report_catch_up_hours),
        ),
        Schedule(
            "unallocated",
            (at,),
            weekday,
            timedelta(hours=settings.report_unallocated_catch_up_hours),
        ),
    ]


def smtp_server(settings: TriageSettings) -> SmtpServer:
    return SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        mail_from=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        timeout_seconds=settings.smtp_timeout_seconds,
    )


def _address(raw: object) -> bool:
    """A plausible email address: one `@` between non-empty parts, no spaces or control
    characters (a line break would otherwise reach the message's headers)."""
    if not isinstance(raw, str) or not 3 <= len(raw) <= 254:
        return False
    local, at, domain = raw.rpartition("@")
    return bool(at and local and domain) and all(
        ch.isprintable() and not ch.isspace() for ch in raw
    )


def _recipients(raw: object, settings: TriageSettings, *, councils: int) -> list[str]:
    """The council's own `report_recipients` (its well-formed addresses); else the global
    TRIAGE_REPORT_RECIPIENTS, but only when this is the deployment's one council: with several,
    one council's references must never go to another's managers."""
    items: list[object] = list(raw) if isinstance(raw, list) else []
    if raw is not None and not isinstance(raw, list):
        log.warning("council_setting_ignored", setting="report_recipients", reason="not_a_list")
    own = [r.strip() for r in items if isinstance(r, str) and _address(r.strip())]
    if len(own) < len(items):
        log.warning(
            "council_setting_ignored",
            setting="report_recipients",
            reason="not_an_address",
            ignored=len(items) - len(own),
        )
    if own:
        return own
    return list(settings.report_recipients) if councils == 1 else []


async def _build(
    session: AsyncSession, report: str, council_id: str, now: datetime, settings: TriageSettings
) -> Email:
    council = await load_council(session, council_id)
    zone, base = council.calendar.zone, settings.public_base_url.rstrip("/")
    await audit_read(session, None, f"report.scheduled.{report}", council_id)
    if report == "in_progress":
        due_soon = timedelta(hours=settings.due_soon_hours)
        data = await reports.in_progress(session, council_id=council_id, now=now)
        tallies = await reports.in_progress_tallies(
            session, council_id=council_id, now=now, due_soon=due_soon
        )
        return in_progress_email(data, tallies, base=base, zone=zone, due_soon=due_soon)
    data = await reports.unallocated(session, council_id=council_id, now=now)
    tallies = await reports.unallocated_tallies(session, council_id=council_id, now=now)
    return unallocated_email(data, tallies, base=base, zone=zone)


async def _finish(
    maker: async_sessionmaker[AsyncSession],
    row_id: object,
    *,
    error: str | None,
    now: datetime,
    status: ReportSendStatus | None = None,
) -> None:
    async with transaction(maker) as session:
        row = await session.get(TriageReportSend, row_id, with_for_update=True)
        assert row is not None
        row.status, row.last_error = ("failed", error) if error else ("sent", None)
        row.status = status or row.status
        row.sent_at = None if error else now


async def send_slot(
    maker: async_sessionmaker[AsyncSession],
    *,
    council_id: str,
    schedule: Schedule,
    slot_at: datetime,
    now: datetime,
    settings: TriageSettings,
) -> bool:
    """Claim the slot, build and send its email; False when it was not this worker's to send."""
    async with transaction(maker) as session:
        row = await repository.claim_slot(
            session, council_id=council_id, report=schedule.report, slot_at=slot_at, now=now
        )
        if row is None:
            return False
        if row.attempts > settings.report_max_attempts:
            # Refused every time: given up for good (a final state, never claimed again).
            row.status = "given_up"
            log.warning("report_given_up", report=schedule.report, attempts=row.attempts - 1)
            return False
        raw = (await council_repository.settings(session, council_id)).get("report_recipients")
        councils = await repository.council_count(session)
        to = _recipients(raw, settings, councils=councils)
        row.recipients = len(to)
        if not to:
            # Nothing to send to: recorded once as skipped (final), never retried, and no
            # report is read (so no audit row) for nobody.
            row.status, row.last_error = "skipped", NO_RECIPIENTS
            log.warning(
                "report_not_sent", report=schedule.report, reason="no_recipients",
                councils=councils,
            )  # fmt: skip
            return False
        email = await _build(session, schedule.report, council_id, now, settings)
        row_id = row.id
    message_id = f"report-{schedule.report}-{council_id}-{slot_at:%Y%m%dT%H%MZ}"
    try:
        await send_text(
            smtp_server(settings), recipients=to, subject=email.subject, text=email.text,
            message_id=message_id,
        )  # fmt: skip
    except MailNotSent as exc:
        await _finish(maker, row_id, error=str(exc), now=now)
        log.warning("report_send_failed", report=schedule.report, error=str(exc))
        return False
    except MailOutcomeUnknown as exc:
        # It may have gone: never retried (a duplicate is worse than one missed summary).
        await _finish(maker, row_id, error=str(exc), now=now, status="unconfirmed")
        log.warning("report_send_unconfirmed", report=schedule.report, error=str(exc))
        return False
    await _finish(maker, row_id, error=None, now=now)
    log.info("report_sent", report=schedule.report, recipients=len(to))
    return True


async def run_due_reports(
    maker: async_sessionmaker[AsyncSession], *, settings: TriageSettings, now: datetime
) -> int:
    """Send every report whose latest slot is due and not yet sent; the number sent."""
    async with transaction(maker) as session:
        councils = await repository.council_ids(session)
        calendars = {c: (await load_council(session, c)).calendar for c in councils}
    sent = 0
    for council_id, calendar in calendars.items():
        for schedule in schedules(settings):
            slot = latest_due(schedule, now, calendar)
            if slot is not None:
                sent += await send_slot(
                    maker, council_id=council_id, schedule=schedule, slot_at=slot, now=now,
                    settings=settings,
                )  # fmt: skip
    return sent


def report_job(
    settings: TriageSettings, clock: Clock | None = None
) -> Callable[[async_sessionmaker[AsyncSession]], Awaitable[int]]:
    now = clock or (lambda: datetime.now(UTC))

    async def job(maker: async_sessionmaker[AsyncSession]) -> int:
        return await run_due_reports(maker, settings=settings, now=now())

    return job
