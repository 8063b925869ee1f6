"""Restricted children: a child restricted to named people hides its contacts from everyone else.

One rule, read in two shapes: `restricted_from` for one contact (the contact loaders), and
`HIDDEN_FROM_CALLER` for a page of them (the queue's SQL, a NOT EXISTS on the contact's
child links that finds nothing for the great majority of contacts, whose children are not
restricted).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, bindparam, exists, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.models.mash import MashChild, MashChildAccess, MashChildLink
from services.models.triage import TriageContact

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
