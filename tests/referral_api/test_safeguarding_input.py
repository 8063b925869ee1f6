"""MARF input rules of issue 13: back-dated calls, ethnicity codes, per-child concerns/voice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.factories import make_marf, with_subject
from tests.referral_api.conftest import with_settings

CALL = "follow_up_to_phone_call.call_at"


def follow_up(hours_ago: float) -> dict[str, Any]:
    call_at = datetime.now(UTC) - timedelta(hours=hours_ago)
    return make_marf(follow_up_to_phone_call={"call_at": call_at.isoformat()})


async def post(
    client: httpx.AsyncClient, headers: dict[str, str], marf: dict[str, Any]
) -> httpx.Response:
    return await client.post("/v1/referrals", json=marf, headers=headers)


def fields(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {f["path"]: f["reason"] for f in response.json()["fields"]}


class TestBackDatedReceipt:
    async def test_a_call_older_than_the_window_is_refused(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        response = await post(client, referrer, follow_up(hours_ago=24 * 60))
        reason = fields(response)[CALL]
        assert reason.startswith("call_at is more than 168 hours ago")

    async def test_a_call_in_the_future_is_refused(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        assert fields(await post(client, referrer, follow_up(hours_ago=-2)))[CALL] == (
            "call_at is in the future"
        )

    async def test_a_call_within_the_window_sets_the_receipt_to_the_call(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        response = await post(client, referrer, follow_up(hours_ago=24 * 6))
        assert response.status_code == 201, response.text
        assert response.json()["written_follow_up"]["on_time"] is False

    async def test_the_window_is_configurable(
        self, client: httpx.AsyncClient, referrer: dict[str, str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        with_settings(monkeypatch, follow_up_call_max_age_hours=24)
        reason = fields(await post(client, referrer, follow_up(hours_ago=30)))[CALL]
        assert reason.startswith("call_at is more than 24 hours ago")
        assert (await post(client, referrer, follow_up(hours_ago=20))).status_code == 201


class TestEthnicity:
    @pytest.mark.parametrize("code", ["ZZZZ", "WHIT", "ABCD"])
    async def test_a_four_letter_code_not_in_the_census_list_is_refused(
        self, client: httpx.AsyncClient, referrer: dict[str, str], code: str
    ) -> None:
        marf = with_subject(make_marf(), ethnicity=code)
        reason = fields(await post(client, referrer, marf))["subjects.0.ethnicity"]
        assert reason.startswith("not a CIN census ethnicity code")

    @pytest.mark.parametrize("code", ["WBRI", "MWBA", "APKN", "REFU", "NOBT"])
    async def test_census_codes_are_accepted(
        self, client: httpx.AsyncClient, referrer: dict[str, str], code: str
    ) -> None:
        marf = with_subject(make_marf(), ethnicity=code)
        assert (await post(client, referrer, marf)).status_code == 201


def siblings(**overrides: Any) -> dict[str, Any]:
    marf = make_marf(**overrides)
    marf["subjects"].append(
        {**marf["subjects"][0], "given_name": "Alex", "nhs_number": "9990001014"}
    )
    return marf


class TestConcernsAndVoicePerChild:
    async def test_a_concern_may_name_the_child_it_is_about(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        marf = siblings(
            concerns=[
                {"category": "neglect", "description": "Both often hungry."},
                {"category": "self_harm", "description": "Cuts on arm.", "subject_index": 1},
            ]
        )
        assert (await post(client, referrer, marf)).status_code == 201

    async def test_a_concern_naming_a_child_not_on_the_marf_is_refused(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        marf = make_marf(
            concerns=[{"category": "neglect", "description": "Hungry.", "subject_index": 1}]
        )
        assert fields(await post(client, referrer, marf)) == {
            "concerns.0.subject_index": "names a subject that is not in subjects"
        }

    async def test_each_childs_voice_counts_as_the_childs_voice(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        marf = siblings(child_voice=None)
        marf["subjects"][1]["child_voice"] = "Alex said he looks after his sister at night."
        response = await post(client, referrer, marf)
        assert response.status_code == 201, response.text
        assert "child_voice_missing" not in {w["code"] for w in response.json()["warnings"]}

    async def test_the_marf_level_voice_is_kept(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        without = await post(client, referrer, siblings(child_voice=None))
        assert "child_voice_missing" in {w["code"] for w in without.json()["warnings"]}
        with_voice = await post(client, referrer, siblings())
        assert "child_voice_missing" not in {w["code"] for w in with_voice.json()["warnings"]}
