"""Bodies of the rule-set endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from services.types import SafeJsonDict
from triage.contacts.schemas import Text, _In
from triage.rules.facts import Facts
from triage.rules.model import RuleSetBody


class RuleSetCreate(_In):
    name: Text
    body: SafeJsonDict | None = None
    based_on: uuid.UUID | None = None

    @model_validator(mode="after")
    def _body_or_base(self) -> RuleSetCreate:
        if self.body is None and self.based_on is None:
            raise ValueError("give a body, or based_on to copy an existing version")
        return self


class RuleSetReplace(_In):
    name: Text
    body: SafeJsonDict


class RuleSetPatch(_In):
    name: Text | None = None
    levels: list[SafeJsonDict] | None = None
    defaults: SafeJsonDict | None = None
    rules: list[SafeJsonDict] | None = None


class RuleSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    council_id: str
    version: int
    name: str
    status: str
    active: bool
    body: RuleSetBody
    based_on_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    updated_at: datetime | None
    published_at: datetime | None
    published_by: str | None


class RuleSetSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    name: str
    status: str
    active: bool
    created_at: datetime
    published_at: datetime | None


class EvaluateRequest(_In):
    facts: Facts


class RuleSetDiff(BaseModel):
    from_id: uuid.UUID
    from_version: int
    to_id: uuid.UUID
    to_version: int
    changes: dict[str, Any]
