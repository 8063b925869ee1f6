"""Domain errors of the triage service (rendered by the platform's one handler)."""

from __future__ import annotations

from services.errors import Conflict, NotFound, Unprocessable


class ContactNotFound(NotFound):
    detail = "No such contact."


class RuleSetNotFound(NotFound):
    detail = "No such rule set."


class ClockNotFound(NotFound):
    detail = "No such clock on this contact."


class RuleSetInvalid(Unprocessable):
    detail = "The rule set is not valid."


class DecisionInvalid(Unprocessable):
    detail = "The decision is not complete."


class RuleSetPublished(Conflict):
    detail = "A published rule set is immutable: create a new version to change it."


class NoActiveRuleSet(Conflict):
    detail = "The council has no published rule set."


class ContactLeased(Conflict):
    detail = "Another worker holds this contact."


class LeaseRequired(Conflict):
    detail = "Claim the contact before recording a decision."


class WrongContactState(Conflict):
    detail = "The contact is not in a state that allows this."


class SelfSignOff(Conflict):
    detail = "A decision is signed off by a manager other than the one who made it."


class ClockStateConflict(Conflict):
    detail = "The clock is not in a state that allows this."


class ClockMetInvalid(Unprocessable):
    detail = "The time the clock was met is not valid."


class ScreeningConflict(Conflict):
    detail = "The DV screening is not in a state that allows this."


class FollowUpClaimNotFound(NotFound):
    detail = "This contact has no unreconciled claim to follow up a phone contact."
