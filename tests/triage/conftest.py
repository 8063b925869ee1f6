"""Fixtures and factories for the triage tests."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.events.contracts import ReferralReceived
from services.models.platform import OutboxEvent
from services.models.triage import TriageContact
from services.settings import get_settings
from tests.conftest import ClientFactory, TokenFactory
from tests.factories import make_marf
from triage import demo
from triage.intake.handlers import handle_referral_received
from triage.main import create_app

LONDON = ZoneInfo("Europe/London")
AGENCY = "bradford-school"


def referral_event(
    marf: dict[str, Any] | None = None,
    *,
    received_at: datetime | None = None,
    phone_reference: str | None = None,
    referral_id: uuid.UUID | None = None,
) -> OutboxEvent:
    received = received_at or datetime.now(UTC) - timedelta(minutes=5)
    payload = ReferralReceived(
        referral_id=referral_id or uuid.uuid4(),
        reference=f"MARF-{uuid.uuid4().hex[:8].upper()}",
        council_id="demo",
        agency_id=AGENCY,
        received_at=received,
        submitted_at=received + timedelta(minutes=1),
        follow_up_to_phone_call=phone_reference is not None,
        phone_call_at=received if phone_reference else None,
        phone_contact_reference=phone_reference,
        child_voice_missing=False,
        marf=marf or make_marf(),
    )
    return OutboxEvent(
        id=uuid.uuid4(),
        topic="referral.received",
        version=1,
        producer="referral_api",
        payload=payload.model_dump(mode="json"),
    )


async def intake(session: AsyncSession, event: OutboxEvent) -> TriageContact:
    await handle_referral_received(session, event)
    referral_id = uuid.UUID(event.payload["referral_id"])
    contact = await session.scalar(
        select(TriageContact).where(TriageContact.referral_id == referral_id)
    )
    assert contact is not None
    return contact


def phone_contact(**overrides: Any) -> dict[str, Any]:
    """A professional's phone referral recorded at the front door."""
    marf = make_marf()
    body: dict[str, Any] = {
        "channel": "phone",
        "kind": "concern",
        "from_professional": True,
        "referral_source": "3B",
        "referrer": {"name": "H. Visitor", "phone": "01274 000000"},
        "subjects": marf["subjects"],
        "concerns": marf["concerns"],
        "summary": "Health visitor rang about the home conditions.",
    }
    body.update(overrides)
    return body


def dv_notification(risk: str = "standard", **overrides: Any) -> dict[str, Any]:
    marf = make_marf()
    subject = {**marf["subjects"][0], "school_urn": "107301", "education_status": "on_roll"}
    body: dict[str, Any] = {
        "channel": "police_feed",
        "kind": "dv_notification",
        "from_professional": True,
        "referral_source": "6",
        "subjects": [subject],
        "concerns": [
            {"category": "domestic_abuse", "description": "Police attended a DA incident."}
        ],
        "summary": "Overnight DA incident, children present.",
        "dv": {
            "dash_risk_level": risk,
            "police_reference": f"WYP-{uuid.uuid4().hex[:6]}",
            "force_id": "west-yorkshire-police",
            "incident_at": (datetime.now(UTC) - timedelta(hours=6)).isoformat(),
            "adult_roles": ["victim", "suspect"],
        },
    }
    body.update(overrides)
    return body


async def outbox(session: AsyncSession, topic: str) -> list[dict[str, Any]]:
    rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.topic == topic))
    return [r.payload for r in rows.all()]


@pytest.fixture
async def seeded(session: AsyncSession) -> AsyncSession:
    """The demo council (calendar, settings, published Bradford rule set) in the test's txn."""
    await demo.seed(session, get_settings())
    return session


@pytest.fixture(scope="session")
def app() -> FastAPI:
    return create_app()


@pytest.fixture
async def client(
    client_for: ClientFactory, app: FastAPI, seeded: AsyncSession
) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as c:
        yield c


@pytest.fixture
def worker(auth: TokenFactory) -> dict[str, str]:
    return auth("front_door_worker", sub="worker-1")


@pytest.fixture
def worker2(auth: TokenFactory) -> dict[str, str]:
    return auth("front_door_worker", sub="worker-2")


@pytest.fixture
def manager(auth: TokenFactory) -> dict[str, str]:
    return auth("team_manager", sub="manager-1")


@pytest.fixture
def screener(auth: TokenFactory) -> dict[str, str]:
    return auth("dv_screener", sub="police-1", agency_id="west-yorkshire-police")
