"""Shared pieces of the query API: id validation and JSON answers.

Every answer is JSON. A malformed id is a 400 that says what is wrong, an
unknown key a 404 that names it, so a channel integrating against the API
never has to guess.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}")


def valid_id(value: str) -> bool:
    return ID_PATTERN.fullmatch(value) is not None


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_response(web: Any, body: Any, status: int = 200) -> Any:
    data = orjson.dumps(body, default=_default)
    return web.bytes(data, content_type="application/json", status=status)


def error(web: Any, status: int, message: str) -> Any:
    return json_response(web, {"error": message, "status": status}, status)


def bad_id(web: Any, name: str, value: str) -> Any:
    return error(
        web,
        400,
        f"{name} {value!r} is malformed: use 1-128 letters, digits or . _ : @ + - "
        "and start with a letter or digit",
    )
