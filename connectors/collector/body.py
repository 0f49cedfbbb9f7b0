"""Reading a Segment request: the write key, the (gzipped) body and its size limits.

Pure functions of bytes and header values, so limits, gzip and auth are tested
without a server. Decompression is bounded: a small gzip body that inflates
past the limit (a zip bomb) is refused after ``limit + 1`` bytes, not after
filling memory.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Iterable
from typing import Any

import orjson

from connectors.core.exceptions import (
    MalformedBody,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedEncoding,
)

GZIP_WBITS = 16 + zlib.MAX_WBITS
DEFLATE_WBITS = zlib.MAX_WBITS


def write_key_from_header(authorization: str | None) -> str | None:
    """The write key of ``Authorization: Basic base64(writeKey:)``; ``None`` without one."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("Authorization must be Basic with the write key as user name")
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("Authorization is not valid base64 of 'writeKey:'") from exc
    return decoded.partition(":")[0] or None


class WriteKeys:
    """Write key -> (source, channel), looked up by digest so no key text sits in a dict."""

    def __init__(self, entries: Iterable[tuple[str, str, str]]) -> None:
        self._by_digest = {_digest(key): (source, channel) for key, source, channel in entries}

    def __len__(self) -> int:
        return len(self._by_digest)

    def knows(self, key: str) -> bool:
        return _digest(key) in self._by_digest

    def resolve(self, key: str | None) -> tuple[str, str]:
        if not key:
            raise Unauthorized(
                "no write key: send it as the Basic auth user name or as writeKey in the body"
            )
        found = self._by_digest.get(_digest(key))
        if found is None:
            raise Unauthorized("unknown write key")
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def decoded_body(raw: bytes, encoding: str | None, limit: int) -> bytes:
    """The body after ``Content-Encoding`` (identity, gzip or deflate), at most ``limit`` bytes."""
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        data = raw
    elif name in ("gzip", "x-gzip"):
        data = _inflate(raw, GZIP_WBITS, limit)
    elif name == "deflate":
        data = _inflate(raw, DEFLATE_WBITS, limit)
    else:
        raise UnsupportedEncoding(f"Content-Encoding {encoding!r}: only gzip and deflate are read")
    if len(data) > limit:
        raise PayloadTooLarge(f"body is {len(data)} bytes, the limit is {limit}")
    return data


def _inflate(raw: bytes, wbits: int, limit: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise MalformedBody(f"body is not valid compressed data: {exc}") from exc
    if len(data) > limit:
        raise PayloadTooLarge(f"body inflates past the limit of {limit} bytes")
    if not inflater.eof:
        raise MalformedBody("compressed body ends early")
    return data


def json_object(data: bytes) -> dict[str, Any]:
    """The body as a JSON object (analytics.js sends it as text/plain: the type is not checked)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise MalformedBody("body must be a JSON object")
    return value


def check_event_sizes(events: list[Any], limit: int) -> None:
    """Segment's per-event limit inside a batch, measured as compact JSON."""
    for index, event in enumerate(events):
        size = len(orjson.dumps(event))
        if size > limit:
            raise PayloadTooLarge(f"batch[{index}]: event is {size} bytes, the limit is {limit}")
