"""The Multi-Agency Referral Form (MARF): the schema partner systems submit.

No official field list exists; this is the product's schema, grounded in the published audits
(domain.md §2). Strict: unknown fields are rejected, every string and list is bounded, and
identifiers are checked. The referral service validates with it; the triage service reads
stored MARFs with it. "Today" comes from the validation context (`{"today": date}`) so tests
and replays are deterministic; it defaults to the UK date now.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    model_validator,
)

from services.contracts.codes import (
    ConcernCategory,
    ConsentState,
    EducationStatus,
    GenderCode,
    Over18Reason,
    ReferralSource,
    Relationship,
    RequestType,
    SubjectKind,
)
from services.identifiers import check_nhs_number, check_postcode, check_upn

# An unborn baby's due date: up to 6 weeks past (born but not yet registered) and at most
# 10 months ahead (a pregnancy cannot be further off than that).
DUE_DATE_PAST_GRACE = timedelta(weeks=6)
DUE_DATE_MAX_AHEAD = timedelta(days=305)
MAX_SUBJECTS = 15  # the largest sibling groups seen; siblings share one contact

Text = Annotated[str, Field(min_length=1, max_length=200)]
LongText = Annotated[str, Field(min_length=1, max_length=8000)]
NhsNumber = Annotated[str, Field(max_length=14), AfterValidator(check_nhs_number)]
Upn = Annotated[str, Field(max_length=13), AfterValidator(check_upn)]
Postcode = Annotated[str, Field(max_length=10), AfterValidator(check_postcode)]
Urn = Annotated[str, Field(pattern=r"^[0-9]{6,7}$")]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{7,20}$")]


def today_from(info: ValidationInfo) -> date:
    context = info.context or {}
    value = context.get("today")
    return value if isinstance(value, date) else datetime.now(ZoneInfo("Europe/London")).date()


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(Strict):
    line1: Text
    line2: Text | None = None
    town: Text | None = None
    postcode: Postcode


class Flags(Strict):
    cse: bool = False
    missing: bool = False
    cce: bool = False


class LookedAfter(Strict):
    is_looked_after: bool
    placing_authority: Text | None = None

    @model_validator(mode="after")
    def _placing_authority_when_looked_after(self) -> LookedAfter:
        if self.is_looked_after and not self.placing_authority:
            raise ValueError("placing_authority is required for a looked-after child")
        return self


class Mother(Strict):
    given_name: Text
    family_name: Text
    date_of_birth: date | None = None
    nhs_number: NhsNumber | None = None


class Subject(Strict):
    kind: SubjectKind
    given_name: Text | None = None
    family_name: Text | None = None
    other_names: Text | None = None
    date_of_birth: date | None = None
    expected_due_date: date | None = None
    mother: Mother | None = None
    over_18_reason: Over18Reason | None = None
    over_18_reason_detail: Text | None = None
    gender: GenderCode = "0"
    nhs_number: NhsNumber | None = None
    upn: Upn | None = None
    address: Address | None = None
    school_urn: Urn | None = None
    education_status: EducationStatus = "unknown"
    looked_after: LookedAfter | None = None
    disability: bool = False
    complex_health: bool = False
    ethnicity: Annotated[str, Field(pattern=r"^[A-Z]{4}$")] | None = None  # CIN ethnicity
    first_language: Text | None = None
    interpreter_needed: bool = False
    flags: Flags = Flags()

    @model_validator(mode="after")
    def _kind_rules(self, info: ValidationInfo) -> Subject:
        today = today_from(info)
        if self.kind == "unborn":
            self._check_unborn(today)
        else:
            self._check_born(today)
        return self

    def _check_unborn(self, today: date) -> None:
        if self.expected_due_date is None:
            raise ValueError("an unborn subject needs expected_due_date")
        if self.date_of_birth is not None:
            raise ValueError("an unborn subject has no date_of_birth")
        if self.expected_due_date < today - DUE_DATE_PAST_GRACE:
            raise ValueError("expected_due_date is too far in the past")
        if self.expected_due_date > today + DUE_DATE_MAX_AHEAD:
            raise ValueError("expected_due_date is more than 10 months ahead")
        if self.mother is None:
            raise ValueError("an unborn subject needs the mother's details")

    def _check_born(self, today: date) -> None:
        if self.date_of_birth is None:
            raise ValueError("date_of_birth is required unless the subject is unborn")
        if self.expected_due_date is not None:
            raise ValueError("expected_due_date is only for an unborn subject")
        if not (self.given_name and self.family_name):
            raise ValueError("given_name and family_name are required")
        if self.date_of_birth > today:
            raise ValueError("date_of_birth is in the future")
        age = age_on(self.date_of_birth, today)
        if age >= 26:
            raise ValueError("the subject is over 25: the front door is for children")
        if age >= 18 and self.over_18_reason is None:
            raise ValueError("a subject aged 18-25 needs over_18_reason (care leaver or SEND)")


class SubjectRelationship(Strict):
    subject_index: Annotated[int, Field(ge=0, lt=MAX_SUBJECTS)]
    relationship: Relationship


class Person(Strict):
    """A household member or other person involved."""

    given_name: Text
    family_name: Text
    date_of_birth: date | None = None
    address: Address | None = None
    relationships: Annotated[list[SubjectRelationship], Field(min_length=1, max_length=15)]
    lives_with_child: bool = False
    parental_responsibility: bool = False
    alleged_perpetrator: bool = False


class Concern(Strict):
    category: ConcernCategory
    description: LongText
    when: Text | None = None
    where: Text | None = None
    source: Text | None = None


class Consent(Strict):
    state: ConsentState
    reason: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    recorded_by: Text
    recorded_at: AwareDatetime

    @model_validator(mode="after")
    def _reason_when_not_asked(self) -> Consent:
        if self.state in ("not_sought", "dispensed") and not self.reason:
            raise ValueError(f"a reason is required when consent is {self.state}")
        return self


class Referrer(Strict):
    name: Text | None = None
    role: Text | None = None
    organisation: Text | None = None
    phone: Phone | None = None
    email: EmailStr | None = None
    referral_source: ReferralSource
    wants_feedback: bool = True
    anonymous: bool = False

    @model_validator(mode="after")
    def _anonymity_is_for_the_public(self) -> Referrer:
        public = self.referral_source in ("1A", "1B", "1C", "1D", "9")
        if self.anonymous and not public:
            raise ValueError("only members of the public may ask to remain anonymous")
        if not self.anonymous and not (self.name and (self.phone or self.email)):
            raise ValueError("name and a phone number or email are required")
        return self


class PhoneFollowUp(Strict):
    call_at: AwareDatetime
    contact_reference: Annotated[str, Field(max_length=40)] | None = None


class Marf(Strict):
    """One MARF: one or more children (siblings together) and the concerns about them."""

    request_type: RequestType
    follow_up_to_phone_call: PhoneFollowUp | None = None
    immediate_risk: bool
    emergency_services_called: bool = False
    subjects: Annotated[list[Subject], Field(min_length=1, max_length=MAX_SUBJECTS)]
    household: Annotated[list[Person], Field(max_length=30)] = []
    concerns: Annotated[list[Concern], Field(min_length=1, max_length=20)]
    child_voice: LongText | None = None
    consent: Consent
    referrer: Referrer
    referrer_view_of_level: Annotated[int, Field(ge=1, le=4)] | None = None
    actions_taken: LongText | None = None

    @model_validator(mode="after")
    def _cross_field_rules(self, info: ValidationInfo) -> Marf:
        for person in self.household:
            for rel in person.relationships:
                if rel.subject_index >= len(self.subjects):
                    raise ValueError("a relationship names a subject_index that does not exist")
        if self.follow_up_to_phone_call is not None:
            now = datetime.now(ZoneInfo("Europe/London"))
            if self.follow_up_to_phone_call.call_at > now + timedelta(minutes=5):
                raise ValueError("follow_up_to_phone_call.call_at is in the future")
        return self

    def facts_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
