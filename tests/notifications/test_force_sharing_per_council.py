"""Police force sharing is configured per council: one council's admin changes what a force
lets *their* schools see, never another council's; the detail view of a notification follows
the configuration of the school's council."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from services.db import sync_url
from services.models.notifications import ForceSharing
from tests.database import alembic
from tests.notifications.conftest import create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
FORCE = "west-yorkshire-police"
A, B = "demo", "kirklees"
URNS = {A: "620001", B: "620002"}
SHARING = f"/v1/encompass/forces/{FORCE}/sharing"
EVERYTHING = {
    "share_name": True,
    "share_date_of_birth": True,
    "share_present": True,
    "share_spoken_to": True,
    "share_child_voice": True,
    "share_circumstances": True,
}


def admin(auth: Auth, council: str) -> dict[str, str]:
    return auth("admin", sub=f"admin-{council}", council_id=council)


def shares(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k.startswith("share_")}


class TestTheApi:
    async def test_each_admin_reads_and_sets_only_their_councils_configuration(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        async with client_for(app) as client:
            default = shares((await client.get(SHARING, headers=admin(auth, B))).json())
            put = await client.put(SHARING, json=EVERYTHING, headers=admin(auth, A))
            assert put.status_code == 200, put.text
            assert shares((await client.get(SHARING, headers=admin(auth, A))).json()) == EVERYTHING
            # Council B still has the default: A's admin changed nothing of B's.
            after = await client.get(SHARING, headers=admin(auth, B))
            assert (shares(after.json()), after.json()["updated_at"]) == (default, None)
            # And B's change leaves A's.
            hidden = {**default, "share_name": False}
            changed = await client.put(SHARING, json=hidden, headers=admin(auth, B))
            assert changed.status_code == 200
            assert shares((await client.get(SHARING, headers=admin(auth, A))).json()) == EVERYTHING
            assert shares((await client.get(SHARING, headers=admin(auth, B))).json()) == hidden
        rows = await session.execute(
            select(ForceSharing.council_id, ForceSharing.share_name).where(
                ForceSharing.force_id == FORCE
            )
        )
        assert sorted((c, s) for c, s in rows.all()) == [(A, True), (B, False)]


@pytest.fixture
async def schools(session: AsyncSession) -> None:
    for council, urn in URNS.items():
        await create_school(session, urn=urn, council_id=council)


async def notify(client: httpx.AsyncClient, auth: Auth, council: str) -> str:
    """The force's feed tells `council` of an incident: one child at its school."""
    child = {
        "given_name": "Amira",
        "family_name": "Testchild",
        "date_of_birth": "2017-03-04",
        "school_urn": URNS[council],
        "present": True,
        "spoken_to": True,
        "child_voice": "I hid upstairs",
    }
    response = await client.post(
        "/v1/encompass/incidents",
        json=incident(f"SHARE-{council}", children=[child]),
        headers=auth("police_feed", agency_id=FORCE, council_id=council),
    )
    assert response.status_code == 200, response.text
    assert response.json()["children"][0]["route"] == "school", response.text
    return str(response.json()["children"][0]["notification_id"])


async def detail(client: httpx.AsyncClient, auth: Auth, council: str, nid: str) -> Any:
    dsl = auth("school_dsl", school_urn=URNS[council], sub=f"dsl-{council}", council_id=council)
    response = await client.get(f"/v1/notifications/{nid}", headers=dsl)
    assert response.status_code == 200, response.text
    return response.json()["child"]


class TestTheSchoolsSee:
    async def test_the_detail_follows_the_configuration_of_the_schools_council(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, schools: None
    ) -> None:
        async with client_for(app) as client:
            put = await client.put(SHARING, json=EVERYTHING, headers=admin(auth, A))
            assert put.status_code == 200
            ours, theirs = await notify(client, auth, A), await notify(client, auth, B)
            seen_a = await detail(client, auth, A, ours)
            seen_b = await detail(client, auth, B, theirs)
        # Council A shares everything; council B has not configured the force: the default
        # (the name and whether the child was present).
        assert (seen_a["date_of_birth"], seen_a["child_voice"]) == ("2017-03-04", "I hid upstairs")
        assert (seen_b["given_name"], seen_b["present"]) == ("Amira", True)
        assert (seen_b["date_of_birth"], seen_b["spoken_to"], seen_b["child_voice"]) == (
            None,
            None,
            None,
        )

    async def test_one_councils_narrower_sharing_does_not_hide_anything_from_another(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, schools: None
    ) -> None:
        async with client_for(app) as client:
            nothing = {**dict.fromkeys(EVERYTHING, False), "share_present": True}
            assert (await client.put(SHARING, json=nothing, headers=admin(auth, B))).is_success
            ours, theirs = await notify(client, auth, A), await notify(client, auth, B)
            seen_a = await detail(client, auth, A, ours)
            seen_b = await detail(client, auth, B, theirs)
        assert seen_a["given_name"] == "Amira"  # A's default still shares the name
        assert (seen_b["given_name"], seen_b["family_name"]) == (None, None)


class TestTheMigration:
    """0014 on a scratch database: each force's row copied to every council the database
    knows (schools or a calendar); the downgrade keeps the most recently updated one."""

    @pytest.fixture
    def scratch(self, database_url: str) -> Iterator[str]:
        server = make_url(database_url)
        name = f"{server.database}_sharing_migration"
        url = server.set(database=name).render_as_string(hide_password=False)
        admin_engine = create_engine(sync_url(database_url), isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield url
        finally:
            with admin_engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin_engine.dispose()

    def test_existing_rows_go_to_every_council_and_come_back_as_the_latest(
        self, scratch: str
    ) -> None:
        alembic("upgrade", "0013", url=scratch)
        engine = create_engine(sync_url(scratch))
        with engine.begin() as conn:
            for council in ("demo", "kirklees"):
                conn.execute(
                    text(
                        "INSERT INTO council_calendars (council_id, name, timezone, office_hours,"
                        " working_day_rule, settings) VALUES (:c, :c, 'Europe/London', '{}',"
                        " 'same_time', '{}')"
                    ),
                    {"c": council},
                )
            conn.execute(
                text(
                    "INSERT INTO notif_schools (urn, council_id, name, school_day_start, terms,"
                    " closure_days, delivery_preference) VALUES ('630001', 'calderdale',"
                    " 'A School', '08:30', '[]', '[]', 'email')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO notif_force_sharing (force_id, share_name, share_date_of_birth,"
                    " share_present, share_spoken_to, share_child_voice, share_circumstances)"
                    " VALUES (:f, true, true, true, false, false, false)"
                ),
                {"f": FORCE},
            )
        alembic("upgrade", "0014", url=scratch)
        with engine.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT council_id, force_id, share_date_of_birth FROM notif_force_sharing"
                    " ORDER BY council_id"
                )
            ).all()
            assert [tuple(r) for r in rows] == [
                ("calderdale", FORCE, True),
                ("demo", FORCE, True),
                ("kirklees", FORCE, True),
            ]
            # Kirklees changes its own; the downgrade keeps the latest change.
            conn.execute(
                text(
                    "UPDATE notif_force_sharing SET share_date_of_birth = false,"
                    " updated_at = now() + interval '1 minute' WHERE council_id = 'kirklees'"
                )
            )
        alembic("downgrade", "0013", url=scratch)
        with engine.begin() as conn:
            rows = conn.execute(
                text("SELECT force_id, share_date_of_birth FROM notif_force_sharing")
            ).all()
        engine.dispose()
        assert [tuple(r) for r in rows] == [(FORCE, False)]
