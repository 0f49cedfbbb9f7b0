"""`make bench-quick` in CI: the benchmark code runs end to end, so it cannot rot.

It prints figures but this test does not gate on them (the machine is shared
and small); it asserts that every row B1..B6 was measured and has numbers.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.report import ROWS

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.timeout(900)
def test_quick_bench_measures_every_row(
    kafka_bootstrap: str, schema_registry_url: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env.update(
        OMNI_BOOTSTRAP_SERVERS=kafka_bootstrap,
        OMNI_SCHEMA_REGISTRY_URL=schema_registry_url,
        PYTHONPATH=str(ROOT),
    )
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.run", "--quick", "--out", str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
    )
    output = done.stdout[-4000:] + done.stderr[-4000:]
    assert done.returncode == 0, output
    results = json.loads((tmp_path / "latest.json").read_text())
    for key in ROWS:
        row = results[key]
        assert row["status"] == "measured", f"{key}: {row['status']}\n{output}"
        figures = row["figures"]
        assert figures, f"{key} has no figures"
        bad = {k: v for k, v in figures.items() if not isinstance(v, int | float) or math.isnan(v)}
        assert not bad, f"{key} has non-numeric figures: {bad}"
    assert set(results["B1"]["baselines"]) == {"naive", "quix", "ceiling"}
    assert (tmp_path / "latest.md").read_text().count("| B") == len(ROWS)
