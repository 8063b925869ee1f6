"""The council admin's and the team manager's journeys in a real browser, axe-core on every
page visited.

1. The admin imports a school from a CSV file (one bad row shown), sets the school's DSL, views
   its term dates, pings an endpoint, opens its attempts log and recovers it after it was
   disabled.
2. The team manager copies the published rule set into a draft, edits it (one JSON error shown,
   then corrected), sees the diff against the published version, and dry-runs it against the
   recent contacts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx

from services.auth import Role
from tests.browser.conftest import Console, assert_accessible, screenshot
from tests.browser.test_journeys import AGENCY, bearer, contact_reference, sign_in_with_mouse
from tests.factories import make_marf

CSV = (
    "URN,EstablishmentName,PhaseOfEducation (name),Postcode,EstablishmentStatus (name)\n"
    "765432,Browser Test Primary,Primary,BD1 1AA,Open\n"
    "12,Not A Urn School,Primary,BD1 1AA,Open\n"
)
EVERYONE_TO_LADO = {
    "id": "everyone-to-lado",
    "when": {"all": [{"fact": "subject_count", "op": "gte", "value": 0}]},
    "then": {"lane": "lado", "contact_type": "lado", "reason": "Dry-run example", "stop": True},
}


class TestAdminJourney:
    def test_import_set_the_dsl_term_dates_attempts_log_and_recover(
        self, console: Console, new_page: Callable[[], Any]
    ) -> None:
        page = new_page()
        page.goto("/admin/schools")
        sign_in_with_mouse(page, "Council admin")
        page.wait_for_url(re.compile(r"/admin/schools$"))
        assert_accessible(page)

        page.get_by_role("button", name="Import schools from a CSV").click()
        page.wait_for_url(re.compile(r"/admin/schools/import$"))
        assert_accessible(page)
        page.get_by_label("The register's CSV file").set_input_files(
            {"name": "register.csv", "mimeType": "text/csv", "buffer": CSV.encode()}
        )
        page.get_by_role("button", name="Import the schools").click()
        counts = page.get_by_test_id("import-counts")
        counts.wait_for()
        assert "1 created" in counts.inner_text()
        assert "1 rejected" in counts.inner_text()
        assert "URN: must be 6 or 7 digits" in page.inner_text("main")
        assert_accessible(page)
        screenshot(page, "admin-import")

        page.get_by_role("link", name="765432").click()
        page.wait_for_url(re.compile(r"/admin/schools/765432$"))
        page.get_by_label("The DSL's email").fill("not an email")
        page.get_by_role("button", name="Save the contacts").click()
        page.locator(".govuk-error-summary").wait_for()
        assert_accessible(page)
        page.get_by_label("The DSL's email").fill("dsl@browser-test.example")
        page.get_by_role("button", name="Save the contacts").click()
        page.get_by_text("DSL and deputy saved").wait_for()
        assert page.get_by_label("The DSL's email").input_value() == "dsl@browser-test.example"
        assert_accessible(page)

        page.get_by_role("link", name="View or replace the term dates").click()
        page.get_by_test_id("uses-council").wait_for()
        assert_accessible(page)

        # The demo school's endpoint (the demo receiver): a ping leaves an attempt in its log,
        # then it is disabled through the API, as the worker does after a long outage.
        admin = bearer(Role.admin)
        endpoints = httpx.get(
            f"{console.base}/v1/schools/107301/endpoints", headers=admin, timeout=10
        ).json()
        endpoint_id = endpoints[0]["id"]
        page.goto("/admin/schools/107301")
        page.get_by_role("button", name=re.compile(r"^Ping")).first.click()
        page.get_by_text(re.compile(r"Ping (answered|failed)")).wait_for()
        disabled = httpx.patch(
            f"{console.base}/v1/endpoints/{endpoint_id}",
            json={"enabled": False, "disabled_reason": "the school's system was down"},
            headers=admin,
            timeout=10,
        )
        assert disabled.status_code == 200, disabled.text
        page.goto(f"/admin/endpoints/{endpoint_id}")
        attempts = page.get_by_test_id("attempts")
        assert "ping" in attempts.inner_text()
        assert "Disabled: the school's system was down" in page.inner_text("main")
        assert_accessible(page)
        page.get_by_role("heading", name="Attempts log").scroll_into_view_if_needed()
        screenshot(page, "admin-attempts")
        page.get_by_role("button", name="Re-enable and resend the failed alerts").click()
        page.get_by_text(re.compile(r"Recovered: \d+ alert")).wait_for()
        assert "Enabled" in page.inner_text("main")
        assert_accessible(page)
        after = httpx.get(
            f"{console.base}/v1/schools/107301/endpoints", headers=admin, timeout=10
        ).json()
        assert [e["enabled"] for e in after if e["id"] == endpoint_id] == [True]


class TestRuleSetJourney:
    def test_edit_a_draft_see_the_diff_and_dry_run_it(
        self, console: Console, new_page: Callable[[], Any]
    ) -> None:
        referrer = bearer(Role.referrer, agency_id=AGENCY)
        submitted = httpx.post(
            f"{console.base}/v1/referrals", json=make_marf(), headers=referrer, timeout=10
        )
        assert submitted.status_code == 201, submitted.text
        reference = contact_reference(console, submitted.json()["reference"])

        page = new_page()
        page.goto("/rule-sets")
        sign_in_with_mouse(page, "Team manager")
        page.wait_for_url(re.compile(r"/rule-sets$"))
        page.get_by_role("link", name="Version 1").click()
        page.get_by_role("button", name="Copy into a new draft").click()
        page.get_by_role("heading", name="Version 2").wait_for()
        page.get_by_role("button", name="Edit this draft").click()
        page.wait_for_url(re.compile(r"/edit$"))
        assert_accessible(page)
        rules = page.get_by_label("Rules (JSON)")
        body = json.loads(rules.input_value())
        rules.fill(json.dumps(body)[:-1])  # the closing brace left off
        page.get_by_role("button", name="Save the draft").click()
        summary = page.locator(".govuk-error-summary")
        summary.wait_for()
        assert "not valid JSON" in summary.inner_text()
        assert_accessible(page)
        body["rules"] = [EVERYONE_TO_LADO, *body["rules"]]
        page.get_by_label("Rules (JSON)").fill(json.dumps(body, indent=2))
        page.get_by_role("button", name="Save the draft").click()
        page.get_by_text("Draft saved.").wait_for()
        assert "What publishing it would change from version 1" in page.inner_text("main")
        assert "everyone-to-lado" in page.inner_text("main")
        assert_accessible(page)

        page.get_by_role("button", name="Dry run against recent contacts").click()
        page.wait_for_url(re.compile(r"/dry-run$"))
        row = page.locator("tr[data-contact]", has_text=reference)
        row.wait_for()
        assert "LADO" in row.inner_text()
        assert_accessible(page)
        screenshot(page, "rule-set-dry-run")
