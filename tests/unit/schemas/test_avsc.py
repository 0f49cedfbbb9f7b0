"""House rules of the .avsc files themselves, checked on every file of the contract."""

from __future__ import annotations

import json
import re
from typing import Any

import fastavro
import pytest

from schemas.avro import SCHEMAS_DIR, SchemaSet, load_schema_set

SET = load_schema_set()
NAMES = SET.names()
RECORDS = SET.records()
EVENT_DOMAINS = ("customer", "cart", "order", "inventory", "service", "pricing")
PASCAL = re.compile(r"[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)*")
SNAKE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
TIMESTAMP = {"type": "long", "logicalType": "timestamp-millis"}


def _domain(name: str) -> str:
    return name.split(".")[1]


def _nested_named_types(node: Any, top: bool = True) -> list[str]:
    """Named types defined inside a file other than its own type."""
    found: list[str] = []
    if isinstance(node, list):
        for branch in node:
            found += _nested_named_types(branch, top=False)
    elif isinstance(node, dict):
        if not top and node.get("type") in ("record", "enum", "fixed"):
            found.append(str(node.get("name")))
        for child in (node.get("items"), node.get("values"), *node.get("fields", [])):
            found += _nested_named_types(child, top=False)
        if isinstance(node.get("type"), dict | list):
            found += _nested_named_types(node["type"], top=False)
    return found


def _referenced_by_others(name: str) -> bool:
    return any(f'"{name}"' in json.dumps(SET.raw(other)) for other in NAMES if other != name)


def _fields(name: str) -> list[dict[str, Any]]:
    fields: list[dict[str, Any]] = SET.raw(name)["fields"]
    return fields


def test_every_file_is_in_the_set() -> None:
    assert sorted(SET.path(n) for n in NAMES) == sorted(SCHEMAS_DIR.rglob("*.avsc"))
    assert len(NAMES) >= 60


@pytest.mark.parametrize("name", NAMES)
def test_file_parses_and_is_named_by_its_path(name: str) -> None:
    path = SET.path(name)
    raw = json.loads(path.read_text(encoding="utf-8"))
    rel = path.relative_to(SCHEMAS_DIR)
    assert len(rel.parts) == 2, "one folder level: <domain>/<Name>.avsc"
    assert raw["namespace"] == f"omni.{rel.parent.name}"
    assert raw["name"] == rel.stem
    assert PASCAL.fullmatch(raw["name"]), raw["name"]
    assert raw.get("doc", "").strip(), f"{name} needs a doc saying what it means"
    assert _nested_named_types(raw) == [], "one named type per file"
    fastavro.parse_schema(SET.expanded(name))


@pytest.mark.parametrize("name", RECORDS)
def test_fields_are_snake_case_and_documented(name: str) -> None:
    for field in _fields(name):
        assert SNAKE.fullmatch(field["name"]), field["name"]
        assert field.get("doc", "").strip(), f"{name}.{field['name']} has no doc"


@pytest.mark.parametrize("name", RECORDS)
def test_conventions_for_optionals_money_and_time(name: str) -> None:
    for field in _fields(name):
        fname, ftype = field["name"], field["type"]
        if isinstance(ftype, list):
            assert ftype[0] == "null", f"{fname}: optional is ['null', T]"
            assert "default" in field, f"{fname}: optional needs default null"
            assert field["default"] is None
        if fname.endswith("_minor"):
            assert ftype in ("long", ["null", "long"]), f"{fname}: money is a long"
            has_currency = any(f["name"] == "currency" for f in _fields(name))
            # a nested part (OrderLine) is in the currency of the record holding it
            assert has_currency or _referenced_by_others(name), f"{name} has no currency"
        if fname == "currency":
            assert field.get("default") == "EUR"
        if fname.endswith("_at") or fname in ("at", "valid_from"):
            assert TIMESTAMP in (ftype, *(ftype if isinstance(ftype, list) else [])), fname


@pytest.mark.parametrize("name", [n for n in NAMES if SET.raw(n)["type"] == "enum"])
def test_enums_have_a_reader_default(name: str) -> None:
    raw = SET.raw(name)
    assert raw.get("default") in raw["symbols"], "readers must survive symbols added later"
    assert all(SNAKE.fullmatch(s) for s in raw["symbols"])


def test_channel_enum_falls_back_to_unknown() -> None:
    assert SET.raw("omni.common.Channel")["default"] == "unknown"


@pytest.mark.parametrize("name", [n for n in RECORDS if _domain(n) in EVENT_DOMAINS])
def test_event_records_start_with_the_envelope(name: str) -> None:
    fields = _fields(name)
    names = [f["name"] for f in fields]
    if "envelope" not in names:
        assert _referenced_by_others(name), f"{name} is neither an event nor part of one"
        return
    assert names[0] == "envelope"
    assert fields[0]["type"] == "omni.common.Envelope"
    assert "default" not in fields[0]


def test_envelope_carries_identity_and_ordering() -> None:
    fields = {f["name"]: f for f in _fields("omni.common.Envelope")}
    assert list(fields)[:4] == ["event_id", "occurred_at", "channel", "source"]
    assert fields["event_id"]["type"] == {"type": "string", "logicalType": "uuid"}
    assert fields["occurred_at"]["type"] == TIMESTAMP
    assert fields["channel"]["default"] == "unknown"
    assert fields["sequence"]["type"] == ["null", "long"]


@pytest.mark.parametrize("name", [n for n in RECORDS if _domain(n) == "view"])
def test_every_view_field_has_a_default(name: str) -> None:
    missing = [f["name"] for f in _fields(name) if "default" not in f]
    assert missing == [], f"{name}: views evolve freely only if every field has a default"


def test_top_level_views_are_versioned_and_carry_no_envelope(schema_set: SchemaSet) -> None:
    views = [n for n in RECORDS if _domain(n) == "view" and not _referenced_by_others(n)]
    assert sorted(views) == [
        "omni.view.CartView",
        "omni.view.CustomerContext",
        "omni.view.OrderView",
        "omni.view.StockLevel",
        "omni.view.StockTotal",
    ]
    for name in views:
        fields = {f["name"]: f for f in schema_set.raw(name)["fields"]}
        assert "envelope" not in fields
        assert fields["updated_at"]["type"] == TIMESTAMP
        assert fields["version"]["type"] == "long"
