"""The CIN census return: the rules checked first, every failure named, CSV and XML streamed."""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identifiers import upn_check_letter
from services.models.mash import MashChild, MashChildLink
from services.models.platform import AuditEntry
from tests.triage.reports.factories import MANAGER, add_assessment, add_contact, child
from triage.reports import census, census_service

Headers = dict[str, str]
YEAR = 2026  # 1 April 2025 - 31 March 2026
LONDON = ZoneInfo("Europe/London")
IN_YEAR = datetime(2025, 11, 3, 10, tzinfo=UTC)
OK = census.CensusReferral(
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


GOOD_UPN = upn_check_letter("12345678901A") + "12345678901A"
BAD_UPN = next(c for c in "ABCD" if c != GOOD_UPN[0]) + GOOD_UPN[1:]


def rules(row: census.CensusReferral) -> list[str]:
    return [f.rule for f in census.failures(row, YEAR)]


class TestCensusRules:
    def test_a_good_referral_passes(self) -> None:
        assert rules(OK) == []

    def test_collection_year_runs_april_to_march(self) -> None:
        assert census.collection_bounds(YEAR) == (date(2025, 4, 1), date(2026, 3, 31))

    @pytest.mark.parametrize(
        ("changes", "rule"),
        [
            ({"date_of_birth": None}, "8525"),
            ({"expected_birth_date": date(2026, 1, 1)}, "8525"),
            ({"date_of_birth": date(2026, 4, 2), "referral_date": date(2026, 3, 1)}, "8520"),
            ({"gender": None}, "4180"),
            ({"gender": "3"}, "4180"),
            (
                {"date_of_birth": None, "expected_birth_date": date(2026, 2, 1), "gender": "2"},
                "8750",
            ),
            (
                {"date_of_birth": None, "expected_birth_date": date(2026, 9, 1), "gender": "0"},
                "8606",
            ),
            ({"referral_source": None}, "8866"),
            ({"referral_source": "11"}, "8866"),
            ({"nfa": None}, "8568"),
            ({"primary_need_code": None}, "8610"),
            ({"primary_need_code": "N11"}, "8650"),
            ({"factors": ("3A",)}, "8614"),
            ({"child": None}, "FD01"),
            ({"assessment_started": date(2025, 11, 2)}, "1103"),
            ({"ethnicity": "WXYZ"}, "4220"),
            ({"upn": BAD_UPN}, "1510"),
            ({"upn": "A12345"}, "1510"),
            ({"la_child_id_clash": True}, "FD02"),
        ],
    )
    def test_each_rule_fails_its_case(self, changes: dict[str, Any], rule: str) -> None:
        assert rules(replace(OK, **changes)) == [rule]

    def test_a_valid_upn_ethnicity_and_assessment_start_pass(self) -> None:
        row = replace(OK, upn=GOOD_UPN, ethnicity="WBRI", assessment_started=date(2025, 11, 3))
        assert rules(row) == []

    def test_the_xml_carries_upn_ethnicity_and_the_assessment_start(self) -> None:
        row = replace(
            OK,
            upn=GOOD_UPN,
            ethnicity="MWBA",
            assessment_started=date(2025, 11, 4),
            assessment_authorised=date(2025, 12, 1),
            factors=("3A",),
        )
        child_xml = ET.fromstring("".join(census.xml_children([row])))
        assert child_xml.findtext("ChildIdentifiers/UPN") == GOOD_UPN
        assert child_xml.find("ChildIdentifiers/UPNunknown") is None
        assert child_xml.findtext("ChildCharacteristics/Ethnicity") == "MWBA"
        assessment = child_xml.find("CINdetails/Assessments")
        assert assessment is not None
        assert [e.tag for e in assessment] == [
            "AssessmentActualStartDate",
            "AssessmentAuthorisationDate",
            "FactorsIdentifiedAtAssessment",
        ]
        assert assessment.findtext("AssessmentActualStartDate") == "2025-11-04"

    def test_without_upn_or_ethnicity_the_xml_says_so(self) -> None:
        young = replace(OK, date_of_birth=date(2021, 1, 1))  # 4 at the referral
        young_xml = ET.fromstring("".join(census.xml_children([young])))
        assert young_xml.findtext("ChildIdentifiers/UPNunknown") == "UN1"
        assert young_xml.findtext("ChildCharacteristics/Ethnicity") == "NOBT"
        older = OK  # born 2018: 7 at the referral
        assert (
            ET.fromstring("".join(census.xml_children([older]))).findtext(
                "ChildIdentifiers/UPNunknown"
            )
            == "UN5"
        )

    def test_an_nfa_referral_needs_no_primary_need_code(self) -> None:
        assert rules(replace(OK, nfa=True, primary_need_code=None)) == []

    def test_factors_with_an_authorised_assessment_pass(self) -> None:
        row = replace(OK, factors=("3A", "16A"), assessment_authorised=date(2025, 12, 1))
        assert rules(row) == []

    def test_an_unborn_child_within_40_weeks_passes(self) -> None:
        row = replace(OK, date_of_birth=None, expected_birth_date=date(2026, 6, 1), gender="0")
        assert rules(row) == []


async def _good(session: AsyncSession, **overrides: Any) -> Any:
    return await add_contact(session, received_at=IN_YEAR, **overrides)


async def _link(session: AsyncSession, contact: Any, child_id: uuid.UUID) -> None:
    if await session.get(MashChild, child_id) is None:
        session.add(MashChild(id=child_id, council_id="demo", display_name="A child"))
        await session.flush()
    session.add(
        MashChildLink(
            id=uuid.uuid4(),
            child_id=child_id,
            contact_id=contact.id,
            subject_position=0,
            matched_on=[],
            state="new",
        )
    )
    await session.flush()


class TestLaChildId:
    async def test_the_mash_child_gives_the_same_id_every_year_whatever_the_identifier(
        self, seeded: AsyncSession
    ) -> None:
        record = uuid.uuid4()
        # The same child, known by NHS number one year and by UPN the next.
        earlier = await add_contact(
            seeded, received_at=IN_YEAR - timedelta(days=365), children=[child(nhs="9990001006")]
        )
        later = await _good(seeded, children=[child(upn=GOOD_UPN)])
        for contact in (earlier, later):
            await _link(seeded, contact, record)
        ids = []
        for year in (YEAR - 1, YEAR):
            rows = [r async for r in census_service._census_rows(
                seeded, "demo", year, LONDON, date(2026, 6, 1)
            )]  # fmt: skip
            ids.append([r.la_child_id for r in rows])
        assert ids == [[record.hex[:15].upper()]] * 2

    async def test_two_children_sharing_an_id_are_a_failure_never_merged(
        self, seeded: AsyncSession
    ) -> None:
        # Two MASH records whose ids agree in the first 15 hex digits (as unlikely as it is).
        one = uuid.UUID("abcdef01-2345-6789-0000-000000000001")
        two = uuid.UUID("abcdef01-2345-6789-0000-000000000002")
        first = await _good(seeded)
        second = await _good(seeded)
        await _link(seeded, first, one)
        await _link(seeded, second, two)
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        clashes = sorted(f.contact_reference for f in report.failures if f.rule == "FD02")
        assert clashes == sorted([first.reference, second.reference])

    async def test_without_a_mash_record_the_subject_row_gives_the_id(
        self, seeded: AsyncSession
    ) -> None:
        contact = await _good(seeded)
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert report.valid
        rows = [r async for r in census_service._census_rows(
            seeded, "demo", YEAR, LONDON, date(2026, 6, 1)
        )]  # fmt: skip
        assert [len(r.la_child_id) for r in rows] == [10]
        assert rows[0].contact_reference == contact.reference


class TestCensusValidation:
    async def test_every_failure_is_listed_with_the_childs_record(
        self, seeded: AsyncSession
    ) -> None:
        await _good(seeded)
        bad = await _good(
            seeded,
            primary_need_code=None,
            children=[child(nhs="9990001006"), child(nhs="9990001014", gender="7")],
        )
        empty = await _good(seeded, children=[])
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert report.referrals_checked == 4
        assert not report.valid
        found = sorted((f.contact_reference, f.child, f.rule) for f in report.failures)
        assert found == sorted(
            [
                (bad.reference, 1, "8610"),
                (bad.reference, 2, "4180"),
                (bad.reference, 2, "8610"),
                (empty.reference, None, "FD01"),
            ]
        )

    async def test_only_referrals_received_in_the_collection_year(
        self, seeded: AsyncSession
    ) -> None:
        await add_contact(seeded, received_at=datetime(2025, 3, 31, 22, 30, tzinfo=UTC))
        await add_contact(seeded, received_at=datetime(2025, 3, 31, 23, 30, tzinfo=UTC))  # BST
        await add_contact(seeded, received_at=IN_YEAR, contact_type="advice_information")
        await add_contact(seeded, received_at=IN_YEAR, contact_type=None)
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert report.referrals_checked == 1

    async def test_another_councils_referrals_are_not_in_the_return(
        self, seeded: AsyncSession
    ) -> None:
        await add_contact(seeded, received_at=IN_YEAR, council_id="other", referral_source=None)
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert (report.referrals_checked, report.failures) == (0, [])


class TestCensusExportApi:
    async def test_csv_per_child_per_referral_with_factors(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990001006")
        first = await _good(seeded, children=[kid], referral_source="3B")
        await add_assessment(
            seeded, first, authorised_at=IN_YEAR + timedelta(days=30), factors=["3A", "16A"]
        )
        await add_contact(
            seeded,
            received_at=IN_YEAR + timedelta(days=60),
            outcome="nfa",
            nfa_reason="Needs met.",
            primary_need_code=None,
            children=[kid],
        )
        resp = await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(resp.text)))
        assert [(r["referral_date"], r["referral_nfa"]) for r in rows] == [
            ("2025-11-03", "0"),
            ("2026-01-02", "1"),
        ]
        assert rows[0]["la_child_id"] == rows[1]["la_child_id"]  # one child, two referrals
        assert (rows[0]["referral_source"], rows[0]["primary_need_code"]) == ("3B", "N1")
        assert (rows[0]["assessment_authorisation_date"], rows[0]["factors"]) == (
            "2025-12-03",
            "3A;16A",
        )
        assert "9990001006" not in resp.text

    async def test_xml_in_the_census_layout(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990001006")
        await _good(seeded, children=[kid])
        await _good(seeded, children=[kid], outcome="nfa", primary_need_code=None)
        await _good(seeded, children=[child(born=None, due=date(2026, 2, 1), gender="0")])
        resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR, "format": "xml"}, headers=manager
        )
        assert resp.status_code == 200, resp.text
        root = ET.fromstring(resp.content)
        assert root.findtext("Header/CollectionDetails/Year") == "2026"
        assert root.findtext("Header/CollectionDetails/ReferenceDate") == "2026-03-31"
        children = root.findall("Children/Child")
        assert sorted(len(c.findall("CINdetails")) for c in children) == [1, 2]
        unborn = next(
            c for c in children if c.find("ChildIdentifiers/ExpectedPersonBirthDate") is not None
        )
        assert unborn.findtext("ChildIdentifiers/GenderCurrent") == "0"
        nfa = [d.findtext("ReferralNFA") or "" for c in children for d in c.findall("CINdetails")]
        assert sorted(nfa) == ["false", "false", "true"]

    async def test_xml_takes_upn_ethnicity_and_assessment_start_from_the_records(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990001006", upn=GOOD_UPN, ethnicity="WBRI")
        referral = await _good(seeded, children=[kid])
        await add_assessment(seeded, referral, authorised_at=IN_YEAR + timedelta(days=30))
        resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR, "format": "xml"}, headers=manager
        )
        assert resp.status_code == 200, resp.text
        found = ET.fromstring(resp.content).find("Children/Child")
        assert found is not None
        assert found.findtext("ChildIdentifiers/UPN") == GOOD_UPN
        assert found.findtext("ChildCharacteristics/Ethnicity") == "WBRI"
        # The assessment clock starts when the decision starts it (here: at receipt).
        start = found.findtext("CINdetails/Assessments/AssessmentActualStartDate")
        assert start == "2025-11-03"

    async def test_a_return_that_breaks_the_rules_is_refused_with_every_failure(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        bad = await _good(seeded, referral_source=None)
        resp = await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager)
        assert resp.status_code == 422
        fields = resp.json()["fields"]
        assert fields == [
            {
                "path": f"{bad.reference}/child/1/referral_source",
                "reason": "8866: Source of Referral is missing or an invalid code",
            }
        ]
        listed = await client.get(
            "/v1/exports/cin-referrals/validation", params={"year": YEAR}, headers=manager
        )
        assert listed.status_code == 200
        assert [f["rule"] for f in listed.json()["failures"]] == ["8866"]

    async def test_managers_only_and_every_read_audited(
        self,
        client: httpx.AsyncClient,
        manager: Headers,
        worker: Headers,
        session: AsyncSession,
        seeded: AsyncSession,
    ) -> None:
        await _good(seeded)
        assert (
            await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=worker)
        ).status_code == 403
        resp = await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager)
        assert resp.status_code == 200
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("%cin_census%"))
            )
        ).all()
        assert sorted(actions) == ["export.cin_census", "report.cin_census.validate"]

    async def test_a_refused_export_is_audited_too(
        self,
        client: httpx.AsyncClient,
        manager: Headers,
        session: AsyncSession,
        seeded: AsyncSession,
    ) -> None:
        # The refusal lists records (references and what is wrong with them): a read.
        await _good(seeded, referral_source=None)
        resp = await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager)
        assert resp.status_code == 422
        assert resp.json()["error"] == "CensusReturnInvalid"
        actions = (
            await session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.like("%cin_census%"))
            )
        ).all()
        assert sorted(actions) == ["export.cin_census.refused", "report.cin_census.validate"]

    @pytest.mark.parametrize("year", ["1999", "2026-27", "2099"])
    async def test_a_bad_year_is_refused(
        self, client: httpx.AsyncClient, manager: Headers, year: str
    ) -> None:
        resp = await client.get("/v1/exports/cin-referrals", params={"year": year}, headers=manager)
        assert resp.status_code == 422
        assert resp.json()["fields"][0]["path"] in ("query.year", "year")


