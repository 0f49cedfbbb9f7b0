"""Files and bodies of many records: lines, CSV rows and JSON lines, each with its line number.

A POS export or an ERP feed is judged row by row: a malformed row is
rejected with its line number and its original bytes (for the dead-letter
topic and the rejects report) and its neighbours go through. So parsing keeps,
for every row, the physical line it came from.

CSV is read one physical line per row: a quoted field that spans lines is
not supported (that row and the next are rejected as malformed, and say so).
The first non-blank line is the header; names are trimmed and lower-cased.
Text is UTF-8, a leading byte-order mark is ignored.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.core.events import Outgoing

BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank physical line: its 1-based number and its bytes without the newline."""

    number: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class Row:
    """One parsed record and the line it came from (CSV cells are all text)."""

    line: Line
    values: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Reject:
    """A row that was refused: where it was, its bytes, a reason label and a message."""

    line: int
    raw: bytes
    reason: str
    message: str

    def report(self) -> dict[str, Any]:
        """The row as the rejects report lists it."""
        return {
            "line": self.line,
            "reason": self.reason,
            "error": self.message,
            "raw": self.raw.decode("utf-8", errors="replace"),
        }


@dataclass(frozen=True, slots=True)
class Unit:
    """Records that stand or fall together (one receipt, one count) and the lines behind them."""

    events: list[Outgoing]
    lines: list[Line]

    def rejected(self, reason: str, message: str) -> list[Reject]:
        return [Reject(line.number, line.raw, reason, message) for line in self.lines]


def split_lines(data: bytes) -> list[Line]:
    """Non-blank lines with their numbers; ``\\r\\n`` and ``\\n`` both end a line."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    lines = []
    for index, raw in enumerate(data.split(b"\n"), start=1):
        raw = raw.removesuffix(b"\r")
        if raw.strip():
            lines.append(Line(index, raw))
    return lines


def _text(line: Line) -> str | Reject:
    try:
        return line.raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Reject(line.number, line.raw, "malformed_row", f"not UTF-8: {exc}")


def csv_rows(lines: list[Line]) -> tuple[list[Row], list[Reject]]:
    """Rows keyed by the header's names; a row with the wrong number of cells is rejected."""
    if not lines:
        return [], []
    header_text = _text(lines[0])
    if isinstance(header_text, Reject):
        return [], [header_text, *_all_rejected(lines[1:], "the header line is not UTF-8")]
    header = [name.strip().lower() for name in next(csv.reader([header_text]))]
    rows: list[Row] = []
    rejects: list[Reject] = []
    for line in lines[1:]:
        text = _text(line)
        if isinstance(text, Reject):
            rejects.append(text)
            continue
        cells = _cells(text)
        if cells is None or len(cells) != len(header):
            found = "unreadable" if cells is None else f"{len(cells)} cells"
            message = f"{found}, the header has {len(header)} columns"
            rejects.append(Reject(line.number, line.raw, "malformed_row", message))
            continue
        rows.append(Row(line, dict(zip(header, cells, strict=True))))
    return rows, rejects


def _cells(text: str) -> list[str] | None:
    try:
        return next(csv.reader([text], strict=True))
    except csv.Error:
        return None


def _all_rejected(lines: list[Line], message: str) -> list[Reject]:
    return [Reject(line.number, line.raw, "malformed_row", message) for line in lines]


def json_rows(lines: list[Line]) -> tuple[list[Row], list[Reject]]:
    """One JSON object per line (JSON lines / NDJSON)."""
    rows: list[Row] = []
    rejects: list[Reject] = []
    for line in lines:
        try:
            value = orjson.loads(line.raw)
        except orjson.JSONDecodeError as exc:
            rejects.append(Reject(line.number, line.raw, "malformed_row", f"not JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            rejects.append(Reject(line.number, line.raw, "malformed_row", "not a JSON object"))
            continue
        rows.append(Row(line, value))
    return rows, rejects


def parse(data: bytes, fmt: str) -> tuple[list[Row], list[Reject]]:
    """``fmt`` is ``csv`` or ``jsonl``."""
    lines = split_lines(data)
    return csv_rows(lines) if fmt == "csv" else json_rows(lines)


def format_of(name: str) -> str | None:
    """The row format a file name says (``.csv``, ``.jsonl``/``.ndjson``), else ``None``."""
    lowered = name.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None
