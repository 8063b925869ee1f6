"""Tables owned by the `notifications` service (written only by it; others may read)."""

from __future__ import annotations
