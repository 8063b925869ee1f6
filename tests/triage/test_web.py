"""The triage pages: the same service calls, rules, audit rows and errors as the API."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry
from services.models.triage import TriageContact, TriageDecision, TriageScreening
from tests.triage.conftest import dv_notification, intake, referral_event
from tests.web.helpers import post_form, sign_in
from triage.dependencies import triage_settings
from triage.settings import TriageSettings


async def _contact(session: AsyncSession) -> TriageContact:
    return await intake(session, referral_event())


async def _audits(session: AsyncSession, action: str, entity_id: object) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.entity_id == str(entity_id))
    )
    return int(count or 0)


class TestQueuePage:
    async def test_a_signed_out_browser_is_sent_to_sign_in_and_back(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/queue?lane=mash")
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=%2Fqueue%3Flane%3Dmash"
        signed_in = await sign_in(client, "social-worker", "/queue?lane=mash")
        assert signed_in.headers["location"] == "/queue?lane=mash"

    async def test_the_queue_lists_the_contact_with_its_deadline_and_audits_the_read(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contact = await _contact(seeded)
        await sign_in(client, "social-worker")
        page = await client.get("/queue")
        assert page.status_code == 200
        assert contact.reference in page.text
        assert "left" in page.text or "overdue" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        rows = await client.get("/queue/rows")
        assert contact.reference in rows.text
        assert "<html" not in rows.text
        assert await _audits(seeded, "queue.read", "demo") == 2

    async def test_the_dv_screener_sees_only_the_dv_lane(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contact = await _contact(seeded)
        await sign_in(client, "dv-screener")
        page = await client.get("/queue")
        assert contact.reference not in page.text
        assert (await client.get(f"/contacts/{contact.id}")).status_code == 404

    async def test_a_school_dsl_may_not_open_the_queue(self, client: httpx.AsyncClient) -> None:
        await sign_in(client, "dsl")
        assert (await client.get("/queue")).status_code == 403


class TestWorkingAContact:
    async def test_claim_decide_with_an_error_then_sign_off(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contact = await _contact(seeded)
        page = f"/contacts/{contact.id}"
        await sign_in(client, "social-worker")
        shown = await client.get(page)
        assert shown.status_code == 200
        assert contact.reference in shown.text
        assert await _audits(seeded, "contact.read", contact.id) == 1
        claimed = await post_form(client, f"{page}/claim", {}, from_page=page)
        assert claimed.status_code == 303
        decision = {
            "contact_type": "referral",
            "outcome": "s17_assessment",
            "level": "3",
            "rationale": "Cumulative neglect; assessment needed.",
            "consent_state": "given",
        }
        form = f"{page}/decision"
        refused = await post_form(client, form, decision, from_page=form)
        assert refused.status_code == 422
        assert "govuk-error-summary" in refused.text
        assert 'href="#primary_need_code"' in refused.text
        assert await seeded.scalar(select(func.count()).select_from(TriageDecision)) == 0
        decision["primary_need_code"] = "N1"
        made = await post_form(client, form, decision, from_page=form)
        assert made.status_code == 303, made.text
        await seeded.refresh(contact)
        assert contact.status == "awaiting_sign_off"
        client.cookies.clear()
        await sign_in(client, "team-manager")
        approved = await post_form(
            client, f"{page}/sign-off", {"action": "approve"}, from_page=page
        )
        assert approved.status_code == 303
        await seeded.refresh(contact)
        assert str(contact.status) == "decided"  # refreshed: no longer the narrowed value
        assert await _audits(seeded, "contact.sign_off.approve", contact.id) == 1

    async def test_a_form_without_the_session_token_is_refused(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contact = await _contact(seeded)
        await sign_in(client, "social-worker")
        response = await client.post(f"/contacts/{contact.id}/claim", data={"csrf_token": "x"})
        assert response.status_code == 403
        await seeded.refresh(contact)
        assert contact.lease_holder is None

    async def test_a_contact_held_by_someone_else_is_a_conflict_page(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contact = await _contact(seeded)
        page = f"/contacts/{contact.id}"
        await sign_in(client, "team-manager")
        assert (await post_form(client, f"{page}/claim", {}, from_page=page)).status_code == 303
        client.cookies.clear()
        await sign_in(client, "social-worker")
        taken = await post_form(client, f"{page}/claim", {}, from_page=page)
        assert taken.status_code == 409
        assert "Another worker holds this contact." in taken.text


class TestManagersPages:
    async def test_reports_show_each_chart_with_its_table_and_are_audited(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contact = await _contact(seeded)
        await sign_in(client, "team-manager")
        page = await client.get("/reports")
        assert page.status_code == 200
        assert page.text.count("<svg") == 2
        assert "Contacts in progress by lane" in page.text
        assert contact.reference in page.text
        assert "KPIs against their targets" in page.text
        assert await _audits(seeded, "report.in_progress", "demo") == 1

    async def test_a_social_worker_may_not_see_the_reports(self, client: httpx.AsyncClient) -> None:
        await sign_in(client, "social-worker")
        assert (await client.get("/reports")).status_code == 403

    async def test_a_manager_copies_the_active_rule_set_and_publishes_the_draft(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        await sign_in(client, "team-manager")
        listing = await client.get("/rule-sets")
        assert "Version 1" in listing.text
        active = listing.text.split('href="/rule-sets/')[1].split('"')[0]
        copied = await post_form(
            client, f"/rule-sets/{active}/copy", {}, from_page=f"/rule-sets/{active}"
        )
        assert copied.status_code == 303
        draft = copied.headers["location"]
        shown = await client.get(draft)
        assert "Version 2" in shown.text
        assert "Nothing: the same rules." in shown.text
        published = await post_form(client, f"{draft}/publish", {}, from_page=draft)
        assert published.status_code == 303
        again = await post_form(client, f"{draft}/publish", {}, from_page=draft)
        assert again.status_code == 409


class TestQueuePaging:
    async def test_the_page_shows_the_apis_page_size_with_a_next_page_link(
        self, client: httpx.AsyncClient, seeded: AsyncSession, app: FastAPI
    ) -> None:
        for _ in range(3):
            await _contact(seeded)
        await sign_in(client, "social-worker")
        app.dependency_overrides[triage_settings] = lambda: TriageSettings(queue_page_default=2)
        try:
            first = await client.get("/queue")
            assert first.text.count("data-contact=") == 2
            next_link = re.search(r'href="(/queue\?cursor=[^"]+)" rel="next"', first.text)
            assert next_link is not None
            second = await client.get(next_link.group(1).replace("&amp;", "&"))
            assert second.text.count("data-contact=") == 1  # three contacts in all
            assert 'rel="next"' not in second.text
            firsts = set(re.findall(r'data-contact="([^"]+)"', first.text))
            assert firsts.isdisjoint(re.findall(r'data-contact="([^"]+)"', second.text))
            bad = await client.get("/queue?cursor=not-a-cursor")
            assert bad.status_code == 200  # a mangled link shows the first page
        finally:
            del app.dependency_overrides[triage_settings]


class TestManagersWork:
    async def test_pause_needs_a_reason_then_pause_and_resume_are_audited(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contact = await _contact(seeded)
        page = f"/contacts/{contact.id}"
        await sign_in(client, "team-manager")
        shown = await client.get(page)
        kind = re.findall(r"/clocks/([a-z_0-9]+)/pause", shown.text)[0]
        refused = await post_form(client, f"{page}/clocks/{kind}/pause", {}, from_page=page)
        assert refused.status_code == 422
        assert "Reason for pausing" in refused.text
        paused = await post_form(
            client, f"{page}/clocks/{kind}/pause", {"reason": "Awaiting police"}, from_page=page
        )
        assert paused.status_code == 303
        assert await _audits(seeded, "clock.pause", contact.id) == 1
        resumed = await post_form(client, f"{page}/clocks/{kind}/resume", {}, from_page=page)
        assert resumed.status_code == 303
        assert await _audits(seeded, "clock.resume", contact.id) == 1

    async def test_a_manager_allocates_a_contact(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        contact = await _contact(seeded)
        page = f"/contacts/{contact.id}"
        await sign_in(client, "team-manager")
        empty = await post_form(client, f"{page}/assign", {"assignee": " "}, from_page=page)
        assert empty.status_code == 422
        done = await post_form(client, f"{page}/assign", {"assignee": "worker-7"}, from_page=page)
        assert done.status_code == 303
        await seeded.refresh(contact)
        assert contact.assigned_to == "worker-7"

    async def test_the_dv_screener_screens_a_notification_from_its_page(
        self, client: httpx.AsyncClient, seeded: AsyncSession, screener: dict[str, str]
    ) -> None:
        recorded = await client.post("/v1/contacts", json=dv_notification(), headers=screener)
        assert recorded.status_code == 201, recorded.text
        page = f"/contacts/{recorded.json()['id']}"
        await sign_in(client, "dv-screener")
        assert "DV screening" in (await client.get(page)).text
        refused = await post_form(client, f"{page}/screening", {"rationale": ""}, from_page=page)
        assert refused.status_code == 422
        done = await post_form(
            client,
            f"{page}/screening",
            {"route_to": "early_help", "rationale": "Standard risk; early help offer."},
            from_page=page,
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == "/queue?lane=dv_screening"
        screened = await seeded.scalar(select(TriageScreening))
        assert screened is not None
        assert screened.route_to == "early_help"
        # Screening is joint: one view routes nothing, the contact waits in the DV lane for the
        # social worker's (docs/safeguarding-rules.md), and the screener can still open it.
        assert (await client.get(page)).status_code == 200
        contact = await seeded.get(TriageContact, uuid.UUID(recorded.json()["id"]))
        assert contact is not None
        await seeded.refresh(contact)
        assert contact.lane == "dv_screening"


class TestRestrictedChild:
    async def test_the_console_hides_a_restricted_child_s_contact_from_people_not_named(
        self, client: httpx.AsyncClient, seeded: AsyncSession
    ) -> None:
        from services.models.mash import MashChild, MashChildLink

        contact = await _contact(seeded)
        await sign_in(client, "social-worker")
        assert contact.reference in (await client.get("/queue")).text
        child_ids = list(
            await seeded.scalars(
                select(MashChildLink.child_id).where(MashChildLink.contact_id == contact.id)
            )
        )
        assert child_ids, "the contact's child is linked when it opens"
        for child_id in child_ids:
            child = await seeded.get(MashChild, child_id)
            assert child is not None
            child.restricted = True  # named: no one (the signed-in worker is not named)
        await seeded.flush()
        assert contact.reference not in (await client.get("/queue")).text
        assert contact.reference not in (await client.get("/queue/rows")).text
        assert (await client.get(f"/contacts/{contact.id}")).status_code == 404
        assert await _audits(seeded, "access.refused", contact.id) == 1
