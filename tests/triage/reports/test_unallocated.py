"""Unallocated over 7 days: a true count past the listed rows, and decided referrals age out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import CouncilCalendar
from tests.triage.reports.factories import add_contact
from triage.reports import operational as reports

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


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
