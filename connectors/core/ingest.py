"""What the record-feed connectors (POS, inventory) share on HTTP: API keys and body formats.

A store system or an ERP posts the same records it could drop as a file, so
one request body may be JSON, JSON lines or CSV (by ``Content-Type``), and it
authenticates with ``Authorization: Bearer <key>``. Keys are compared by
digest in constant time, so neither their text nor timing leaks.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from aiohttp import hdrs, web
from pydantic import SecretStr

from connectors.core.exceptions import PayloadTooLarge, Unauthorized, UnsupportedEncoding

CSV_TYPES = frozenset({"text/csv", "application/csv"})
JSONL_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/x-jsonlines"})


class ApiKeys:
    """The Bearer tokens a connector accepts (several, so a key can be rotated)."""

    def __init__(self, keys: Iterable[SecretStr], setting: str) -> None:
        self._digests = [_digest(key.get_secret_value()) for key in keys]
        self._setting = setting

    def check(self, authorization: str | None) -> None:
        """Raise ``Unauthorized`` (401, with a message) unless the header holds a known key."""
        if not self._digests:
            raise Unauthorized(f"this connector has no API keys configured ({self._setting})")
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the API key as 'Authorization: Bearer <key>'")
        offered = _digest(token.strip())
        if not any(hmac.compare_digest(offered, known) for known in self._digests):
            raise Unauthorized("unknown API key")


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def body_format(content_type: str | None) -> str:
    """``csv``, ``jsonl`` or ``json`` (the default, also for a missing type)."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind in CSV_TYPES:
        return "csv"
    if kind in JSONL_TYPES:
        return "jsonl"
    return "json"


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, uncompressed as sent, at most ``limit`` bytes."""
    encoding = request.headers.get(hdrs.CONTENT_ENCODING, "identity").strip().lower()
    if encoding != "identity":
        raise UnsupportedEncoding(f"Content-Encoding {encoding!r}: send the body uncompressed")
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body is {request.content_length} bytes, the limit is {limit}")
    body = await request.read()
    if len(body) > limit:
        raise PayloadTooLarge(f"body is {len(body)} bytes, the limit is {limit}")
    return body
