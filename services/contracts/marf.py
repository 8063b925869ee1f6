"""The Multi-Agency Referral Form (MARF): the schema partner systems submit.

No official field list exists; this is the product's schema, grounded in the published audits
(docs/domain.md, "Contacts, referrals and the MARF"). Strict: unknown fields are rejected,
every string and list is bounded, and identifiers are checked. The referral service validates
with it; the triage service reads stored MARFs with it. "Today" comes from the validation
context (`{"today": date}`) so tests and replays are deterministic; it defaults to the UK date
now.

Rules relative to today or now (date of birth not in the future, ages, the unborn due-date
window, call and consent times not in the future) were enforced at intake. A stored MARF read
back later — a child turns 18, a due date passes — validates with `context={"stored": True}`,
which skips them and keeps every other rule.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.networks import validate_email
from pydantic_core import InitErrorDetails, PydanticCustomError

from services.contracts.codes import (
    CIN_ETHNICITY,
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
from services.types import SafeDatetime

# An unborn baby's due date: up to 6 weeks past (born but not yet registered) and at most
# 10 months ahead (a pregnancy cannot be further off than that).
ADULT_AGE = 18
# Care leavers and young people with SEND are supported up to their 25th birthday.
MAX_AGE_WITH_REASON = 25
DUE_DATE_PAST_GRACE = timedelta(weeks=6)
DUE_DATE_MAX_AHEAD = timedelta(days=305)
MAX_SUBJECTS = 15  # the largest sibling groups seen; siblings share one contact
# Times a partner system states (call time, consent recorded) may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
# A written follow-up is due within 24 hours of the call; one quoting a call older than this
# would set the receipt (and every clock) back further than any late follow-up explains. The
# referral service passes its configured window as context `call_window`.
FOLLOW_UP_CALL_WINDOW = timedelta(days=7)

# Control characters (NUL above all: PostgreSQL text cannot hold it) and lone surrogates
# (not encodable as UTF-8) are refused; long text keeps tabs and line breaks.
_SHORT_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")
_LONG_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _printable(value: str) -> str:
    if _SHORT_FORBIDDEN.search(value):
        raise ValueError("contains control or unencodable characters")
    return value


def _printable_long(value: str) -> str:
    if _LONG_FORBIDDEN.search(value):
        raise ValueError("contains control or unencodable characters")
    return value


Text = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_printable)]
LongText = Annotated[str, Field(min_length=1, max_length=8000), AfterValidator(_printable_long)]
Reason = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_printable_long)]
NhsNumber = Annotated[str, Field(max_length=14), AfterValidator(check_nhs_number)]
Upn = Annotated[str, Field(max_length=13), AfterValidator(check_upn)]
Postcode = Annotated[str, Field(max_length=10), AfterValidator(check_postcode)]
Urn = Annotated[str, Field(pattern=r"^[0-9]{6,7}$")]
Phone = Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{7,20}$")]


def today_from(info: ValidationInfo) -> date:
    """The UK date the MARF is judged on: context `today`, else today in Europe/London."""
    context = info.context or {}
    value = context.get("today")
    return value if isinstance(value, date) else datetime.now(ZoneInfo("Europe/London")).date()


def is_stored(info: ValidationInfo) -> bool:
    """A stored MARF read back: the rules relative to today were applied at intake."""
    return bool((info.context or {}).get("stored"))


def call_window_from(info: ValidationInfo) -> timedelta:
    """How far back a followed-up call may be: context `call_window`, else the default."""
    value = (info.context or {}).get("call_window")
    return value if isinstance(value, timedelta) else FOLLOW_UP_CALL_WINDOW


def _cin_ethnicity(value: str, info: ValidationInfo) -> str:
    # A record stored before the code list was checked (a phone contact with ZZZZ) is read
    # back as it was accepted: a join or reconcile must not fail on it.
    if not is_stored(info) and value not in CIN_ETHNICITY:
        raise ValueError("not a CIN census ethnicity code (e.g. WBRI, MWBA, REFU, NOBT)")
    return value


def now_from(info: ValidationInfo) -> datetime:
    """The instant the MARF is judged at: context `now` (aware), else the clock."""
    context = info.context or {}
    value = context.get("now")
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    return datetime.now(UTC)


@lru_cache(maxsize=4096)
def _normalised_email(value: str) -> str:
    """pydantic's `EmailStr` check, remembered: an agency's referrers are a few hundred
    addresses sent again and again, and the check is a fifth of a MARF's validation."""
    return validate_email(value)[1]