class TestAssessmentFactors:
    async def _assessed(self, client: httpx.AsyncClient, seeded: AsyncSession) -> uuid.UUID:
        contact = await _good(seeded, outcome="s17_assessment")
        await add_assessment(seeded, contact, authorised_at=None)
        contact_id: uuid.UUID = contact.id
        return contact_id

    async def test_recorded_for_a_referral_that_went_to_assessment(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact_id = await self._assessed(client, seeded)
        url = f"/v1/contacts/{contact_id}/assessment-factors"
        resp = await client.put(url, json={"factors": ["3a", "16A", "3A"]}, headers=worker)
        assert resp.status_code == 200, resp.text
        assert resp.json()["factors"] == ["3A", "16A"]
        again = await client.put(url, json={"factors": ["21"]}, headers=worker)
        assert again.json()["factors"] == ["21"]
        audited = await seeded.scalar(
            select(func.count()).where(AuditEntry.action == "contact.assessment_factors")
        )
        assert audited == 2

    @pytest.mark.parametrize("factors", [["99Z"], ["21", "3A"], []])
    async def test_codes_outside_the_census_set_are_refused(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession, factors: list[str]
    ) -> None:
        contact_id = await self._assessed(client, seeded)
        resp = await client.put(
            f"/v1/contacts/{contact_id}/assessment-factors",
            json={"factors": factors},
            headers=worker,
        )
        assert resp.status_code == 422

    async def test_no_assessment_is_a_conflict_and_an_unknown_contact_404(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _good(seeded)
        resp = await client.put(
            f"/v1/contacts/{contact.id}/assessment-factors",
            json={"factors": ["3A"]},
            headers=worker,
        )
        assert resp.status_code == 409
        resp = await client.put(
            f"/v1/contacts/{uuid.uuid4()}/assessment-factors",
            json={"factors": ["3A"]},
            headers=worker,
        )
        assert resp.status_code == 404


class TestFactorsPerChild:
    async def test_each_child_has_their_own_factors_and_the_rest_share_the_contacts(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _good(
            seeded,
            outcome="s17_assessment",
            children=[child(nhs="9990002002"), child(nhs="9990002010"), child(nhs="9990002029")],
        )
        await add_assessment(seeded, contact, authorised_at=IN_YEAR + timedelta(days=20))
        url = f"/v1/contacts/{contact.id}/assessment-factors"
        shared = await client.put(url, json={"factors": ["3A"]}, headers=worker)
        assert shared.status_code == 200, shared.text
        assert shared.json()["child"] is None
        own = await client.put(url, json={"factors": ["16A"], "child": 2}, headers=worker)
        assert own.status_code == 200, own.text
        assert own.json()["child"] == 2
        resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR, "format": "csv"}, headers=manager
        )
        assert resp.status_code == 200, resp.text
        rows = csv.DictReader(io.StringIO(resp.text))
        mine = {
            r["child"]: r["factors"] for r in rows if r["contact_reference"] == contact.reference
        }
        assert mine == {"1": "3A", "2": "16A", "3": "3A"}

    async def test_a_child_not_on_the_contact_is_refused_with_the_field(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _good(seeded, outcome="s17_assessment")
        await add_assessment(seeded, contact, authorised_at=None)
        resp = await client.put(
            f"/v1/contacts/{contact.id}/assessment-factors",
            json={"factors": ["3A"], "child": 2},
            headers=worker,
        )
        assert resp.status_code == 422
        assert resp.json()["fields"][0]["path"] == "child"
