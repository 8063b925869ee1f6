"""The council's published term dates: every school's default; a school's own dates replace it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.council import service as council_service
from notifications.council.csv_import import parse_date, read_terms
from notifications.council.schemas import CouncilTermIn
from notifications.demo import seed
from notifications.settings import NotificationsSettings
from services.auth import Principal, Role, mint_token
from services.models.notifications import Notification
from services.models.notifications_extra import CouncilTerm
from services.settings import get_settings
from tests.notifications.conftest import create_school, incident

Auth = Callable[..., dict[str, str]]
ClientFor = Callable[[FastAPI], httpx.AsyncClient]
FORCE = "west-yorkshire-police"

# The council's 2025-26 calendar as published: half terms split each term.
COUNCIL_TERMS = [
    {"name": "Autumn 1", "start": "2025-09-03", "end": "2025-10-24"},
    {"name": "Autumn 2", "start": "2025-11-03", "end": "2025-12-19"},
    {"name": "Spring 1", "start": "2026-01-05", "end": "2026-02-13"},
    {"name": "Spring 2", "start": "2026-02-23", "end": "2026-03-27"},
]
CSV = """name,start,end
Autumn 1,03/09/2025,24/10/2025
Autumn 2,03/11/2025,19/12/2025
Spring 1,2026-01-05,2026-02-13
"""


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def put_terms(client: httpx.AsyncClient, auth: Auth, terms: list[dict[str, Any]]) -> None:
    response = await client.put(
        "/v1/council/term-dates", json={"terms": terms}, headers=auth("admin")
    )
    assert response.status_code == 200, response.text


async def deadline_of(
    client: httpx.AsyncClient,
    auth: Auth,
    session: AsyncSession,
    at: datetime,
    urn: str,
    *,
    council_id: str | None = None,
) -> tuple[datetime | None, bool]:
    child = {"given_name": "Amira", "family_name": "Testchild", "school_urn": urn}
    response = await client.post(
        "/v1/encompass/incidents",
        json=incident(f"WY-T-{at:%Y%m%d%H%M}-{urn}", at=at, children=[child]),
        headers=auth("police_feed", agency_id=FORCE, council_id=council_id),
    )
    assert response.status_code == 200, response.text
    nid = response.json()["children"][0]["notification_id"]
    notification = await session.get_one(Notification, nid)
    return notification.deadline_at, notification.in_holiday


class TestDeadlinesFollowTheCouncilCalendar:
    @pytest.mark.parametrize(
        ("incident_at", "due"),
        [
            # Christmas: an incident on 23 December is due on the first day of spring term.
            (utc(2025, 12, 23, 20, 0), utc(2026, 1, 5, 8, 45)),
            # The last evening of autumn term: due on the first day back too.
            (utc(2025, 12, 19, 18, 0), utc(2026, 1, 5, 8, 45)),
            # October half term (Friday night, BST): due the Monday after half term (GMT).
            (utc(2025, 10, 24, 19, 0), utc(2025, 11, 3, 8, 45)),
            # February half term.
            (utc(2026, 2, 16, 10, 0), utc(2026, 2, 23, 8, 45)),
        ],
    )
    async def test_a_school_without_dates_follows_the_councils_holidays(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        incident_at: datetime,
        due: datetime,
    ) -> None:
        from datetime import time

        await create_school(session, urn="600001", school_day_start=time(8, 45))
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS)
            deadline, in_holiday = await deadline_of(client, auth, session, incident_at, "600001")
        assert (deadline, in_holiday) == (due, True)

    async def test_in_term_an_evening_incident_is_due_next_morning(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="600002")
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS)
            deadline, in_holiday = await deadline_of(
                client, auth, session, utc(2025, 12, 9, 21, 0), "600002"
            )
        assert (deadline, in_holiday) == (utc(2025, 12, 10, 8, 30), False)

    async def test_an_academys_own_dates_replace_the_councils(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        own = [
            {"start": "2025-09-01", "end": "2025-12-22"},
            {"start": "2026-01-07", "end": "2026-03-31"},
        ]
        await create_school(session, urn="600003", terms=own)
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS)
            still_open = await deadline_of(client, auth, session, utc(2025, 12, 19, 18), "600003")
            christmas = await deadline_of(client, auth, session, utc(2025, 12, 23, 20), "600003")
        assert still_open == (utc(2025, 12, 22, 8, 30), False)  # the council is closed; it isn't
        assert christmas == (utc(2026, 1, 7, 8, 30), True)

    async def test_another_councils_calendar_does_not_apply(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="600004", council_id="leeds")
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS)  # the demo council's
            # Leeds' own police feed (a feed reaches only its own council's schools).
            deadline, in_holiday = await deadline_of(
                client, auth, session, utc(2025, 12, 23, 20), "600004", council_id="leeds"
            )
        assert (deadline, in_holiday) == (utc(2025, 12, 24, 8, 30), False)

    async def test_with_no_calendar_at_all_every_working_day_is_a_school_day(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await create_school(session, urn="600005")
        async with client_for(app) as client:
            deadline, _ = await deadline_of(client, auth, session, utc(2025, 12, 23, 20), "600005")
        assert deadline == utc(2025, 12, 24, 8, 30)

    async def test_after_the_last_published_term_the_alert_is_still_taken_and_due(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        # The council has published up to Easter 2026 only (next year's not imported yet).
        # Beyond the calendar nothing says the school is closed: due the next working day,
        # never a 500 that loses the police's notification.
        await create_school(session, urn="600006")
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS)
            after = await deadline_of(client, auth, session, utc(2026, 4, 14, 20), "600006")
            last_day = await deadline_of(client, auth, session, utc(2026, 3, 27, 18), "600006")
        assert after == (utc(2026, 4, 15, 7, 30), False)  # 08:30 BST
        assert last_day == (utc(2026, 3, 30, 7, 30), False)  # the Monday after (BST)


class TestTermDatesApi:
    async def test_the_admin_replaces_and_reads_the_calendar(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS)
            await put_terms(client, auth, COUNCIL_TERMS[:2])
            got = await client.get("/v1/council/term-dates", headers=auth("admin"))
            dsl = await client.get(
                "/v1/council/term-dates", headers=auth("school_dsl", school_urn="107301")
            )
        assert [t["name"] for t in got.json()["terms"]] == ["Autumn 1", "Autumn 2"]
        assert dsl.status_code == 403

    async def test_overlapping_or_backwards_terms_are_422_with_the_field(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        overlapping = [COUNCIL_TERMS[0], {"start": "2025-10-20", "end": "2025-12-19"}]
        backwards = [{"start": "2025-10-20", "end": "2025-10-01"}]
        async with client_for(app) as client:
            one = await client.put(
                "/v1/council/term-dates", json={"terms": overlapping}, headers=auth("admin")
            )
            two = await client.put(
                "/v1/council/term-dates", json={"terms": backwards}, headers=auth("admin")
            )
        assert one.status_code == 422
        assert one.json()["fields"] == [{"path": "terms.1", "reason": "overlaps another term"}]
        assert two.status_code == 422
        assert two.json()["fields"][0]["path"].startswith("terms.0")

    async def test_a_csv_import_replaces_the_calendar(
        self, app: FastAPI, client_for: ClientFor, auth: Auth
    ) -> None:
        async with client_for(app) as client:
            response = await client.post(
                "/v1/council/term-dates/import",
                content=CSV.encode(),
                headers={**auth("admin"), "content-type": "text/csv"},
            )
        assert response.status_code == 200, response.text
        assert [(t["start"], t["end"]) for t in response.json()["terms"]] == [
            ("2025-09-03", "2025-10-24"),
            ("2025-11-03", "2025-12-19"),
            ("2026-01-05", "2026-02-13"),
        ]

    async def test_a_bad_csv_row_is_named_and_nothing_is_stored(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        bad = CSV + "Spring 2,31/02/2026,27/03/2026\n"
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS[:1])
            response = await client.post(
                "/v1/council/term-dates/import",
                content=bad.encode(),
                headers={**auth("admin"), "content-type": "text/csv"},
            )
        assert response.status_code == 422
        assert response.json()["fields"] == [{"path": "row 5.start", "reason": "not a date"}]
        stored = await session.scalar(select(func.count()).select_from(CouncilTerm))
        assert stored == 1  # the calendar before the import, untouched


class TestOddCsvInput:
    """Whatever a spreadsheet writes: a 200 with every row, or a 4xx naming why; never a 500,
    never half stored."""

    async def _import(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, body: bytes
    ) -> httpx.Response:
        async with client_for(app) as client:
            return await client.post(
                "/v1/council/term-dates/import",
                content=body,
                headers={**auth("admin"), "content-type": "text/csv"},
            )

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(CSV.replace("\n", "\r").encode(), id="bare CR (old Mac export)"),
            pytest.param(("\ufeff" + CSV.replace("\n", "\r\n")).encode(), id="BOM and CRLF"),
            pytest.param(CSV.replace("\n", "\n\n").encode(), id="blank lines"),
        ],
    )
    async def test_line_ends_and_blank_lines_all_read(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, body: bytes
    ) -> None:
        response = await self._import(app, client_for, auth, body)
        assert response.status_code == 200, response.text
        assert [t["name"] for t in response.json()["terms"]] == ["Autumn 1", "Autumn 2", "Spring 1"]

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            # One field over the csv module's own limit (128 KB) but under the body limit.
            pytest.param(
                f"name,start,end\n{'x' * 200_000},2026-01-05,2026-02-13\n", 422, id="huge"
            ),
            pytest.param("x" * 300_000, 413, id="over the body limit"),
            pytest.param("name,start,end\nA,\x00,2026-02-13\n", 422, id="NUL"),
            pytest.param("name,start,end\nA,2026-13-01,2026-02-13\n", 422, id="bad date"),
            # A header and nothing else would clear every school's holidays: refused.
            pytest.param("name,start,end\r\n\r\n", 422, id="header only"),
            pytest.param("", 422, id="empty"),
        ],
    )
    async def test_unreadable_input_is_refused_and_nothing_stored(
        self,
        app: FastAPI,
        client_for: ClientFor,
        auth: Auth,
        session: AsyncSession,
        body: str,
        status: int,
    ) -> None:
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS[:1])
        response = await self._import(app, client_for, auth, body.encode())
        assert response.status_code == status, response.text
        stored = await session.scalar(select(func.count()).select_from(CouncilTerm))
        assert stored == 1

    async def test_not_utf8_is_422(self, app: FastAPI, client_for: ClientFor, auth: Auth) -> None:
        response = await self._import(
            app, client_for, auth, "name,start,end\n\xe9".encode("latin-1")
        )
        assert response.status_code == 422


class TestCouncilScoping:
    async def test_each_admin_sees_and_replaces_only_their_councils_calendar(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        settings = get_settings().model_copy(update={"council_id": "other"})
        other = {"Authorization": f"Bearer {mint_token(settings, sub='x', role=Role.admin)}"}
        async with client_for(app) as client:
            await put_terms(client, auth, COUNCIL_TERMS)
            seen = await client.get("/v1/council/term-dates", headers=other)
            put = await client.put(
                "/v1/council/term-dates", json={"terms": COUNCIL_TERMS[:1]}, headers=other
            )
            ours = await client.get("/v1/council/term-dates", headers=auth("admin"))
        assert seen.json() == {"council_id": "other", "terms": []}
        assert put.status_code == 200
        assert len(ours.json()["terms"]) == 4

    @pytest.mark.parametrize(
        "role", ["team_manager", "front_door_worker", "referrer", "police_feed"]
    )
    async def test_only_the_admin_manages_the_calendar_and_contacts(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, role: str
    ) -> None:
        claims = {"agency_id": FORCE} if role in ("referrer", "police_feed") else {}
        headers = auth(role, **claims)
        async with client_for(app) as client:
            codes = [
                (await client.get("/v1/council/term-dates", headers=headers)).status_code,
                (
                    await client.put("/v1/council/term-dates", json={"terms": []}, headers=headers)
                ).status_code,
                (
                    await client.post(
                        "/v1/council/term-dates/import",
                        content=CSV.encode(),
                        headers={**headers, "content-type": "text/csv"},
                    )
                ).status_code,
                (await client.get("/v1/council/alert-contacts", headers=headers)).status_code,
                (
                    await client.put(
                        "/v1/council/alert-contacts",
                        json={"duty_manager_email": "x@council.example"},
                        headers=headers,
                    )
                ).status_code,
            ]
        assert codes == [403] * 5


@pytest.mark.usefixtures("committed_db")
class TestConcurrentReplacement:
    async def test_two_replacements_at_once_one_after_the_other_never_a_500(
        self, maker: async_sessionmaker[AsyncSession]
    ) -> None:
        admin = Principal(sub="admin-1", role=Role.admin)
        first = [CouncilTermIn.model_validate(t) for t in COUNCIL_TERMS]
        second = first[:2]
        async with maker() as one, maker() as two:
            await one.begin()
            await council_service.put_terms(one, admin, first)  # not committed yet

            async def replace_again() -> None:
                await two.begin()
                await council_service.put_terms(two, admin, second)
                await two.commit()

            racing = asyncio.create_task(replace_again())
            await asyncio.sleep(0.5)  # let it reach the calendar while the first is open
            await one.commit()
            await racing
        async with maker() as session:
            stored = await session.scalar(select(func.count()).select_from(CouncilTerm))
        assert stored == 2  # the later replacement, whole


class TestCsv:
    def test_dates_in_either_published_form(self) -> None:
        assert parse_date("2026-01-05") == parse_date("05/01/2026")
        assert parse_date("1 Jan") is None

    def test_missing_columns_are_named(self) -> None:
        terms, errors = read_terms("name,first\nA,2026-01-05\n")
        assert terms == []
        assert [(e.path, e.reason) for e in errors] == [
            ("start", "column missing"),
            ("end", "column missing"),
        ]


class TestDemoCouncil:
    async def test_the_demo_council_has_a_term_calendar_its_schools_follow(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, session: AsyncSession
    ) -> None:
        await seed(session, get_settings())
        await seed(session, get_settings())  # idempotent
        terms = (await session.scalars(select(CouncilTerm))).all()
        assert len(terms) == 12
        async with client_for(app) as client:
            # 107301 starts at 08:45: 23 December is due on the first day of spring term.
            deadline, in_holiday = await deadline_of(
                client, auth, session, utc(2025, 12, 23, 20), "107301"
            )
        assert (deadline, in_holiday) == (utc(2026, 1, 5, 8, 45), True)


class TestAlertContactsApi:
    async def test_the_admin_sets_the_councils_duty_manager(
        self, app: FastAPI, client_for: ClientFor, auth: Auth, nsettings: NotificationsSettings
    ) -> None:
        admin = auth("admin")
        async with client_for(app) as client:
            before = (await client.get("/v1/council/alert-contacts", headers=admin)).json()
            bad = await client.put(
                "/v1/council/alert-contacts", json={"duty_manager_email": "nope"}, headers=admin
            )
            put = await client.put(
                "/v1/council/alert-contacts",
                json={"duty_manager_email": "duty.tm@bradford.example"},
                headers=admin,
            )
            dsl = await client.get(
                "/v1/council/alert-contacts", headers=auth("school_dsl", school_urn="107301")
            )
        assert before == {
            "council_id": "demo",
            "duty_manager_email": nsettings.duty_manager_email,
            "configured": False,
        }
        assert bad.status_code == 422
        assert bad.json()["fields"][0]["path"] == "duty_manager_email"
        assert put.json()["duty_manager_email"] == "duty.tm@bradford.example"
        assert put.json()["configured"] is True
        assert dsl.status_code == 403
