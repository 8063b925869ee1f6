"""Errors of strategy discussions."""

from __future__ import annotations

from services.errors import Conflict, NotFound, Unprocessable


class DiscussionNotFound(NotFound):
    detail = "No such strategy discussion on this contact."


class ActionNotFound(NotFound):
    detail = "No such action on this strategy discussion."


class ActionAlreadyDone(Conflict):
    detail = "This action is already recorded as done."


class DiscussionInvalid(Unprocessable):
    detail = "The strategy discussion record is not complete."
