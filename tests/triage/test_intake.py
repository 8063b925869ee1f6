"""Intake of MARFs from referral_api: contacts, proposals, clocks, re-referrals, addenda."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.marf import Marf
from services.models.platform import OutboxEvent
from services.models.triage import TriageAddendum, TriageClock, TriageContact
from tests.factories import make_marf, with_subject
from tests.triage.conftest import AGENCY, LONDON, intake, outbox, phone_contact, referral_event
from triage.intake.handlers import handle_addendum_added, handle_referral_received
from triage.settings import TriageSettings


async def clocks_of(session: AsyncSession, contact_id: uuid.UUID) -> dict[str, TriageClock]:
    rows = await session.scalars(select(TriageClock).where(TriageClock.contact_id == contact_id))
    return {c.kind: c for c in rows.all()}


class TestReferralReceived:
    async def test_marf_becomes_a_contact_with_proposal_and_clocks(
        self, seeded: AsyncSession
    ) -> None:
        received = datetime(2026, 11, 20, 16, tzinfo=UTC)
        contact = await intake(seeded, referral_event(received_at=received))
        assert contact.reference.startswith("FDC-2026-")
        assert (contact.channel, contact.kind, contact.received_at) == ("api", "marf", received)
        assert (contact.level, contact.lane, contact.rag) == (3, "mash", "amber")
        assert contact.rule_set_version == 1
        assert contact.evaluation["fired"][0]["rule_id"] == "neglect-or-domestic-abuse"
        assert contact.facts["concern_categories"] == ["neglect"]
        clocks = await clocks_of(seeded, contact.id)
        assert set(clocks) == {"decision", "completed_24h", "all_contacts_48h", "unallocated"}
        assert clocks["decision"].deadline_at == datetime(2026, 11, 23, 16, tzinfo=UTC)
        assert contact.queue_deadline_at == clocks["completed_24h"].deadline_at  # the nearest

    async def test_contact_triaged_names_the_referral(self, seeded: AsyncSession) -> None:
        event = referral_event()
        contact = await intake(seeded, event)
        (triaged,) = await outbox(seeded, "contact.triaged")
        assert triaged["referral_id"] == event.payload["referral_id"]
        assert triaged["contact_reference"] == contact.reference
        assert triaged["council_id"] == contact.council_id

    async def test_replay_does_nothing_twice(self, seeded: AsyncSession) -> None:
        event = referral_event()
        await intake(seeded, event)
        await handle_referral_received(seeded, event)
        count = await seeded.scalar(
            select(TriageContact.id).where(
                TriageContact.referral_id == uuid.UUID(event.payload["referral_id"])
            )
        )
        assert count is not None
        assert len(await outbox(seeded, "contact.triaged")) == 1

    async def test_siblings_are_one_contact(self, seeded: AsyncSession) -> None:
        marf = make_marf()
        sibling = {**marf["subjects"][0], "given_name": "Alex", "nhs_number": None}
        contact = await intake(
            seeded, referral_event(make_marf(subjects=[marf["subjects"][0], sibling]))
        )
        assert [s["name"] for s in contact.subjects_summary] == ["Sam Example", "Alex Example"]
        assert contact.facts["subject_count"] == 2

    async def test_immediate_risk_takes_the_safety_floor(self, seeded: AsyncSession) -> None:
        weekday_noon = datetime(2026, 11, 18, 12, tzinfo=UTC)
        contact = await intake(
            seeded, referral_event(make_marf(immediate_risk=True), received_at=weekday_noon)
        )
        assert (contact.priority, contact.lane, contact.safety_floor) == (0, "mash", True)

    async def test_out_of_hours_immediate_risk_goes_to_the_duty_team(
        self, seeded: AsyncSession
    ) -> None:
        evening = datetime(2026, 11, 18, 20, tzinfo=UTC)
        contact = await intake(
            seeded, referral_event(make_marf(immediate_risk=True), received_at=evening)
        )
        assert (contact.lane, contact.facts["in_office_hours"]) == ("out_of_hours", False)


class TestStoredMarfsAreNeverRefused:
    """A MARF referral_api accepted is read back as stored: rules relative to today are not
    re-applied with the receipt date, which would retry the event until it was dead."""

    @staticmethod
    def _accepted_by_referral_api(marf: dict[str, Any], today: date, now: datetime) -> None:
        Marf.model_validate(marf, context={"today": today, "now": now})

    async def test_baby_born_after_the_phone_call(self, seeded: AsyncSession) -> None:
        call = datetime.now(UTC) - timedelta(days=2)
        born = (datetime.now(LONDON) - timedelta(days=1)).date()
        marf = with_subject(make_marf(), date_of_birth=born.isoformat(), given_name="Baby")
        self._accepted_by_referral_api(marf, born + timedelta(days=1), datetime.now(UTC))
        event = referral_event(marf, received_at=call, phone_reference="FDC-2026-999999")
        contact = await intake(seeded, event)
        assert contact.facts["youngest_age"] == 0
        assert contact.subjects_summary[0]["age"] == 0

    async def test_marf_sent_just_after_midnight_in_summer(self, seeded: AsyncSession) -> None:
        # 00:30 BST on 2 July is 23:30 UTC on 1 July: the child was born "today" in London.
        received = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
        marf = with_subject(make_marf(), date_of_birth="2026-07-02", given_name="Newborn")
        marf["consent"]["recorded_at"] = (received - timedelta(minutes=20)).isoformat()
        self._accepted_by_referral_api(marf, date(2026, 7, 2), received)
        contact = await intake(seeded, referral_event(marf, received_at=received))
        assert contact.facts["youngest_age"] == 0
        assert contact.reference.startswith("FDC-2026-")

    async def test_ages_are_counted_on_the_london_receipt_date(self, seeded: AsyncSession) -> None:
        # Eighth birthday on 2 July: at 00:30 BST the child is 8, though it is 1 July in UTC.
        received = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)
        marf = with_subject(make_marf(), date_of_birth="2018-07-02")
        contact = await intake(seeded, referral_event(marf, received_at=received))
        assert contact.facts["youngest_age"] == 8


class TestReReferrals:
    async def _decided_referral(
        self, session: AsyncSession, marf: dict[str, Any], days_ago: int
    ) -> TriageContact:
        contact = await intake(
            session, referral_event(marf, received_at=datetime.now(UTC) - timedelta(days=days_ago))
        )
        contact.status, contact.contact_type = "decided", "referral"
        await session.flush()
        return contact

    async def test_same_nhs_number_within_12_months_is_a_re_referral(
        self, seeded: AsyncSession
    ) -> None:
        first = await self._decided_referral(seeded, make_marf(), days_ago=100)
        again = await intake(seeded, referral_event(with_subject(make_marf(), given_name="Samuel")))
        assert (again.re_referral, again.previous_referrals_12m) == (True, 1)
        assert again.facts["previous_referrals_12m"] == 1
        assert first.id != again.id

    async def test_name_and_date_of_birth_match_without_identifiers(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        await self._decided_referral(
            seeded, with_subject(make_marf(), nhs_number=None), days_ago=30
        )
        marf = with_subject(make_marf(), nhs_number=None, given_name="SAM", family_name="Éxample")
        again = await intake(seeded, referral_event(marf))
        assert again.re_referral
        body = (await client.get(f"/v1/contacts/{again.id}", headers=worker)).json()
        assert body["history"][0]["matched_on"] == ["name_dob_postcode"]
        assert body["history"][0]["was_referral"] is True

    async def test_a_family_that_moved_is_still_the_same_child(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        await self._decided_referral(
            seeded, with_subject(make_marf(), nhs_number=None), days_ago=30
        )
        moved = with_subject(
            make_marf(), nhs_number=None, address={"line1": "9 Road", "postcode": "LS1 1AA"}
        )
        again = await intake(seeded, referral_event(moved))
        assert (again.re_referral, again.previous_referrals_12m) == (True, 1)
        body = (await client.get(f"/v1/contacts/{again.id}", headers=worker)).json()
        assert body["history"][0]["matched_on"] == ["name_dob_postcode_differs"]

    async def test_same_name_with_another_birthday_is_not_a_match(
        self, seeded: AsyncSession
    ) -> None:
        await self._decided_referral(
            seeded, with_subject(make_marf(), nhs_number=None), days_ago=30
        )
        other = with_subject(make_marf(), nhs_number=None, date_of_birth="2015-03-03")
        assert not (await intake(seeded, referral_event(other))).re_referral

    async def test_older_than_12_months_is_history_but_not_a_re_referral(
        self, seeded: AsyncSession
    ) -> None:
        await self._decided_referral(seeded, make_marf(), days_ago=400)
        again = await intake(seeded, referral_event(make_marf()))
        assert not again.re_referral

    async def test_chronic_pattern_raises_the_proposal(self, seeded: AsyncSession) -> None:
        quiet = make_marf(concerns=[{"category": "other", "description": "Worried."}])
        await self._decided_referral(seeded, quiet, days_ago=200)
        await self._decided_referral(seeded, quiet, days_ago=60)
        third = await intake(seeded, referral_event(quiet))
        assert third.previous_referrals_12m == 2
        assert [f["rule_id"] for f in third.evaluation["fired"]] == ["chronic-pattern"]


async def phone_call(
    client: httpx.AsyncClient, worker: dict[str, str], call: datetime, **overrides: Any
) -> dict[str, Any]:
    body = phone_contact(received_at=call.isoformat(), agency_id=AGENCY, **overrides)
    created = await client.post("/v1/contacts", json=body, headers=worker)
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


async def reloaded(session: AsyncSession, contact_id: str) -> TriageContact:
    contact = await session.get(TriageContact, uuid.UUID(contact_id))
    assert contact is not None
    await session.refresh(contact)
    return contact


async def follow_up(
    session: AsyncSession, phone: dict[str, Any], call: datetime, **payload: Any
) -> OutboxEvent:
    marf = payload.pop("marf", None)
    event = referral_event(marf, received_at=call, phone_reference=phone["reference"].lower())
    event.payload.update(payload)
    await handle_referral_received(session, event)
    return event


async def claim_contact(session: AsyncSession, event: OutboxEvent) -> TriageContact:
    referral_id = uuid.UUID(event.payload["referral_id"])
    contact = await session.scalar(
        select(TriageContact).where(TriageContact.referral_id == referral_id)
    )
    assert contact is not None
    return contact


class TestPhoneThenMarf:
    async def test_marf_quoting_the_phone_reference_joins_that_contact(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        assert "written_follow_up" in {c["kind"] for c in phone["clocks"]}
        event = await follow_up(seeded, phone, call + timedelta(minutes=20))
        joined = await reloaded(seeded, phone["id"])
        assert str(joined.referral_id) == event.payload["referral_id"]
        assert joined.record["source"] == "phone_then_marf"
        assert joined.follow_up_claim is None
        clocks = await clocks_of(seeded, joined.id)
        assert clocks["written_follow_up"].state == "met"
        assert clocks["decision"].started_at == call
        (triaged,) = await outbox(seeded, "contact.triaged")
        assert triaged["contact_id"] == phone["id"]

    async def test_a_join_adds_the_marf_and_overwrites_nothing(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        sibling = {**make_marf()["subjects"][0], "given_name": "Alex", "nhs_number": "9990001014"}
        same_child = {**make_marf()["subjects"][0], "given_name": "Samuel"}  # same NHS number
        marf = make_marf(
            subjects=[same_child, sibling],
            concerns=[{"category": "cse", "description": "Gifts from an older man."}],
        )
        await follow_up(seeded, phone, call, marf=marf)
        joined = await reloaded(seeded, phone["id"])
        assert joined.agency_id == AGENCY
        assert joined.record["phone"]["contact"]["summary"] == phone["record"]["contact"]["summary"]
        assert joined.record["marf"]["concerns"][0]["category"] == "cse"
        # The call's child as the call recorded it, and the sibling the MARF adds.
        assert [s["name"] for s in joined.subjects_summary] == ["Sam Example", "Alex Example"]
        # By position, as the census and the subject rows read them: the call's child first.
        assert [s["given_name"] for s in joined.record["subjects"]] == ["Sam", "Alex"]
        # The phone's concern (neglect) and the MARF's (CSE) both count: CSE's floor holds.
        assert joined.facts["concern_categories"] == ["cse", "neglect"]
        assert (joined.lane, joined.level) == ("mash", 4)

    async def test_a_phone_contact_recorded_before_the_census_code_check_still_joins(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        stored = await reloaded(seeded, phone["id"])
        # Recorded when ethnicity was only checked as four capital letters.
        record = dict(stored.record)
        record["contact"] = {
            **record["contact"],
            "subjects": [{**record["contact"]["subjects"][0], "ethnicity": "ZZZZ"}],
        }
        stored.record = record
        await seeded.flush()
        event = await follow_up(seeded, phone, call)
        joined = await reloaded(seeded, phone["id"])
        assert str(joined.referral_id) == event.payload["referral_id"]

    async def _claims(
        self, seeded: AsyncSession, phone: dict[str, Any], event: OutboxEvent, reason: str
    ) -> TriageContact:
        own = await claim_contact(seeded, event)
        assert own.id != uuid.UUID(phone["id"])
        assert own.follow_up_claim is not None
        assert own.follow_up_claim["note"] == f"claims to follow up {phone['reference']}"
        assert any(reason in r for r in own.follow_up_claim["reasons"]), own.follow_up_claim
        untouched = await reloaded(seeded, phone["id"])
        assert untouched.referral_id is None
        assert untouched.record["source"] == "front_door"
        assert untouched.agency_id == phone["agency_id"]
        assert untouched.subjects_summary == phone["subjects"]
        clocks = await clocks_of(seeded, untouched.id)
        assert clocks["written_follow_up"].state == "running"
        return own

    async def test_another_agencys_marf_is_its_own_contact(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        event = await follow_up(seeded, phone, call, agency_id="leeds-gp")
        own = await self._claims(seeded, phone, event, "another agency")
        assert own.linked_phone_contact_id == uuid.UUID(phone["id"])
        assert own.agency_id == "leeds-gp"

    async def test_a_marf_about_another_child_is_its_own_contact(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        other = with_subject(
            make_marf(), given_name="Jo", family_name="Other", nhs_number="9990001022"
        )
        event = await follow_up(seeded, phone, call, marf=other)
        await self._claims(seeded, phone, event, "no child on the MARF matches")

    async def test_a_call_time_29_hours_away_is_its_own_contact(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=30)
        phone = await phone_call(client, worker, call)
        event = await follow_up(seeded, phone, call + timedelta(hours=29))
        await self._claims(seeded, phone, event, "1740 minutes from the phone contact's")

    async def test_the_tolerance_is_configurable(
        self,
        seeded: AsyncSession,
        client: httpx.AsyncClient,
        worker: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        strict = TriageSettings(phone_join_tolerance_minutes=10)
        monkeypatch.setattr("triage.intake.service.get_triage_settings", lambda: strict)
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        event = await follow_up(seeded, phone, call + timedelta(minutes=20))
        await self._claims(seeded, phone, event, "20 minutes from the phone contact's")

    async def test_a_phone_contact_with_no_agency_recorded_is_not_joined(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=3)
        body = phone_contact(received_at=call.isoformat())
        phone = (await client.post("/v1/contacts", json=body, headers=worker)).json()
        event = await follow_up(seeded, phone, call)
        await self._claims(seeded, phone, event, "recorded no agency")

    async def test_a_second_marf_for_a_joined_call_is_its_own_contact(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        first = await follow_up(seeded, phone, call)
        second = await follow_up(seeded, phone, call)
        own = await claim_contact(seeded, second)
        assert own.follow_up_claim is not None
        assert own.follow_up_claim["reasons"] == [
            f"the phone contact is already followed up by {first.payload['reference']}"
        ]

    async def test_an_unknown_reference_is_a_claim_with_no_link(self, seeded: AsyncSession) -> None:
        event = referral_event(phone_reference="FDC-2026-999999")
        await handle_referral_received(seeded, event)
        own = await claim_contact(seeded, event)
        assert own.linked_phone_contact_id is None
        assert own.follow_up_claim == {
            "reference": "FDC-2026-999999",
            "note": "claims to follow up FDC-2026-999999",
            "reasons": ["no contact has this reference"],
        }

    async def test_the_claim_shows_on_the_contact(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        event = await follow_up(seeded, phone, call, agency_id="leeds-gp")
        own = await claim_contact(seeded, event)
        body = (await client.get(f"/v1/contacts/{own.id}", headers=worker)).json()
        assert body["follow_up_claim"]["note"] == f"claims to follow up {phone['reference']}"
        assert body["linked_phone_contact_id"] == phone["id"]


class TestAddenda:
    async def test_addendum_is_appended_once(self, seeded: AsyncSession) -> None:
        event = referral_event()
        contact = await intake(seeded, event)
        addendum = OutboxEvent(
            id=uuid.uuid4(),
            topic="referral.addendum_added",
            version=1,
            producer="referral_api",
            payload={
                "referral_id": event.payload["referral_id"],
                "reference": event.payload["reference"],
                "addendum_id": str(uuid.uuid4()),
                "added_at": datetime.now(UTC).isoformat(),
                "text": "Sam was absent again today.",
            },
        )
        await handle_addendum_added(seeded, addendum)
        await handle_addendum_added(seeded, addendum)
        rows = (
            await seeded.scalars(
                select(TriageAddendum).where(TriageAddendum.contact_id == contact.id)
            )
        ).all()
        assert [r.text for r in rows] == ["Sam was absent again today."]


class TestVoicePerChild:
    async def test_a_childs_own_voice_counts_as_the_childs_voice(
        self, seeded: AsyncSession
    ) -> None:
        marf = with_subject(make_marf(child_voice=None), child_voice="Sam said he is hungry.")
        contact = await intake(seeded, referral_event(marf))
        assert contact.child_voice_present is True
        assert contact.facts["child_voice_present"] is True

    async def test_no_voice_at_all_is_reported_missing(self, seeded: AsyncSession) -> None:
        contact = await intake(seeded, referral_event(make_marf(child_voice=None)))
        assert contact.child_voice_present is False


class TestReconcileAFollowUpClaim:
    async def _claim(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> tuple[dict[str, Any], TriageContact]:
        call = datetime.now(UTC) - timedelta(hours=3)
        phone = await phone_call(client, worker, call)
        event = await follow_up(seeded, phone, call, agency_id="leeds-gp")
        return phone, await claim_contact(seeded, event)

    async def test_separate_closes_the_claim_and_the_call_still_waits(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        phone, own = await self._claim(seeded, client, worker)
        url = f"/v1/contacts/{own.id}/follow-up-claim"
        body = {"action": "separate", "note": "Leeds GP rang about another family."}
        response = await client.post(url, json=body, headers=worker)
        assert response.status_code == 200, response.text
        resolution = response.json()["follow_up_claim"]["resolution"]
        assert (resolution["action"], resolution["by"]) == ("separate", "worker-1")
        clocks = await clocks_of(seeded, uuid.UUID(phone["id"]))
        assert clocks["written_follow_up"].state == "running"
        assert (await client.post(url, json=body, headers=worker)).status_code == 409

    async def test_join_adds_the_marf_to_the_phone_contact(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        phone, own = await self._claim(seeded, client, worker)
        referral_id = own.referral_id
        body = {"action": "join", "note": "Same call: the agency was recorded wrongly."}
        response = await client.post(
            f"/v1/contacts/{own.id}/follow-up-claim", json=body, headers=worker
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "merged"
        joined = await reloaded(seeded, phone["id"])
        assert joined.referral_id == referral_id
        assert joined.record["source"] == "phone_then_marf"
        assert (await clocks_of(seeded, joined.id))["written_follow_up"].state == "met"
        merged = await clocks_of(seeded, own.id)
        assert {c.state for c in merged.values()} == {"paused"}
        queue = (await client.get("/v1/queue", headers=worker)).json()["items"]
        assert str(own.id) not in {i["id"] for i in queue}

    async def test_a_merged_contact_is_not_counted_again_in_the_childs_history(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        _phone, own = await self._claim(seeded, client, worker)
        body = {"action": "join", "note": "Same call: the agency was recorded wrongly."}
        response = await client.post(
            f"/v1/contacts/{own.id}/follow-up-claim", json=body, headers=worker
        )
        assert response.status_code == 200, response.text
        # One call and its written follow-up are one earlier referral, not two.
        later = await intake(seeded, referral_event())
        assert later.previous_referrals_12m == 1

    async def test_a_contact_without_a_claim_is_404(
        self, seeded: AsyncSession, client: httpx.AsyncClient, worker: dict[str, str]
    ) -> None:
        contact = await intake(seeded, referral_event())
        body = {"action": "separate", "note": "x"}
        response = await client.post(
            f"/v1/contacts/{contact.id}/follow-up-claim", json=body, headers=worker
        )
        assert response.status_code == 404
