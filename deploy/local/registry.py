"""A real Apicurio Registry 3 on loopback, serving the Confluent-compatible API.

Apicurio is used because it ships on Maven Central (the Confluent registry
does not) and speaks the ``/apis/ccompat/v7`` protocol our serializers use.
Storage is in memory by default, which is what tests want; ``kafkasql``
keeps schemas in a Kafka topic so they survive a registry restart.
Same rules as the broker: idempotent ``up()``, readiness by asking the
service, pid-file tracking, stop by pid.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from deploy.local.exceptions import LocalRuntimeError
from deploy.local.fetch import ensure_apicurio
from deploy.local.java import REGISTRY_MIN_JAVA, find_java
from deploy.local.proc import (
    LOOPBACK,
    ManagedProcess,
    StartReport,
    port_answers,
    require_free,
    state_lock,
    wait_ready,
)
from schemas.settings import LocalRuntimeSettings

log = logging.getLogger(__name__)

Storage = Literal["mem", "kafkasql"]
JVM_FLAGS = ("-XX:+UseG1GC", "-XX:ActiveProcessorCount=2")
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class RegistryStatus:
    url: str
    pid: int | None
    answering: bool
    log_file: Path

    @property
    def running(self) -> bool:
        return self.pid is not None and self.answering


class Registry:
    """The local schema registry; ``url`` is the ccompat base the serializers take."""

    def __init__(
        self,
        local: LocalRuntimeSettings,
        storage: Storage = "mem",
        kafka_bootstrap: str | None = None,
    ) -> None:
        if storage == "kafkasql" and not kafka_bootstrap:
            raise ValueError("kafkasql storage needs kafka_bootstrap")
        self.local = local
        self.storage = storage
        self.kafka_bootstrap = kafka_bootstrap
        self.port = local.registry_port
        self._proc = ManagedProcess(local.home / "registry", "registry.log")
        self._lock = local.home / "locks" / "registry.lock"

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/apis/ccompat/v7"

    def answers(self) -> bool:
        """Whether the ccompat API lists subjects (200), the one thing clients need."""
        try:
            return httpx.get(f"{self.url}/subjects", timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    def up(self) -> StartReport:
        """Start the registry unless ours is running, then wait until it answers."""
        started_at = time.monotonic()
        with state_lock(self._lock):
            reused = self._proc.pid() is not None
            pids = () if reused else (self._start(),)
            if reused:
                log.info("registry already running on %s; reusing it", self.url)
            try:
                wait_ready(
                    "schema registry", self.answers, [self._proc], self.local.start_timeout_s
                )
            except LocalRuntimeError:
                if not reused:
                    self._stop()
                raise
        return StartReport("schema registry", self.url, reused, pids, time.monotonic() - started_at)

    def _start(self) -> int:
        require_free({self.port: "schema registry"})
        app = ensure_apicurio(self.local)
        java = find_java(REGISTRY_MIN_JAVA, self.local.java21_home)
        return self._proc.start(java, [*self._jvm_args(), "-jar", str(app / "quarkus-run.jar")])

    def _jvm_args(self) -> list[str]:
        args = [
            f"-Xmx{self.local.registry_heap}",
            *JVM_FLAGS,
            f"-Dquarkus.http.port={self.port}",
            f"-Dquarkus.http.host={LOOPBACK}",
            # health/metrics interface: loopback, on a free port, so it never collides
            f"-Dquarkus.management.host={LOOPBACK}",
            "-Dquarkus.management.port=0",
        ]
        if self.storage == "kafkasql":
            args += [
                "-Dapicurio.storage.kind=kafkasql",
                f"-Dapicurio.kafkasql.bootstrap.servers={self.kafka_bootstrap}",
            ]
        return args

    def down(self) -> bool:
        """Stop the registry (SIGTERM, bounded wait, SIGKILL); True if one was running."""
        with state_lock(self._lock):
            return self._stop()

    def _stop(self) -> bool:
        pid = self._proc.request_stop()
        if pid is None:
            return False
        self._proc.finish_stop(pid, time.monotonic() + STOP_TIMEOUT_S)
        return True

    def status(self) -> RegistryStatus:
        return RegistryStatus(
            self.url, self._proc.pid(), port_answers(self.port), self._proc.log_file
        )
