"""Decisions: consent by level, consistent combinations, a line per child; the lease owner."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import make_marf
from tests.triage.conftest import phone_contact
from tests.triage.test_contacts_api import (
    WITHOUT_CONSENT_AT_4,
    Headers,
    claimed,
    create,
    decision,
    set_council,
)

NFA = {"outcome": "nfa", "primary_need_code": None, "nfa_reason": "Needs met by the school."}


async def decide(
    client: httpx.AsyncClient, headers: Headers, contact_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(f"/v1/contacts/{contact_id}/decision", json=body, headers=headers)


def paths(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    return sorted(f["path"] for f in response.json()["fields"])


class TestConsentByLevel:
    """A phone contact: no consent recorded; the neglect concern proposes level 3."""

    async def test_levels_2_and_3_without_consent_refuse_a_service_even_with_a_reason(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        for level, outcome in ((2, "early_help"), (3, "s17_assessment"), (3, "family_support")):
            body = decision(
                level=level,
                outcome=outcome,
                consent_state="refused",
                consent_reason="Mother refused; we will go ahead anyway.",
            )
            response = await decide(client, worker, contact_id, body)
            assert paths(response) == ["outcome"]
            assert "only advice, signposting or NFA" in response.json()["fields"][0]["reason"]

    async def test_levels_2_and_3_without_consent_allow_advice(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        response = await decide(client, worker, contact_id, decision(outcome="advice_given"))
        assert response.status_code == 201, response.text

    async def test_levels_2_and_3_without_consent_allow_signposting(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(outcome="signposted", level=3, consent_state="refused")
        assert (await decide(client, worker, contact_id, body)).status_code == 201

    async def test_levels_2_and_3_without_consent_allow_nfa_with_its_reason(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        without = decision(level=3, **{**NFA, "nfa_reason": None})
        assert paths(await decide(client, worker, contact_id, without)) == ["nfa_reason"]
        assert (
            await decide(client, worker, contact_id, decision(level=3, **NFA))
        ).status_code == 201

    async def test_consent_given_allows_the_service(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(level=2, outcome="early_help", consent_state="given")
        assert (await decide(client, worker, contact_id, body)).status_code == 201

    async def test_level_4_without_consent_needs_the_reason_and_who_decided(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        bare = decision(
            level=4,
            outcome="s47_enquiry",
            consent_state="refused",
            level_reason=WITHOUT_CONSENT_AT_4["level_reason"],
        )
        assert paths(await decide(client, worker, contact_id, bare)) == [
            "consent_decided_by",
            "consent_reason",
        ]
        full = decision(level=4, outcome="s47_enquiry", **WITHOUT_CONSENT_AT_4)
        response = await decide(client, worker, contact_id, full)
        assert response.status_code == 201, response.text
        assert response.json()["consent_decided_by"] == "manager-1 (duty team manager)"
        assert response.json()["level_reason"] == WITHOUT_CONSENT_AT_4["level_reason"]

    async def test_raising_the_level_needs_a_recorded_reason(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(level=4, outcome="s17_assessment", consent_state="given")
        response = await decide(client, worker, contact_id, body)
        assert paths(response) == ["level_reason"]
        assert "above the proposal (level 3)" in response.json()["fields"][0]["reason"]
        body["level_reason"] = "A second child disclosed being hit."
        assert (await decide(client, worker, contact_id, body)).status_code == 201

    async def test_level_4_with_consent_needs_no_consent_reason(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        body = phone_contact(
            concerns=[{"category": "physical_abuse", "description": "Bruising to the arm."}]
        )
        contact_id = await claimed(client, worker, body)  # proposed level 4: no raise
        ok = decision(level=4, outcome="s47_enquiry", consent_state="given")
        assert (await decide(client, worker, contact_id, ok)).status_code == 201


class TestConsistentDecisions:
    async def test_an_advice_contact_cannot_have_an_s47_enquiry_at_level_1(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(
            contact_type="advice_information",
            outcome="s47_enquiry",
            level=1,
            consent_state="given",
        )
        response = await decide(client, worker, contact_id, body)
        assert paths(response) == ["outcome"]
        reason = response.json()["fields"][0]["reason"]
        assert reason == (
            "an advice_information contact cannot have outcome s47_enquiry at level 1; at "
            "level 1 it may have: advice_given, nfa, referral_to_other_agency, signposted"
        )

    async def test_statutory_outcomes_need_level_4(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(outcome="s47_enquiry", level=3, consent_state="given")
        assert paths(await decide(client, worker, contact_id, body)) == ["outcome"]

    async def test_a_consistent_combination_is_accepted(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        body = decision(contact_type="early_help_request", level=2, consent_state="given")
        assert (await decide(client, worker, contact_id, body)).status_code == 201

    async def test_the_council_configures_its_own_table(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        await set_council(seeded, allowed_decisions={"referral": {"early_help": [2]}})
        contact_id = await claimed(client, worker)
        level_3 = decision(level=3, consent_state="given")
        assert paths(await decide(client, worker, contact_id, level_3)) == ["outcome"]
        level_2 = decision(level=2, consent_state="given")
        assert (await decide(client, worker, contact_id, level_2)).status_code == 201


def siblings() -> dict[str, Any]:
    marf = make_marf()
    older = {**marf["subjects"][0], "given_name": "Alex", "nhs_number": "9990001014"}
    return phone_contact(subjects=[marf["subjects"][0], older])


class TestPerChildLines:
    async def test_each_child_gets_the_groups_line_by_default(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker, siblings())
        body = decision(level=3, outcome="s17_assessment", consent_state="given")
        response = await decide(client, worker, contact_id, body)
        assert response.status_code == 201, response.text
        assert [(c["position"], c["level"], c["outcome"], c["primary_need_code"])
                for c in response.json()["children"]] == [
            (0, 3, "s17_assessment", "N1"),
            (1, 3, "s17_assessment", "N1"),
        ]  # fmt: skip

    async def test_a_child_may_have_its_own_level_need_code_and_outcome(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker, siblings())
        body = decision(
            level=3,
            outcome="s17_assessment",
            consent_state="given",
            children=[
                {"position": 1, "level": 2, "outcome": "early_help", "primary_need_code": "N4"}
            ],
        )
        response = await decide(client, worker, contact_id, body)
        assert response.status_code == 201, response.text
        lines = {c["position"]: c for c in response.json()["children"]}
        assert (lines[0]["outcome"], lines[0]["primary_need_code"]) == ("s17_assessment", "N1")
        assert (lines[1]["level"], lines[1]["outcome"], lines[1]["primary_need_code"]) == (
            2,
            "early_help",
            "N4",
        )
        contact = (await client.get(f"/v1/contacts/{contact_id}", headers=worker)).json()
        assert len(contact["decisions"][0]["children"]) == 2

    async def test_a_child_at_level_4_without_consent_needs_the_reason_and_who_decided(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker, siblings())
        body = decision(
            level=3,
            outcome="advice_given",
            consent_state="refused",
            level_reason="Alex disclosed being hit: significant harm for him.",
            children=[{"position": 1, "level": 4, "outcome": "s47_enquiry"}],
        )
        assert paths(await decide(client, worker, contact_id, body)) == [
            "consent_decided_by",
            "consent_reason",
        ]
        full = {**body, **WITHOUT_CONSENT_AT_4, "level": 3}
        response = await decide(client, worker, contact_id, full)
        assert response.status_code == 201, response.text
        lines = {c["position"]: c["outcome"] for c in response.json()["children"]}
        assert lines == {0: "advice_given", 1: "s47_enquiry"}

    async def test_a_childs_line_passes_the_same_checks(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact_id = await claimed(client, worker, siblings())
        body = decision(
            level=3,
            outcome="s17_assessment",
            consent_state="given",
            children=[
                {"position": 5},
                {"position": 1, "outcome": "nfa"},
                {"position": 0, "level": 1, "outcome": "s47_enquiry"},
            ],
        )
        assert paths(await decide(client, worker, contact_id, body)) == [
            "children.0.position",
            "children.1.nfa_reason",
            "children.2.outcome",
        ]


class TestLeaseOwner:
    async def test_a_released_contact_claimed_by_another_worker_is_assigned_to_them(
        self, client: httpx.AsyncClient, worker: Headers, worker2: Headers
    ) -> None:
        contact_id = await claimed(client, worker)
        assert (
            await client.post(f"/v1/contacts/{contact_id}/release", headers=worker)
        ).status_code == 200
        response = await client.post(f"/v1/contacts/{contact_id}/claim", headers=worker2)
        assert response.status_code == 200
        assert (response.json()["lease_holder"], response.json()["assigned_to"]) == (
            "worker-2",
            "worker-2",
        )
        queue = (await client.get("/v1/queue", headers=worker2)).json()["items"]
        assert next(i for i in queue if i["id"] == contact_id)["assigned_to"] == "worker-2"

    async def test_claiming_again_keeps_the_owner(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await create(client, worker, phone_contact())
        for _ in range(2):
            response = await client.post(f"/v1/contacts/{contact['id']}/claim", headers=worker)
            assert response.json()["assigned_to"] == "worker-1"
