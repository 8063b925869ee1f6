"""The authorization matrix (tests/authorization.py) against the route tables and the apps.

Fails when an endpoint is added without its row, when a row names no endpoint, when a role's
answer differs from the table, or when docs/authorization.md is not the table rendered.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry import APPS, SERVICES, load
from services.settings import get_settings
from tests.authorization import (
    ANY_SIGNED_IN,
    DOC,
    MATRIX,
    PAGE_ROLES,
    PAGES,
    PUBLIC,
    ROLES,
    Page,
    Row,
    render,
    routes_of_apps,
    successes_from_apps,
)
from tests.conftest import ClientFactory, TokenFactory
from tests.web.helpers import csrf_of, sign_in
from triage import demo

ROOT = Path(__file__).resolve().parent.parent
# Path parameters that name nothing: an admitted caller gets 404 or 422, never 401/403/500.
PATH_VALUES = {
    "reference": "FD-2026-999999",
    "contact_id": str(uuid.uuid4()),
    "kind": "decision",
    "rule_set_id": str(uuid.uuid4()),
    "urn": "999998",
    "endpoint_id": str(uuid.uuid4()),
    "notification_id": str(uuid.uuid4()),
    "force_id": "west-yorkshire-police",
    "check_id": str(uuid.uuid4()),
    "discussion_id": str(uuid.uuid4()),
    "action_id": str(uuid.uuid4()),
    "handover_id": str(uuid.uuid4()),
    "child_id": str(uuid.uuid4()),
    "link_id": str(uuid.uuid4()),
}
CLAIMS: dict[str, dict[str, str]] = {
    "referrer": {"agency_id": "west-yorkshire-police"},
    "police_feed": {"agency_id": "west-yorkshire-police"},
    "dv_screener": {"agency_id": "west-yorkshire-police"},
    "school_dsl": {"school_urn": "107301"},
    "mash_partner": {"agency_id": "west-yorkshire-police"},
}


def _key(row: Row | Page) -> tuple[str, str, str]:
    return (row.service, row.method, row.path)


class TestTheTableCoversTheRoutes:
    def test_every_route_has_exactly_one_row(self) -> None:
        routes = {(s, m, p) for s, m, p, _ in routes_of_apps()}
        everything: list[Row | Page] = [*MATRIX, *PAGES]
        rows = Counter(_key(r) for r in everything)
        assert [k for k, n in rows.items() if n > 1] == []
        assert sorted(routes - set(rows)) == [], "endpoints without a row in the matrix"
        assert sorted(set(rows) - routes) == [], "rows naming no endpoint"

    def test_every_role_is_a_role_of_the_product(self) -> None:
        from services.auth import Role

        assert set(ROLES) == {r.value for r in Role}
        for row in MATRIX:
            assert row.roles == PUBLIC or set(row.roles) <= set(ROLES), row
        assert set(PAGE_ROLES) <= set(ROLES)
        for page in PAGES:
            assert page.roles in (PUBLIC, ANY_SIGNED_IN) or set(page.roles) <= set(PAGE_ROLES), page

    def test_the_pages_are_the_console_and_the_api_rows_the_api(self) -> None:
        assert all(row.path.startswith("/v1/") or row.roles == PUBLIC for row in MATRIX)
        assert not any(page.path.startswith("/v1/") for page in PAGES)

    def test_every_row_with_a_foreign_answer_names_its_proof(self) -> None:
        """A row that says what another council's token gets must name the test proving it."""
        unproved = [
            f"{r.service} {r.method} {r.path}" for r in MATRIX if r.foreign != "n/a" and not r.proof
        ]
        assert unproved == [], "rows with a foreign answer and no proof"

    def test_each_proof_names_a_test_that_exists(self) -> None:
        for row in MATRIX:
            if not row.proof:
                continue
            path, *names = row.proof.split("::")
            source = (ROOT / path).read_text()
            for name in names:
                assert re.search(rf"\b(class|def) {name}\b", source), row.proof

    def test_the_document_is_the_table_rendered(self) -> None:
        assert DOC.read_text() == render(successes_from_apps()), (
            "docs/authorization.md is stale: python -m tests.authorization --write"
        )


