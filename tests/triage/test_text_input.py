"""Control characters in the triage API's text (NUL above all) are a 422, never a 500.

PostgreSQL text and JSONB cannot hold NUL: unchecked, it fails in the database. The new
fields of issue 13 (a phone contact's agency, who decided without consent, a child's line,
a screening resolution, a follow-up claim's note) are checked like the MARF's text.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.triage import TriageContact, TriageDecision, TriageScreening
from tests.triage.conftest import dv_notification, phone_contact
from tests.triage.test_contacts_api import (
    WITHOUT_CONSENT_AT_4,
    Headers,
    claimed,
    create,
    decision,
    view,
)
from tests.triage.test_intake import claim_contact, follow_up, phone_call

NUL = "before\x00after"


def refused(response: httpx.Response, path: str) -> None:
    assert response.status_code == 422, response.text
    assert path in [f["path"] for f in response.json()["fields"]], response.text


async def test_a_phone_contacts_agency_with_a_nul_is_refused(
    client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
) -> None:
    before = await seeded.scalar(select(func.count()).select_from(TriageContact))
    response = await client.post("/v1/contacts", json=phone_contact(agency_id=NUL), headers=worker)
    refused(response, "agency_id")
    assert await seeded.scalar(select(func.count()).select_from(TriageContact)) == before


async def test_a_decisions_new_text_with_a_nul_is_refused(
    client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
) -> None:
    contact_id = await claimed(client, worker)
    url = f"/v1/contacts/{contact_id}/decision"
    at_4 = decision(level=4, outcome="s47_enquiry", **WITHOUT_CONSENT_AT_4)
    bodies: list[tuple[dict[str, Any], str]] = [
        ({**at_4, "consent_decided_by": NUL}, "consent_decided_by"),
        ({**at_4, "level_reason": NUL}, "level_reason"),
        (
            decision(
                level=3,
                outcome="advice_given",
                consent_state="given",
                children=[{"position": 0, "outcome": "nfa", "nfa_reason": NUL}],
            ),
            "children.0.nfa_reason",
        ),
    ]
    for body, path in bodies:
        refused(await client.post(url, json=body, headers=worker), path)
    count = select(func.count()).select_from(TriageDecision)
    assert await seeded.scalar(count.where(TriageDecision.contact_id == uuid.UUID(contact_id))) == 0


async def test_a_screening_resolution_with_a_nul_is_refused(
    client: httpx.AsyncClient,
    worker: Headers,
    screener: Headers,
    manager: Headers,
    seeded: AsyncSession,
) -> None:
    contact = await create(client, worker, dv_notification())
    url = f"/v1/contacts/{contact['id']}/screening"
    assert (await client.post(url, json=view("mash"), headers=screener)).status_code == 201
    assert (await client.post(url, json=view("advice"), headers=worker)).status_code == 201
    body = {"route_to": "mash", "rationale": NUL}
    refused(await client.post(f"{url}/resolution", json=body, headers=manager), "rationale")
    rows = select(func.count()).select_from(TriageScreening)
    rows = rows.where(TriageScreening.contact_id == uuid.UUID(contact["id"]))
    assert await seeded.scalar(rows) == 2


async def test_a_follow_up_claims_note_with_a_nul_is_refused(
    client: httpx.AsyncClient, worker: Headers, seeded: AsyncSession
) -> None:
    call = datetime.now(UTC) - timedelta(hours=3)
    phone = await phone_call(client, worker, call)
    own = await claim_contact(seeded, await follow_up(seeded, phone, call, agency_id="leeds-gp"))
    body = {"action": "separate", "note": NUL}
    response = await client.post(
        f"/v1/contacts/{own.id}/follow-up-claim", json=body, headers=worker
    )
    refused(response, "note")
    await seeded.refresh(own)
    assert own.follow_up_claim is not None
    assert "resolution" not in own.follow_up_claim
