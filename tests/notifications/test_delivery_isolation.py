"""One endpoint's broken delivery never touches another's in the same batch."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifications.delivery.dispatch import deliver_due
from notifications.delivery.transport import make_client
from notifications.intake.schemas import IncidentIn
from notifications.intake.service import IntakeContext, ingest_one
from notifications.settings import NotificationsSettings
from services.db import transaction
from services.models.notifications import Attempt, Delivery, Endpoint
from tests.notifications.conftest import Receiver, create_endpoint, create_school, incident

Maker = async_sessionmaker[AsyncSession]


def child(urn: str, name: str) -> dict[str, object]:
    return {"given_name": name, "family_name": "Testchild", "school_urn": urn}


class TestDeliveryIsolation:
    async def test_a_url_the_http_library_cannot_parse_fails_only_its_own_delivery(
        self,
        committed_db: str,
        maker: Maker,
        nsettings: NotificationsSettings,
        receiver: Receiver,
    ) -> None:
        async with transaction(maker) as session:
            broken_school = await create_school(session, urn="107301")
            good_school = await create_school(session, urn="107302")
            # Stored behind the API's back, as a row from before URLs were checked could be.
            broken = await create_endpoint(
                session, nsettings, broken_school, "http://127.0.0.1:1/h\r\nX-Injected: 1"
            )
            good = await create_endpoint(session, nsettings, good_school, receiver.url())
            broken_id, good_id = broken.id, good.id
        async with transaction(maker) as session:
            ctx = IntakeContext(
                session=session,
                settings=nsettings,
                council_id="demo",
                force_id="west-yorkshire-police",
                actor=None,
                source="batch",
            )
            data = incident(
                "WY-ISO-1", children=[child("107301", "Amira"), child("107302", "Bilal")]
            )
            await ingest_one(ctx, IncidentIn.model_validate(data))
        async with make_client(nsettings) as client:
            await deliver_due(maker, nsettings, client, max_batches=1)
        async with transaction(maker) as session:
            webhooks = {
                d.endpoint_id: d
                for d in await session.scalars(
                    select(Delivery).where(Delivery.channel == "webhook")
                )
            }
            attempts = {a.delivery_id: a for a in await session.scalars(select(Attempt))}
            endpoints = {e.id: e for e in await session.scalars(select(Endpoint))}
        assert webhooks[good_id].status == "delivered"
        assert len(receiver.received) == 1
        assert webhooks[broken_id].status != "delivered"
        assert attempts[webhooks[broken_id].id].outcome in ("refused", "failed")
        assert endpoints[good_id].consecutive_failures == 0
        assert endpoints[good_id].enabled
