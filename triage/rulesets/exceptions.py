"""The rule sets' errors (rendered by the platform's one handler)."""

from __future__ import annotations

from services.errors import Conflict, NotFound, Unprocessable


class RuleSetNotFound(NotFound):
    detail = "No such rule set."


class RuleSetInvalid(Unprocessable):
    detail = "The rule set is not valid."


class RuleSetPublished(Conflict):
    detail = "A published rule set is immutable: create a new version to change it."


class NoActiveRuleSet(Conflict):
    detail = "The council has no published rule set."
