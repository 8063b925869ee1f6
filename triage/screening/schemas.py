"""Bodies of the RAG screening endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from triage.mash.config import Rag


class RagCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rag: Rag
    reason: Annotated[str, Field(min_length=1, max_length=4000)]


class RagRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    contact_id: uuid.UUID
    rag: Rag
    previous_rag: Rag | None
    reason: str
    set_by: str
    set_at: datetime
    due_at: datetime


class RagHistory(BaseModel):
    contact_id: uuid.UUID
    current: Rag | None
    due_at: datetime | None
    history: list[RagRead]
