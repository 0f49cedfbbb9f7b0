"""Shared pieces of the query API: id validation, JSON answers and routing to a key's owner.

Every answer is JSON. A malformed id is a 400 that says what is wrong, an
unknown key a 404 that names it, a worker that does not yet know who owns a
key (it just started, partitions are being assigned) a 503 that says to
retry, so a channel integrating against the API never has to guess.

Routing: a key's state lives on the worker that owns its partition, so a
request for it is answered there (:func:`routed`). Faust's own
``table_route`` answers 500 while a worker has no changelog metadata yet and
cannot be told to validate ids first, hence our own.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from uuid import UUID

import orjson
from yarl import URL

if TYPE_CHECKING:
    import faust

JSON = "application/json"
Local = Callable[[], Awaitable[Any]]


class Answer(NamedTuple):
    """A local read's HTTP status and JSON body, and the profile it redirects to, if merged.

    ``merged_into`` is said beside the body so the identity views follow a
    merge without parsing the JSON they relay.
    """

    status: int
    body: bytes
    merged_into: str | None = None


# A local read by key. Registered by the profile views so the identity views
# answer without an HTTP hop when this worker owns the key.
Reader = Callable[[str], Answer]

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}")


def valid_id(value: str) -> bool:
    return ID_PATTERN.fullmatch(value) is not None


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def json_bytes(body: Any) -> bytes:
    return orjson.dumps(body, default=_default)


def error_bytes(status: int, message: str) -> bytes:
    return json_bytes({"error": message, "status": status})


def json_response(web: Any, body: Any, status: int = 200) -> Any:
    return web.bytes(json_bytes(body), content_type=JSON, status=status)


def error(web: Any, status: int, message: str) -> Any:
    return web.bytes(error_bytes(status, message), content_type=JSON, status=status)


def reader_response(web: Any, answer: Answer) -> Any:
    return web.bytes(answer.body, content_type=JSON, status=answer.status)


def bad_id(web: Any, name: str, value: str) -> Any:
    return error(
        web,
        400,
        f"{name} {value!r} is malformed: use 1-128 letters, digits or . _ : @ + - "
        "and start with a letter or digit",
    )


async def owner(app: faust.App, table_name: str, key: str) -> URL | None:
    """The web address of the worker owning ``key`` in ``table_name``; None while assigning.

    aiokafka knows a changelog's partitions only once this worker produced to
    it; until then (a worker that just started) the answer is "retry", never a
    metadata request that could auto-create the topic with the wrong count.
    """
    try:
        return app.router.key_store(table_name, key)
    except (KeyError, TypeError):
        return None


def is_here(app: faust.App, dest: URL) -> bool:
    """Whether ``dest`` (a key owner's address) is this worker."""
    here: URL = app.conf.canonical_url
    return (dest.host, dest.port) == (here.host, here.port)


async def routed(
    app: faust.App, web: Any, table_name: str, key: str, path: str, local: Local
) -> Any:
    """Answer ``path`` here when this worker owns ``key``, else relay the owner's answer."""
    dest = await owner(app, table_name, key)
    if dest is None:
        return error(web, 503, "partitions are being assigned; retry shortly")
    if is_here(app, dest):
        return await local()
    async with app.http_client.get(str(dest.with_path(path))) as answer:
        return web.bytes(await answer.read(), content_type=JSON, status=answer.status)
