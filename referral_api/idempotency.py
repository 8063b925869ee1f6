"""Idempotency: the `Idempotency-Key` header's shape, and the request hash a key is bound to.
Pure. (The referral list's cursors are the platform's: `services.paging`.)"""

from __future__ import annotations

import hashlib
import json
import math

import orjson

from referral_api.exceptions import IdempotencyKeyInvalid

_KEY_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))
MAX_KEY_LENGTH = 255


def check_idempotency_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not set(key) <= _KEY_CHARS:
        raise IdempotencyKeyInvalid()
    return key


def request_hash(body: object) -> str:
    """The same JSON body (whatever its key order or spacing) always gives the same hash."""
    return hashlib.sha256(canonical_json(body)).hexdigest()


def canonical_json(body: object) -> bytes:
    """The body as compact JSON with sorted keys: orjson's (six times faster than the standard
    library's), or, for what orjson cannot write faithfully (integers beyond 64 bits, lone
    surrogates, NaN and infinities, which it writes as null), the standard library's behind a
    NUL byte, which no JSON text contains, so the two forms never collide."""
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return _canonical_exact(body)
    if b"null" in canonical and not _finite(body):
        return _canonical_exact(body)
    return canonical


def _canonical_exact(body: object) -> bytes:
    return b"\x00" + _standard_form(body)


def _standard_form(body: object) -> bytes:
    """The standard library's canonical JSON: sorted keys, compact, ASCII with escapes."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode()


def _finite(value: object) -> bool:
    """No NaN or infinity anywhere in a parsed JSON value."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True
