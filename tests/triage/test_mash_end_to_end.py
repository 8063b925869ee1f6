"""The whole MASH path through the APIs (the issue's "done means").

A MARF arrives through the referral API, is rated amber, two partner checks are requested
and answered (one late, shown as overdue first), a strategy discussion is recorded, the
decision is signed off, the handover webhook is delivered to a real local receiver and
verified with `standardwebhooks`, and the chronology shows each step once.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks import Webhook

from referral_api.main import create_app as create_referral_app
from services.models.mash import MashHandover, MashPartnerCheck
from services.models.platform import OutboxEvent
from services.models.triage import TriageContact
from services.webhooks.transport import make_client
from tests.conftest import ClientFactory, TokenFactory
from tests.factories import make_marf
from tests.triage.mash_support import Headers, audit_actions, running_receiver
from triage.handover.handlers import handle_contact_decided
from triage.handover.jobs import deliver_due
from triage.intake.handlers import handle_referral_received
from triage.settings import TriageSettings

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AGENCY = "bradford-school"


@pytest.fixture
async def referrals(
    client_for: ClientFactory, seeded: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    app: FastAPI = create_referral_app()
    async with client_for(app) as c:
        yield c


async def last_event(session: AsyncSession, topic: str) -> OutboxEvent:
    event = await session.scalar(
        select(OutboxEvent)
        .where(OutboxEvent.topic == topic)
        .order_by(OutboxEvent.created_at.desc())
        .limit(1)
    )
    assert event is not None
    return event


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


class TestMashPath:
    async def test_marf_to_handover_with_every_step_in_the_chronology(
        self,
        client: httpx.AsyncClient,
        referrals: httpx.AsyncClient,
        session: AsyncSession,
        worker: Headers,
        manager: Headers,
        auth: TokenFactory,
    ) -> None:
        # 1. A MARF arrives through the referral API; the triage worker's handler opens it.
        referrer = auth("referrer", agency_id=AGENCY)
        await ok(await referrals.post("/v1/referrals", json=make_marf(), headers=referrer), 201)
        received = await last_event(session, "referral.received")
        await handle_referral_received(session, received)
        referral_id = uuid.UUID(received.payload["referral_id"])
        contact = await session.scalar(
            select(TriageContact).where(TriageContact.referral_id == referral_id)
        )
        assert contact is not None
        cid = str(contact.id)

        # 2. Screened amber.
        rating = await ok(
            await client.post(
                f"/v1/contacts/{cid}/rag",
                json={"rag": "amber", "reason": "Chronic neglect pattern; no immediate risk"},
                headers=worker,
            ),
            201,
        )
        assert rating["rag"] == "amber"

        # 3. Two partner checks; police answers in time, health late (overdue first).
        checks = await ok(
            await client.post(
                f"/v1/contacts/{cid}/checks",
                json={"agencies": ["police", "health"]},
                headers=worker,
            ),
            201,
        )
        by_agency = {c["agency_id"]: c for c in checks}
        police = auth("mash_partner", sub="pc-1", agency_id="police")
        health = auth("mash_partner", sub="hv-1", agency_id="health")
        await ok(
            await client.post(
                f"/v1/checks/{by_agency['police']['id']}/response",
                json={
                    "outcome": "answered",
                    "known": True,
                    "summary": "One DA call-out in 2025.",
                    "risk_indicators": ["domestic_abuse"],
                    "latest_involvement_on": "2025-06-01",
                    "researched_by": "DC Example",
                },
                headers=police,
            )
        )
        await session.execute(
            update(MashPartnerCheck)
            .where(MashPartnerCheck.id == uuid.UUID(by_agency["health"]["id"]))
            .values(due_at=datetime.now(UTC) - timedelta(minutes=30))
        )
        overview = await ok(await client.get(f"/v1/contacts/{cid}/mash", headers=worker))
        assert overview["overdue_checks"] == 1
        assert {c["agency_id"]: c["overdue"] for c in overview["checks"]} == {
            "police": False,
            "health": True,
        }
        queue = await ok(await client.get("/v1/queue", headers=worker))
        assert next(i for i in queue["items"] if i["id"] == cid)["overdue_checks"] == 1
        late = await ok(
            await client.post(
                f"/v1/checks/{by_agency['health']['id']}/response",
                json={
                    "outcome": "answered",
                    "known": True,
                    "summary": "Missed health visits.",
                    "researched_by": "HV Example",
                },
                headers=health,
            )
        )
        assert (late["overdue"], late["answered_late"]) == (False, True)

        # 4. A strategy discussion.
        held = datetime.now(UTC).isoformat()
        discussion = await ok(
            await client.post(
                f"/v1/contacts/{cid}/strategy-discussions",
                json={
                    "held_at": held,
                    "formal": True,
                    "participants": [
                        {"name": "S. Worker", "role": "Social worker", "agency": "Council"},
                        {"name": "DC Example", "role": "Detective", "agency": "Police"},
                        {"name": "HV Example", "role": "Health visitor", "agency": "Health"},
                    ],
                    "information_shared": "Police DA history; missed health visits.",
                    "decision": "joint_agency_s47",
                    "actions": [
                        {
                            "description": "Joint visit",
                            "owner": "DC Example",
                            "due_on": (datetime.now(UTC) + timedelta(days=2)).date().isoformat(),
                        }
                    ],
                },
                headers=worker,
            ),
            201,
        )

        # 5. The decision, signed off by a manager.
        await ok(await client.post(f"/v1/contacts/{cid}/claim", headers=worker))
        await ok(
            await client.post(
                f"/v1/contacts/{cid}/decision",
                json={
                    "contact_type": "referral",
                    "outcome": "strategy_discussion",
                    "level": 4,
                    "primary_need_code": "N1",
                    "rationale": "Reasonable cause to suspect significant harm.",
                    # Above the rules' proposal: the reason is recorded (the raised-level rule).
                    "level_reason": "The partners' checks and the strategy discussion.",
                },
                headers=worker,
            ),
            201,
        )
        await ok(
            await client.post(
                f"/v1/contacts/{cid}/sign-off", json={"action": "approve"}, headers=manager
            )
        )

        # 6. The handover: created once from the decision event (even if delivered twice),
        #    refused once by the receiver, then delivered and verified.
        decided = await last_event(session, "contact.decided")
        await handle_contact_decided(session, decided)
        await handle_contact_decided(session, decided)
        count = await session.scalar(
            select(func.count()).where(MashHandover.contact_id == contact.id)
        )
        assert count == 1
        settings = TriageSettings(
            handover_secret=SECRET,
            handover_retry_schedule=(0, 0, 0),
        )
        with running_receiver() as receiver:
            settings = settings.model_copy(update={"handover_url": receiver.url})
            receiver.script.append((503, {}))
            async with make_client(5.0) as http:
                await deliver_due(session, settings, http, now=datetime.now(UTC))
                await deliver_due(
                    session, settings, http, now=datetime.now(UTC) + timedelta(seconds=1)
                )
        assert len(receiver.received) == 2
        first, second = receiver.received
        assert first.headers["webhook-id"] == second.headers["webhook-id"]  # same across retries
        payload = Webhook(SECRET).verify(second.body, second.headers)
        assert payload["type"] == "mash.handover.strategy_discussion"
        assert set(payload["data"]) == {
            "handover_id",
            "contact_id",
            "contact_reference",
            "handover_type",
            "outcome",
            "link",
        }
        text = second.body.decode()
        for identifying in ("Sam", "Example", "9990001006", "BD1"):
            assert identifying not in text
        state = await ok(await client.get(f"/v1/contacts/{cid}/handovers", headers=worker))
        assert state[0]["status"] == "delivered"
        assert [a["status_code"] for a in state[0]["attempt_log"]] == [503, 200]

        # 7. The case system reads the full record (audited); others cannot.
        link = payload["data"]["link"]
        path = "/v1/handovers/" + link.rsplit("/", 1)[1]
        case_system = auth("case_system", sub="mosaic")
        record = await ok(await client.get(path, headers=case_system))
        assert record["contact_reference"] == contact.reference
        assert record["decision"]["signed_off_by"] == "manager-1"
        assert {c["agency_id"] for c in record["checks"]} == {"police", "health"}
        assert record["strategy_discussions"][0]["id"] == discussion["id"]
        assert record["record"]["marf"]["subjects"][0]["given_name"] == "Sam"
        assert "handover.read" in await audit_actions(session, contact.id)
        assert (await client.get(path, headers=worker)).status_code == 403

        # 8. The chronology: each step once, in time order.
        entries = (await ok(await client.get(f"/v1/contacts/{cid}/chronology", headers=worker)))[
            "entries"
        ]
        kinds = Counter(e["kind"] for e in entries)
        assert kinds["received"] == 1
        assert kinds["rag.rated"] == 1
        assert kinds["check.requested"] == 2
        assert kinds["check.answered"] == 2
        assert kinds["strategy.discussion"] == 1
        assert kinds["decision.recorded"] == 1
        assert kinds["decision.approved"] == 1
        assert kinds["handover.delivered"] == 1
        assert kinds["clock.met"] >= 3  # the decision's clocks and the MASH clock
        assert max(Counter((e["kind"], e["ref_id"]) for e in entries).values()) == 1
        times = [e["at"] for e in entries]
        assert times == sorted(times)
        late_entry = next(e for e in entries if e["summary"].startswith("health: answered"))
        assert late_entry["summary"].endswith("(late)")
        assert json.dumps(entries).count(discussion["id"]) == 1
