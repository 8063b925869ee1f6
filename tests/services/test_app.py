"""The service app factory: error bodies, request ids, 413/415, metrics, health, readiness."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import structlog
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, Field
from sqlalchemy import text

from services import app as app_module
from services.app import create_service_app
from services.db import create_engine
from services.errors import Conflict, NotFound, error_responses
from services.http import MAX_BODY_BYTES
from services.logging import configure_logging
from services.settings import FrontdoorSettings, get_settings


class ThingNotFound(NotFound):
    detail = "No such thing."


class ThingAlreadyClosed(Conflict):
    detail = "The thing is already closed."


class Child(BaseModel):
    age: int = Field(ge=0, le=25)


class ThingCreate(BaseModel):
    name: str = Field(min_length=1)
    children: list[Child]


def probe_app() -> FastAPI:
    router = APIRouter(prefix="/v1/probe")

    @router.post("/things", status_code=201)
    async def create_probe_thing(body: ThingCreate) -> dict[str, int]:
        """Accept a thing."""
        return {"children": len(body.children)}

    @router.get("/things/{thing_id}", responses=error_responses(ThingNotFound))
    async def get_probe_thing(thing_id: str) -> dict[str, str]:
        """Read a thing."""
        if thing_id == "missing":
            raise ThingNotFound()
        if thing_id == "closed":
            raise ThingAlreadyClosed()
        if thing_id == "explode":
            raise RuntimeError("Jane Example, born 2015-03-01, of 1 High Street")
        structlog.get_logger("probe").info("thing_read", thing_id=thing_id)
        return {"id": thing_id, "request_id": str(structlog.contextvars.get_contextvars())}

    @router.post("/uploads")
    async def upload_probe_csv(body: dict[str, Any] | None = None) -> dict[str, str]:
        """Accept anything (a raw-body path)."""
        return {"ok": "yes"}

    return create_service_app(
        service="probe",
        title="probe",
        description="Platform probe.",
        routers=[router],
        raw_body_paths={"/v1/probe/uploads"},
    )


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=probe_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


class TestErrorBodies:
    async def test_validation_errors_list_every_field_with_its_path(
        self, client: httpx.AsyncClient
    ) -> None:
        body = {"name": "", "children": [{"age": 3}, {"age": 40}, {}]}
        response = await client.post("/v1/probe/things", json=body)
        assert response.status_code == 422
        payload = response.json()
        assert payload["error"] == "ValidationFailed"
        paths = {f["path"] for f in payload["fields"]}
        assert paths == {"name", "children.1.age", "children.2.age"}
        assert all(f["reason"] for f in payload["fields"])

    async def test_malformed_json_is_a_422_not_a_500(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/probe/things",
            content=b'{"name": "x", ',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422
        assert response.json()["error"] == "InvalidJson"

    async def test_a_domain_not_found_renders_its_class_and_detail(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.get("/v1/probe/things/missing")
        assert response.status_code == 404
        assert response.json() == {"error": "ThingNotFound", "detail": "No such thing."}

    async def test_a_domain_conflict_is_409(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/probe/things/closed")
        assert response.status_code == 409
        assert response.json() == {
            "error": "ThingAlreadyClosed",
            "detail": "The thing is already closed.",
        }

    async def test_an_unknown_path_is_a_json_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/v1/nowhere")
        assert response.status_code == 404
        assert response.json()["error"] == "NotFound"

    async def test_a_wrong_method_is_a_json_405(self, client: httpx.AsyncClient) -> None:
        response = await client.delete("/v1/probe/things/1")
        assert response.status_code == 405
        assert response.json()["error"] == "MethodNotAllowed"

    async def test_an_unexpected_error_is_a_500_that_leaks_nothing(
        self, client: httpx.AsyncClient, log_lines: io.StringIO
    ) -> None:
        response = await client.get("/v1/probe/things/explode")
        assert response.status_code == 500
        assert response.json() == {
            "error": "InternalError",
            "detail": "Something went wrong; it has been logged.",
        }
        assert "x-request-id" in response.headers
        logged = log_lines.getvalue()
        assert "RuntimeError" in logged
        for personal in ("Jane", "2015-03-01", "High Street"):
            assert personal not in response.text
            assert personal not in logged

    def test_error_responses_document_the_shared_body(self) -> None:
        responses = error_responses(ThingNotFound, ThingAlreadyClosed)
        assert set(responses) == {404, 409}
        assert responses[404]["description"] == "No such thing."


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the platform logs during the test, as JSON lines."""
    buffer = io.StringIO()
    real = sys.stderr
    sys.stderr = buffer
    try:
        configure_logging(FrontdoorSettings(log_json=True))
        yield buffer
    finally:
        sys.stderr = real
        configure_logging(get_settings())


