"""A CSE MARF through the API, the referral outbox and the triage worker: the floor holds.

The MARF describes grooming but ticks no CSE flag; the concern category alone must put the
contact in the MASH lane at level 4, red, with the floor named in its proposal's reasons.
"""

from __future__ import annotations

import pytest

from services.auth import Role
from tests.e2e.conftest import ApiClients, Processes, pretty
from tests.e2e.test_walking_skeleton import REFERRER, bearer, contact_in_queue
from tests.factories import make_marf

pytestmark = pytest.mark.e2e

CSE_MARF = make_marf(
    concerns=[
        {
            "category": "cse",
            "description": "An older man gives her gifts and lifts; she has a second phone.",
        }
    ],
    child_voice="She said he is her boyfriend and buys her things.",
)


class TestCseMarfReachesTheMash:
    async def test_floor_puts_an_unflagged_cse_marf_in_the_mash(
        self, demo_council: Processes, apis: ApiClients
    ) -> None:
        demo_council.worker("triage")
        assert CSE_MARF["subjects"][0].get("flags") is None  # no flag ticked
        response = await apis["referral_api"].post("/v1/referrals", json=CSE_MARF, headers=REFERRER)
        assert response.status_code == 201, pretty(response)
        contact = await contact_in_queue(apis, demo_council, response.json()["reference"])
        assert (contact["lane"], contact["level"], contact["rag"]) == ("mash", 4, "red")
        proposal = contact["proposal"]
        assert [f["category"] for f in proposal["concern_floors"]] == ["cse"]
        assert "Concern floor (cse)" in proposal["concern_floors"][0]["reason"]
        # A worker of the DV lane only never sees it.
        screener = bearer(Role.dv_screener, agency_id="west-yorkshire-police")
        seen = await apis["triage"].get(f"/v1/contacts/{contact['id']}", headers=screener)
        assert seen.status_code == 404