# `EmailStr`, with its checks, errors and schema, cached (failures are not cached).
Email = Annotated[
    str,
    AfterValidator(_normalised_email),
    Field(json_schema_extra={"format": "email"}),
]


Problems = list[tuple[str, str]]


def raise_problems(title: str, problems: Problems) -> None:
    """Report every broken cross-field rule at its own field's path (not the object's)."""
    if problems:
        raise ValidationError.from_exception_data(
            title,
            [
                InitErrorDetails(
                    type=PydanticCustomError("marf_rule", "{reason}", {"reason": reason}),
                    loc=tuple(int(p) if p.isdigit() else p for p in field.split(".")),
                    input=None,
                )
                for field, reason in problems
            ],
        )


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
            raise_problems(
                "LookedAfter",
                [("placing_authority", "placing_authority is required for a looked-after child")],
            )
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
    ethnicity: (
        Annotated[str, Field(pattern=r"^[A-Z]{4}$"), AfterValidator(_cin_ethnicity)] | None
    ) = None  # CIN census ethnicity code
    first_language: Text | None = None
    interpreter_needed: bool = False
    # This child's own voice and lived experience (siblings differ); the MARF-level
    # `child_voice` stays for what is said of the group.
    child_voice: LongText | None = None
    # A factory, not a shared instance: pydantic deep-copies an instance default every time.
    flags: Flags = Field(
        default_factory=Flags,
        json_schema_extra={"default": {"cse": False, "missing": False, "cce": False}},
    )

    @model_validator(mode="after")
    def _kind_rules(self, info: ValidationInfo) -> Subject:
        today = None if is_stored(info) else today_from(info)
        unborn = self.kind == "unborn"
        problems = self._unborn_problems(today) if unborn else self._born_problems(today)
        if self.over_18_reason == "other" and not self.over_18_reason_detail:
            problems.append(("over_18_reason_detail", "say why when over_18_reason is other"))
        raise_problems("Subject", problems)
        return self

    def _unborn_problems(self, today: date | None) -> Problems:
        problems: Problems = []
        due = self.expected_due_date
        if due is None:
            problems.append(("expected_due_date", "an unborn subject needs expected_due_date"))
        elif today is None:
            pass
        elif due < today - DUE_DATE_PAST_GRACE:
            problems.append(("expected_due_date", "expected_due_date is too far in the past"))
        elif due > today + DUE_DATE_MAX_AHEAD:
            problems.append(("expected_due_date", "expected_due_date is more than 10 months ahead"))
        if self.date_of_birth is not None:
            problems.append(("date_of_birth", "an unborn subject has no date_of_birth"))
        if self.mother is None:
            problems.append(("mother", "an unborn subject needs the mother's details"))
        return problems

    def _born_problems(self, today: date | None) -> Problems:
        problems: Problems = []
        if self.expected_due_date is not None:
            problems.append(
                ("expected_due_date", "expected_due_date is only for an unborn subject")
            )
        if not self.given_name:
            problems.append(("given_name", "given_name is required unless the subject is unborn"))
        if not self.family_name:
            problems.append(("family_name", "family_name is required unless the subject is unborn"))
        born = self.date_of_birth
        if born is None:
            problems.append(
                ("date_of_birth", "date_of_birth is required unless the subject is unborn")
            )
        elif today is None:
            pass
        elif born > today:
            problems.append(("date_of_birth", "date_of_birth is in the future"))
        elif age_on(born, today) >= MAX_AGE_WITH_REASON + 1:
            problems.append(
                ("date_of_birth", "the subject is over 25: the front door is for children")
            )
        elif age_on(born, today) >= ADULT_AGE and self.over_18_reason is None:
            problems.append(
                (
                    "over_18_reason",
                    "a subject aged 18-25 needs over_18_reason (care leaver or SEND)",
                )
            )
        return problems


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
    # Which child (index into subjects) the concern is about; none: the whole group.
    subject_index: Annotated[int, Field(ge=0, lt=MAX_SUBJECTS)] | None = None
    description: LongText
    when: Text | None = None
    where: Text | None = None
    source: Text | None = None


