"""The direct intake route answers exactly as FastAPI's declared route for the same requests."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, Route

from referral_api.intake_route import PATH
from referral_api.main import create_app
from referral_api.router import submit_referral
from services.combined import create_combined_app
from tests.conftest import ClientFactory, TokenFactory
from tests.referral_api.conftest import AGENCY, load_example

# What differs between two submissions of the same MARF: drawn numbers, ids, times.
_VOLATILE = [
    (re.compile(r"FD-\d{4}-\d{6,}"), "FD-REF"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:\d{2})"), "TIME"),
    (re.compile(r"[0-9a-f]{32}"), "ID"),
]


def _declared_only() -> FastAPI:
    """The referral API without the direct route: FastAPI serves the declared endpoint."""
    app = create_app()
    app.router.routes[:] = [r for r in app.router.routes if not _is_direct(r)]
    return app


def _is_direct(route: object) -> bool:
    return isinstance(route, Route) and route.path == PATH and not route.include_in_schema


def _comparable(response: httpx.Response) -> tuple[int, str, dict[str, str]]:
    text = _stable(response.text)
    headers = {
        name: _stable(value)
        for name, value in response.headers.items()
        if name in ("content-type", "location", "idempotent-replayed", "www-authenticate")
    }
    return response.status_code, text, headers


def _stable(value: str) -> str:
    for pattern, stand_in in _VOLATILE:
        value = pattern.sub(stand_in, value)
    return value


def _requests(auth: TokenFactory, key: str) -> list[tuple[str, dict[str, str], bytes]]:
    referrer = auth("referrer", agency_id=AGENCY)
    marf = json.dumps(load_example("marf-sibling-group")).encode()
    bad_marf = json.dumps({**load_example("marf-unborn-baby"), "subjects": []}).encode()
    json_type = {"content-type": "application/json"}
    return [
        ("valid", {**referrer, **json_type}, marf),
        ("valid, keyed", {**referrer, **json_type, "Idempotency-Key": key}, marf),
        ("replayed", {**referrer, **json_type, "Idempotency-Key": key}, marf),
        ("key reused", {**referrer, **json_type, "Idempotency-Key": key}, bad_marf),
        ("bad key", {**referrer, **json_type, "Idempotency-Key": "k 2"}, marf),
        ("invalid MARF", {**referrer, **json_type}, bad_marf),
        ("not an object", {**referrer, **json_type}, b"[1, 2]"),
        ("bad JSON", {**referrer, **json_type}, b'{"request_type": '),
        ("bad JSON, no token", json_type, b"{"),
        ("not UTF-8", {**referrer, **json_type}, b"\xff\xfe\xfd"),
        ("no body", {**referrer, **json_type}, b""),
        ("no token", json_type, marf),
        ("not bearer", {"Authorization": "Basic abc", **json_type}, marf),
        ("bad token", {"Authorization": "Bearer not.a.token", **json_type}, marf),
        ("wrong role", {**auth("front_door_worker"), **json_type}, marf),
        ("no body, no token", json_type, b""),
        ("not a JSON type", {**referrer, "content-type": "text/plain+json"}, marf),
    ]


@pytest.mark.parametrize("index", range(17))
async def test_direct_route_answers_as_the_declared_route(
    client_for: ClientFactory, auth: TokenFactory, index: int
) -> None:
    # Each path gets the whole sequence up to this request (its own keys), so a replay
    # follows the key's first use.
    answers: list[Any] = []
    for key, app in (("direct", create_app()), ("declared", _declared_only())):
        requests = _requests(auth, key)
        assert len(requests) == 17
        async with client_for(app) as client:
            for _, headers, body in requests[: index + 1]:
                response = await client.post(PATH, content=body, headers=headers)
        answers.append(_comparable(response))
    name = requests[index][0]
    assert answers[0] == answers[1], name


def test_direct_route_is_first_and_the_declared_route_is_documented() -> None:
    app = create_app()
    assert _is_direct(app.router.routes[0])
    operation = app.openapi()["paths"][PATH]["post"]
    assert operation["operationId"] == "submit_referral"
    assert "requestBody" in operation
    assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])


async def test_direct_route_labels_its_metrics_with_the_route_template(
    client_for: ClientFactory, auth: TokenFactory
) -> None:
    app = create_app()
    async with client_for(app) as client:
        response = await client.post(PATH, json={}, headers=auth("referrer", agency_id=AGENCY))
        assert response.status_code == 422
        metrics = (await client.get("/metrics")).text
    assert 'method="POST",route="/v1/referrals",service="referral_api",status="422"' in metrics


async def test_other_methods_on_the_intake_path_keep_the_route_label(
    client_for: ClientFactory,
) -> None:
    app = create_app()
    async with client_for(app) as client:
        response = await client.put(PATH, json={})
        assert response.status_code == 405
        metrics = (await client.get("/metrics")).text
    assert 'method="PUT",route="/v1/referrals",service="referral_api",status="405"' in metrics


def _intake_routes(app: FastAPI) -> list[BaseRoute]:
    """The routes that would answer `POST /v1/referrals`, in the order the app tries them."""
    scope = {"type": "http", "method": "POST", "path": PATH, "root_path": ""}
    return [r for r in app.router.routes if r.matches(scope)[0] is Match.FULL]


def test_the_combined_app_routes_the_intake_to_the_same_endpoint() -> None:
    """`frontdoor run` (combined) and `frontdoor api referral_api` serve the same code."""
    alone, combined = _intake_routes(create_app()), _intake_routes(create_combined_app())
    assert alone[0] is combined[0]
    assert _is_direct(alone[0])
    assert isinstance(alone[0], Route)
    assert alone[0].endpoint is getattr(
        combined[0], "endpoint", None
    )  # which calls router.submit_referral
    # Behind it, both document (and would serve) the one declared endpoint.
    for app in (create_app(), create_combined_app()):
        assert app.openapi()["paths"][PATH]["post"]["operationId"] == submit_referral.__name__


async def test_the_combined_app_answers_byte_identical_bodies(
    client_for: ClientFactory, auth: TokenFactory
) -> None:
    requests = _requests(auth, "parity")
    apps = {"referral_api": create_app(), "combined": create_combined_app()}
    # The keyed submission first, on one app: the rest of the sequence is deterministic
    # (replays of that receipt, every refusal) and must match to the byte on both.
    _, first_headers, first_body = requests[1]
    async with client_for(apps["referral_api"]) as client:
        created = await client.post(PATH, content=first_body, headers=first_headers)
    assert created.status_code == 201
    answers: dict[str, list[tuple[int, bytes]]] = {}
    for name, app in apps.items():
        async with client_for(app) as client:
            answers[name] = [
                (r.status_code, r.content)
                for _, headers, body in requests[2:]
                for r in [await client.post(PATH, content=body, headers=headers)]
            ]
    assert answers["referral_api"] == answers["combined"]
    # The replay is the stored receipt (jsonb: its keys in the database's order).
    assert answers["combined"][0][0] == 201
    assert json.loads(answers["combined"][0][1]) == created.json()
    # A fresh submission differs only in its drawn reference and times.
    fresh = []
    for app in apps.values():
        async with client_for(app) as client:
            fresh.append(
                _comparable(await client.post(PATH, content=first_body, headers=requests[0][1]))
            )
    assert fresh[0] == fresh[1]
    assert fresh[0][0] == 201
