"""SQL of the chronology: every record of a contact's history, one query per table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models.mash import (
    MashCaseNote,
    MashHandover,
    MashPartnerCheck,
    MashRagRating,
    MashStrategyDiscussion,
)
from services.models.triage import TriageAddendum, TriageClock, TriageDecision, TriageScreening


@dataclass
class History:
    ratings: Sequence[MashRagRating]
    checks: Sequence[MashPartnerCheck]
    notes: Sequence[MashCaseNote]
    discussions: Sequence[MashStrategyDiscussion]
    decisions: Sequence[TriageDecision]
    clocks: Sequence[TriageClock]
    addenda: Sequence[TriageAddendum]
    screenings: Sequence[TriageScreening]
    handovers: Sequence[MashHandover]


async def history(session: AsyncSession, contact_id: uuid.UUID) -> History:
    c = contact_id
    return History(
        ratings=(
            await session.scalars(select(MashRagRating).where(MashRagRating.contact_id == c))
        ).all(),
        checks=(
            await session.scalars(select(MashPartnerCheck).where(MashPartnerCheck.contact_id == c))
        ).all(),
        notes=(
            await session.scalars(select(MashCaseNote).where(MashCaseNote.contact_id == c))
        ).all(),
        discussions=(
            await session.scalars(
                select(MashStrategyDiscussion).where(MashStrategyDiscussion.contact_id == c)
            )
        ).all(),
        decisions=(
            await session.scalars(select(TriageDecision).where(TriageDecision.contact_id == c))
        ).all(),
        clocks=(
            await session.scalars(select(TriageClock).where(TriageClock.contact_id == c))
        ).all(),
        addenda=(
            await session.scalars(select(TriageAddendum).where(TriageAddendum.contact_id == c))
        ).all(),
        screenings=(
            await session.scalars(select(TriageScreening).where(TriageScreening.contact_id == c))
        ).all(),
        handovers=(
            await session.scalars(select(MashHandover).where(MashHandover.contact_id == c))
        ).all(),
    )
