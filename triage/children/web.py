"""The search page: front-door roles find a child and see their contacts.

Calls `children.search` exactly as `GET /v1/children/search` does: the same matching
(accents and apostrophes ignored), the same `child.search` audit row (which criteria were
used, never their values), and a restricted child is not found by anyone not named on it
(`child.refused` audited). The form is posted, not sent as a query string, so a child's
name, date of birth or NHS number never sits in a URL (browser history, access logs).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.db import SessionDep
from services.errors import Unprocessable
from services.web.pages import (
    FormErrors,
    PageContext,
    form_errors,
    form_with_csrf,
    page_router,
    page_user,
    render,
    unprocessable_fields,
    validation_fields,
)
from triage.children import service
from triage.children.schemas import ChildHit
from triage.mash.access import MASH_STAFF
from triage.pages import TEMPLATES, date_from_parts

router = page_router()
MashStaff = Annotated[PageContext, Depends(page_user(*MASH_STAFF))]
FIELDS = ("name", "nhs_number", "upn", "postcode")
LABELS = {
    "name": "Name",
    "date_of_birth": "Date of birth",
    "nhs_number": "NHS number",
    "upn": "UPN",
    "postcode": "Postcode",
}


class SearchForm(BaseModel):
    """The same limits as the query parameters of `GET /v1/children/search`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    date_of_birth: date | None = None
    nhs_number: Annotated[str, Field(max_length=20)] | None = None
    upn: Annotated[str, Field(max_length=20)] | None = None
    postcode: Annotated[str, Field(max_length=10)] | None = None


def _page(
    ctx: PageContext,
    *,
    hits: list[ChildHit] | None = None,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        TEMPLATES,
        "search.html",
        ctx,
        current="/search",
        title="Search for a child",
        hits=hits,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        form=form or {},
        status_code=status_code,
    )


@router.get("/search")
async def search_page(ctx: MashStaff) -> Response:
    """The search form."""
    return _page(ctx)


@router.post("/search")
async def search_children(request: Request, session: SessionDep, ctx: MashStaff) -> Response:
    """The children matching every criterion given, each with their contacts."""
    form = await form_with_csrf(request, ctx)
    raw: dict[str, Any] = {k: form[k] for k in FIELDS if form.get(k, "").strip()}
    dob = date_from_parts(form, "date_of_birth")
    if dob is not None:
        raw["date_of_birth"] = dob
    try:
        criteria = SearchForm.model_validate(raw)
    except ValidationError as exc:
        errors = form_errors(validation_fields(exc), LABELS)
        return _page(ctx, errors=errors, form=form, status_code=422)
    try:
        hits = await service.search(
            session,
            principal=ctx.principal,
            name=criteria.name,
            date_of_birth=criteria.date_of_birth,
            nhs_number=criteria.nhs_number,
            upn=criteria.upn,
            postcode=criteria.postcode,
        )
    except Unprocessable as exc:
        errors = form_errors(unprocessable_fields(exc), LABELS)
        return _page(ctx, errors=errors, form=form, status_code=422)
    return _page(ctx, hits=hits, form=form)
