"""Processes under measurement: start, watch CPU and memory from /proc, profile, stop by pid.

CPU time (user + system, all threads) moves far less than wall time when other
work shares the cores, so every throughput row reports CPU µs per event next
to events/s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.bench.env import ROOT, free_port

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of ``pid`` in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid``."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found.extend(int(child) for child in text.split())
    return found


@dataclass
class ChildPeak:
    """Peak RSS of ``pid``'s child processes (the worker's restore step), sampled."""

    pid: int
    interval: float = 0.05
    peak_kib: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> ChildPeak:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for child in children(self.pid):
                    self.peak_kib = max(self.peak_kib, memory_kib(child).get("VmHWM", 0))
            except (FileNotFoundError, ProcessLookupError):
                pass  # the worker or a child exited between listing and reading
            self._stop.wait(self.interval)

    def stop(self) -> float:
        """Stop sampling; the peak in MiB."""
        self._stop.set()
        return self.peak_kib / 1024


@dataclass
class Sampler:
    """CPU seconds of a process every ``interval`` seconds, in a daemon thread."""

    pid: int
    interval: float = 0.1
    samples: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> Sampler:
        threading.Thread(target=self._run, daemon=True).start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.time(), cpu_seconds(self.pid)))
            except (FileNotFoundError, ProcessLookupError):
                return
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()

    def cpu_at(self, when: float) -> float:
        """CPU seconds at wall time ``when`` (the nearest sample)."""
        return min(self.samples, key=lambda s: abs(s[0] - when))[1]


@dataclass
class Proc:
    """One subprocess with its log file, killed by pid only."""

    cmd: Sequence[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    def start(self) -> Proc:
        self.started_at = time.time()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                list(self.cmd),
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def check(self) -> None:
        if not self.alive():
            code = self.proc.returncode if self.proc else None
            raise RuntimeError(f"{self.cmd[-1]} exited ({code}):\n{self.tail()}")

    def stop(self, timeout_s: float = 30.0) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def worker(env: dict[str, str], name: str, log: Path, port: int | None = None) -> Proc:
    """An ``omni worker`` process (the same entry point ``make run`` uses)."""
    port = port or free_port()
    env = {**env, "OMNI_STREAMS__WEB_PORT": str(port), "OMNI_STREAMS__WORKER_NAME": name}
    cmd = [sys.executable, "-c", "from deploy.cli import main; main()", "worker"]
    return Proc([*cmd, "--name", name, "--web-port", str(port)], env, log)


def processed(url: str) -> float | None:
    """Sum of ``omni_events_processed_total`` on a worker's /metrics; None if it does not answer."""
    try:
        text = httpx.get(f"{url}/metrics", timeout=2).text
    except httpx.HTTPError:
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith("omni_events_processed_total{"):
            total += float(line.rpartition(" ")[2])
    return total


def wait_first_event(proc: Proc, url: str, timeout_s: float = 120.0) -> float:
    """Wall time at which the worker began processing (conservative: before its first event).

    Polls /metrics back to back: the answer is the send time of the last poll
    that still counted zero events, so processing started after it.
    """
    deadline = time.monotonic() + timeout_s
    last_zero = time.time()
    while time.monotonic() < deadline:
        proc.check()
        sent = time.time()
        count = processed(url)
        if count is None:
            last_zero = sent
            time.sleep(0.02)
            continue
        if count > 0:
            return last_zero
        last_zero = sent
        time.sleep(0.02)
    raise TimeoutError(f"no event processed in {timeout_s:.0f}s:\n{proc.tail()}")


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """py-spy in raw (collapsed stacks) mode, all threads, idle frames left out."""
    py_spy = Path(sys.executable).with_name("py-spy")
    cmd = [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--threads"]
    return subprocess.Popen(
        [*cmd, "--rate", "100", "--output", str(output), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profiler(spy: subprocess.Popen[bytes]) -> None:
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(60)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(10)
