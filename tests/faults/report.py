"""The fault report: one row per fault, printed at the end of the run and kept in a file.

Each row carries the seed and the fault schedule, so a failing row can be run
again with ``--fault-seed`` and the same figures compared.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

COLUMNS = (
    ("row", 28),
    ("seed", 10),
    ("sent", 8),
    ("acked", 8),
    ("lost", 5),
    ("double", 6),
    ("diff keys", 9),
    ("dlq", 5),
    ("figure", 44),
    ("secs", 6),
    ("verdict", 7),
)


@dataclass
class Row:
    """What one fault row measured."""

    row: str
    seed: int
    sent: int = 0
    acked: int = 0
    lost: int = 0
    doubled: int = 0
    differing: int = 0
    dead_letters: int = 0
    figure: str = ""
    seconds: float = 0.0
    verdict: str = "FAIL"
    schedule: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def cells(self) -> tuple[str, ...]:
        return (
            self.row,
            str(self.seed),
            str(self.sent),
            str(self.acked),
            str(self.lost),
            str(self.doubled),
            str(self.differing),
            str(self.dead_letters),
            self.figure,
            f"{self.seconds:.0f}",
            self.verdict,
        )


def table(rows: list[Row]) -> str:
    """A fixed-width table, one line per row, then each row's schedule and problems."""
    head = " ".join(name.ljust(width) for name, width in COLUMNS)
    lines = [head, "-" * len(head)]
    for row in rows:
        lines.append(" ".join(c.ljust(w) for c, (_, w) in zip(row.cells(), COLUMNS, strict=True)))
    for row in rows:
        lines.append(f"\n{row.row} (seed {row.seed}) schedule:")
        lines += [f"  {entry}" for entry in row.schedule]
        lines += [f"  PROBLEM: {problem}" for problem in row.problems]
    return "\n".join(lines)


def write(rows: list[Row], directory: Path, stem: str = "faults-report") -> Path:
    """``<stem>.txt`` (the table) and ``<stem>.json`` under ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    text = directory / f"{stem}.txt"
    text.write_text(f"fault suite report, {stamp}\n\n{table(rows)}\n")
    data = {"at": stamp, "rows": [asdict(row) for row in rows]}
    (directory / f"{stem}.json").write_text(json.dumps(data, indent=2) + "\n")
    return text
