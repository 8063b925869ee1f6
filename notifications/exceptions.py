"""The notifications service's domain errors (rendered by the platform's one handler)."""

from __future__ import annotations

from services.errors import Conflict, Forbidden, NotFound, Unprocessable


class SchoolNotFound(NotFound):
    detail = "No such school."


class SchoolExists(Conflict):
    detail = "A school with this URN is already in the directory."


class EndpointNotFound(NotFound):
    detail = "No such endpoint."


class EndpointDisabled(Conflict):
    detail = "The endpoint is disabled: re-enable it first."


class NotificationNotFound(NotFound):
    detail = "No such notification."


class UnsafeEndpointUrl(Unprocessable):
    detail = "The endpoint URL may not be delivered to."


class InvalidCsv(Unprocessable):
    detail = "The CSV could not be read."


class NotEditableByRole(Forbidden):
    detail = "A school's DSL may change only the school's contacts and endpoints."


class WelfareCheckInvalid(Unprocessable):
    detail = "The welfare check is not valid."


class InvalidSchoolUpdate(Unprocessable):
    detail = "Some fields are not valid."


class InvalidTerms(Unprocessable):
    detail = "The term dates are not valid."
