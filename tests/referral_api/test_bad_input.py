"""Bad input on the referral endpoints: 422 with every field, 415, 413, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import OutboxEvent
from services.models.referral import Referral
from tests.factories import make_marf, with_subject


async def stored(session: AsyncSession) -> tuple[int, int]:
    referrals = await session.scalar(select(func.count()).select_from(Referral))
    events = await session.scalar(select(func.count()).select_from(OutboxEvent))
    return int(referrals or 0), int(events or 0)


class TestValidationErrors:
    async def test_every_failing_field_is_listed_with_its_path_and_nothing_is_stored(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        before = await stored(session)
        marf = with_subject(make_marf(request_type="help"), nhs_number="9990001007", upn="X1")
        marf["consent"] = {**marf["consent"], "state": "dispensed"}
        response = await client.post("/v1/referrals", json=marf, headers=referrer)
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "MarfInvalid"
        paths = {f["path"] for f in body["fields"]}
        assert {"request_type", "subjects.0.nhs_number", "subjects.0.upn"} <= paths
        assert await stored(session) == before

    async def test_cross_field_rules_point_at_the_field(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        marf = make_marf()
        marf["consent"] = {**marf["consent"], "state": "dispensed"}
        marf["subjects"][0].pop("date_of_birth")
        response = await client.post("/v1/referrals", json=marf, headers=referrer)
        fields = {f["path"]: f["reason"] for f in response.json()["fields"]}
        assert fields == {
            "subjects.0.date_of_birth": "date_of_birth is required unless the subject is unborn",
            "consent.reason": "a reason is required when consent is dispensed",
        }

    async def test_identifier_errors_never_echo_the_identifier(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        marf = with_subject(make_marf(), nhs_number="9990001007")
        response = await client.post("/v1/referrals", json=marf, headers=referrer)
        assert response.status_code == 422
        assert "9990001007" not in response.text

    async def test_unknown_fields_are_rejected(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/referrals", json=make_marf(favourite_colour="blue"), headers=referrer
        )
        assert response.status_code == 422
        assert response.json()["fields"][0]["path"] == "favourite_colour"


NASTY: list[Any] = [
    None,
    [],
    [1, 2, 3],
    "a string",
    12345,
    {},
    make_marf(subjects=None),
    make_marf(subjects=[None]),
    make_marf(subjects="child"),
    make_marf(immediate_risk="perhaps"),
    make_marf(referrer_view_of_level=10**30),
    make_marf(referrer_view_of_level=1e308),
    make_marf(subjects=[make_marf()["subjects"][0]] * 16),
    make_marf(concerns=[{"category": "neglect", "description": "x" * 9000}]),
    make_marf(child_voice="contains a NUL \u0000 character"),
    make_marf(child_voice="\ud800 lone surrogate"),
    with_subject(make_marf(), given_name="\u202etxet\u202c ok 名前 😀"),
    with_subject(make_marf(), date_of_birth="2015-02-30"),
    with_subject(make_marf(), date_of_birth=1e20),
    with_subject(make_marf(), postcode=["BD1"]),
    with_subject(make_marf(), address={"line1": "x", "postcode": "ZZ99 9ZZZ"}),
    {"\ud800": 1, "x" * 10_000: 2},
    make_marf(consent={"state": "given", "recorded_by": "x", "recorded_at": "2026-01-01T00:00"}),
]


class TestNastyInput:
    @pytest.mark.parametrize("body", NASTY)
    async def test_never_a_500(
        self, client: httpx.AsyncClient, referrer: dict[str, str], body: Any
    ) -> None:
        raw = json.dumps(body).encode()
        response = await client.post(
            "/v1/referrals",
            content=raw,
            headers={**referrer, "content-type": "application/json"},
        )
        assert response.status_code in (201, 422), response.text
        if response.status_code == 422:
            assert response.json()["fields"]

    @pytest.mark.parametrize(
        "raw", [b"{", b"nul", b'{"a": NaN}', b"[" * 5000 + b"]" * 5000, b"1" * 5000, b"\xff\xfe"]
    )
    async def test_malformed_json_is_a_client_error_not_500(
        self, client: httpx.AsyncClient, referrer: dict[str, str], raw: bytes
    ) -> None:
        response = await client.post(
            "/v1/referrals", content=raw, headers={**referrer, "content-type": "application/json"}
        )
        # 422 InvalidJson; JSON nested too deep for the parser is FastAPI's own 400.
        assert response.status_code in (400, 422), response.text
        assert response.json()["error"]

    async def test_unicode_names_are_accepted_and_kept(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        marf = with_subject(make_marf(), given_name="Zoë-Łucja 名前", family_name="O'Brien")
        response = await client.post("/v1/referrals", json=marf, headers=referrer)
        assert response.status_code == 201


class TestPlatformLimits:
    async def test_a_non_json_body_is_415(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        response = await client.post(
            "/v1/referrals",
            content=b"request_type=safety_and_wellbeing",
            headers={**referrer, "content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 415

    async def test_a_body_over_256_kb_is_413_and_nothing_is_stored(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        before = await stored(session)
        marf = make_marf(actions_taken="x" * (300 * 1024))
        response = await client.post("/v1/referrals", json=marf, headers=referrer)
        assert response.status_code == 413
        assert await stored(session) == before

    async def test_addenda_have_the_same_limits(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        url = "/v1/referrals/FD-2026-000001/addenda"
        form = {**referrer, "content-type": "text/plain"}
        assert (await client.post(url, content=b"more", headers=form)).status_code == 415
        big = {"text": "x" * (300 * 1024)}
        assert (await client.post(url, json=big, headers=referrer)).status_code == 413
