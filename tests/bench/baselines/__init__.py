"""The B1 baselines, each a subprocess reading the run's pre-produced events.

* ``naive_faust``: the stock and cart rules as per-event Faust agents;
* ``quix``: the same rules in Quix Streams (its own virtualenv, see :func:`quix_python`);
* ``ceiling``: a bare confluent-kafka consumer that only decodes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schemas.catalogue import CART_EVENTS, CUSTOMER_INTERACTIONS, IDENTITY_EVENTS, ORDER_EVENTS
from schemas.catalogue import STOCK_MOVEMENTS as MOVEMENTS
from tests.bench.baselines.common import Job
from tests.bench.env import ROOT, BenchEnv, end_offsets, free_port, last_timestamp_ms
from tests.bench.feed import Fed
from tests.bench.procs import Proc

QUIX_REQUIREMENTS = ("quixstreams==3.28.1", "fastavro>=1.9", "orjson>=3.10")
QUIX_VENV = ROOT / ".omni" / "bench" / "quix-venv"
VIEW_ROLES = {"levels": "stock-levels", "totals": "stock-totals", "carts": "carts"}


@dataclass(frozen=True)
class BaselineResult:
    name: str
    events: int
    seconds: float
    cpu_seconds: float
    view_records: dict[str, int]

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu_seconds / self.events


def quix_python() -> Path:
    """Python of a virtualenv with quixstreams, created on first use.

    quixstreams 3.28 pins ``confluent-kafka<2.13`` while the project runs 2.16,
    so it cannot share the project's environment.
    """
    python = QUIX_VENV / "bin" / "python"
    stamp = QUIX_VENV / ".installed"
    if stamp.exists() and stamp.read_text() == "\n".join(QUIX_REQUIREMENTS):
        return python
    base = Path(sys.base_prefix) / "bin" / "python3"
    subprocess.run([str(base), "-m", "venv", str(QUIX_VENV)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", *QUIX_REQUIREMENTS]
    subprocess.run(pip, check=True)
    stamp.write_text("\n".join(QUIX_REQUIREMENTS))
    return python


def job_for(env: BenchEnv, name: str, fed: Fed) -> Job:
    """The job of baseline ``name``: sources, its own view topics, where to report."""
    views = {role: f"{env.prefix}{name}.view.{view}" for role, view in VIEW_ROLES.items()}
    for topic in views.values():
        env.create_topic(topic, 6, {"cleanup.policy": "compact"})
    others = [env.topic(t) for t in (CUSTOMER_INTERACTIONS, IDENTITY_EVENTS, ORDER_EVENTS)]
    return Job(
        bootstrap=env.bootstrap,
        registry=env.settings.registry.url,
        app_id=env.app_id(name),
        stock_topic=env.topic(MOVEMENTS),
        cart_topic=env.topic(CART_EVENTS),
        other_topics=others,
        views=views,
        total=fed.total,
        data_dir=str(env.workdir / name),
        result=str(env.workdir / f"{name}.json"),
        web_port=free_port(),
    )


def run_baseline(env: BenchEnv, name: str, fed: Fed, timeout_s: float = 900) -> BaselineResult:
    """Run one baseline to its last event; time it from its first event to its last view."""
    job = job_for(env, name, fed)
    python = quix_python() if name == "quix" else Path(sys.executable)
    proc_env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    proc_env.update(BENCH_JOB=job.to_env(), PYTHONPATH=str(ROOT))
    module = f"tests.bench.baselines.{name if name != 'naive' else 'naive_faust'}"
    proc = Proc([str(python), "-m", module], proc_env, env.workdir / f"{name}.log").start()
    result = Path(job.result)
    try:
        deadline = time.monotonic() + timeout_s
        while not result.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"baseline {name} not done in {timeout_s:.0f}s")
            if not proc.alive():
                time.sleep(0.5)  # it may have written the result as it exited
                if not result.exists():
                    proc.check()
            time.sleep(0.2)
        report: dict[str, Any] = json.loads(result.read_text())
    finally:
        proc.stop()
    last = report["last"]
    # Quix stamps output with the input's timestamp, so its views cannot tell when they
    # were made; its "last" is taken after app.run() returned from the final checkpoint
    # (views flushed). Faust stamps at send time.
    if name == "naive":
        last_ms = last_timestamp_ms(env, list(job.views.values()))
        last = last_ms / 1000
    ends = end_offsets(env, list(job.views.values()))
    views = {
        role: sum(n for (t, _), n in ends.items() if t == topic)
        for role, topic in job.views.items()
    }
    return BaselineResult(name, report["events"], last - report["first"], report["cpu"], views)
