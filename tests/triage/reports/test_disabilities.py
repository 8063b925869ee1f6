"""A child's CIN census disability codes: recorded per child on a contact, read by the census
return (written in the XML and the CSV; rule 8540 only for a child with none recorded)."""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry
from services.models.triage_reports import TriageChildDisabilities
from tests.triage.reports.factories import MANAGER, add_contact, child
from triage.reports import census, census_service

Headers = dict[str, str]
YEAR = 2026
IN_YEAR = datetime(2025, 11, 3, 10, tzinfo=UTC)
UNBORN: dict[str, Any] = {"born": None, "due": date(2026, 2, 1), "gender": "0"}
ROW = census.CensusReferral(
    la_child_id="ABCDEF0123",
    contact_reference="FDC-2025-000001",
    child=1,
    kind="child",
    date_of_birth=date(2018, 5, 1),
    expected_birth_date=None,
    gender="1",
    referral_date=date(2025, 11, 3),
    referral_source="2A",
    primary_need_code="N1",
    nfa=False,
    assessment_authorised=None,
    factors=(),
)


def _url(contact_id: uuid.UUID) -> str:
    return f"/v1/contacts/{contact_id}/disabilities"


async def _further(session: AsyncSession, **overrides: Any) -> Any:
    """A referral received in the year that went further (a strategy discussion: no
    assessment, so no factors are needed), about one born child unless told otherwise."""
    fields: dict[str, Any] = {
        "received_at": IN_YEAR,
        "outcome": "strategy_discussion",
        **overrides,
    }
    return await add_contact(session, **fields)


async def _audits(session: AsyncSession) -> int:
    query = select(func.count()).where(AuditEntry.action == "contact.child_disabilities")
    return int(await session.scalar(query) or 0)


