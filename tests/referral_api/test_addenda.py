"""Addenda: appended to the agency's own referrals, evented, audited, never edited."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.contracts import ReferralAddendumAdded
from services.models.platform import EventConsumption, OutboxEvent
from tests.factories import make_marf
from tests.referral_api.test_reads import submit


class TestAddenda:
    async def test_an_addendum_is_appended_and_emitted_for_triage(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        ref = await submit(client, referrer)
        url = f"/v1/referrals/{ref}/addenda"
        response = await client.post(url, json={"text": "Sam said more today."}, headers=referrer)
        assert response.status_code == 201, response.text
        added = response.json()
        assert (added["reference"], added["text"]) == (ref, "Sam said more today.")
        event = await session.scalar(
            select(OutboxEvent).where(
                OutboxEvent.topic == "referral.addendum_added",
                OutboxEvent.payload["reference"].astext == ref,
            )
        )
        assert event is not None
        assert str(ReferralAddendumAdded.model_validate(event.payload).addendum_id) == added["id"]
        consumers = await session.scalars(
            select(EventConsumption.consumer).where(EventConsumption.event_id == event.id)
        )
        assert list(consumers) == ["triage.intake"]

    async def test_addenda_are_listed_oldest_first_and_counted_on_the_referral(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer)
        for text in ("first", "second"):
            await client.post(f"/v1/referrals/{ref}/addenda", json={"text": text}, headers=referrer)
        listed = (await client.get(f"/v1/referrals/{ref}/addenda", headers=referrer)).json()
        assert [a["text"] for a in listed] == ["first", "second"]
        assert (await client.get(f"/v1/referrals/{ref}", headers=referrer)).json()[
            "addenda_count"
        ] == 2

    async def test_another_agency_cannot_add_or_read(
        self,
        client: httpx.AsyncClient,
        referrer: dict[str, str],
        other_referrer: dict[str, str],
    ) -> None:
        ref = await submit(client, referrer)
        url = f"/v1/referrals/{ref}/addenda"
        assert (
            await client.post(url, json={"text": "x"}, headers=other_referrer)
        ).status_code == 404
        assert (await client.get(url, headers=other_referrer)).status_code == 404

    async def test_an_invalid_addendum_lists_its_fields(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer)
        url = f"/v1/referrals/{ref}/addenda"
        bodies: list[object] = [
            {"text": ""},
            {"text": "x" * 9000},
            {"note": "x"},
            [],
            {"text": "\u0000"},
        ]
        for body in bodies:
            response = await client.post(url, json=body, headers=referrer)
            assert response.status_code == 422, body
            assert response.json()["fields"]

    async def test_referrers_cannot_edit_or_delete(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer)
        for method in ("PUT", "PATCH", "DELETE"):
            response = await client.request(method, f"/v1/referrals/{ref}", headers=referrer)
            assert response.status_code == 405


class TestAddendumIdempotency:
    async def test_a_retried_addendum_is_added_once(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        ref = await submit(client, referrer)
        url = f"/v1/referrals/{ref}/addenda"
        headers = {**referrer, "Idempotency-Key": "addendum-retry"}
        first = await client.post(url, json={"text": "once"}, headers=headers)
        again = await client.post(url, json={"text": "once"}, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        listed = (await client.get(url, headers=referrer)).json()
        assert [a["text"] for a in listed] == ["once"]
        events = (
            await session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.topic == "referral.addendum_added",
                    OutboxEvent.payload["reference"].astext == ref,
                )
            )
        ).all()
        assert len(events) == 1

    async def test_the_key_with_another_text_or_a_submission_key_is_refused(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        headers = {**referrer, "Idempotency-Key": "used-for-a-referral"}
        ref = (await client.post("/v1/referrals", json=make_marf(), headers=headers)).json()[
            "reference"
        ]
        url = f"/v1/referrals/{ref}/addenda"
        reused = await client.post(url, json={"text": "x"}, headers=headers)
        assert reused.status_code == 422
        assert reused.json()["error"] == "IdempotencyKeyReused"
        headers = {**referrer, "Idempotency-Key": "addendum-key"}
        assert (await client.post(url, json={"text": "a"}, headers=headers)).status_code == 201
        other = await client.post(url, json={"text": "b"}, headers=headers)
        assert other.json()["error"] == "IdempotencyKeyReused"
