"""Dependency aliases of the referral API, declared once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path

from referral_api.settings import ReferralSettings, get_referral_settings
from services.auth import Principal, Role, require_roles


async def referral_settings() -> ReferralSettings:
    # async: a plain function dependency would hop to the thread pool on every request.
    return get_referral_settings()


ReferrerDep = Annotated[Principal, Depends(require_roles(Role.referrer))]
SettingsDep = Annotated[ReferralSettings, Depends(referral_settings)]
ReferencePath = Annotated[
    str,
    Path(
        description="The referral's reference, as the receipt gave it (`FD-2026-000123`).",
        examples=["FD-2026-000123"],
    ),
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Any unique string (a UUID is ideal). The same key with the same body "
        "returns the original response; with a different body it is refused. Kept at least "
        "24 hours.",
    ),
]
