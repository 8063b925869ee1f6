"""Standard Webhooks signing: the spec's known-answer vector and the reference library."""

from __future__ import annotations

import base64
import uuid

from standardwebhooks.webhooks import Webhook

from services.webhooks.signing import (
    generate_secret,
    message_id_for,
    sign,
    signature_header,
    webhook_headers,
)

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


class TestSign:
    def test_matches_the_specifications_known_answer_vector(self) -> None:
        assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE

    def test_reference_library_produces_the_same_signature(self) -> None:
        from datetime import UTC, datetime

        at = datetime.fromtimestamp(VECTOR_TS, UTC)
        expected = Webhook(VECTOR_SECRET).sign(VECTOR_ID, at, VECTOR_BODY.decode())
        assert expected == VECTOR_SIGNATURE


class TestSecrets:
    def test_generated_secret_is_whsec_and_32_random_bytes(self) -> None:
        secret = generate_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert generate_secret() != secret


class TestRotation:
    def test_both_signatures_are_sent_and_each_secret_verifies(self) -> None:
        import time

        old, new = generate_secret(), generate_secret()
        ts = int(time.time())
        headers = webhook_headers([new, old], "msg_1", ts, b'{"a":1}')
        assert len(headers["webhook-signature"].split(" ")) == 2
        for secret in (old, new):
            assert Webhook(secret).verify(b'{"a":1}', headers) == {"a": 1}

    def test_single_secret_sends_one_signature(self) -> None:
        header = signature_header([VECTOR_SECRET], VECTOR_ID, VECTOR_TS, VECTOR_BODY)
        assert header == VECTOR_SIGNATURE


class TestMessageId:
    def test_is_stable_for_a_notification_and_endpoint(self) -> None:
        n, e = uuid.uuid4(), uuid.uuid4()
        assert message_id_for(n, e) == message_id_for(n, e)
        assert message_id_for(n, e) != message_id_for(n, uuid.uuid4())
        assert message_id_for(n, e).startswith("msg_")
