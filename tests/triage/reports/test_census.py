"""The CIN census return: the rules checked first, every failure named, CSV and XML streamed."""

from __future__ import annotations

import csv
import io
import uuid
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.db import transaction
from services.identifiers import upn_check_letter
from services.models.mash import MashChild, MashChildLink
from services.models.platform import AuditEntry, CouncilCalendar
from services.models.triage import TriageClock, TriageContact, TriageDecision
from services.models.triage_reports import TriageAssessmentFactors
from services.settings import get_settings
from tests.triage.reports.factories import MANAGER, add_assessment, add_contact, child
from triage import demo
from triage.contacts.schemas import Outcome
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
# An unborn child: rule 8540 (disabilities) is for born children, so a return that can go
# without recording disability codes (tests/triage/reports/test_disabilities.py) has its
# further action on unborn ones.
UNBORN: dict[str, Any] = {"born": None, "due": date(2026, 2, 1), "gender": "0"}


def rules(row: census.CensusReferral) -> list[str]:
    return [f.rule for f in census.failures(row, YEAR)]


def group_rules(*rows: census.CensusReferral) -> list[tuple[str, str]]:
    return [(f.rule, f.contact_reference) for f in census.child_failures(rows, YEAR)]


def base36_id(hex_id: str) -> str:
    """LAchildID worked out by hand: the first 13 hex digits, below 36**10, in base 36."""
    number, out = int(hex_id[:13], 16) % 36**10, ""
    for _ in range(10):
        number, digit = divmod(number, 36)
        out = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit] + out
    return out


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
            ({"la_child_id": "ABCDEF01234"}, "FD05"),
            ({"la_child_id": "ABCDE-0123"}, "FD05"),
            ({"nfa": True, "assessment_started": date(2025, 11, 3)}, "8831"),
            (
                {
                    "assessment_started": date(2025, 12, 2),
                    "assessment_authorised": date(2025, 12, 1),
                    "factors": ("3A",),
                },
                "8608",
            ),
            (
                {
                    "assessment_started": date(2025, 11, 3),
                    "assessment_authorised": date(2026, 4, 2),
                    "factors": ("3A",),
                },
                "8696",
            ),
            ({"assessment_started": date(2026, 4, 2)}, "8736"),
            ({"assessment_authorised": date(2025, 12, 1)}, "8897"),
            ({"assessment_authorised": date(2025, 12, 1), "factors": ("18A",)}, "8897"),
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

    def test_an_open_assessment_started_in_the_year_passes(self) -> None:
        assert rules(replace(OK, assessment_started=date(2026, 3, 31))) == []


class TestReferralNfa:
    def test_every_outcome_has_its_census_answer(self) -> None:
        assert set(census.REFERRAL_NFA) == set(get_args(Outcome))

    @pytest.mark.parametrize(
        "outcome",
        [
            "nfa",
            "advice_given",
            "signposted",
            "early_help",
            "family_support",
            "referral_to_other_agency",
            "lado",
        ],
    )
    def test_going_no_further_in_social_care_is_nfa(self, outcome: str) -> None:
        assert census.referral_nfa(outcome) is True

    @pytest.mark.parametrize(
        "outcome", ["s17_assessment", "strategy_discussion", "s47_enquiry", "immediate_protection"]
    )
    def test_social_cares_own_further_action_is_not(self, outcome: str) -> None:
        assert census.referral_nfa(outcome) is False

    def test_no_decision_or_an_unknown_outcome_is_no_answer(self) -> None:
        assert (census.referral_nfa(None), census.referral_nfa("made_up")) == (None, None)
        assert rules(replace(OK, nfa=census.referral_nfa("made_up"))) == ["8568"]