class TestRecording:
    async def test_recorded_and_replaced_for_a_child_and_each_write_audited(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded)
        resp = await client.put(
            _url(contact.id), json={"child": 1, "disabilities": ["aut", "HEAR"]}, headers=worker
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert (body["contact_id"], body["child"]) == (str(contact.id), 1)
        assert (body["disabilities"], body["recorded_by"]) == (["AUT", "HEAR"], "worker-1")
        again = await client.put(
            _url(contact.id), json={"child": 1, "disabilities": ["NONE"]}, headers=worker
        )
        assert again.status_code == 200, again.text
        assert again.json()["disabilities"] == ["NONE"]
        stored = (
            await seeded.scalars(
                select(TriageChildDisabilities).where(
                    TriageChildDisabilities.contact_id == contact.id
                )
            )
        ).all()
        assert [(r.child, r.disabilities) for r in stored] == [(1, ["NONE"])]
        assert await _audits(seeded) == 2

    async def test_team_managers_may_record_them(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded)
        resp = await client.put(
            _url(contact.id), json={"child": 1, "disabilities": ["LD"]}, headers=manager
        )
        assert resp.status_code == 200, resp.text

    @pytest.mark.parametrize(
        ("body", "path", "reason"),
        [
            ({"child": 1, "disabilities": ["BLUE"]}, "disabilities", "BLUE"),
            ({"child": 1, "disabilities": ["NONE", "AUT"]}, "disabilities", "NONE"),
            ({"child": 1, "disabilities": ["AUT", "aut"]}, "disabilities", "more than once"),
            ({"child": 1, "disabilities": []}, "disabilities", "at least 1"),
            ({"child": 1, "disabilities": [""]}, "disabilities.0", "at least 1"),
            ({"disabilities": ["AUT"]}, "child", "required"),
            ({"child": 0, "disabilities": ["AUT"]}, "child", "greater than or equal to 1"),
            ({"child": 1, "disabilities": "AUT"}, "disabilities", "list"),
            ({"child": 1, "disabilities": ["AUT"], "extra": 1}, "extra", "not permitted"),
        ],
    )
    async def test_bad_bodies_are_refused_with_the_field_and_reason(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        seeded: AsyncSession,
        body: dict[str, Any],
        path: str,
        reason: str,
    ) -> None:
        contact = await _further(seeded)
        resp = await client.put(_url(contact.id), json=body, headers=worker)
        assert resp.status_code == 422, resp.text
        [field] = resp.json()["fields"]
        assert field["path"] == path
        assert reason in field["reason"]
        assert await _audits(seeded) == 0

    async def test_a_child_the_contact_does_not_have_is_refused_on_child(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded)
        resp = await client.put(
            _url(contact.id), json={"child": 2, "disabilities": ["AUT"]}, headers=worker
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"] == "DisabilitiesInvalid"
        assert resp.json()["fields"] == [
            {"path": "child", "reason": "the contact has 1 child(ren)"}
        ]

    async def test_an_unborn_child_has_none_to_record(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded, children=[child(**UNBORN)])
        resp = await client.put(
            _url(contact.id), json={"child": 1, "disabilities": ["NONE"]}, headers=worker
        )
        assert resp.status_code == 422, resp.text
        [field] = resp.json()["fields"]
        assert (field["path"], field["reason"]) == (
            "child",
            "an unborn child has no census disability codes",
        )

    async def test_a_contact_the_caller_may_not_see_is_404(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        others = await _further(seeded, council_id="other")
        for contact_id in (others.id, uuid.uuid4()):
            resp = await client.put(
                _url(contact_id), json={"child": 1, "disabilities": ["AUT"]}, headers=worker
            )
            assert resp.status_code == 404, resp.text
        assert await _audits(seeded) == 0
        assert await seeded.scalar(select(func.count()).select_from(TriageChildDisabilities)) == 0


class TestTheChildsCodes:
    def test_the_latest_recording_is_the_childs(self) -> None:
        earlier = replace(
            ROW, disabilities=("NONE",), disabilities_recorded_at=datetime(2025, 11, 4, tzinfo=UTC)
        )
        later = replace(
            ROW,
            contact_reference="FDC-2025-000002",
            disabilities=("AUT",),
            disabilities_recorded_at=datetime(2026, 1, 6, tzinfo=UTC),
        )
        bare = replace(ROW, contact_reference="FDC-2025-000003")
        assert census.disabilities([later, bare, earlier]) == ("AUT",)
        assert census.disabilities([bare]) == ()
        # Every CSV line of the child carries the child's codes.
        lines = list(census.csv_lines([earlier, later, bare]))
        column = census.CSV_COLUMNS.index("disabilities")
        assert [line.rstrip("\r\n").split(",")[column] for line in lines] == ["AUT"] * 3


class TestCensusReadsThem:
    async def test_without_codes_the_child_is_listed_as_8540_and_the_export_refused(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        referral = await _further(seeded)
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert [(f.rule, f.contact_reference, f.child) for f in report.failures] == [
            ("8540", referral.reference, 1)
        ]
        resp = await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager)
        assert resp.status_code == 422, resp.text
        [field] = resp.json()["fields"]
        assert field["path"] == f"{referral.reference}/child/1/disabilities"
        assert field["reason"].startswith("8540: ")

    async def test_recorded_codes_clear_8540_and_are_written_in_the_xml_and_csv(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        manager: Headers,
        seeded: AsyncSession,
    ) -> None:
        twins = [child(nhs="9990001006"), child(nhs="9990001014")]
        referral = await _further(seeded, children=twins)
        for number, codes in ((1, ["AUT", "HEAR"]), (2, ["NONE"])):
            resp = await client.put(
                _url(referral.id), json={"child": number, "disabilities": codes}, headers=worker
            )
            assert resp.status_code == 200, resp.text
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert report.failures == []
        resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR, "format": "xml"}, headers=manager
        )
        assert resp.status_code == 200, resp.text
        written = sorted(
            [d.text or "" for d in c.iterfind("ChildCharacteristics/Disabilities/Disability")]
            for c in ET.fromstring(resp.content).iterfind("Children/Child")
        )
        assert written == [["AUT", "HEAR"], ["NONE"]]
        resp = await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager)
        assert resp.status_code == 200, resp.text
        rows = csv.DictReader(io.StringIO(resp.text))
        assert {r["child"]: r["disabilities"] for r in rows} == {"1": "AUT;HEAR", "2": "NONE"}

    async def test_codes_recorded_on_an_earlier_referral_are_the_childs_on_a_later_one(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990001006")
        first = await add_contact(
            seeded, received_at=IN_YEAR, children=[kid], outcome="nfa", primary_need_code=None
        )
        await _further(seeded, children=[kid], received_at=IN_YEAR + timedelta(days=30))
        resp = await client.put(
            _url(first.id), json={"child": 1, "disabilities": ["MOB"]}, headers=worker
        )
        assert resp.status_code == 200, resp.text
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert report.failures == []
