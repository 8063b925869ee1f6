"""No 500 on any input: free text, calendar edges, big numbers, nulls, CSV line ends, batches."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import sync_url
from services.models.notifications import Incident, Notification, School
from tests.notifications.conftest import create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
FORCE = "west-yorkshire-police"
JSON = {"content-type": "application/json"}
# JSON text (not Python objects): a lone surrogate cannot be encoded by a JSON library.
LONE_SURROGATE = '"\\ud800"'
NUL = '"a\\u0000b"'
EDGE_TIMES = (
    "9999-12-31T23:59:59-23:59",  # moving it to UTC passes the end of the calendar
    "0001-01-01T00:00:00+01:00",  # ...or its beginning
    "0001-01-01T00:00:00Z",
)


async def count(session: AsyncSession, model: type) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def child_json(**fields: str) -> str:
    base = {
        "given_name": '"Amira"',
        "family_name": '"Testchild"',
        "school_urn": '"107301"',
    }
    base.update(fields)
    return "{" + ", ".join(f'"{k}": {v}' for k, v in base.items()) + "}"


def incident_json(reference: str, child: str, **fields: str) -> str:
    base = {
        "police_reference": f'"{reference}"',
        "incident_at": '"2026-11-20T22:30:00Z"',
        "children": f"[{child}]",
    }
    base.update(fields)
    return "{" + ", ".join(f'"{k}": {v}' for k, v in base.items()) + "}"


BAD_ITEMS = [
    incident_json("WY-B1", child_json(given_name=NUL)),
    incident_json("WY-B2", child_json(child_voice=LONE_SURROGATE)),
    incident_json("WY-B3", child_json(date_of_birth='"0001-01-01"')),
    incident_json("WY-B4", child_json(), incident_at=f'"{EDGE_TIMES[0]}"'),
    incident_json("WY-B5", child_json(), incident_at=f'"{EDGE_TIMES[1]}"'),
    incident_json("WY-B6", child_json(), children="null"),
    incident_json("WY-B7", child_json(), adult_roles="null"),
    incident_json("WY-B8", child_json(), area=NUL),
    incident_json("WY-B9", child_json(), circumstances=LONE_SURROGATE),
    incident_json("WY-B10", child_json(), adult_roles=f"[{NUL}]"),
    '{"police_reference": "\\ud800", "\\ud800\\u0000": 1}',
    "null",
    "[1, 2]",
    '"just a string"',
]


@pytest.fixture
def refusing_trigger(database_url: str) -> Iterator[None]:
    """A real refusal from PostgreSQL for one item. DDL is the schema owner's (the services'
    role may not alter tables), so it is committed by the owner and dropped after the test,
    once the test's own transaction has ended (this fixture is set up before the session)."""
    owner = create_engine(sync_url(database_url))
    with owner.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN IF NEW.police_reference = 'WY-BOOM' THEN"
                " RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER refuse_boom BEFORE INSERT ON notif_incidents"
                " FOR EACH ROW EXECUTE FUNCTION refuse_boom()"
            )
        )
    try:
        yield
    finally:
        with owner.begin() as conn:
            conn.execute(text("DROP TRIGGER IF EXISTS refuse_boom ON notif_incidents"))
            conn.execute(text("DROP FUNCTION IF EXISTS refuse_boom()"))
        owner.dispose()


