"""Rule-set versions through the API: drafts, validation, publishing, dry runs, diffs."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageRuleSet
from triage.rules.bradford import BRADFORD_RULE_SET

Headers = dict[str, str]


def draft_body() -> dict[str, Any]:
    body = copy.deepcopy(BRADFORD_RULE_SET)
    body["rules"].append(
        {
            "id": "looked-after",
            "when": {"all": [{"fact": "looked_after", "op": "is_true"}]},
            "then": {"level": 3, "lane": "mash", "reason": "Looked-after children: tell the SW."},
        }
    )
    return body


async def active_id(client: httpx.AsyncClient, headers: Headers) -> str:
    rows = (await client.get("/v1/rule-sets", headers=headers)).json()
    return str(next(r["id"] for r in rows if r["active"]))


class TestDrafts:
    async def test_manager_creates_a_new_version_from_the_active_one(
        self, client: httpx.AsyncClient, manager: Headers
    ) -> None:
        base = await active_id(client, manager)
        response = await client.post(
            "/v1/rule-sets", json={"name": "v2", "based_on": base}, headers=manager
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["version"], body["status"], body["active"]) == (2, "draft", False)

    async def test_workers_read_but_do_not_edit(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        assert (await client.get("/v1/rule-sets", headers=worker)).status_code == 200
        response = await client.post(
            "/v1/rule-sets", json={"name": "x", "body": draft_body()}, headers=worker
        )
        assert response.status_code == 403

    async def test_invalid_rules_are_422_with_paths(
        self, client: httpx.AsyncClient, manager: Headers
    ) -> None:
        body = draft_body()
        body["rules"][0]["when"]["all"][0] = {"fact": "star_sign", "op": "eq", "value": "leo"}
        body["rules"][1]["when"]["all"][0]["op"] = "looks_like"
        response = await client.post(
            "/v1/rule-sets", json={"name": "bad", "body": body}, headers=manager
        )
        assert response.status_code == 422
        assert {f["path"] for f in response.json()["fields"]} == {
            "body.rules.0.when.all.0.fact",
            "body.rules.1.when.all.0.op",
        }

    async def test_drafts_are_editable_by_put_and_patch(
        self, client: httpx.AsyncClient, manager: Headers
    ) -> None:
        created = (
            await client.post(
                "/v1/rule-sets", json={"name": "v2", "body": draft_body()}, headers=manager
            )
        ).json()
        url = f"/v1/rule-sets/{created['id']}"
        replaced = await client.put(
            url, json={"name": "v2b", "body": BRADFORD_RULE_SET}, headers=manager
        )
        assert replaced.json()["name"] == "v2b"
        defaults = {"level": 2, "lane": "early_help", "contact_type": "other", "rag": "green"}
        patched = await client.patch(url, json={"defaults": defaults}, headers=manager)
        assert patched.json()["body"]["defaults"]["level"] == 2
        bad = await client.patch(url, json={"defaults": {**defaults, "level": 9}}, headers=manager)
        assert [f["path"] for f in bad.json()["fields"]] == ["defaults.level"]


class TestPublishing:
    async def test_publish_makes_it_the_one_active_version_and_immutable(
        self, client: httpx.AsyncClient, manager: Headers
    ) -> None:
        old = await active_id(client, manager)
        created = (
            await client.post(
                "/v1/rule-sets", json={"name": "v2", "body": draft_body()}, headers=manager
            )
        ).json()
        url = f"/v1/rule-sets/{created['id']}"
        published = await client.post(f"{url}/publish", headers=manager)
        assert published.json()["active"] is True
        rows = (await client.get("/v1/rule-sets", headers=manager)).json()
        assert [r["id"] for r in rows if r["active"]] == [created["id"]]
        assert (
            await client.put(url, json={"name": "x", "body": BRADFORD_RULE_SET}, headers=manager)
        ).status_code == 409
        assert (await client.patch(url, json={"name": "x"}, headers=manager)).status_code == 409
        assert (await client.post(f"{url}/publish", headers=manager)).status_code == 409
        assert (
            await client.patch(f"/v1/rule-sets/{old}", json={"name": "x"}, headers=manager)
        ).status_code == 409

    async def test_the_database_refuses_two_active_versions(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        created = (
            await client.post(
                "/v1/rule-sets", json={"name": "v2", "body": draft_body()}, headers=manager
            )
        ).json()
        with pytest.raises(IntegrityError):
            async with seeded.begin_nested():
                await seeded.execute(
                    update(TriageRuleSet)
                    .where(TriageRuleSet.id == created["id"])
                    .values(active=True)
                )

    async def test_unknown_rule_set_is_404(
        self, client: httpx.AsyncClient, manager: Headers
    ) -> None:
        response = await client.get(
            "/v1/rule-sets/00000000-0000-0000-0000-000000000000", headers=manager
        )
        assert response.status_code == 404


class TestDryRunAndDiff:
    async def test_evaluate_explains_the_proposal(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        rule_set = await active_id(client, worker)
        facts = {
            "contact_kind": "dv_notification",
            "dv_risk_level": "high",
            "channel": "police_feed",
        }
        response = await client.post(
            f"/v1/rule-sets/{rule_set}/evaluate", json={"facts": facts}, headers=worker
        )
        body = response.json()
        assert (body["lane"], body["level"], body["level_name"]) == (
            "mash",
            4,
            "Statutory / Specialist",
        )
        assert body["fired"][0]["rule_id"] == "dv-high-risk"

    async def test_evaluate_refuses_unknown_facts(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        rule_set = await active_id(client, worker)
        response = await client.post(
            f"/v1/rule-sets/{rule_set}/evaluate",
            json={"facts": {"mood": "bad", "dv_risk_level": "extreme"}},
            headers=worker,
        )
        assert response.status_code == 422
        assert {f["path"] for f in response.json()["fields"]} == {
            "facts.mood",
            "facts.dv_risk_level",
        }

    async def test_diff_against_the_version_it_was_based_on(
        self, client: httpx.AsyncClient, manager: Headers
    ) -> None:
        base = await active_id(client, manager)
        created = (
            await client.post(
                "/v1/rule-sets", json={"name": "v2", "based_on": base}, headers=manager
            )
        ).json()
        await client.patch(
            f"/v1/rule-sets/{created['id']}", json={"rules": draft_body()["rules"]}, headers=manager
        )
        diff = (await client.get(f"/v1/rule-sets/{created['id']}/diff", headers=manager)).json()
        assert (diff["from_version"], diff["to_version"]) == (1, 2)
        assert [r["id"] for r in diff["changes"]["rules_added"]] == ["looked-after"]
        assert diff["changes"]["rules_removed"] == []
