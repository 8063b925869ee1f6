"""The demo council's published rule set: Bradford's Continuum of Need as a decision table.

Plain-words version in docs/continuum-rules.md. Order matters: the first rule that sets a
field wins, so the most serious situations come first.
"""

from __future__ import annotations

from typing import Any

HARM_CATEGORIES = ["physical_abuse", "sexual_abuse", "fgm"]
EXPLOITATION = ["cse", "cce", "missing"]


def _rule(rule_id: str, when: dict[str, Any], **then: object) -> dict[str, Any]:
    return {"id": rule_id, "when": when, "then": then}


def _c(fact: str, op: str, value: Any = None) -> dict[str, Any]:
    cond: dict[str, Any] = {"fact": fact, "op": op}
    if value is not None:
        cond["value"] = value
    return cond


BRADFORD_RULES: list[dict[str, Any]] = [
    _rule(
        "out-of-hours-immediate-risk",
        {"all": [_c("immediate_risk", "is_true"), _c("in_office_hours", "is_false")]},
        level=4,
        lane="out_of_hours",
        contact_type="referral",
        rag="red",
        reason="Immediate risk outside office hours: the Emergency Duty Team acts now.",
    ),
    _rule(
        "immediate-risk",
        {"all": [_c("immediate_risk", "is_true")]},
        level=4,
        lane="mash",
        contact_type="referral",
        rag="red",
        reason="The referrer says the child is at immediate risk.",
    ),
    _rule(
        "lado-allegation",
        {"all": [_c("allegation_against_professional", "is_true")]},
        level=4,
        lane="lado",
        contact_type="lado",
        rag="red",
        reason="An allegation against someone who works with children goes to the LADO.",
    ),
    _rule(
        "significant-harm-alleged",
        {
            "any": [
                _c("significant_harm_alleged", "is_true"),
                _c("concern_categories", "contains_any", HARM_CATEGORIES),
            ]
        },
        level=4,
        lane="mash",
        contact_type="referral",
        rag="red",
        reason="Physical or sexual abuse or FGM alleged: significant harm is likely (level 4).",
    ),
    _rule(
        "dv-high-risk",
        {"all": [_c("contact_kind", "eq", "dv_notification"), _c("dv_risk_level", "eq", "high")]},
        level=4,
        lane="mash",
        contact_type="referral",
        rag="red",
        reason="A high-risk (DASH) domestic abuse notification goes straight to the MASH.",
    ),
    _rule(
        "dv-notification",
        {"all": [_c("contact_kind", "eq", "dv_notification")]},
        lane="dv_screening",
        contact_type="notification",
        rag="amber",
        reason="Police DV notifications at standard or medium risk are screened jointly first.",
    ),
    _rule(
        "exploitation-or-missing",
        {"all": [_c("flags", "contains_any", EXPLOITATION)]},
        level=4,
        lane="mash",
        contact_type="referral",
        rag="red",
        reason="Exploitation (CSE/CCE) or a missing child: a MASH strategy response.",
    ),
    _rule(
        "unborn-with-concerns",
        {
            "all": [_c("unborn", "is_true")],
            "any": [
                _c(
                    "concern_categories",
                    "contains_any",
                    ["domestic_abuse", "substance_misuse", "parental_mental_health", "neglect"],
                )
            ],
        },
        level=3,
        lane="mash",
        contact_type="referral",
        rag="amber",
        reason="An unborn baby with parental risk factors needs a pre-birth assessment view.",
    ),
    _rule(
        "chronic-pattern",
        {"all": [_c("previous_referrals_12m", "gte", 2)]},
        level=3,
        lane="mash",
        contact_type="referral",
        rag="amber",
        reason="Two or more referrals in 12 months: see the cumulative pattern.",
    ),
    _rule(
        "neglect-or-domestic-abuse",
        {
            "all": [
                _c(
                    "concern_categories",
                    "contains_any",
                    ["neglect", "domestic_abuse", "emotional_abuse"],
                )
            ]
        },
        level=3,
        lane="mash",
        contact_type="referral",
        rag="amber",
        reason="Neglect, domestic abuse or emotional abuse: complex needs that need assessment.",
    ),
    _rule(
        "complex-health-assessment",
        {"all": [_c("request_type", "eq", "complex_health_disability_assessment")]},
        level=3,
        lane="early_help",
        contact_type="early_help_request",
        rag="green",
        reason="A request for a complex health or disability assessment (targeted support).",
    ),
    _rule(
        "consultation",
        {"all": [_c("contact_kind", "eq", "consultation")]},
        level=1,
        lane="advice",
        contact_type="advice_information",
        rag="green",
        reason="A professional consultation: advice on the Continuum, no front-door service.",
    ),
    _rule(
        "additional-needs",
        {
            "all": [
                _c(
                    "concern_categories",
                    "contains_any",
                    [
                        "parental_mental_health",
                        "substance_misuse",
                        "self_harm",
                        "private_fostering",
                        "ehe",
                        "radicalisation",
                    ],
                )
            ]
        },
        level=2,
        lane="early_help",
        contact_type="early_help_request",
        rag="green",
        reason="Additional needs that an agency can meet with early help (consent needed).",
    ),
    _rule(
        "referrer-sees-level-4",
        {"all": [_c("referrer_view_of_level", "eq", 4)]},
        level=4,
        lane="mash",
        contact_type="referral",
        rag="amber",
        reason="The referrer judges the need to be at level 4.",
    ),
]

BRADFORD_RULE_SET: dict[str, Any] = {
    "levels": [
        {"level": 1, "name": "Universal", "description": "Needs met by universal services."},
        {
            "level": 2,
            "name": "Universal Partnership Plus",
            "description": "Additional needs met by an agency or jointly (consent).",
        },
        {
            "level": 3,
            "name": "Targeted Support",
            "description": "Complex needs needing assessment; development at high risk.",
        },
        {
            "level": 4,
            "name": "Statutory / Specialist",
            "description": "Significant harm suffered or likely: s17/s47, strategy discussion.",
        },
    ],
    "defaults": {"level": 1, "lane": "advice", "contact_type": "other", "rag": "green"},
    "rules": BRADFORD_RULES,
}
