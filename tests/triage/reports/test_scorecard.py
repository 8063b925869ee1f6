"""The scorecard: each indicator as defined, per contact type, with the period before it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.platform import AuditEntry, CouncilCalendar
from tests.triage.conftest import phone_contact
from tests.triage.reports.factories import (
    MANAGER,
    add_contact,
    add_encompass,
    add_mash_screening,
    child,
)
from triage.reports import service
from triage.reports.schemas import IndicatorRead, ScorecardReport

Headers = dict[str, str]
OCT = (date(2026, 10, 1), date(2026, 10, 31))
IN_OCT = datetime(2026, 10, 14, 9, 30, tzinfo=UTC)
IN_SEP = datetime(2026, 9, 14, 9, 30, tzinfo=UTC)


async def october(session: AsyncSession, now: datetime | None = None) -> ScorecardReport:
    return await service.scorecard(session, principal=MANAGER, first=OCT[0], last=OCT[1], now=now)


def find(card: ScorecardReport, name: str, contact_type: str | None = "referral") -> IndicatorRead:
    return next(i for i in card.indicators if i.name == name and i.contact_type == contact_type)


def frac(ind: IndicatorRead) -> tuple[int, int]:
    return ind.numerator, ind.denominator


class TestTimeliness:
    @pytest.mark.parametrize(
        ("clock", "indicator"),
        [
            ("decision", "decided_within_one_working_day"),
            ("completed_24h", "completed_within_24_hours"),
            ("all_contacts_48h", "completed_within_48_hours"),
        ],
    )
    async def test_met_by_the_deadline_counts_met_after_does_not(
        self, seeded: AsyncSession, clock: str, indicator: str
    ) -> None:
        await add_contact(seeded, received_at=IN_OCT, on_time={clock: True})
        await add_contact(seeded, received_at=IN_OCT, on_time={clock: False})
        # No such clock (e.g. a lane without it): not in the denominator.
        await add_contact(seeded, received_at=IN_OCT, on_time={})
        assert frac(find(await october(seeded), indicator)) == (1, 2)

    @pytest.mark.parametrize(
        ("clock", "indicator"),
        [
            ("decision", "decided_within_one_working_day"),
            ("completed_24h", "completed_within_24_hours"),
            ("all_contacts_48h", "completed_within_48_hours"),
        ],
    )
    async def test_an_open_contact_past_its_deadline_counts_as_not_met(
        self, seeded: AsyncSession, clock: str, indicator: str
    ) -> None:
        # A backlog must lower the figure: the open contact's type is not known yet, so it
        # counts under "undecided", never as met.
        await add_contact(seeded, received_at=IN_OCT, on_time={clock: True})
        await add_contact(seeded, received_at=IN_OCT, contact_type=None, on_time={clock: "unmet"})
        await add_contact(seeded, received_at=IN_OCT, on_time={clock: "unmet"})  # decided, unmet
        card = await october(seeded)
        assert frac(find(card, indicator, "undecided")) == (0, 1)
        assert frac(find(card, indicator, "referral")) == (1, 2)

    async def test_open_contacts_past_their_deadline_are_split_by_lane(
        self, seeded: AsyncSession
    ) -> None:
        # Undecided contacts are never lumped together: one row per lane, never mixed.
        for lane, met in (("mash", "unmet"), ("mash", False), ("dv_screening", "unmet")):
            await add_contact(
                seeded, received_at=IN_OCT, contact_type=None, lane=lane,
                on_time={"decision": met},
            )  # fmt: skip
        await add_contact(seeded, received_at=IN_SEP, contact_type=None, lane="mash",
                          on_time={"decision": "unmet"})  # fmt: skip
        await add_contact(seeded, received_at=IN_OCT, on_time={"decision": True})
        card = await october(seeded)
        rows = {
            (i.contact_type, i.lane): (frac(i), (i.previous.numerator, i.previous.denominator))
            for i in card.indicators
            if i.name == "decided_within_one_working_day"
        }
        assert rows == {
            ("referral", None): ((1, 1), (0, 0)),
            ("undecided", "dv_screening"): ((0, 1), (0, 0)),
            ("undecided", "mash"): ((0, 2), (0, 1)),
        }

    async def test_an_open_contact_not_yet_due_is_left_out(self, seeded: AsyncSession) -> None:
        await add_contact(seeded, received_at=IN_OCT, on_time={"decision": True})
        await add_contact(
            seeded, received_at=IN_OCT, contact_type=None, on_time={"decision": "unmet"}
        )
        # An hour after receipt: the open contact's one working day has not run out.
        card = await october(seeded, now=IN_OCT + timedelta(hours=1))
        assert frac(find(card, "decided_within_one_working_day", "referral")) == (1, 1)
        assert not [
            i
            for i in card.indicators
            if i.name == "decided_within_one_working_day" and i.contact_type == "undecided"
        ]

    async def test_undecided_contacts_without_clocks_are_not_measured(
        self, seeded: AsyncSession
    ) -> None:
        await add_contact(seeded, received_at=IN_OCT)
        await add_contact(seeded, received_at=IN_OCT, contact_type=None, on_time={})
        assert frac(find(await october(seeded), "decided_within_one_working_day")) == (1, 1)


class TestConsentRecordedForTheDecision:
    @pytest.mark.parametrize(
        ("state", "given_by", "reason", "counts"),
        [
            ("given", "parent_or_carer", None, True),
            ("refused", "young_person", None, True),
            ("given", None, None, False),  # who gave it is part of the record
            ("not_sought", None, "Seeking it would alert the alleged abuser.", True),
            ("dispensed", None, "Significant harm.", True),
            ("dispensed", None, None, False),  # without the reason
            ("not_sought", None, "   ", False),
            (None, None, None, False),  # the MARF's consent alone does not count
        ],
    )
    async def test_consent_counts_with_its_outcome_and_who_gave_it(
        self,
        seeded: AsyncSession,
        state: str | None,
        given_by: str | None,
        reason: str | None,
        counts: bool,
    ) -> None:
        contact = await add_contact(
            seeded,
            received_at=IN_OCT,
            consent_state=state,
            consent_given_by=given_by,
            consent_reason=reason,
        )
        contact.consent_state = "given"  # as the MARF said: not the decision's record
        await seeded.flush()
        assert frac(find(await october(seeded), "consent_recorded_for_decision")) == (
            int(counts),
            1,
        )

    async def test_a_decision_returned_at_sign_off_does_not_count(
        self, seeded: AsyncSession
    ) -> None:
        await add_contact(
            seeded,
            received_at=IN_OCT,
            consent_state="given",
            consent_given_by="parent_or_carer",
            decision_status="returned",
        )
        assert frac(find(await october(seeded), "consent_recorded_for_decision")) == (0, 1)


class TestTheOldKpisConsent:
    """The deprecated /v1/reports/kpis measures consent as the scorecard does."""

    @pytest.mark.parametrize(
        ("state", "given_by", "reason", "counts"),
        [
            ("given", "parent_or_carer", None, True),
            ("given", None, None, False),
            ("not_sought", None, "Seeking it would alert the alleged abuser.", True),
            ("dispensed", None, None, False),
            (None, None, None, False),  # the MARF's consent alone does not count
        ],
    )
    async def test_consent_for_the_decision_with_its_outcome_and_who_gave_it(
        self,
        client: httpx.AsyncClient,
        manager: Headers,
        seeded: AsyncSession,
        state: str | None,
        given_by: str | None,
        reason: str | None,
        counts: bool,
    ) -> None:
        received = datetime.now(UTC) - timedelta(days=2)
        contact = await add_contact(
            seeded, received_at=received, consent_state=state, consent_given_by=given_by,
            consent_reason=reason,
        )  # fmt: skip
        contact.consent_state = "given"  # as the MARF said: not the decision's record
        await seeded.flush()
        card = (await client.get("/v1/reports/kpis", headers=manager)).json()
        consent = next(
            k
            for k in card["kpis"]
            if k["name"] == "consent_recorded" and k["contact_type"] == "referral"
        )
        assert (consent["numerator"], consent["denominator"]) == (int(counts), 1)

    async def test_a_returned_decision_does_not_count(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        await add_contact(
            seeded, received_at=datetime.now(UTC) - timedelta(days=2), consent_state="given",
            consent_given_by="parent_or_carer", decision_status="returned",
        )  # fmt: skip
        card = (await client.get("/v1/reports/kpis", headers=manager)).json()
        consent = next(k for k in card["kpis"] if k["name"] == "consent_recorded")
        assert (consent["numerator"], consent["denominator"]) == (0, 1)


class TestQuality:
    async def test_child_voice(self, seeded: AsyncSession) -> None:
        await add_contact(seeded, received_at=IN_OCT, child_voice=True)
        await add_contact(seeded, received_at=IN_OCT, child_voice=False)
        assert frac(find(await october(seeded), "child_voice_recorded")) == (1, 2)

    async def test_feedback_is_measured_over_referrers_who_wanted_it(
        self, seeded: AsyncSession
    ) -> None:
        await add_contact(seeded, received_at=IN_OCT, feedback=True)
        await add_contact(seeded, received_at=IN_OCT, feedback=False)
        await add_contact(seeded, received_at=IN_OCT, wants_feedback=False)
        assert frac(find(await october(seeded), "feedback_given")) == (1, 2)

    async def test_nfa_reason_recorded_and_the_commonest_reasons(
        self, seeded: AsyncSession
    ) -> None:
        for reason in ("Needs met by school", "needs met by school ", None):
            await add_contact(
                seeded,
                received_at=IN_OCT,
                contact_type="advice_information",
                outcome="nfa",
                nfa_reason=reason,
                primary_need_code=None,
            )
        card = await october(seeded)
        assert frac(find(card, "nfa_reason_recorded", "advice_information")) == (2, 3)
        assert [(r.reason, r.count) for r in card.nfa_reasons] == [("needs met by school", 2)]
        outcomes = {(r.group, r.name): r.count for r in card.outcomes}
        assert outcomes == {("advice_information", "nfa"): 3}


class TestContactTypesNeverMixed:
    async def test_each_type_has_its_own_figures_and_undecided_are_split_by_lane(
        self, seeded: AsyncSession
    ) -> None:
        await add_contact(seeded, received_at=IN_OCT, on_time={"decision": True})
        await add_contact(
            seeded,
            received_at=IN_OCT,
            contact_type="notification",
            outcome="advice_given",
            lane="dv_screening",
            on_time={"decision": False},
        )
        await add_contact(seeded, received_at=IN_OCT, contact_type=None, lane="mash")
        await add_contact(seeded, received_at=IN_OCT, contact_type=None, lane="dv_screening")
        await add_contact(seeded, received_at=IN_OCT, contact_type=None, lane="dv_screening")
        card = await october(seeded)
        assert card.contacts.decided_by_type == {"notification": 1, "referral": 1}
        assert card.contacts.undecided_by_lane == {"dv_screening": 2, "mash": 1}
        assert frac(find(card, "decided_within_one_working_day", "referral")) == (1, 1)
        assert frac(find(card, "decided_within_one_working_day", "notification")) == (0, 1)
        assert frac(find(card, "contact_to_referral_conversion", None)) == (1, 2)


class TestReReferrals:
    @pytest.mark.parametrize(
        ("earlier", "earlier_type", "counts"),
        [
            (timedelta(days=330), "referral", True),  # 11 months before
            (timedelta(days=400), "referral", False),  # more than 12 months before
            (timedelta(days=30), "advice_information", False),  # not a referral
        ],
    )
    async def test_a_referral_within_12_months_of_a_previous_referral(
        self, seeded: AsyncSession, earlier: timedelta, earlier_type: str, counts: bool
    ) -> None:
        kid = child(nhs="9990001006")
        await add_contact(
            seeded, received_at=IN_OCT - earlier, contact_type=earlier_type, children=[kid]
        )
        await add_contact(seeded, received_at=IN_OCT, children=[kid])
        assert frac(find(await october(seeded), "re_referral_within_12_months")) == (
            int(counts),
            1,
        )

    @pytest.mark.parametrize(
        ("first", "second"),
        [
            (child(upn="A123456789012"), child(upn="A123456789012")),
            (child(name=("sam", "example")), child(name=("sam", "example"))),
        ],
    )
    async def test_the_child_matches_on_upn_or_name_and_date_of_birth(
        self, seeded: AsyncSession, first: dict[str, Any], second: dict[str, Any]
    ) -> None:
        await add_contact(seeded, received_at=IN_SEP, children=[first])
        await add_contact(seeded, received_at=IN_OCT, children=[second])
        assert frac(find(await october(seeded), "re_referral_within_12_months")) == (1, 1)

    async def test_counted_per_child_on_each_referral_as_the_census_counts(
        self, seeded: AsyncSession
    ) -> None:
        # A referral about two siblings is two referrals; only the one referred before (a
        # decided referral 11 months earlier) is a re-referral.
        sam, alex = child(nhs="9990001006"), child(nhs="9990001014")
        await add_contact(seeded, received_at=IN_OCT - timedelta(days=330), children=[sam])
        await add_contact(seeded, received_at=IN_OCT, children=[sam, alex])
        # No child recorded: one referral, never a re-referral.
        await add_contact(seeded, received_at=IN_OCT, children=[])
        card = await october(seeded)
        assert frac(find(card, "re_referral_within_12_months")) == (1, 3)
        # The same children behind referrals per 10,000 children; the conversion stays per
        # contact (2 decided referrals of 2 decided contacts).
        assert card.referrals_per_10000_children is not None
        assert card.referrals_per_10000_children.referrals == 3
        assert frac(find(card, "contact_to_referral_conversion", None)) == (2, 2)

    async def test_siblings_both_referred_before_are_two_re_referrals(
        self, seeded: AsyncSession
    ) -> None:
        siblings = [child(nhs="9990001006"), child(upn="A123456789012")]
        await add_contact(seeded, received_at=IN_SEP, children=siblings)
        await add_contact(seeded, received_at=IN_OCT, children=siblings)
        ind = find(await october(seeded), "re_referral_within_12_months")
        assert frac(ind) == (2, 2)
        assert (ind.previous.numerator, ind.previous.denominator) == (0, 2)

    async def test_another_child_is_not_a_re_referral(self, seeded: AsyncSession) -> None:
        await add_contact(seeded, received_at=IN_SEP, children=[child(nhs="9990001006")])
        await add_contact(seeded, received_at=IN_OCT, children=[child(nhs="9990001014")])
        assert frac(find(await october(seeded), "re_referral_within_12_months")) == (0, 1)


class TestPreviousPeriod:
    async def test_each_indicator_carries_the_period_before_and_its_direction(
        self, seeded: AsyncSession
    ) -> None:
        await add_contact(seeded, received_at=IN_SEP, on_time={"decision": True})
        await add_contact(seeded, received_at=IN_SEP, on_time={"decision": False})
        for _ in range(3):
            await add_contact(seeded, received_at=IN_OCT, on_time={"decision": True})
        await add_contact(seeded, received_at=IN_OCT, on_time={"decision": False})
        card = await october(seeded)
        ind = find(card, "decided_within_one_working_day")
        assert (ind.value, ind.previous.value) == (0.75, 0.5)
        assert (ind.direction, ind.rating, ind.on_target) == ("improving", "improving", False)
        assert card.previous_period.last_day == date(2026, 9, 30)
        assert card.previous_contacts.decided_by_type == {"referral": 2}

    async def test_a_lower_is_better_indicator_rising_is_worsening(
        self, seeded: AsyncSession
    ) -> None:
        kid = child(nhs="9990001006")
        await add_contact(seeded, received_at=IN_SEP - timedelta(days=40), children=[kid])
        await add_contact(seeded, received_at=IN_OCT, children=[kid])
        await add_contact(seeded, received_at=IN_SEP)
        ind = find(await october(seeded), "re_referral_within_12_months")
        assert (ind.value, ind.previous.value) == (1.0, 0.0)
        assert (ind.direction, ind.rating) == ("worsening", "worsening")


class TestDvAndEncompass:
    async def test_dv_notifications_by_risk_level_and_outcome(self, seeded: AsyncSession) -> None:
        for risk, ctype in (("high", "referral"), ("standard", "notification"), ("standard", None)):
            await add_contact(
                seeded,
                received_at=IN_OCT,
                kind="dv_notification",
                lane="dv_screening",
                dv_risk=risk,
                contact_type=ctype,
                outcome="s47_enquiry" if ctype == "referral" else "advice_given",
            )
        card = await october(seeded)
        dv = {(r.group, r.name): r.count for r in card.dv_notifications}
        assert dv == {
            ("high", "s47_enquiry"): 1,
            ("standard", "advice_given"): 1,
            ("standard", "undecided"): 1,
        }

    async def test_an_alert_whose_school_day_has_not_started_is_not_yet_measured(
        self, seeded: AsyncSession
    ) -> None:
        await add_encompass(seeded, created_at=IN_OCT - timedelta(days=1))
        await add_encompass(seeded, created_at=IN_OCT, delivered_before=None)
        # An hour after the second alert: its school day (3 h later here) has not started.
        card = await october(seeded, now=IN_OCT + timedelta(hours=1))
        assert frac(find(card, "encompass_delivered_before_school_day", None)) == (1, 1)
        card = await october(seeded)
        assert frac(find(card, "encompass_delivered_before_school_day", None)) == (1, 2)

    async def test_encompass_alerts_before_the_school_day_acknowledged_and_checked(
        self, seeded: AsyncSession
    ) -> None:
        await add_encompass(seeded, created_at=IN_OCT, acknowledged=True, welfare_check=True)
        await add_encompass(seeded, created_at=IN_OCT, delivered_before=False, acknowledged=True)
        await add_encompass(seeded, created_at=IN_OCT, delivered_before=None)
        await add_encompass(seeded, created_at=IN_OCT, route="ehe", delivered_before=None)
        await add_encompass(seeded, created_at=IN_SEP)
        card = await october(seeded)
        assert (card.encompass.to_schools, card.encompass.to_ehe_officer) == (3, 1)
        assert frac(find(card, "encompass_delivered_before_school_day", None)) == (1, 3)
        assert frac(find(card, "encompass_acknowledged", None)) == (2, 3)
        assert frac(find(card, "encompass_welfare_check_recorded", None)) == (1, 3)
        assert find(card, "encompass_delivered_before_school_day", None).previous.value == 1.0
        assert (card.previous_encompass.notifications, card.previous_encompass.to_schools) == (1, 1)

    async def test_encompass_counts_with_the_period_before_in_json_and_csv(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        await add_encompass(seeded, created_at=IN_SEP)
        await add_encompass(seeded, created_at=IN_SEP, route="ehe", delivered_before=None)
        await add_encompass(seeded, created_at=IN_OCT)
        params = {"from": "2026-10-01", "to": "2026-10-31"}
        card = (await client.get("/v1/reports/scorecard", params=params, headers=manager)).json()
        assert card["encompass"] == {"notifications": 1, "to_schools": 1, "to_ehe_officer": 0}
        assert card["previous_encompass"] == {
            "notifications": 2,
            "to_schools": 1,
            "to_ehe_officer": 1,
        }
        resp = await client.get(
            "/v1/reports/scorecard", params={**params, "format": "csv"}, headers=manager
        )
        rows = list(csv.DictReader(io.StringIO(resp.text.split("\r\n", 2)[2])))
        from_csv = {
            r["name"]: (int(r["numerator"]), int(r["previous_numerator"]))
            for r in rows
            if r["section"] == "encompass"
        }
        assert from_csv == {
            name: (card["encompass"][name], card["previous_encompass"][name])
            for name in ("notifications", "to_schools", "to_ehe_officer")
        }


class TestRateAndWhatIsNotIncluded:
    async def test_referrals_per_10000_children(self, seeded: AsyncSession) -> None:
        await add_contact(seeded, received_at=IN_OCT)
        await add_contact(seeded, received_at=IN_OCT, contact_type="advice_information")
        card = await october(seeded)
        rate = card.referrals_per_10000_children
        assert rate is not None
        assert (rate.referrals, rate.child_population) == (1, 140_000)
        assert card.previous_referrals_per_10000_children is not None
        assert card.previous_referrals_per_10000_children.referrals == 0
        assert not any(n.startswith("mash_timescales_by_rag") for n in card.not_included)

    async def test_the_rate_has_its_previous_value_and_direction_in_json_and_csv(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        await add_contact(seeded, received_at=IN_SEP)
        for _ in range(3):
            await add_contact(seeded, received_at=IN_OCT)
        params = {"from": "2026-10-01", "to": "2026-10-31"}
        card = (await client.get("/v1/reports/scorecard", params=params, headers=manager)).json()
        now = card["referrals_per_10000_children"]
        was = card["previous_referrals_per_10000_children"]
        assert (now["referrals"], was["referrals"]) == (3, 1)
        assert card["referrals_per_10000_children_direction"] == "higher"  # neutral: watched
        resp = await client.get(
            "/v1/reports/scorecard", params={**params, "format": "csv"}, headers=manager
        )
        rows = list(csv.DictReader(io.StringIO(resp.text.split("\r\n", 2)[2])))
        rate = next(r for r in rows if r["name"] == "referrals_per_10000_children")
        assert (float(rate["numerator"]), float(rate["previous_numerator"])) == (
            now["per_10000_children"],
            was["per_10000_children"],
        )
        assert (rate["polarity"], rate["direction"]) == ("neutral", "higher")

    async def test_the_rate_is_not_comparable_without_a_population(
        self, seeded: AsyncSession
    ) -> None:
        row = await seeded.get(CouncilCalendar, "demo")
        assert row is not None
        row.settings = {k: v for k, v in row.settings.items() if k != "child_population"}
        await seeded.flush()
        await add_contact(seeded, received_at=IN_OCT)
        card = await october(seeded)
        assert card.referrals_per_10000_children is None
        assert card.referrals_per_10000_children_direction == "not_comparable"

    async def test_the_rate_counts_children_and_the_conversion_counts_contacts(
        self, seeded: AsyncSession
    ) -> None:
        # Siblings on one referral are two referrals in the census (one per child).
        siblings = [child(nhs="9990001006"), child(nhs="9990001014")]
        await add_contact(seeded, received_at=IN_OCT, children=siblings)
        await add_contact(seeded, received_at=IN_OCT, contact_type="advice_information")
        card = await october(seeded)
        assert card.referrals_per_10000_children is not None
        assert card.referrals_per_10000_children.referrals == 2
        conversion = find(card, "contact_to_referral_conversion", None)
        assert frac(conversion) == (1, 2)
        assert (conversion.polarity, conversion.on_target) == ("neutral", None)
        assert conversion.rating == "not_rated"


class TestMashTimescalesByRag:
    @pytest.mark.parametrize("rag", ["red", "amber", "green"])
    async def test_met_on_time_counts_met_late_running_or_breached_do_not(
        self, seeded: AsyncSession, rag: str
    ) -> None:
        name = f"mash_{rag}_met_within_timescale"
        for met, breached in ((True, False), (False, False), (None, False), (None, True)):
            contact = await add_contact(seeded, received_at=IN_OCT, contact_type=None, on_time={})
            await add_mash_screening(seeded, contact, rags=[rag], met=met, breached=breached)
        # Received in the period but never screened: no MASH clock, not in the denominator.
        await add_contact(seeded, received_at=IN_OCT, on_time={})
        card = await october(seeded)
        ind = find(card, name, None)
        assert (frac(ind), ind.value, ind.polarity) == ((1, 4), 0.25, "higher_is_better")
        others = [f"mash_{r}_met_within_timescale" for r in ("red", "amber", "green") if r != rag]
        assert all(frac(find(card, o, None)) == (0, 0) for o in others)
        assert all(find(card, o, None).rating == "no_data" for o in others)

    @pytest.mark.parametrize("rag", ["red", "amber", "green"])
    async def test_the_period_before_and_the_direction_of_travel(
        self, seeded: AsyncSession, rag: str
    ) -> None:
        for received, met in ((IN_SEP, True), (IN_SEP, False), (IN_OCT, True)):
            contact = await add_contact(seeded, received_at=received, on_time={})
            await add_mash_screening(seeded, contact, rags=[rag], met=met)
        ind = find(await october(seeded), f"mash_{rag}_met_within_timescale", None)
        assert (ind.previous.numerator, ind.previous.denominator) == (1, 2)
        assert (ind.value, ind.previous.value) == (1.0, 0.5)
        assert (ind.direction, ind.rating, ind.on_target) == ("improving", "on_target", True)

    async def test_a_running_clock_not_yet_due_is_left_out(self, seeded: AsyncSession) -> None:
        day_before = IN_OCT - timedelta(days=1)
        for received, met in ((day_before, True), (day_before, False), (IN_OCT, None)):
            contact = await add_contact(seeded, received_at=received, contact_type=None, on_time={})
            await add_mash_screening(seeded, contact, rags=["red"], met=met)
        # Two hours after the last one came in: its 4-hour timescale has not run out.
        card = await october(seeded, now=IN_OCT + timedelta(hours=2))
        # Met on time and met late count; still running and not yet due is left out.
        assert frac(find(card, "mash_red_met_within_timescale", None)) == (1, 2)
        # At the end of the month it is running past its deadline (breached): not met.
        card = await october(seeded)
        assert frac(find(card, "mash_red_met_within_timescale", None)) == (1, 3)

    async def test_a_reviewed_rating_counts_under_the_latest_rag(
        self, seeded: AsyncSession
    ) -> None:
        contact = await add_contact(seeded, received_at=IN_OCT, on_time={})
        await add_mash_screening(seeded, contact, rags=["green", "red"], met=False)
        card = await october(seeded)
        assert frac(find(card, "mash_red_met_within_timescale", None)) == (0, 1)
        assert frac(find(card, "mash_green_met_within_timescale", None)) == (0, 0)


class TestAnotherCouncil:
    async def test_another_councils_contacts_are_never_counted(self, seeded: AsyncSession) -> None:
        await add_contact(seeded, received_at=IN_OCT, council_id="other")
        await add_contact(seeded, received_at=IN_OCT, contact_type=None, council_id="other")
        card = await october(seeded)
        assert card.contacts.decided_by_type == {}
        assert card.contacts.undecided_by_lane == {}
        assert all(i.denominator == 0 for i in card.indicators)


class TestScorecardApi:
    async def test_json_for_managers_and_admins_and_every_read_audited(
        self, client: httpx.AsyncClient, manager: Headers, auth: Any, session: AsyncSession
    ) -> None:
        before = await session.scalar(
            select(func.count()).where(AuditEntry.action == "report.scorecard")
        )
        for headers in (manager, auth("admin", sub="admin-1")):
            resp = await client.get(
                "/v1/reports/scorecard", params={"from": "2026-10-01", "to": "2026-10-31"},
                headers=headers,
            )  # fmt: skip
            assert resp.status_code == 200
            assert resp.json()["previous_period"]["first_day"] == "2026-08-31"
        after = await session.scalar(
            select(func.count()).where(AuditEntry.action == "report.scorecard")
        )
        assert (after or 0) - (before or 0) == 2

    async def test_other_roles_are_refused(
        self, client: httpx.AsyncClient, worker: Headers, screener: Headers
    ) -> None:
        for headers in (worker, screener):
            resp = await client.get("/v1/reports/scorecard", headers=headers)
            assert resp.status_code == 403

    @pytest.mark.parametrize(
        ("params", "path"),
        [
            ({"from": "2026-10-31", "to": "2026-10-01"}, "from"),
            ({"from": "2024-01-01", "to": "2026-01-01"}, "to"),
            ({"from": "2099-01-01"}, "from"),
            ({"from": "31/10/2026"}, "query.from"),
            ({"format": "pdf"}, "query.format"),
            # Absurd years: the period before, or the default end, would leave the calendar.
            ({"from": "0001-01-01", "to": "0001-01-28"}, "from"),
            ({"to": "0001-01-10"}, "to"),
            ({"from": "9999-12-31"}, "from"),
            ({"from": "2026-10-01", "to": "9999-12-31"}, "to"),
        ],
    )
    async def test_bad_ranges_are_refused_with_422(
        self, client: httpx.AsyncClient, manager: Headers, params: dict[str, str], path: str
    ) -> None:
        resp = await client.get("/v1/reports/scorecard", params=params, headers=manager)
        assert resp.status_code == 422
        assert path in [f["path"] for f in resp.json()["fields"]]

    async def test_csv(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        await add_contact(
            seeded, received_at=IN_OCT, contact_type="advice_information", outcome="nfa",
            nfa_reason="=HYPERLINK(1)", primary_need_code=None,
        )  # fmt: skip
        resp = await client.get(
            "/v1/reports/scorecard",
            params={"from": "2026-10-01", "to": "2026-10-31", "format": "csv"},
            headers=manager,
        )
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/csv")
        lines = resp.text.splitlines()
        assert lines[2].startswith("section,name,group,numerator,denominator,value,target")
        assert any(
            line.startswith("indicator,nfa_reason_recorded,advice_information,1,1,1.0,1.0")
            for line in lines
        )
        assert "nfa_reason,'=hyperlink(1),advice_information,1" in resp.text

    async def test_csv_and_json_carry_the_same_counts_including_the_period_before(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        # Only in September (the period before October): a type and a lane with no October row.
        await add_contact(seeded, received_at=IN_SEP, contact_type="advice_information")
        await add_contact(seeded, received_at=IN_SEP, contact_type=None, lane="dv_triage")
        await add_contact(seeded, received_at=IN_OCT, contact_type="referral")
        params = {"from": "2026-10-01", "to": "2026-10-31"}
        card = (await client.get("/v1/reports/scorecard", params=params, headers=manager)).json()
        resp = await client.get(
            "/v1/reports/scorecard", params={**params, "format": "csv"}, headers=manager
        )
        rows = list(csv.reader(io.StringIO(resp.text)))[3:]
        from_csv = {
            (r[0], r[1]): (int(r[3]), int(r[9]))
            for r in rows
            if r[0] in ("contacts_decided", "contacts_undecided")
        }
        from_json = {}
        for section, now_key, before_key in (
            ("contacts_decided", "decided_by_type", "decided_by_type"),
            ("contacts_undecided", "undecided_by_lane", "undecided_by_lane"),
        ):
            now, before = card["contacts"][now_key], card["previous_contacts"][before_key]
            for k in set(now) | set(before):
                from_json[(section, k)] = (now.get(k, 0), before.get(k, 0))
        assert from_csv == from_json
        assert from_csv[("contacts_decided", "advice_information")] == (0, 1)
        assert from_csv[("contacts_undecided", "dv_triage")] == (0, 1)

    async def test_csv_and_json_agree_on_undecided_contacts_by_lane(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        for lane in ("mash", "dv_screening", "dv_screening"):
            await add_contact(
                seeded, received_at=IN_OCT, contact_type=None, lane=lane,
                on_time={"completed_24h": "unmet"},
            )  # fmt: skip
        params = {"from": "2026-10-01", "to": "2026-10-31"}
        card = (await client.get("/v1/reports/scorecard", params=params, headers=manager)).json()
        from_json = {
            i["lane"]: (i["numerator"], i["denominator"])
            for i in card["indicators"]
            if i["name"] == "completed_within_24_hours" and i["contact_type"] == "undecided"
        }
        assert from_json == {"mash": (0, 1), "dv_screening": (0, 2)}
        resp = await client.get(
            "/v1/reports/scorecard", params={**params, "format": "csv"}, headers=manager
        )
        lines = resp.text.split("\r\n", 2)
        assert lines[2].startswith("section,name,group,numerator,denominator,value,target,")
        rows = list(csv.DictReader(io.StringIO(lines[2])))
        from_csv = {
            r["lane"]: (int(r["numerator"]), int(r["denominator"]))
            for r in rows
            if r["name"] == "completed_within_24_hours" and r["group"] == "undecided"
        }
        assert from_csv == from_json
        # Decided types carry no lane.
        assert all(
            r["lane"] == ""
            for r in rows
            if r["section"] == "indicator" and r["group"] not in ("undecided",)
        )

    async def test_csv_and_json_agree_on_the_mash_timescales_by_rag(
        self, client: httpx.AsyncClient, manager: Headers, seeded: AsyncSession
    ) -> None:
        for received, rag, met in ((IN_SEP, "red", True), (IN_OCT, "red", False),
                                   (IN_OCT, "amber", True), (IN_OCT, "green", None)):  # fmt: skip
            contact = await add_contact(seeded, received_at=received, on_time={})
            await add_mash_screening(seeded, contact, rags=[rag], met=met)
        params = {"from": "2026-10-01", "to": "2026-10-31"}
        card = (await client.get("/v1/reports/scorecard", params=params, headers=manager)).json()
        resp = await client.get(
            "/v1/reports/scorecard", params={**params, "format": "csv"}, headers=manager
        )
        rows = list(csv.reader(io.StringIO(resp.text)))[3:]
        from_csv = {
            r[1]: (int(r[3]), int(r[4]), int(r[9]), int(r[10]), r[12])
            for r in rows
            if r[0] == "indicator" and r[1].startswith("mash_")
        }
        from_json = {
            i["name"]: (i["numerator"], i["denominator"], i["previous"]["numerator"],
                        i["previous"]["denominator"], i["direction"])
            for i in card["indicators"]
            if i["name"].startswith("mash_")
        }  # fmt: skip
        assert from_csv == from_json
        assert from_json == {
            "mash_red_met_within_timescale": (0, 1, 1, 1, "worsening"),
            "mash_amber_met_within_timescale": (1, 1, 0, 0, "not_comparable"),
            "mash_green_met_within_timescale": (0, 1, 0, 0, "not_comparable"),
        }
        assert card["not_included"] == []

    async def test_the_old_kpis_endpoint_refuses_from_after_to(
        self, client: httpx.AsyncClient, manager: Headers
    ) -> None:
        resp = await client.get(
            "/v1/reports/kpis",
            params={"from": "2026-10-31T00:00:00Z", "to": "2026-10-01T00:00:00Z"},
            headers=manager,
        )
        assert resp.status_code == 422
        assert resp.json()["fields"][0]["path"] == "from"

    @pytest.mark.parametrize(
        ("params", "path"),
        [
            # Absurd years and spans longer than a scorecard covers.
            ({"to": "0001-01-01T00:00:00Z"}, "to"),
            ({"from": "0001-01-01T00:00:00Z", "to": "2026-10-31T00:00:00Z"}, "from"),
            ({"from": "2020-01-01T00:00:00Z", "to": "2026-10-31T00:00:00Z"}, "to"),
            ({"from": "9999-12-31T23:00:00Z"}, "from"),
        ],
    )
    async def test_the_old_kpis_endpoint_refuses_bad_times_with_422(
        self, client: httpx.AsyncClient, manager: Headers, params: dict[str, str], path: str
    ) -> None:
        resp = await client.get("/v1/reports/kpis", params=params, headers=manager)
        assert resp.status_code == 422, resp.text
        # `query.to` when the query string's own check refuses it, `to` for the period's rules.
        assert path in [f["path"].removeprefix("query.") for f in resp.json()["fields"]]

    @pytest.mark.parametrize(
        "params",
        [
            {"from": "2026-10-01T00:00:00", "to": "2026-10-31T00:00:00Z"},
            {"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T00:00:00"},
        ],
    )
    async def test_a_time_with_no_zone_is_read_as_utc_never_a_500(
        self, client: httpx.AsyncClient, manager: Headers, params: dict[str, str]
    ) -> None:
        # The platform's query-string rule (services.types): a naive time is UTC, as PostgreSQL
        # would read it, so it is compared with an aware one instead of failing (a 500 before).
        resp = await client.get("/v1/reports/kpis", params=params, headers=manager)
        assert resp.status_code == 200, resp.text
        assert resp.json()["period_from"] == "2026-10-01T00:00:00Z"


class TestConsentThroughTheDecisionApi:
    async def _decide(
        self, client: httpx.AsyncClient, worker: Headers, **consent: str
    ) -> httpx.Response:
        contact = (await client.post("/v1/contacts", json=phone_contact(), headers=worker)).json()
        url = f"/v1/contacts/{contact['id']}"
        await client.post(f"{url}/claim", headers=worker)
        decision = {
            "contact_type": "referral",
            "outcome": "early_help",
            "level": 2,
            "primary_need_code": "N1",
            "rationale": "Recorded.",
            **consent,
        }
        return await client.post(f"{url}/decision", json=decision, headers=worker)

    async def test_who_gave_consent_is_recorded_with_the_decision_and_counted(
        self, client: httpx.AsyncClient, worker: Headers, manager: Headers
    ) -> None:
        resp = await self._decide(
            client, worker, consent_state="given", consent_given_by="parent_or_carer"
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["consent_given_by"] == "parent_or_carer"
        await self._decide(client, worker, consent_state="given")
        card = (await client.get("/v1/reports/scorecard", headers=manager)).json()
        consent = next(
            i for i in card["indicators"] if i["name"] == "consent_recorded_for_decision"
        )
        assert (consent["numerator"], consent["denominator"]) == (1, 2)

    async def test_who_gave_it_only_goes_with_given_or_refused(
        self, client: httpx.AsyncClient, worker: Headers
    ) -> None:
        # Signposting needs no consent at level 2 (the consent-by-level rule), so what is
        # refused here is only naming who gave a consent that was not sought.
        resp = await self._decide(
            client,
            worker,
            outcome="signposted",
            consent_state="not_sought",
            consent_reason="Would alert the alleged abuser.",
            consent_given_by="parent_or_carer",
        )
        assert resp.status_code == 422
        assert "consent_given_by" in [f["path"] for f in resp.json()["fields"]]
