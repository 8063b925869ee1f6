"""The intake's event consumers (wired in `triage.worker`): parse the event, call the service."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.events.contracts import ReferralAddendumAdded, ReferralReceived
from services.models.platform import OutboxEvent
from triage.intake import service


async def handle_referral_received(session: AsyncSession, event: OutboxEvent) -> None:
    """`referral.received` -> one contact per referral (a replay finds it and stops)."""
    await service.receive_referral(session, ReferralReceived.model_validate(event.payload))


async def handle_addendum_added(session: AsyncSession, event: OutboxEvent) -> None:
    """`referral.addendum_added` -> the addendum on the referral's contact, once."""
    await service.add_addendum(session, ReferralAddendumAdded.model_validate(event.payload))
