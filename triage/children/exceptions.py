"""Errors of the child's record."""

from __future__ import annotations

from services.errors import Conflict, NotFound, Unprocessable


class ChildNotFound(NotFound):
    detail = "No such child."


class LinkNotFound(NotFound):
    detail = "No such match of a contact to a child."


class LinkStateConflict(Conflict):
    detail = "This match is not in a state that allows this."


class FlagUnchanged(Conflict):
    detail = "The flag already has this value: a change records a different one."


class FlagInvalid(Unprocessable):
    detail = "The flag change is not valid."


class SearchInvalid(Unprocessable):
    detail = "The search is not valid."
