"""Tables owned by the `referral` service (written only by it; others may read)."""

from __future__ import annotations
