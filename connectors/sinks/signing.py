"""What a receiver checks: the body's HMAC signature and the idempotency key.

The signature is ``sha256=<hex HMAC-SHA256 of the raw body>`` under the
endpoint's secret (GitHub's and Stripe's shape, so receivers have libraries
for it). The idempotency key names the Kafka record (topic/partition/offset):
a redelivery after a crash or a retry carries the same key, so a receiver
that remembers keys applies each change once.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Omni-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
VIEW_HEADER = "X-Omni-View"
ATTEMPT_HEADER = "X-Omni-Attempt"
SIGNATURE_PREFIX = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    """The signature header value for ``body``."""
    return SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, signature: str) -> bool:
    """Constant-time check of a signature header (what a receiver does)."""
    return hmac.compare_digest(sign(secret, body), signature)


def idempotency_key(topic: str, partition: int, offset: int) -> str:
    """Stable per Kafka record, whichever attempt or redelivery carries it."""
    return f"{topic}/{partition}/{offset}"
