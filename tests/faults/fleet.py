"""The workers of one fault run: real ``omni worker`` processes, stopped or killed by pid.

Built on :class:`tests.integration.streams.workers.WorkerProcess` (one
process, its port and log); this adds the group view a fault needs: which
workers run, where each keeps its RocksDB state, and when a restarted one is
processing again (its ``omni_events_processed_total`` moves), which is what
"recovered" means to a channel waiting for a view.
"""

from __future__ import annotations

import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.streams.workers import WorkerProcess

PROCESSED = "omni_events_processed"
CRASHED = "Crashed reason="


@dataclass
class Fleet:
    """Workers sharing one app id (one consumer group) and one state root."""

    env: dict[str, str]
    logs: Path
    data_dir: Path
    workers: dict[str, WorkerProcess] = field(default_factory=dict)

    def worker(self, name: str) -> WorkerProcess:
        if name not in self.workers:
            self.workers[name] = WorkerProcess(self.env, name, self.logs / f"{name}.log")
        return self.workers[name]

    def running(self) -> list[str]:
        return [n for n, w in self.workers.items() if w.proc is not None and w.proc.poll() is None]

    def start(self, name: str, timeout_s: float = 120.0) -> float:
        """Start ``name`` and wait until it serves ``/metrics``; returns the seconds taken."""
        started = time.monotonic()
        self.worker(name).start(timeout_s)
        return time.monotonic() - started

    def stop(self, name: str, sig: signal.Signals = signal.SIGTERM) -> None:
        self.worker(name).stop(sig, timeout_s=60.0)

    def kill(self, name: str) -> int:
        """``kill -9`` by pid; returns the pid."""
        process = self.worker(name).proc
        assert process is not None, f"{name} was never started"
        pid = process.pid
        self.worker(name).kill()
        return pid

    def state_dir(self, name: str) -> Path:
        """Where Faust keeps ``name``'s RocksDB tables (``data_dir / worker_name``)."""
        return self.data_dir / name

    def wipe_state(self, name: str) -> None:
        assert name not in self.running(), "wipe the state of a stopped worker only"
        shutil.rmtree(self.state_dir(name), ignore_errors=False)

    def outcomes(self, name: str) -> dict[tuple[str, str], float]:
        """``omni_events_processed_total`` of this worker process by (topic, outcome)."""
        answer = httpx.get(f"{self.worker(name).url}/metrics", timeout=5)
        answer.raise_for_status()
        out: dict[tuple[str, str], float] = {}
        for family in text_string_to_metric_families(answer.text):
            if family.name != PROCESSED:
                continue
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    label = (sample.labels["topic"], sample.labels["outcome"])
                    out[label] = out.get(label, 0.0) + sample.value
        return out

    def processed(self, name: str) -> float:
        """Events this worker process has taken off its topics (any outcome)."""
        return sum(self.outcomes(name).values())

    def wait_processing(self, name: str, timeout_s: float = 180.0) -> float | None:
        """Seconds until ``name`` processed its first event, or None if it never did."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            try:
                if self.processed(name) > 0:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return None

    def crashes(self) -> list[str]:
        """Agents that crashed inside a live worker (Faust logs them and keeps serving)."""
        found: dict[str, int] = {}
        for name, worker in self.workers.items():
            if not worker.log.exists():
                continue
            for line in worker.log.read_text(errors="replace").splitlines():
                if CRASHED in line:
                    reason = f"{name}: {line.partition(CRASHED)[2][:160]}"
                    found[reason] = found.get(reason, 0) + 1
        return [f"agent crashed {n}x, {reason}" for reason, n in found.items()]

    def tails(self, lines: int = 30) -> str:
        return "\n".join(f"--- {n}\n{w.tail(lines)}" for n, w in self.workers.items())

    def stop_all(self) -> None:
        for name in list(self.workers):
            self.stop(name)
