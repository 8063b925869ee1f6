"""What every triage page shares: the templates, who may see which page, the contact page
(the one page most forms come back to), and the MASH sections with their attempts, refusals
and errors. Each feature keeps its own pages in its `web.py` beside its router.

The contact page shows the MASH's work on a contact (RAG and its history, partner checks,
strategy discussions, case notes, the chronology) by calling the same service functions as
`GET /v1/contacts/{id}/rag`, `/checks`, `/strategy-discussions`, `/notes`, `/chronology`,
so each section writes the same audit row its endpoint writes. The forms that change them
live beside their features (`triage/screening/web.py`, `triage/checks/web.py`,
`triage/notes/web.py`, `triage/strategy/web.py`).

Every page calls the same service functions as the matching endpoint of the feature routers,
and writes the same audit rows, so a rule or a refusal is the same whichever door a person
uses. A form that fails validation is shown again with the GOV.UK error summary (422);
whatever the failed attempt wrote is undone with its savepoint.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, TypeVar

from fastapi import Depends, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services import audit
from services.auth import Principal, Role
from services.db import SessionDep
from services.errors import FieldError, Unprocessable
from services.web.pages import (
    FormErrors,
    PageContext,
    form_errors,
    page_user,
    render,
    see_other,
    templates,
    unprocessable_fields,
    validation_fields,
)
from services.web.security import error_page
from triage import wording
from triage.checks import service as checks
from triage.checks.schemas import CheckRead
from triage.chronology import service as chronology
from triage.chronology.schemas import Chronology
from triage.contacts import read
from triage.contacts import service as work
from triage.contacts.schemas import ContactRead
from triage.council.config import load_council
from triage.mash.access import MASH_STAFF, RefusedAsNotFound, load_mash_config
from triage.notes import service as notes
from triage.notes.schemas import NoteRead
from triage.queue.lanes import MANAGERS, STAFF
from triage.screening import service as screening
from triage.screening.schemas import RagHistory
from triage.settings import TriageSettings
from triage.strategy import service as strategy
from triage.strategy.schemas import DiscussionRead
from triage.strategy.service import DECISION_LABELS as STRATEGY_DECISIONS

T = TypeVar("T")

# The chronology's kinds (`rag.changed`, `check.answered`...) by their first part.
CHRONOLOGY_TITLES = {
    "received": "Contact received",
    "rag": "RAG rating",
    "check": "Partner check",
    "note": "Case note",
    "strategy": "Strategy discussion",
    "decision": "Decision",
    "feedback": "Feedback to the referrer",
    "clock": "Clock",
    "addendum": "Addendum",
    "dv": "DV screening",
    "handover": "Handover to the case system",
}


def chronology_title(kind: str) -> str:
    return CHRONOLOGY_TITLES.get(kind.split(".")[0], kind)


@dataclass(frozen=True)
class MashSections:
    """The MASH's work on one contact, as the contact page shows it."""

    rag: RagHistory
    checks: list[CheckRead]
    agencies: dict[str, str]
    discussions: list[DiscussionRead]
    notes: list[NoteRead]
    chronology: Chronology

    @property
    def requestable(self) -> dict[str, str]:
        """The council's listed agencies not yet asked on this contact."""
        asked = {c.agency_id for c in self.checks}
        return {k: v for k, v in self.agencies.items() if k not in asked}

    @property
    def overdue_checks(self) -> int:
        return sum(c.overdue for c in self.checks)

    def note_text(self, note_id: uuid.UUID) -> str:
        found = next((n for n in self.notes if n.id == note_id), None)
        return found.text if found else ""


async def mash_sections(
    session: AsyncSession, principal: Principal, contact_id: uuid.UUID
) -> MashSections | None:
    """The sections for MASH staff (social workers, managers); None for other roles."""
    if principal.role not in MASH_STAFF:
        return None
    config = await load_mash_config(session, principal.council_id)
    return MashSections(
        rag=await screening.history(session, principal=principal, contact_id=contact_id),
        checks=await checks.contact_checks(session, principal=principal, contact_id=contact_id),
        agencies=config.partner_agencies,
        discussions=await strategy.list_discussions(
            session, principal=principal, contact_id=contact_id
        ),
        notes=await notes.list_notes(session, principal=principal, contact_id=contact_id),
        chronology=await chronology.contact_chronology(
            session, principal=principal, contact_id=contact_id
        ),
    )


async def attempt(
    session: AsyncSession, action: Callable[[], Awaitable[T]]
) -> tuple[T | None, Unprocessable | None]:
    """Run a service call in a savepoint. On a 422 nothing it wrote is kept; a refusal
    ("not found", audited by the service) keeps its audit row and is raised on."""
    savepoint = await session.begin_nested()
    try:
        result = await action()
    except Unprocessable as exc:
        await savepoint.rollback()
        return None, exc
    except RefusedAsNotFound:
        await savepoint.commit()
        raise
    except BaseException:
        await savepoint.rollback()
        raise
    await savepoint.commit()
    return result, None


async def run_form(
    session: AsyncSession, request: Request, action: Callable[[], Awaitable[object]], *, done: str
) -> Response | list[FieldError]:
    """A form's service call, as `attempt` runs it: the redirect to `done` when it succeeds,
    the 404 page of a refusal, or the fields of its 422 for the error summary."""
    try:
        _, error = await attempt(session, action)
    except RefusedAsNotFound as exc:
        return not_found_page(request, exc)
    if error is None:
        return see_other(done)
    return unprocessable_fields(error)


def not_found_page(request: Request, exc: RefusedAsNotFound) -> Response:
    """The 404 page for a refused record; returned (not raised) so the audit row commits."""
    return error_page(request, exc.shown.status_code, exc.shown.message)


