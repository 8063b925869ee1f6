"""A token of another council sees nothing: one case per endpoint of the authorization matrix.

For every row of `tests/authorization.py` whose proof names this module, the test seeds the
records of council A (the demo council) through the real API over a real PostgreSQL, then
calls the endpoint with a token of council B that has the row's first admitted role and the
same sub, agency and school as A's own caller - only `council_id` differs, so only the council
scoping can refuse it:

- a row answering `404` for a foreign record: B gets 404, nothing of A's is in the body, A's
  record reads the same afterwards (a refused write changed nothing), and then A's own token,
  with the same request, is *not* answered 404 or 422 (the record exists and the request is
  valid: the 404 was the council's, not a typo's);
- a row answering with the caller's own council only (lists, reports, exports, settings): B's
  answer carries nothing of A's, is the answer of a council that never had any data (a third
  council's), and differs from A's own answer (which does carry A's data); a write changes
  only B's own council, A's answer reads the same before and after.

`test_every_row_naming_this_module_has_its_case` fails when a row points here without a case.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.main import create_app as notifications_app
from notifications.settings import NotificationsSettings, get_notifications_settings
from services.settings import get_settings
from tests.authorization import MATRIX, Row
from tests.conftest import ClientFactory, TokenFactory
from tests.factories import (
    ISOLATED_FAMILY_NAME,
    ISOLATED_GIVEN_NAME,
    ISOLATED_NHS_NUMBER,
    make_decision,
    make_dv_notification,
    make_phone_contact,
    make_strategy_discussion,
)
from tests.notifications.conftest import create_school, incident
from triage import demo
from triage.main import create_app as triage_app
from triage.rules.bradford import BRADFORD_RULE_SET

HERE = "tests/test_council_isolation_all.py"
PROOF = f"{HERE}::test_a_token_of_another_council_sees_nothing"
OWN = "demo"
FOREIGN = "another-council"
THIRD = "a-council-with-nothing"
URN = "610077"
CLAIMS: dict[str, dict[str, str]] = {
    "mash_partner": {"agency_id": "police"},
    "school_dsl": {"school_urn": URN},
    "police_feed": {"agency_id": "west-yorkshire-police"},
}
TERMS_CSV = "Term,Start,End\nAutumn 1,03/09/2025,24/10/2025\n"

Json = dict[str, Any] | list[Any] | None


@dataclass
class World:
    """Council A's records, by the names the cases' paths use."""

    ids: dict[str, str]
    markers: tuple[str, ...]
    triage: httpx.AsyncClient
    notifications: httpx.AsyncClient


@dataclass(frozen=True)
class Case:
    """How to call one row: its path's values, its body, and A's record a write must leave."""

    body: Json = None
    content: str | None = None
    params: dict[str, str] | None = None
    # the GET (on A's token) whose answer a refused foreign call must leave unchanged
    witness: str | None = None
    # the clock a clock route names
    kind: str = "decision"
    # what A's own GET answers (A's world, not B's: it may refuse A's records, naming them)
    own_status: int = 200


_CONTACT = "/v1/contacts/{contact_id}"
# A closure A may record on its contact received today: on its referral date, not in the future.
_TODAY = datetime.now(ZoneInfo("Europe/London")).date().isoformat()
_CHILD = "/v1/children/{child_id}"
_LINKS = "/v1/contacts/{contact_id}/children"
_RULES = "/v1/rule-sets/{rule_set_id}"
_DV = "/v1/contacts/{dv_contact_id}"

CASES: dict[tuple[str, str, str], Case] = {
    # --- triage: the contact and its clocks ------------------------------------------------
    ("triage", "GET", "/v1/queue"): Case(),
    ("triage", "POST", "/v1/contacts/{contact_id}/claim"): Case(witness=_CONTACT),
    ("triage", "POST", "/v1/contacts/{contact_id}/release"): Case(witness=_CONTACT),
    ("triage", "POST", "/v1/contacts/{contact_id}/assign"): Case(
        {"assignee": "worker-9"}, witness=_CONTACT
    ),
    ("triage", "POST", "/v1/contacts/{contact_id}/decision"): Case(
        make_decision(), witness=_CONTACT
    ),
    ("triage", "POST", "/v1/contacts/{contact_id}/sign-off"): Case(
        {"action": "approve"}, witness=_CONTACT
    ),
    ("triage", "POST", "/v1/contacts/{contact_id}/feedback"): Case(
        {"feedback": "Thank you.", "next_steps": "Early help worker to call."}, witness=_CONTACT
    ),
    ("triage", "POST", "/v1/contacts/{contact_id}/screening"): Case(
        {"route_to": "mash", "rationale": "My view: mash."}, witness=_CONTACT
    ),
    ("triage", "POST", "/v1/contacts/{contact_id}/clocks/{kind}/pause"): Case(
        {"reason": "Family abroad."}, witness=_CONTACT
    ),
    ("triage", "POST", "/v1/contacts/{contact_id}/clocks/{kind}/resume"): Case(witness=_CONTACT),
    # Only the assessment and ICPC clocks are met by hand; this contact has neither, so A's own
    # call is the clock's 404, not the contact's.
    ("triage", "POST", "/v1/contacts/{contact_id}/clocks/{kind}/met"): Case(
        {}, witness=_CONTACT, kind="assessment"
    ),
    ("triage", "POST", "/v1/contacts/{contact_id}/follow-up-claim"): Case(
        {"action": "separate", "note": "Another family."}, witness=_CONTACT
    ),
    ("triage", "POST", "/v1/contacts/{dv_contact_id}/screening/resolution"): Case(
        {"route_to": "mash", "rationale": "Third incident this year: MASH."}, witness=_DV
    ),
    ("triage", "PUT", "/v1/contacts/{contact_id}/assessment-factors"): Case(
        {"factors": ["3A"]}, witness=_CONTACT
    ),
    ("triage", "PUT", "/v1/contacts/{contact_id}/disabilities"): Case(
        {"child": 1, "disabilities": ["AUT"]}, witness=_CONTACT
    ),
    ("triage", "PUT", "/v1/contacts/{contact_id}/closure"): Case(
        {"child": 1, "closed_on": _TODAY, "reason": "RC7"}, witness=_CONTACT
    ),
    # --- triage: rule sets -----------------------------------------------------------------
    ("triage", "GET", "/v1/rule-sets"): Case(),
    ("triage", "GET", _RULES): Case(),
    ("triage", "PUT", _RULES): Case({"name": "taken", "body": BRADFORD_RULE_SET}, witness=_RULES),
    ("triage", "PATCH", _RULES): Case({"name": "taken"}, witness=_RULES),
    ("triage", "POST", f"{_RULES}/publish"): Case(witness=_RULES),
    ("triage", "POST", f"{_RULES}/evaluate"): Case(
        {"facts": {"contact_kind": "concern", "channel": "phone"}}
    ),
    ("triage", "GET", f"{_RULES}/diff"): Case(),
    # --- triage: reports and exports -------------------------------------------------------
    ("triage", "GET", "/v1/reports/in-progress"): Case(),
    ("triage", "GET", "/v1/reports/unallocated"): Case(),
    ("triage", "GET", "/v1/reports/kpis"): Case(),
    ("triage", "GET", "/v1/reports/scorecard"): Case(),
    # A's contacts of the year are still open: A's own export is refused, listing them (FD03).
    ("triage", "GET", "/v1/exports/cin-referrals"): Case(params={"year": "2027"}, own_status=422),
    ("triage", "GET", "/v1/exports/cin-referrals/validation"): Case(params={"year": "2027"}),
    ("triage", "GET", "/v1/reports/partner-checks"): Case(),
    # --- triage: the MASH's work -----------------------------------------------------------
    ("triage", "POST", "/v1/contacts/{contact_id}/rag"): Case(
        {"rag": "red", "reason": "Taken over."}, witness="/v1/contacts/{contact_id}/rag"
    ),
    ("triage", "GET", "/v1/contacts/{contact_id}/rag"): Case(),
    ("triage", "POST", "/v1/contacts/{contact_id}/checks"): Case(
        {"agencies": ["health"]}, witness="/v1/contacts/{contact_id}/checks"
    ),
    ("triage", "GET", "/v1/contacts/{contact_id}/checks"): Case(),
    ("triage", "GET", "/v1/checks"): Case(),
    ("triage", "POST", "/v1/contacts/{contact_id}/strategy-discussions"): Case(
        make_strategy_discussion(), witness="/v1/contacts/{contact_id}/strategy-discussions"
    ),
    ("triage", "GET", "/v1/contacts/{contact_id}/strategy-discussions"): Case(),
    (
        "triage",
        "GET",
        "/v1/contacts/{contact_id}/strategy-discussions/{discussion_id}/summary",
    ): Case(),
    (
        "triage",
        "GET",
        "/v1/contacts/{contact_id}/strategy-discussions/{discussion_id}/summary.txt",
    ): Case(),
    ("triage", "POST", "/v1/contacts/{contact_id}/notes"): Case(
        {"text": "Written by another council."}, witness="/v1/contacts/{contact_id}/notes"
    ),
    ("triage", "GET", "/v1/contacts/{contact_id}/notes"): Case(),
    ("triage", "GET", "/v1/contacts/{contact_id}/chronology"): Case(),
    ("triage", "GET", "/v1/contacts/{contact_id}/mash"): Case(),
    ("triage", "GET", "/v1/contacts/{contact_id}/handovers"): Case(),
    ("triage", "GET", "/v1/children/search"): Case(params={"nhs_number": ISOLATED_NHS_NUMBER}),
    ("triage", "GET", _CHILD): Case(),
    ("triage", "POST", f"{_CHILD}/flags"): Case(
        {"flag": "cse", "active": True, "risk_level": "medium", "reason": "Police intelligence"},
        witness=_CHILD,
    ),
    ("triage", "PUT", f"{_CHILD}/restriction"): Case(
        {"restricted": True, "named": ["worker-1"]}, witness=_CHILD
    ),
    ("triage", "GET", _LINKS): Case(),
    ("triage", "POST", "/v1/child-links/{link_id}/confirm"): Case(witness=_LINKS),
    ("triage", "POST", "/v1/child-links/{link_id}/split"): Case(witness=_LINKS),
    # --- notifications ---------------------------------------------------------------------
    ("notifications", "GET", "/v1/notifications/{notification_id}/corrections"): Case(),
    ("notifications", "POST", "/v1/council/term-dates/import"): Case(
        content=TERMS_CSV, witness="/v1/council/term-dates"
    ),
    ("notifications", "GET", "/v1/council/alert-contacts"): Case(),
    ("notifications", "PUT", "/v1/council/alert-contacts"): Case(
        {"duty_manager_email": "foreign.duty@elsewhere.example"},
        witness="/v1/council/alert-contacts",
    ),
}

# The matrix writes `{contact_id}` for every contact route; the screening resolution needs the
# DV contact (a phone contact has no screening to resolve), so its case names it apart.
_ALIASES = {
    ("triage", "POST", "/v1/contacts/{contact_id}/screening/resolution"): (
        "triage",
        "POST",
        "/v1/contacts/{dv_contact_id}/screening/resolution",
    )
}


def _case_key(row: Row) -> tuple[str, str, str]:
    key = (row.service, row.method, row.path)
    return _ALIASES.get(key, key)


ROWS = [row for row in MATRIX if row.proof == PROOF]


def test_every_row_naming_this_module_has_its_case() -> None:
    assert ROWS, "no row of the matrix names this module"
    missing = [f"{r.method} {r.path}" for r in ROWS if _case_key(r) not in CASES]
    assert missing == []
    unused = set(CASES) - {_case_key(r) for r in ROWS}
    assert unused == set(), "cases for rows that do not name this module"


# --- council A's records, through the real API -----------------------------------------------


def _ok(response: httpx.Response, *statuses: int) -> Any:
    assert response.status_code in (statuses or (200, 201)), (
        response.request.method,
        response.request.url,
        response.status_code,
        response.text,
    )
    return response.json()


@pytest.fixture
def nsettings(database_url: str) -> NotificationsSettings:
    return NotificationsSettings(public_base_url="http://frontdoor.test")


@pytest.fixture
async def world(
    session: AsyncSession,
    client_for: ClientFactory,
    auth: TokenFactory,
    nsettings: NotificationsSettings,
) -> AsyncIterator[World]:
    await demo.seed(session, get_settings())
    triage_api: FastAPI = triage_app()
    notifications_api: FastAPI = notifications_app()
    notifications_api.dependency_overrides[get_notifications_settings] = lambda: nsettings
    async with client_for(triage_api) as t, client_for(notifications_api) as n:
        worker = auth("front_door_worker", sub="worker-1")
        manager = auth("team_manager", sub="manager-1")
        screener = auth("dv_screener", sub="screener-1", agency_id="west-yorkshire-police")
        # The MASH contact: claimed, rated, checked, discussed, noted.
        contact = _ok(await t.post("/v1/contacts", json=make_phone_contact(), headers=worker))
        cid = contact["id"]
        _ok(await t.post(f"/v1/contacts/{cid}/claim", headers=worker))
        _ok(
            await t.post(
                f"/v1/contacts/{cid}/rag", json={"rag": "amber", "reason": "r"}, headers=worker
            )
        )
        _ok(
            await t.post(
                f"/v1/contacts/{cid}/checks", json={"agencies": ["police"]}, headers=worker
            )
        )
        discussion = _ok(
            await t.post(
                f"/v1/contacts/{cid}/strategy-discussions",
                json=make_strategy_discussion(),
                headers=worker,
            )
        )
        _ok(
            await t.post(f"/v1/contacts/{cid}/notes", json={"text": "Mother rang."}, headers=worker)
        )
        (link, *_) = _ok(await t.get(f"/v1/contacts/{cid}/children", headers=worker))
        # A decided referral: what the CIN census export and its check count.
        decided = _ok(await t.post("/v1/contacts", json=make_phone_contact(), headers=worker))
        _ok(await t.post(f"/v1/contacts/{decided['id']}/claim", headers=worker))
        _ok(
            await t.post(
                f"/v1/contacts/{decided['id']}/decision", json=make_decision(), headers=worker
            )
        )
        status = _ok(await t.get(f"/v1/contacts/{decided['id']}", headers=worker))["status"]
        assert status == "decided", status
        # A DV notification the two screeners disagree on: a team manager resolves it.
        dv = _ok(await t.post("/v1/contacts", json=make_dv_notification(), headers=worker))
        screening = f"/v1/contacts/{dv['id']}/screening"
        view = {"route_to": "mash", "rationale": "My view: mash."}
        _ok(await t.post(screening, json=view, headers=screener))
        _ok(await t.post(screening, json={**view, "route_to": "advice"}, headers=worker))
        rule_sets = _ok(await t.get("/v1/rule-sets", headers=manager))
        (active,) = [r["id"] for r in rule_sets if r["active"]]
        # A school of council A with one Encompass notification.
        await create_school(session, urn=URN)
        child = {"given_name": ISOLATED_GIVEN_NAME, "family_name": ISOLATED_FAMILY_NAME}
        alerted = _ok(
            await n.post(
                "/v1/encompass/incidents",
                json=incident("ISO-ALL-1", children=[{**child, "school_urn": URN}]),
                headers=auth("police_feed", agency_id="west-yorkshire-police"),
            )
        )
        _ok(
            await n.put(
                "/v1/council/alert-contacts",
                json={"duty_manager_email": "duty.tm@bradford.example"},
                headers=auth("admin"),
            )
        )
        ids = {
            "contact_id": cid,
            "dv_contact_id": dv["id"],
            "discussion_id": discussion["id"],
            "child_id": link["child_id"],
            "link_id": link["id"],
            "rule_set_id": active,
            "notification_id": alerted["children"][0]["notification_id"],
        }
        markers = (
            cid,
            dv["id"],
            decided["id"],
            decided["reference"],
            link["child_id"],
            contact["reference"],
            ISOLATED_GIVEN_NAME,
            ISOLATED_FAMILY_NAME,
            ISOLATED_NHS_NUMBER,
            "duty.tm@bradford.example",
            ids["notification_id"],
        )
        yield World(ids=ids, markers=markers, triage=t, notifications=n)


# --- the calls ----------------------------------------------------------------------------


def _token(auth: TokenFactory, role: str, council: str) -> dict[str, str]:
    return auth(role, sub=f"test-{role}", council_id=council, **CLAIMS.get(role, {}))


def _normalised(response: httpx.Response) -> str:
    """The body with the caller's council id and the moment-dependent fields taken out."""
    text = response.text
    for council in (OWN, FOREIGN, THIRD):
        text = text.replace(council, "<council>")
    return re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?", "<time>", text)


