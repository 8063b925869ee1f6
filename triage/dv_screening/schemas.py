"""Bodies of the DV lane's screening: a screener's view, a manager's resolution."""

from __future__ import annotations

from typing import Literal

from triage.contacts.schemas import LongText, _In

ScreeningRoute = Literal["mash", "early_help", "advice", "none"]


class ScreeningCreate(_In):
    route_to: ScreeningRoute
    encompass: bool = False
    rationale: LongText


class ScreeningResolution(_In):
    """A team manager's route where the police and social work screeners disagree."""

    route_to: ScreeningRoute
    rationale: LongText
