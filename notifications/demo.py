"""The demo council's notifications data (idempotent): Bradford-like schools with DSL emails
and a webhook endpoint on the bundled local receiver, the demo police force's sharing, and the
council's published term dates (the demo schools have none of their own, so they follow it).
"""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.delivery.secretbox import encrypt
from notifications.settings import NotificationsSettings, get_notifications_settings
from services.devtools import DEMO_WEBHOOK_SECRET, RECEIVER_HOST, RECEIVER_PORT
from services.models.notifications import Endpoint, ForceSharing, School
from services.models.notifications_extra import CouncilTerm
from services.settings import FrontdoorSettings

DEMO_FORCE = "west-yorkshire-police"

# (URN, name, phase, postcode, day start, preference). 107301 is the demo DSL token's school.
DEMO_SCHOOLS = (
    ("107301", "Low Moor Church of England Primary School", "Primary", "BD12 0NN", "08:45", "both"),
    ("107302", "Horton Park Primary School", "Primary", "BD5 0LG", "08:40", "webhook"),
    ("107303", "Fagley Primary School", "Primary", "BD2 3JL", "08:50", "both"),
    ("107400", "Tong Leadership Academy", "Secondary", "BD4 6NR", "08:30", "both"),
    ("107401", "Beckfoot Upper Heaton", "Secondary", "BD9 6AL", "08:35", "email"),
)


# An illustrative council calendar in the shape councils publish (terms split at half term),
# 2025-26 to 2026-27. The demo's own data: check a real council's published dates.
DEMO_TERMS = (
    ("Autumn 1 2025", "2025-09-03", "2025-10-24"),
    ("Autumn 2 2025", "2025-11-03", "2025-12-19"),
    ("Spring 1 2026", "2026-01-05", "2026-02-13"),
    ("Spring 2 2026", "2026-02-23", "2026-03-27"),
    ("Summer 1 2026", "2026-04-13", "2026-05-22"),
    ("Summer 2 2026", "2026-06-01", "2026-07-22"),
    ("Autumn 1 2026", "2026-09-02", "2026-10-23"),
    ("Autumn 2 2026", "2026-11-02", "2026-12-18"),
    ("Spring 1 2027", "2027-01-04", "2027-02-12"),
    ("Spring 2 2027", "2027-02-22", "2027-03-26"),
    ("Summer 1 2027", "2027-04-12", "2027-05-28"),
    ("Summer 2 2027", "2027-06-07", "2027-07-21"),
)


async def _council_terms(session: AsyncSession, council_id: str) -> None:
    """The demo calendar, unless the council already has one (an admin's dates win)."""
    found = await session.scalar(select(CouncilTerm.id).where(CouncilTerm.council_id == council_id))
    if found is not None:
        return
    session.add_all(
        CouncilTerm(
            council_id=council_id,
            name=name,
            start_date=date.fromisoformat(start),
            end_date=date.fromisoformat(end),
        )
        for name, start, end in DEMO_TERMS
    )


def _receiver_url(urn: str) -> str:
    return f"http://{RECEIVER_HOST}:{RECEIVER_PORT}/hooks/{urn}"


async def _school(session: AsyncSession, council_id: str, row: tuple[str, ...]) -> School:
    urn, name, phase, postcode, start, preference = row
    school = await session.get(School, urn)
    if school is not None:
        return school
    slug = urn
    school = School(
        urn=urn,
        council_id=council_id,
        name=name,
        phase=phase,
        postcode=postcode,
        school_day_start=time.fromisoformat(start),
        terms=[],
        closure_days=[],
        dsl_email=f"dsl.{slug}@schools.bradford.example",
        deputy_email=f"deputy.dsl.{slug}@schools.bradford.example",
        delivery_preference=preference,
    )
    session.add(school)
    return school


async def _endpoint(session: AsyncSession, settings: NotificationsSettings, urn: str) -> None:
    url = _receiver_url(urn)
    found = await session.scalar(
        select(Endpoint.id).where(Endpoint.school_urn == urn, Endpoint.url == url)
    )
    if found is not None:
        return
    session.add(
        Endpoint(
            school_urn=urn,
            url=url,
            event_types=["encompass.notification.created", "encompass.ping"],
            description="Demo school receiver (bundled with frontdoor run)",
            enabled=True,
            consecutive_failures=0,
            secret_encrypted=encrypt(settings.encryption_key, DEMO_WEBHOOK_SECRET),
        )
    )


async def seed(session: AsyncSession, settings: FrontdoorSettings) -> None:
    """Schools, endpoints on the local receiver, the demo force's sharing configuration and
    the council's term dates."""
    notif_settings = get_notifications_settings()
    await _council_terms(session, settings.council_id)
    for row in DEMO_SCHOOLS:
        school = await _school(session, settings.council_id, row)
        await session.flush()
        if school.delivery_preference != "email":
            await _endpoint(session, notif_settings, school.urn)
    if await session.get(ForceSharing, (settings.council_id, DEMO_FORCE)) is None:
        session.add(
            ForceSharing(
                council_id=settings.council_id,
                force_id=DEMO_FORCE,
                share_name=True,
                share_date_of_birth=True,
                share_present=True,
                share_spoken_to=True,
                share_child_voice=True,
                share_circumstances=False,
            )
        )
    await session.flush()
