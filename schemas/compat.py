"""Offline Avro compatibility checks, by the Avro specification's schema resolution rules.

The registry has the final word, but CI and code review have no registry:
checking a changed ``.avsc`` against the published versions offline catches a
breaking change in the pull request instead of at deploy time, with a message
that names the field.

Resolution follows the "Schema Resolution" section of the Avro 1.11 spec.
Where the spec leaves room, this follows the Java implementation that the
Confluent-compatible registries run: named types match by full name or reader
alias, a writer value fits a reader union if *any* branch can read it, and
logical types are ignored (a ``timestamp-millis`` is a ``long``).

A problem is found once, as (path, kind, details), and worded afterwards from
the point of view of a change from an old to a new schema, because "added
without a default" and "removed but old readers require it" are one and the
same resolution failure seen from the two directions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.avro import NAMED_KINDS, PRIMITIVES, declared_name, qualify
from schemas.exceptions import CompatibilityError, SchemaError

__all__ = ["LEVELS", "Problem", "assert_compatible", "check", "check_can_read", "find_problems"]

AvroSchema = dict[str, Any] | list[Any] | str

# writer type -> reader types that can read it (Avro spec "Schema Resolution")
PROMOTIONS: dict[str, frozenset[str]] = {
    "int": frozenset({"long", "float", "double"}),
    "long": frozenset({"float", "double"}),
    "float": frozenset({"double"}),
    "string": frozenset({"bytes"}),
    "bytes": frozenset({"string"}),
}
# level -> (directions checked, against every old version or only the latest)
LEVELS: dict[str, tuple[tuple[str, ...], bool]] = {
    "NONE": ((), False),
    "BACKWARD": (("BACKWARD",), False),
    "BACKWARD_TRANSITIVE": (("BACKWARD",), True),
    "FORWARD": (("FORWARD",), False),
    "FORWARD_TRANSITIVE": (("FORWARD",), True),
    "FULL": (("BACKWARD", "FORWARD"), False),
    "FULL_TRANSITIVE": (("BACKWARD", "FORWARD"), True),
}


@dataclass(frozen=True)
class Problem:
    """One resolution failure; ``writer``/``reader`` hold what each side had there."""

    path: str
    kind: str
    writer: str = ""
    reader: str = ""


def _normalise(node: Any, namespace: str, names: dict[str, dict[str, Any]]) -> Any:
    """Copy with references as full names, named types indexed in ``names`` and
    logical types dropped, so the resolution rules never deal with namespaces."""
    if isinstance(node, str):
        return node if node in PRIMITIVES else qualify(node, namespace)
    if isinstance(node, list):
        return [_normalise(branch, namespace, names) for branch in node]
    if not isinstance(node, dict):
        raise SchemaError(f"not an Avro schema: {node!r}")
    kind = node.get("type")
    if kind in NAMED_KINDS:
        fullname, own = declared_name(node, namespace)
        out = {**node, "name": fullname}
        out["aliases"] = [qualify(a, own) for a in node.get("aliases", [])]
        names[fullname] = out
        if "fields" in node:
            out["fields"] = [
                {**f, "type": _normalise(f["type"], own, names)} for f in node["fields"]
            ]
        return out
    if kind == "array":
        return {"type": "array", "items": _normalise(node["items"], namespace, names)}
    if kind == "map":
        return {"type": "map", "values": _normalise(node["values"], namespace, names)}
    return _normalise(kind, namespace, names)


def _kind(node: Any) -> str:
    return node if isinstance(node, str) else str(node["type"])


def describe(node: Any) -> str:
    """Short type text for messages: ``string``, ``omni.x.Y``, ``array<int>``, ``union[...]``."""
    if isinstance(node, list):
        return f"union[{', '.join(describe(b) for b in node)}]"
    if isinstance(node, str):
        return node
    if node["type"] == "array":
        return f"array<{describe(node['items'])}>"
    if node["type"] == "map":
        return f"map<{describe(node['values'])}>"
    return str(node["name"])


@dataclass
class _Resolution:
    """One reader/writer pair, with the named types of each side."""

    reader_names: dict[str, dict[str, Any]]
    writer_names: dict[str, dict[str, Any]]
    seen: set[tuple[str, str]] = field(default_factory=set)

    def check(self, reader: Any, writer: Any, path: str) -> list[Problem]:
        reader = self._deref(reader, self.reader_names)
        writer = self._deref(writer, self.writer_names)
        if isinstance(writer, list):
            return [p for branch in writer for p in self._writer_branch(reader, branch, path)]
        if isinstance(reader, list):
            return self._into_union(reader, writer, path)
        return self._plain(reader, writer, path)

    @staticmethod
    def _deref(node: Any, names: dict[str, dict[str, Any]]) -> Any:
        if isinstance(node, str) and node not in PRIMITIVES:
            if node not in names:
                raise SchemaError(f"unknown type {node!r}")
            return names[node]
        return node

    def _writer_branch(self, reader: Any, branch: Any, path: str) -> list[Problem]:
        """Every branch of a writer union must be readable; one that has no counterpart
        at all is reported as a branch, not as a type change."""
        problems = self.check(reader, branch, path)
        if any(p.kind == "type" and p.path == path for p in problems):
            writer = self._deref(branch, self.writer_names)
            return [Problem(path, "branch", describe(writer), describe(reader))]
        return problems

    def _into_union(self, branches: list[Any], writer: Any, path: str) -> list[Problem]:
        first: list[Problem] = []
        for branch in branches:
            reader = self._deref(branch, self.reader_names)
            if not self._same_kind(reader, writer):
                continue
            problems = self._plain(reader, writer, path)
            if not problems:
                return []
            first = first or problems
        return first or [Problem(path, "type", describe(writer), describe(branches))]

    def _same_kind(self, reader: Any, writer: Any) -> bool:
        r_kind, w_kind = _kind(reader), _kind(writer)
        if r_kind in NAMED_KINDS:
            return r_kind == w_kind and self._names_match(reader, writer)
        return r_kind == w_kind or r_kind in PROMOTIONS.get(w_kind, frozenset())

    @staticmethod
    def _names_match(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
        return bool(reader["name"] == writer["name"] or writer["name"] in reader["aliases"])

    def _plain(self, reader: Any, writer: Any, path: str) -> list[Problem]:
        r_kind, w_kind = _kind(reader), _kind(writer)
        if r_kind in PRIMITIVES and w_kind in PRIMITIVES:
            if r_kind == w_kind or r_kind in PROMOTIONS.get(w_kind, frozenset()):
                return []
            return [Problem(path, "type", w_kind, r_kind)]
        if r_kind != w_kind:
            return [Problem(path, "type", describe(writer), describe(reader))]
        if r_kind == "array":
            return self.check(reader["items"], writer["items"], f"{path}[]")
        if r_kind == "map":
            return self.check(reader["values"], writer["values"], f"{path}{{}}")
        if not self._names_match(reader, writer):
            return [Problem(path, "name", writer["name"], reader["name"])]
        if r_kind == "fixed":
            if reader["size"] == writer["size"]:
                return []
            return [Problem(path, "size", str(writer["size"]), str(reader["size"]))]
        if r_kind == "enum":
            if reader.get("default") in reader["symbols"]:
                return []
            missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
            return [Problem(path, "enum_symbol", s, reader["name"]) for s in missing]
        return self._record(reader, writer, path)

    def _record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[Problem]:
        key = (reader["name"], writer["name"])
        if key in self.seen:  # recursive types, or a type already checked elsewhere
            return []
        self.seen.add(key)
        written = {f["name"]: f for f in writer["fields"]}
        problems: list[Problem] = []
        for f in reader["fields"]:
            field_path = f"{path}.{f['name']}" if path else f["name"]
            names = (f["name"], *f.get("aliases", []))
            match = next((written[n] for n in names if n in written), None)
            if match is not None:
                problems += self.check(f["type"], match["type"], field_path)
            elif "default" not in f:
                problems.append(Problem(field_path, "missing_default"))
        return problems


def _render(p: Problem, reader_is_new: bool) -> str:
    """Word a problem as a change from the old schema to the new one."""
    where = f"field '{p.path}'" if p.path else "the schema"
    old, new = (p.writer, p.reader) if reader_is_new else (p.reader, p.writer)
    if p.kind == "missing_default":
        if reader_is_new:
            return f"{where} added without a default"
        return f"{where} removed but readers of the old schema require it (no default)"
    if p.kind == "enum_symbol":
        if reader_is_new:
            return f"{where}: enum symbol '{p.writer}' removed and {p.reader} has no enum default"
        return (
            f"{where}: enum symbol '{p.writer}' added but readers of the old schema"
            f" have no enum default in {p.reader}"
        )
    if p.kind == "branch":
        if reader_is_new:
            return f"{where}: union branch {p.writer} removed"
        return (
            f"{where}: union branch {p.writer} added but readers of the old schema cannot read it"
        )
    if p.kind == "name":
        return f"{where}: named type changed from {old} to {new}"
    if p.kind == "size":
        return f"{where}: fixed size changed from {old} to {new}"
    return f"{where}: type changed from {old} to {new}"


def find_problems(reader: AvroSchema, writer: AvroSchema) -> list[Problem]:
    """The resolution failures when ``reader`` reads data written with ``writer``."""
    reader_names: dict[str, dict[str, Any]] = {}
    writer_names: dict[str, dict[str, Any]] = {}
    r = _normalise(reader, "", reader_names)
    w = _normalise(writer, "", writer_names)
    return _Resolution(reader_names, writer_names).check(r, w, "")


def check_can_read(
    reader: AvroSchema, writer: AvroSchema, *, reader_is_new: bool = True
) -> list[str]:
    """Why ``reader`` cannot read data written with ``writer``; empty when it can.

    Messages are worded as a change from old to new; ``reader_is_new`` says
    which side is the new schema (True: a BACKWARD check).
    """
    return [_render(p, reader_is_new) for p in find_problems(reader, writer)]


def check(new: AvroSchema, old_versions: Sequence[AvroSchema], level: str) -> list[str]:
    """Why ``new`` breaks ``level`` against ``old_versions`` (oldest first); empty when it
    does not. Non-transitive levels compare with the latest old version only."""
    try:
        directions, transitive = LEVELS[level.upper()]
    except KeyError:
        raise CompatibilityError(f"unknown compatibility level {level!r}") from None
    numbered = list(enumerate(old_versions, start=1))
    found: list[str] = []
    for number, old in numbered if transitive else numbered[-1:]:
        if "BACKWARD" in directions:
            found += [f"BACKWARD vs version {number}: {m}" for m in check_can_read(new, old)]
        if "FORWARD" in directions:
            messages = check_can_read(old, new, reader_is_new=False)
            found += [f"FORWARD vs version {number}: {m}" for m in messages]
    return found


def assert_compatible(
    new: AvroSchema, old_versions: Sequence[AvroSchema], level: str, subject: str = "schema"
) -> None:
    """:func:`check`, raising :class:`CompatibilityError` listing every problem."""
    found = check(new, old_versions, level)
    if found:
        raise CompatibilityError(f"{subject} breaks {level}:\n  " + "\n  ".join(found))
