"""Idempotency-Key: replays return the original 201; a reused key with another body is 422."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from referral_api.settings import ReferralSettings
from referral_api.worker import purge_idempotency_keys
from services.db import transaction
from services.models.platform import OutboxEvent
from services.models.referral import IdempotencyKey, Referral
from tests.factories import make_marf


async def referral_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Referral)) or 0)


class TestIdempotencyKey:
    async def test_same_key_and_body_returns_the_original_response_and_one_referral(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        headers = {**referrer, "Idempotency-Key": "7b1d1c52-4c1e-4e55-9d0a-1"}
        marf = make_marf()
        first = await client.post("/v1/referrals", json=marf, headers=headers)
        before = await referral_count(session)
        again = await client.post("/v1/referrals", json=marf, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert await referral_count(session) == before
        events = await session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.payload["reference"].astext == first.json()["reference"])
        )
        assert events == 1

    async def test_key_order_and_spacing_do_not_make_a_different_body(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        headers = {**referrer, "Idempotency-Key": "order-test", "content-type": "application/json"}
        marf = make_marf()
        first = await client.post(
            "/v1/referrals", content=json.dumps(marf).encode(), headers=headers
        )
        reordered = json.dumps(dict(reversed(list(marf.items()))), indent=2).encode()
        again = await client.post("/v1/referrals", content=reordered, headers=headers)
        assert again.json()["reference"] == first.json()["reference"]

    async def test_same_key_with_a_different_body_is_refused_clearly(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        headers = {**referrer, "Idempotency-Key": "reused-key"}
        await client.post("/v1/referrals", json=make_marf(), headers=headers)
        before = await referral_count(session)
        response = await client.post(
            "/v1/referrals", json=make_marf(immediate_risk=True), headers=headers
        )
        assert response.status_code == 422
        assert response.json()["error"] == "IdempotencyKeyReused"
        assert "different body" in response.json()["detail"]
        assert await referral_count(session) == before

    async def test_keys_belong_to_one_agency(
        self,
        client: httpx.AsyncClient,
        referrer: dict[str, str],
        other_referrer: dict[str, str],
    ) -> None:
        marf = make_marf()
        a = await client.post(
            "/v1/referrals", json=marf, headers={**referrer, "Idempotency-Key": "k"}
        )
        b = await client.post(
            "/v1/referrals", json=marf, headers={**other_referrer, "Idempotency-Key": "k"}
        )
        assert a.status_code == b.status_code == 201
        assert a.json()["reference"] != b.json()["reference"]

    async def test_an_invalid_body_leaves_the_key_unused(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        headers = {**referrer, "Idempotency-Key": "after-a-422"}
        bad = await client.post("/v1/referrals", json=make_marf(request_type="x"), headers=headers)
        assert bad.status_code == 422
        good = await client.post("/v1/referrals", json=make_marf(), headers=headers)
        assert good.status_code == 201

    async def test_a_keyed_body_nested_too_deep_is_422_never_500(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        # Around the depth where the parser only just reads a body that cannot be written back.
        headers = {**referrer, "Idempotency-Key": "deep", "content-type": "application/json"}
        statuses = set()
        for depth in range(850, 1010, 2):
            body = ("[" * depth + "]" * depth).encode()
            response = await client.post("/v1/referrals", content=body, headers=headers)
            statuses.add(response.status_code)
        assert statuses <= {400, 422}

    @pytest.mark.parametrize("key", ["", "x" * 256, "has space", "é"])
    async def test_malformed_keys_are_422(
        self, client: httpx.AsyncClient, referrer: dict[str, str], key: str
    ) -> None:
        headers = [
            (b"authorization", referrer["Authorization"].encode()),
            (b"idempotency-key", key.encode("latin-1")),
        ]
        response = await client.post("/v1/referrals", json=make_marf(), headers=headers)
        assert response.status_code == 422


class TestConcurrentDuplicates:
    async def test_concurrent_submissions_with_one_key_make_one_referral_and_no_500(
        self,
        committed_db: str,
        maker: async_sessionmaker[AsyncSession],
        app: FastAPI,
        referrer: dict[str, str],
    ) -> None:
        headers = {**referrer, "Idempotency-Key": "concurrent-key"}
        marf = make_marf()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            responses = await asyncio.gather(
                *(c.post("/v1/referrals", json=marf, headers=headers) for _ in range(8))
            )
        assert {r.status_code for r in responses} == {201}
        assert len({r.json()["reference"] for r in responses}) == 1
        async with transaction(maker) as session:
            assert await referral_count(session) == 1


class TestPurge:
    async def test_keys_older_than_the_retention_are_purged_and_newer_kept(
        self,
        committed_db: str,
        maker: async_sessionmaker[AsyncSession],
        app: FastAPI,
        referrer: dict[str, str],
    ) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            for key in ("old", "new"):
                headers = {**referrer, "Idempotency-Key": key}
                await c.post("/v1/referrals", json=make_marf(), headers=headers)
        async with transaction(maker) as session:
            await session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.key == "old")
                .values(created_at=datetime.now(UTC) - timedelta(hours=49))
            )
        settings = ReferralSettings(idempotency_retention_hours=48, idempotency_purge_batch=1)
        assert await purge_idempotency_keys(maker, settings=settings) == 1
        async with transaction(maker) as session:
            keys = (await session.scalars(select(IdempotencyKey.key))).all()
            assert keys == ["new"]
            assert await referral_count(session) == 2

    def test_retention_cannot_be_set_below_24_hours(self) -> None:
        with pytest.raises(ValueError, match="greater than or equal to 24"):
            ReferralSettings(idempotency_retention_hours=12)
