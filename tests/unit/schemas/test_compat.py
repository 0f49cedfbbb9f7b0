"""The offline compatibility checker, rule by rule, with the message each rule gives."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas.avro import load_schema_set
from schemas.compat import assert_compatible, check, check_can_read
from schemas.exceptions import CompatibilityError

ID = {"name": "id", "type": "string"}


def record(*fields: dict[str, Any], name: str = "T", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "omni.t", "fields": [ID, *fields], **extra}


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "namespace": "omni.t", "symbols": list(symbols), **extra}


def test_adding_a_field_without_default_breaks_backward() -> None:
    old, new = record(), record({"name": "n", "type": "int"})
    assert check(new, [old], "BACKWARD") == [
        "BACKWARD vs version 1: field 'n' added without a default"
    ]
    assert check(new, [old], "FORWARD") == [], "old readers ignore the new field"


def test_removing_a_field_without_default_breaks_forward_and_full() -> None:
    old, new = record({"name": "x", "type": "string"}), record()
    expected = "field 'x' removed but readers of the old schema require it (no default)"
    assert check(new, [old], "FORWARD") == [f"FORWARD vs version 1: {expected}"]
    assert check(new, [old], "FULL") == [f"FORWARD vs version 1: {expected}"]
    assert check(new, [old], "BACKWARD") == []


def test_adding_a_field_with_default_is_full_compatible() -> None:
    old = record()
    new = record({"name": "n", "type": ["null", "string"], "default": None})
    assert check(new, [old], "FULL") == []
    assert check(old, [new], "FULL") == [], "and removing it again too"


def test_adding_an_enum_symbol_is_backward_compatible() -> None:
    old = record({"name": "e", "type": enum("a", "b")})
    new = record({"name": "e", "type": enum("a", "b", "c")})
    assert check(new, [old], "BACKWARD") == []
    assert check(new, [old], "FORWARD") == [
        "FORWARD vs version 1: field 'e': enum symbol 'c' added but readers of the old"
        " schema have no enum default in omni.t.E"
    ]


def test_an_enum_default_lets_old_readers_survive_new_symbols() -> None:
    old = record({"name": "e", "type": enum("a", "unknown", default="unknown")})
    new = record({"name": "e", "type": enum("a", "unknown", "c", default="unknown")})
    assert check(new, [old], "FULL") == []


def test_removing_an_enum_symbol_breaks_backward() -> None:
    old = record({"name": "e", "type": enum("a", "b")})
    new = record({"name": "e", "type": enum("a")})
    assert check_can_read(new, old) == [
        "field 'e': enum symbol 'b' removed and omni.t.E has no enum default"
    ]


def test_int_to_long_is_backward_but_not_forward_compatible() -> None:
    old, new = record({"name": "n", "type": "int"}), record({"name": "n", "type": "long"})
    assert check(new, [old], "BACKWARD") == []
    assert check(new, [old], "FORWARD") == [
        "FORWARD vs version 1: field 'n': type changed from int to long"
    ]


@pytest.mark.parametrize(("before", "after"), [("string", "bytes"), ("bytes", "string")])
def test_string_and_bytes_read_each_other(before: str, after: str) -> None:
    old, new = record({"name": "b", "type": before}), record({"name": "b", "type": after})
    assert check(new, [old], "FULL") == []


def test_an_incompatible_type_change_names_old_and_new_type() -> None:
    old, new = record({"name": "n", "type": "string"}), record({"name": "n", "type": "int"})
    assert check_can_read(new, old) == ["field 'n': type changed from string to int"]
    assert check_can_read(old, new, reader_is_new=False) == [
        "field 'n': type changed from string to int"
    ]


def test_adding_a_union_branch_is_backward_but_not_forward_compatible() -> None:
    old = record({"name": "u", "type": ["null", "string"], "default": None})
    new = record({"name": "u", "type": ["null", "string", "int"], "default": None})
    assert check(new, [old], "BACKWARD") == []
    assert check(new, [old], "FORWARD") == [
        "FORWARD vs version 1: field 'u': union branch int added"
        " but readers of the old schema cannot read it"
    ]


def test_making_an_optional_field_required_drops_the_null_branch() -> None:
    old = record({"name": "u", "type": ["null", "string"], "default": None})
    new = record({"name": "u", "type": "string"})
    assert check_can_read(new, old) == ["field 'u': union branch null removed"]
    assert check_can_read(old, new, reader_is_new=False) == [], "old readers read a string"


def test_a_value_is_promoted_into_a_union_branch() -> None:
    old = record({"name": "u", "type": "int"})
    new = record({"name": "u", "type": ["null", "long"], "default": None})
    assert check_can_read(new, old) == []


def test_nested_paths_are_named() -> None:
    line: dict[str, Any] = {
        "type": "record",
        "name": "Line",
        "fields": [{"name": "quantity", "type": "int"}],
    }
    old = record({"name": "lines", "type": {"type": "array", "items": line}})
    changed = copy.deepcopy(line)
    changed["fields"][0]["type"] = "string"
    new = record({"name": "lines", "type": {"type": "array", "items": changed}})
    assert check_can_read(new, old) == ["field 'lines[].quantity': type changed from int to string"]
    old_map = record({"name": "m", "type": {"type": "map", "values": "int"}})
    new_map = record({"name": "m", "type": {"type": "map", "values": "string"}})
    assert check_can_read(new_map, old_map) == ["field 'm{}': type changed from int to string"]


def test_renames_need_aliases() -> None:
    old = record({"name": "qty", "type": "int"})
    new = record({"name": "quantity", "type": "int", "aliases": ["qty"]}, name="T2")
    assert check_can_read(new, old) == ["the schema: named type changed from omni.t.T to omni.t.T2"]
    new["aliases"] = ["T"]
    assert check_can_read(new, old) == []


def test_fixed_sizes_must_match() -> None:
    old = record({"name": "h", "type": {"type": "fixed", "name": "H", "size": 16}})
    new = record({"name": "h", "type": {"type": "fixed", "name": "H", "size": 32}})
    assert check_can_read(new, old) == ["field 'h': fixed size changed from 16 to 32"]


def test_transitive_levels_check_every_old_version() -> None:
    v1 = record()
    v2 = record({"name": "n", "type": "int", "default": 0})
    v3 = record({"name": "n", "type": "int"})
    assert check(v3, [v1, v2], "BACKWARD") == [], "v3 reads v2, which has n"
    assert check(v3, [v1, v2], "BACKWARD_TRANSITIVE") == [
        "BACKWARD vs version 1: field 'n' added without a default"
    ]
    assert check(v3, [v1, v2], "FULL_TRANSITIVE") == [
        "BACKWARD vs version 1: field 'n' added without a default"
    ]


def test_forward_transitive_reports_each_old_version() -> None:
    v1 = record({"name": "x", "type": "string"})
    v2 = record({"name": "x", "type": "string"})
    v3 = record()
    message = "field 'x' removed but readers of the old schema require it (no default)"
    assert check(v3, [v1, v2], "FORWARD_TRANSITIVE") == [
        f"FORWARD vs version 1: {message}",
        f"FORWARD vs version 2: {message}",
    ]


def test_recursive_types_terminate() -> None:
    node = record({"name": "next", "type": ["null", "omni.t.T"], "default": None})
    assert check(node, [copy.deepcopy(node)], "FULL_TRANSITIVE") == []


def test_none_and_unknown_levels() -> None:
    assert check(record({"name": "n", "type": "int"}), [record()], "NONE") == []
    with pytest.raises(CompatibilityError, match="unknown compatibility level 'SIDEWAYS'"):
        check(record(), [record()], "SIDEWAYS")


def test_assert_compatible_raises_with_every_problem() -> None:
    with pytest.raises(CompatibilityError, match=r"T breaks BACKWARD:\n  .*field 'n' added"):
        assert_compatible(record({"name": "n", "type": "int"}), [record()], "BACKWARD", "T")


@pytest.mark.parametrize("name", load_schema_set().records())
def test_every_contract_schema_is_compatible_with_itself(name: str) -> None:
    schema = load_schema_set().expanded(name)
    assert check(schema, [copy.deepcopy(schema)], "FULL_TRANSITIVE") == []


def test_a_change_deep_in_the_envelope_is_found_in_expanded_schemas() -> None:
    old = load_schema_set().expanded("omni.customer.IdentifiersLinked")
    new = copy.deepcopy(old)
    identifiers = new["fields"][0]["type"]["fields"][4]["type"]
    assert identifiers["name"] == "Identifiers"
    identifiers["fields"].append({"name": "wallet_id", "type": "string"})
    assert check(new, [old], "FULL") == [
        "BACKWARD vs version 1: field 'envelope.identifiers.wallet_id' added without a default"
    ]
