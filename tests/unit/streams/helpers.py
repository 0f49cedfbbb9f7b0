"""Shared test helpers: event builders and the exact view check."""

from __future__ import annotations

import io
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import orjson
from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.validation import validate

from schemas.avro import load_schema_set
from schemas.samples import sample_event

_IDS = itertools.count(1)
T0 = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
NO_IDS = {
    "customer_id": None,
    "anonymous_id": None,
    "device_id": None,
    "email_sha256": None,
    "phone_sha256": None,
    "loyalty_id": None,
}


def at(seconds: float) -> datetime:
    """A time ``seconds`` after T0."""
    return T0 + timedelta(seconds=seconds)


def ms(seconds: float) -> int:
    return int((at(seconds) - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


@cache
def _base(fullname: str) -> dict[str, Any]:
    return sample_event(fullname, 0)


def event(
    name: str,
    *,
    t: float = 0,
    eid: str | uuid.UUID | None = None,
    ids: dict[str, str] | None = None,
    source: str = "test",
    seq: int | None = None,
    channel: str = "web",
    **fields: Any,
) -> dict[str, Any]:
    """A decoded event of ``omni.<name>`` (e.g. ``cart.CartItemAdded``) with chosen fields.

    Starts from the schema's sample so every required field is present, then
    sets the envelope and the given fields.
    """
    fullname = f"omni.{name}"
    base = _base(fullname)
    out = {k: v for k, v in base.items() if k != "envelope"}
    out.update(fields)
    out["envelope"] = {
        **base["envelope"],
        "event_id": str(eid) if eid is not None else str(uuid.UUID(int=next(_IDS))),
        "occurred_at": at(t),
        "channel": channel,
        "source": source,
        "sequence": seq,
        "identifiers": {**NO_IDS, **(ids or {})},
    }
    return out


@cache
def _parsed(fullname: str) -> Any:
    return parse_schema(load_schema_set().expanded(fullname))


def assert_view(view: dict[str, Any], fullname: str) -> None:
    """``view`` is exactly one ``fullname`` record: valid, no extra or missing field, lossless."""
    parsed = _parsed(fullname)
    validate(view, parsed, raise_errors=True)
    _exact(view, load_schema_set().expanded(fullname), {})
    buf = io.BytesIO()
    schemaless_writer(buf, parsed, view)
    buf.seek(0)
    assert schemaless_reader(buf, parsed, None) == view


def _exact(value: Any, node: Any, named: dict[str, Any]) -> None:
    """Walk value and schema together; every record dict must have exactly its fields."""
    if isinstance(node, str):
        if node in named:
            _exact(value, named[node], named)
        return
    if isinstance(node, list):
        branches = [b for b in node if b != "null"]
        if value is not None:
            _exact(value, branches[0], named)
        return
    kind = node["type"]
    if kind in ("record", "enum"):
        named[node["name"]] = node
        named[f"{node['namespace']}.{node['name']}"] = node
    if kind == "record":
        assert isinstance(value, dict)
        assert set(value) == {f["name"] for f in node["fields"]}, node["name"]
        for f in node["fields"]:
            _exact(value[f["name"]], f["type"], named)
    elif kind == "array":
        for item in value:
            _exact(item, node["items"], named)
    elif kind == "map":
        for item in value.values():
            _exact(item, node["values"], named)


def json_trip(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` after a trip through orjson, as the table stores it."""
    out = orjson.loads(orjson.dumps(data))
    assert isinstance(out, dict)
    return out


def encoded(view: dict[str, Any], fullname: str) -> bytes:
    """``view`` as the Avro view topic holds it."""
    buf = io.BytesIO()
    schemaless_writer(buf, _parsed(fullname), view)
    return buf.getvalue()
