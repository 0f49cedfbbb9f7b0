"""The one place that knows how ``.avsc`` files map to Avro named types.

Each file holds exactly one named type and its path is its name:
``<domain>/<Name>.avsc`` declares ``omni.<domain>.<Name>``. That makes the set
loadable in any order and lets a reviewer find a type without searching. Files
refer to each other by full name; :meth:`SchemaSet.expanded` inlines those
references so the registry receives self-contained schemas, because not every
Confluent-compatible registry resolves schema references the same way.

Every problem is reported as :class:`~schemas.exceptions.SchemaError` naming
the file, at load time, so a broken contract fails before anything is
produced with it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
from fastavro.schema import SchemaParseException, UnknownType

from schemas.exceptions import SchemaError

SCHEMAS_DIR = Path(__file__).resolve().parent
ROOT_NAMESPACE = "omni"
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
NAMED_KINDS = frozenset({"record", "error", "enum", "fixed"})

__all__ = ["SCHEMAS_DIR", "SchemaSet", "declared_name", "load_schema_set", "qualify"]


def qualify(name: str, namespace: str) -> str:
    """Full name of ``name`` seen inside ``namespace`` (Avro's rule: a dot means already full)."""
    if "." in name or not namespace:
        return name
    return f"{namespace}.{name}"


def declared_name(node: dict[str, Any], namespace: str) -> tuple[str, str]:
    """Full name and effective namespace of a named-type definition."""
    name = str(node.get("name", ""))
    if "." in name:
        return name, name.rpartition(".")[0]
    own = str(node.get("namespace", namespace))
    return qualify(name, own), own


def _walk(node: Any, namespace: str) -> Iterator[tuple[str, str]]:
    """Yield ``("def", fullname)`` for every named-type definition and ``("ref", fullname)``
    for every reference, so one pass finds duplicates, inline types and unknown names."""
    if isinstance(node, str):
        if node not in PRIMITIVES:
            yield "ref", qualify(node, namespace)
    elif isinstance(node, list):
        for branch in node:
            yield from _walk(branch, namespace)
    elif isinstance(node, dict):
        kind = node.get("type")
        if kind in NAMED_KINDS:
            fullname, own = declared_name(node, namespace)
            yield "def", fullname
            for field in node.get("fields", []):
                yield from _walk(field.get("type"), own)
        elif kind == "array":
            yield from _walk(node.get("items"), namespace)
        elif kind == "map":
            yield from _walk(node.get("values"), namespace)
        else:
            yield from _walk(kind, namespace)


@dataclass(frozen=True)
class _Entry:
    fullname: str
    path: Path
    schema: dict[str, Any]


class SchemaSet:
    """Every named type of one schema folder, validated as a whole."""

    def __init__(self, root: Path, entries: dict[str, _Entry]) -> None:
        self.root = root
        self._entries = entries
        self._expanded: dict[str, dict[str, Any]] = {}
        self._parsed: dict[str, Any] = {}

    def names(self) -> list[str]:
        return sorted(self._entries)

    def records(self) -> list[str]:
        return [n for n in self.names() if self._entries[n].schema["type"] in ("record", "error")]

    def raw(self, fullname: str) -> dict[str, Any]:
        """The JSON as written in its file (a copy: callers may not edit the set)."""
        return copy.deepcopy(self._entry(fullname).schema)

    def path(self, fullname: str) -> Path:
        return self._entry(fullname).path

    def expanded(self, fullname: str) -> dict[str, Any]:
        """Self-contained JSON, each referenced type inlined at first use: what gets registered."""
        if fullname not in self._expanded:
            entry = self._entry(fullname)
            self._expanded[fullname] = self._inline(entry.schema, "", set())
        return copy.deepcopy(self._expanded[fullname])

    def parsed(self, fullname: str) -> Any:
        """The fastavro-parsed schema for ``schemaless_reader``/``schemaless_writer``; cached."""
        if fullname not in self._parsed:
            try:
                self._parsed[fullname] = fastavro.parse_schema(self.expanded(fullname))
            except (SchemaParseException, UnknownType, ValueError, TypeError, KeyError) as exc:
                raise SchemaError(f"{self._rel(fullname)}: {exc}") from exc
        return self._parsed[fullname]

    def _entry(self, fullname: str) -> _Entry:
        try:
            return self._entries[fullname]
        except KeyError:
            raise SchemaError(f"unknown Avro type {fullname!r} (not under {self.root})") from None

    def _rel(self, fullname: str) -> Path:
        return self._entries[fullname].path.relative_to(self.root)

    def _inline(self, node: Any, namespace: str, seen: set[str]) -> Any:
        """Copy of ``node`` with every reference fully qualified and the first use of each
        named type replaced by its definition; later uses stay names, as Avro requires."""
        if isinstance(node, str):
            if node in PRIMITIVES:
                return node
            fullname = qualify(node, namespace)
            if fullname in seen:
                return fullname
            return self._inline(self._entries[fullname].schema, namespace, seen)
        if isinstance(node, list):
            return [self._inline(branch, namespace, seen) for branch in node]
        out = dict(node)
        kind = node["type"]
        if kind in NAMED_KINDS:
            fullname, own = declared_name(node, namespace)
            seen.add(fullname)
            out["name"], out["namespace"] = fullname.rpartition(".")[2], own
            if "fields" in node:
                out["fields"] = [
                    {**f, "type": self._inline(f["type"], own, seen)} for f in node["fields"]
                ]
        elif kind == "array":
            out["items"] = self._inline(node["items"], namespace, seen)
        elif kind == "map":
            out["values"] = self._inline(node["values"], namespace, seen)
        else:
            out["type"] = self._inline(kind, namespace, seen)
        return out

    @classmethod
    def load(cls, root: Path) -> SchemaSet:
        root = root.resolve()
        entries: dict[str, _Entry] = {}
        refs: list[tuple[Path, str]] = []
        inline: dict[Path, list[str]] = {}
        for path in sorted(root.rglob("*.avsc")):
            entry = _read(root, path)
            for what, name in _walk(entry.schema, ""):
                if what == "ref":
                    refs.append((path, name))
                    continue
                if name in entries:
                    other = entries[name].path.relative_to(root)
                    msg = f"{path.relative_to(root)}: duplicate type {name!r}, already in {other}"
                    raise SchemaError(msg)
                entries[name] = _Entry(name, path, entry.schema)
                if name != entry.fullname:
                    inline.setdefault(path, []).append(name)
        for path, names in inline.items():
            msg = f"{path.relative_to(root)}: one named type per file, but it also defines {names}"
            raise SchemaError(msg)
        for path, name in refs:
            if name not in entries:
                raise SchemaError(f"{path.relative_to(root)}: unknown type {name!r}")
        schema_set = cls(root, entries)
        for name in entries:
            schema_set.parsed(name)
        return schema_set


def _read(root: Path, path: Path) -> _Entry:
    """Parse one file and check that its path names the type it declares."""
    rel = path.relative_to(root)
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"{rel}: cannot read as JSON: {exc}") from exc
    if not isinstance(schema, dict) or schema.get("type") not in NAMED_KINDS:
        raise SchemaError(f"{rel}: must hold one named type (record, enum or fixed)")
    if not rel.parent.parts:
        raise SchemaError(f"{rel}: must sit in a domain folder, e.g. common/{rel.name}")
    expected = ".".join((ROOT_NAMESPACE, *rel.parent.parts, rel.stem))
    fullname, _ = declared_name(schema, "")
    if fullname != expected:
        raise SchemaError(f"{rel}: declares {fullname!r} but its path says {expected!r}")
    return _Entry(fullname, path, schema)


@cache
def _default_set() -> SchemaSet:
    return SchemaSet.load(SCHEMAS_DIR)


def load_schema_set(root: Path = SCHEMAS_DIR) -> SchemaSet:
    """The schema set under ``root``; the package's own set is loaded once per process."""
    if root.resolve() == SCHEMAS_DIR:
        return _default_set()
    return SchemaSet.load(root)