def renamed(fields: Iterable[FieldError], names: Mapping[str, str]) -> list[FieldError]:
    """The API's field paths as this page's input names (e.g. `reason` -> `rag_reason`):
    a contact page has several forms, so each form's fields carry their own prefix."""
    out = []
    for f in fields:
        head, _, rest = f.path.partition(".")
        path = names.get(head, head) + (f".{rest}" if rest else "")
        out.append(FieldError(path=path, reason=f.reason))
    return out


def date_from_parts(form: Mapping[str, str], name: str) -> str | None:
    """A GOV.UK date input (`name-day`, `name-month`, `name-year`) as an ISO date string for
    the API's body; None when all three are empty. A part that is not a number is passed on
    as it is, so the API's own validation reports the field."""
    parts = [form.get(f"{name}-{p}", "").strip() for p in ("year", "month", "day")]
    if not any(parts):
        return None
    year, month, day = parts
    if month.isdigit() and day.isdigit():
        return f"{year}-{int(month):02d}-{int(day):02d}"
    return f"{year}-{month}-{day}"


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- the templates, the roles, and the contact page ----------------------------------------

SERVICE = "triage"
TEMPLATES = templates(Path(__file__).resolve().parent / "templates")
TEMPLATES.globals.update(
    lane_names=wording.LANE_NAMES,
    outcome_names=wording.OUTCOME_NAMES,
    time_left=wording.time_left,
    queue_rows=wording.queue_rows,
    chronology_title=chronology_title,
    strategy_decisions=STRATEGY_DECISIONS,
)

Staff = Annotated[PageContext, Depends(page_user(*STAFF))]
Managers = Annotated[PageContext, Depends(page_user(*MANAGERS))]
Deciders = Annotated[PageContext, Depends(page_user(Role.front_door_worker, Role.team_manager))]
SignOff = Annotated[PageContext, Depends(page_user(Role.team_manager))]
Screeners = Annotated[PageContext, Depends(page_user(Role.dv_screener, Role.front_door_worker))]

BANNERS = {
    "claimed": "You hold this contact: no one else can work it until you release it.",
    "released": "The contact is back in the queue.",
    "decided": "Decision recorded.",
    "signed-off": "Decision signed off.",
    "returned": "Decision returned to the worker.",
    "feedback": "Feedback given to the referrer.",
    "assigned": "Contact allocated.",
    "paused": "Clock paused.",
    "resumed": "Clock resumed.",
    "screened": "Screening recorded.",
    "rated": "RAG rating recorded.",
    "checks-requested": "Partner checks requested.",
    "noted": "Case note added.",
    "strategy": "Strategy discussion recorded.",
    "action-done": "Action marked done.",
}


async def contact_read(
    session: SessionDep, ctx: PageContext, contact_id: uuid.UUID, settings: TriageSettings
) -> ContactRead:
    """The whole contact, read and audited exactly as GET /v1/contacts/{id}."""
    contact = await work.contact_for(session, ctx.principal, contact_id)
    council = await load_council(session, contact.council_id)
    await audit.record(
        session,
        service=SERVICE,
        actor=ctx.principal,
        action="contact.read",
        entity_type="contact",
        entity_id=contact.id,
    )
    return await read.contact_read(
        session, contact, zone=council.calendar.zone, months=settings.re_referral_months
    )


def contact_page(
    ctx: PageContext,
    contact: ContactRead,
    *,
    banner: str | None = None,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
    template: str = "contact.html",
    mash: MashSections | None = None,
) -> Response:
    """The contact page (or the decision form, which shows the contact beside it)."""
    now = datetime.now(UTC)
    holds = contact.lease_holder == ctx.principal.sub and (
        contact.lease_expires_at is not None and contact.lease_expires_at > now
    )
    return render(
        TEMPLATES,
        template,
        ctx,
        current="/queue",
        title=f"Contact {contact.reference}",
        contact=contact,
        holds=holds,
        now=now,
        banner=banner,
        errors=errors.summary if errors else None,
        field_errors=errors.by_field if errors else {},
        form=form or {},
        pending=next((d for d in contact.decisions if d.status == "pending_sign_off"), None),
        is_manager=ctx.principal.role in MANAGERS,
        can_decide=ctx.principal.role in (Role.front_door_worker, Role.team_manager),
        can_screen=ctx.principal.role in (Role.dv_screener, Role.front_door_worker)
        and contact.lane == "dv_screening",
        mash=mash,
        status_code=status_code,
    )


async def contact_page_again(
    session: SessionDep,
    ctx: PageContext,
    contact_id: uuid.UUID,
    settings: TriageSettings,
    *,
    errors: FormErrors | None = None,
    form: dict[str, str] | None = None,
    banner: str | None = None,
    status_code: int = 200,
) -> Response:
    """The whole contact page (with its MASH sections), e.g. again with a form's errors."""
    contact = await contact_read(session, ctx, contact_id, settings)
    mash = await mash_sections(session, ctx.principal, contact.id)
    return contact_page(
        ctx,
        contact,
        banner=banner,
        errors=errors,
        form=form,
        status_code=status_code,
        mash=mash,
    )


async def invalid_form(
    session: SessionDep,
    ctx: PageContext,
    contact_id: uuid.UUID,
    settings: TriageSettings,
    exc: ValidationError,
    form: dict[str, str],
    labels: dict[str, str],
) -> Response:
    """The contact page again with a form's validation errors (422)."""
    errors = form_errors(validation_fields(exc), labels)
    return await contact_page_again(
        session, ctx, contact_id, settings, errors=errors, form=form, status_code=422
    )