class TestRequestIds:
    async def test_every_response_carries_a_request_id(self, client: httpx.AsyncClient) -> None:
        responses = [
            await client.get("/healthz"),
            await client.get("/v1/probe/things/missing"),
            await client.post("/v1/probe/things", json={}),
            await client.post(
                "/v1/probe/things", content=b"x", headers={"content-type": "text/plain"}
            ),
            await client.get("/v1/nowhere"),
        ]
        ids = [r.headers.get("x-request-id") for r in responses]
        assert all(ids)
        assert len(set(ids)) == len(ids)

    async def test_a_callers_request_id_is_kept(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz", headers={"x-request-id": "police-feed.42"})
        assert response.headers["x-request-id"] == "police-feed.42"

    @pytest.mark.parametrize("offered", ["has spaces", "x" * 65, "line\tbreak", "ünïcode"])
    async def test_an_unsafe_request_id_is_replaced(
        self, client: httpx.AsyncClient, offered: str
    ) -> None:
        response = await client.get(
            "/healthz", headers=[(b"x-request-id", offered.encode("utf-8"))]
        )
        assert response.headers["x-request-id"] != offered
        assert len(response.headers["x-request-id"]) == 32

    async def test_the_request_id_is_on_the_requests_log_lines(
        self, client: httpx.AsyncClient, log_lines: io.StringIO
    ) -> None:
        await client.get("/v1/probe/things/t-1", headers={"x-request-id": "req-123"})
        lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
        read = [line for line in lines if line["event"] == "thing_read"]
        assert read
        assert read[0]["request_id"] == "req-123"

    async def test_each_request_is_logged_once_by_route_template_with_its_id(
        self, client: httpx.AsyncClient, log_lines: io.StringIO
    ) -> None:
        await client.get("/v1/probe/things/FD-2026-000777?q=Jane", headers={"x-request-id": "r-9"})
        lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
        requests = [line for line in lines if line["event"] == "request"]
        assert len(requests) == 1
        assert requests[0]["route"] == "/v1/probe/things/{thing_id}"
        assert (requests[0]["status"], requests[0]["request_id"]) == (200, "r-9")
        assert "FD-2026-000777" not in json.dumps(requests[0])
        assert "Jane" not in log_lines.getvalue()

    def test_a_line_orjson_cannot_write_is_still_written(self, log_lines: io.StringIO) -> None:
        structlog.get_logger("probe").info("odd_value", big=2**70)
        (line,) = [json.loads(x) for x in log_lines.getvalue().splitlines()]
        assert (line["event"], line["big"]) == ("odd_value", 2**70)

    def test_a_line_stays_one_ascii_line(self, log_lines: io.StringIO) -> None:
        structlog.get_logger("probe").info("text", value="Zoë\u2028O\u2019Brien\u0085\n")
        text = log_lines.getvalue()
        assert text.isascii()
        (line,) = [json.loads(x) for x in text.splitlines()]
        assert line["value"] == "Zoë\u2028O\u2019Brien\u0085\n"

    def test_a_dataclass_is_logged_as_structlog_renders_it(self, log_lines: io.StringIO) -> None:
        @dataclass
        class Holder:
            sub: str
            email: str = field(repr=False)

        structlog.get_logger("probe").info("holder", holder=Holder("s-1", "child@example.org"))
        assert "child@example.org" not in log_lines.getvalue()
        assert "s-1" in log_lines.getvalue()

    async def test_the_request_id_does_not_outlive_the_request(
        self, client: httpx.AsyncClient
    ) -> None:
        await client.get("/v1/probe/things/t-1", headers={"x-request-id": "req-456"})
        assert structlog.contextvars.get_contextvars().get("request_id") is None


class TestBodyChecks:
    async def test_a_non_json_body_is_415(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/probe/things", content=b"name=x", headers={"content-type": "text/plain"}
        )
        assert response.status_code == 415
        assert response.json()["error"] == "UnsupportedMediaType"

    async def test_a_missing_content_type_is_415(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/probe/things", content=b'{"name": "x"}')
        assert response.status_code == 415

    async def test_json_with_a_charset_and_json_suffix_types_are_accepted(
        self, client: httpx.AsyncClient
    ) -> None:
        body = json.dumps({"name": "x", "children": []}).encode()
        for ctype in ("application/json; charset=utf-8", "application/merge-patch+json"):
            response = await client.post(
                "/v1/probe/things", content=body, headers={"content-type": ctype}
            )
            assert response.status_code == 201, ctype

    async def test_raw_body_paths_take_other_types(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/probe/uploads", content=b"a,b\n1,2\n", headers={"content-type": "text/csv"}
        )
        assert response.status_code != 415

    async def test_a_declared_length_over_the_limit_is_413(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/v1/probe/things",
            content=b" " * (MAX_BODY_BYTES + 1),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 413
        assert response.json()["error"] == "PayloadTooLarge"

    async def test_a_chunked_body_over_the_limit_is_413(self, client: httpx.AsyncClient) -> None:
        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" " * 8192  # 320 KB in all, no content-length

        response = await client.post(
            "/v1/probe/things", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 413

    async def test_a_chunked_body_under_the_limit_is_processed(
        self, client: httpx.AsyncClient
    ) -> None:
        body = json.dumps({"name": "x", "children": [{"age": 1}] * 3}).encode()

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(body), 7):
                yield body[i : i + 7]

        response = await client.post(
            "/v1/probe/things", content=chunks(), headers={"content-type": "application/json"}
        )
        assert response.status_code == 201
        assert response.json() == {"children": 3}

    async def test_a_body_exactly_at_the_limit_is_allowed(self, client: httpx.AsyncClient) -> None:
        prefix = b'{"name": "x", "children": []}'
        body = prefix + b" " * (MAX_BODY_BYTES - len(prefix))
        response = await client.post(
            "/v1/probe/things", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 201


class TestMetrics:
    async def test_metrics_label_route_templates_never_ids(self, client: httpx.AsyncClient) -> None:
        await client.get("/v1/probe/things/REF-SECRET-77")
        await client.get("/v1/probe/things/missing")
        metrics = (await client.get("/metrics")).text
        assert 'route="/v1/probe/things/{thing_id}"' in metrics
        assert "REF-SECRET-77" not in metrics
        assert 'service="probe"' in metrics

    async def test_unmatched_paths_share_one_label(self, client: httpx.AsyncClient) -> None:
        await client.get("/v1/scan/ABC-123")
        metrics = (await client.get("/metrics")).text
        assert "ABC-123" not in metrics
        assert 'route="unmatched"' in metrics

    async def test_a_metrics_token_is_required_once_set(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        settings = FrontdoorSettings(metrics_token="scrape-" + "s" * 32)
        monkeypatch.setattr(app_module, "get_settings", lambda: settings)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            response = await client.get("/metrics", headers=headers)
            assert response.status_code == 401
            assert "frontdoor_http_requests_total" not in response.text
        good = {"Authorization": f"Bearer {settings.metrics_token}"}
        response = await client.get("/metrics", headers=good)
        assert response.status_code == 200
        assert "frontdoor_http_requests_total" in response.text

    async def test_production_serves_no_metrics_without_a_token(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        production = FrontdoorSettings(
            environment="production", jwt_secret="p" * 40, database_url="postgresql://x/y"
        )
        monkeypatch.setattr(app_module, "get_settings", lambda: production)
        assert (await client.get("/metrics")).status_code == 404


class TestHealth:
    async def test_healthz_answers_without_the_database(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/healthz")
        assert (response.status_code, response.json()) == (200, {"status": "ok"})

    async def test_readyz_is_200_at_the_migration_head(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ready",
            "database": True,
            "migrations_at_head": True,
            "connections_available": True,
        }

    async def test_readyz_is_503_when_migrations_are_behind(
        self, client: httpx.AsyncClient, database_url: str
    ) -> None:
        # The schema owner's connection: the application's role may not touch alembic_version.
        engine = create_engine(database_url, pool_size=1)
        async with engine.begin() as conn:
            head = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            await conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        try:
            response = await client.get("/readyz")
        finally:
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE alembic_version SET version_num = :head"), {"head": head}
                )
            await engine.dispose()
        assert response.status_code == 503
        assert response.json() == {
            "status": "not_ready",
            "database": True,
            "migrations_at_head": False,
            "connections_available": True,
        }

    async def test_readyz_is_503_when_the_database_is_down(
        self, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        down = create_engine("postgresql://postgres@127.0.0.1:9/none", pool_size=1)
        monkeypatch.setattr(app_module, "get_engine", lambda: down)
        try:
            response = await client.get("/readyz")
        finally:
            await down.dispose()
        assert response.status_code == 503
        assert response.json()["database"] is False
