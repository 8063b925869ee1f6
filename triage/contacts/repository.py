"""The contacts feature's SQL: loading a contact (locked for a change when asked), the
rows its read lists, and the restricted-child rule.

Restricted children: a child restricted to named people hides its contacts from everyone
else. One rule, read in two shapes: `restricted_from` for one contact (the contact loaders),
and `visible_to_caller` for a page of them (the queue's SQL, a NOT EXISTS on the contact's
child links that finds nothing for the great majority of contacts, whose children are not
restricted)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    exists,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from services.auth import Principal
from services.models.mash import MashChild, MashChildAccess, MashChildLink
from services.models.platform import AuditEntry
from services.models.triage import (
    CONTACT_REFERENCE_SEQ,
    TriageAddendum,
    TriageClock,
    TriageContact,
    TriageDecision,
    TriageRuleSet,
    TriageScreening,
    TriageSubject,
)

# The rows a contact read lists, each by contact id.
R = TypeVar("R", TriageClock, TriageAddendum, TriageDecision, TriageScreening, TriageSubject)
# The audit action recording a clock met by hand ("clock.met.assessment", ...).
MET_ACTION = "clock.met."


async def get_contact(
    session: AsyncSession, *, council_id: str, contact_id: uuid.UUID, lock: bool = False
) -> TriageContact | None:
    stmt = select(TriageContact).where(
        TriageContact.id == contact_id, TriageContact.council_id == council_id
    )
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt)).one_or_none()


async def clock_met_by(session: AsyncSession, contact_id: uuid.UUID) -> dict[str, str]:
    """kind -> who recorded it met (assessment authorised, ICPC held), from the audit rows."""
    stmt = select(AuditEntry.action, AuditEntry.actor_sub).where(
        AuditEntry.entity_type == "contact",
        AuditEntry.entity_id == str(contact_id),
        AuditEntry.action.startswith(MET_ACTION),
    )
    return {a.removeprefix(MET_ACTION): sub for a, sub in (await session.execute(stmt)).all()}


async def rows_of(
    session: AsyncSession, model: type[R], contact_id: uuid.UUID, order: QueryableAttribute[Any]
) -> list[R]:
    """A contact's rows of one kind (clocks, addenda, decisions, ...) in the given order."""
    stmt = select(model).where(model.contact_id == contact_id).order_by(order)
    return list((await session.scalars(stmt)).all())


async def take_lease(
    session: AsyncSession, contact_id: uuid.UUID, holder: str, *, now: datetime, until: datetime
) -> bool:
    """One atomic conditional update: the lease is taken when free, expired or already the
    holder's; False when someone else holds it."""
    result = await session.execute(
        update(TriageContact)
        .where(
            TriageContact.id == contact_id,
            or_(
                TriageContact.lease_holder.is_(None),
                TriageContact.lease_holder == holder,
                TriageContact.lease_expires_at <= now,
            ),
        )
        .values(lease_holder=holder, lease_expires_at=until)
        .returning(TriageContact.id)
        .execution_options(synchronize_session=False)
    )
    return result.first() is not None


async def rule_set_of(session: AsyncSession, contact: TriageContact) -> TriageRuleSet | None:
    """The rule-set version the contact was evaluated with."""
    return await session.get(TriageRuleSet, contact.rule_set_id)


async def add(session: AsyncSession, row: TriageDecision) -> None:
    session.add(row)


async def pending_decision(session: AsyncSession, contact_id: uuid.UUID) -> TriageDecision | None:
    """The contact's latest decision awaiting sign-off, if any."""
    return await session.scalar(
        select(TriageDecision)
        .where(TriageDecision.contact_id == contact_id, TriageDecision.status == "pending_sign_off")
        .order_by(TriageDecision.made_at.desc())
        .limit(1)
    )


async def next_reference_number(session: AsyncSession) -> int:
    """The next number of the FDC-<year>-<n> references (never reused)."""
    number = await session.scalar(CONTACT_REFERENCE_SEQ.next_value())
    assert number is not None
    return int(number)


