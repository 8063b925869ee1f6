"""The demo seed: idempotent, with URN 107301 on the bundled receiver."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery.secretbox import decrypt
from notifications.demo import DEMO_FORCE, seed
from notifications.settings import get_notifications_settings
from services.devtools import DEMO_WEBHOOK_SECRET
from services.models.notifications import Endpoint, ForceSharing, School
from services.settings import get_settings


class TestDemoSeed:
    async def test_seeding_twice_changes_nothing(self, session: AsyncSession) -> None:
        await seed(session, get_settings())
        counts = [
            await session.scalar(select(func.count()).select_from(m))
            for m in (School, Endpoint, ForceSharing)
        ]
        await seed(session, get_settings())
        again = [
            await session.scalar(select(func.count()).select_from(m))
            for m in (School, Endpoint, ForceSharing)
        ]
        assert counts == again
        assert counts[0] == 5

    async def test_the_demo_dsl_school_posts_to_the_local_receiver(
        self, session: AsyncSession
    ) -> None:
        await seed(session, get_settings())
        endpoint = (
            await session.scalars(select(Endpoint).where(Endpoint.school_urn == "107301"))
        ).one()
        assert endpoint.url.startswith("http://127.0.0.1:")
        key = get_notifications_settings().encryption_key
        assert decrypt(key, endpoint.secret_encrypted) == DEMO_WEBHOOK_SECRET
        assert await session.get(ForceSharing, ("demo", DEMO_FORCE)) is not None
