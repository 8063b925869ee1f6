"""The MASH journey in a real browser against `frontdoor run`, axe-core on every page visited.

A social worker searches for a child, opens the contact, rates it amber (one validation error
shown first) and requests a partner check from health; the health partner signs in, sees the
check, answers it (one validation error shown first); the worker sees the answer, adds a case
note, reads the chronology, and opens the strategy discussion form (its error summary shown).
Screenshots: search, partner-checks, contact-mash.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from services.auth import Role
from tests.browser.conftest import Console, assert_accessible, screenshot
from tests.browser.test_journeys import bearer, sign_in_with_mouse
from tests.factories import make_marf

GIVEN, FAMILY = "Zoë", "O'Hist"


def phone_contact(console: Console) -> dict[str, Any]:
    """A phone contact recorded through the API, about a child the search will find."""
    marf = make_marf()
    # No NHS number or UPN: the demo data's children carry the factory's, and a match on one
    # would attach this contact to that child's record (named as the demo child).
    subject = {**marf["subjects"][0], "given_name": GIVEN, "family_name": FAMILY}
    subjects = [{k: v for k, v in subject.items() if k not in ("nhs_number", "upn")}]
    body = {
        "channel": "phone",
        "kind": "concern",
        "from_professional": True,
        "referral_source": "3B",
        "referrer": {"name": "H. Visitor", "phone": "01274 000000"},
        "subjects": subjects,
        "concerns": marf["concerns"],
        "summary": "Health visitor rang about the home conditions.",
        "received_at": datetime.now(UTC).isoformat(),
    }
    made = httpx.post(
        f"{console.base}/v1/contacts",
        json=body,
        headers=bearer(Role.front_door_worker),
        timeout=10,
    )
    assert made.status_code == 201, made.text
    result: dict[str, Any] = made.json()
    return result


class TestMashJourney:
    def test_search_rate_request_a_check_the_partner_answers_note_and_chronology(
        self, console: Console, new_page: Callable[[], Any]
    ) -> None:
        contact = phone_contact(console)
        reference = contact["reference"]

        worker = new_page()
        worker.goto("/search")
        assert "/sign-in" in worker.url
        sign_in_with_mouse(worker, "Front-door social worker")
        worker.wait_for_url(re.compile(r"/search$"))
        worker.get_by_label("Name", exact=True).fill("zoe ohist")
        worker.get_by_role("button", name="Search").click()
        worker.wait_for_url(re.compile(r"/search$"))
        results = worker.locator("main").inner_text()
        assert "1 child found" in results, results
        assert_accessible(worker)
        worker.locator("#results").evaluate("e => e.scrollIntoView()")
        screenshot(worker, "search")
        worker.get_by_role("link", name=reference).click()
        worker.wait_for_url(re.compile(r"/contacts/"))
        assert_accessible(worker)
        contact_url = worker.url.split("?")[0]

        worker.get_by_label("Amber").check()
        worker.get_by_role("button", name="Save the rating").click()
        summary = worker.locator(".govuk-error-summary")
        summary.wait_for()
        assert "Reason for the rating" in summary.inner_text()
        assert_accessible(worker)
        worker.get_by_label("Amber").check()
        worker.get_by_label("Reason for the rating").fill("Neglect; no immediate risk.")
        worker.get_by_role("button", name="Save the rating").click()
        worker.get_by_text("RAG rating recorded.").wait_for()
        worker.get_by_label("Health", exact=True).check()
        worker.get_by_role("button", name="Request the checks").click()
        worker.get_by_text("Partner checks requested.").wait_for()
        assert_accessible(worker)

        partner = new_page()
        partner.goto("/")
        sign_in_with_mouse(partner, "MASH partner, health")
        partner.wait_for_url(re.compile(r"/partner/checks$"))
        partner.get_by_role("heading", name="Checks for my agency").wait_for()
        assert_accessible(partner)
        screenshot(partner, "partner-checks")
        partner.get_by_role("link", name=re.compile("^Answer")).first.click()
        partner.wait_for_url(re.compile(r"/partner/checks/[0-9a-f-]{36}$"))
        assert_accessible(partner)
        partner.get_by_label("Known to us", exact=True).check()
        partner.get_by_role("button", name="Save the answer").click()
        errors = partner.locator(".govuk-error-summary")
        errors.wait_for()
        assert "Summary" in errors.inner_text()
        assert_accessible(partner)
        partner.get_by_label("Known to us", exact=True).check()
        partner.get_by_label("Summary of what you hold").fill(
            "Two missed health visitor appointments since August."
        )
        partner.get_by_label("Risk indicators").fill("missed appointments")
        partner.get_by_label("Researched by").fill("Nurse Example")
        partner.get_by_role("button", name="Save the answer").click()
        partner.get_by_text("Your answer is recorded").wait_for()
        assert_accessible(partner)

        worker.goto(contact_url)
        assert "Two missed health visitor appointments since August." in worker.inner_text("main")
        worker.get_by_label("Add a case note").fill("Spoke to the health visitor: visit booked.")
        worker.get_by_role("button", name="Add the note").click()
        worker.get_by_text("Case note added.").wait_for()
        timeline = worker.locator("#chronology + .moj-timeline")
        text = timeline.inner_text()
        for title in ("Contact received", "RAG rating", "Partner check", "Case note"):
            assert title in text, title
        assert_accessible(worker)
        worker.locator("#checks").evaluate("e => e.scrollIntoView()")
        screenshot(worker, "contact-mash")

        worker.get_by_role("link", name="Record a strategy discussion").click()
        worker.get_by_role("heading", name="Record a strategy discussion").wait_for()
        assert_accessible(worker)
        worker.get_by_role("button", name="Record the discussion").click()
        worker.locator(".govuk-error-summary").wait_for()
        assert "Decision" in worker.locator(".govuk-error-summary").inner_text()
        assert_accessible(worker)
