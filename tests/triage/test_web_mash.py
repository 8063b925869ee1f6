"""The MASH pages: search, the partner's checks, and the contact page's MASH sections.

Each page calls the same service function as its endpoint, so the tests check what the API's
tests check from the other door: the rules, the audit rows, the refusals ("not found" for
another agency's check or a restricted child) and the 422 error summaries.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import (
    MashCaseNote,
    MashPartnerCheck,
    MashStrategyAction,
    MashStrategyDiscussion,
)
from services.models.triage import TriageContact
from tests.triage.mash_support import Headers, audit_actions, new_contact
from tests.triage.test_mash_children import child, links
from tests.web.helpers import csrf_of, post_form, sign_in


def _summary_links(html: str) -> list[str]:
    """The error summary's links (each names the field it is about)."""
    summary = html.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="(#[^"]+)"', summary)


def _ids_are_unique(html: str) -> None:
    """Every id once (the error summary's links and the labels depend on it)."""
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert sorted({i for i in ids if ids.count(i) > 1}) == []


async def _contact(client: httpx.AsyncClient, worker: Headers, **overrides: Any) -> dict[str, Any]:
    # Received now: the demo office hours and the contact's clocks are then as a worker sees them.
    return await new_contact(client, worker, received_at=datetime.now(UTC).isoformat(), **overrides)


async def _request_checks(
    client: httpx.AsyncClient, worker: Headers, contact_id: str, agencies: list[str]
) -> dict[str, str]:
    response = await client.post(
        f"/v1/contacts/{contact_id}/checks", json={"agencies": agencies}, headers=worker
    )
    assert response.status_code == 201, response.text
    return {c["agency_id"]: c["id"] for c in response.json()}


