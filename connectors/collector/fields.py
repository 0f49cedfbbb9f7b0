"""Typed reads of Segment JSON that name the field when it is wrong.

Every reader takes the object, the key and the path of the object in the
request (``batch[3].properties``), so an error says exactly
``batch[3].properties.quantity: must be an integer``. These replace a pydantic
model on the hot path: a dict lookup and an ``isinstance`` per field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from connectors.core.exceptions import InvalidEvent

# ISO 4217 currencies whose minor unit is not the cent.
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()  # noqa: SIM905
)
THREE_DECIMAL = frozenset(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"))
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)


class FieldError(InvalidEvent):
    """One wrong field of one event."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__([f"{path}: {message}"])


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def obj(parent: dict[str, Any], key: str, path: str) -> dict[str, Any]:
    """An optional JSON object; absent or null reads as empty."""
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(join(path, key), "must be an object")
    return value


def array(parent: dict[str, Any], key: str, path: str) -> list[Any]:
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(join(path, key), "must be an array")
    return value


def text(parent: dict[str, Any], key: str, path: str) -> str | None:
    """An optional string; numbers are refused, since a string field given 5 is a bug."""
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    raise FieldError(join(path, key), "must be a string")


def ident(parent: dict[str, Any], key: str, path: str) -> str | None:
    """An optional id: Segment lets ids be strings or numbers; empty means absent."""
    value = parent.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise FieldError(join(path, key), "must be a string or a number")


def required_ident(parent: dict[str, Any], key: str, path: str) -> str:
    value = ident(parent, key, path)
    if value is None:
        raise FieldError(join(path, key), "is required")
    return value


def integer(parent: dict[str, Any], key: str, path: str, default: int) -> int:
    """A whole number (``2.0`` is 2; ``2.5``, ``"2"`` and ``true`` are errors)."""
    value = parent.get(key)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise FieldError(join(path, key), "must be an integer")


def positive_integer(parent: dict[str, Any], key: str, path: str, default: int) -> int:
    value = integer(parent, key, path, default)
    if value <= 0:
        raise FieldError(join(path, key), "must be a positive integer")
    return value


def number(parent: dict[str, Any], key: str, path: str) -> float | int | None:
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise FieldError(join(path, key), "must be a number")


def currency(parent: dict[str, Any], key: str, path: str, default: str) -> str:
    value = text(parent, key, path)
    if value is None:
        return default
    if len(value) != 3 or not value.isalpha():
        raise FieldError(join(path, key), "must be an ISO 4217 code such as EUR")
    return value.upper()


def minor_units(amount: float | int, code: str) -> int:
    """An amount in the currency's minor unit (cents for EUR, yen for JPY, fils for KWD)."""
    if code in ZERO_DECIMAL:
        return round(amount)
    return round(amount * (1000 if code in THREE_DECIMAL else 100))


def instant(parent: dict[str, Any], key: str, path: str) -> int | None:
    """An ISO-8601 date-time as epoch milliseconds; one without an offset is UTC."""
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(join(path, key), "must be an ISO-8601 date-time string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError(join(path, key), "must be an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - EPOCH) // MILLISECOND


def stringify(values: dict[str, Any], skip: frozenset[str] = frozenset()) -> dict[str, str]:
    """Avro ``map<string>``: strings as they are, everything else as its JSON text."""
    return {
        key: value if isinstance(value, str) else orjson.dumps(value).decode()
        for key, value in values.items()
        if key not in skip
    }
