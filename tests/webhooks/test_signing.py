"""Signatures as Standard Webhooks specify (SPEC section 8), held to the library's published
test vectors."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re

from standardwebhooks import Webhook

from webhooks.services import signature_headers, webhook_secret_generate

# The published test vector of Standard Webhooks: github.com/standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py, test_sign_function (the same values are used by
# the other languages' libraries in that repository).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_PAYLOAD = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_headers_carry_the_published_signature_of_the_test_vector():
    moment = dt.datetime.fromtimestamp(VECTOR_TIMESTAMP, tz=dt.UTC)
    headers = signature_headers(
        secret=VECTOR_SECRET, event_id=VECTOR_MSG_ID, moment=moment, body=VECTOR_PAYLOAD.encode()
    )
    assert headers == {
        "webhook-id": VECTOR_MSG_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }


def test_the_signature_is_the_hmac_the_spec_describes():
    """SPEC section 8 in plain hmac: keyed with the base64-decoded secret after whsec_, over
    {id}.{timestamp}.{body}, written v1, + base64."""
    key = base64.b64decode(VECTOR_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{VECTOR_MSG_ID}.{VECTOR_TIMESTAMP}.{VECTOR_PAYLOAD}".encode(), hashlib.sha256).digest()
    assert "v1," + base64.b64encode(digest).decode() == VECTOR_SIGNATURE


def test_a_new_secret_is_whsec_and_24_random_bytes_in_base64():
    secret = webhook_secret_generate()
    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{32}", secret)
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    assert webhook_secret_generate() != secret


def test_a_receiver_verifies_what_the_portal_signs():
    secret = webhook_secret_generate()
    body = b'{"type":"webhook.test","timestamp":"2026-11-21T15:00:00Z","data":{}}'
    headers = signature_headers(secret=secret, event_id="msg_abc", moment=dt.datetime.now(dt.UTC), body=body)
    assert Webhook(secret).verify(body, headers) == {
        "type": "webhook.test",
        "timestamp": "2026-11-21T15:00:00Z",
        "data": {},
    }
