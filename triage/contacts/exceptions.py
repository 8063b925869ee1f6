"""The contacts feature's errors (rendered by the platform's one handler)."""

from __future__ import annotations

from services.errors import Conflict, NotFound, Unprocessable


class ContactNotFound(NotFound):
    detail = "No such contact."


class DecisionInvalid(Unprocessable):
    detail = "The decision is not complete."


class ContactLeased(Conflict):
    detail = "Another worker holds this contact."


class LeaseRequired(Conflict):
    detail = "Claim the contact before recording a decision."


class WrongContactState(Conflict):
    detail = "The contact is not in a state that allows this."


class SelfSignOff(Conflict):
    detail = "A decision is signed off by a manager other than the one who made it."
