"""The closure of a child's CIN episode: recorded per child on the contact that opened it, read
by the census return (CINclosureDate and ReasonForClosure in the XML and the CSV; an episode
closed is not open for rules 8815, 8816 and 8820; the closure rules checked)."""

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

from services.models.platform import AuditEntry
from services.models.triage_reports import TriageChildClosure
from tests.triage.reports.factories import MANAGER, add_assessment, add_contact, child
from triage.reports import census, census_service

Headers = dict[str, str]
YEAR = 2026  # 1 April 2025 - 31 March 2026
LONDON = ZoneInfo("Europe/London")  # the demo council's
IN_YEAR = datetime(2025, 11, 3, 10, tzinfo=UTC)
# Unborn children need no disability codes (rule 8540), so these returns can go as they are.
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
    disabilities=("NONE",),
)
CLOSED = replace(ROW, closed_on=date(2025, 12, 1), closure_reason="RC7")
LATER = replace(ROW, contact_reference="FDC-2025-000002", referral_date=date(2026, 1, 5))


def _url(contact_id: uuid.UUID) -> str:
    return f"/v1/contacts/{contact_id}/closure"


def rules(row: census.CensusReferral) -> list[str]:
    return [f.rule for f in census.failures(row, YEAR)]


def group_rules(*rows: census.CensusReferral) -> list[tuple[str, str]]:
    return sorted((f.rule, f.contact_reference) for f in census.child_failures(rows, YEAR))


async def _further(session: AsyncSession, **overrides: Any) -> Any:
    """A referral received in the year that went further (a strategy discussion: no
    assessment), about one born child unless told otherwise."""
    fields: dict[str, Any] = {
        "received_at": IN_YEAR,
        "outcome": "strategy_discussion",
        **overrides,
    }
    return await add_contact(session, **fields)


async def _audits(session: AsyncSession) -> int:
    query = select(func.count()).where(AuditEntry.action == "contact.child_closure")
    return int(await session.scalar(query) or 0)


def _today() -> date:
    return datetime.now(UTC).astimezone(LONDON).date()


