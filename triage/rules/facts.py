"""The facts a rule can test: a closed catalogue, each with its kind and allowed values.

Facts are derived from a contact (see triage.contacts.facts) or supplied for a dry run. The
catalogue is the contract between rule authors and the engine: a rule naming anything else
is refused when the rule set is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from services.contracts.codes import (
    ConcernCategory,
    ConsentState,
    ReferralSource,
    RequestType,
    SubjectKind,
)

ContactKind = Literal["marf", "concern", "dv_notification", "consultation"]
Channel = Literal["phone", "email", "api", "police_feed", "walk_in"]
DashRisk = Literal["standard", "medium", "high"]
FlagName = Literal["cse", "missing", "cce"]

FactKind = Literal["bool", "int", "str", "set"]


@dataclass(frozen=True)
class FactSpec:
    kind: FactKind
    values: frozenset[str] | None = None  # allowed values of a str/set fact
    nullable: bool = False


def _enum(literal: object) -> frozenset[str]:
    return frozenset(get_args(literal))


CATALOGUE: dict[str, FactSpec] = {
    "concern_categories": FactSpec("set", _enum(ConcernCategory)),
    "immediate_risk": FactSpec("bool"),
    "emergency_services_called": FactSpec("bool"),
    "significant_harm_alleged": FactSpec("bool"),
    "subject_kinds": FactSpec("set", _enum(SubjectKind)),
    "subject_count": FactSpec("int"),
    "youngest_age": FactSpec("int", nullable=True),
    "oldest_age": FactSpec("int", nullable=True),
    "unborn": FactSpec("bool"),
    "consent_state": FactSpec("str", _enum(ConsentState), nullable=True),
    "request_type": FactSpec("str", _enum(RequestType), nullable=True),
    "referral_source": FactSpec("str", _enum(ReferralSource), nullable=True),
    "contact_kind": FactSpec("str", _enum(ContactKind)),
    "channel": FactSpec("str", _enum(Channel)),
    "dv_risk_level": FactSpec("str", _enum(DashRisk), nullable=True),
    "flags": FactSpec("set", _enum(FlagName)),
    "previous_referrals_12m": FactSpec("int"),
    "in_office_hours": FactSpec("bool"),
    "referrer_view_of_level": FactSpec("int", nullable=True),
    "disability_or_complex_health": FactSpec("bool"),
    "looked_after": FactSpec("bool"),
    "allegation_against_professional": FactSpec("bool"),
    "child_voice_present": FactSpec("bool"),
}


class Facts(BaseModel):
    """A contact's facts (the dry-run body, and what is stored with each contact)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concern_categories: Annotated[list[ConcernCategory], Field(max_length=20)] = []
    immediate_risk: bool = False
    emergency_services_called: bool = False
    significant_harm_alleged: bool = False
    subject_kinds: Annotated[list[SubjectKind], Field(max_length=20)] = []
    subject_count: Annotated[int, Field(ge=0, le=50)] = 1
    youngest_age: Annotated[int, Field(ge=0, le=25)] | None = None
    oldest_age: Annotated[int, Field(ge=0, le=25)] | None = None
    unborn: bool = False
    consent_state: ConsentState | None = None
    request_type: RequestType | None = None
    referral_source: ReferralSource | None = None
    contact_kind: ContactKind = "marf"
    channel: Channel = "api"
    dv_risk_level: DashRisk | None = None
    flags: Annotated[list[FlagName], Field(max_length=3)] = []
    previous_referrals_12m: Annotated[int, Field(ge=0, le=1000)] = 0
    in_office_hours: bool = True
    referrer_view_of_level: Annotated[int, Field(ge=1, le=10)] | None = None
    disability_or_complex_health: bool = False
    looked_after: bool = False
    allegation_against_professional: bool = False
    child_voice_present: bool = False


assert set(CATALOGUE) == set(Facts.model_fields), "catalogue and Facts must name the same facts"
