"""The triage worker: intake of MARFs and addenda, the clock scanner, scheduled reports."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.events.consumer import Consumer, Periodic, Worker
from triage.clocks.jobs import clock_scan_job
from triage.handover.handlers import handle_contact_decided
from triage.handover.jobs import handover_job
from triage.intake.handlers import handle_addendum_added, handle_referral_received
from triage.reports.jobs import report_job
from triage.settings import get_triage_settings

INTAKE = Consumer(
    name="triage.intake",
    handlers={
        "referral.received": handle_referral_received,
        "referral.addendum_added": handle_addendum_added,
    },
)

# Decisions that lead to an assessment, a strategy discussion or a transfer are handed over
# to the council's case-management system.
HANDOVER = Consumer(name="triage.handover", handlers={"contact.decided": handle_contact_decided})


def build_worker(maker: async_sessionmaker[AsyncSession], database_url: str) -> Worker:
    settings = get_triage_settings()
    scanner = Periodic(
        name="triage.clock_scan", every=settings.clock_scan_seconds, job=clock_scan_job(settings)
    )
    # The in-progress and unallocated reports, emailed to managers when they are due.
    reporter = Periodic(
        name="triage.scheduled_reports",
        every=settings.report_scan_seconds,
        job=report_job(settings),
    )
    delivery = Periodic(
        name="triage.handover_delivery",
        every=settings.handover_scan_seconds,
        job=handover_job(settings),
    )
    return Worker(
        name="triage",
        maker=maker,
        database_url=database_url,
        consumers=[INTAKE, HANDOVER],
        periodic=[scanner, reporter, delivery],
    )
