"""schemathesis over the three committed OpenAPI documents, in process, on real PostgreSQL.

Every phase (examples, coverage, fuzzing; stateful from the links schemathesis infers), a fixed
seed and bounded example counts: `make test` runs this; `make fuzz` runs the same with
FUZZ_EXAMPLES raised. Each generated request goes through the real app (httpx's ASGI
transport on the test session's event loop, the app's own sessions committing to the test
database, emptied before and after) with a token whose role the operation admits. Checks:
no server error, every status documented, the body and content type as documented.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case as GeneratedCase
from schemathesis.checks import not_a_server_error
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from services import db
from services.auth import Role, clear_verified_tokens, mint_token
from services.registry import APPS, DEMO_SEEDS, SERVICES, load
from services.settings import get_settings
from tests.database import truncate_all

AnyCase = GeneratedCase[Any]
OPENAPI_DIR = Path(__file__).resolve().parent.parent / "openapi"
# Small enough for `make test` on two shared cores; `make fuzz` raises them.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
STATEFUL_STEPS = int(os.environ.get("FUZZ_STATEFUL_STEPS", "5"))
SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Who calls: the demo's principals, tried in this order until one is admitted (not 403).
PRINCIPALS: list[dict[str, Any]] = [
    {"role": Role.admin},
    {"role": Role.team_manager},
    {"role": Role.front_door_worker},
    {"role": Role.referrer, "agency_id": "west-yorkshire-police"},
    {"role": Role.police_feed, "agency_id": "west-yorkshire-police"},
    {"role": Role.school_dsl, "school_urn": "107301"},
    {"role": Role.dv_screener, "agency_id": "west-yorkshire-police"},
]


def config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "suppress-health-check": ["too_slow", "filter_too_much", "data_too_large"],
            "generation": {"max-examples": EXAMPLES, "mode": "all", "database": "none"},
            "phases": {"stateful": {"max-steps": STATEFUL_STEPS}},
        }
    )


def document(service: str) -> schemathesis.BaseSchema:
    raw = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
    loaded = schemathesis.openapi.from_dict(raw, config=config())
    loaded.config.update(base_url="http://frontdoor.test")
    return loaded


class Runner:
    """Sends a generated case through one service's app on the session's event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.apps: dict[str, FastAPI] = {name: load(APPS[name])() for name in SERVICES}
        self.roles: dict[tuple[str, str], int] = {}
        self.tokens = [
            mint_token(
                get_settings(),
                sub=f"fuzz-{p['role'].value}",
                role=p["role"],
                agency_id=p.get("agency_id"),
                school_urn=p.get("school_urn"),
            )
            for p in PRINCIPALS
        ]

    def send(self, service: str, case: AnyCase) -> httpx.Response:
        key = (case.method, case.path)
        if key in self.roles:
            return self._send(service, case, self.roles[key])
        response = None
        for index in range(len(self.tokens)):
            response = self._send(service, case, index)
            if response.status_code not in (401, 403, 422):
                self.roles[key] = index
                break
        assert response is not None
        return response

    def _send(self, service: str, case: AnyCase, index: int) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url="http://frontdoor.test")
        headers = dict(kwargs.get("headers") or {})
        if not any(k.lower() == "authorization" for k in headers):
            headers["Authorization"] = f"Bearer {self.tokens[index]}"
        request: dict[str, Any] = {
            "method": kwargs["method"],
            "url": kwargs["url"],
            "headers": headers,
            "params": kwargs.get("params"),
        }
        if "json" in kwargs:
            request["content"] = json.dumps(kwargs["json"]).encode()
            headers.setdefault("Content-Type", "application/json")
        elif kwargs.get("data") is not None:
            data = kwargs["data"]
            request["content"] = data if isinstance(data, bytes) else str(data).encode()
        cookies = kwargs.get("cookies") or {}
        return self.loop.run_until_complete(self._request(service, request, cookies))

    async def _request(
        self, service: str, request: dict[str, Any], cookies: dict[str, str]
    ) -> httpx.Response:
        transport = httpx.ASGITransport(app=self.apps[service])
        async with httpx.AsyncClient(
            transport=transport, base_url="http://frontdoor.test", cookies=cookies
        ) as client:
            response = await client.request(**request)
            await response.aread()
            return response


@pytest.fixture(scope="session")
async def event_loop_for_fuzz(database_url: str) -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


@pytest.fixture(scope="module")
async def fuzz_database(database_url: str) -> AsyncIterator[None]:
    """The demo council, committed; the tables emptied before and after the run."""
    truncate_all(database_url)
    async with db.transaction() as session:
        for target in DEMO_SEEDS.values():
            await load(target)(session, get_settings())
    yield
    await db.get_engine().dispose()
    truncate_all(database_url)


@pytest.fixture(scope="module")
def runner(event_loop_for_fuzz: asyncio.AbstractEventLoop, fuzz_database: None) -> Runner:
    clear_verified_tokens()
    return Runner(event_loop_for_fuzz)


SCHEMAS = {name: document(name) for name in SERVICES}
referral_schema = SCHEMAS["referral_api"]
triage_schema = SCHEMAS["triage"]
notifications_schema = SCHEMAS["notifications"]
FUZZ_SETTINGS = settings(
    deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, print_blob=False
)


def check(runner: Runner, service: str, case: AnyCase) -> None:
    response = runner.send(service, case)
    case.validate_response(response, checks=CHECKS)


@referral_schema.parametrize()
@FUZZ_SETTINGS
def test_referral_api(case: AnyCase, runner: Runner) -> None:
    check(runner, "referral_api", case)


@triage_schema.parametrize()
@FUZZ_SETTINGS
def test_triage(case: AnyCase, runner: Runner) -> None:
    check(runner, "triage", case)


@notifications_schema.parametrize()
@FUZZ_SETTINGS
def test_notifications(case: AnyCase, runner: Runner) -> None:
    check(runner, "notifications", case)


@pytest.mark.parametrize("service", SERVICES)
def test_stateful(service: str, runner: Runner) -> None:
    """Sequences along the links schemathesis infers (a created resource read back)."""
    machine = SCHEMAS[service].as_state_machine()

    class Machine(machine):  # type: ignore[misc, valid-type]
        def call(self, case: AnyCase, **kwargs: Any) -> Response:
            return Response.from_any(runner.send(service, case))

        def validate_response(self, response: Response, case: AnyCase, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS)

    Machine.run(settings=settings(FUZZ_SETTINGS, max_examples=EXAMPLES, stateful_step_count=5))
