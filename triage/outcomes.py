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

# Outcomes that need the family's informed consent at levels 2 and 3 (domain §2).
NEEDS_CONSENT = frozenset(
    {"early_help", "family_support", "referral_to_other_agency", "s17_assessment", "signposted"}
)
CONSENT_LEVELS = frozenset({2, 3})
# Outcomes that lead to an initial child protection conference clock.
STRATEGY_OUTCOMES = frozenset({"strategy_discussion", "s47_enquiry"})
