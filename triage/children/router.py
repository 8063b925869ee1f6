"""The child's record: read, flags, restriction, matches of contacts, search."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from services.db import SessionDep
from services.errors import Conflict, Forbidden, NotFound, Unprocessable, error_responses
from triage.children import service
from triage.children.schemas import ChildHit, ChildRead, FlagChange, FlagRead, LinkRead, Restriction
from triage.dependencies import ChildLinkPath, ChildPath, ContactPath, ManagerUser
from triage.mash.access import MashStaffUser, keeping_refusals

router = APIRouter(prefix="/v1", tags=["children"])


@router.get(
    "/children/search",
    response_model=list[ChildHit],
    responses=error_responses(Unprocessable, Forbidden),
)
async def search_children(
    session: SessionDep,
    principal: MashStaffUser,
    name: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    date_of_birth: date | None = None,
    nhs_number: Annotated[str | None, Query(max_length=20)] = None,
    upn: Annotated[str | None, Query(max_length=20)] = None,
    postcode: Annotated[str | None, Query(max_length=10)] = None,
) -> list[ChildHit]:
    """Find a child by name (accents and apostrophes ignored), DOB, NHS number, UPN, postcode."""
    return await service.search(
        session,
        principal=principal,
        name=name,
        date_of_birth=date_of_birth,
        nhs_number=nhs_number,
        upn=upn,
        postcode=postcode,
    )


@router.get(
    "/children/{child_id}", response_model=ChildRead, responses=error_responses(NotFound, Forbidden)
)
async def read_child_record(
    child_id: ChildPath, session: SessionDep, principal: MashStaffUser
) -> ChildRead | JSONResponse:
    """The child across contacts: identity, current flags, flag history, every contact."""
    return await keeping_refusals(
        service.read_child(session, principal=principal, child_id=child_id)
    )


@router.post(
    "/children/{child_id}/flags",
    status_code=201,
    response_model=FlagRead,
    responses=error_responses(NotFound, Conflict, Unprocessable, Forbidden),
)
async def change_child_flag(
    child_id: ChildPath, body: FlagChange, session: SessionDep, principal: MashStaffUser
) -> FlagRead | JSONResponse:
    """Set, change or remove a flag (with its risk level and reason; the old value is kept)."""
    return await keeping_refusals(
        service.change_flag(session, principal=principal, child_id=child_id, body=body)
    )


@router.put(
    "/children/{child_id}/restriction",
    response_model=ChildRead,
    responses=error_responses(NotFound, Unprocessable, Forbidden),
)
async def restrict_child_record(
    child_id: ChildPath, body: Restriction, session: SessionDep, principal: ManagerUser
) -> ChildRead | JSONResponse:
    """Restrict the child to named people, or lift the restriction (managers)."""
    return await keeping_refusals(
        service.restrict(session, principal=principal, child_id=child_id, body=body)
    )


@router.get(
    "/contacts/{contact_id}/children",
    response_model=list[LinkRead],
    responses=error_responses(NotFound, Forbidden),
)
async def list_contact_children(
    contact_id: ContactPath, session: SessionDep, principal: MashStaffUser
) -> list[LinkRead]:
    """How each child on the contact was matched to a child's record."""
    return await service.contact_links(session, principal=principal, contact_id=contact_id)


@router.post(
    "/child-links/{link_id}/confirm",
    response_model=LinkRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def confirm_child_match(
    link_id: ChildLinkPath, session: SessionDep, principal: MashStaffUser
) -> LinkRead | JSONResponse:
    """Confirm that the contact's child is the child it was matched to."""
    return await keeping_refusals(service.confirm(session, principal=principal, link_id=link_id))


@router.post(
    "/child-links/{link_id}/split",
    response_model=LinkRead,
    responses=error_responses(NotFound, Conflict, Forbidden),
)
async def split_child_match(
    link_id: ChildLinkPath, session: SessionDep, principal: MashStaffUser
) -> LinkRead | JSONResponse:
    """Undo a wrong match: the contact's child becomes a record of its own."""
    return await keeping_refusals(service.split(session, principal=principal, link_id=link_id))
