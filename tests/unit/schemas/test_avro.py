"""The loader: how files become types, and how a broken file is reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from schemas.avro import SCHEMAS_DIR, SchemaSet, load_schema_set
from schemas.exceptions import SchemaError


def _write(root: Path, rel: str, body: Any) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body))


def _record(name: str, namespace: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": namespace, "doc": "d", "fields": fields}


KIND = {"type": "enum", "name": "Kind", "namespace": "omni.b", "symbols": ["x", "y"]}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``a/Alpha`` refers to ``b/Kind`` twice: the referrer sorts before the referee."""
    _write(tmp_path, "b/Kind.avsc", KIND)
    fields: list[dict[str, Any]] = [
        {"name": "first", "type": "omni.b.Kind"},
        {"name": "second", "type": ["null", "omni.b.Kind"], "default": None},
    ]
    _write(tmp_path, "a/Alpha.avsc", _record("Alpha", "omni.a", fields))
    return tmp_path


def test_references_resolve_whatever_the_file_order(tree: Path) -> None:
    schema_set = SchemaSet.load(tree)
    assert schema_set.names() == ["omni.a.Alpha", "omni.b.Kind"]
    assert schema_set.records() == ["omni.a.Alpha"]
    expanded = schema_set.expanded("omni.a.Alpha")
    assert expanded["fields"][0]["type"] == KIND, "first use is inlined"
    assert expanded["fields"][1]["type"] == ["null", "omni.b.Kind"], "later uses stay names"
    assert schema_set.raw("omni.a.Alpha")["fields"][0]["type"] == "omni.b.Kind"
    assert schema_set.path("omni.b.Kind") == tree / "b" / "Kind.avsc"


def test_relative_references_resolve_in_the_files_namespace(tmp_path: Path) -> None:
    _write(tmp_path, "b/Kind.avsc", KIND)
    _write(tmp_path, "b/Beta.avsc", _record("Beta", "omni.b", [{"name": "k", "type": "Kind"}]))
    expanded = SchemaSet.load(tmp_path).expanded("omni.b.Beta")
    assert expanded["fields"][0]["type"]["name"] == "Kind"
    assert expanded["fields"][0]["type"]["namespace"] == "omni.b"


def test_raw_and_expanded_are_copies(tree: Path) -> None:
    schema_set = SchemaSet.load(tree)
    schema_set.raw("omni.a.Alpha")["fields"].clear()
    schema_set.expanded("omni.a.Alpha")["fields"].clear()
    assert len(schema_set.raw("omni.a.Alpha")["fields"]) == 2
    assert len(schema_set.expanded("omni.a.Alpha")["fields"]) == 2


def test_unparsable_json_names_the_file(tree: Path) -> None:
    _write(tree, "c/Broken.avsc", '{"type": "record",')
    with pytest.raises(SchemaError, match=r"c/Broken\.avsc: cannot read as JSON"):
        SchemaSet.load(tree)


@pytest.mark.parametrize(
    ("rel", "name", "namespace"),
    [("c/Gamma.avsc", "Delta", "omni.c"), ("c/Gamma.avsc", "Gamma", "omni.d")],
    ids=["name", "namespace"],
)
def test_a_type_must_match_its_path(tree: Path, rel: str, name: str, namespace: str) -> None:
    _write(tree, rel, _record(name, namespace, [{"name": "x", "type": "int"}]))
    expected = rf"c/Gamma\.avsc: declares '{namespace}\.{name}' but its path says 'omni\.c\.Gamma'"
    with pytest.raises(SchemaError, match=expected):
        SchemaSet.load(tree)


def test_an_unknown_reference_names_the_file_and_the_type(tree: Path) -> None:
    _write(tree, "c/Gamma.avsc", _record("Gamma", "omni.c", [{"name": "x", "type": "omni.c.Nope"}]))
    with pytest.raises(SchemaError, match=r"c/Gamma\.avsc: unknown type 'omni\.c\.Nope'"):
        SchemaSet.load(tree)


def test_a_duplicate_name_is_rejected(tree: Path) -> None:
    copy = _record("Gamma", "omni.c", [{"name": "k", "type": KIND}])
    _write(tree, "c/Gamma.avsc", copy)
    with pytest.raises(SchemaError, match=r"c/Gamma\.avsc: duplicate type 'omni\.b\.Kind'"):
        SchemaSet.load(tree)


def test_a_second_type_in_a_file_is_rejected(tree: Path) -> None:
    inline = {"type": "enum", "name": "Mode", "symbols": ["on", "off"]}
    _write(tree, "c/Gamma.avsc", _record("Gamma", "omni.c", [{"name": "m", "type": inline}]))
    with pytest.raises(SchemaError, match=r"c/Gamma\.avsc: one named type per file.*omni\.c\.Mode"):
        SchemaSet.load(tree)


def test_a_file_outside_a_domain_folder_is_rejected(tree: Path) -> None:
    _write(tree, "Loose.avsc", _record("Loose", "omni", [{"name": "x", "type": "int"}]))
    with pytest.raises(SchemaError, match=r"Loose\.avsc: must sit in a domain folder"):
        SchemaSet.load(tree)


def test_an_invalid_default_is_reported_with_the_file(tree: Path) -> None:
    fields = [{"name": "n", "type": "int", "default": "seven"}]
    _write(tree, "c/Gamma.avsc", _record("Gamma", "omni.c", fields))
    with pytest.raises(SchemaError, match=r"c/Gamma\.avsc: .*seven"):
        SchemaSet.load(tree)


def test_an_unknown_full_name_is_a_schema_error(tree: Path) -> None:
    with pytest.raises(SchemaError, match=r"unknown Avro type 'omni\.a\.Nope'"):
        SchemaSet.load(tree).raw("omni.a.Nope")


def test_the_package_set_is_loaded_once() -> None:
    assert load_schema_set() is load_schema_set(SCHEMAS_DIR)
    assert load_schema_set().parsed("omni.common.Envelope") is load_schema_set().parsed(
        "omni.common.Envelope"
    )


def test_expanded_inlines_a_type_once_per_schema() -> None:
    expanded = load_schema_set().expanded("omni.customer.IdentifiersLinked")
    envelope, linked = expanded["fields"][0], expanded["fields"][2]
    identifiers = {f["name"]: f for f in envelope["type"]["fields"]}["identifiers"]
    assert identifiers["type"]["name"] == "Identifiers"
    assert linked["type"] == "omni.common.Identifiers"
    fastavro.parse_schema(expanded, named_schemas={})  # self-contained: no outside names


@pytest.mark.parametrize("name", load_schema_set().records())
def test_expanded_schemas_stand_alone(name: str) -> None:
    fastavro.parse_schema(load_schema_set().expanded(name), named_schemas={})