class TestRulesOnAChildsReferrals:
    LATER = replace(OK, contact_reference="FDC-2025-000002", referral_date=date(2026, 1, 5))

    def test_a_born_child_on_a_referral_that_went_further_needs_disabilities(self) -> None:
        assert group_rules(OK) == [("8540", OK.contact_reference)]
        assert group_rules(replace(OK, disabilities=("NONE",))) == []
        assert group_rules(replace(OK, disabilities=("AUT", "HEAR"))) == []
        assert group_rules(replace(OK, disabilities=("BLUE",))) == [("8540", OK.contact_reference)]

    def test_unborn_or_nfa_children_need_none(self) -> None:
        unborn = replace(OK, date_of_birth=None, expected_birth_date=date(2026, 2, 1), gender="0")
        assert group_rules(unborn) == []
        assert group_rules(replace(OK, nfa=True)) == []

    def test_two_referrals_that_went_further_are_two_open_episodes(self) -> None:
        first, later = (replace(r, disabilities=("NONE",)) for r in (OK, self.LATER))
        assert sorted(group_rules(first, later)) == sorted(
            [
                ("8815", first.contact_reference),
                ("8815", later.contact_reference),
                ("8816", first.contact_reference),
                ("8820", later.contact_reference),
            ]
        )

    def test_a_referral_after_one_that_went_further_overlaps_it(self) -> None:
        first = replace(OK, disabilities=("NONE",))
        later = replace(self.LATER, nfa=True)
        # The open episode is not the latest (8816), and the later referral falls in it.
        assert sorted(group_rules(first, later)) == [
            ("8816", first.contact_reference),
            ("8820", later.contact_reference),
        ]

    def test_nfa_referrals_before_one_that_went_further_do_not(self) -> None:
        earlier = replace(OK, nfa=True)
        later = replace(self.LATER, disabilities=("NONE",))
        assert group_rules(earlier, later) == []


class TestCensusIdentifiers:
    def test_la_child_id_is_ten_letters_and_digits(self) -> None:
        assert census.la_child_id(0) == "0000000000"
        assert census.la_child_id(census.LA_CHILD_ID_SPACE - 1) == "ZZZZZZZZZZ"
        hex_id = uuid.uuid4().hex
        assert census.la_child_id(int(hex_id[:13], 16) % 36**10) == base36_id(hex_id)

    def test_a_child_whose_every_referral_is_nfa_is_upn_unknown_un7(self) -> None:
        young = replace(OK, date_of_birth=date(2021, 1, 1), nfa=True)
        later = replace(young, referral_date=date(2026, 1, 5))
        found = ET.fromstring("".join(census.xml_children([young, later])))
        assert found.findtext("ChildIdentifiers/UPNunknown") == "UN7"
        mixed = ET.fromstring("".join(census.xml_children([young, replace(later, nfa=False)])))
        assert mixed.findtext("ChildIdentifiers/UPNunknown") == "UN1"

    def test_identifiers_come_from_the_latest_referral_that_records_them(self) -> None:
        # Unborn at the first referral, born and at school (UPN, ethnicity) by the second.
        first = replace(OK, date_of_birth=None, expected_birth_date=date(2025, 6, 1), gender="0")
        later = replace(
            OK, referral_date=date(2026, 1, 5), upn=GOOD_UPN, ethnicity="WBRI", gender="2"
        )
        found = ET.fromstring("".join(census.xml_children([first, later])))
        assert found.findtext("ChildIdentifiers/UPN") == GOOD_UPN
        assert found.findtext("ChildIdentifiers/PersonBirthDate") == "2018-05-01"
        assert found.find("ChildIdentifiers/ExpectedPersonBirthDate") is None
        assert found.findtext("ChildIdentifiers/GenderCurrent") == "2"
        assert found.findtext("ChildCharacteristics/Ethnicity") == "WBRI"
        # Born by the later referral, which went further: disability codes are needed (8540).
        assert "8540" in {f.rule for f in census.child_failures([first, later], 2026)}

    def test_recorded_disabilities_are_written_after_ethnicity(self) -> None:
        row = replace(OK, disabilities=("AUT", "HEAR"))
        found = ET.fromstring("".join(census.xml_children([row])))
        characteristics = found.find("ChildCharacteristics")
        assert characteristics is not None
        assert [e.tag for e in characteristics] == ["Ethnicity", "Disabilities"]
        assert [d.text for d in characteristics.iter("Disability")] == ["AUT", "HEAR"]
        bare = ET.fromstring("".join(census.xml_children([OK])))
        assert bare.find("ChildCharacteristics/Disabilities") is None

    @pytest.mark.parametrize("la_code", [None, "", "38", "3800", "ABC", 380])
    def test_the_lea_must_be_the_councils_three_digit_code(self, la_code: object) -> None:
        assert [f.rule for f in census.la_code_failures(la_code)] == ["FD04"]

    def test_a_three_digit_lea_passes(self) -> None:
        assert census.la_code_failures("380") == []

    def test_retired_factor_codes_are_not_census_codes(self) -> None:
        assert {"18A", "19A"}.isdisjoint(census.FACTOR_CODES)
        assert {"18B", "18C", "19B", "19C"} <= census.FACTOR_CODES


async def _good(session: AsyncSession, **overrides: Any) -> Any:
    return await add_contact(session, received_at=IN_YEAR, **overrides)


