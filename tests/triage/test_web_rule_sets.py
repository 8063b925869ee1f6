"""The team manager's rule-set pages: edit a draft (the API's validation), its diff against the
published version, and the dry run over recent contacts."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal, Role
from services.models.platform import AuditEntry
from services.models.triage import TriageRuleSet
from tests.triage.conftest import intake, referral_event
from tests.web.helpers import csrf_of, post_form, sign_in
from triage.rulesets import service as rulesets

# A first rule that matches every contact and sends it to the LADO lane: every recent
# contact's proposal changes.
EVERYONE_TO_LADO: dict[str, Any] = {
    "id": "everyone-to-lado",
    "when": {"all": [{"fact": "subject_count", "op": "gte", "value": 0}]},
    "then": {"lane": "lado", "contact_type": "lado", "reason": "test: all to LADO", "stop": True},
}


async def _audits(session: AsyncSession, action: str, entity_id: object) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.entity_id == str(entity_id))
    )
    return int(count or 0)


async def _draft(client: httpx.AsyncClient, seeded: AsyncSession) -> str:
    """A draft copied from the active version, through the page; its path."""
    active = await rulesets.require_active(seeded, "demo")
    copied = await post_form(
        client, f"/rule-sets/{active.id}/copy", {}, from_page=f"/rule-sets/{active.id}"
    )
    assert copied.status_code == 303
    return str(copied.headers["location"])


class TestEditDraft:
    async def test_bad_json_and_a_bad_rule_are_the_error_summary_then_a_good_body_is_saved(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        await sign_in(client, "team-manager")
        draft = await _draft(client, seeded)
        edit = await client.get(f"{draft}/edit")
        assert edit.status_code == 200
        assert 'name="csrf_token"' in edit.text
        draft_id = uuid.UUID(draft.rsplit("/", 1)[1])
        row = await seeded.get(TriageRuleSet, draft_id)
        assert row is not None
        body = dict(row.body)
        assert json.dumps(body["rules"][0]["id"]) in edit.text.replace("&#34;", '"')
        name = "Bradford with a LADO test rule"
        not_json = await post_form(
            client,
            f"{draft}/edit",
            {"name": name, "rules_json": "{not json"},
            from_page=f"{draft}/edit",
        )
        assert not_json.status_code == 422
        assert "govuk-error-summary" in not_json.text
        assert "not valid JSON" in not_json.text
        bad_rule = {**EVERYONE_TO_LADO, "when": {"all": [{"fact": "shoe_size", "op": "eq"}]}}
        unknown = await post_form(
            client,
            f"{draft}/edit",
            {"name": name, "rules_json": json.dumps({**body, "rules": [bad_rule, *body["rules"]]})},
            from_page=f"{draft}/edit",
        )
        assert unknown.status_code == 422
        assert "rules.0.when.all.0.fact: unknown fact" in unknown.text
        assert 'href="#rules_json"' in unknown.text
        assert await _audits(seeded, "rule_set.replace", draft_id) == 0
        good = {**body, "rules": [EVERYONE_TO_LADO, *body["rules"]]}
        saved = await post_form(
            client,
            f"{draft}/edit",
            {"name": name, "rules_json": json.dumps(good)},
            from_page=f"{draft}/edit",
        )
        assert saved.status_code == 303, saved.text
        await seeded.refresh(row)
        assert row.name == name
        assert row.body["rules"][0]["id"] == "everyone-to-lado"
        assert await _audits(seeded, "rule_set.replace", draft_id) == 1
        shown = await client.get(saved.headers["location"])
        assert "What publishing it would change from version 1 (in use)" in shown.text
        assert "everyone-to-lado" in shown.text

    async def test_a_published_version_is_not_editable_and_a_worker_may_not_edit(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        active = await rulesets.require_active(seeded, "demo")
        await sign_in(client, "team-manager")
        assert (await client.get(f"/rule-sets/{active.id}/edit")).status_code == 409
        page = await client.get(f"/rule-sets/{active.id}")
        refused = await client.post(
            f"/rule-sets/{active.id}/edit",
            data={"csrf_token": csrf_of(page.text), "name": "x", "rules_json": "{}"},
        )
        assert refused.status_code == 409
        client.cookies.clear()
        await sign_in(client, "social-worker")
        assert (await client.get(f"/rule-sets/{active.id}/edit")).status_code == 403
        assert (await client.get(f"/rule-sets/{active.id}/dry-run")).status_code == 403

    async def test_another_councils_rule_set_is_not_found(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        active = await rulesets.require_active(seeded, "demo")
        other = TriageRuleSet(
            id=uuid.uuid4(),
            council_id="another-council",
            version=1,
            name="Elsewhere",
            status="draft",
            active=False,
            body=active.body,
            created_by="someone",
        )
        seeded.add(other)
        await seeded.flush()
        await sign_in(client, "team-manager")
        for path in ("", "/edit", "/dry-run"):
            response = await client.get(f"/rule-sets/{other.id}{path}")
            assert response.status_code == 404, path
            assert "Elsewhere" not in response.text
        assert await _audits(seeded, "rule_set.dry_run", other.id) == 0


class TestDryRun:
    async def test_the_contacts_whose_proposal_would_change_are_listed_and_the_read_audited(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contacts = [await intake(seeded, referral_event()) for _ in range(2)]
        active = await rulesets.require_active(seeded, "demo")
        await sign_in(client, "team-manager")
        draft = await _draft(client, seeded)
        draft_id = uuid.UUID(draft.rsplit("/", 1)[1])
        same = await client.get(f"{draft}/dry-run")
        assert same.status_code == 200
        assert "0 contact(s) would get a different proposal" in same.text
        row = await seeded.get(TriageRuleSet, draft_id)
        assert row is not None
        await rulesets.update_draft(
            seeded,
            principal=_principal(),
            rule_set_id=draft_id,
            name=None,
            changes={**active.body, "rules": [EVERYONE_TO_LADO, *active.body["rules"]]},
            replace=True,
        )
        page = await client.get(f"{draft}/dry-run")
        assert page.status_code == 200
        assert "2 contact(s) would get a different proposal" in page.text
        for contact in contacts:
            assert f'data-contact="{contact.id}"' in page.text
            assert contact.reference in page.text
        assert "everyone-to-lado" in page.text
        assert "LADO" in page.text
        assert await _audits(seeded, "rule_set.dry_run", draft_id) == 2
        for contact in contacts:  # nothing changed on the contacts themselves
            await seeded.refresh(contact)
            assert contact.lane != "lado"


def _principal() -> Principal:
    return Principal(sub="test-manager", role=Role.team_manager, council_id="demo")
