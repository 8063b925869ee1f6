"""Unallocated over 7 days: a true count past the listed rows, and decided referrals age out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar
from tests.triage.reports.factories import add_contact
from triage.reports import operational as reports
from triage.reports.summaries import in_progress_email, unallocated_email

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
LONDON = ZoneInfo("Europe/London")


class TestUnallocated:
    async def test_the_count_is_every_one_not_the_listed_rows(
        self, seeded: AsyncSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(reports, "REPORT_ROW_LIMIT", 2)
        for days in (8, 9, 10):
            await add_contact(seeded, received_at=NOW - timedelta(days=days), contact_type=None)
        found = await reports.unallocated(seeded, council_id="demo", now=NOW)
        assert (found.count, len(found.rows)) == (3, 2)
        busy = await reports.in_progress(seeded, council_id="demo", now=NOW)
        assert (busy.count, len(busy.rows)) == (3, 2)

    async def test_the_emails_count_every_contact_not_the_listed_rows(
        self, seeded: AsyncSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Only one row listed: breaches, lanes and RAGs are still counted over all three.
        monkeypatch.setattr(reports, "REPORT_ROW_LIMIT", 1)
        for days, lane, breached in ((8, "mash", True), (9, "dv_screening", True),
                                     (10, "dv_screening", False)):  # fmt: skip
            contact = await add_contact(
                seeded, received_at=NOW - timedelta(days=days), contact_type=None, lane=lane
            )
            contact.breached = breached
            contact.rag = "red" if breached else "green"
            contact.queue_deadline_at = NOW + (timedelta(hours=-1 if breached else 1))
        await seeded.flush()
        soon = timedelta(hours=2)
        busy = await reports.in_progress(seeded, council_id="demo", now=NOW)
        tallies = await reports.in_progress_tallies(
            seeded, council_id="demo", now=NOW, due_soon=soon
        )
        assert len(busy.rows) == 1
        assert (tallies.count, tallies.breached, tallies.due_soon, tallies.unallocated) == (
            3, 2, 1, 3,
        )  # fmt: skip
        email = in_progress_email(busy, tallies, base="http://fd.test", zone=LONDON, due_soon=soon)
        assert "Breached (past a deadline): 2\n" in email.text
        assert "Due within 2 hours: 1\n" in email.text
        assert "By lane: dv_screening 2, mash 1\n" in email.text
        assert "By RAG: green 1, red 2\n" in email.text
        assert email.subject.startswith("Front door in progress: 3 open, 2 breached")
        waiting = await reports.unallocated(seeded, council_id="demo", now=NOW)
        left = await reports.unallocated_tallies(seeded, council_id="demo", now=NOW)
        assert (len(waiting.rows), left.count, left.breached) == (1, 3, 2)
        email = unallocated_email(waiting, left, base="http://fd.test", zone=LONDON)
        assert "Breached (past a deadline): 2\n" in email.text
        assert "By lane: dv_screening 2, mash 1\n" in email.text

    async def test_a_decided_referral_ages_out_open_contacts_do_not(
        self, seeded: AsyncSession
    ) -> None:
        recent = await add_contact(seeded, received_at=NOW - timedelta(days=10))
        await add_contact(seeded, received_at=NOW - timedelta(days=60))  # decided 60 days ago
        still_open = await add_contact(
            seeded, received_at=NOW - timedelta(days=60), contact_type=None
        )
        found = await reports.unallocated(seeded, council_id="demo", now=NOW)
        assert {r.reference for r in found.rows} == {recent.reference, still_open.reference}
        assert found.count == 2

    async def test_a_council_sets_how_long_decided_referrals_stay(
        self, seeded: AsyncSession
    ) -> None:
        await add_contact(seeded, received_at=NOW - timedelta(days=10))
        row = await seeded.get(CouncilCalendar, "demo")
        assert row is not None
        row.settings = {**(row.settings or {}), "unallocated_decided_days": 5}
        await seeded.flush()
        assert (await reports.unallocated(seeded, council_id="demo", now=NOW)).count == 0
