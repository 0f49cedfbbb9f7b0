"""Connectors for ``make run``: detached ``omni connector run NAME`` processes.

Managed like the workers: a state dir per connector with its pid file and log,
an identity marker in the command line (``--tag``), readiness by HTTP
(``/healthz``) for connectors that serve HTTP and by staying alive for the
sinks, SIGTERM then SIGKILL on ``down`` (SIGTERM makes them drain and flush).

They read their settings like every ``omni`` command, plus the demo
credentials file that ``omni up`` generates (``--env-file``), so the
simulator and the connectors agree on write keys and secrets without any of
them being written into the repository.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

from deploy.local.proc import ManagedProcess, StartReport, wait_ready
from schemas.settings import Settings

STOP_TIMEOUT_S = 40.0
SINK_SETTLE_S = 3.0


def http_port(settings: Settings, name: str) -> int | None:
    """The port a connector serves HTTP on, or None for a sink."""
    section = {
        "collector": settings.connectors.collector,
        "pos": settings.connectors.pos,
        "servicedesk": settings.connectors.service_desk,
        "inventory": settings.connectors.inventory,
    }.get(name)
    port = getattr(section, "port", None) if section is not None else None
    return int(port) if port else None


class ConnectorFleet:
    """The named connectors on this machine."""

    def __init__(self, settings: Settings, names: Sequence[str], env_file: Path | None) -> None:
        self.settings = settings
        self.names = list(names)
        self.env_file = env_file
        root = settings.local.home / "connectors"
        self._procs = {name: ManagedProcess(root / name, f"{name}.log") for name in self.names}

    def url(self, name: str) -> str | None:
        port = http_port(self.settings, name)
        return None if port is None else f"http://127.0.0.1:{port}"

    def answers(self, name: str) -> bool:
        url = self.url(name)
        if url is None:
            return self._procs[name].pid() is not None
        try:
            return httpx.get(f"{url}/healthz", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def up(self) -> StartReport:
        """Start the connectors that are not running and wait until each answers."""
        started_at = time.monotonic()
        pids = tuple(self._start(n) for n, proc in self._procs.items() if proc.pid() is None)
        if pids:
            time.sleep(SINK_SETTLE_S)  # a sink that cannot start exits at once: see it fail
        for name, proc in self._procs.items():
            wait_ready(
                f"connector {name}",
                lambda name=name: self.answers(name),  # type: ignore[misc]
                [proc],
                self.settings.local.start_timeout_s,
            )
        elapsed = time.monotonic() - started_at
        return StartReport("connectors", ", ".join(self.names), not pids, pids, elapsed)

    def _start(self, name: str) -> int:
        proc = self._procs[name]
        cmd = [sys.executable, "-c", "from deploy.cli import main; main()"]
        if self.env_file is not None:
            cmd += ["--env-file", str(self.env_file)]
        cmd += ["connector", "run", name, "--tag", proc.marker]
        return proc.start_command(cmd)

    def down(self) -> list[int]:
        """SIGTERM every connector (they drain and flush), SIGKILL after a grace period."""
        stopping = {n: p.request_stop() for n, p in self._procs.items()}
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for n, pid in stopping.items():
            if pid is not None:
                self._procs[n].finish_stop(pid, deadline)
        return [pid for pid in stopping.values() if pid is not None]

    def running(self) -> dict[str, int | None]:
        return {n: p.pid() for n, p in self._procs.items()}


class Simulator:
    """The demo traffic generator of ``make run``: ``omni simulate`` in the background."""

    def __init__(self, settings: Settings, env_file: Path | None) -> None:
        self.env_file = env_file
        self._proc = ManagedProcess(settings.local.home / "simulator", "simulator.log")

    @property
    def log_file(self) -> Path:
        return self._proc.log_file

    def up(self, customers: int, rate: float, seed: int) -> StartReport:
        """Start it unless it runs; a new seed each time, so a second run brings new traffic."""
        started_at = time.monotonic()
        pid = self._proc.pid()
        if pid is not None:
            return StartReport("simulator", str(self.log_file), True, (pid,), 0.0)
        cmd = [sys.executable, "-c", "from deploy.cli import main; main()"]
        if self.env_file is not None:
            cmd += ["--env-file", str(self.env_file)]
        cmd += ["simulate", "--customers", str(customers), "--rate", str(rate)]
        cmd += ["--seed", str(seed), "--no-progress", "--tag", self._proc.marker]
        pid = self._proc.start_command(cmd)
        return StartReport(
            "simulator", str(self.log_file), False, (pid,), time.monotonic() - started_at
        )

    def down(self) -> int | None:
        pid = self._proc.request_stop()
        if pid is not None:
            self._proc.finish_stop(pid, time.monotonic() + 10)
        return pid
