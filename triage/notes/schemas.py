"""Bodies of the case note endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: Annotated[str, Field(min_length=1, max_length=20000)]
    # A correction is a new note naming the note it corrects; the old one stays as written.
    corrects_id: uuid.UUID | None = None


class NoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contact_id: uuid.UUID
    author: str
    author_role: str
    written_at: datetime
    text: str
    corrects_id: uuid.UUID | None
    corrected_by: list[uuid.UUID] = []
