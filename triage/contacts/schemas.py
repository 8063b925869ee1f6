"""Bodies of the contact endpoints: recording, the contact read, work and decisions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from services.contracts.codes import ConsentState, ReferralSource
from services.contracts.marf import Concern, Consent, Subject, raise_problems
from services.types import SafeDatetime, SafeStr, SafeText
from triage.queue.schemas import QueueItem
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
# Who gave or refused consent: a role, never a name (the audit counted consent as recorded
# only with its outcome and who gave it).
ConsentGivenBy = Literal[
    "parent_or_carer", "person_with_parental_responsibility", "young_person", "other"
]
PrimaryNeedCode = Literal["N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"]
Text = Annotated[SafeStr, Field(min_length=1, max_length=200)]
LongText = Annotated[SafeText, Field(min_length=1, max_length=8000)]
# A partner agency's or police force's id as the referral API knows it.
AgencyId = Annotated[SafeStr, Field(min_length=1, max_length=64)]

# Clocks on the recording device may run a little ahead of the server's.
FUTURE_SLACK = timedelta(minutes=5)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- contacts recorded at the front door -------------------------------------------------


class ContactReferrer(_In):
    name: Text | None = None
    role: Text | None = None
    organisation: Text | None = None
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{7,20}$")] | None = None
    email: Annotated[SafeStr, Field(max_length=254)] | None = None
    wants_feedback: bool = True
    anonymous: bool = False


class DvNotification(_In):
    """A police domestic-abuse notification where children were present."""

    dash_risk_level: DashRisk
    police_reference: Annotated[SafeStr, Field(min_length=1, max_length=40)]
    force_id: Annotated[SafeStr, Field(min_length=1, max_length=64)]
    incident_at: SafeDatetime
    area: Text | None = None
    adult_roles: Annotated[list[Text], Field(max_length=10)] = []
    circumstances: LongText | None = None


class ContactCreate(_In):
    """A contact that did not arrive as a MARF: phone, email, walk-in, police DV, advice line."""

    channel: Literal["phone", "email", "walk_in", "police_feed"]
    kind: Literal["concern", "dv_notification", "consultation"]
    received_at: SafeDatetime | None = None
    from_professional: bool = False
    # The partner agency that rang (its id as the referral API knows it): a MARF that follows
    # up this call joins it only if it comes from the same agency.
    agency_id: AgencyId | None = None
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
        raise_problems(
            "ContactCreate",
            [
                (f"concerns.{i}.subject_index", "names a subject that is not in subjects")
                for i, c in enumerate(self.concerns)
                if c.subject_index is not None and c.subject_index >= len(self.subjects)
            ],
        )
        return self


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


class ConcernFloorRead(BaseModel):
    category: str
    level: int
    reason: str


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
    # The concern-category floors that raised the proposal (absent on older contacts).
    concern_floors: list[ConcernFloorRead] = []


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


class DecisionChildRead(BaseModel):
    position: int
    level: int
    primary_need_code: str | None
    outcome: str
    nfa_reason: str | None


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
    consent_decided_by: str | None = None
    level_reason: str | None = None
    consent_given_by: str | None = None
    strategy_discussion: bool
    next_steps: str | None
    rule_set_version: int | None
    # One line per child: position, level, primary_need_code, outcome, nfa_reason.
    children: list[DecisionChildRead] = []
    status: str
    signed_off_by: str | None
    signed_off_at: datetime | None
    sign_off_note: str | None

    @field_validator("children", mode="before")
    @classmethod
    def _none_is_no_lines(cls, value: object) -> object:
        return [] if value is None else value


class ScreeningRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    # view (a screener's) | resolution (a team manager's, where the screeners disagreed)
    kind: str = "view"
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
    # "claims to follow up FDC-…": a MARF that quoted a phone contact it did not match.
    follow_up_claim: dict[str, Any] | None = None
    # Joint DV screening: awaiting_joint | disagreed | routed (None before any view).
    screening_state: str | None = None
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


class DecisionChild(_In):
    """One child's line of a sibling group's decision; what it omits is the group's."""

    position: Annotated[int, Field(ge=0, lt=15)]
    level: Annotated[int, Field(ge=1, le=10)] | None = None
    primary_need_code: PrimaryNeedCode | None = None
    outcome: Outcome | None = None
    nfa_reason: LongText | None = None


class DecisionCreate(_In):
    contact_type: ContactType
    outcome: Outcome
    nfa_reason: LongText | None = None
    level: Annotated[int, Field(ge=1, le=10)]
    primary_need_code: PrimaryNeedCode | None = None
    rationale: LongText
    consent_state: ConsentState | None = None
    consent_reason: LongText | None = None
    # Who decided to proceed without consent (level 4), e.g. the team manager consulted.
    consent_decided_by: Text | None = None
    # Why the level is above the proposal's (required when it is).
    level_reason: LongText | None = None
    consent_given_by: ConsentGivenBy | None = None
    strategy_discussion: bool = False
    next_steps: LongText | None = None
    # A line per child (CIN census: each child's need code and outcome); default the group's.
    children: Annotated[list[DecisionChild], Field(max_length=15)] | None = None


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


class FollowUpReconcile(_In):
    """A worker's answer to "claims to follow up FDC-…": the same call (join) or not."""

    action: Literal["join", "separate"]
    note: LongText