class TestSearchPage:
    async def test_a_worker_finds_the_child_by_name_ignoring_accents_and_sees_the_contacts(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _contact(
            client, worker, subjects=child(given_name="Zoë", family_name="O'Hist")
        )
        await sign_in(client, "social-worker")
        page = await client.get("/search")
        assert page.status_code == 200
        assert 'href="/search"' in page.text  # in the service navigation
        found = await post_form(client, "/search", {"name": "ZOE OHIST"}, from_page="/search")
        assert found.status_code == 200, found.text
        assert "1 child found" in found.text
        _ids_are_unique(found.text)
        assert f'href="/contacts/{contact["id"]}"' in found.text
        assert contact["reference"] in found.text
        assert found.headers["cache-control"] == "no-store"
        actions = await audit_actions(seeded, "demo")
        assert "child.search" in actions
        # The criteria are posted, never put in the URL (history, access logs).
        assert "ZOE" not in str(found.url)

    async def test_by_nhs_number_and_date_of_birth(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await _contact(client, worker)
        dob = datetime.fromisoformat(child()[0]["date_of_birth"]).date()
        await sign_in(client, "social-worker")
        form = {
            "nhs_number": "999 000 1006",
            "date_of_birth-day": str(dob.day),
            "date_of_birth-month": str(dob.month),
            "date_of_birth-year": str(dob.year),
        }
        found = await post_form(client, "/search", form, from_page="/search")
        assert found.status_code == 200
        assert contact["reference"] in found.text

    async def test_an_empty_search_and_a_bad_nhs_number_are_the_error_summary(
        self, client: httpx.AsyncClient
    ) -> None:
        await sign_in(client, "social-worker")
        empty = await post_form(client, "/search", {}, from_page="/search")
        assert empty.status_code == 422
        assert _summary_links(empty.text) == ["#name"]
        bad = await post_form(client, "/search", {"nhs_number": "123"}, from_page="/search")
        assert bad.status_code == 422
        assert _summary_links(bad.text) == ["#nhs_number"]
        assert 'value="123"' in bad.text  # the form is kept
        day = {"date_of_birth-day": "31", "date_of_birth-month": "2", "date_of_birth-year": "2019"}
        impossible = await post_form(client, "/search", day, from_page="/search")
        assert impossible.status_code == 422
        assert _summary_links(impossible.text) == ["#date_of_birth"]

    async def test_a_restricted_child_is_not_found_and_the_attempt_is_audited(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        manager: Headers,
        seeded: AsyncSession,
    ) -> None:
        contact = await _contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        restricted = await client.put(
            f"/v1/children/{child_id}/restriction",
            json={"restricted": True, "named": ["worker-1"]},
            headers=manager,
        )
        assert restricted.status_code == 200
        await sign_in(client, "social-worker")
        found = await post_form(
            client, "/search", {"nhs_number": "9990001006"}, from_page="/search"
        )
        assert found.status_code == 200
        assert "0 children found" in found.text
        assert contact["reference"] not in found.text
        assert "child.refused" in await audit_actions(seeded, child_id)
        opened = await client.get(f"/contacts/{contact['id']}")
        assert opened.status_code == 404

    async def test_only_the_mash_staff_search(self, client: httpx.AsyncClient) -> None:
        for identity in ("dv-screener", "mash-partner", "dsl"):
            client.cookies.clear()
            await sign_in(client, identity)
            assert (await client.get("/search")).status_code == 403


class TestPartnerPages:
    async def test_the_partner_sees_its_agency_s_checks_with_overdue_tagged_and_answers_one(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _contact(client, worker)
        ids = await _request_checks(client, worker, contact["id"], ["health", "police"])
        late = datetime.now(UTC) - timedelta(hours=1)
        await seeded.execute(
            update(MashPartnerCheck)
            .where(MashPartnerCheck.id == uuid.UUID(ids["health"]))
            .values(due_at=late)
        )
        await sign_in(client, "mash-partner")
        assert (await client.get("/")).headers["location"] == "/partner/checks"
        listed = await client.get("/partner/checks")
        assert listed.status_code == 200
        assert f'href="/partner/checks/{ids["health"]}"' in listed.text
        assert ids["police"] not in listed.text  # another agency's check
        assert "Overdue" in listed.text
        assert "check.read_agency" in await audit_actions(seeded, "health")
        page = f"/partner/checks/{ids['health']}"
        shown = await client.get(page)
        assert shown.status_code == 200
        _ids_are_unique(shown.text)
        assert "What does your agency hold?" in shown.text
        answer = {
            "outcome": "known",
            "summary": "Two missed health appointments this year.",
            "risk_indicators": "missed appointments\nneglect",
            "latest_involvement_on-day": "2",
            "latest_involvement_on-month": "10",
            "latest_involvement_on-year": "2026",
            "researched_by": "Nurse Example",
        }
        done = await post_form(client, page, answer, from_page=page)
        assert done.status_code == 303, done.text
        check = await seeded.get(MashPartnerCheck, uuid.UUID(ids["health"]))
        assert check is not None
        await seeded.refresh(check)
        assert (check.status, check.known, check.researched_by) == (
            "answered",
            True,
            "Nurse Example",
        )
        assert check.risk_indicators == ["missed appointments", "neglect"]
        assert check.latest_involvement_on is not None
        assert check.latest_involvement_on.isoformat() == "2026-10-02"
        assert "check.answered" in await audit_actions(seeded, ids["health"])
        again = await client.get(page)
        assert "Known to us" in again.text
        assert "Save the answer" not in again.text
        # The MASH sees the answer on the contact.
        client.cookies.clear()
        await sign_in(client, "social-worker")
        contact_page = await client.get(f"/contacts/{contact['id']}")
        assert "Two missed health appointments this year." in contact_page.text
        assert "Answered late" in contact_page.text

    async def test_each_incomplete_answer_is_the_error_summary_and_nothing_is_written(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _contact(client, worker)
        ids = await _request_checks(client, worker, contact["id"], ["health"])
        page = f"/partner/checks/{ids['health']}"
        await sign_in(client, "mash-partner")
        cases: list[tuple[dict[str, str], list[str]]] = [
            ({}, ["#outcome"]),
            ({"outcome": "known", "researched_by": "N"}, ["#summary"]),
            ({"outcome": "not_known"}, ["#summary", "#researched_by"]),
            ({"outcome": "declined"}, ["#declined_reason"]),
            (
                {"outcome": "nothing_held", "researched_by": "N", "summary": "x"},
                ["#summary"],
            ),
            (
                {
                    "outcome": "known",
                    "summary": "s",
                    "researched_by": "N",
                    "latest_involvement_on-day": "40",
                    "latest_involvement_on-month": "1",
                    "latest_involvement_on-year": "2026",
                },
                ["#latest_involvement_on"],
            ),
        ]
        for form, expected in cases:
            response = await post_form(client, page, form, from_page=page)
            assert response.status_code == 422, form
            assert _summary_links(response.text) == expected, form
        check = await seeded.get(MashPartnerCheck, uuid.UUID(ids["health"]))
        assert check is not None
        await seeded.refresh(check)
        assert check.status == "requested"
        declined = {"outcome": "declined", "declined_reason": "Needs consent we do not have."}
        assert (await post_form(client, page, declined, from_page=page)).status_code == 303
        await seeded.refresh(check)
        assert (check.status, check.declined_reason) == (
            "declined",
            "Needs consent we do not have.",
        )

    async def test_another_agency_s_check_is_not_found_and_the_attempt_is_audited(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _contact(client, worker)
        ids = await _request_checks(client, worker, contact["id"], ["health", "police"])
        await sign_in(client, "mash-partner")
        other = f"/partner/checks/{ids['police']}"
        shown = await client.get(other)
        missing = await client.get(f"/partner/checks/{uuid.uuid4()}")
        assert shown.status_code == missing.status_code == 404
        assert "Page not found" in shown.text
        assert "partner_check.refused" in await audit_actions(seeded, ids["police"])
        csrf = csrf_of((await client.get("/partner/checks")).text)
        posted = await client.post(
            other, data={"csrf_token": csrf, "outcome": "declined", "declined_reason": "x"}
        )
        assert posted.status_code == 404
        check = await seeded.get(MashPartnerCheck, uuid.UUID(ids["police"]))
        assert check is not None
        await seeded.refresh(check)
        assert check.status == "requested"

    async def test_a_partner_may_not_open_the_queue_or_a_contact(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await _contact(client, worker)
        await sign_in(client, "mash-partner")
        assert (await client.get("/queue")).status_code == 403
        assert (await client.get(f"/contacts/{contact['id']}")).status_code == 403


class TestContactSections:
    async def test_rate_request_checks_note_and_see_the_chronology(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _contact(client, worker)
        cid = contact["id"]
        page = f"/contacts/{cid}"
        await sign_in(client, "social-worker")
        shown = await client.get(page)
        assert shown.status_code == 200
        for heading in ("RAG rating", "Partner checks", "Strategy discussions", "Case notes"):
            assert heading in shown.text
        assert 'class="moj-timeline"' in shown.text
        # RAG: the reason is required; then the rating and its history show.
        refused = await post_form(client, f"{page}/rag", {"rag": "amber"}, from_page=page)
        assert refused.status_code == 422
        assert _summary_links(refused.text) == ["#rag_reason"]
        rated = await post_form(
            client,
            f"{page}/rag",
            {"rag": "amber", "rag_reason": "Neglect, no immediate risk."},
            from_page=page,
        )
        assert rated.status_code == 303, rated.text
        row = await seeded.get(TriageContact, uuid.UUID(cid))
        assert row is not None
        await seeded.refresh(row)
        assert row.rag == "amber"
        assert "contact.rag" in await audit_actions(seeded, cid)
        # Checks: at least one agency; then each is listed with its status.
        none = await post_form(client, f"{page}/checks", {}, from_page=page)
        assert none.status_code == 422
        assert _summary_links(none.text) == ["#agencies"]
        assert "choose at least one agency" in none.text
        unlisted = await post_form(client, f"{page}/checks", {"agencies": "mi5"}, from_page=page)
        assert unlisted.status_code == 422
        assert "not a partner agency here" in unlisted.text
        asked = await post_form(client, f"{page}/checks", {"agencies": "health"}, from_page=page)
        assert asked.status_code == 303, asked.text
        checks = (
            await seeded.scalars(
                select(MashPartnerCheck).where(MashPartnerCheck.contact_id == row.id)
            )
        ).all()
        assert [c.agency_id for c in checks] == ["health"]
        await seeded.execute(
            update(MashPartnerCheck)
            .where(MashPartnerCheck.contact_id == row.id)
            .values(due_at=datetime.now(UTC) - timedelta(minutes=5))
        )
        # Notes: text required; a correction names the note it corrects.
        empty = await post_form(client, f"{page}/notes", {"note_text": " "}, from_page=page)
        assert empty.status_code == 422
        assert _summary_links(empty.text) == ["#note_text"]
        noted = await post_form(
            client, f"{page}/notes", {"note_text": "Rang the school."}, from_page=page
        )
        assert noted.status_code == 303
        first = await seeded.scalar(select(MashCaseNote).where(MashCaseNote.contact_id == row.id))
        assert first is not None
        corrected = await post_form(
            client,
            f"{page}/notes",
            {"note_text": "Rang the nursery, not the school.", "note_corrects_id": str(first.id)},
            from_page=page,
        )
        assert corrected.status_code == 303
        wrong = await post_form(
            client,
            f"{page}/notes",
            {"note_text": "x", "note_corrects_id": str(uuid.uuid4())},
            from_page=page,
        )
        assert wrong.status_code == 422
        assert _summary_links(wrong.text) == ["#note_corrects_id"]
        final = await client.get(page)
        _ids_are_unique(final.text)
        assert "1 overdue" in final.text
        assert "Rang the nursery, not the school." in final.text
        assert f'href="#note-{first.id}"' in final.text  # the correction points at the note
        timeline = final.text.split('id="chronology"', 1)[1]
        for title in ("Contact received", "RAG rating", "Partner check", "Case note"):
            assert title in timeline
        actions = await audit_actions(seeded, cid)
        for action in ("check.read_contact", "note.read", "contact.chronology", "note.add"):
            assert action in actions

    async def test_a_strategy_discussion_is_recorded_listed_and_shared(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _contact(client, worker)
        cid = contact["id"]
        form_page = f"/contacts/{cid}/strategy-discussions/new"
        await sign_in(client, "social-worker")
        blank = await client.get(form_page)
        assert blank.status_code == 200
        _ids_are_unique(blank.text)
        empty = await post_form(
            client, f"/contacts/{cid}/strategy-discussions", {}, from_page=form_page
        )
        assert empty.status_code == 422
        links_ = _summary_links(empty.text)
        for field in ("#held_at", "#formal", "#participants", "#information_shared", "#decision"):
            assert field in links_
        # A minute on (within the API's slack for clocks): not before the contact's receipt.
        now = datetime.now(UTC).astimezone(ZoneInfo("Europe/London")) + timedelta(minutes=1)
        due = now + timedelta(days=3)
        form = {
            "held_at-day": str(now.day),
            "held_at-month": str(now.month),
            "held_at-year": str(now.year),
            "held_at-time": f"{now.hour:02d}:{now.minute:02d}",
            "formal": "no",
            "participants-0-name": "DS Example",
            "participants-0-role": "Detective sergeant",
            "participants-0-agency": "Police",
            "participants-1-name": "A. Worker",
            "participants-1-role": "Social worker",
            "participants-1-agency": "Children's social care",
            "information_shared": "Police hold two call-outs.",
            "decision": "joint_agency_s47",
            "actions-0-description": "Visit the family",
            "actions-0-owner": "A. Worker",
            "actions-0-due_on-day": str(due.day),
            "actions-0-due_on-month": str(due.month),
            "actions-0-due_on-year": str(due.year),
        }
        not_said = await post_form(
            client, f"/contacts/{cid}/strategy-discussions", form, from_page=form_page
        )
        assert not_said.status_code == 422  # not formal: it must say why
        assert _summary_links(not_said.text) == ["#not_formal_reason"]
        form["not_formal_reason"] = "EDT call out of hours."
        made = await post_form(
            client, f"/contacts/{cid}/strategy-discussions", form, from_page=form_page
        )
        assert made.status_code == 303, made.text
        discussion = await seeded.scalar(
            select(MashStrategyDiscussion).where(
                MashStrategyDiscussion.contact_id == uuid.UUID(cid)
            )
        )
        assert discussion is not None
        assert not discussion.formal
        shown = await client.get(f"/contacts/{cid}")
        assert "not a formal strategy discussion" in shown.text
        assert "Visit the family" in shown.text
        action = await seeded.scalar(
            select(MashStrategyAction).where(MashStrategyAction.discussion_id == discussion.id)
        )
        assert action is not None
        done = await post_form(
            client,
            f"/contacts/{cid}/strategy-discussions/{discussion.id}/actions/{action.id}/done",
            {},
            from_page=f"/contacts/{cid}",
        )
        assert done.status_code == 303
        await seeded.refresh(action)
        assert action.done_on is not None
        assert action.done_recorded_by == "demo-social-worker"
        assert "strategy.action_done" in await audit_actions(seeded, cid)
        summary = f"/contacts/{cid}/strategy-discussions/{discussion.id}"
        assert f'href="{summary}"' in shown.text
        page = await client.get(summary)
        assert page.status_code == 200
        assert "DS Example, Detective sergeant, Police" in page.text
        text = await client.get(f"{summary}/summary.txt")
        assert text.status_code == 200
        assert text.headers["content-type"].startswith("text/plain")
        assert "Police hold two call-outs." in text.text
        assert "strategy.summary" in await audit_actions(seeded, cid)

    async def test_the_mash_work_of_a_restricted_child_s_contact_is_not_found(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        manager: Headers,
        seeded: AsyncSession,
    ) -> None:
        contact = await _contact(client, worker)
        child_id = (await links(client, worker, contact["id"]))[0]["child_id"]
        await client.put(
            f"/v1/children/{child_id}/restriction",
            json={"restricted": True, "named": ["worker-1"]},
            headers=manager,
        )
        await sign_in(client, "social-worker")
        csrf = csrf_of((await client.get("/search")).text)
        page = f"/contacts/{contact['id']}"
        for path, data in (
            (f"{page}/notes", {"note_text": "x"}),
            (f"{page}/rag", {"rag": "red", "rag_reason": "x"}),
            (f"{page}/checks", {"agencies": "health"}),
        ):
            response = await client.post(path, data={"csrf_token": csrf, **data})
            assert response.status_code == 404, path
            assert "Page not found" in response.text
        summary = await client.get(f"{page}/strategy-discussions/new")
        assert summary.status_code == 404
        assert "contact.refused" in await audit_actions(seeded, contact["id"])
        assert await seeded.scalar(select(MashCaseNote.id)) is None

    async def test_the_admin_sees_no_mash_sections_and_may_not_add_a_note(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        contact = await _contact(client, worker)
        await sign_in(client, "admin")
        shown = await client.get(f"/contacts/{contact['id']}")
        assert shown.status_code == 200
        assert "Partner checks" not in shown.text
        assert (await client.post(f"/contacts/{contact['id']}/notes")).status_code == 403
