"""The collector as a real process (``omni connector run collector``) for integration tests."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson

from schemas.settings import Settings
from tests.integration.streams.workers import free_port

WEB_KEY = "wk-web-test"
APP_KEY = "wk-app-test"
WRITE_KEYS = [
    {"key": WEB_KEY, "source": "web-shop", "channel": "web"},
    {"key": APP_KEY, "source": "ios-app", "channel": "app"},
]


def basic_auth(write_key: str) -> str:
    return "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()


def collector_env(settings: Settings, port: int, **extra: str) -> dict[str, str]:
    """The environment the collector builds its settings from: this module's topics."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env.update(
        {
            "OMNI_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
            "OMNI_SCHEMA_REGISTRY_URL": settings.registry.url,
            "OMNI_TOPICS__PREFIX": settings.topics.prefix,
            "OMNI_CONNECTORS__COLLECTOR__PORT": str(port),
            "OMNI_CONNECTORS__COLLECTOR__WRITE_KEYS": orjson.dumps(WRITE_KEYS).decode(),
            **extra,
        }
    )
    return env


@dataclass
class CollectorProcess:
    """One collector process on a free port, logging JSON lines to ``log``."""

    settings: Settings
    log: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 60.0) -> CollectorProcess:
        cmd = [sys.executable, "-c", "from deploy.cli import main; main()"]
        cmd += ["connector", "run", "collector"]
        env = collector_env(self.settings, self.port, **self.extra_env)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"collector exited {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"collector not ready in {timeout_s} s:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60.0) -> int:
        """Signal the process and wait for it; returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"collector ignored signal {sig}:\n{self.tail()}") from None

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