class Consent(Strict):
    state: ConsentState
    reason: Reason | None = None
    recorded_by: Text
    recorded_at: SafeDatetime

    @model_validator(mode="after")
    def _reason_when_not_asked(self, info: ValidationInfo) -> Consent:
        problems: Problems = []
        if self.state in ("not_sought", "dispensed") and not self.reason:
            problems.append(("reason", f"a reason is required when consent is {self.state}"))
        if not is_stored(info) and self.recorded_at > now_from(info) + CLOCK_SKEW:
            problems.append(("recorded_at", "recorded_at is in the future"))
        raise_problems("Consent", problems)
        return self


# CIN referral sources that are members of the public (the only ones who may stay anonymous).
PUBLIC_SOURCES = frozenset({"1A", "1B", "1C", "1D", "9"})


class Referrer(Strict):
    name: Text | None = None
    role: Text | None = None
    organisation: Text | None = None
    phone: Phone | None = None
    email: Email | None = None
    referral_source: ReferralSource
    wants_feedback: bool = True
    anonymous: bool = False

    @model_validator(mode="after")
    def _anonymity_is_for_the_public(self) -> Referrer:
        problems: Problems = []
        if self.anonymous and self.referral_source not in PUBLIC_SOURCES:
            problems.append(("anonymous", "only members of the public may ask to remain anonymous"))
        if not self.anonymous and not self.name:
            problems.append(("name", "the referrer's name is required unless anonymous"))
        if not self.anonymous and not (self.phone or self.email):
            problems.append(("phone", "a phone number or email is required unless anonymous"))
        raise_problems("Referrer", problems)
        return self


class PhoneFollowUp(Strict):
    call_at: SafeDatetime
    contact_reference: (
        Annotated[str, Field(min_length=1, max_length=40), AfterValidator(_printable)] | None
    ) = None


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
        problems: Problems = []
        for p, person in enumerate(self.household):
            for r, rel in enumerate(person.relationships):
                if rel.subject_index >= len(self.subjects):
                    problems.append(
                        (
                            f"household.{p}.relationships.{r}.subject_index",
                            "names a subject that is not in subjects",
                        )
                    )
        for c, concern in enumerate(self.concerns):
            if concern.subject_index is not None and concern.subject_index >= len(self.subjects):
                problems.append(
                    (f"concerns.{c}.subject_index", "names a subject that is not in subjects")
                )
        problems += self._call_problems(info)
        raise_problems("Marf", problems)
        return self

    def _call_problems(self, info: ValidationInfo) -> Problems:
        call = self.follow_up_to_phone_call
        if call is None or is_stored(info):
            return []
        now, window = now_from(info), call_window_from(info)
        path = "follow_up_to_phone_call.call_at"
        if call.call_at > now + CLOCK_SKEW:
            return [(path, "call_at is in the future")]
        if call.call_at < now - window:
            hours = int(window.total_seconds() // 3600)
            return [
                (
                    path,
                    f"call_at is more than {hours} hours ago: a follow-up that late is a "
                    "new referral (send it without follow_up_to_phone_call)",
                )
            ]
        return []

    @property
    def child_voice_missing(self) -> bool:
        return self.child_voice is None and not any(s.child_voice for s in self.subjects)

    def facts_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
