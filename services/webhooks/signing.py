"""Standard Webhooks signing: pure functions, no I/O (the notifications service's, shared).

Signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the signature is
`v1,<base64 HMAC-SHA256>` with the secret's base64 part decoded as the key. During a secret
rotation both signatures are sent, space-separated, as the specification allows.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
# The spec asks for at least 24 random bytes; 32 is what the issue and Svix use.
SECRET_BYTES = 32


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw + "=" * (-len(raw) % 4))


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of `id.timestamp.body`."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_header(secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per active secret, space-separated."""
    return " ".join(sign(s, message_id, timestamp, body) for s in secrets_)


def message_id_for(notification_id: uuid.UUID, endpoint_id: uuid.UUID | None) -> str:
    """Stable across retries and resends, so receivers can deduplicate on `webhook-id`."""
    seed = f"{notification_id}:{endpoint_id}".encode()
    return "msg_" + hashlib.sha256(seed).hexdigest()[:32]


def webhook_headers(
    secrets_: Sequence[str], message_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, message_id, timestamp, body),
    }
