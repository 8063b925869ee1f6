"""Tables owned by the `triage` service (written only by it; others may read)."""

from __future__ import annotations
