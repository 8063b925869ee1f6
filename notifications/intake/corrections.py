"""A police resend of a known incident: which child it is, what changed, whether to tell.

The same police reference resent is the same incident. A child in the resend is the same child
as an existing notification when its name and date of birth match (the idempotency key) or,
failing that, when its name alone matches exactly one notification of the incident that no
other child of the resend matched (a corrected or added date of birth). Anything else is a new
child (a new notification): a misspelt name is told twice rather than two children merged.

A value the resend leaves out is not a correction (the police did not say it changed). The
school is told again only when a field it can see changed: the incident's time always, the
rest per the force's sharing configuration.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from notifications.intake.schemas import ChildIn, IncidentIn, SharingConfig
from services.models.notifications import Incident, Notification

CHILD_FIELDS = ("given_name", "family_name", "date_of_birth", "present", "spoken_to", "child_voice")
INCIDENT_FIELDS = ("incident_at", "area", "adult_roles", "circumstances")
# Which sharing flag lets a school see each field (the detail view, alerts.service.get_detail).
SHARED_BY = {
    "given_name": "share_name",
    "family_name": "share_name",
    "date_of_birth": "share_date_of_birth",
    "present": "share_present",
    "spoken_to": "share_spoken_to",
    "child_voice": "share_child_voice",
    "area": "share_circumstances",
    "adult_roles": "share_circumstances",
    "circumstances": "share_circumstances",
}
# Always shown: the webhook, the email and the list carry the incident's date and time.
ALWAYS_SEEN = frozenset({"incident_at"})

Changes = dict[str, tuple[Any, Any]]


def normalised(value: str) -> str:
    folded = unicodedata.normalize("NFKD", value).casefold()
    return "".join(c for c in folded if c.isalnum())


def same_child_by_name(candidates: Sequence[Notification], child: ChildIn) -> Notification | None:
    """The one unmatched notification with this child's name; None when none or ambiguous."""
    given, family = normalised(child.given_name), normalised(child.family_name)
    found = [
        n
        for n in candidates
        if normalised(n.given_name) == given and normalised(n.family_name) == family
    ]
    return found[0] if len(found) == 1 else None


def child_changes(notification: Notification, child: ChildIn) -> Changes:
    out: Changes = {}
    for name in CHILD_FIELDS:
        new = getattr(child, name)
        old = getattr(notification, name)
        if new is not None and new != old:
            out[name] = (old, new)
    return out


def incident_changes(incident: Incident, data: IncidentIn) -> Changes:
    out: Changes = {}
    for name in INCIDENT_FIELDS:
        new = getattr(data, name)
        old = getattr(incident, name)
        if name == "adult_roles":
            new, old = (list(new) or None), list(old or [])
        if new is not None and new != old:
            out[name] = (old, new)
    return out


def school_sees(fields: Iterable[str], share: SharingConfig) -> bool:
    return any(
        f in ALWAYS_SEEN or (f in SHARED_BY and bool(getattr(share, SHARED_BY[f]))) for f in fields
    )


def jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def previous_values(changes: Changes) -> dict[str, object]:
    """The values before the correction, for the history (stored, never sent)."""
    return {name: jsonable(old) for name, (old, _) in changes.items()}
