"""Webhook secrets at rest: AES-256-GCM with the service's key (never stored in clear).

The worker must sign with the secret, so a one-way hash will not do; the database alone (a
dump, a replica, a backup) does not reveal secrets without `NOTIFICATIONS_SECRET_KEY`.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_AAD = b"frontdoor.notif_endpoints.secret.v1"


def encrypt(key: bytes, secret: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, secret.encode(), _AAD)
    return base64.b64encode(nonce + sealed).decode()


def decrypt(key: bytes, stored: str) -> str:
    raw = base64.b64decode(stored)
    return AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _AAD).decode()
