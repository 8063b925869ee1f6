"""The demo council's referral_api data: one referral from the demo police referrer.

Idempotent: the referral is submitted only when the demo has none yet. It goes through the real
intake (validation, audit, `referral.received`), so the triage worker queues it like any other.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from referral_api.service import submit_referral
from referral_api.settings import get_referral_settings
from services.auth import Principal, Role
from services.db import driver_connection
from services.models.referral import Referral
from services.settings import FrontdoorSettings

DEMO_SUB = "demo-seed"
DEMO_AGENCY = "west-yorkshire-police"  # the demo referrer token's agency (services.cli)


def demo_marf(today: date, now: datetime) -> dict[str, Any]:
    """A police written follow-up of this morning's phone call about two siblings."""
    child = {"kind": "child", "family_name": "Demo", "education_status": "on_roll"}
    address = {"line1": "1 Demo Street", "town": "Bradford", "postcode": "BD1 1HY"}
    return {
        "request_type": "safety_and_wellbeing",
        "follow_up_to_phone_call": {"call_at": (now - timedelta(hours=2)).isoformat()},
        "immediate_risk": False,
        "subjects": [
            {
                **child,
                "given_name": "Alex",
                "date_of_birth": f"{today.year - 9}-03-14",
                "gender": "1",
                "nhs_number": "9990001006",
                "address": address,
            },
            {
                **child,
                "given_name": "Bea",
                "date_of_birth": f"{today.year - 6}-07-02",
                "gender": "2",
                "address": address,
            },
        ],
        "concerns": [
            {
                "category": "domestic_abuse",
                "description": "Police attended a domestic incident overnight; both children "
                "were in the house and Alex called 999.",
                "source": "attending officers",
            }
        ],
        "child_voice": "Alex said he hid with his sister in the bedroom.",
        "consent": {"state": "given", "recorded_by": "PC Demo", "recorded_at": now.isoformat()},
        "referrer": {
            "name": "PC Demo",
            "role": "Response officer",
            "phone": "01274 000000",
            "referral_source": "6",
        },
        "referrer_view_of_level": 3,
    }


async def seed(session: AsyncSession, settings: FrontdoorSettings) -> None:
    """Submit the demo referral once."""
    existing = await session.scalar(
        select(Referral.id).where(Referral.submitted_by == DEMO_SUB).limit(1)
    )
    if existing is not None:
        return
    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    principal = Principal(
        sub=DEMO_SUB, role=Role.referrer, agency_id=DEMO_AGENCY, council_id=settings.council_id
    )
    await submit_referral(
        await driver_connection(session),  # inside the seeding transaction
        principal=principal,
        body=demo_marf(today, now),
        idempotency_key=None,
        settings=get_referral_settings(),
        now=now,
    )
