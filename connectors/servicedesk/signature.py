"""The webhook's signature: who may post, and not twice.

A request carries ``X-Omni-Timestamp: <unix seconds>`` and
``X-Omni-Signature: sha256=<hex>``, the HMAC-SHA256 under a shared secret of
the timestamp, a dot and the raw body (``b"1700000000." + body``). Signing the
timestamp with the body is what makes the replay window hold: a captured
request cannot be re-sent later with a fresh timestamp. Requests whose
timestamp is more than ``tolerance_s`` (default 300) from our clock are
refused. Several secrets may be configured, so one can be rotated: any match.
The comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from connectors.core.exceptions import Unauthorized

SIGNATURE_HEADER = "X-Omni-Signature"
TIMESTAMP_HEADER = "X-Omni-Timestamp"
PREFIX = "sha256="


def signed_content(timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + b"." + body


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Omni-Signature`` value a sender puts on ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), signed_content(timestamp, body), hashlib.sha256)
    return PREFIX + digest.hexdigest()


def signed_headers(secret: str, body: bytes, now_s: float) -> dict[str, str]:
    """Both headers for a request sent now (what the simulator and tests send)."""
    timestamp = str(int(now_s))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify(
    secrets: Sequence[str],
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now_s: float,
    tolerance_s: int,
) -> None:
    """Return if the request is authentic and fresh; ``Unauthorized`` saying why otherwise."""
    if not secrets:
        raise Unauthorized(
            "no signing secret is configured (OMNI_CONNECTORS__SERVICE_DESK__SECRETS)"
        )
    if not signature:
        raise Unauthorized(f"missing {SIGNATURE_HEADER} header (sha256=<hex HMAC>)")
    if not signature.startswith(PREFIX):
        raise Unauthorized(f"{SIGNATURE_HEADER} must be 'sha256=<hex HMAC-SHA256>'")
    if not timestamp:
        raise Unauthorized(f"missing {TIMESTAMP_HEADER} header (unix seconds)")
    sent_at = _timestamp(timestamp)
    skew = abs(now_s - sent_at)
    if skew > tolerance_s:
        raise Unauthorized(
            f"{TIMESTAMP_HEADER} is {int(skew)} s away from now; the limit is {tolerance_s} s"
        )
    offered = signature.strip().encode()
    for secret in secrets:
        if hmac.compare_digest(sign(secret, timestamp, body).encode(), offered):
            return
    raise Unauthorized(f"{SIGNATURE_HEADER} does not match the body and timestamp")


def _timestamp(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise Unauthorized(f"{TIMESTAMP_HEADER} must be unix seconds, got {value!r}") from None
