"""What the MASH pages share: the contact page's MASH sections, attempts, refusals, errors.

The contact page shows the MASH's work on a contact (RAG and its history, partner checks,
strategy discussions, case notes, the chronology) by calling the same service functions as
`GET /v1/contacts/{id}/rag`, `/checks`, `/strategy-discussions`, `/notes`, `/chronology`,
so each section writes the same audit row its endpoint writes. The forms that change them
live beside their features (`triage/screening/web.py`, `triage/checks/web.py`,
`triage/notes/web.py`, `triage/strategy/web.py`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.errors import FieldError, Unprocessable
from services.web.pages import see_other, unprocessable_fields
from services.web.security import error_page
from triage.checks import service as checks
from triage.checks.schemas import CheckRead
from triage.chronology import service as chronology
from triage.chronology.schemas import Chronology
from triage.mash.access import MASH_STAFF, RefusedAsNotFound, load_mash_config
from triage.notes import service as notes
from triage.notes.schemas import NoteRead
from triage.screening import service as screening
from triage.screening.schemas import RagHistory
from triage.strategy import service as strategy
from triage.strategy.schemas import DiscussionRead

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
