"""Stream workers as real processes: started, waited for, stopped or killed by pid."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from schemas.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_env(settings: Settings, app_id: str, data_dir: Path) -> dict[str, str]:
    """The environment a worker subprocess builds its settings from."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env.update(
        {
            "OMNI_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
            "OMNI_SCHEMA_REGISTRY_URL": settings.registry.url,
            "OMNI_TOPICS__PREFIX": settings.topics.prefix,
            "OMNI_TOPICS__PARTITIONS_OVERRIDE": str(settings.topics.partitions_override or ""),
            "OMNI_STREAMS__APP_ID": app_id,
            "OMNI_STREAMS__DATA_DIR": str(data_dir),
            "OMNI_STREAMS__STANDBY_REPLICAS": "0",
        }
    )
    return env


@dataclass
class WorkerProcess:
    """One ``omni worker`` process with its own web port and log file."""

    env: dict[str, str]
    name: str
    log: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> None:
        cmd = [
            sys.executable,
            "-c",
            "from deploy.cli import main; main()",
            "worker",
            "--name",
            self.name,
            "--web-port",
            str(self.port),
            "--loglevel",
            "info",
        ]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.wait_ready(timeout_s)

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/metrics", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"worker not ready in {timeout_s}s:\n{self.tail()}")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, sig)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def kill(self) -> None:
        self.stop(signal.SIGKILL)
