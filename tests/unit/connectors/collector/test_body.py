"""Auth, gzip and Segment's size limits, on bytes and header values alone."""

from __future__ import annotations

import base64
import gzip
import zlib

import orjson
import pytest

from connectors.collector.body import (
    WriteKeys,
    check_event_sizes,
    decoded_body,
    json_object,
    write_key_from_header,
)
from connectors.core.exceptions import (
    MalformedBody,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedEncoding,
)

KEYS = WriteKeys([("wk-web", "web-shop", "web"), ("wk-app", "ios-app", "app")])


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth_user_is_the_write_key() -> None:
    assert write_key_from_header(basic("wk-web")) == "wk-web"
    assert write_key_from_header(None) is None
    assert KEYS.resolve("wk-app") == ("ios-app", "app")


@pytest.mark.parametrize("header", ["Bearer abc", "Basic !!!notbase64"])
def test_other_authorization_is_refused(header: str) -> None:
    with pytest.raises(Unauthorized):
        write_key_from_header(header)


def test_unknown_and_missing_write_keys_are_401() -> None:
    with pytest.raises(Unauthorized, match="unknown write key"):
        KEYS.resolve("nope")
    with pytest.raises(Unauthorized, match="no write key"):
        KEYS.resolve(None)
    assert not KEYS.knows("nope")


def test_gzip_and_deflate_bodies_are_read() -> None:
    raw = orjson.dumps({"batch": []})
    assert decoded_body(gzip.compress(raw), "gzip", 1000) == raw
    assert decoded_body(zlib.compress(raw), "deflate", 1000) == raw
    assert decoded_body(raw, None, 1000) == raw


def test_a_small_gzip_that_inflates_past_the_limit_is_413() -> None:
    bomb = gzip.compress(b"{" + b" " * 10_000_000 + b"}")
    assert len(bomb) < 20_000
    with pytest.raises(PayloadTooLarge, match="inflates past"):
        decoded_body(bomb, "gzip", 500 * 1024)


def test_plain_body_over_the_limit_is_413() -> None:
    with pytest.raises(PayloadTooLarge, match="limit is 10"):
        decoded_body(b"x" * 11, "identity", 10)


def test_bad_compression_and_unknown_encodings() -> None:
    with pytest.raises(MalformedBody):
        decoded_body(b"not gzip", "gzip", 100)
    with pytest.raises(MalformedBody, match="ends early"):
        decoded_body(gzip.compress(b"{}" * 100)[:-12], "gzip", 1000)
    with pytest.raises(UnsupportedEncoding):
        decoded_body(b"{}", "br", 100)


def test_body_must_be_a_json_object() -> None:
    assert json_object(b'{"a": 1}') == {"a": 1}
    with pytest.raises(MalformedBody, match="not valid JSON"):
        json_object(b"{nope")
    with pytest.raises(MalformedBody, match="JSON object"):
        json_object(b"[]")


def test_event_limit_names_the_batch_index() -> None:
    events = [{"a": "x"}, {"a": "y" * 40_000}]
    with pytest.raises(
        PayloadTooLarge, match=r"^batch\[1\]: event is \d+ bytes, the limit is 32768$"
    ):
        check_event_sizes(events, 32 * 1024)
