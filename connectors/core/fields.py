"""Typed reads of one JSON object or one CSV row that name the field when it is wrong.

The POS, service-desk and inventory connectors read records that arrive as
JSON (numbers are numbers) or as CSV (everything is text). ``Fields`` reads
both: with ``textual=True`` a number may be written as text (``"2"``), which
CSV cannot avoid; in JSON ``"2"`` for a quantity is refused, because a string
where a number belongs is a bug in the sender. Every error is a
``FieldError`` whose message is ``path.field: what is wrong``, so a 400 or a
rejects report says exactly which field of which record to fix.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.core.exceptions import InvalidEvent

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
WHOLE = re.compile(r"[+-]?\d+")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
# ISO 4217 currencies whose minor unit is not the cent.
ZERO_DECIMAL = frozenset(
    "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split()  # noqa: SIM905
)
THREE_DECIMAL = frozenset(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"))


class FieldError(InvalidEvent):
    """One wrong field of one record."""

    def __init__(self, path: str, message: str) -> None:
        self.path = path
        super().__init__([f"{path}: {message}"])


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def minor_exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


class Fields:
    """Reads of one record at ``path`` (``receipts[2]``, ``lines[0]``, or ``""``)."""

    __slots__ = ("data", "path", "textual")

    def __init__(self, data: Mapping[str, Any], path: str = "", *, textual: bool = False) -> None:
        self.data = data
        self.path = path
        self.textual = textual

    def where(self, key: str) -> str:
        return join(self.path, key)

    def error(self, key: str, message: str) -> FieldError:
        return FieldError(self.where(key), message)

    def text(self, key: str) -> str | None:
        """An optional string; empty (a blank CSV cell) reads as absent."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return value.strip() or None
        raise self.error(key, "must be a string")

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.error(key, "is required")
        return value

    def ident(self, key: str) -> str | None:
        """An optional id: a string or a whole number (some systems number their ids)."""
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return self.text(key)

    def required_ident(self, key: str) -> str:
        value = self.ident(key)
        if value is None:
            raise self.error(key, "is required")
        return value

    def integer(self, key: str, default: int | None = None, limit: int = INT32_MAX) -> int | None:
        """A whole number within ``±limit``; ``2.0`` is 2, ``2.5`` and ``true`` are errors."""
        value = self.data.get(key)
        if value is None or value == "":
            return default
        number = self._whole(key, value)
        if abs(number) > limit:
            raise self.error(key, f"must be between {-limit} and {limit}")
        return number

    def required_integer(self, key: str, limit: int = INT32_MAX) -> int:
        value = self.integer(key, None, limit)
        if value is None:
            raise self.error(key, "is required")
        return value

    def positive(self, key: str, default: int | None = None) -> int:
        value = self.integer(key, default)
        if value is None:
            raise self.error(key, "is required")
        if value <= 0:
            raise self.error(key, "must be a positive integer")
        return value

    def choice(self, key: str, options: Collection[str], default: str | None = None) -> str:
        value = self.text(key)
        if value is None:
            if default is None:
                raise self.error(key, f"is required: one of {', '.join(options)}")
            return default
        if value not in options:
            raise self.error(key, f"must be one of {', '.join(options)}")
        return value

    def currency(self, key: str, default: str) -> str:
        value = self.text(key)
        if value is None:
            return default
        if len(value) != 3 or not value.isalpha():
            raise self.error(key, "must be an ISO 4217 code such as EUR")
        return value.upper()

    def amount_minor(self, minor_key: str, decimal_key: str, currency: str) -> int | None:
        """An amount in minor units: ``<minor_key>`` as is, else ``<decimal_key>`` converted."""
        minor = self.integer(minor_key, None, INT64_MAX)
        if minor is not None:
            return minor
        value = self.data.get(decimal_key)
        if value is None or value == "":
            return None
        amount = self._decimal(decimal_key, value)
        scaled = amount.scaleb(minor_exponent(currency))
        if scaled != scaled.to_integral_value():
            raise self.error(decimal_key, f"has more decimals than {currency} has minor units")
        if abs(scaled) > INT64_MAX:
            raise self.error(decimal_key, "is too large")
        return int(scaled)

    def instant(self, key: str) -> int | None:
        """An ISO-8601 date-time (one without an offset is UTC) as epoch milliseconds."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.error(key, "must be an ISO-8601 date-time string")
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise self.error(key, "must be an ISO-8601 date-time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return (parsed - EPOCH) // MILLISECOND

    def required_instant(self, key: str) -> int:
        value = self.instant(key)
        if value is None:
            raise self.error(key, "is required (ISO-8601 date-time)")
        return value

    def obj(self, key: str) -> Fields:
        """A nested object (absent reads as empty), with its path."""
        value = self.data.get(key)
        if value is None:
            value = {}
        elif not isinstance(value, dict):
            raise self.error(key, "must be an object")
        return Fields(value, self.where(key), textual=self.textual)

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, "must be an array")
        return value

    def _whole(self, key: str, value: Any) -> int:
        if isinstance(value, bool):
            raise self.error(key, "must be an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if self.textual and isinstance(value, str) and WHOLE.fullmatch(value.strip()):
            return int(value.strip())
        raise self.error(key, "must be an integer")

    def _decimal(self, key: str, value: Any) -> Decimal:
        """Money may be a JSON number or text (``"19.99"``, exact) in JSON and CSV alike."""
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            try:
                amount = Decimal(str(value).strip())
            except InvalidOperation:
                amount = Decimal("NaN")
            if amount.is_finite():
                return amount
        raise self.error(key, "must be a decimal number such as 19.99")
