"""Avro binary writers compiled from our schemas: fastavro's bytes, in less of its time.

Why
---
fastavro writes a record by walking its parsed schema for every datum:
a dictionary lookup of the type, a call per field, and for a union the
validation of the datum against each branch. A worker writes views, commands
and changelog-adjacent records for most events it reads, and ``make bench``
B1 spent an eighth of its CPU in ``schemaless_writer`` (a 286-byte customer
context view took 23 µs). :func:`compile_writer` turns a schema into Python
source once, with every decision the walk makes per datum (field order,
which union branch, enum indexes, defaults) made at compile time.

What it covers, and what happens outside it
-------------------------------------------
The types of our contract: null, boolean, int, long, string, record, enum,
array, map and unions of null with one other type, with the logical types
``timestamp-millis`` (epoch millis) and ``uuid`` (text). A schema with
anything else is not compiled (:func:`compile_writer` returns ``None``) and
fastavro writes it. A value the compiled writer does not take as it is (a
``datetime`` for a timestamp, a ``UUID``, a wrong type, a missing field
without default, an unknown symbol) raises :class:`NotCompiled` inside it, and
the caller hands that value to fastavro, which writes it or raises its own
error: the compiled path changes the speed, never the outcome. The contract
tests check byte equality with fastavro for every record type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.compiled import PRIMITIVES, SUPPORTED_LOGICAL, SchemaCompiler, Unsupported

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1
SMALL = 1 << 13  # zigzag values below this have their varint precomputed

Writer = Callable[[Any], bytes]


class NotCompiled(Exception):
    """A value the compiled writer does not take as it is: fastavro gets it."""


def _varint(zigzag: int) -> bytes:
    out = bytearray()
    while zigzag > 0x7F:
        out.append((zigzag & 0x7F) | 0x80)
        zigzag >>= 7
    out.append(zigzag)
    return bytes(out)


_SMALL_VARINTS = [_varint(n) for n in range(SMALL)]


def _long(n: Any) -> bytes:
    """The zigzag varint of an Avro long; only a plain ``int`` in range is taken."""
    if type(n) is not int or not LONG_MIN <= n <= LONG_MAX:
        raise NotCompiled(n)
    zigzag = (n << 1) ^ (n >> 63)
    return _SMALL_VARINTS[zigzag] if zigzag < SMALL else _varint(zigzag)


def _int(n: Any) -> bytes:
    if type(n) is not int or not INT_MIN <= n <= INT_MAX:
        raise NotCompiled(n)
    zigzag = (n << 1) ^ (n >> 63)
    return _SMALL_VARINTS[zigzag] if zigzag < SMALL else _varint(zigzag)


def _text(value: Any) -> bytes:
    """An Avro string: its UTF-8 length, then the bytes; only a ``str`` is taken."""
    if type(value) is not str:
        raise NotCompiled(value)
    data = value.encode()
    size = len(data) << 1
    return (_SMALL_VARINTS[size] if size < SMALL else _varint(size)) + data


class _Compiler(SchemaCompiler):
    """Emits one function per named record; enums become symbol -> index-bytes tables."""

    prefix = "_w"

    def enum_table(self, symbols: list[str]) -> dict[str, bytes]:
        return {symbol: _long(index) for index, symbol in enumerate(symbols)}

    def write(self, schema: Any, value: str, namespace: str, indent: str) -> list[str]:
        """Statements that append ``value``'s encoding (per ``schema``) to ``out``."""
        kind = schema if isinstance(schema, str) else None
        if isinstance(schema, list):
            return self.union(schema, value, namespace, indent)
        if isinstance(schema, dict):
            kind = schema["type"]
            if kind in ("record", "enum"):
                return self.named(self.fullname(schema, namespace), value, indent)
            if kind in PRIMITIVES:
                logical = schema.get("logicalType")
                if logical not in SUPPORTED_LOGICAL:
                    raise Unsupported(f"logical type {logical}")
                return self.write(kind, value, namespace, indent)
            if kind == "array":
                return self.sequence(schema["items"], value, namespace, indent, pairs=False)
            if kind == "map":
                return self.sequence(schema["values"], value, namespace, indent, pairs=True)
            raise Unsupported(f"type {kind}")
        if kind == "null":
            return [f"{indent}pass"]
        if kind == "boolean":
            return [f"{indent}out += b'\\x01' if {value} else b'\\x00'"]
        if kind == "int":
            return [f"{indent}out += _int({value})"]
        if kind == "long":
            return [f"{indent}out += _long({value})"]
        if kind == "string":
            return [f"{indent}out += _text({value})"]
        return self.named(self.resolve(str(kind), namespace), value, indent)

    def named(self, fullname: str, value: str, indent: str) -> list[str]:
        if fullname in self.records:
            return [f"{indent}{self.records[fullname]}(out, {value})"]
        return [f"{indent}out += {self.enums[fullname]}[{value}]"]

    def union(self, branches: list[Any], value: str, namespace: str, indent: str) -> list[str]:
        null_index, other = self.nullable(branches)
        return [
            f"{indent}if {value} is None:",
            f"{indent}    out += {_long(null_index)!r}",
            f"{indent}else:",
            f"{indent}    out += {_long(1 - null_index)!r}",
            *self.write(other, value, namespace, indent + "    "),
        ]

    def sequence(
        self, item: Any, value: str, namespace: str, indent: str, *, pairs: bool
    ) -> list[str]:
        each, key = self.fresh("v"), self.fresh("k")
        head = f"for {key}, {each} in {value}.items():" if pairs else f"for {each} in {value}:"
        body = [f"{indent}        out += _text({key})"] if pairs else []
        return [
            f"{indent}if len({value}):",
            f"{indent}    out += _long(len({value}))",
            f"{indent}    {head}",
            *body,
            *self.write(item, each, namespace, indent + "        "),
            f"{indent}out += b'\\x00'",
        ]

    def record(self, fullname: str, schema: dict[str, Any]) -> None:
        namespace = fullname.rpartition(".")[0]
        lines = [f"def {self.records[fullname]}(out, data):"]
        for index, field in enumerate(schema["fields"]):
            value = f"_f{index}"
            if "default" in field:
                default = self.constant(field["default"])
                lines.append(f"    {value} = data.get({field['name']!r}, {default})")
            else:
                lines.append(f"    {value} = data[{field['name']!r}]")
            lines += self.write(field["type"], value, namespace, "    ")
        if not schema["fields"]:
            lines.append("    pass")
        self.lines += lines

    def compile(self, schema: dict[str, Any]) -> Writer:
        self.collect(schema, "")
        top = self.fullname(schema, "")
        while self.pending:
            self.record(*self.pending.pop(0))
        self.lines += [
            "def write(data):",
            "    out = bytearray()",
            "    try:",
            f"        {self.records[top]}(out, data)",
            "    except (KeyError, TypeError, AttributeError, ValueError) as exc:",
            "        raise NotCompiled(exc) from exc",
            "    return bytes(out)",
        ]
        writer: Writer = self.load(
            "write",
            top,
            {"_long": _long, "_int": _int, "_text": _text, "NotCompiled": NotCompiled},
        )
        return writer


def compile_writer(schema: dict[str, Any]) -> Writer | None:
    """A writer for a record schema (the expanded JSON), or ``None`` if it uses more than we do.

    The writer returns the Avro body and raises :class:`NotCompiled` for a
    value it does not take as it is (see the module docstring).
    """
    writer: Writer | None = _Compiler().build(schema)
    return writer