class TestEncompassBatch:
    async def test_every_bad_item_is_rejected_and_the_good_ones_stored(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="107301")
        good_first = incident_json("WY-G1", child_json())
        good_last = incident_json("WY-G2", child_json(given_name='"Bilal"'))
        body = '{"incidents": [' + ", ".join([good_first, *BAD_ITEMS, good_last]) + "]}"
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/batches",
                content=body.encode(),
                headers={**JSON, **auth("police_feed", agency_id=FORCE)},
            )
        assert response.status_code == 200, response.text
        result = response.json()
        assert (result["accepted"], result["rejected"]) == (2, len(BAD_ITEMS))
        statuses = [item["status"] for item in result["items"]]
        assert statuses == ["accepted", *["rejected"] * len(BAD_ITEMS), "accepted"]
        assert all(item["errors"] for item in result["items"][1:-1])
        assert result["items"][-3]["police_reference"] is None  # never echoed unencodable
        assert await count(session, Notification) == 2

    async def test_an_item_the_database_refuses_is_rolled_back_alone(
        self,
        refusing_trigger: None,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
    ) -> None:
        await create_school(session, urn="107301")
        items = [incident("WY-1"), incident("WY-BOOM"), incident("WY-3")]
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/batches",
                json={"incidents": items},
                headers=auth("police_feed", agency_id=FORCE),
            )
        assert response.status_code == 200, response.text
        result = response.json()
        assert [i["status"] for i in result["items"]] == ["accepted", "rejected", "accepted"]
        assert result["items"][1]["police_reference"] == "WY-BOOM"
        references = set(await session.scalars(select(Incident.police_reference)))
        assert references == {"WY-1", "WY-3"}
        assert await count(session, Notification) == 2

    @pytest.mark.parametrize(
        "body",
        [
            incident_json("WY-1", child_json(given_name=NUL)),
            incident_json("WY-1", child_json(family_name=LONE_SURROGATE)),
            incident_json("WY-1", child_json(), incident_at=f'"{EDGE_TIMES[0]}"'),
            incident_json("WY-1", child_json(), children="null"),
            '{"incidents": null}',
        ],
    )
    async def test_a_single_incident_with_bad_input_is_422(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, body: str
    ) -> None:
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/incidents",
                content=body.encode(),
                headers={**JSON, **auth("police_feed", agency_id=FORCE)},
            )
        assert response.status_code == 422, response.text
        assert response.json()["fields"]

    async def test_a_batch_of_null_is_422(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        async with client_for(app) as client:
            response = await client.post(
                "/v1/encompass/batches",
                content=b'{"incidents": null}',
                headers={**JSON, **auth("police_feed", agency_id=FORCE)},
            )
        assert response.status_code == 422
        assert response.json()["fields"][0]["path"] == "incidents"


class TestDirectory:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", NUL),
            ("name", LONE_SURROGATE),
            ("phase", NUL),
            ("terms", "null"),
            ("closure_days", "null"),
            ("closure_days", '["9999-12-31"]'),
            ("terms", '[{"start": "0001-01-01", "end": "9999-12-31"}]'),
        ],
    )
    async def test_a_bad_school_is_422_with_its_field(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, field: str, value: str
    ) -> None:
        fields = {"urn": '"123456"', "name": '"A School"', field: value}
        body = "{" + ", ".join(f'"{k}": {v}' for k, v in fields.items()) + "}"
        async with client_for(app) as client:
            response = await client.post(
                "/v1/schools", content=body.encode(), headers={**JSON, **auth("admin")}
            )
        assert response.status_code == 422, response.text
        assert response.json()["fields"][0]["path"].startswith(field)

    @pytest.mark.parametrize("path", ["/v1/schools/%00", "/v1/schools/12%0045"])
    async def test_a_malformed_urn_in_the_path_is_422(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, path: str
    ) -> None:
        async with client_for(app) as client:
            response = await client.get(path, headers=auth("admin"))
        assert response.status_code == 422

    async def test_a_csv_with_bare_carriage_returns_is_read(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        csv = "URN,EstablishmentName\r200001,Bare CR Primary\r200002,Second School\r"
        async with client_for(app) as client:
            response = await client.post(
                "/v1/schools/import",
                content=csv.encode(),
                headers={"content-type": "text/csv", **auth("admin")},
            )
        assert response.status_code == 200, response.text
        assert response.json()["created"] == 2
        assert await session.get(School, "200002") is not None

    @pytest.mark.parametrize(
        "csv",
        [
            'URN,EstablishmentName\n200001,"never closed\n',
            "URN,EstablishmentName\n200001,Nul\x00School\n",
            "URN,EstablishmentName\n200001,A\rB,\r\n",
        ],
    )
    async def test_a_csv_the_reader_cannot_take_is_a_422_or_a_rejected_row(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession, csv: str
    ) -> None:
        async with client_for(app) as client:
            response = await client.post(
                "/v1/schools/import",
                content=csv.encode(),
                headers={"content-type": "text/csv", **auth("admin")},
            )
        assert response.status_code in (200, 422), response.text
        if response.status_code == 200:
            stored = await session.get(School, "200001")
            assert stored is None or "\x00" not in stored.name

    async def test_a_field_past_the_readers_limit_is_422(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        # One field larger than the csv module takes (its limit is 128 KiB).
        csv = 'URN,EstablishmentName\n200001,"' + "x" * 200_000 + '"\n'
        async with client_for(app) as client:
            response = await client.post(
                "/v1/schools/import",
                content=csv.encode(),
                headers={"content-type": "text/csv", **auth("admin")},
            )
        assert response.status_code == 422, response.text
        assert response.json()["error"] == "InvalidCsv"


class TestWebhookUrls:
    @pytest.mark.parametrize(
        "url",
        [
            "https://school.example/hook\r\nX-Injected: 1",
            "https://school.example/ho ok",
            "https://school.example/hook\n",
            "https://user:pass@school.example/hook",
            "https://user@school.example/hook",
            "https:school.example/hook",
            "//school.example/hook",
            "/relative/hook",
            "ftp://school.example/hook",
            "https://school.example/hook#fragment",
            "https://school..example/hook",
            "https://school.example:0/hook",
            "https://school.example:99999/hook",
            "https://schöol.example/hook",
            "https://school.example\\@evil.example/",
        ],
    )
    async def test_a_url_that_is_not_plain_is_refused_at_registration(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession, url: str
    ) -> None:
        await create_school(session, urn="107301")
        async with client_for(app) as client:
            response = await client.post(
                "/v1/schools/107301/endpoints", json={"url": url}, headers=auth("admin")
            )
        assert response.status_code == 422, response.text
        assert response.json()["fields"][0]["path"] == "url"


class TestQueryStrings:
    @pytest.mark.parametrize(
        "query",
        [
            {"limit": str(2**70)},
            {"limit": "0"},
            {"limit": "501"},
            {"cursor": "not-a-cursor"},
            {"cursor": "A" * 401},
        ],
    )
    async def test_numbers_past_the_databases_range_are_422(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, query: dict[str, Any]
    ) -> None:
        async with client_for(app) as client:
            response = await client.get("/v1/notifications", params=query, headers=auth("admin"))
        assert response.status_code == 422, response.text

    async def test_a_nul_in_a_path_segment_is_422(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        async with client_for(app) as client:
            response = await client.get("/v1/encompass/forces/a%00b/sharing", headers=auth("admin"))
        assert response.status_code == 422, response.text
