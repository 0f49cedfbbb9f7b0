"""Stream-processor workers for ``make run``: detached ``omni worker`` processes.

They are managed like the JVMs: a state dir per worker with its pid file and
log, an identity marker in the command line (``--tag``), readiness by HTTP
(``/metrics`` answering), SIGTERM then SIGKILL on ``down``. Worker N serves
its query API on ``web_port + N - 1``.
"""

from __future__ import annotations

import sys
import time

import httpx

from deploy.local.proc import ManagedProcess, StartReport, wait_ready
from schemas.settings import Settings

STOP_TIMEOUT_S = 30.0


class Workers:
    """``count`` workers of the processors on this machine."""

    def __init__(self, settings: Settings, count: int = 1) -> None:
        self.settings = settings
        self.count = count
        root = settings.local.home / "workers"
        self._procs = {
            n: ManagedProcess(root / f"worker-{n}", "worker.log") for n in range(1, count + 1)
        }

    def port(self, n: int) -> int:
        return self.settings.streams.web_port + n - 1

    def url(self, n: int) -> str:
        return f"http://{self.settings.streams.web_host}:{self.port(n)}"

    @property
    def urls(self) -> list[str]:
        return [self.url(n) for n in self._procs]

    def answers(self, n: int) -> bool:
        try:
            return httpx.get(f"{self.url(n)}/metrics", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def up(self) -> StartReport:
        """Start the workers that are not running and wait until each answers."""
        started_at = time.monotonic()
        pids = tuple(self._start(n) for n, proc in self._procs.items() if proc.pid() is None)
        for n, proc in self._procs.items():
            wait_ready(
                f"worker {n}",
                lambda n=n: self.answers(n),  # type: ignore[misc]
                [proc],
                self.settings.local.start_timeout_s * 2,
            )
        addresses = ", ".join(self.urls)
        elapsed = time.monotonic() - started_at
        return StartReport(f"{self.count} worker(s)", addresses, not pids, pids, elapsed)

    def _start(self, n: int) -> int:
        proc = self._procs[n]
        cmd = [
            sys.executable,
            "-c",
            "from deploy.cli import main; main()",
            "worker",
            "--name",
            f"worker-{n}",
            "--web-port",
            str(self.port(n)),
            "--tag",
            proc.marker,
        ]
        return proc.start_command(cmd)

    def down(self) -> list[int]:
        """SIGTERM every worker (they commit and close), SIGKILL after a grace period."""
        stopping = {n: p.request_stop() for n, p in self._procs.items()}
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for n, pid in stopping.items():
            if pid is not None:
                self._procs[n].finish_stop(pid, deadline)
        return [pid for pid in stopping.values() if pid is not None]

    def running(self) -> dict[int, int | None]:
        return {n: p.pid() for n, p in self._procs.items()}
