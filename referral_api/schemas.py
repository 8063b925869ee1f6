"""Request and response bodies of the referral API.

Times are returned in the council's zone with their UTC offset (stored in UTC).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.marf import LongText
from services.models.referral import ReferralStatus as ReferralStatus  # the column's type


class ReceiptWarning(BaseModel):
    """Something the referrer should know or fix; the referral was still accepted."""

    code: str
    message: str


class WrittenFollowUp(BaseModel):
    """The 24-hour written follow-up of a phone referral: this MARF meets it."""

    phone_call_at: datetime
    phone_contact_reference: str | None
    due_at: datetime
    met_at: datetime
    met_by_this_referral: bool = True
    on_time: bool


class ReferralReceipt(BaseModel):
    """The answer to a submitted MARF."""

    reference: str = Field(examples=["FD-2026-000123"])
    status: ReferralStatus
    received_at: datetime
    submitted_at: datetime
    decision_due_at: datetime
    written_follow_up: WrittenFollowUp | None
    immediate_risk: bool
    what_happens_next: str
    warnings: list[ReceiptWarning]
    url: str


class Decision(BaseModel):
    """The front door's decision, in the words given to the referrer."""

    decided_at: datetime
    outcome: str
    outcome_summary: str
    next_steps: str


class Feedback(BaseModel):
    given_at: datetime
    feedback: str
    next_steps: str


class ReferralSummary(BaseModel):
    """One referral in a list: status and clocks, nothing about the children."""

    reference: str
    status: ReferralStatus
    status_changed_at: datetime
    received_at: datetime
    decision_due_at: datetime
    request_type: str
    immediate_risk: bool
    subject_count: int
    child_voice_missing: bool


class ReferralRead(ReferralSummary):
    """One referral: its progress, the front door's decision and feedback, and the MARF."""

    submitted_at: datetime
    written_follow_up: WrittenFollowUp | None
    contact_reference: str | None
    triaged_at: datetime | None
    decision: Decision | None
    feedback: Feedback | None
    addenda_count: int
    marf: dict[str, Any]


class AddendumCreate(BaseModel):
    """More information about a submitted referral (it is added, never edited)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: LongText


class AddendumRead(BaseModel):
    id: str
    reference: str
    added_at: datetime
    text: str


class CodeName(BaseModel):
    code: str
    name: str


class ReferenceData(BaseModel):
    """Every code list a partner system needs to build a MARF."""

    request_types: list[CodeName]
    subject_kinds: list[CodeName]
    gender_codes: list[CodeName]
    concern_categories: list[CodeName]
    referral_sources: list[CodeName]
    consent_states: list[CodeName]
    relationship_types: list[CodeName]
    education_statuses: list[CodeName]
    over_18_reasons: list[CodeName]
    continuum_levels: list[CodeName]
    referral_statuses: list[CodeName]


PageSize = Annotated[int, Field(ge=1)]
