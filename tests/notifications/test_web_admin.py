"""The admin's directory pages: the school import, contacts, term dates, the council's settings,
an endpoint's attempts log and recovery. Same service functions, audit rows and errors as the
API; another council's school or endpoint is "not found"."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.demo import seed
from notifications.settings import NotificationsSettings
from services.models.notifications import Attempt, Delivery, Endpoint, School
from services.models.notifications_extra import CouncilTerm
from services.models.platform import AuditEntry
from services.settings import get_settings
from tests.conftest import ClientFactory, TokenFactory
from tests.notifications.conftest import create_endpoint, create_school
from tests.web.helpers import csrf_of, post_form, sign_in

OTHER = "another-council"
REGISTER_HEADER = (
    "URN,EstablishmentName,PhaseOfEducation (name),Postcode,EstablishmentStatus (name)"
)


@pytest.fixture
async def demo(session: AsyncSession) -> AsyncSession:
    await seed(session, get_settings())
    return session


@pytest.fixture
async def web(
    client_for: ClientFactory, app: FastAPI, demo: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        await sign_in(c, "admin")
        yield c


async def _audits(session: AsyncSession, action: str) -> int:
    count = await session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
    )
    return int(count or 0)


async def _upload(
    web: httpx.AsyncClient, path: str, text: str, *, from_page: str, **data: str
) -> httpx.Response:
    page = await web.get(from_page)
    assert page.status_code == 200, page.text
    return await web.post(
        path,
        data={"csrf_token": csrf_of(page.text), **data},
        files={"csv": ("schools.csv", text.encode(), "text/csv")},
    )


class TestSchoolImport:
    async def test_each_row_gets_its_result_and_the_bad_row_is_not_written(
        self, web: httpx.AsyncClient, demo: AsyncSession
    ) -> None:
        text = "\n".join(
            [
                REGISTER_HEADER,
                "654321,New Primary,Primary,BD1 1AA,Open",
                "12,Bad Urn School,Primary,BD1 1AA,Open",
                "107301,Low Moor C of E Primary (renamed),Primary,BD12 0NN,Open",
                "654322,Closed Primary,Primary,BD1 1AA,Closed",
            ]
        )
        page = await _upload(web, "/admin/schools/import", text, from_page="/admin/schools/import")
        assert page.status_code == 200, page.text
        assert "1 created, 1 updated, 1 rejected, 1 skipped" in page.text
        assert "URN: must be 6 or 7 digits" in page.text
        assert (await demo.get(School, "654321")) is not None
        assert (await demo.get(School, "654322")) is None
        assert await _audits(demo, "school.import") == 1

    async def test_a_file_without_the_required_columns_is_422_and_changes_nothing(
        self, web: httpx.AsyncClient, demo: AsyncSession
    ) -> None:
        page = await _upload(
            web, "/admin/schools/import", "Name\nNew\n", from_page="/admin/schools/import"
        )
        assert page.status_code == 422
        assert "govuk-error-summary" in page.text
        assert "URN: required column missing" in page.text
        assert await _audits(demo, "school.import") == 0

    async def test_no_file_and_a_file_not_in_utf8_are_422(self, web: httpx.AsyncClient) -> None:
        none = await post_form(web, "/admin/schools/import", {}, from_page="/admin/schools/import")
        assert none.status_code == 422
        assert "choose a CSV file" in none.text
        page = await web.get("/admin/schools/import")
        latin = await web.post(
            "/admin/schools/import",
            data={"csrf_token": csrf_of(page.text)},
            files={"csv": ("s.csv", "URN,EstablishmentName\n654323,Caf\xe9\n".encode("latin-1"))},
        )
        assert latin.status_code == 422
        assert "The CSV must be UTF-8." in latin.text

    async def test_the_upload_needs_the_forms_token(self, web: httpx.AsyncClient) -> None:
        response = await web.post(
            "/admin/schools/import",
            data={"csrf_token": "forged"},
            files={"csv": ("s.csv", f"{REGISTER_HEADER}\n654324,X,Primary,BD1 1AA,Open\n")},
        )
        assert response.status_code == 403


class TestSchoolContacts:
    async def test_a_bad_email_is_the_error_summary_then_a_good_one_is_saved(
        self, web: httpx.AsyncClient, demo: AsyncSession
    ) -> None:
        path = "/admin/schools/107301"
        bad = await post_form(
            web, f"{path}/contacts", {"dsl_email": "not-an-email"}, from_page=path
        )
        assert bad.status_code == 422
        assert "govuk-error-summary" in bad.text
        assert 'href="#dsl_email"' in bad.text
        good = await post_form(
            web,
            f"{path}/contacts",
            {"dsl_email": "head@lowmoor.example", "deputy_email": "deputy@lowmoor.example"},
            from_page=path,
        )
        assert good.status_code == 303
        school = await demo.get(School, "107301")
        assert school is not None
        await demo.refresh(school)
        assert (school.dsl_email, school.deputy_email) == (
            "head@lowmoor.example",
            "deputy@lowmoor.example",
        )
        assert await _audits(demo, "school.update") == 1
        assert "head@lowmoor.example" in (await web.get(good.headers["location"])).text

    async def test_another_councils_school_is_not_found(
        self, web: httpx.AsyncClient, demo: AsyncSession
    ) -> None:
        await create_school(demo, urn="690001", council_id=OTHER, name="Elsewhere Primary")
        assert (await web.get("/admin/schools/690001")).status_code == 404
        page = await web.get("/admin/schools/107301")
        response = await web.post(
            "/admin/schools/690001/contacts",
            data={"csrf_token": csrf_of(page.text), "dsl_email": "x@elsewhere.example"},
        )
        assert response.status_code == 404
        assert "Elsewhere Primary" not in response.text
        assert (await web.get("/admin/schools/690001/term-dates")).status_code == 404


class TestTermDates:
    async def test_a_school_follows_the_council_until_given_its_own(
        self, web: httpx.AsyncClient, demo: AsyncSession
    ) -> None:
        path = "/admin/schools/107302/term-dates"
        page = await web.get(path)
        assert page.status_code == 200
        assert 'data-testid="uses-council"' in page.text
        bad = await post_form(
            web, path, {"terms_csv": "start,end\n2026-09-03,yesterday\n"}, from_page=path
        )
        assert bad.status_code == 422
        assert "row 2.end: not a date" in bad.text
        good = await post_form(
            web,
            path,
            {"terms_csv": "start,end\n03/09/2026,23/10/2026\n2026-11-02,2026-12-18\n"},
            from_page=path,
        )
        assert good.status_code == 303
        school = await demo.get(School, "107302")
        assert school is not None
        await demo.refresh(school)
        assert school.terms == [
            {"start": "2026-09-03", "end": "2026-10-23"},
            {"start": "2026-11-02", "end": "2026-12-18"},
        ]
        shown = await web.get(path)
        assert "3 September 2026" in shown.text
        back = await post_form(web, path, {"use_council": "yes"}, from_page=path)
        assert back.status_code == 303
        await demo.refresh(school)
        assert school.terms == []

    async def test_an_uploaded_file_replaces_them_and_an_empty_one_is_refused(
        self, web: httpx.AsyncClient, demo: AsyncSession
    ) -> None:
        path = "/admin/schools/107302/term-dates"
        empty = await _upload(web, path, "start,end\n", from_page=path)
        assert empty.status_code == 422
        assert "give at least one term" in empty.text
        done = await _upload(web, path, "start,end\n2027-01-05,2027-02-12\n", from_page=path)
        assert done.status_code == 303
        school = await demo.get(School, "107302")
        assert school is not None
        await demo.refresh(school)
        assert school.terms == [{"start": "2027-01-05", "end": "2027-02-12"}]

    async def test_the_councils_term_dates_are_replaced_only_when_every_row_is_right(
        self, web: httpx.AsyncClient, demo: AsyncSession
    ) -> None:
        before = (await demo.scalars(select(CouncilTerm.start_date))).all()
        overlap = "start,end,name\n2027-01-05,2027-02-12,Spring 1\n2027-02-01,2027-03-31,Spring 2\n"
        refused = await post_form(
            web, "/admin/council/term-dates", {"terms_csv": overlap}, from_page="/admin/council"
        )
        assert refused.status_code == 422
        assert "row 3: overlaps another term" in refused.text
        assert (await demo.scalars(select(CouncilTerm.start_date))).all() == before
        good = "start,end,name\n2027-01-05,2027-02-12,Spring 1\n2027-02-22,2027-03-31,Spring 2\n"
        saved = await post_form(
            web, "/admin/council/term-dates", {"terms_csv": good}, from_page="/admin/council"
        )
        assert saved.status_code == 303
        starts = (await demo.scalars(select(CouncilTerm.start_date))).all()
        assert sorted(starts) == [date(2027, 1, 5), date(2027, 2, 22)]
        assert await _audits(demo, "council.terms_replace") == 1
        assert "Spring 2" in (await web.get("/admin/council")).text

    async def test_the_councils_alert_contact(
        self, web: httpx.AsyncClient, demo: AsyncSession
    ) -> None:
        path = "/admin/council/alert-contacts"
        bad = await post_form(web, path, {"duty_manager_email": "nope"}, from_page="/admin/council")
        assert bad.status_code == 422
        assert 'href="#duty_manager_email"' in bad.text
        good = await post_form(
            web, path, {"duty_manager_email": "duty@council.example"}, from_page="/admin/council"
        )
        assert good.status_code == 303
        assert "duty@council.example" in (await web.get("/admin/council")).text
        assert await _audits(demo, "council.alert_contacts_update") == 1


async def _failed_delivery(session: AsyncSession, endpoint: Endpoint, at: datetime) -> Delivery:
    delivery = Delivery(
        school_urn=endpoint.school_urn,
        channel="webhook",
        kind="alert",
        endpoint_id=endpoint.id,
        message_id=f"msg_{uuid.uuid4().hex}",
        body='{"type": "encompass.notification.created"}',
        status="failed",
        attempts=1,
        created_at=at,
    )
    session.add(delivery)
    await session.flush()
    session.add(
        Attempt(
            delivery_id=delivery.id,
            attempted_at=at,
            status_code=503,
            latency_ms=41,
            outcome="failed",
            error="HTTP 503",
        )
    )
    await session.flush()
    return delivery


class TestEndpointPage:
    async def test_the_attempts_log_then_recovery_re_enables_and_requeues(
        self, web: httpx.AsyncClient, demo: AsyncSession, nsettings: NotificationsSettings
    ) -> None:
        school = await create_school(demo, urn="610101")
        outage = datetime.now(UTC) - timedelta(hours=5)
        endpoint = await create_endpoint(
            demo,
            nsettings,
            school,
            "http://127.0.0.1:9/hook",
            disabled_reason="failing for 24 hours",
            disabled_at=outage,
            failing_since=outage,
        )
        endpoint.enabled = False
        delivery = await _failed_delivery(demo, endpoint, outage + timedelta(minutes=5))
        path = f"/admin/endpoints/{endpoint.id}"
        page = await web.get(path)
        assert page.status_code == 200
        assert f'data-webhook-id="{delivery.message_id}"' in page.text
        assert "503" in page.text
        assert "41 ms" in page.text
        assert "Re-enable and resend" in page.text
        assert f'href="{path}"' in (await web.get("/admin/schools/610101")).text
        bad = await post_form(
            web,
            f"{path}/recover",
            {"day": "31", "month": "2", "year": "2026", "time": "09:00"},
            from_page=path,
        )
        assert bad.status_code == 422
        assert 'href="#since"' in bad.text
        await demo.refresh(endpoint)
        assert endpoint.enabled is False  # the refused form changed nothing
        day = (outage - timedelta(days=1)).astimezone(ZoneInfo(nsettings.timezone))
        since = {"day": str(day.day), "month": str(day.month), "year": str(day.year)}
        since["time"] = "00:00"
        done = await post_form(web, f"{path}/recover", since, from_page=path)
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{path}?requeued=1"
        await demo.refresh(endpoint)
        await demo.refresh(delivery)
        assert endpoint.enabled is True
        assert endpoint.consecutive_failures == 0
        assert delivery.status == "pending"
        assert await _audits(demo, "endpoint.update") == 1
        assert await _audits(demo, "endpoint.recover") == 1
        assert "1 alert(s) will be sent again" in (await web.get(done.headers["location"])).text

    async def test_another_councils_endpoint_is_not_found(
        self, web: httpx.AsyncClient, demo: AsyncSession, nsettings: NotificationsSettings
    ) -> None:
        school = await create_school(demo, urn="690002", council_id=OTHER)
        endpoint = await create_endpoint(demo, nsettings, school, "http://127.0.0.1:9/other")
        await _failed_delivery(demo, endpoint, datetime.now(UTC))
        path = f"/admin/endpoints/{endpoint.id}"
        page = await web.get(path)
        assert page.status_code == 404
        assert "127.0.0.1:9/other" not in page.text
        own = await web.get("/admin/schools/107301")
        recover = await web.post(
            f"{path}/recover",
            data={"csrf_token": csrf_of(own.text), "day": "1", "month": "1", "year": "2026"},
        )
        assert recover.status_code == 404
        assert await _audits(demo, "endpoint.recover") == 0


class TestUploads:
    async def test_multipart_is_for_the_pages_the_api_still_takes_json_only(
        self, web: httpx.AsyncClient
    ) -> None:
        response = await web.post(
            "/v1/schools", files={"csv": ("s.csv", b"URN\n")}, headers={"authorization": "x"}
        )
        assert response.status_code == 415


class TestAttemptsLogShowsNoChild:
    async def test_an_alerts_attempt_is_listed_without_the_childs_details(
        self, web: httpx.AsyncClient, demo: AsyncSession, auth: TokenFactory
    ) -> None:
        police = auth("police_feed", agency_id="west-yorkshire-police")
        response = await web.post(
            "/v1/encompass/incidents",
            headers=police,
            json={
                "police_reference": f"WYP/{uuid.uuid4().hex[:6]}",
                "incident_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
                "children": [
                    {"given_name": "Zebedee", "family_name": "Quartermain", "school_urn": "107301"}
                ],
            },
        )
        assert response.status_code == 200, response.text
        nid = uuid.UUID(response.json()["children"][0]["notification_id"])
        delivery = await demo.scalar(
            select(Delivery).where(
                Delivery.notification_id == nid, Delivery.endpoint_id.is_not(None)
            )
        )
        assert delivery is not None
        demo.add(
            Attempt(
                delivery_id=delivery.id,
                attempted_at=datetime.now(UTC),
                status_code=500,
                latency_ms=12,
                outcome="failed",
                error="HTTP 500",
            )
        )
        await demo.flush()
        page = await web.get(f"/admin/endpoints/{delivery.endpoint_id}")
        assert page.status_code == 200
        assert f'data-webhook-id="{delivery.message_id}"' in page.text
        assert "Zebedee" not in page.text
        assert "Quartermain" not in page.text
        assert str(nid) not in page.text
