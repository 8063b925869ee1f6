"""The whole MASH path with the triage worker as a separate process (issue 14's "done means").

A MARF arrives through the referral API; the real triage worker opens the contact; it is
rated amber; police and health are asked and answer (health late: its due time is moved back
by SQL, and it shows as overdue first); a strategy discussion is recorded; the decision is
signed off; the worker's `triage.handover_delivery` job sends the handover to a local
receiver, where it verifies with `standardwebhooks`; the chronology shows each step once.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from standardwebhooks.webhooks import Webhook

from services.auth import Role, mint_token
from services.db import sync_url
from services.settings import FrontdoorSettings
from tests.e2e.conftest import ApiClients, Processes, WebhookReceiver, eventually, pretty
from tests.e2e.test_walking_skeleton import (
    MANAGER,
    SOCIAL_WORKER,
    contact_in_queue,
    submit_marf,
)

pytestmark = pytest.mark.e2e

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def partner(agency: str) -> dict[str, str]:
    token = mint_token(
        FrontdoorSettings(), sub=f"e2e-{agency}", role=Role.mash_partner, agency_id=agency
    )
    return {"Authorization": f"Bearer {token}"}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, pretty(response)
    return response.json()


class TestMashPath:
    async def test_marf_to_a_delivered_handover_with_each_step_once_in_the_chronology(
        self,
        demo_council: Processes,
        apis: ApiClients,
        webhook_receiver: WebhookReceiver,
    ) -> None:
        demo_council.start(  # the intake consumer, and the handover job
            "worker",
            "triage",
            TRIAGE_HANDOVER_URL=webhook_receiver.url,
            TRIAGE_HANDOVER_SECRET=SECRET,
            TRIAGE_HANDOVER_SCAN_SECONDS="0.5",
        )
        triage = apis["triage"]

        # 1. A MARF through the referral API, opened by the triage worker.
        reference = await submit_marf(apis)
        contact = await contact_in_queue(apis, demo_council, reference)
        cid = contact["id"]

        # 2. Rated amber.
        rating = await ok(
            await triage.post(
                f"/v1/contacts/{cid}/rag",
                json={"rag": "amber", "reason": "Chronic neglect; no immediate risk."},
                headers=SOCIAL_WORKER,
            ),
            201,
        )
        assert rating["rag"] == "amber"

        # 3. Two checks: police answers in time, health late (shown overdue first).
        checks = await ok(
            await triage.post(
                f"/v1/contacts/{cid}/checks",
                json={"agencies": ["police", "health"]},
                headers=SOCIAL_WORKER,
            ),
            201,
        )
        by_agency = {c["agency_id"]: c for c in checks}
        listed = await ok(await triage.get("/v1/checks", headers=partner("police")))
        assert [c["id"] for c in listed] == [by_agency["police"]["id"]]
        await ok(
            await triage.post(
                f"/v1/checks/{by_agency['police']['id']}/response",
                json={
                    "outcome": "answered",
                    "known": True,
                    "summary": "One DA call-out in 2025.",
                    "researched_by": "DC Example",
                },
                headers=partner("police"),
            )
        )
        engine = create_engine(sync_url(demo_council.database_url))
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE mash_partner_checks SET due_at = :due WHERE id = :id"),
                {"due": datetime.now(UTC) - timedelta(minutes=30), "id": by_agency["health"]["id"]},
            )
        engine.dispose()
        overview = await ok(await triage.get(f"/v1/contacts/{cid}/mash", headers=SOCIAL_WORKER))
        assert overview["overdue_checks"] == 1
        queue = await ok(await triage.get("/v1/queue", headers=SOCIAL_WORKER))
        assert next(i for i in queue["items"] if i["id"] == cid)["overdue_checks"] == 1
        late = await ok(
            await triage.post(
                f"/v1/checks/{by_agency['health']['id']}/response",
                json={"outcome": "nothing_held", "researched_by": "HV Example"},
                headers=partner("health"),
            )
        )
        assert (late["overdue"], late["answered_late"]) == (False, True)

        # 4. A strategy discussion (joint s47: the ICPC clock starts from it).
        discussion = await ok(
            await triage.post(
                f"/v1/contacts/{cid}/strategy-discussions",
                json={
                    "held_at": datetime.now(UTC).isoformat(),
                    "formal": True,
                    "participants": [
                        {"name": "S. Worker", "role": "Social worker", "agency": "Council"},
                        {"name": "DC Example", "role": "Detective", "agency": "Police"},
                    ],
                    "information_shared": "Police DA history.",
                    "decision": "joint_agency_s47",
                    "actions": [],
                },
                headers=SOCIAL_WORKER,
            ),
            201,
        )
        assert discussion["icpc_due_at"] is not None

        # 5. The decision, signed off by a manager.
        await ok(await triage.post(f"/v1/contacts/{cid}/claim", headers=SOCIAL_WORKER))
        await ok(
            await triage.post(
                f"/v1/contacts/{cid}/decision",
                json={
                    "contact_type": "referral",
                    "outcome": "strategy_discussion",
                    "level": 4,
                    "primary_need_code": "N1",
                    "rationale": "Reasonable cause to suspect significant harm.",
                    "level_reason": "The partners' checks and the strategy discussion.",
                },
                headers=SOCIAL_WORKER,
            ),
            201,
        )
        await ok(
            await triage.post(
                f"/v1/contacts/{cid}/sign-off", json={"action": "approve"}, headers=MANAGER
            )
        )

        # 6. The worker delivers the handover; it verifies and carries nothing identifying.
        async def delivered() -> bool:
            return bool(webhook_receiver.received)

        await eventually(delivered, what="the handover webhook", processes=demo_council)
        message = webhook_receiver.received[0]
        payload = Webhook(SECRET).verify(message.body, message.headers)
        assert payload["type"] == "mash.handover.strategy_discussion"
        assert payload["data"]["contact_id"] == cid
        for identifying in (b"Sam", b"9990001006", b"BD1"):
            assert identifying not in message.body

        async def marked_delivered() -> list[Any] | None:
            state = await ok(await triage.get(f"/v1/contacts/{cid}/handovers", headers=MANAGER))
            return state if state and state[0]["status"] == "delivered" else None

        await eventually(marked_delivered, what="the delivered state", processes=demo_council)

        # 7. The chronology: each step once, in time order.
        entries = (
            await ok(await triage.get(f"/v1/contacts/{cid}/chronology", headers=SOCIAL_WORKER))
        )["entries"]
        kinds = Counter(e["kind"] for e in entries)
        assert kinds["received"] == 1
        assert kinds["rag.rated"] == 1
        assert kinds["check.requested"] == 2
        assert kinds["check.answered"] == 1
        assert kinds["check.nothing_held"] == 1
        assert kinds["strategy.discussion"] == 1
        assert kinds["decision.recorded"] == 1
        assert kinds["decision.approved"] == 1
        assert kinds["handover.delivered"] == 1
        assert max(Counter((e["kind"], e["ref_id"]) for e in entries).values()) == 1
        assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
        assert json.dumps(entries).count(discussion["id"]) == 1
