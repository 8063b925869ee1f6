"""No 500 on any input to triage: free text, calendar edges with offsets, free JSON, paths."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.triage.conftest import dv_notification, phone_contact

Headers = dict[str, str]
JSON = {"content-type": "application/json"}
NUL = "a\x00b"
LONE = "\ud800"
EDGE_TIMES = (
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00Z",
)


def raw(body: Any) -> bytes:
    """JSON text with lone surrogates escaped (as a client can send them), not encoded."""
    return json.dumps(body, ensure_ascii=True).encode()


async def post(client: httpx.AsyncClient, path: str, body: Any, headers: Headers) -> httpx.Response:
    return await client.post(path, content=raw(body), headers={**JSON, **headers})


class TestContactText:
    @pytest.mark.parametrize(
        ("change", "path"),
        [
            ({"summary": NUL}, "summary"),
            ({"summary": LONE}, "summary"),
            ({"child_voice": f"said {LONE}"}, "child_voice"),
            ({"referrer": {"name": NUL}}, "referrer.name"),
            ({"referrer": {"organisation": LONE}}, "referrer.organisation"),
            ({"referrer": {"email": NUL}}, "referrer.email"),
            ({"subjects": None}, "subjects"),
            ({"concerns": None}, "concerns"),
        ],
    )
    async def test_bad_text_or_null_lists_are_422_with_the_field(
        self, client: httpx.AsyncClient, worker: Headers, change: dict[str, Any], path: str
    ) -> None:
        response = await post(client, "/v1/contacts", phone_contact(**change), worker)
        assert response.status_code == 422, response.text
        assert any(f["path"].startswith(path) for f in response.json()["fields"])

    @pytest.mark.parametrize("at", EDGE_TIMES)
    async def test_a_received_time_at_the_calendar_edge_is_422(
        self, client: httpx.AsyncClient, worker: Headers, at: str
    ) -> None:
        response = await post(client, "/v1/contacts", phone_contact(received_at=at), worker)
        assert response.status_code == 422, response.text

    @pytest.mark.parametrize(
        "dv",
        [
            {"police_reference": NUL},
            {"force_id": LONE},
            {"incident_at": EDGE_TIMES[0]},
            {"incident_at": EDGE_TIMES[1]},
            {"adult_roles": [NUL]},
            {"adult_roles": None},
            {"circumstances": NUL},
        ],
    )
    async def test_a_bad_dv_notification_is_422(
        self, client: httpx.AsyncClient, worker: Headers, dv: dict[str, Any]
    ) -> None:
        body = dv_notification()
        body["dv"].update(dv)
        response = await post(client, "/v1/contacts", body, worker)
        assert response.status_code == 422, response.text
        assert response.json()["fields"][0]["path"].startswith("dv")


class TestQueryStrings:
    @pytest.mark.parametrize(
        "params",
        [
            {"assigned_to": NUL},
            {"cursor": NUL},
            {"due_before": EDGE_TIMES[0]},
            {"due_before": EDGE_TIMES[1]},
            {"level": str(2**64)},
            {"limit": str(2**70)},
        ],
    )
    async def test_bad_queue_filters_are_422(
        self, client: httpx.AsyncClient, worker: Headers, params: dict[str, str]
    ) -> None:
        response = await client.get("/v1/queue", params=params, headers=worker)
        assert response.status_code == 422, response.text

    async def test_a_naive_due_before_is_read_as_utc(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        response = await client.get(
            "/v1/queue", params={"due_before": "2026-01-01T00:00:00"}, headers=worker
        )
        assert response.status_code == 200, response.text

    @pytest.mark.parametrize(
        "params",
        [
            {"to": "0001-01-01T00:00:00Z"},  # the default start is 28 days before it
            {"from": EDGE_TIMES[0]},
            {"to": EDGE_TIMES[1]},
            {"from": "9999-12-31T23:59:59"},
        ],
    )
    async def test_kpi_periods_at_the_calendar_edge_are_422(
        self, client: httpx.AsyncClient, manager: Headers, params: dict[str, str]
    ) -> None:
        response = await client.get("/v1/reports/kpis", params=params, headers=manager)
        assert response.status_code == 422, response.text


class TestPathsAndFreeJson:
    async def test_a_nul_in_a_clock_kind_is_422(
        self, client: httpx.AsyncClient, manager: Headers
    ) -> None:
        response = await post(
            client, f"/v1/contacts/{uuid.uuid4()}/clocks/a%00b/pause", {"reason": "x"}, manager
        )
        assert response.status_code == 422, response.text

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "v2", "body": {"levels": [{"name": NUL}]}},
            {"name": "v2", "body": {NUL: 1}},
            {"name": "v2", "body": {"rules": [LONE]}},
            {"name": "v2", "body": {"big": 2**70}},
            {"name": NUL, "based_on": str(uuid.uuid4())},
        ],
    )
    async def test_free_json_that_jsonb_cannot_hold_is_422(
        self, client: httpx.AsyncClient, manager: Headers, body: dict[str, Any]
    ) -> None:
        response = await post(client, "/v1/rule-sets", body, manager)
        assert response.status_code == 422, response.text

    async def test_an_unencodable_key_is_a_422_that_can_be_encoded(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        body = phone_contact()
        body[f"{LONE}\x00"] = 1
        response = await post(client, "/v1/contacts", body, worker)
        assert response.status_code == 422, response.text
        assert response.json()["fields"]
