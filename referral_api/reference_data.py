"""The code lists partner systems need, with names in plain words. Pure data."""

from __future__ import annotations

from typing import Any, get_args

from referral_api.schemas import CodeName, ReferenceData
from services.contracts.codes import (
    REFERRAL_SOURCE_NAMES,
    ConcernCategory,
    ConsentState,
    EducationStatus,
    GenderCode,
    Over18Reason,
    RequestType,
    SubjectKind,
)
from services.contracts.codes import Relationship as RelationshipCode

NAMES: dict[str, dict[str, str]] = {
    "request_types": {
        "safety_and_wellbeing": "Concern about a child's safety and wellbeing",
        "complex_health_disability_assessment": "Assessment for complex health needs or disability",
    },
    "subject_kinds": {
        "unborn": "Unborn baby (give the expected due date and the mother's details)",
        "child": "Child",
        "young_person": "Young person",
    },
    "gender_codes": {"0": "Not known", "1": "Male", "2": "Female", "9": "Not specified"},
    "concern_categories": {
        "domestic_abuse": "Domestic abuse",
        "neglect": "Neglect",
        "physical_abuse": "Physical abuse",
        "sexual_abuse": "Sexual abuse",
        "emotional_abuse": "Emotional abuse",
        "cse": "Child sexual exploitation",
        "cce": "Child criminal exploitation",
        "missing": "Missing from home, care or education",
        "self_harm": "Self-harm",
        "substance_misuse": "Substance misuse",
        "parental_mental_health": "Parental mental health",
        "fgm": "Female genital mutilation",
        "radicalisation": "Radicalisation",
        "private_fostering": "Private fostering",
        "ehe": "Elective home education",
        "other": "Other (describe it)",
    },
    "consent_states": {
        "given": "Consent to share information was given",
        "refused": "Consent was refused",
        "not_sought": "Consent was not sought (give the reason)",
        "dispensed": "Consent dispensed with: seeking it would place the child at risk of "
        "significant harm (give the reason)",
    },
    "relationship_types": {
        "mother": "Mother",
        "father": "Father",
        "step_parent": "Step-parent",
        "parent_partner": "Parent's partner",
        "sibling": "Sibling",
        "half_sibling": "Half-sibling",
        "grandparent": "Grandparent",
        "aunt_uncle": "Aunt or uncle",
        "other_relative": "Other relative",
        "foster_carer": "Foster carer",
        "special_guardian": "Special guardian",
        "friend_of_family": "Friend of the family",
        "lodger": "Lodger",
        "other": "Other",
    },
    "education_statuses": {
        "on_roll": "On a school roll",
        "ehe": "Electively home educated",
        "cme": "Child missing education",
        "not_school_age": "Not of school age",
        "post_16": "Post-16 education or training",
        "unknown": "Not known",
    },
    "over_18_reasons": {
        "care_leaver": "Care leaver (up to 25)",
        "send": "Special educational needs and disability (up to 25)",
        "other": "Other (describe it)",
    },
    "continuum_levels": {
        "1": "Universal: needs met by universal services",
        "2": "Universal Partnership Plus: additional needs, met by an agency or jointly",
        "3": "Targeted Support: complex needs needing assessment",
        "4": "Statutory / Specialist: significant harm suffered or likely",
    },
    "referral_statuses": {
        "received": "Received: waiting for the front door",
        "in_triage": "Being screened by the front door",
        "decided": "Decided: see the outcome and next steps",
    },
}

# The code lists that must match the MARF's own Literal types exactly.
CODE_TYPES: dict[str, Any] = {
    "request_types": RequestType,
    "subject_kinds": SubjectKind,
    "gender_codes": GenderCode,
    "concern_categories": ConcernCategory,
    "consent_states": ConsentState,
    "relationship_types": RelationshipCode,
    "education_statuses": EducationStatus,
    "over_18_reasons": Over18Reason,
}


def _codes(list_name: str) -> list[CodeName]:
    names = NAMES[list_name]
    codes = get_args(CODE_TYPES[list_name]) if list_name in CODE_TYPES else tuple(names)
    return [CodeName(code=code, name=names[code]) for code in codes]


def reference_data() -> ReferenceData:
    sources = [CodeName(code=c, name=n) for c, n in REFERRAL_SOURCE_NAMES.items()]
    lists = {name: _codes(name) for name in NAMES}
    return ReferenceData(referral_sources=sources, **lists)
