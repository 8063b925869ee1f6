"""Code lists shared by partner systems and the front door, in the domain's own words.

CIN census codes are used where they exist so data exports cleanly to the census.
"""

from __future__ import annotations

from typing import Literal

RequestType = Literal["safety_and_wellbeing", "complex_health_disability_assessment"]
SubjectKind = Literal["unborn", "child", "young_person"]
ConsentState = Literal["given", "refused", "not_sought", "dispensed"]
EducationStatus = Literal["on_roll", "ehe", "cme", "not_school_age", "post_16", "unknown"]
# CIN census gender: 0 not known, 1 male, 2 female, 9 not specified.
GenderCode = Literal["0", "1", "2", "9"]
ConcernCategory = Literal[
    "domestic_abuse",
    "neglect",
    "physical_abuse",
    "sexual_abuse",
    "emotional_abuse",
    "cse",
    "cce",
    "missing",
    "self_harm",
    "substance_misuse",
    "parental_mental_health",
    "fgm",
    "radicalisation",
    "private_fostering",
    "ehe",
    "other",
]
Relationship = Literal[
    "mother",
    "father",
    "step_parent",
    "parent_partner",
    "sibling",
    "half_sibling",
    "grandparent",
    "aunt_uncle",
    "other_relative",
    "foster_carer",
    "special_guardian",
    "friend_of_family",
    "lodger",
    "other",
]
Over18Reason = Literal["care_leaver", "send", "other"]
ReferralSource = Literal[
    "1A",
    "1B",
    "1C",
    "1D",
    "2A",
    "2B",
    "3A",
    "3B",
    "3C",
    "3D",
    "3E",
    "3F",
    "4",
    "5A",
    "5B",
    "5C",
    "5D",
    "6",
    "7",
    "8",
    "9",
    "10",
]

REFERRAL_SOURCE_NAMES: dict[str, str] = {
    "1A": "Individual: family member, relative or carer",
    "1B": "Individual: acquaintance (including neighbours and child minders)",
    "1C": "Individual: self",
    "1D": "Individual: other",
    "2A": "Schools",
    "2B": "Education services",
    "3A": "Health services: GP",
    "3B": "Health services: health visitor",
    "3C": "Health services: school nurse",
    "3D": "Health services: other primary health services",
    "3E": "Health services: A&E",
    "3F": "Health services: other",
    "4": "Housing",
    "5A": "LA services: social care",
    "5B": "LA services: other internal",
    "5C": "LA services: external",
    "5D": "LA services: early help",
    "6": "Police",
    "7": "Other legal agency",
    "8": "Other",
    "9": "Anonymous",
    "10": "Unknown",
}

# CIN census ethnicity codes (DfE common basic data set: the 18 categories of the 2011
# census plus refused and not yet obtained). A four-letter shape is not enough: ZZZZ is no code.
CIN_ETHNICITY: dict[str, str] = {
    "WBRI": "White British",
    "WIRI": "White Irish",
    "WIRT": "Traveller of Irish heritage",
    "WOTH": "Any other White background",
    "WROM": "Gypsy/Roma",
    "MWBC": "White and Black Caribbean",
    "MWBA": "White and Black African",
    "MWAS": "White and Asian",
    "MOTH": "Any other mixed background",
    "AIND": "Indian",
    "APKN": "Pakistani",
    "ABAN": "Bangladeshi",
    "AOTH": "Any other Asian background",
    "BCRB": "Black Caribbean",
    "BAFR": "Black African",
    "BOTH": "Any other Black background",
    "CHNE": "Chinese",
    "OOTH": "Any other ethnic group",
    "REFU": "Refused",
    "NOBT": "Information not yet obtained",
}
