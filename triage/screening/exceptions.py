"""Errors of RAG screening."""

from __future__ import annotations

from services.errors import Conflict


class RagUnchanged(Conflict):
    detail = "The contact already has this RAG rating: a review records a change."


class ContactClosed(Conflict):
    detail = "The contact is decided: its RAG rating can no longer change."