async def _send(
    world: World,
    row: Row,
    case: Case,
    headers: dict[str, str],
    ids: dict[str, str] | None = None,
) -> httpx.Response:
    client = world.triage if row.service == "triage" else world.notifications
    path = _case_key(row)[2].format(**{**world.ids, "kind": case.kind, **(ids or {})})
    kwargs: dict[str, Any] = {"headers": dict(headers), "params": case.params}
    if case.content is not None:
        kwargs["content"] = case.content.encode()
        kwargs["headers"]["content-type"] = "text/csv"
    elif case.body is not None:
        kwargs["json"] = case.body
    elif row.method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    return await client.request(row.method, path, **kwargs)


async def _witness(world: World, row: Row, case: Case, auth: TokenFactory) -> str | None:
    if case.witness is None:
        return None
    client = world.triage if row.service == "triage" else world.notifications
    response = await client.get(
        case.witness.format(**world.ids), headers=_token(auth, row.roles[0], OWN)
    )
    assert response.status_code == 200, (case.witness, response.text)
    return _normalised(response)


def _carries_nothing_of_a(world: World, response: httpx.Response) -> list[str]:
    return [m for m in world.markers if m in response.text]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r.service} {r.method} {r.path}")
async def test_a_token_of_another_council_sees_nothing(
    world: World, auth: TokenFactory, row: Row
) -> None:
    case = CASES[_case_key(row)]
    role = row.roles[0]
    before = await _witness(world, row, case, auth)
    foreign = await _send(world, row, case, _token(auth, role, FOREIGN))
    assert _carries_nothing_of_a(world, foreign) == [], foreign.text
    assert await _witness(world, row, case, auth) == before, "a foreign call changed A's record"
    if row.foreign == "404":
        assert foreign.status_code == 404, foreign.text
        # The very answer a record that does not exist gets: nothing says it is there.
        ghosts = {name: str(uuid.uuid4()) for name in world.ids}
        ghost = await _send(world, row, case, _token(auth, role, FOREIGN), ghosts)
        assert (ghost.status_code, ghost.json()) == (404, foreign.json())
        # A's own token finds the record (a 404 of something inside it, such as a clock the
        # contact does not have, is not the record's 404) and the request is valid.
        own = await _send(world, row, case, _token(auth, role, OWN))
        assert own.status_code != 422, own.text
        assert own.status_code != 404 or own.json() != foreign.json(), own.text
        return
    # The caller's own council (agency) only: B's answer is an empty council's.
    assert row.foreign in ("own council only", "own agency only"), row.foreign
    assert foreign.status_code == 200, foreign.text
    third = await _send(world, row, case, _token(auth, role, THIRD))
    assert _normalised(foreign) == _normalised(third)
    if row.method == "GET":
        own = await _send(world, row, case, _token(auth, role, OWN))
        assert own.status_code == case.own_status, own.text
        assert _normalised(own) != _normalised(foreign), "A's own answer shows none of A's data"
