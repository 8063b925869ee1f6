"""POST /v1/referrals: the receipt, the stored referral, its event and its audit row."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.marf import Marf
from services.events.contracts import ReferralReceived
from services.models.platform import AuditEntry, EventConsumption, OutboxEvent
from services.models.referral import Referral
from tests.conftest import TokenFactory
from tests.factories import make_marf
from tests.referral_api.conftest import AGENCY, EXAMPLE_NAMES, load_example

REFERENCE = re.compile(r"^FD-\d{4}-\d{6,}$")


async def count(session: AsyncSession, model: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


class TestSubmitReferral:
    async def test_accepted_marf_answers_201_with_reference_deadlines_and_next_steps(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        response = await client.post("/v1/referrals", json=make_marf(), headers=referrer)
        assert response.status_code == 201, response.text
        body = response.json()
        assert REFERENCE.match(body["reference"])
        assert body["status"] == "received"
        assert response.headers["location"] == f"/v1/referrals/{body['reference']}"
        received = datetime.fromisoformat(body["received_at"])
        assert received.utcoffset() is not None
        assert abs(received - datetime.now(UTC)) < timedelta(minutes=1)
        assert datetime.fromisoformat(body["decision_due_at"]) > received
        assert body["written_follow_up"] is None
        assert body["warnings"] == []
        assert "999" not in body["what_happens_next"]
        assert body["reference"] in body["what_happens_next"]

    async def test_references_are_unique_and_increasing(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        refs = [
            (await client.post("/v1/referrals", json=make_marf(), headers=referrer)).json()[
                "reference"
            ]
            for _ in range(3)
        ]
        numbers = [int(r.rsplit("-", 1)[1]) for r in refs]
        assert numbers == sorted(set(numbers))

    async def test_stores_the_referral_with_utc_times_and_agency_from_the_token(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        body = (await client.post("/v1/referrals", json=make_marf(), headers=referrer)).json()
        row = await session.scalar(select(Referral).where(Referral.reference == body["reference"]))
        assert row is not None
        assert row.agency_id == AGENCY
        assert row.received_at.utcoffset() == timedelta(0)
        assert row.status == "received"
        assert row.subject_count == 1
        assert row.child_voice_missing is False
        # Stored normalised, exactly as the validated MARF dumps it.
        assert row.marf["subjects"][0]["address"]["postcode"] == "BD1 1HY"

    async def test_emits_referral_received_with_the_validated_marf_and_an_audit_row(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        body = (await client.post("/v1/referrals", json=make_marf(), headers=referrer)).json()
        row = await session.scalar(select(Referral).where(Referral.reference == body["reference"]))
        assert row is not None
        event = await session.scalar(
            select(OutboxEvent).where(
                OutboxEvent.topic == "referral.received",
                OutboxEvent.payload["reference"].astext == body["reference"],
            )
        )
        assert event is not None
        payload = ReferralReceived.model_validate(event.payload)
        assert payload.referral_id == row.id
        assert payload.agency_id == AGENCY
        assert payload.follow_up_to_phone_call is False
        assert Marf.model_validate(payload.marf).subjects[0].nhs_number == "9990001006"
        consumers = await session.scalars(
            select(EventConsumption.consumer).where(EventConsumption.event_id == event.id)
        )
        assert list(consumers) == ["triage.intake"]
        audit = await session.scalar(select(AuditEntry).where(AuditEntry.entity_id == str(row.id)))
        assert audit is not None
        assert (audit.action, audit.actor_org, audit.actor_role) == (
            "referral.submitted",
            AGENCY,
            "referrer",
        )

    async def test_immediate_risk_tells_the_referrer_to_call_999(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        marf = make_marf(immediate_risk=True, emergency_services_called=False)
        body = (await client.post("/v1/referrals", json=marf, headers=referrer)).json()
        assert body["what_happens_next"].startswith("If a child is in immediate danger, call 999")
        assert "immediate_risk_without_999" in [w["code"] for w in body["warnings"]]

    async def test_missing_child_voice_is_accepted_with_a_warning_and_a_flag(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        marf = make_marf()
        del marf["child_voice"]
        response = await client.post("/v1/referrals", json=marf, headers=referrer)
        assert response.status_code == 201
        assert [w["code"] for w in response.json()["warnings"]] == ["child_voice_missing"]
        row = await session.scalar(
            select(Referral).where(Referral.reference == response.json()["reference"])
        )
        assert row is not None
        assert row.child_voice_missing is True


class TestPhoneFollowUp:
    async def test_receipt_is_the_call_time_and_the_written_follow_up_is_met(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        call_at = datetime.now(UTC) - timedelta(hours=3)
        marf = make_marf(
            follow_up_to_phone_call={"call_at": call_at.isoformat(), "contact_reference": "PH-1"}
        )
        body = (await client.post("/v1/referrals", json=marf, headers=referrer)).json()
        assert datetime.fromisoformat(body["received_at"]) == call_at.replace(microsecond=0) or (
            abs(datetime.fromisoformat(body["received_at"]) - call_at) < timedelta(seconds=1)
        )
        follow_up = body["written_follow_up"]
        assert datetime.fromisoformat(follow_up["due_at"]) == call_at + timedelta(hours=24)
        assert follow_up["met_by_this_referral"] is True
        assert follow_up["on_time"] is True
        assert follow_up["phone_contact_reference"] == "PH-1"
        assert "follow-up of your phone call" in body["what_happens_next"]

    async def test_friday_afternoon_call_is_due_on_monday_and_after_a_bank_holiday_tuesday(
        self, client: httpx.AsyncClient, referrer: dict[str, str], wide_call_window: object
    ) -> None:
        # Friday 20 Nov 2026 16:00 GMT -> Monday 16:00; Friday 28 Aug 2026 16:00 BST -> Tuesday
        # 1 Sep 16:00 BST (Monday 31 Aug is the summer bank holiday).
        for call_at, due in (
            ("2026-11-20T16:00:00+00:00", "2026-11-23T16:00:00+00:00"),
            ("2026-08-28T16:00:00+01:00", "2026-09-01T16:00:00+01:00"),
        ):
            marf = make_marf(follow_up_to_phone_call={"call_at": call_at})
            body = (await client.post("/v1/referrals", json=marf, headers=referrer)).json()
            assert datetime.fromisoformat(body["decision_due_at"]) == datetime.fromisoformat(due)

    async def test_a_follow_up_after_24_hours_is_flagged_late(
        self, client: httpx.AsyncClient, referrer: dict[str, str]
    ) -> None:
        call_at = datetime.now(UTC) - timedelta(hours=30)
        marf = make_marf(follow_up_to_phone_call={"call_at": call_at.isoformat()})
        body = (await client.post("/v1/referrals", json=marf, headers=referrer)).json()
        assert body["written_follow_up"]["on_time"] is False
        assert "written_follow_up_late" in [w["code"] for w in body["warnings"]]

    async def test_the_event_carries_the_call(
        self, client: httpx.AsyncClient, referrer: dict[str, str], session: AsyncSession
    ) -> None:
        call_at = (datetime.now(UTC) - timedelta(hours=5)).isoformat()
        marf = make_marf(follow_up_to_phone_call={"call_at": call_at, "contact_reference": "P9"})
        ref = (await client.post("/v1/referrals", json=marf, headers=referrer)).json()["reference"]
        event = await session.scalar(
            select(OutboxEvent).where(OutboxEvent.payload["reference"].astext == ref)
        )
        assert event is not None
        payload = ReferralReceived.model_validate(event.payload)
        assert payload.follow_up_to_phone_call is True
        assert payload.phone_contact_reference == "P9"
        assert payload.received_at == payload.phone_call_at


class TestExampleMarfs:
    @pytest.mark.parametrize("name", EXAMPLE_NAMES)
    async def test_each_documented_example_is_accepted(
        self, client: httpx.AsyncClient, referrer: dict[str, str], name: str
    ) -> None:
        response = await client.post("/v1/referrals", json=load_example(name), headers=referrer)
        assert response.status_code == 201, response.text

    def test_the_five_realistic_cases_are_documented(self) -> None:
        assert EXAMPLE_NAMES == [
            "marf-anonymous-public",
            "marf-consent-dispensed",
            "marf-phone-follow-up",
            "marf-sibling-group",
            "marf-unborn-baby",
        ]


class TestWhoMaySubmit:
    async def test_no_token_is_401(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/v1/referrals", json=make_marf())
        assert response.status_code == 401

    @pytest.mark.parametrize("role", ["front_door_worker", "team_manager", "admin"])
    async def test_other_roles_are_403(
        self, client: httpx.AsyncClient, auth: TokenFactory, role: str
    ) -> None:
        response = await client.post("/v1/referrals", json=make_marf(), headers=auth(role))
        assert response.status_code == 403
