"""The walking skeleton: one path through all three services, workers as separate processes.

1. A partner agency submits a MARF; the triage worker puts the contact in the queue.
2. The front door decides it (a manager signs off where the council requires); the referral
   worker updates the referral, and the referrer sees the new status.
3. The police feed sends an incident for a child at a registered school; the notifications
   worker delivers a signed webhook that verifies with the `standardwebhooks` library.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from services.auth import Role, mint_token
from services.settings import FrontdoorSettings
from tests.e2e.conftest import (
    ApiClients,
    Processes,
    WebhookReceiver,
    eventually,
    pretty,
)
from tests.factories import make_marf

pytestmark = pytest.mark.e2e

AGENCY = "west-yorkshire-police"
SCHOOL_URN = "199901"


def bearer(role: Role, agency_id: str | None = None) -> dict[str, str]:
    token = mint_token(FrontdoorSettings(), sub=f"e2e-{role.value}", role=role, agency_id=agency_id)
    return {"Authorization": f"Bearer {token}"}


REFERRER = bearer(Role.referrer, agency_id=AGENCY)
SOCIAL_WORKER = bearer(Role.front_door_worker)
MANAGER = bearer(Role.team_manager)
ADMIN = bearer(Role.admin)
POLICE_FEED = bearer(Role.police_feed, agency_id=AGENCY)


async def submit_marf(apis: ApiClients) -> str:
    response = await apis["referral_api"].post("/v1/referrals", json=make_marf(), headers=REFERRER)
    assert response.status_code == 201, pretty(response)
    reference: str = response.json()["reference"]
    return reference


async def contact_in_queue(
    apis: ApiClients, processes: Processes, reference: str
) -> dict[str, Any]:
    """Wait until the triage worker has queued the referral; its contact as the API shows it."""
    triage = apis["triage"]

    async def find() -> dict[str, Any] | None:
        queue = await triage.get("/v1/queue", headers=SOCIAL_WORKER)
        assert queue.status_code == 200, pretty(queue)
        for item in queue.json()["items"]:
            contact = await triage.get(f"/v1/contacts/{item['id']}", headers=SOCIAL_WORKER)
            assert contact.status_code == 200, pretty(contact)
            if contact.json().get("referral_reference") == reference:
                found: dict[str, Any] = contact.json()
                return found
        return None

    return await eventually(find, what=f"{reference} in the queue", processes=processes)


class TestReferralToQueue:
    async def test_a_submitted_marf_appears_in_the_front_door_queue(
        self, demo_council: Processes, apis: ApiClients
    ) -> None:
        demo_council.worker("triage")
        reference = await submit_marf(apis)
        contact = await contact_in_queue(apis, demo_council, reference)
        assert contact["status"] == "open"
        assert contact["deadline_at"] > contact["received_at"]


class TestDecisionToReferrer:
    async def test_the_referrer_sees_the_front_doors_decision(
        self, demo_council: Processes, apis: ApiClients
    ) -> None:
        demo_council.worker("triage")
        demo_council.worker("referral_api")
        reference = await submit_marf(apis)
        contact = await contact_in_queue(apis, demo_council, reference)
        triage, referrals = apis["triage"], apis["referral_api"]

        claim = await triage.post(f"/v1/contacts/{contact['id']}/claim", headers=SOCIAL_WORKER)
        assert claim.status_code == 200, pretty(claim)
        decision = await triage.post(
            f"/v1/contacts/{contact['id']}/decision",
            headers=SOCIAL_WORKER,
            json={
                "contact_type": "referral",
                "outcome": "s17_assessment",
                "level": 3,
                "primary_need_code": "N1",
                "rationale": "Chronic neglect indicators; assessment needed.",
                "next_steps": "A social worker will visit within five working days.",
            },
        )
        assert decision.status_code == 201, pretty(decision)
        after = await triage.get(f"/v1/contacts/{contact['id']}", headers=SOCIAL_WORKER)
        if after.json()["status"] == "awaiting_sign_off":  # the demo council requires it
            signed = await triage.post(
                f"/v1/contacts/{contact['id']}/sign-off",
                headers=MANAGER,
                json={"action": "approve"},
            )
            assert signed.status_code == 200, pretty(signed)

        async def decided() -> dict[str, Any] | None:
            response = await referrals.get(f"/v1/referrals/{reference}", headers=REFERRER)
            assert response.status_code == 200, pretty(response)
            body: dict[str, Any] = response.json()
            return body if body["status"] == "decided" else None

        referral = await eventually(decided, what="the decided status", processes=demo_council)
        assert "s17_assessment" in json.dumps(referral)


class TestEncompassToSchool:
    async def test_an_incident_reaches_the_school_as_a_verifiable_signed_webhook(
        self,
        demo_council: Processes,
        apis: ApiClients,
        webhook_receiver: WebhookReceiver,
    ) -> None:
        notifications = apis["notifications"]
        school = await notifications.post(
            "/v1/schools",
            headers=ADMIN,
            json={
                "urn": SCHOOL_URN,
                "name": "Example Primary School",
                "dsl_email": "dsl@example-primary.sch.uk",
                "delivery_preference": "webhook",
            },
        )
        assert school.status_code == 201, pretty(school)
        endpoint = await notifications.post(
            f"/v1/schools/{SCHOOL_URN}/endpoints",
            headers=ADMIN,
            json={"url": webhook_receiver.url},
        )
        assert endpoint.status_code == 201, pretty(endpoint)
        secret: str = endpoint.json()["secret"]
        demo_council.worker("notifications")

        incident = await notifications.post(
            "/v1/encompass/incidents",
            headers=POLICE_FEED,
            json={
                "police_reference": "WYP/2026/000123",
                "incident_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
                "children": [
                    {"given_name": "Alex", "family_name": "Example", "school_urn": SCHOOL_URN}
                ],
            },
        )
        assert incident.status_code == 200, pretty(incident)
        assert incident.json()["status"] == "accepted", pretty(incident)

        async def delivered() -> bool:
            return bool(webhook_receiver.received)

        await eventually(delivered, what="the school's webhook", processes=demo_council)
        message = webhook_receiver.received[0]
        payload = Webhook(secret).verify(message.body, message.headers)
        assert payload["type"] == "encompass.notification.created"
        assert message.headers["webhook-id"]
        for personal in (b"Alex", b"Example"):  # thin payloads: nothing identifying
            assert personal not in message.body
