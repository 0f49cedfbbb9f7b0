"""The desk's HMAC: over the timestamp and the raw body, fresh, any configured secret."""

from __future__ import annotations

import pytest

from connectors.core.exceptions import Unauthorized
from connectors.servicedesk.signature import sign, signed_headers, verify

NOW = 1_800_000_000.0
BODY = b'{"id": "e1"}'


def check(signature: str | None, timestamp: str | None, body: bytes = BODY) -> None:
    verify(["old-secret", "s3cret"], body, signature, timestamp, NOW, 300)


def test_a_request_signed_with_any_configured_secret_passes() -> None:
    headers = signed_headers("s3cret", BODY, NOW - 299)
    check(headers["X-Omni-Signature"], headers["X-Omni-Timestamp"])
    assert headers["X-Omni-Signature"].startswith("sha256=")


@pytest.mark.parametrize(
    ("signature", "timestamp", "message"),
    [
        (None, str(int(NOW)), "missing X-Omni-Signature"),
        ("abc", str(int(NOW)), "must be 'sha256=<hex HMAC-SHA256>'"),
        (sign("s3cret", str(int(NOW)), BODY), None, "missing X-Omni-Timestamp"),
        (sign("s3cret", "soon", BODY), "soon", "must be unix seconds"),
        (sign("s3cret", str(int(NOW - 301)), BODY), str(int(NOW - 301)), "301 s away"),
        (sign("wrong", str(int(NOW)), BODY), str(int(NOW)), "does not match"),
    ],
)
def test_a_bad_signature_says_why(
    signature: str | None, timestamp: str | None, message: str
) -> None:
    with pytest.raises(Unauthorized, match=message):
        check(signature, timestamp)


def test_a_replayed_signature_with_a_fresh_timestamp_does_not_match() -> None:
    old = str(int(NOW - 3600))
    with pytest.raises(Unauthorized, match="does not match"):
        check(sign("s3cret", old, BODY), str(int(NOW)))


def test_a_changed_body_does_not_match_and_no_secret_refuses_all() -> None:
    headers = signed_headers("s3cret", BODY, NOW)
    with pytest.raises(Unauthorized, match="does not match"):
        check(headers["X-Omni-Signature"], headers["X-Omni-Timestamp"], BODY + b" ")
    with pytest.raises(Unauthorized, match="no signing secret is configured"):
        verify([], BODY, headers["X-Omni-Signature"], headers["X-Omni-Timestamp"], NOW, 300)
