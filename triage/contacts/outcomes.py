"""What the referrer is told about each outcome, in plain words (no other agency's detail)."""

from __future__ import annotations

OUTCOME_SUMMARY: dict[str, tuple[str, str]] = {
    "nfa": (
        "No further action by children's social care.",
        "The reason has been recorded; please contact us again if anything changes.",
    ),
    "advice_given": (
        "We gave advice about the concern.",
        "Please continue to support the family using the advice given.",
    ),
    "signposted": (
        "The family has been signposted to a universal or community service.",
        "Please encourage the family to take up the service they were pointed to.",
    ),
    "early_help": (
        "The family will be offered early help.",
        "An early help worker will contact the family; you may be asked to help.",
    ),
    "family_support": (
        "The family will be offered family support.",
        "A family support worker will contact the family.",
    ),
    "referral_to_other_agency": (
        "The concern has been passed to another agency better placed to help.",
        "That agency will contact the family.",
    ),
    "lado": (
        "The concern has been passed to the Local Authority Designated Officer (LADO).",
        "The LADO will contact you about the allegation.",
    ),
    "s17_assessment": (
        "A social worker will assess the child's needs (a child in need assessment).",
        "A social worker will be allocated and may contact you for information.",
    ),
    "strategy_discussion": (
        "A strategy discussion will be held about the child's safety.",
        "You may be invited to contribute to the strategy discussion.",
    ),
    "s47_enquiry": (
        "A child protection enquiry (section 47) has started.",
        "A social worker will lead the enquiry and may contact you.",
    ),
    "immediate_protection": (
        "Action has been taken to protect the child immediately.",
        "A social worker will lead the next steps and may contact you.",
    ),
}

# Outcomes that need no consent: advice, signposting (the family chooses whether to go) and
# NFA with its reason. Every other outcome shares information or starts a service, which at
# levels 2 and 3 needs the family's informed consent (domain §2).
NO_CONSENT_OUTCOMES = frozenset({"advice_given", "signposted", "nfa"})
CONSENT_LEVELS = frozenset({2, 3})
# Significant harm: consent is not required, but proceeding without it is recorded (the
# reason and who decided).
SIGNIFICANT_HARM_LEVEL = 4

_ALL = (1, 2, 3, 4)
_UP_TO_2, _UP_TO_3 = (1, 2), (1, 2, 3)
_CLOSE = {"nfa": _ALL, "advice_given": _ALL, "signposted": _ALL}
# The default table of consistent decisions: contact type -> outcome -> the levels at which
# that outcome fits (Bradford's Continuum). An advice/information contact is a consultation:
# if the need is higher it is a referral, never an s47 enquiry on an advice contact. A
# notification or early help request above level 3 is a referral. Councils may replace it
# with their own (`allowed_decisions` in the council's settings).
DEFAULT_ALLOWED_DECISIONS: dict[str, dict[str, tuple[int, ...]]] = {
    "referral": {
        **_CLOSE,
        "early_help": (2, 3, 4),
        "family_support": (2, 3, 4),
        "referral_to_other_agency": _ALL,
        "lado": _ALL,
        "s17_assessment": (3, 4),
        "strategy_discussion": (4,),
        "s47_enquiry": (4,),
        "immediate_protection": (4,),
    },
    "advice_information": {
        "nfa": _UP_TO_2,
        "advice_given": _UP_TO_2,
        "signposted": _UP_TO_2,
        "referral_to_other_agency": _UP_TO_2,
    },
    "notification": {
        "nfa": _UP_TO_3,
        "advice_given": _UP_TO_3,
        "signposted": _UP_TO_3,
        "early_help": (2, 3),
        "referral_to_other_agency": _UP_TO_3,
    },
    "early_help_request": {
        "nfa": _UP_TO_3,
        "advice_given": _UP_TO_3,
        "signposted": _UP_TO_3,
        "early_help": (2, 3),
        "family_support": (2, 3),
        "referral_to_other_agency": _UP_TO_3,
    },
    "lado": {
        **_CLOSE,
        "lado": _ALL,
        "referral_to_other_agency": _ALL,
        "strategy_discussion": (4,),
        "s47_enquiry": (4,),
    },
    "other": {
        "nfa": _UP_TO_2,
        "advice_given": _UP_TO_2,
        "signposted": _UP_TO_2,
        "referral_to_other_agency": _UP_TO_2,
    },
}
# Outcomes that lead to an initial child protection conference clock.
STRATEGY_OUTCOMES = frozenset({"strategy_discussion", "s47_enquiry"})
