"""Councils kept apart: a token of another council sees none of this council's referrals.

The same agency id and the same person, but a token whose `council_id` is another council's:
every endpoint answers as if the referral did not exist (404, or an empty list).
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import TokenFactory
from tests.factories import make_marf
from tests.referral_api.conftest import AGENCY

OTHER_COUNCIL = "another-council"


@pytest.fixture
def foreign(auth: TokenFactory) -> dict[str, str]:
    """The same agency and person as `referrer`, in another council."""
    return auth("referrer", agency_id=AGENCY, council_id=OTHER_COUNCIL)


async def submit(client: httpx.AsyncClient, headers: dict[str, str], **extra: str) -> str:
    response = await client.post("/v1/referrals", json=make_marf(), headers={**headers, **extra})
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


class TestAnotherCouncilSeesNothing:
    async def test_get_referral_is_404(
        self, client: httpx.AsyncClient, referrer: dict[str, str], foreign: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer)
        assert (await client.get(f"/v1/referrals/{ref}", headers=referrer)).status_code == 200
        response = await client.get(f"/v1/referrals/{ref}", headers=foreign)
        assert response.status_code == 404
        assert response.json()["error"] == "ReferralNotFound"

    async def test_list_is_empty(
        self, client: httpx.AsyncClient, referrer: dict[str, str], foreign: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer)
        own = (await client.get("/v1/referrals", headers=referrer)).json()["items"]
        assert ref in [r["reference"] for r in own]
        response = await client.get("/v1/referrals", headers=foreign)
        assert response.status_code == 200
        assert response.json()["items"] == []

    async def test_list_addenda_is_404(
        self, client: httpx.AsyncClient, referrer: dict[str, str], foreign: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer)
        response = await client.get(f"/v1/referrals/{ref}/addenda", headers=foreign)
        assert response.status_code == 404

    async def test_add_addendum_is_404_and_writes_nothing(
        self, client: httpx.AsyncClient, referrer: dict[str, str], foreign: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer)
        response = await client.post(
            f"/v1/referrals/{ref}/addenda", json={"text": "more"}, headers=foreign
        )
        assert response.status_code == 404
        listed = await client.get(f"/v1/referrals/{ref}/addenda", headers=referrer)
        assert listed.json() == []

    async def test_an_idempotency_key_never_replays_another_councils_receipt(
        self, client: httpx.AsyncClient, referrer: dict[str, str], foreign: dict[str, str]
    ) -> None:
        ref = await submit(client, referrer, **{"Idempotency-Key": "shared-key-1"})
        again = await client.post(
            "/v1/referrals",
            json=make_marf(),
            headers={**foreign, "Idempotency-Key": "shared-key-1"},
        )
        assert ref not in again.text
        assert again.status_code == 409
