"""Pydantic models generated from the ``.avsc`` files, for validation at the edges.

Connectors and HTTP endpoints validate with these before anything reaches
Kafka, so a channel gets an error naming the bad field instead of a record
that fastavro rejects later with a less helpful message. Generating them from
the schema set keeps them 1:1 with the contract by construction: there is no
hand-written copy to drift.

Scalars are strict (``"5"`` is not an int, ``1`` is not a bool): coercion at
the edge would hide a channel's bug until a processor trips over it. Times
are aware datetimes truncated to what Avro stores (milliseconds), so a model
equals itself after a trip through Kafka.
"""

from __future__ import annotations

import keyword
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Union
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    create_model,
)

from schemas.avro import PRIMITIVES, SchemaSet, load_schema_set, qualify
from schemas.exceptions import SchemaError

__all__ = ["AvroRecord", "ModelFactory", "all_models", "from_avro", "model_for", "to_avro"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

# typing special forms subscripted with values built at run time: mypy cannot follow
# that, so they are handled as Any on purpose.
_LITERAL: Any = Literal
_UNION: Any = Union
_LIST: Any = list
_DICT: Any = dict


def _epoch_millis(value: Any) -> Any:
    """Avro carries epoch milliseconds; accept them as well as datetimes and ISO strings."""
    if isinstance(value, int) and not isinstance(value, bool):
        return EPOCH + timedelta(milliseconds=value)
    return value


def _epoch_micros(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return EPOCH + timedelta(microseconds=value)
    return value


def _utc_millis(value: datetime) -> datetime:
    """What survives a trip through timestamp-millis, so equality holds after it."""
    utc = value.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def _uuid(value: Any) -> Any:
    """fastavro reads the uuid logical type as ``uuid.UUID``; the models hold canonical text."""
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, str):
        return str(UUID(value))
    return value


TimestampMillis = Annotated[
    AwareDatetime, BeforeValidator(_epoch_millis), AfterValidator(_utc_millis)
]
TimestampMicros = Annotated[
    AwareDatetime, BeforeValidator(_epoch_micros), AfterValidator(lambda v: v.astimezone(UTC))
]
UuidStr = Annotated[str, Strict(), BeforeValidator(_uuid)]
Int32 = Annotated[int, Strict(), Field(ge=INT_MIN, le=INT_MAX)]
Int64 = Annotated[int, Strict(), Field(ge=LONG_MIN, le=LONG_MAX)]

_PRIMITIVE_TYPES: dict[str, Any] = {
    "null": None,
    "boolean": Annotated[bool, Strict()],
    "int": Int32,
    "long": Int64,
    "float": Annotated[float, Strict()],
    "double": Annotated[float, Strict()],
    "bytes": Annotated[bytes, Strict()],
    "string": Annotated[str, Strict()],
}
_LOGICAL_TYPES: dict[tuple[str, str], Any] = {
    ("long", "timestamp-millis"): TimestampMillis,
    ("long", "timestamp-micros"): TimestampMicros,
    ("int", "date"): Annotated[date, Strict()],
    ("string", "uuid"): UuidStr,
}


class AvroRecord(BaseModel):
    """Base of every generated model; ``avro_name`` is the record's full Avro name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    avro_name: ClassVar[str] = ""


def _python_name(name: str) -> str:
    """Avro field names that would clash with pydantic or Python get a trailing underscore
    and keep the Avro name as alias."""
    if keyword.iskeyword(name) or name.startswith(("_", "model_")) or hasattr(BaseModel, name):
        return f"f{name}" if name.startswith("_") else f"{name}_"
    return name


class ModelFactory:
    """Builds and caches one model per record of a schema set."""

    def __init__(self, schema_set: SchemaSet) -> None:
        self.schema_set = schema_set
        self._models: dict[str, type[AvroRecord]] = {}
        self._building: set[str] = set()

    def model_for(self, fullname: str) -> type[AvroRecord]:
        if fullname not in self._models:
            self._models[fullname] = self._build(fullname)
        return self._models[fullname]

    def _build(self, fullname: str) -> type[AvroRecord]:
        schema = self.schema_set.raw(fullname)
        if schema["type"] not in ("record", "error"):
            raise SchemaError(f"{fullname} is not a record but an Avro {schema['type']}")
        if fullname in self._building:
            raise SchemaError(f"{fullname} is recursive; the edge models do not support that")
        self._building.add(fullname)
        try:
            namespace = fullname.rpartition(".")[0]
            fields: dict[str, Any] = {
                _python_name(f["name"]): self._field(f, namespace) for f in schema["fields"]
            }
        finally:
            self._building.discard(fullname)
        model = create_model(
            fullname.rpartition(".")[2],
            __base__=AvroRecord,
            __module__=__name__,
            __doc__=str(schema.get("doc", "")),
            **fields,
        )
        model.avro_name = fullname
        return model

    def _field(self, field: dict[str, Any], namespace: str) -> tuple[Any, Any]:
        annotation = self._annotation(field["type"], namespace)
        extra: dict[str, Any] = {"description": field.get("doc")}
        if _python_name(field["name"]) != field["name"]:
            extra["alias"] = field["name"]
        if "default" not in field:
            return annotation, Field(**extra)
        # The JSON default goes through validation, so a record default becomes a model,
        # 0 becomes a datetime, and every instance gets its own list or dict.
        return annotation, Field(default=field["default"], validate_default=True, **extra)

    def _annotation(self, node: Any, namespace: str) -> Any:
        if isinstance(node, list):
            return _UNION[tuple(self._annotation(branch, namespace) for branch in node)]
        if isinstance(node, str):
            if node in PRIMITIVES:
                return _PRIMITIVE_TYPES[node]
            return self._named(qualify(node, namespace))
        kind = node["type"]
        if kind == "array":
            return _LIST[self._annotation(node["items"], namespace)]
        if kind == "map":
            return _DICT[str, self._annotation(node["values"], namespace)]
        if isinstance(kind, str) and (kind, node.get("logicalType", "")) in _LOGICAL_TYPES:
            return _LOGICAL_TYPES[(kind, node["logicalType"])]
        if kind in ("record", "error", "enum", "fixed"):
            raise SchemaError(f"inline definition of {node.get('name')!r}: one type per file")
        return self._annotation(kind, namespace)

    def _named(self, fullname: str) -> Any:
        schema = self.schema_set.raw(fullname)
        if schema["type"] == "enum":
            return _LITERAL[tuple(schema["symbols"])]
        if schema["type"] == "fixed":
            size = schema["size"]
            return Annotated[bytes, Strict(), Field(min_length=size, max_length=size)]
        return self.model_for(fullname)


@cache
def _default_factory() -> ModelFactory:
    return ModelFactory(load_schema_set())


def model_for(fullname: str) -> type[AvroRecord]:
    """The generated model of a record of the package's schema set (cached)."""
    return _default_factory().model_for(fullname)


def all_models() -> dict[str, type[AvroRecord]]:
    factory = _default_factory()
    return {name: factory.model_for(name) for name in factory.schema_set.records()}


def to_avro(model: BaseModel) -> dict[str, Any]:
    """The record as fastavro's schemaless_writer takes it (aware datetimes, str uuids)."""
    return model.model_dump(by_alias=True)


def from_avro(fullname: str, record: dict[str, Any]) -> AvroRecord:
    """A model from what fastavro's schemaless_reader returned (or any dict of that shape)."""
    return model_for(fullname).model_validate(record)
