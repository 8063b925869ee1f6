"""Errors of partner checks."""

from __future__ import annotations

from services.errors import Conflict, NotFound, Unprocessable


class CheckNotFound(NotFound):
    detail = "No such check."


class CheckAlreadyRequested(Conflict):
    detail = "A check from this agency is already requested on this contact."


class CheckAlreadyAnswered(Conflict):
    detail = "This check already has a response: it cannot be changed."


class CheckRequestInvalid(Unprocessable):
    detail = "The check request is not valid."


class ContactNotOpen(Conflict):
    detail = "Checks are requested on open contacts only."
