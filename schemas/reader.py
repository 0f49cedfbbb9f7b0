"""Avro binary readers compiled from our schemas: fastavro's values, in less of its time.

Why
---
fastavro reads a record by walking the writer's parsed schema for every
datum, a call per field through a generic dispatcher. The processors decode
every event they read, and ``make bench`` B1 spent an eighth of its CPU in
``schemaless_reader``. :func:`compile_reader` turns a schema into Python
source once: field order, union branches and enum symbols are decided at
compile time, and a one-byte length or count (nearly all of them) is read
without a call.

What it covers, and what happens outside it
-------------------------------------------
The types of our contract (null, boolean, int, long, string, record, enum,
array, map, unions of null with one other type), read as the wire holds them:
``timestamp-millis`` as epoch millis and ``uuid`` as text, where the decoder
takes them so, and only when the writer's schema is the reader's (no
resolution). Those two are still checked as fastavro's logical types would
check them (a timestamp within years 1 to 9999, text that ``uuid.UUID``
takes): a damaged event id is bad input, not a different event.
Anything else is not compiled (:func:`compile_reader` returns ``None``). A
body the compiled reader cannot read to its exact end (truncated, an invalid
union index or enum symbol, bad UTF-8, trailing bytes) raises
:class:`NotCompiled`, and the caller reads it again with fastavro, which
returns the same value or raises the error it always raised: the compiled
path changes the speed, never the outcome. The contract tests check equality
with fastavro for every record type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.compiled import PRIMITIVES, SchemaCompiler, Unsupported

# The epoch millis fastavro's timestamp-millis reader turns into a datetime (years 1 to 9999).
MIN_MILLIS = -62_135_596_800_000
MAX_MILLIS = 253_402_300_799_999

Reader = Callable[[bytes, int], dict[str, Any]]


class NotCompiled(Exception):
    """A body the compiled reader does not read to its end: fastavro reads it."""


def _long(data: bytes, pos: int) -> tuple[int, int]:
    """The zigzag varint at ``pos``: its value and the position after it."""
    first = data[pos]
    if first < 0x80:
        return (first >> 1) ^ -(first & 1), pos + 1
    second = data[pos + 1]
    if second < 0x80:
        zigzag = (first & 0x7F) | (second << 7)
        return (zigzag >> 1) ^ -(zigzag & 1), pos + 2
    zigzag = shift = 0
    for byte in data[pos : pos + 10]:
        zigzag |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (zigzag >> 1) ^ -(zigzag & 1), pos + 1 + shift // 7
        shift += 7
    raise NotCompiled("a varint longer than a long")


def _uuid_ok(text: str) -> bool:
    """Whether ``uuid.UUID(text)`` takes it (fastavro's uuid reader), by the same steps."""
    digits = text.replace("urn:", "").replace("uuid:", "").strip("{}").replace("-", "")
    if len(digits) != 32:
        return False
    try:
        int(digits, 16)
    except ValueError:
        return False
    return True


class _Compiler(SchemaCompiler):
    """Emits one function per named record; enums become index -> symbol tuples."""

    def enum_table(self, symbols: list[str]) -> tuple[str, ...]:
        return tuple(symbols)

    def read(self, schema: Any, target: str, namespace: str, indent: str) -> list[str]:
        """Statements that read one value (per ``schema``) at ``pos`` into ``target``."""
        if isinstance(schema, list):
            return self.union(schema, target, namespace, indent)
        kind = schema
        if isinstance(schema, dict):
            kind = schema["type"]
            if kind in ("record", "enum"):
                return self.named(self.fullname(schema, namespace), target, indent)
            if kind in PRIMITIVES:
                return [
                    *self.read(kind, target, namespace, indent),
                    *self.check(kind, schema.get("logicalType"), target, indent),
                ]
            if kind == "array":
                return self.sequence(schema["items"], target, namespace, indent, pairs=False)
            if kind == "map":
                return self.sequence(schema["values"], target, namespace, indent, pairs=True)
            raise Unsupported(f"type {kind}")
        if kind == "null":
            return [f"{indent}{target} = None"]
        if kind == "boolean":
            return [f"{indent}{target} = data[pos] != 0", f"{indent}pos += 1"]
        if kind in ("int", "long"):
            return self.number(target, indent)
        if kind == "string":
            return self.text(target, indent)
        return self.named(self.resolve(str(kind), namespace), target, indent)

    @staticmethod
    def check(kind: str, logical: str | None, target: str, indent: str) -> list[str]:
        """Refuse what fastavro's logical type would refuse, keeping the wire's value."""
        if logical is None:
            return []
        if (kind, logical) == ("long", "timestamp-millis"):
            test = f"not {MIN_MILLIS} <= {target} <= {MAX_MILLIS}"
        elif (kind, logical) == ("string", "uuid"):
            test = f"not _uuid_ok({target})"
        else:
            raise Unsupported(f"logical type {logical} of {kind}")
        return [f"{indent}if {test}:", f"{indent}    raise NotCompiled({logical!r})"]

    @staticmethod
    def number(target: str, indent: str) -> list[str]:
        return [
            f"{indent}_b = data[pos]",
            f"{indent}if _b < 0x80:",
            f"{indent}    {target} = (_b >> 1) ^ -(_b & 1)",
            f"{indent}    pos += 1",
            f"{indent}else:",
            f"{indent}    {target}, pos = _long(data, pos)",
        ]

    def text(self, target: str, indent: str) -> list[str]:
        size = self.fresh("n")
        return [
            *self.number(size, indent),
            f"{indent}if {size} < 0 or pos + {size} > _end:",
            f"{indent}    raise NotCompiled('string beyond the body')",
            f"{indent}{target} = data[pos:pos + {size}].decode()",
            f"{indent}pos += {size}",
        ]

    def named(self, fullname: str, target: str, indent: str) -> list[str]:
        if fullname in self.records:
            return [f"{indent}{target}, pos = {self.records[fullname]}(data, pos, _end)"]
        index = self.fresh("i")
        return [
            *self.number(index, indent),
            f"{indent}if {index} < 0:",
            f"{indent}    raise NotCompiled('negative enum index')",
            f"{indent}{target} = {self.enums[fullname]}[{index}]",
        ]

    def union(self, branches: list[Any], target: str, namespace: str, indent: str) -> list[str]:
        null_index, other = self.nullable(branches)
        index = self.fresh("u")
        return [
            *self.number(index, indent),
            f"{indent}if {index} == {null_index}:",
            f"{indent}    {target} = None",
            f"{indent}elif {index} == {1 - null_index}:",
            *self.read(other, target, namespace, indent + "    "),
            f"{indent}else:",
            f"{indent}    raise NotCompiled('union index')",
        ]

    def sequence(
        self, item: Any, target: str, namespace: str, indent: str, *, pairs: bool
    ) -> list[str]:
        held, count, value = self.fresh("s"), self.fresh("c"), self.fresh("v")
        key = self.fresh("k")
        inner = indent + "        "
        store = [f"{inner}{held}[{key}] = {value}"] if pairs else [f"{inner}{held}.append({value})"]
        return [
            f"{indent}{held} = {{}}" if pairs else f"{indent}{held} = []",
            f"{indent}while True:",
            *self.number(count, indent + "    "),
            f"{indent}    if {count} == 0:",
            f"{indent}        break",
            f"{indent}    if {count} < 0:",
            f"{indent}        {count} = -{count}",
            f"{indent}        _, pos = _long(data, pos)",
            f"{indent}    for _ in range({count}):",
            *(self.text(key, inner) if pairs else []),
            *self.read(item, value, namespace, inner),
            *store,
            f"{indent}{target} = {held}",
        ]

    def record(self, fullname: str, schema: dict[str, Any]) -> None:
        namespace = fullname.rpartition(".")[0]
        lines = [f"def {self.records[fullname]}(data, pos, _end):"]
        names = []
        for index, field in enumerate(schema["fields"]):
            lines += self.read(field["type"], f"_f{index}", namespace, "    ")
            names.append(f"{field['name']!r}: _f{index}")
        lines.append(f"    return {{{', '.join(names)}}}, pos")
        self.lines += lines

    def compile(self, schema: dict[str, Any]) -> Reader:
        self.collect(schema, "")
        top = self.fullname(schema, "")
        while self.pending:
            self.record(*self.pending.pop(0))
        self.lines += [
            "def read(data, pos):",
            "    _end = len(data)",
            "    try:",
            f"        value, pos = {self.records[top]}(data, pos, _end)",
            "    except (IndexError, ValueError, TypeError, AttributeError) as exc:",
            "        raise NotCompiled(exc) from exc",
            "    if pos != _end:",
            "        raise NotCompiled('trailing bytes')",
            "    return value",
        ]
        names = {"_long": _long, "_uuid_ok": _uuid_ok, "NotCompiled": NotCompiled}
        reader: Reader = self.load("read", top, names)
        return reader


def compile_reader(schema: dict[str, Any]) -> Reader | None:
    """A reader for a record schema (the writer's JSON), or ``None`` beyond ours.

    ``reader(data, pos)`` reads the record that starts at ``pos`` and ends
    exactly at the end of ``data``, or raises :class:`NotCompiled`.
    """
    reader: Reader | None = _Compiler().build(schema)
    return reader
