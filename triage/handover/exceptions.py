"""Errors of the handover to the case-management system."""

from __future__ import annotations

from services.errors import NotFound


class HandoverNotFound(NotFound):
    detail = "No such handover."
