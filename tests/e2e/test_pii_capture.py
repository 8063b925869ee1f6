"""Nothing identifying leaves the product by a side door.

The whole flow runs with the workers as separate processes: a MARF about a child with
distinctive details, triage, the front door's decision (and sign-off), the referrer told; an
Operation Encompass incident about the same child, delivered to the school by signed webhook
and by email (and a sibling with no school to the EHE officer); the DSL reads the detail over
the authenticated API. Everything that is not that authenticated answer is captured - every
log line of every process (the workers' and the in-process APIs'), every metric, every webhook
body and header, every email - and none of it may contain the child's name, date of birth
(in any of the usual spellings), NHS number, UPN, address or postcode.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import structlog.testing
from prometheus_client import generate_latest

from services.auth import Role, mint_token
from services.devtools import MailSink, start_mail_sink
from services.identifiers import upn_check_letter
from services.settings import FrontdoorSettings
from tests.e2e.conftest import (
    ApiClients,
    Processes,
    WebhookReceiver,
    eventually,
    free_port,
    pretty,
)
from tests.factories import make_marf

pytestmark = pytest.mark.e2e
# A bound, never an expectation: on a loaded machine three workers take a while to start.
WAIT = 240.0

AGENCY = "west-yorkshire-police"
URN = "199902"
GIVEN, FAMILY = "Zephyrine", "Quillfeather"
SIBLING = "Ottoline"
DOB = date(2016, 5, 17)
NHS = "9434765919"  # passes the mod-11 check
UPN = upn_check_letter("201612345678") + "201612345678"
LINE1, POSTCODE = "17 Larkspur Crescent", "BD7 3QZ"
IDENTIFYING = (
    GIVEN,
    FAMILY,
    SIBLING,
    DOB.isoformat(),
    DOB.strftime("%d/%m/%Y"),
    DOB.strftime("%d %B %Y"),
    NHS,
    "943 476 5919",
    UPN,
    LINE1,
    "Larkspur",
    POSTCODE,
    POSTCODE.replace(" ", ""),
)


def bearer(
    role: Role, *, agency_id: str | None = None, school_urn: str | None = None
) -> dict[str, str]:
    token = mint_token(
        FrontdoorSettings(),
        sub=f"e2e-{role.value}",
        role=role,
        agency_id=agency_id,
        school_urn=school_urn,
    )
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def mail() -> Iterator[tuple[MailSink, int]]:
    port = free_port()
    sink, controller = start_mail_sink("127.0.0.1", port)
    yield sink, port
    controller.stop()


def the_marf() -> dict[str, Any]:
    marf = make_marf(child_voice="She said she is scared at home.")
    marf["subjects"][0].update(
        given_name=GIVEN,
        family_name=FAMILY,
        date_of_birth=DOB.isoformat(),
        nhs_number=NHS,
        upn=UPN,
        address={"line1": LINE1, "postcode": POSTCODE},
    )
    return marf


def the_incident() -> dict[str, Any]:
    return {
        "police_reference": "WYP/2026/PII-1",
        "incident_at": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
        "area": "Bradford West",
        "children": [
            {
                "given_name": GIVEN,
                "family_name": FAMILY,
                "date_of_birth": DOB.isoformat(),
                "school_urn": URN,
                "present": True,
            },
            {"given_name": SIBLING, "family_name": FAMILY, "date_of_birth": "2019-01-02"},
        ],
    }


async def referral_decided(apis: ApiClients, processes: Processes) -> None:
    referrer = bearer(Role.referrer, agency_id=AGENCY)
    worker, manager = bearer(Role.front_door_worker), bearer(Role.team_manager)
    submitted = await apis["referral_api"].post("/v1/referrals", json=the_marf(), headers=referrer)
    assert submitted.status_code == 201, pretty(submitted)
    reference = submitted.json()["reference"]
    triage = apis["triage"]

    async def queued() -> str | None:
        page = (await triage.get("/v1/queue", headers=worker)).json()
        for item in page["items"]:
            contact = (await triage.get(f"/v1/contacts/{item['id']}", headers=worker)).json()
            if contact.get("referral_reference") == reference:
                return str(item["id"])
        return None

    contact_id = await eventually(queued, what="the contact", processes=processes, timeout=WAIT)
    assert (await triage.post(f"/v1/contacts/{contact_id}/claim", headers=worker)).is_success
    decision = await triage.post(
        f"/v1/contacts/{contact_id}/decision",
        headers=worker,
        json={
            "contact_type": "referral",
            "outcome": "s17_assessment",
            "level": 3,
            "primary_need_code": "N1",
            "rationale": "Indicators of neglect; assessment needed.",
            "next_steps": "A social worker will visit within five working days.",
        },
    )
    assert decision.status_code == 201, pretty(decision)
    status = (await triage.get(f"/v1/contacts/{contact_id}", headers=worker)).json()["status"]
    if status == "awaiting_sign_off":
        signed = await triage.post(
            f"/v1/contacts/{contact_id}/sign-off", headers=manager, json={"action": "approve"}
        )
        assert signed.status_code == 200, pretty(signed)

    async def decided() -> bool | None:
        got = await apis["referral_api"].get(f"/v1/referrals/{reference}", headers=referrer)
        return True if got.json()["status"] == "decided" else None

    await eventually(decided, what="the referrer told", processes=processes, timeout=WAIT)


async def alert_delivered(
    apis: ApiClients, processes: Processes, receiver: WebhookReceiver, sink: MailSink
) -> None:
    admin = bearer(Role.admin)
    notifications = apis["notifications"]
    school = await notifications.post(
        "/v1/schools",
        headers=admin,
        json={
            "urn": URN,
            "name": "Larkhill Primary School",
            "dsl_email": "dsl@larkhill.sch.uk",
            "delivery_preference": "both",
        },
    )
    assert school.status_code == 201, pretty(school)
    endpoint = await notifications.post(
        f"/v1/schools/{URN}/endpoints", headers=admin, json={"url": receiver.url}
    )
    assert endpoint.status_code == 201, pretty(endpoint)
    incident = await notifications.post(
        "/v1/encompass/incidents",
        headers=bearer(Role.police_feed, agency_id=AGENCY),
        json=the_incident(),
    )
    assert incident.status_code == 200, pretty(incident)
    notification_id = incident.json()["children"][0]["notification_id"]

    async def sent() -> bool | None:
        recipients = {r for m in sink.messages for r in m.recipients}
        done = receiver.received and {"dsl@larkhill.sch.uk"} <= recipients and len(recipients) > 1
        return True if done else None

    await eventually(sent, what="the webhook and both emails", processes=processes, timeout=WAIT)
    dsl = bearer(Role.school_dsl, school_urn=URN)
    detail = await notifications.get(f"/v1/notifications/{notification_id}", headers=dsl)
    assert detail.status_code == 200, pretty(detail)
    assert detail.json()["child"]["given_name"] == GIVEN  # the authenticated door does show it


def leaks(text: str) -> list[str]:
    return [value for value in IDENTIFYING if value.lower() in text.lower()]


class TestNothingIdentifyingLeaves:
    async def test_logs_metrics_webhooks_and_emails_carry_no_childs_details(
        self,
        demo_council: Processes,
        apis: ApiClients,
        webhook_receiver: WebhookReceiver,
        mail: tuple[MailSink, int],
    ) -> None:
        sink, port = mail
        for service in ("triage", "referral_api"):
            demo_council.worker(service)
        demo_council.start("worker", "notifications", NOTIFICATIONS_SMTP_PORT=str(port))

        async def all_started() -> bool | None:
            logs = [p.log_path.read_text() for p in demo_council.running]
            return True if all("worker_started" in log for log in logs) else None

        await eventually(all_started, what="the workers", processes=demo_council, timeout=WAIT)

        # The in-process APIs' log events, every field of every one (as rendered or not).
        with structlog.testing.capture_logs() as events:
            await referral_decided(apis, demo_council)
            await alert_delivered(apis, demo_council, webhook_receiver, sink)

        sources = {
            "in-process logs": "\n".join(repr(e) for e in events),
            "worker logs": "\n".join(p.log_path.read_text() for p in demo_council.running),
            "metrics": generate_latest().decode()
            + "".join([(await c.get("/metrics")).text for c in apis.values()]),
            "webhooks": "\n".join(
                json.dumps(r.headers) + r.body.decode() for r in webhook_receiver.received
            ),
            "emails": "\n".join(f"{m.subject}\n{m.recipients}\n{m.body}" for m in sink.messages),
        }
        assert all(sources.values()), {k: len(v) for k, v in sources.items()}
        found = {name: leaks(text) for name, text in sources.items()}
        assert found == {name: [] for name in sources}
        # The capture is real: the test's own identifiers are where they should be.
        assert leaks(json.dumps(the_marf()))
