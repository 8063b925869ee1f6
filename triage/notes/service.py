"""Case notes: append-only. A correction is a new note that refers to the one it corrects;
the original is never changed, so the record shows what was known when."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.auth import Principal
from services.errors import FieldError
from services.models.mash import MashCaseNote
from triage.mash.access import mash_contact, record
from triage.notes import repository
from triage.notes.exceptions import NoteInvalid
from triage.notes.schemas import NoteCreate, NoteRead


def note_reads(notes: Sequence[MashCaseNote]) -> list[NoteRead]:
    corrected: dict[uuid.UUID, list[uuid.UUID]] = {}
    for note in notes:
        if note.corrects_id is not None:
            corrected.setdefault(note.corrects_id, []).append(note.id)
    reads = []
    for note in notes:
        read = NoteRead.model_validate(note)
        read.corrected_by = corrected.get(note.id, [])
        reads.append(read)
    return reads


async def add_note(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID, body: NoteCreate
) -> NoteRead:
    contact = await mash_contact(session, principal, contact_id)
    if body.corrects_id is not None:
        if await repository.get(session, contact.id, body.corrects_id) is None:
            reason = "is not a note on this contact"
            raise NoteInvalid(fields=[FieldError(path="corrects_id", reason=reason)])
    note = MashCaseNote(
        id=uuid.uuid4(),
        contact_id=contact.id,
        author=principal.sub,
        author_role=principal.role.value,
        written_at=datetime.now(UTC),
        text=body.text,
        corrects_id=body.corrects_id,
    )
    repository.add(session, note)
    await session.flush()
    await record(session, principal, "note.add", "contact", contact.id)
    return NoteRead.model_validate(note)


async def list_notes(
    session: AsyncSession, *, principal: Principal, contact_id: uuid.UUID
) -> list[NoteRead]:
    contact = await mash_contact(session, principal, contact_id)
    notes = await repository.for_contact(session, contact.id)
    await record(session, principal, "note.read", "contact", contact.id)
    return note_reads(notes)
