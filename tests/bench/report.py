"""The one table: rows B1..B6, printed, and written to bench-results/latest.{json,md}.

Each row is an object with its figures as numbers, the target it is compared
with (reported, never asserted) and, for B1, the baselines beside it. A row
that could not be measured says why in ``status`` and has no figures.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.env import ROOT

RESULTS = ROOT / "bench-results"
ROWS = ("B1", "B2", "B3", "B4", "B5", "B6")


@dataclass
class Row:
    key: str
    title: str
    figures: dict[str, float] = field(default_factory=dict)
    summary: str = ""
    target: str = ""
    met: bool | None = None
    status: str = "measured"
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "status": self.status,
            "figures": self.figures,
            "summary": self.summary,
            "target": self.target,
            "target_met": self.met,
            "baselines": self.baselines,
            "details": self.details,
        }


def not_measured(key: str, title: str, why: str, target: str = "") -> Row:
    return Row(
        key, title, status=f"not measured: {why}", summary=f"not measured: {why}", target=target
    )


def machine() -> dict[str, Any]:
    """What the figures were measured on, and how busy it was."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.partition(":")[2].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            mem_kib = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    m = meta["machine"]
    lines = [
        f"Measured {meta['finished']} ({'quick' if meta['quick'] else 'full'} run) on "
        f"{m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}, "
        f"load average {m['load_average_1m']} at the end.",
        "",
        "| row | what | measured | target | met |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        met = {True: "yes", False: "no", None: "-"}[row.met]
        lines.append(f"| {row.key} | {row.title} | {row.summary} | {row.target} | {met} |")
    return "\n".join(lines) + "\n"


def write(rows: list[Row], quick: bool, extra: dict[str, Any], out: Path = RESULTS) -> str:
    """Write latest.json and latest.md under ``out``; return the markdown table."""
    meta = {
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "quick": quick,
        "machine": machine(),
        **extra,
    }
    out.mkdir(parents=True, exist_ok=True)
    data = {row.key: row.as_json() for row in rows}
    data["meta"] = meta
    (out / "latest.json").write_text(json.dumps(data, indent=2, default=str) + "\n")
    table = markdown(rows, meta)
    (out / "latest.md").write_text(table)
    return table
