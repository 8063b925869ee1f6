"""The referral service's domain errors (rendered by the platform's one error handler)."""

from __future__ import annotations

from services.errors import Conflict, NotFound, Unprocessable


class ReferralNotFound(NotFound):
    detail = "No referral with this reference was submitted by your agency."


class MarfInvalid(Unprocessable):
    detail = "The MARF is not valid: every failing field is listed."


class AddendumInvalid(Unprocessable):
    detail = "The addendum is not valid: every failing field is listed."


class IdempotencyKeyReused(Unprocessable):
    detail = (
        "This Idempotency-Key was already used with a different body. Send the original body "
        "to get the original response, or use a new key for a new referral."
    )


class IdempotencyKeyInvalid(Unprocessable):
    detail = "Idempotency-Key must be 1-255 printable ASCII characters."


class IdempotencyKeyInFlight(Conflict):
    detail = "A request with this Idempotency-Key is still being processed; retry shortly."