async def add_contact(session: AsyncSession, contact: TriageContact) -> None:
    session.add(contact)
    await session.flush()


async def replace_subjects(
    session: AsyncSession, contact_id: uuid.UUID, rows: list[TriageSubject]
) -> None:
    """The contact's subjects (the re-referral match keys) become these rows."""
    await session.execute(delete(TriageSubject).where(TriageSubject.contact_id == contact_id))
    session.add_all(rows)


@dataclass(frozen=True)
class EarlierContact:
    """What re-referral history reads of an earlier contact."""

    id: uuid.UUID
    reference: str
    received_at: datetime
    contact_type: str | None
    outcome: str | None
    # The rules' proposed contact type, for a contact not yet decided.
    proposed_type: str | None


async def earlier_subjects(
    session: AsyncSession,
    *,
    council_id: str,
    nhs_numbers: list[str],
    upns: list[str],
    names: list[tuple[str, str, date]],
    before: datetime,
    exclude: uuid.UUID | None,
) -> list[tuple[TriageSubject, EarlierContact]]:
    """Stored subjects (with their contacts) sharing an NHS number, a UPN or a normalised
    name and date of birth with these, on contacts received before `before`, newest first.

    The contacts come as the few columns history needs, not whole rows: a child referred
    often has many earlier contacts, and decoding each one's MARF and facts made opening a
    contact slower the more often the child had been referred (bench/load)."""
    clauses = []
    if nhs_numbers:
        clauses.append(TriageSubject.nhs_number.in_(nhs_numbers))
    if upns:
        clauses.append(TriageSubject.upn.in_(upns))
    if names:
        clauses.append(
            tuple_(
                TriageSubject.family_name_norm,
                TriageSubject.given_name_norm,
                TriageSubject.date_of_birth,
            ).in_(names)
        )
    if not clauses:
        return []
    c = TriageContact
    stmt = (
        select(
            TriageSubject,
            c.id,
            c.reference,
            c.received_at,
            c.contact_type,
            c.outcome,
            c.evaluation["contact_type"].astext,
        )
        .join(c, c.id == TriageSubject.contact_id)
        .where(
            and_(TriageSubject.council_id == council_id, or_(*clauses)),
            TriageContact.received_at < before,
            # A MARF contact merged into the phone contact it followed up is that contact.
            TriageContact.status != "merged",
        )
        .order_by(TriageContact.received_at.desc())
        .limit(200)
    )
    if exclude is not None:
        stmt = stmt.where(TriageContact.id != exclude)
    return [
        (subject, EarlierContact(cid, reference, received_at, contact_type, outcome, proposed))
        for subject, cid, reference, received_at, contact_type, outcome, proposed in (
            await session.execute(stmt)
        ).all()
    ]


_L = MashChildLink.__table__.c
_CH = MashChild.__table__.c
_A = MashChildAccess.__table__.c


async def restricted_from(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID
) -> bool:
    """Whether the contact is about a restricted child the caller is not named on."""
    named = select(MashChildAccess.sub).where(
        MashChildAccess.child_id == MashChild.id, MashChildAccess.sub == principal.sub
    )
    found = await session.scalar(
        select(MashChildLink.id)
        .join(MashChild, MashChild.id == MashChildLink.child_id)
        .where(MashChildLink.contact_id == contact_id, MashChild.restricted, ~named.exists())
        .limit(1)
    )
    return found is not None


def visible_to_caller() -> ColumnElement[bool]:
    """The queue's condition: no child of the contact is restricted without naming the caller
    (the caller's `sub` is the statement's parameter "sub")."""
    named = exists().where(_A.child_id == _CH.id, _A.sub == bindparam("sub"))
    hidden = (
        select(_L.id)
        .join(MashChild.__table__, _CH.id == _L.child_id)
        .where(
            and_(
                _L.contact_id == TriageContact.__table__.c.id,
                _CH.restricted.is_(true()),
                ~named,
            )
        )
        .correlate(TriageContact.__table__)
        .exists()
    )
    return ~hidden
