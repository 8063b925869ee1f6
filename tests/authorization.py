"""The authorization matrix: every endpoint x role x own/foreign resource -> the answer.

This table is the specification. `tests/test_authorization_matrix.py` checks it three ways:
every route of the three apps has exactly one row (a new endpoint without its row fails), every
role's answer on every endpoint is the one written here (real requests), and
docs/authorization.md is this table rendered (`python -m tests.authorization --write`).

"Foreign" is a record of another council, agency or school than the caller's: it answers as if
it did not exist (404, or an empty list) - never 403, which would say it exists. The test named
in the last column proves that for the endpoint.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "authorization.md"

ROLES = (
    "referrer",
    "front_door_worker",
    "team_manager",
    "dv_screener",
    "police_feed",
    "school_dsl",
    "admin",
    "mash_partner",
    "case_system",
    "auditor",
)
PUBLIC = ("public",)

_STAFF = ("front_door_worker", "team_manager", "dv_screener", "admin")
_MANAGERS = ("team_manager", "admin")
_DECIDERS = ("front_door_worker", "team_manager")
_SCREENERS = ("front_door_worker", "dv_screener")
_DIRECTORY = ("school_dsl", "admin")
_MASH = ("front_door_worker", "team_manager")
_MASH_AND_PARTNERS = (*_MASH, "mash_partner")

_REF_ISO = "tests/referral_api/test_council_isolation.py"
_NOTIF_ISO = "tests/notifications/test_council_isolation.py"
_TRIAGE_ISO = (
    "tests/triage/test_contacts_api.py::TestReadContact::test_unknown_and_foreign_contacts_are_404"
)
_CHECK_ISO = (
    "tests/triage/test_mash_checks.py::TestPartnerAnswers::"
    "test_another_agency_s_check_is_not_found_and_the_attempt_audited"
)
_HANDOVER_ISO = (
    "tests/triage/test_mash_handover.py::TestReads::test_another_council_s_handover_is_404"
)
_WELFARE_ISO = (
    "tests/notifications/test_welfare_checks.py::TestAnotherCouncil::"
    "test_another_councils_admin_gets_404_on_the_history_and_detail"
)
_TERMS_ISO = (
    "tests/notifications/test_council_terms.py::TestCouncilScoping::"
    "test_each_admin_sees_and_replaces_only_their_councils_calendar"
)
_SHARING_ISO = (
    "tests/notifications/test_force_sharing_per_council.py::TestTheApi::"
    "test_each_admin_reads_and_sets_only_their_councils_configuration"
)
# Every other endpoint's proof: one parametrised case per row (tests/test_council_isolation_all.py).
_ALL_ISO = "tests/test_council_isolation_all.py::test_a_token_of_another_council_sees_nothing"
_AUDIT_ISO = (
    "tests/triage/test_audit_api.py::TestTheAuditorsView::"
    "test_another_councils_auditor_sees_nothing"
)


@dataclass(frozen=True)
class Row:
    service: str
    method: str
    path: str
    roles: tuple[str, ...]
    # 404 | empty list | own council only | n/a
    foreign: str = "n/a"
    proof: str = ""


MATRIX: tuple[Row, ...] = (
    # --- platform (every service) ----------------------------------------------------------
    *(
        Row(service, "GET", path, PUBLIC)
        for service in ("referral_api", "triage", "notifications")
        for path in ("/healthz", "/readyz")
    ),
    # --- referral_api ----------------------------------------------------------------------
    Row("referral_api", "POST", "/v1/referrals", ("referrer",), "n/a", _REF_ISO),
    Row("referral_api", "GET", "/v1/referrals", ("referrer",), "empty list", _REF_ISO),
    Row("referral_api", "GET", "/v1/referrals/{reference}", ("referrer",), "404", _REF_ISO),
    Row(
        "referral_api", "POST", "/v1/referrals/{reference}/addenda", ("referrer",), "404", _REF_ISO
    ),
    Row("referral_api", "GET", "/v1/referrals/{reference}/addenda", ("referrer",), "404", _REF_ISO),
    Row("referral_api", "GET", "/v1/reference-data", PUBLIC),
    # --- triage ----------------------------------------------------------------------------
    Row("triage", "POST", "/v1/contacts", _STAFF),
    Row("triage", "GET", "/v1/queue", _STAFF, "own council only", _ALL_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}", _STAFF, "404", _TRIAGE_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/claim", _STAFF, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/release", _STAFF, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/assign", _MANAGERS, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/decision", _DECIDERS, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/sign-off", ("team_manager",), "404", _ALL_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/feedback", _DECIDERS, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/screening", _SCREENERS, "404", _ALL_ISO),
    Row(
        "triage",
        "POST",
        "/v1/contacts/{contact_id}/clocks/{kind}/pause",
        _MANAGERS,
        "404",
        _ALL_ISO,
    ),
    Row(
        "triage",
        "POST",
        "/v1/contacts/{contact_id}/clocks/{kind}/resume",
        _MANAGERS,
        "404",
        _ALL_ISO,
    ),
    Row(
        "triage", "POST", "/v1/contacts/{contact_id}/clocks/{kind}/met", _DECIDERS, "404", _ALL_ISO
    ),
    Row("triage", "GET", "/v1/rule-sets", _STAFF, "own council only", _ALL_ISO),
    Row("triage", "POST", "/v1/rule-sets", _MANAGERS),
    Row("triage", "GET", "/v1/rule-sets/{rule_set_id}", _STAFF, "404", _ALL_ISO),
    Row("triage", "PUT", "/v1/rule-sets/{rule_set_id}", _MANAGERS, "404", _ALL_ISO),
    Row("triage", "PATCH", "/v1/rule-sets/{rule_set_id}", _MANAGERS, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/rule-sets/{rule_set_id}/publish", _MANAGERS, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/rule-sets/{rule_set_id}/evaluate", _STAFF, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/rule-sets/{rule_set_id}/diff", _STAFF, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/reports/in-progress", _MANAGERS, "own council only", _ALL_ISO),
    Row("triage", "GET", "/v1/reports/unallocated", _MANAGERS, "own council only", _ALL_ISO),
    Row("triage", "GET", "/v1/reports/kpis", _MANAGERS, "own council only", _ALL_ISO),
    Row("triage", "GET", "/v1/audit", ("auditor",), "empty list", _AUDIT_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/follow-up-claim", _DECIDERS, "404", _ALL_ISO),
    Row(
        "triage",
        "POST",
        "/v1/contacts/{contact_id}/screening/resolution",
        ("team_manager",),
        "404",
        _ALL_ISO,
    ),
    Row("triage", "GET", "/v1/reports/scorecard", _MANAGERS, "own council only", _ALL_ISO),
    Row("triage", "GET", "/v1/exports/cin-referrals", _MANAGERS, "own council only", _ALL_ISO),
    Row(
        "triage",
        "GET",
        "/v1/exports/cin-referrals/validation",
        _MANAGERS,
        "own council only",
        _ALL_ISO,
    ),
    Row(
        "triage", "PUT", "/v1/contacts/{contact_id}/assessment-factors", _DECIDERS, "404", _ALL_ISO
    ),
    Row("triage", "PUT", "/v1/contacts/{contact_id}/disabilities", _DECIDERS, "404", _ALL_ISO),
    Row("triage", "PUT", "/v1/contacts/{contact_id}/closure", _DECIDERS, "404", _ALL_ISO),
    # --- triage: the MASH's own work -------------------------------------------------------
    Row("triage", "POST", "/v1/contacts/{contact_id}/rag", _MASH, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}/rag", _MASH, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/checks", _MASH, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}/checks", _MASH_AND_PARTNERS, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/checks", ("mash_partner",), "own agency only", _ALL_ISO),
    Row("triage", "GET", "/v1/checks/{check_id}", _MASH_AND_PARTNERS, "404", _CHECK_ISO),
    Row("triage", "POST", "/v1/checks/{check_id}/response", ("mash_partner",), "404", _CHECK_ISO),
    Row("triage", "GET", "/v1/reports/partner-checks", _MANAGERS, "own council only", _ALL_ISO),
    Row("triage", "POST", "/v1/contacts/{contact_id}/strategy-discussions", _MASH, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}/strategy-discussions", _MASH, "404", _ALL_ISO),
    Row(
        "triage",
        "POST",
        "/v1/contacts/{contact_id}/strategy-discussions/{discussion_id}/actions/{action_id}/done",
        _MASH,
        "404",
        "tests/triage/test_mash_strategy.py::TestActions::test_an_action_of_another_discussion_is_404",
    ),
    Row(
        "triage",
        "GET",
        "/v1/contacts/{contact_id}/strategy-discussions/{discussion_id}/summary",
        _MASH,
        "404",
        _ALL_ISO,
    ),
    Row(
        "triage",
        "GET",
        "/v1/contacts/{contact_id}/strategy-discussions/{discussion_id}/summary.txt",
        _MASH,
        "404",
        _ALL_ISO,
    ),
    Row("triage", "POST", "/v1/contacts/{contact_id}/notes", _MASH, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}/notes", _MASH, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}/chronology", _MASH, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}/mash", _MASH, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/handovers/{handover_id}", ("case_system",), "404", _HANDOVER_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}/handovers", _MASH, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/children/search", _MASH, "own council only", _ALL_ISO),
    Row("triage", "GET", "/v1/children/{child_id}", _MASH, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/children/{child_id}/flags", _MASH, "404", _ALL_ISO),
    Row("triage", "PUT", "/v1/children/{child_id}/restriction", _MANAGERS, "404", _ALL_ISO),
    Row("triage", "GET", "/v1/contacts/{contact_id}/children", _MASH, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/child-links/{link_id}/confirm", _MASH, "404", _ALL_ISO),
    Row("triage", "POST", "/v1/child-links/{link_id}/split", _MASH, "404", _ALL_ISO),
    # --- notifications ---------------------------------------------------------------------
    Row("notifications", "GET", "/v1/schools", _DIRECTORY, "empty list", _NOTIF_ISO),
    Row("notifications", "POST", "/v1/schools", ("admin",)),
    Row("notifications", "POST", "/v1/schools/import", ("admin",), "row rejected", _NOTIF_ISO),
    Row("notifications", "GET", "/v1/schools/{urn}", _DIRECTORY, "404", _NOTIF_ISO),
    Row("notifications", "PATCH", "/v1/schools/{urn}", _DIRECTORY, "404", _NOTIF_ISO),
    Row("notifications", "GET", "/v1/schools/{urn}/endpoints", _DIRECTORY, "404", _NOTIF_ISO),
    Row("notifications", "POST", "/v1/schools/{urn}/endpoints", _DIRECTORY, "404", _NOTIF_ISO),
    Row("notifications", "PATCH", "/v1/endpoints/{endpoint_id}", _DIRECTORY, "404", _NOTIF_ISO),
    Row(
        "notifications",
        "POST",
        "/v1/endpoints/{endpoint_id}/rotate-secret",
        _DIRECTORY,
        "404",
        _NOTIF_ISO,
    ),
    Row("notifications", "POST", "/v1/endpoints/{endpoint_id}/ping", _DIRECTORY, "404", _NOTIF_ISO),
    Row(
        "notifications",
        "POST",
        "/v1/endpoints/{endpoint_id}/recover",
        ("admin",),
        "404",
        _NOTIF_ISO,
    ),
    Row(
        "notifications",
        "POST",
        "/v1/encompass/batches",
        ("police_feed",),
        "to the EHE contact",
        _NOTIF_ISO,
    ),
    Row(
        "notifications",
        "POST",
        "/v1/encompass/incidents",
        ("police_feed",),
        "to the EHE contact",
        _NOTIF_ISO,
    ),
    *(
        Row(
            "notifications",
            method,
            "/v1/encompass/forces/{force_id}/sharing",
            ("admin",),
            "own council only",
            _SHARING_ISO,
        )
        for method in ("GET", "PUT")
    ),
    Row("notifications", "GET", "/v1/encompass/ehe-tasks", ("admin",), "empty list", _NOTIF_ISO),
    Row("notifications", "GET", "/v1/notifications", _DIRECTORY, "empty list", _NOTIF_ISO),
    Row(
        "notifications",
        "GET",
        "/v1/notifications/{notification_id}",
        _DIRECTORY,
        "404",
        _NOTIF_ISO,
    ),
    Row(
        "notifications",
        "POST",
        "/v1/notifications/{notification_id}/acknowledge",
        ("school_dsl",),
        "404",
        _NOTIF_ISO,
    ),
    Row(
        "notifications",
        "POST",
        "/v1/notifications/{notification_id}/welfare-check",
        ("school_dsl",),
        "404",
        _NOTIF_ISO,
    ),
    Row(
        "notifications",
        "GET",
        "/v1/notifications/{notification_id}/attempts",
        ("admin",),
        "404",
        _NOTIF_ISO,
    ),
    Row(
        "notifications",
        "POST",
        "/v1/notifications/{notification_id}/resend",
        ("admin",),
        "404",
        _NOTIF_ISO,
    ),
    Row(
        "notifications",
        "GET",
        "/v1/encompass/reports/unacknowledged",
        ("admin",),
        "own council only",
        _NOTIF_ISO,
    ),
    Row(
        "notifications",
        "GET",
        "/v1/notifications/{notification_id}/welfare-checks",
        _DIRECTORY,
        "404",
        _WELFARE_ISO,
    ),
    Row(
        "notifications",
        "GET",
        "/v1/notifications/{notification_id}/corrections",
        ("admin",),
        "404",
        _ALL_ISO,
    ),
    Row(
        "notifications", "GET", "/v1/council/term-dates", ("admin",), "own council only", _TERMS_ISO
    ),
    Row(
        "notifications", "PUT", "/v1/council/term-dates", ("admin",), "own council only", _TERMS_ISO
    ),
    Row(
        "notifications",
        "POST",
        "/v1/council/term-dates/import",
        ("admin",),
        "own council only",
        _ALL_ISO,
    ),
    Row(
        "notifications",
        "GET",
        "/v1/council/alert-contacts",
        ("admin",),
        "own council only",
        _ALL_ISO,
    ),
    Row(
        "notifications",
        "PUT",
        "/v1/council/alert-contacts",
        ("admin",),
        "own council only",
        _ALL_ISO,
    ),
)

# --- the console's pages (HTML, signed in with a session cookie) ------------------------------
# The roles that have pages, each with the development sign-in identity the test signs in as.
# Referrers, the police feed, the case system and auditors use the API only: a page that
# admits any signed-in user (`ANY_SIGNED_IN`) shows them a pointer to the API.
PAGE_ROLES: dict[str, str] = {
    "front_door_worker": "social-worker",
    "team_manager": "team-manager",
    "dv_screener": "dv-screener",
    "school_dsl": "dsl",
    "admin": "admin",
    "mash_partner": "mash-partner",
}
ANY_SIGNED_IN = ("any signed-in role",)
_P_STAFF = ("front_door_worker", "team_manager", "dv_screener", "admin")
_P_SCHOOL = ("school_dsl", "admin")


@dataclass(frozen=True)
class Page:
    service: str
    method: str
    path: str
    roles: tuple[str, ...]
    # what an admitted role gets: a page (200) or, for a form, a redirect (303)
    success: int = 200


def _sign_in_pages(service: str) -> tuple[Page, ...]:
    return (
        Page(service, "GET", "/sign-in", PUBLIC),
        Page(service, "POST", "/sign-in", PUBLIC, 303),
        Page(service, "GET", "/sign-in/oidc", PUBLIC, 303),
        Page(service, "GET", "/sign-in/callback", PUBLIC, 303),
        Page(service, "POST", "/sign-out", ANY_SIGNED_IN, 303),
        Page(service, "GET", "/", ANY_SIGNED_IN, 303),
        Page(service, "GET", "/home", ANY_SIGNED_IN),
    )


PAGES: tuple[Page, ...] = (
    *_sign_in_pages("triage"),
    Page("triage", "GET", "/queue", _P_STAFF),
    Page("triage", "GET", "/queue/rows", _P_STAFF),
    Page("triage", "GET", "/sign-offs", ("team_manager",)),
    Page("triage", "GET", "/contacts/{contact_id}", _P_STAFF),
    Page("triage", "POST", "/contacts/{contact_id}/claim", _P_STAFF, 303),
    Page("triage", "POST", "/contacts/{contact_id}/release", _P_STAFF, 303),
    Page("triage", "POST", "/contacts/{contact_id}/assign", _MANAGERS, 303),
    Page("triage", "GET", "/contacts/{contact_id}/decision", _DECIDERS),
    Page("triage", "POST", "/contacts/{contact_id}/decision", _DECIDERS, 303),
    Page("triage", "POST", "/contacts/{contact_id}/sign-off", ("team_manager",), 303),
    Page("triage", "POST", "/contacts/{contact_id}/feedback", _DECIDERS, 303),
    Page("triage", "POST", "/contacts/{contact_id}/screening", _SCREENERS, 303),
    Page("triage", "POST", "/contacts/{contact_id}/clocks/{kind}/pause", _MANAGERS, 303),
    Page("triage", "POST", "/contacts/{contact_id}/clocks/{kind}/resume", _MANAGERS, 303),
    Page("triage", "POST", "/contacts/{contact_id}/rag", _MASH, 303),
    Page("triage", "POST", "/contacts/{contact_id}/checks", _MASH, 303),
    Page("triage", "POST", "/contacts/{contact_id}/notes", _MASH, 303),
    Page("triage", "GET", "/contacts/{contact_id}/strategy-discussions/new", _MASH),
    Page("triage", "POST", "/contacts/{contact_id}/strategy-discussions", _MASH, 303),
    Page("triage", "GET", "/contacts/{contact_id}/strategy-discussions/{discussion_id}", _MASH),
    Page(
        "triage",
        "POST",
        "/contacts/{contact_id}/strategy-discussions/{discussion_id}/actions/{action_id}/done",
        _MASH,
        303,
    ),
    Page(
        "triage",
        "GET",
        "/contacts/{contact_id}/strategy-discussions/{discussion_id}/summary.txt",
        _MASH,
    ),
    Page("triage", "GET", "/search", _MASH),
    Page("triage", "POST", "/search", _MASH),
    Page("triage", "GET", "/partner/checks", ("mash_partner",)),
    Page("triage", "GET", "/partner/checks/{check_id}", ("mash_partner",)),
    Page("triage", "POST", "/partner/checks/{check_id}", ("mash_partner",), 303),
    Page("triage", "GET", "/reports", _MANAGERS),
    Page("triage", "GET", "/rule-sets", _P_STAFF),
    Page("triage", "GET", "/rule-sets/{rule_set_id}", _P_STAFF),
    Page("triage", "POST", "/rule-sets/{rule_set_id}/copy", _MANAGERS, 303),
    Page("triage", "POST", "/rule-sets/{rule_set_id}/publish", _MANAGERS, 303),
    Page("triage", "GET", "/rule-sets/{rule_set_id}/edit", _MANAGERS),
    Page("triage", "POST", "/rule-sets/{rule_set_id}/edit", _MANAGERS, 303),
    Page("triage", "GET", "/rule-sets/{rule_set_id}/dry-run", _MANAGERS),
    *_sign_in_pages("notifications"),
    Page("notifications", "GET", "/school/notifications", _P_SCHOOL),
    Page("notifications", "GET", "/school/notifications/{notification_id}", _P_SCHOOL),
    Page(
        "notifications",
        "POST",
        "/school/notifications/{notification_id}/acknowledge",
        ("school_dsl",),
        303,
    ),
    Page(
        "notifications",
        "POST",
        "/school/notifications/{notification_id}/welfare-check",
        ("school_dsl",),
        303,
    ),
    Page("notifications", "GET", "/admin/schools", ("admin",)),
    Page("notifications", "GET", "/admin/schools/{urn}", ("admin",)),
    Page("notifications", "POST", "/admin/schools/{urn}/endpoints", ("admin",), 303),
    Page("notifications", "POST", "/admin/endpoints/{endpoint_id}/rotate-secret", ("admin",), 303),
    Page("notifications", "POST", "/admin/endpoints/{endpoint_id}/ping", ("admin",), 303),
    Page("notifications", "GET", "/admin/unacknowledged", ("admin",)),
    Page("notifications", "GET", "/admin/schools/import", ("admin",)),
    Page("notifications", "POST", "/admin/schools/import", ("admin",)),
    Page("notifications", "POST", "/admin/schools/{urn}/contacts", ("admin",), 303),
    Page("notifications", "GET", "/admin/schools/{urn}/term-dates", ("admin",)),
    Page("notifications", "POST", "/admin/schools/{urn}/term-dates", ("admin",), 303),
    Page("notifications", "GET", "/admin/council", ("admin",)),
    Page("notifications", "POST", "/admin/council/term-dates", ("admin",), 303),
    Page("notifications", "POST", "/admin/council/alert-contacts", ("admin",), 303),
    Page("notifications", "GET", "/admin/endpoints/{endpoint_id}", ("admin",)),
    Page("notifications", "POST", "/admin/endpoints/{endpoint_id}/recover", ("admin",), 303),
)


def page_cell(page: Page, role: str) -> str:
    if page.roles in (PUBLIC, ANY_SIGNED_IN) or role in page.roles:
        return str(page.success)
    return "403"


# Served but not API endpoints: the interactive docs and the schema (the other engineer's
# production settings decide whether they are public), and /metrics (its own bearer token).
NOT_IN_MATRIX = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/metrics"})


def cell(row: Row, role: str, success: int) -> str:
    if row.roles == PUBLIC:
        return str(success)
    return str(success) if role in row.roles else "403"


def render(successes: dict[tuple[str, str, str], int]) -> str:
    """docs/authorization.md, from MATRIX and each route's success status."""
    lines = [
        "# Authorization matrix",
        "",
        "Generated from `tests/authorization.py` by `python -m tests.authorization --write`;",
        "`tests/test_authorization_matrix.py` fails when this page, the table or the routes",
        "drift apart, and sends every role to every endpoint to check its answer.",
        "",
        "How to read it: the status each role gets on its own council's (agency's, school's)",
        "records; `403` means the role may not use the endpoint at all. Without a valid token",
        "every endpoint but the public ones answers `401`. The *foreign* column is what a caller",
        "gets for a record of another council, agency or school: as if it did not exist (`404`,",
        "an empty list), never `403` (that would confirm it exists). Inside an allowed role,",
        "some rules narrow further (a DSL sees only their own school; a DV screener works",
        "only the DV lane; a referrer sees only their agency's referrals) and answer `404` the",
        "same way.",
        "",
        "| Service | Endpoint | " + " | ".join(ROLES) + " | Foreign record | Proved by |",
        "|---|---|" + "---|" * len(ROLES) + "---|---|",
    ]
    for row in MATRIX:
        success = successes[(row.service, row.method, row.path)]
        cells = [cell(row, role, success) for role in ROLES]
        proof = f"`{row.proof}`" if row.proof else ""
        lines.append(
            f"| {row.service} | `{row.method} {row.path}` | "
            + " | ".join(cells)
            + f" | {row.foreign} | {proof} |"
        )
    lines += [
        "",
        "Not in the table: `/docs`, `/redoc`, `/openapi.json` (the interactive documentation)",
        "and `/metrics` (Prometheus, behind `METRICS_TOKEN`).",
        "",
        "## The console's pages",
        "",
        "The pages are signed in with a session cookie, not a bearer token; the role is the",
        "session's. The test signs in as each role below through the development sign-in page",
        "and asks for every page (a form is posted with the session's own form token, so a",
        "refusal is the role's and not an expired form): a role the page is not for gets the",
        '`403` page ("Your role does not use this page"); a browser with no live session is',
        "sent to `/sign-in` (`303`) and brought back after signing in; signing out ends the",
        "session. An admitted role gets the page (`200`), or for a form a redirect (`303`), or",
        "the not-found page (`404`) for a record that does not exist. The pages call the same",
        "services as the API, so another council's, agency's or school's record is not found",
        "there either (the API rows above name the tests). The other roles (referrer, police",
        "feed, MASH partner, case system, auditor) have no pages: signed in through the",
        "council's identity provider they get `/`, `/home` (which points them to the API) and",
        "`/sign-out`, and `403` everywhere else by the same role lists; the development",
        "sign-in does not offer them, so the test does not sign in as them.",
        "",
        "| Service | Page | " + " | ".join(PAGE_ROLES) + " |",
        "|---|---|" + "---|" * len(PAGE_ROLES),
    ]
    for page in PAGES:
        who = "public" if page.roles == PUBLIC else ""
        cells = [who or page_cell(page, role) for role in PAGE_ROLES]
        lines.append(
            f"| {page.service} | `{page.method} {page.path}` | " + " | ".join(cells) + " |"
        )
    lines.append("")
    return "\n".join(lines)


def successes_from_apps() -> dict[tuple[str, str, str], int]:
    """Each route's documented success status (200 unless it declares another; the intake's
    direct route declares none, its documented twin 201)."""
    found: dict[tuple[str, str, str], int] = {}
    for service, method, path, status in routes_of_apps():
        found[(service, method, path)] = max(found.get((service, method, path), 0), status)
    return found


def routes_of_apps() -> list[tuple[str, str, str, int]]:
    """(service, method, path, success status) for every route of the three apps."""
    from fastapi.routing import iter_route_contexts

    from services.registry import APPS, SERVICES, load

    out = []
    for service in SERVICES:
        app = load(APPS[service])()
        for route in iter_route_contexts(app.routes):
            if route.path in NOT_IN_MATRIX:
                continue
            status = getattr(route, "status_code", None) or 200
            for method in sorted((route.methods or set()) - {"HEAD"}):
                out.append((service, method, str(route.path), int(status)))
    return out


def main(argv: list[str]) -> int:
    text = render(successes_from_apps())
    if "--write" in argv:
        DOC.write_text(text)
        print(f"wrote {DOC}")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