class TestRecording:
    async def test_recorded_and_replaced_for_a_child_and_each_write_audited(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded)
        body = {"child": 1, "closed_on": "2025-12-01", "reason": "rc8"}
        resp = await client.put(_url(contact.id), json=body, headers=worker)
        assert resp.status_code == 200, resp.text
        got = resp.json()
        assert (got["contact_id"], got["child"], got["recorded_by"]) == (
            str(contact.id),
            1,
            "worker-1",
        )
        assert (got["closed_on"], got["reason"]) == ("2025-12-01", "RC8")
        again = await client.put(
            _url(contact.id),
            json={"child": 1, "closed_on": "2025-12-10", "reason": "RC7"},
            headers=worker,
        )
        assert again.status_code == 200, again.text
        stored = (
            await seeded.scalars(
                select(TriageChildClosure).where(TriageChildClosure.contact_id == contact.id)
            )
        ).all()
        assert [(r.child, r.closed_on, r.reason) for r in stored] == [
            (1, date(2025, 12, 10), "RC7")
        ]
        assert await _audits(seeded) == 2

    async def test_team_managers_may_record_them(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded)
        body = {"child": 1, "closed_on": "2025-12-01", "reason": "RC7"}
        resp = await client.put(_url(contact.id), json=body, headers=manager)
        assert resp.status_code == 200, resp.text

    @pytest.mark.parametrize(
        ("body", "path", "reason"),
        [
            ({"child": 1, "closed_on": "2025-12-01", "reason": "RC0"}, "reason", "RC1 .. RC9"),
            ({"child": 1, "closed_on": "2025-12-01", "reason": "RC10"}, "reason", "RC10"),
            ({"child": 1, "closed_on": "2025-12-01", "reason": "NFA"}, "reason", "NFA"),
            ({"child": 1, "closed_on": "2025-12-01", "reason": ""}, "reason", "at least 1"),
            ({"child": 1, "closed_on": "2025-12-01"}, "reason", "required"),
            ({"child": 1, "reason": "RC7"}, "closed_on", "required"),
            ({"child": 1, "closed_on": "1 Dec 2025", "reason": "RC7"}, "closed_on", "date"),
            ({"closed_on": "2025-12-01", "reason": "RC7"}, "child", "required"),
            (
                {"child": 0, "closed_on": "2025-12-01", "reason": "RC7"},
                "child",
                "greater than or equal to 1",
            ),
            (
                {"child": 1, "closed_on": "2025-12-01", "reason": "RC7", "extra": 1},
                "extra",
                "not permitted",
            ),
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

    async def test_a_closure_before_the_referral_date_is_refused_on_closed_on(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded)  # referred on 2025-11-03 (London)
        resp = await client.put(
            _url(contact.id),
            json={"child": 1, "closed_on": "2025-11-02", "reason": "RC7"},
            headers=worker,
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"] == "ClosureInvalid"
        assert resp.json()["fields"] == [
            {"path": "closed_on", "reason": "the closure is before the referral date (2025-11-03)"}
        ]
        # Closed the day it was referred: the census allows it (rule 8630: on or after).
        same_day = {"child": 1, "closed_on": "2025-11-03", "reason": "RC7"}
        resp = await client.put(_url(contact.id), json=same_day, headers=worker)
        assert resp.status_code == 200, resp.text

    async def test_a_closure_in_the_future_is_refused_and_today_is_not(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded)
        today = _today()
        resp = await client.put(
            _url(contact.id),
            json={
                "child": 1,
                "closed_on": (today + timedelta(days=2)).isoformat(),
                "reason": "RC7",
            },
            headers=worker,
        )
        assert resp.status_code == 422, resp.text
        [field] = resp.json()["fields"]
        assert field["path"] == "closed_on"
        assert field["reason"].startswith("the closure is in the future")
        resp = await client.put(
            _url(contact.id),
            json={"child": 1, "closed_on": today.isoformat(), "reason": "RC7"},
            headers=worker,
        )
        assert resp.status_code == 200, resp.text

    async def test_a_child_the_contact_does_not_have_is_refused_on_child(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        contact = await _further(seeded)
        resp = await client.put(
            _url(contact.id),
            json={"child": 2, "closed_on": "2025-12-01", "reason": "RC7"},
            headers=worker,
        )
        assert resp.status_code == 422, resp.text
        assert resp.json()["fields"] == [
            {"path": "child", "reason": "the contact has 1 child(ren)"}
        ]
        assert await _audits(seeded) == 0

    async def test_an_unborn_childs_episode_closes_as_any_childs(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        # The census holds an unborn child's episodes (CINdetails) as any child's, and a
        # second referral before the birth would otherwise be an open episode forever.
        contact = await _further(seeded, children=[child(**UNBORN)])
        resp = await client.put(
            _url(contact.id),
            json={"child": 1, "closed_on": "2025-12-01", "reason": "RC7"},
            headers=worker,
        )
        assert resp.status_code == 200, resp.text

    async def test_a_contact_the_caller_may_not_see_is_404(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        others = await _further(seeded, council_id="other")
        body = {"child": 1, "closed_on": "2025-12-01", "reason": "RC7"}
        for contact_id in (others.id, uuid.uuid4()):
            resp = await client.put(_url(contact_id), json=body, headers=worker)
            assert resp.status_code == 404, resp.text
        assert await _audits(seeded) == 0
        assert await seeded.scalar(select(func.count()).select_from(TriageChildClosure)) == 0


class TestClosureRules:
    def test_a_closed_episode_passes(self) -> None:
        assert rules(CLOSED) == []
        assessed = replace(
            CLOSED,
            closure_reason="RC8",
            assessment_started=date(2025, 11, 3),
            assessment_authorised=date(2025, 12, 1),
            factors=("21",),
        )
        assert rules(assessed) == []

    @pytest.mark.parametrize(
        ("changes", "rule"),
        [
            ({"closure_reason": None}, "8805"),
            ({"closed_on": None}, "8810"),
            ({"closure_reason": "RC10"}, "8640"),
            ({"closed_on": date(2025, 11, 2), "referral_date": date(2025, 11, 3)}, "8630"),
            ({"closed_on": date(2026, 4, 1)}, "8620"),
            (
                {
                    "assessment_started": date(2025, 11, 3),
                    "assessment_authorised": date(2025, 12, 2),
                    "factors": ("3A",),
                },
                "8565",
            ),
            ({"assessment_started": date(2025, 11, 3)}, "8867"),
            ({"closure_reason": "RC8"}, "8825Q"),
            ({"closure_reason": "RC9"}, "8825Q"),
        ],
    )
    def test_each_closure_rule_fails_its_case(self, changes: dict[str, Any], rule: str) -> None:
        assert rules(replace(CLOSED, **changes)) == [rule]

    def test_a_closure_before_the_year_breaks_8620_as_well_as_8630(self) -> None:
        row = replace(CLOSED, referral_date=date(2025, 4, 1), closed_on=date(2025, 3, 31))
        assert sorted(rules(row)) == ["8620", "8630"]


class TestEpisodesOfAChild:
    def test_the_earlier_episode_closed_before_the_next_referral_is_not_open(self) -> None:
        assert group_rules(CLOSED, LATER) == []

    def test_both_open_are_8815_the_earlier_8816_and_the_later_overlaps_it(self) -> None:
        assert group_rules(ROW, LATER) == [
            ("8815", ROW.contact_reference),
            ("8815", LATER.contact_reference),
            ("8816", ROW.contact_reference),
            ("8820", LATER.contact_reference),
        ]

    def test_the_earlier_open_and_the_later_closed_is_8816_and_8820(self) -> None:
        later = replace(LATER, closed_on=date(2026, 2, 1), closure_reason="RC7")
        assert group_rules(ROW, later) == [
            ("8816", ROW.contact_reference),
            ("8820", later.contact_reference),
        ]

    @pytest.mark.parametrize("closed_on", [date(2026, 1, 5), date(2026, 1, 20)])
    def test_a_referral_on_or_before_the_earlier_closure_overlaps_it(self, closed_on: date) -> None:
        # The later referral must start after the earlier episode's closure date.
        earlier = replace(CLOSED, closed_on=closed_on)
        assert group_rules(earlier, LATER) == [("8820", LATER.contact_reference)]

    def test_a_closed_nfa_episode_is_overlapped_too(self) -> None:
        nfa = replace(CLOSED, nfa=True, primary_need_code=None, closed_on=date(2026, 1, 10))
        assert group_rules(nfa, LATER) == [("8820", LATER.contact_reference)]


class TestWritten:
    def test_the_xml_writes_the_closure_in_the_census_order(self) -> None:
        child_xml = ET.fromstring("".join(census.xml_children([CLOSED])))
        details = child_xml.find("CINdetails")
        assert details is not None
        assert [e.tag for e in details] == [
            "CINreferralDate",
            "ReferralSource",
            "PrimaryNeedCode",
            "CINclosureDate",
            "ReasonForClosure",
            "ReferralNFA",
        ]
        assert (details.findtext("CINclosureDate"), details.findtext("ReasonForClosure")) == (
            "2025-12-01",
            "RC7",
        )
        open_xml = ET.fromstring("".join(census.xml_children([ROW])))
        assert open_xml.find("CINdetails/CINclosureDate") is None
        assert open_xml.find("CINdetails/ReasonForClosure") is None

    def test_the_csv_has_the_closure_in_its_last_columns(self) -> None:
        assert census.CSV_COLUMNS[-2:] == ("cin_closure_date", "reason_for_closure")
        [closed, still_open] = (census.csv_values(r) for r in (CLOSED, LATER))
        assert (closed[-2:], still_open[-2:]) == (["2025-12-01", "RC7"], ["", ""])


class TestCensusReadsThem:
    async def test_closing_the_earlier_episode_lets_the_return_go(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        manager: Headers,
        seeded: AsyncSession,
    ) -> None:
        kid = child(nhs="9990001006", **UNBORN)
        first = await _further(seeded, children=[kid])
        second = await _further(seeded, children=[kid], received_at=IN_YEAR + timedelta(days=40))
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert sorted(f.rule for f in report.failures) == ["8815", "8815", "8816", "8820"]
        body = {"child": 1, "closed_on": "2025-12-01", "reason": "RC7"}
        resp = await client.put(_url(first.id), json=body, headers=worker)
        assert resp.status_code == 200, resp.text
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert report.failures == []
        resp = await client.get(
            "/v1/exports/cin-referrals", params={"year": YEAR, "format": "xml"}, headers=manager
        )
        assert resp.status_code == 200, resp.text
        details = ET.fromstring(resp.content).findall("Children/Child/CINdetails")
        assert [
            (
                d.findtext("CINreferralDate"),
                d.findtext("CINclosureDate"),
                d.findtext("ReasonForClosure"),
            )
            for d in details
        ] == [("2025-11-03", "2025-12-01", "RC7"), ("2025-12-13", None, None)]
        resp = await client.get("/v1/exports/cin-referrals", params={"year": YEAR}, headers=manager)
        assert resp.status_code == 200, resp.text
        rows = {r["contact_reference"]: r for r in csv.DictReader(io.StringIO(resp.text))}
        assert (
            rows[first.reference]["cin_closure_date"],
            rows[first.reference]["reason_for_closure"],
        ) == (
            "2025-12-01",
            "RC7",
        )
        assert rows[second.reference]["cin_closure_date"] == ""

    async def test_a_closure_after_the_reference_date_is_not_in_the_return(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990001014", **UNBORN)
        first = await _further(seeded, children=[kid])
        await _further(seeded, children=[kid], received_at=IN_YEAR + timedelta(days=40))
        # Closed in April 2026: both episodes were open at 31 March 2026.
        body = {"child": 1, "closed_on": "2026-04-10", "reason": "RC7"}
        resp = await client.put(_url(first.id), json=body, headers=worker)
        assert resp.status_code == 200, resp.text
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert sorted(f.rule for f in report.failures) == ["8815", "8815", "8816", "8820"]
        rows: dict[str, census.CensusReferral] = {}
        async for group in census_service._by_child(
            census_service._census_rows(seeded, "demo", YEAR, LONDON, _today())
        ):
            rows |= {r.contact_reference: r for r in group}
        assert (rows[first.reference].closed_on, rows[first.reference].closure_reason) == (
            None,
            None,
        )

    async def test_rc8_needs_the_assessment_in_the_return(
        self, client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
    ) -> None:
        assessed = await _further(seeded, children=[child(**UNBORN)], outcome="s17_assessment")
        await add_assessment(
            seeded, assessed, authorised_at=IN_YEAR + timedelta(days=20), factors=["21"]
        )
        not_assessed = await _further(seeded, children=[child(**UNBORN)])
        for contact in (assessed, not_assessed):
            body = {"child": 1, "closed_on": "2025-12-01", "reason": "RC8"}
            resp = await client.put(_url(contact.id), json=body, headers=worker)
            assert resp.status_code == 200, resp.text
        report = await census_service.validate_census(seeded, principal=MANAGER, year=YEAR)
        assert [(f.rule, f.contact_reference, f.field) for f in report.failures] == [
            ("8825Q", not_assessed.reference, "reason_for_closure")
        ]


class TestOnlyWhereTheCensusReadsThem:
    """Census details go on a referral (or a contact still open, which may become one): the
    return reads nothing else, so recording them on an advice contact would be a record
    that seems kept and is never used."""

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("closure", {"child": 1, "closed_on": "2025-12-01", "reason": "RC7"}),
            ("disabilities", {"child": 1, "disabilities": ["NONE"]}),
        ],
    )
    async def test_a_contact_decided_as_something_else_is_409(
        self,
        client: httpx.AsyncClient,
        worker: Headers,
        seeded: AsyncSession,
        path: str,
        body: dict[str, Any],
    ) -> None:
        advice = await add_contact(
            seeded, received_at=IN_YEAR, contact_type="advice_information", outcome="advice_given"
        )
        resp = await client.put(f"/v1/contacts/{advice.id}/{path}", json=body, headers=worker)
        assert resp.status_code == 409, resp.text
        open_contact = await add_contact(seeded, received_at=IN_YEAR, contact_type=None)
        resp = await client.put(f"/v1/contacts/{open_contact.id}/{path}", json=body, headers=worker)
        assert resp.status_code == 200, resp.text

    def test_the_rule_per_state(self) -> None:
        assert census.recorded_for_the_census("decided", "referral")
        assert census.recorded_for_the_census("open", None)
        assert census.recorded_for_the_census("awaiting_sign_off", "referral")
        assert not census.recorded_for_the_census("decided", "advice_information")
        assert not census.recorded_for_the_census("merged", None)
