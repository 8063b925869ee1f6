"""`POST /v1/referrals` served without FastAPI's per-request dependency solving.

The intake is the one endpoint partner systems call at volume, and the framework's work per
request (solving four dependencies, parsing the body into a parameter, the route wrapper) cost
as much CPU as the intake itself. This route sits first in the app's routes and resolves the
same inputs directly, then calls the declared endpoint, `router.submit_referral`: that function
stays the one implementation and FastAPI still documents it (OpenAPI, security, errors).

What it resolves, as the dependencies would: the bearer token (`services.auth.admit`, the
check `require_roles` makes), the `Idempotency-Key` header, the JSON body (the platform
middleware has already refused bodies that are too large or not JSON) and a connection
(`services.db.app_connection`, which honours the tests' override). Errors are raised, so the
app's exception handlers render them exactly as for any other route; a test runs the same
requests through both paths and compares the answers.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import State
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from referral_api.router import submit_referral
from services.auth import Role, admit, bearer_token
from services.db import app_connection
from services.ratelimit import check_write
from services.settings import get_settings

PATH = "/v1/referrals"
_NO_BODY = object()
_REFERRER = frozenset({Role.referrer})


class _Intake:
    """The ASGI app behind the route (a class, so Starlette passes it the raw scope)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The token first (as the platform answers every route): an anonymous caller learns
        # 401, never how the body is parsed; then the body is parsed, then required.
        authorization, key = _headers(scope)
        # The request's state (a view of the scope's), so a refusal is audited with its caller.
        state = State(scope.setdefault("state", {}))
        principal = await admit(bearer_token(authorization), _REFERRER, state=state)
        check_write(get_settings(), principal.council_id, principal.sub)
        body = _json(await _body(receive))
        if body is _NO_BODY:
            missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
            raise RequestValidationError([missing])
        app: FastAPI = scope["app"]
        async with app_connection(app) as conn:
            response = await submit_referral(
                marf=body, principal=principal, conn=conn, idempotency_key=key
            )
        await response(scope, receive, send)


class _IntakeRoute(Route):
    """Puts itself in the scope, as FastAPI's routes do: the metrics and the access line read
    the route template there (also for the 405 Starlette answers to other methods)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE:
            child["route"] = self
        return match, child


def intake_route() -> Route:
    """The route to put first in the referral API's routes."""
    return _IntakeRoute(PATH, _Intake(), methods=["POST"], include_in_schema=False)


def _headers(scope: Scope) -> tuple[str | None, str | None]:
    """The first Authorization and Idempotency-Key values, as Starlette's `Headers` reads them."""
    authorization = key = None
    for name, value in scope["headers"]:
        lowered = name.lower()
        if lowered == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif lowered == b"idempotency-key" and key is None:
            key = value.decode("latin-1")
    return authorization, key


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _json(raw: bytes) -> Any:
    """The body as FastAPI parses a JSON body: a 422 for bad JSON, a 400 for bad encoding."""
    if not raw:
        return _NO_BODY
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid",
            "loc": ("body", exc.pos),
            "msg": "JSON decode error",
            "input": {},
            "ctx": {"error": exc.msg},
        }
        raise RequestValidationError([error], body=exc.doc) from None
    except (ValueError, RecursionError):  # not UTF-8, -16 or -32; nested too deep
        raise HTTPException(400, "There was an error parsing the body") from None
