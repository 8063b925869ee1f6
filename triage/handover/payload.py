"""What a handover event carries (pure): a thin body of ids, type and link, nothing more.

No names, dates of birth, addresses or identifiers of the child: the case system fetches
the record over the authenticated read (`link`), and that read is audited.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime

# Which decisions hand over, and as what (domain §4 outcome codes).
HANDOVER_TYPES = {
    "s17_assessment": "assessment",
    "strategy_discussion": "strategy_discussion",
    "s47_enquiry": "strategy_discussion",
    "immediate_protection": "strategy_discussion",
    "referral_to_other_agency": "transfer",
}
EVENT_PREFIX = "mash.handover."


def message_id(handover_id: uuid.UUID) -> str:
    """Stable across retries, so the receiver deduplicates on `webhook-id`."""
    return "msg_" + hashlib.sha256(f"handover:{handover_id}".encode()).hexdigest()[:32]


def event_body(
    *,
    handover_id: uuid.UUID,
    contact_id: uuid.UUID,
    contact_reference: str,
    handover_type: str,
    outcome: str,
    decided_at: datetime,
    base_url: str,
) -> str:
    body = {
        "type": EVENT_PREFIX + handover_type,
        "timestamp": decided_at.isoformat(),
        "data": {
            "handover_id": str(handover_id),
            "contact_id": str(contact_id),
            "contact_reference": contact_reference,
            "handover_type": handover_type,
            "outcome": outcome,
            "link": f"{base_url.rstrip('/')}/v1/handovers/{handover_id}",
        },
    }
    return json.dumps(body, separators=(",", ":"))
