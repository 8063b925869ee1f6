"""Errors of case notes."""

from __future__ import annotations

from services.errors import Unprocessable


class NoteInvalid(Unprocessable):
    detail = "The note is not valid."