@pytest.fixture
async def apps(session: AsyncSession, client_for: ClientFactory) -> dict[str, httpx.AsyncClient]:
    await demo.seed(session, get_settings())  # the council's calendar and rule set
    made: dict[str, FastAPI] = {name: load(APPS[name])() for name in SERVICES}
    return {name: client_for(app) for name, app in made.items()}


async def _call(client: httpx.AsyncClient, row: Row, headers: dict[str, str]) -> httpx.Response:
    path = row.path.format(**PATH_VALUES)
    kwargs: dict[str, Any] = {"headers": dict(headers)}
    if row.method in {"POST", "PUT", "PATCH"}:
        if path.endswith("/import"):
            kwargs["content"] = b""
            kwargs["headers"]["content-type"] = "text/csv"
        else:
            kwargs["json"] = {}
    return await client.request(row.method, path, **kwargs)


class TestEveryRoleOnEveryEndpoint:
    async def test_the_answers_are_the_tables(
        self, apps: dict[str, httpx.AsyncClient], auth: TokenFactory
    ) -> None:
        wrong: list[str] = []
        tokens = {role: auth(role, **CLAIMS.get(role, {})) for role in ROLES}
        for row in MATRIX:
            client = apps[row.service]
            anonymous = await _call(client, row, {})
            if row.roles == PUBLIC:
                if anonymous.status_code >= 400 and anonymous.status_code != 503:
                    wrong.append(f"{row.method} {row.path} public: {anonymous.status_code}")
                continue
            if anonymous.status_code != 401:
                wrong.append(f"{row.method} {row.path} anonymous: {anonymous.status_code}")
            for role in ROLES:
                headers = tokens[role]
                status = (await _call(client, row, headers)).status_code
                admitted = role in row.roles
                if (admitted and status in (401, 403)) or status >= 500:
                    wrong.append(f"{row.method} {row.path} {role}: {status}, admitted")
                if not admitted and status != 403:
                    wrong.append(f"{row.method} {row.path} {role}: {status}, expected 403")
        assert wrong == []


async def _page(client: httpx.AsyncClient, page: Page, csrf: str | None) -> httpx.Response:
    path = page.path.format(**PATH_VALUES)
    if page.method == "POST":
        return await client.post(path, data={"csrf_token": csrf} if csrf else {})
    return await client.request(page.method, path)


def _to_sign_in(response: httpx.Response) -> bool:
    return response.status_code == 303 and response.headers["location"].startswith("/sign-in")


class TestEveryRoleOnEveryPage:
    async def test_the_answers_are_the_tables(self, apps: dict[str, httpx.AsyncClient]) -> None:
        wrong: list[str] = []
        for service in ("triage", "notifications"):
            client = apps[service]
            pages = [p for p in PAGES if p.service == service]
            client.cookies.clear()
            for page in pages:
                if page.roles == PUBLIC:
                    if page.method == "POST":
                        continue  # the sign-in itself: every role below signs in through it
                    response = await _page(client, page, None)
                    if response.status_code >= 500 or response.status_code in (401, 403):
                        wrong.append(f"{page.method} {page.path} public: {response.status_code}")
                elif not _to_sign_in(await _page(client, page, None)):
                    wrong.append(f"{page.method} {page.path} signed out: not sent to sign in")
            # Signing out ends the session: it goes last.
            pages.sort(key=lambda p: p.path == "/sign-out")
            for role, identity in PAGE_ROLES.items():
                client.cookies.clear()
                await sign_in(client, identity)
                csrf = csrf_of((await client.get("/home")).text)
                for page in pages:
                    if page.roles == PUBLIC:
                        continue
                    response = await _page(client, page, csrf)
                    status = response.status_code
                    admitted = page.roles == ANY_SIGNED_IN or role in page.roles
                    if page.path == "/sign-out":
                        if status != 303 or not _to_sign_in(await client.get("/home")):
                            wrong.append(f"POST /sign-out {role}: {status}, session not ended")
                        continue
                    if admitted and (
                        status in (401, 403) or status >= 500 or _to_sign_in(response)
                    ):
                        wrong.append(f"{page.method} {page.path} {role}: {status}, admitted")
                    if not admitted and status != 403:
                        wrong.append(f"{page.method} {page.path} {role}: {status}, expected 403")
            client.cookies.clear()
        assert wrong == []
