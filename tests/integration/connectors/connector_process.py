"""Any registered connector as a real process (``omni connector run NAME``) on a free port."""

from __future__ import annotations

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
from tests.integration.connectors.collector_process import WRITE_KEYS
from tests.integration.streams.workers import free_port

POS_KEY = "pos-test-key"
ERP_KEY = "erp-test-key"
DESK_SECRET = "desk-test-secret"
SETTINGS_KEY = {
    "collector": "COLLECTOR",
    "pos": "POS",
    "servicedesk": "SERVICE_DESK",
    "inventory": "INVENTORY",
}
CREDENTIALS = {
    "collector": {"WRITE_KEYS": orjson.dumps(WRITE_KEYS).decode()},
    "pos": {"API_KEYS": orjson.dumps([POS_KEY]).decode()},
    "servicedesk": {"SECRETS": orjson.dumps([DESK_SECRET]).decode()},
    "inventory": {"API_KEYS": orjson.dumps([ERP_KEY]).decode()},
}


def connector_settings_env(name: str, port: int, **settings: str) -> dict[str, str]:
    """``OMNI_CONNECTORS__<NAME>__...`` for a connector's port, credentials and ``settings``."""
    prefix = f"OMNI_CONNECTORS__{SETTINGS_KEY[name]}__"
    values = {"PORT": str(port), **CREDENTIALS[name], **settings}
    return {prefix + key.upper(): value for key, value in values.items()}


def base_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
    env.update(
        {
            "OMNI_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
            "OMNI_SCHEMA_REGISTRY_URL": settings.registry.url,
            "OMNI_TOPICS__PREFIX": settings.topics.prefix,
        }
    )
    return env


@dataclass
class ConnectorProcess:
    """One connector process logging JSON lines to ``log``."""

    name: str
    settings: Settings
    log: Path
    options: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **base_env(self.settings),
            **connector_settings_env(self.name, self.port, **self.options),
        }

    def start(self) -> ConnectorProcess:
        cmd = [sys.executable, "-c", "from deploy.cli import main; main()"]
        cmd += ["connector", "run", self.name]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                cmd, env=self.env(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def wait_ready(self, timeout_s: float = 60.0) -> ConnectorProcess:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited {self.proc.returncode}:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} not ready in {timeout_s} s:\n{self.tail()}")

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM and wait; returns the exit code (0 after a clean drain)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise AssertionError(f"{self.name} ignored SIGTERM:\n{self.tail()}") from None

    def tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def started(*processes: ConnectorProcess) -> list[ConnectorProcess]:
    """Start several at once (their imports overlap) and wait for every one."""
    for process in processes:
        process.start()
    return [process.wait_ready() for process in processes]
