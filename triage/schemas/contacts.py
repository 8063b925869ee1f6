"""Bodies of the contact, queue and decision endpoints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from services.contracts.codes import ConsentState, ReferralSource
from services.contracts.marf import Concern, Consent, Subject
from triage.rules.facts import DashRisk
from triage.rules.model import ContactType

Outcome = Literal[
    "nfa",
    "advice_given",
    "signposted",
    "early_help",
    "family_support",
    "referral_to_other_agency",
    "lado",
    "s17_assessment",
    "strategy_discussion",
    "s47_enquiry",
    "immediate_protection",
]
PrimaryNeedCode = Literal["N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"]
OpenStatus = Literal["open", "awaiting_sign_off"]
Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=8000)]

T = TypeVar("T")
# Clocks on the recording device may run a little ahead of the server's.
FUTURE_SLACK = timedelta(minutes=5)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# --- contacts recorded at the front door -------------------------------------------------


class ContactReferrer(_In):
    name: Text | None = None
    role: Text | None = None
    organisation: Text | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{7,20}$")] | None = None
    email: Annotated[str, Field(max_length=254)] | None = None
    wants_feedback: bool = True
    anonymous: bool = False


class DvNotification(_In):
    """A police domestic-abuse notification where children were present."""

    dash_risk_level: DashRisk
    police_reference: Annotated[str, Field(min_length=1, max_length=40)]
    force_id: Annotated[str, Field(min_length=1, max_length=64)]
    incident_at: AwareDatetime
    area: Text | None = None
    adult_roles: Annotated[list[Text], Field(max_length=10)] = []
    circumstances: LongText | None = None


class ContactCreate(_In):
    """A contact that did not arrive as a MARF: phone, email, walk-in, police DV, advice line."""

    channel: Literal["phone", "email", "walk_in", "police_feed"]
    kind: Literal["concern", "dv_notification", "consultation"]
    received_at: AwareDatetime | None = None
    from_professional: bool = False
    referral_source: ReferralSource
    referrer: ContactReferrer = ContactReferrer()
    subjects: Annotated[list[Subject], Field(max_length=15)] = []
    concerns: Annotated[list[Concern], Field(max_length=20)] = []
    summary: LongText
    immediate_risk: bool = False
    emergency_services_called: bool = False
    allegation_against_professional: bool = False
    consent: Consent | None = None
    child_voice: LongText | None = None
    dv: DvNotification | None = None

    @model_validator(mode="after")
    def _kind_rules(self) -> ContactCreate:
        if self.kind == "dv_notification" and self.dv is None:
            raise ValueError("a police DV notification needs dv (DASH risk level, reference)")
        if self.kind != "dv_notification" and self.dv is not None:
            raise ValueError("dv is only for a police DV notification")
        if self.received_at is not None and self.received_at > datetime.now(UTC) + FUTURE_SLACK:
            raise ValueError("received_at is in the future")
        if self.kind != "consultation" and not self.subjects:
            raise ValueError("at least one subject is required (only a consultation may omit)")
        return self


class SubjectSummary(BaseModel):
    position: int
    kind: str
    name: str
    age: int | None


class ClockRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    started_at: datetime
    deadline_at: datetime
    deadline_local: str
    due_soon_at: datetime
    state: str
    paused_at: datetime | None
    paused_reason: str | None
    resumed_at: datetime | None
    met_at: datetime | None
    # Met by its deadline (None while not met); a clock met late stays `breached`.
    met_on_time: bool | None = None
    # Who recorded an assessment authorised / ICPC held (from the audit trail).
    met_recorded_by: str | None = None
    breached_at: datetime | None


class FiredRuleRead(BaseModel):
    rule_id: str
    reason: str
    matched: dict[str, Any]


class EvaluationRead(BaseModel):
    level: int
    level_name: str
    lane: str
    contact_type: str
    rag: str
    priority: int
    safety_floor: bool
    safety_floor_reasons: list[str]
    fired: list[FiredRuleRead]
    rule_set_version: int | None


class QueueItem(BaseModel):
    id: uuid.UUID
    reference: str
    kind: str
    channel: str
    status: str
    lane: str
    level: int
    rag: str
    priority: int
    safety_floor: bool
    received_at: datetime
    deadline_at: datetime
    breached: bool
    # Which clocks are breached (managers see breaches in the queue).
    breached_clocks: list[str] = []
    re_referral: bool
    assigned_to: str | None
    lease_holder: str | None
    lease_expires_at: datetime | None
    subjects: list[SubjectSummary]
    # MASH partner checks past their due time and still unanswered (triage.checks).
    overdue_checks: int = 0
    # Active flags on the children's records (triage.children), e.g. ["cse", "missing"].
    child_flags: list[str] = []


class HistoryEntry(BaseModel):
    contact_id: uuid.UUID
    reference: str
    received_at: datetime
    contact_type: str | None
    outcome: str | None
    was_referral: bool
    within_12_months: bool
    matched_on: list[str]


class AddendumRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    addendum_id: uuid.UUID
    added_at: datetime
    text: str


class DecisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    made_by: str
    made_at: datetime
    contact_type: str
    outcome: str
    nfa_reason: str | None
    level: int
    primary_need_code: str | None
    rationale: str
    consent_state: str | None
    consent_reason: str | None
    strategy_discussion: bool
    next_steps: str | None
    rule_set_version: int | None
    status: str
    signed_off_by: str | None
    signed_off_at: datetime | None
    sign_off_note: str | None


class ScreeningRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    screened_by: str
    screener_role: str
    screened_at: datetime
    route_to: str
    encompass: bool
    rationale: str


class ContactRead(QueueItem):
    referral_id: uuid.UUID | None
    referral_reference: str | None
    agency_id: str | None
    from_professional: bool
    record: dict[str, Any]
    facts: dict[str, Any]
    proposal: EvaluationRead
    consent_state: str | None
    child_voice_present: bool
    previous_referrals_12m: int
    linked_phone_contact_id: uuid.UUID | None
    written_follow_up_at: datetime | None
    contact_type: str | None
    outcome: str | None
    decided_at: datetime | None
    feedback: str | None
    feedback_next_steps: str | None
    feedback_given_at: datetime | None
    clocks: list[ClockRead]
    history: list[HistoryEntry]
    addenda: list[AddendumRead]
    decisions: list[DecisionRead]
    screenings: list[ScreeningRead]


# --- work on a contact -------------------------------------------------------------------


class LeaseRead(BaseModel):
    contact_id: uuid.UUID
    lease_holder: str | None
    lease_expires_at: datetime | None
    assigned_to: str | None


class AssignRequest(_In):
    assignee: Text


class DecisionCreate(_In):
    contact_type: ContactType
    outcome: Outcome
    nfa_reason: LongText | None = None
    level: Annotated[int, Field(ge=1, le=10)]
    primary_need_code: PrimaryNeedCode | None = None
    rationale: LongText
    consent_state: ConsentState | None = None
    consent_reason: LongText | None = None
    strategy_discussion: bool = False
    next_steps: LongText | None = None


class SignOffRequest(_In):
    action: Literal["approve", "return"]
    note: LongText | None = None

    @model_validator(mode="after")
    def _note_when_returned(self) -> SignOffRequest:
        if self.action == "return" and not self.note:
            raise ValueError("a returned decision needs a note saying why")
        return self


class FeedbackCreate(_In):
    feedback: LongText
    next_steps: LongText


class ScreeningCreate(_In):
    route_to: Literal["mash", "early_help", "advice", "none"]
    encompass: bool = False
    rationale: LongText


class ClockPause(_In):
    reason: LongText


RecordedClock = Literal["assessment", "icpc"]


class ClockMet(_In):
    """The assessment was authorised / the ICPC was held, at `met_at` (default: now)."""

    met_at: AwareDatetime | None = None

    @field_validator("met_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value > datetime.now(UTC) + FUTURE_SLACK:
            raise ValueError("is in the future")
        return value
