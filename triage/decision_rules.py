"""The checks a decision must pass (pure): every failing field with its path and reason."""

from __future__ import annotations

from collections.abc import Collection

from services.errors import FieldError
from triage.outcomes import CONSENT_LEVELS, NEEDS_CONSENT
from triage.schemas.contacts import DecisionCreate


def decision_errors(
    body: DecisionCreate, *, levels: Collection[int], contact_consent: str | None
) -> list[FieldError]:
    errors: list[FieldError] = []
    if body.outcome == "nfa" and not body.nfa_reason:
        errors.append(FieldError(path="nfa_reason", reason="NFA needs a reason"))
    if body.outcome != "nfa" and body.primary_need_code is None:
        errors.append(
            FieldError(path="primary_need_code", reason="required unless the outcome is NFA")
        )
    if body.level not in levels:
        errors.append(FieldError(path="level", reason="not a level of the council's Continuum"))
    consent = body.consent_state or contact_consent
    needs_consent = body.outcome in NEEDS_CONSENT and body.level in CONSENT_LEVELS
    if needs_consent and consent != "given" and not body.consent_reason:
        errors.append(
            FieldError(
                path="consent_reason",
                reason="this outcome needs informed consent at levels 2-3: "
                "record consent given or the reason to proceed without it",
            )
        )
    if body.consent_given_by and body.consent_state not in ("given", "refused"):
        errors.append(
            FieldError(
                path="consent_given_by",
                reason="only for consent given or refused, recorded with the decision",
            )
        )
    return errors
