"""RAG screening: the rating, its history and the MASH clock in working hours."""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageClock
from tests.conftest import TokenFactory
from tests.factories import make_marf
from tests.triage.conftest import AGENCY, referral_event
from tests.triage.mash_support import (
    MONDAY_0900,
    Headers,
    audit_actions,
    configure_mash,
    new_contact,
    rate,
)
from triage.intake.handlers import handle_referral_received


async def mash_clock(session: AsyncSession, contact_id: str) -> TriageClock:
    clock = await session.scalar(
        select(TriageClock).where(TriageClock.contact_id == contact_id, TriageClock.kind == "mash")
    )
    assert clock is not None
    await session.refresh(clock)
    return clock


class TestRating:
    async def test_amber_is_due_in_24_working_hours_from_receipt(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        response = await rate(client, worker, contact["id"], "amber", "Neglect, known family")
        assert response.status_code == 201, response.text
        body = response.json()
        # Monday 09:00 + 8 h Monday + 8.5 h Tuesday + 7.5 h Wednesday.
        assert body["due_at"] == "2026-11-25T16:00:00Z"
        assert (body["rag"], body["previous_rag"], body["set_by"]) == ("amber", None, "worker-1")
        clock = await mash_clock(session, contact["id"])
        assert clock.deadline_at.isoformat() == "2026-11-25T16:00:00+00:00"

    async def test_red_runs_outside_office_hours(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        # Friday 15:00: 4 working hours would be Monday; red is worked to completion.
        contact = await new_contact(client, worker, received_at="2026-11-20T15:00:00+00:00")
        response = await rate(client, worker, contact["id"], "red", "Immediate risk")
        assert response.json()["due_at"] == "2026-11-20T19:00:00Z"

    async def test_green_counts_72_working_hours(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        response = await rate(client, worker, contact["id"], "green", "Low level")
        # 8 + 8.5 + 8.5 + 8.5 + 8 = 41.5 this week, then 8.5 x 3 = 67, and 5 h on Thursday.
        assert response.json()["due_at"] == "2026-12-03T13:30:00Z"

    async def test_the_queue_shows_the_screened_rating(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        await rate(client, worker, contact["id"], "red", "Escalated")
        read = await client.get(f"/v1/contacts/{contact['id']}", headers=worker)
        assert read.json()["rag"] == "red"

    async def test_council_timescales_are_configuration(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        await configure_mash(
            session, {"rag_timescales": {"amber": {"hours": 8, "unit": "working_hours"}}}
        )
        contact = await new_contact(client, worker)
        response = await rate(client, worker, contact["id"], "amber", "Config")
        assert response.json()["due_at"] == "2026-11-23T17:00:00Z"  # 8 h: closing time


class TestReview:
    async def test_each_change_is_kept_with_its_reason(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        await rate(client, worker, contact["id"], "amber", "Initial screening")
        second = await rate(client, manager, contact["id"], "red", "Police check: violence")
        assert second.json()["previous_rag"] == "amber"
        assert second.json()["due_at"] == "2026-11-23T13:00:00Z"
        clock = await mash_clock(session, contact["id"])
        assert clock.deadline_at.isoformat() == "2026-11-23T13:00:00+00:00"
        history = (await client.get(f"/v1/contacts/{contact['id']}/rag", headers=worker)).json()
        assert history["current"] == "red"
        assert [(h["rag"], h["reason"], h["set_by"]) for h in history["history"]] == [
            ("amber", "Initial screening", "worker-1"),
            ("red", "Police check: violence", "manager-1"),
        ]

    async def test_the_same_rating_again_is_a_conflict(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        await rate(client, worker, contact["id"], "amber")
        again = await rate(client, worker, contact["id"], "amber")
        assert again.status_code == 409
        assert again.json()["error"] == "RagUnchanged"

    async def test_a_decided_contact_cannot_be_rerated(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        await client.post(f"/v1/contacts/{contact['id']}/claim", headers=worker)
        decision = {
            "contact_type": "referral",
            "outcome": "early_help",
            "level": 2,
            "primary_need_code": "N1",
            "rationale": "Early help.",
            "consent_state": "given",
        }
        made = await client.post(
            f"/v1/contacts/{contact['id']}/decision", json=decision, headers=worker
        )
        assert made.status_code == 201, made.text
        assert (await rate(client, worker, contact["id"], "red")).status_code == 409

    async def test_rating_and_reading_are_audited(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        contact = await new_contact(client, worker)
        await rate(client, worker, contact["id"], "green")
        await client.get(f"/v1/contacts/{contact['id']}/rag", headers=worker)
        actions = await audit_actions(session, contact["id"])
        assert actions[-2:] == ["contact.rag", "contact.rag.read"]


class TestBadInputAndAccess:
    async def test_an_unknown_rating_is_422_with_the_field(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await new_contact(client, worker)
        response = await client.post(
            f"/v1/contacts/{contact['id']}/rag", json={"rag": "purple"}, headers=worker
        )
        assert response.status_code == 422
        paths = {f["path"] for f in response.json()["fields"]}
        assert paths == {"rag", "reason"}

    async def test_an_unknown_contact_is_404(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        response = await rate(client, worker, "00000000-0000-0000-0000-000000000000", "red")
        assert response.status_code == 404

    async def test_partners_and_referrers_may_not_rate(
        self, client: httpx.AsyncClient, worker: Headers, auth: TokenFactory
    ) -> None:
        contact = await new_contact(client, worker)
        partner = auth("mash_partner", agency_id="police")
        referrer = auth("referrer", agency_id="police")
        assert (await rate(client, partner, contact["id"], "red")).status_code == 403
        assert (await rate(client, referrer, contact["id"], "red")).status_code == 403


class TestWrittenFollowUp:
    async def test_the_marf_following_a_phone_call_keeps_the_screened_rating(
        self, client: httpx.AsyncClient, worker: Headers, session: AsyncSession
    ) -> None:
        # A professional's phone call; the MARF that follows it comes from the same agency,
        # about the same child, with the same call time, so it joins (not a claim).
        contact = await new_contact(client, worker, agency_id=AGENCY)
        await rate(client, worker, contact["id"], "red", "Screened red on the call")
        event = referral_event(
            make_marf(),
            phone_reference=contact["reference"],
            received_at=datetime.fromisoformat(MONDAY_0900),
        )
        await handle_referral_received(session, event)
        read = await client.get(f"/v1/contacts/{contact['id']}", headers=worker)
        assert read.json()["referral_reference"] is not None  # the MARF joined this contact
        assert read.json()["rag"] == "red"
