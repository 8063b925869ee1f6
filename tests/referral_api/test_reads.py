"""GET /v1/referrals and /v1/referrals/{reference}: own agency only, filters, pages, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry
from services.models.referral import Referral
from tests.factories import make_marf


async def submit(client: httpx.AsyncClient, headers: dict[str, str], **overrides: object) -> str:
    response = await client.post("/v1/referrals", json=make_marf(**overrides), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


class TestGetReferral:
    async def test_own_referral_shows_status_deadlines_and_the_marf(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer)
        response = await client.get(f"/v1/referrals/{ref}", headers=referrer)
        assert response.status_code == 200
        body = response.json()
        assert body["reference"] == ref
        assert body["status"] == "received"
        assert body["decision"] is None
        assert body["feedback"] is None
        assert body["addenda_count"] == 0
        assert body["marf"]["subjects"][0]["given_name"] == "Sam"
        assert datetime.fromisoformat(body["received_at"]).utcoffset() is not None

    async def test_another_agencys_reference_is_404(
        self,
        client: httpx.AsyncClient,
        referrer: dict[str, str],
        other_referrer: dict[str, str],
    ) -> None:
        ref = await submit(client, referrer)
        response = await client.get(f"/v1/referrals/{ref}", headers=other_referrer)
        assert response.status_code == 404
        assert response.json()["error"] == "ReferralNotFound"

    @pytest.mark.parametrize("ref", ["FD-1999-000001", "nonsense", "%00", "x" * 300])
    async def test_unknown_references_are_404(
        self, client: httpx.AsyncClient, referrer: dict[str, str], ref: str
    ) -> None:
        response = await client.get(f"/v1/referrals/{ref}", headers=referrer)
        assert response.status_code == 404

    async def test_the_read_is_audited(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        ref = await submit(client, referrer)
        await client.get(f"/v1/referrals/{ref}", headers=referrer)
        referral_id = await session.scalar(select(Referral.id).where(Referral.reference == ref))
        actions = await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.entity_id == str(referral_id))
            .order_by(AuditEntry.id)
        )
        assert list(actions) == ["referral.submitted", "referral.read"]


class TestListReferrals:
    async def test_lists_only_the_agencys_own_referrals_newest_first(
        self,
        client: httpx.AsyncClient,
        referrer: dict[str, str],
        other_referrer: dict[str, str],
    ) -> None:
        mine = [await submit(client, referrer) for _ in range(3)]
        theirs = await submit(client, other_referrer)
        body = (await client.get("/v1/referrals", headers=referrer)).json()
        refs = [item["reference"] for item in body["items"]]
        assert theirs not in refs
        assert refs[:3] == list(reversed(mine))
        assert "marf" not in body["items"][0]

    async def test_cursor_pages_through_everything_once(
        self, client: httpx.AsyncClient, auth: object, referrer: dict[str, str]
    ) -> None:
        mine = {await submit(client, referrer) for _ in range(5)}
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            params: dict[str, str | int] = {"limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await client.get("/v1/referrals", params=params, headers=referrer)).json()
            assert len(page["items"]) <= 2
            seen += [i["reference"] for i in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert mine <= set(seen)
        assert len(seen) == len(set(seen))

    async def test_page_size_is_capped(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        page = (await client.get("/v1/referrals?limit=100000", headers=referrer)).json()
        assert page["limit"] == 100

    async def test_filters_by_status_and_receipt_time(
        self,
        client: httpx.AsyncClient,
        referrer: dict[str, str],
        session: AsyncSession,
        wide_call_window: object,
    ) -> None:
        old_call = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
        old = await submit(
            client, referrer, follow_up_to_phone_call={"call_at": old_call.isoformat()}
        )
        new = await submit(client, referrer)
        row = await session.scalar(select(Referral).where(Referral.reference == new))
        assert row is not None
        row.status = "decided"
        await session.flush()

        async def refs(params: dict[str, str]) -> set[str]:
            page = (await client.get("/v1/referrals", params=params, headers=referrer)).json()
            return {i["reference"] for i in page["items"]}

        assert old not in await refs({"status": "decided"})
        assert new in await refs({"status": "decided"})
        window = {
            "received_from": (old_call - timedelta(minutes=1)).isoformat(),
            "received_to": (old_call + timedelta(minutes=1)).isoformat(),
        }
        assert await refs(window) == {old}

    @pytest.mark.parametrize(
        "params",
        [
            {"cursor": "not-a-cursor"},
            {"cursor": "W10"},
            {"status": "closed"},
            {"received_from": "2026-01-01T00:00:00"},
            {"limit": "0"},
        ],
    )
    async def test_bad_query_parameters_are_422(
        self, client: httpx.AsyncClient, referrer: dict[str, str], params: dict[str, str]
    ) -> None:
        response = await client.get("/v1/referrals", params=params, headers=referrer)
        assert response.status_code == 422


class TestListAudit:
    async def test_every_listed_referral_is_audited_as_read_by_the_caller(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        ref = await submit(client, referrer)
        page = (await client.get("/v1/referrals?limit=1", headers=referrer)).json()
        assert [i["reference"] for i in page["items"]] == [ref]
        referral_id = await session.scalar(select(Referral.id).where(Referral.reference == ref))
        listed = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.entity_id == str(referral_id), AuditEntry.action == "referral.listed"
            )
        )
        assert listed is not None
        assert (listed.actor_org, listed.actor_role) == ("west-yorkshire-police", "referrer")