def census_factors(
    contact: TriageContact, factors: list[str], child: int = 0
) -> TriageAssessmentFactors:
    return TriageAssessmentFactors(
        contact_id=contact.id,
        child=child,
        factors=factors,
        recorded_by="worker-1",
        recorded_at=datetime.now(UTC),
    )


async def _rows(session: AsyncSession) -> list[census.CensusReferral]:
    return [r async for r in census_service._census_rows(
        session, "demo", YEAR, LONDON, date(2026, 6, 1)
    )]  # fmt: skip


async def _set_la_code(session: AsyncSession, la_code: str | None) -> None:
    row = await session.get(CouncilCalendar, "demo")
    assert row is not None
    settings = {k: v for k, v in (row.settings or {}).items() if k != "la_code"}
    row.settings = settings if la_code is None else {**settings, "la_code": la_code}
    await session.flush()


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
        assert ids == [[base36_id(record.hex)]] * 2

    async def test_two_children_sharing_an_id_are_a_failure_never_merged(
        self, seeded: AsyncSession
    ) -> None:
        # Two MASH records whose ids agree in the first 13 hex digits (as unlikely as it is).
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
            outcome="s17_assessment",
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
                (bad.reference, 1, "8540"),
                (bad.reference, 1, "8610"),
                (bad.reference, 2, "4180"),
                (bad.reference, 2, "8540"),
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
        kid = child(nhs="9990001006", **UNBORN)
        await _good(
            seeded, children=[kid], outcome="nfa", nfa_reason="Needs met.", primary_need_code=None
        )
        later = await add_contact(
            seeded,
            received_at=IN_YEAR + timedelta(days=60),
            outcome="s17_assessment",
            children=[kid],
            referral_source="3B",
        )
        await add_assessment(
            seeded, later, authorised_at=IN_YEAR + timedelta(days=90), factors=["3A", "16A"]
        )
        resp = await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(resp.text)))
        assert [(r["referral_date"], r["referral_nfa"]) for r in rows] == [
            ("2025-11-03", "1"),
            ("2026-01-02", "0"),
        ]
        assert rows[0]["la_child_id"] == rows[1]["la_child_id"]  # one child, two referrals
        assert len(rows[0]["la_child_id"]) == 10
        assert (rows[1]["referral_source"], rows[1]["primary_need_code"]) == ("3B", "N1")
        assert (rows[1]["assessment_authorisation_date"], rows[1]["factors"]) == (
            "2026-02-01",
            "3A;16A",
        )
        assert "9990001006" not in resp.text

    async def test_xml_in_the_census_layout(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990001006")
        await _good(seeded, children=[kid])  # early help: NFA in census terms
        await _good(seeded, children=[kid], outcome="nfa", primary_need_code=None)
        await _good(seeded, children=[child(**UNBORN)], outcome="s17_assessment")
        resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR, "format": "xml"}, headers=manager
        )
        assert resp.status_code == 200, resp.text
        root = ET.fromstring(resp.content)
        assert root.findtext("Header/CollectionDetails/Year") == "2026"
        assert root.findtext("Header/CollectionDetails/ReferenceDate") == "2026-03-31"
        assert root.findtext("Header/Source/LEA") == "380"
        children = root.findall("Children/Child")
        assert sorted(len(c.findall("CINdetails")) for c in children) == [1, 2]
        unborn = next(
            c for c in children if c.find("ChildIdentifiers/ExpectedPersonBirthDate") is not None
        )
        assert unborn.findtext("ChildIdentifiers/GenderCurrent") == "0"
        assert unborn.findtext("ChildIdentifiers/UPNunknown") == "UN1"
        assert unborn.findtext("CINdetails/ReferralNFA") == "false"
        referred_twice = next(c for c in children if len(c.findall("CINdetails")) == 2)
        assert referred_twice.findtext("ChildIdentifiers/UPNunknown") == "UN7"
        nfa = [d.findtext("ReferralNFA") or "" for c in children for d in c.findall("CINdetails")]
        assert sorted(nfa) == ["false", "true", "true"]

    async def test_xml_takes_upn_ethnicity_and_assessment_start_from_the_records(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990001006", upn=GOOD_UPN, ethnicity="WBRI", **UNBORN)
        referral = await _good(seeded, children=[kid], outcome="s17_assessment")
        await add_assessment(seeded, referral, authorised_at=IN_YEAR + timedelta(days=30))
        params: dict[str, str | int] = {"year": YEAR, "format": "xml"}
        resp = await client.get("/v1/exports/cin-referrals", params=params, headers=manager)
        # Authorised with no factors recorded: the DfE's validator refuses it (8897).
        assert resp.status_code == 422, resp.text
        assert resp.json()["fields"] == [
            {
                "path": f"{referral.reference}/child/1/factors",
                "reason": "8897: Parental or child factors at assessment information is missing "
                "from a completed assessment (or a code is not a current one)",
            }
        ]
        seeded.add(census_factors(referral, ["3A"]))
        await seeded.flush()
        resp = await client.get("/v1/exports/cin-referrals", params=params, headers=manager)
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

    @pytest.mark.parametrize("factors", [["99Z"], ["21", "3A"], [], ["18A"], ["19a", "3A"]])
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
            # Unborn triplets: born children would need census disability codes (rule 8540).
            children=[
                child(nhs="9990002002", **UNBORN),
                child(nhs="9990002010", **UNBORN),
                child(nhs="9990002029", **UNBORN),
            ],
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


class TestPerChildDecisions:
    async def test_a_sibling_group_where_one_child_is_nfa_and_the_other_assessed(
        self, seeded: AsyncSession
    ) -> None:
        contact = await _good(
            seeded,
            outcome="s17_assessment",
            primary_need_code="N1",
            children=[child(nhs="9990003008", **UNBORN), child(nhs="9990003016", **UNBORN)],
        )
        await seeded.execute(
            update(TriageDecision)
            .where(TriageDecision.contact_id == contact.id)
            .values(
                children=[
                    {"position": 0, "level": 2, "primary_need_code": None, "outcome": "nfa",
                     "nfa_reason": "Needs met by the family."},
                    {"position": 1, "level": 3, "primary_need_code": "N2",
                     "outcome": "s17_assessment", "nfa_reason": None},
                ]
            )
        )  # fmt: skip
        await add_assessment(
            seeded, contact, authorised_at=IN_YEAR + timedelta(days=30), factors=["3A"]
        )
        rows = {r.child: r for r in await _rows(seeded)}
        nfa, assessed = rows[1], rows[2]
        assert (nfa.nfa, nfa.primary_need_code, nfa.assessment_started) == (True, None, None)
        assert (nfa.assessment_authorised, nfa.factors) == (None, ())
        assert (assessed.nfa, assessed.primary_need_code) == (False, "N2")
        assert (assessed.assessment_authorised, assessed.factors) == (date(2025, 12, 3), ("3A",))
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert report.failures == []

    async def test_factors_recorded_for_the_nfa_child_themselves_are_a_failure(
        self, seeded: AsyncSession
    ) -> None:
        contact = await _good(
            seeded,
            outcome="s17_assessment",
            children=[child(nhs="9990003008", **UNBORN), child(nhs="9990003016", **UNBORN)],
        )
        await seeded.execute(
            update(TriageDecision)
            .where(TriageDecision.contact_id == contact.id)
            .values(children=[{"position": 0, "outcome": "nfa", "primary_need_code": None}])
        )
        await add_assessment(seeded, contact, authorised_at=IN_YEAR + timedelta(days=30))
        seeded.add(census_factors(contact, ["3A"], child=1))
        seeded.add(census_factors(contact, ["4A"]))
        await seeded.flush()
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert [(f.child, f.rule) for f in report.failures] == [(1, "8831")]

    async def test_without_child_lines_every_child_has_the_decisions(
        self, seeded: AsyncSession
    ) -> None:
        await _good(
            seeded,
            outcome="s47_enquiry",
            primary_need_code="N1",
            children=[child(**UNBORN), child(**UNBORN)],
        )
        rows = await _rows(seeded)
        assert [(r.nfa, r.primary_need_code) for r in rows] == [(False, "N1")] * 2


class TestCompleteAndConsistent:
    async def test_contacts_received_in_the_year_and_not_decided_are_listed(
        self, seeded: AsyncSession
    ) -> None:
        open_ = await _good(seeded, contact_type=None)
        waiting = await _good(seeded, decision_status="pending_sign_off")
        advice = await _good(
            seeded, contact_type="advice_information", decision_status="pending_sign_off"
        )
        await seeded.execute(
            update(TriageContact)
            .where(TriageContact.id.in_([waiting.id, advice.id]))
            .values(status="awaiting_sign_off", contact_type=None, outcome=None)
        )
        await add_contact(seeded, received_at=IN_YEAR + timedelta(days=200), contact_type=None)
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert sorted((f.rule, f.contact_reference, f.child) for f in report.failures) == sorted(
            [("FD03", open_.reference, None), ("FD03", waiting.reference, None)]
        )
        assert report.failures[0].message == "Received in the year, not yet decided"

    async def test_assessment_dates_after_the_reference_date_are_not_in_the_return(
        self, seeded: AsyncSession
    ) -> None:
        march = datetime(2026, 3, 20, 10, tzinfo=UTC)
        kid = child(**UNBORN)
        # Authorised after 31 March: still open at the reference date, its factors next year's.
        late = await add_contact(
            seeded, received_at=march, outcome="s17_assessment", children=[kid]
        )
        await add_assessment(
            seeded, late, authorised_at=datetime(2026, 4, 10, 10, tzinfo=UTC), factors=["3A"]
        )
        # Started after 31 March (the clock moved): not started at the reference date.
        later = await add_contact(
            seeded, received_at=march, outcome="s17_assessment", children=[child(**UNBORN)]
        )
        await add_assessment(seeded, later, authorised_at=None)
        await seeded.execute(
            update(TriageClock)
            .where(TriageClock.contact_id == later.id, TriageClock.kind == "assessment")
            .values(started_at=datetime(2026, 4, 2, 10, tzinfo=UTC))
        )
        rows = {r.contact_reference: r for r in await _rows(seeded)}
        open_at_year_end = rows[late.reference]
        assert open_at_year_end.assessment_started == date(2026, 3, 20)
        assert (open_at_year_end.assessment_authorised, open_at_year_end.factors) == (None, ())
        not_started = rows[later.reference]
        assert (not_started.assessment_started, not_started.assessment_authorised) == (None, None)
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert report.failures == []

    async def test_a_child_with_two_referrals_that_went_further_is_listed(
        self, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990004004", **UNBORN)
        first = await _good(seeded, children=[kid], outcome="s17_assessment")
        second = await add_contact(
            seeded,
            received_at=IN_YEAR + timedelta(days=40),
            outcome="strategy_discussion",
            children=[kid],
        )
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert sorted((f.rule, f.contact_reference) for f in report.failures) == sorted(
            [
                ("8815", first.reference),
                ("8815", second.reference),
                ("8816", first.reference),
                ("8820", second.reference),
            ]
        )

    async def test_a_born_child_that_went_further_needs_disabilities(
        self, seeded: AsyncSession
    ) -> None:
        referral = await _good(seeded, outcome="s17_assessment")
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert [(f.rule, f.contact_reference, f.child, f.field) for f in report.failures] == [
            ("8540", referral.reference, 1, "disabilities")
        ]


class TestLea:
    @pytest.mark.parametrize("la_code", [None, "38"])
    async def test_the_xml_is_refused_without_the_councils_la_code(
        self,
        client: httpx.AsyncClient,
        manager: Headers,
        seeded: AsyncSession,
        la_code: str | None,
    ) -> None:
        await _good(seeded)
        await _set_la_code(seeded, la_code)
        resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR, "format": "xml"}, headers=manager
        )
        assert resp.status_code == 422
        [field] = resp.json()["fields"]
        assert field["path"] == "settings/la_code"
        assert field["reason"].startswith("FD04: ")
        # The CSV carries no LEA: it goes.
        csv_resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager
        )
        assert csv_resp.status_code == 200, csv_resp.text

    async def test_the_councils_la_code_is_the_lea(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        await _good(seeded)
        await _set_la_code(seeded, "209")
        resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR, "format": "xml"}, headers=manager
        )
        assert resp.status_code == 200, resp.text
        assert ET.fromstring(resp.content).findtext("Header/Source/LEA") == "209"


Maker = async_sessionmaker[AsyncSession]


@pytest.mark.usefixtures("committed_db")
class TestOneSnapshot:
    async def test_what_is_streamed_is_what_was_checked(self, maker: Maker) -> None:
        async with transaction(maker) as session:
            await demo.seed(session, get_settings())
            checked = await _good(session)
        async with transaction(maker) as session, transaction(maker) as stream:
            refusal = await census_service.check_census_export(
                session, principal=MANAGER, year=YEAR, stream=stream
            )
            assert refusal is None
            # Decided (and broken: no referral source) after the check, before the stream.
            async with transaction(maker) as other:
                late = await _good(other, referral_source=None)
            lines = census_service.census_lines(stream, council_id="demo", year=YEAR, fmt="csv")
            body = "".join([chunk async for chunk in lines])
        assert checked.reference in body
        assert late.reference not in body
        async with transaction(maker) as session:  # committed: the next export sees it
            report = await census_service.validate_census(session, principal=MANAGER, year=YEAR)
        assert [f.rule for f in report.failures] == ["8866"]
