"""Signature and idempotency key: what a receiver relies on."""

from __future__ import annotations

from connectors.sinks.signing import idempotency_key, sign, verify

# RFC-style known answer: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
KEY = b"key"
BODY = b"The quick brown fox jumps over the lazy dog"
DIGEST = "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"


def test_signature_is_hex_hmac_sha256_of_the_body() -> None:
    assert sign(KEY, BODY) == f"sha256={DIGEST}"


def test_verify_accepts_the_signature_and_refuses_a_changed_body_or_key() -> None:
    signature = sign(KEY, BODY)
    assert verify(KEY, BODY, signature)
    assert not verify(KEY, BODY + b".", signature)
    assert not verify(b"other", BODY, signature)


def test_idempotency_key_names_the_record() -> None:
    assert idempotency_key("omni.view.carts", 3, 1234) == "omni.view.carts/3/1234"
    assert idempotency_key("omni.view.carts", 3, 1234) != idempotency_key(
        "omni.view.carts", 2, 1234
    )
