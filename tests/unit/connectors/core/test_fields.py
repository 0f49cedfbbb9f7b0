"""Typed reads of JSON objects and CSV rows: text numbers only in CSV, money exact."""

from __future__ import annotations

import pytest

from connectors.core.exceptions import InvalidEvent
from connectors.core.fields import Fields


def test_csv_text_numbers_are_read_json_strings_are_refused() -> None:
    assert Fields({"q": " 3 "}, textual=True).integer("q") == 3
    with pytest.raises(InvalidEvent, match=r"^lines\[0\]\.q: must be an integer$"):
        Fields({"q": "3"}, "lines[0]").integer("q")
    with pytest.raises(InvalidEvent, match="q: must be an integer"):
        Fields({"q": True}).integer("q")


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("19.99", "EUR", 1999), (19.99, "EUR", 1999), ("1200", "JPY", 1200), ("1.234", "KWD", 1234)],
)
def test_money_is_exact_in_the_currencys_minor_unit(
    amount: object, currency: str, minor: int
) -> None:
    assert Fields({"p": amount}).amount_minor("p_minor", "p", currency) == minor


def test_money_with_too_many_decimals_or_not_a_number_is_refused() -> None:
    with pytest.raises(InvalidEvent, match="more decimals than EUR"):
        Fields({"p": "1.005"}).amount_minor("p_minor", "p", "EUR")
    with pytest.raises(InvalidEvent, match="p: must be a decimal number"):
        Fields({"p": "ten"}).amount_minor("p_minor", "p", "EUR")


def test_instants_and_choices() -> None:
    assert Fields({"t": "1970-01-01T00:00:01"}).instant("t") == 1000
    assert Fields({"t": "1970-01-01T01:00:01+01:00"}).instant("t") == 1000
    with pytest.raises(InvalidEvent, match="t: must be an ISO-8601 date-time"):
        Fields({"t": "yesterday"}).instant("t")
    with pytest.raises(InvalidEvent, match="k: must be one of a, b"):
        Fields({"k": "c"}).choice("k", ("a", "b"))
