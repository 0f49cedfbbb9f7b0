"""What the compiled Avro writer and reader share: named types, constants, loading the source.

Both compilers (:mod:`schemas.writer`, :mod:`schemas.reader`) turn one
record schema (expanded JSON, each named type defined at its first use) into
Python source with one function per record. A body may refer to a type that
is defined further down the document, so every named type is registered in
document order before any body is emitted.
"""

from __future__ import annotations

import abc
from typing import Any

PRIMITIVES = ("null", "boolean", "int", "long", "string")
SUPPORTED_LOGICAL = (None, "timestamp-millis", "uuid")


class Unsupported(Exception):
    """The schema uses more of Avro than our contract does: it is not compiled."""


class SchemaCompiler(abc.ABC):
    """Named types and constants of one compilation; subclasses emit the bodies."""

    prefix = "_r"  # the record functions' names

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.records: dict[str, str] = {}  # fullname -> function name
        self.enums: dict[str, str] = {}  # fullname -> constant holding its table
        self.constants: dict[str, Any] = {}
        self.pending: list[tuple[str, dict[str, Any]]] = []
        self.temp = 0

    def constant(self, value: Any) -> str:
        name = f"_K{len(self.constants)}"
        self.constants[name] = value
        return name

    def fresh(self, stem: str) -> str:
        """A local name no other statement of the function uses."""
        self.temp += 1
        return f"_{stem}{self.temp}"

    @staticmethod
    def fullname(schema: dict[str, Any], namespace: str) -> str:
        name = schema["name"]
        space = schema.get("namespace", namespace)
        return str(name) if "." in name or not space else f"{space}.{name}"

    def build(self, schema: Any) -> Any:
        """The compiled function of a record schema, or ``None`` if it uses more than ours."""
        if not isinstance(schema, dict) or schema.get("type") != "record":
            return None
        try:
            return self.compile(schema)
        except Unsupported:
            return None

    @abc.abstractmethod
    def compile(self, schema: dict[str, Any]) -> Any:
        """Emit the source of ``schema`` and load it; raises :class:`Unsupported`."""

    @abc.abstractmethod
    def enum_table(self, symbols: list[str]) -> Any:
        """What an enum's body looks up (symbol -> bytes to write, or index -> symbol)."""

    def collect(self, schema: Any, namespace: str) -> None:
        """Register every named type, in document order, before any body refers to one."""
        if isinstance(schema, list):
            for branch in schema:
                self.collect(branch, namespace)
        elif isinstance(schema, dict):
            kind = schema["type"]
            if kind == "record":
                fullname = self.fullname(schema, namespace)
                self.records[fullname] = f"{self.prefix}{len(self.records)}"
                self.pending.append((fullname, schema))
                for field in schema["fields"]:
                    self.collect(field["type"], fullname.rpartition(".")[0])
            elif kind == "enum":
                fullname = self.fullname(schema, namespace)
                self.enums[fullname] = self.constant(self.enum_table(schema["symbols"]))
            elif kind == "array":
                self.collect(schema["items"], namespace)
            elif kind == "map":
                self.collect(schema["values"], namespace)

    def resolve(self, name: str, namespace: str) -> str:
        """The full name a reference by ``name`` means inside ``namespace``."""
        for candidate in (name, f"{namespace}.{name}"):
            if candidate in self.records or candidate in self.enums:
                return str(candidate)
        raise Unsupported(f"unknown type {name}")

    def nullable(self, branches: list[Any]) -> tuple[int, Any]:
        """The null branch's index and the other branch of a union of null and one type."""
        if len(branches) != 2 or "null" not in branches:
            raise Unsupported("a union other than null and one type")
        null_index = branches.index("null")
        return null_index, branches[1 - null_index]

    def load(self, entry: str, top: str, names: dict[str, Any]) -> Any:
        """Run the emitted source; returns the function named ``entry``."""
        namespace = {**names, **self.constants}
        exec(compile("\n".join(self.lines), f"<avro {entry} {top}>", "exec"), namespace)
        return namespace[entry]
