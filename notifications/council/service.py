"""The council's configuration in this service: its published term dates (every school's
default), and the address of its duty team manager (where the front door's alerts go)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.council import repository
from notifications.council.csv_import import read_terms
from notifications.council.schemas import (
    AlertContactsIn,
    AlertContactsRead,
    CouncilTermIn,
    CouncilTermRead,
    CouncilTermsRead,
)
from notifications.exceptions import InvalidCsv, InvalidTerms
from notifications.front_door.repository import duty_manager_email
from notifications.settings import NotificationsSettings
from services import audit
from services.auth import Principal
from services.errors import FieldError

SERVICE = "notifications"


async def get_terms(session: AsyncSession, principal: Principal) -> CouncilTermsRead:
    rows = await repository.list_terms(session, principal.council_id)
    return CouncilTermsRead(
        council_id=principal.council_id,
        terms=[CouncilTermRead(name=r.name, start=r.start_date, end=r.end_date) for r in rows],
    )


async def term_ranges(session: AsyncSession, council_id: str) -> tuple[tuple[date, date], ...]:
    """The council's published terms as (first day, last day): a school's default calendar."""
    rows = await repository.list_terms(session, council_id)
    return tuple((r.start_date, r.end_date) for r in rows)


def overlapping(terms: Sequence[CouncilTermIn]) -> list[int]:
    """The positions of terms that overlap an earlier one (a day is in one term or none)."""
    ordered = sorted(enumerate(terms), key=lambda pair: pair[1].start)
    return [
        index
        for (_, before), (index, term) in itertools.pairwise(ordered)
        if term.start <= before.end
    ]


_OVERLAP = "overlaps another term"


async def put_terms(
    session: AsyncSession, principal: Principal, terms: Sequence[CouncilTermIn]
) -> CouncilTermsRead:
    """Replace the council's published term dates as a whole (nothing half-written)."""
    if bad := overlapping(terms):
        raise InvalidTerms(fields=[FieldError(path=f"terms.{i}", reason=_OVERLAP) for i in bad])
    await repository.replace_terms(session, principal.council_id, terms)
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="council.terms_replace",
        entity_type="council",
        entity_id=principal.council_id,
    )
    return await get_terms(session, principal)


async def import_terms(session: AsyncSession, principal: Principal, text: str) -> CouncilTermsRead:
    terms, errors = read_terms(text)
    if errors:
        raise InvalidCsv("Some rows of the term dates are not valid.", fields=errors)
    if not terms:  # a header and nothing else: a failed export, not "no holidays for anyone"
        raise InvalidCsv(
            "The file has no term dates.", fields=[FieldError(path="csv", reason="no rows")]
        )
    if bad := overlapping(terms):  # rows are numbered like a spreadsheet (header is row 1)
        raise InvalidTerms(fields=[FieldError(path=f"row {i + 2}", reason=_OVERLAP) for i in bad])
    return await put_terms(session, principal, terms)


async def get_contacts(
    session: AsyncSession, principal: Principal, settings: NotificationsSettings
) -> AlertContactsRead:
    own = await duty_manager_email(session, principal.council_id)
    return AlertContactsRead(
        council_id=principal.council_id,
        duty_manager_email=own or settings.duty_manager_email,
        configured=own is not None,
    )


async def put_contacts(
    session: AsyncSession,
    principal: Principal,
    settings: NotificationsSettings,
    body: AlertContactsIn,
) -> AlertContactsRead:
    await repository.put_contacts(session, principal.council_id, str(body.duty_manager_email))
    await audit.record(
        session,
        service=SERVICE,
        actor=principal,
        action="council.alert_contacts_update",
        entity_type="council",
        entity_id=principal.council_id,
    )
    return await get_contacts(session, principal, settings)
