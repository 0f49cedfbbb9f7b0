"""A real Apache Kafka (KRaft) cluster of one or three nodes on loopback.

``up()`` is idempotent: nodes already running are reused and only missing
ones are started, then we wait (bounded by ``start_timeout_s``) until every
node serves metadata listing the whole cluster. Readiness is asked of the
brokers themselves rather than guessed with sleeps, and a JVM that dies
while we wait is reported with its exit code and log tail at once.

State lives under ``<home>/kafka/<name>/node-<id>/`` (server.properties,
data/, kafka.log, pid), so a restart keeps topics and offsets.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.local.exceptions import LocalRuntimeError, ProcessFailed
from deploy.local.fetch import ensure_kafka
from deploy.local.java import KAFKA_MIN_JAVA, find_java
from deploy.local.kafka_config import (
    NodeSpec,
    bootstrap_servers,
    new_cluster_id,
    node_specs,
    render_properties,
    server_properties,
)
from deploy.local.kafka_probes import groups_ready, serves_metadata
from deploy.local.proc import (
    ManagedProcess,
    StartReport,
    port_answers,
    require_free,
    state_lock,
    wait_ready,
)
from schemas.settings import LocalRuntimeSettings

log = logging.getLogger(__name__)

LOG4J_CONFIG = Path(__file__).with_name("log4j2.yaml")
# Sized for a 2-core laptop or CI runner: G1 with short pauses, and thread
# pools sized for two CPUs whatever the host reports.
JVM_FLAGS = ("-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:ActiveProcessorCount=2")
STOP_TIMEOUT_S = 30.0
QUORUM_LOST_GRACE_S = 10.0


@dataclass(frozen=True)
class NodeStatus:
    node_id: int
    address: str
    controller_port: int
    pid: int | None
    answering: bool
    log_file: Path


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    bootstrap_servers: str
    nodes: tuple[NodeStatus, ...]

    @property
    def running(self) -> bool:
        return all(n.pid is not None and n.answering for n in self.nodes)


class KafkaCluster:
    """One local cluster: ``nodes=1`` on the default ports, ``nodes=3`` on the cluster ports."""

    def __init__(
        self, local: LocalRuntimeSettings, nodes: int = 1, name: str | None = None
    ) -> None:
        self.local = local
        self.specs = node_specs(local, nodes)
        self.name = name or ("single" if nodes == 1 else f"cluster{nodes}")
        self.root = local.home / "kafka" / self.name
        self._lock = local.home / "locks" / f"kafka-{self.name}.lock"
        self._procs = {
            s.node_id: ManagedProcess(self._node_dir(s.node_id), "kafka.log") for s in self.specs
        }

    @property
    def bootstrap_servers(self) -> str:
        return bootstrap_servers(self.specs)

    def _node_dir(self, node_id: int) -> Path:
        return self.root / f"node-{node_id}"

    def _spec(self, node_id: int) -> NodeSpec:
        for spec in self.specs:
            if spec.node_id == node_id:
                return spec
        raise ValueError(f"cluster {self.name} has no node {node_id}")

    def up(self) -> StartReport:
        """Start the nodes that are not running and wait until the whole cluster answers."""
        started_at = time.monotonic()
        what = f"kafka cluster {self.name!r}"
        with state_lock(self._lock):
            missing = [s for s in self.specs if self._procs[s.node_id].pid() is None]
            pids = self._start(missing) if missing else ()
            if not missing:
                log.info("%s is already running; reusing it", what)
            self._wait_ready(self.specs, len(self.specs), stop_on_failure=missing, groups=True)
        elapsed = time.monotonic() - started_at
        return StartReport(what, self.bootstrap_servers, not missing, pids, elapsed)

    def _start(self, specs: list[NodeSpec]) -> tuple[int, ...]:
        """Check ports, fetch, write config, format new data dirs, launch the JVMs."""
        require_free(
            {
                port: f"kafka {self.name} node {s.node_id}"
                for s in specs
                for port in (s.broker_port, s.controller_port)
            }
        )
        lib = ensure_kafka(self.local)
        java = find_java(KAFKA_MIN_JAVA, self.local.java21_home)
        for spec in specs:
            self._write_config(spec)
        self._format(
            [s for s in specs if not (self._data_dir(s) / "meta.properties").exists()], java, lib
        )
        return tuple(self._launch(spec, java, lib) for spec in specs)

    def _data_dir(self, spec: NodeSpec) -> Path:
        return self._node_dir(spec.node_id) / "data"

    def _config_file(self, spec: NodeSpec) -> Path:
        return self._node_dir(spec.node_id) / "server.properties"

    def _write_config(self, spec: NodeSpec) -> None:
        props = server_properties(spec, self.specs, self._data_dir(spec))
        self._node_dir(spec.node_id).mkdir(parents=True, exist_ok=True)
        self._config_file(spec).write_text(render_properties(props))

    def _cluster_id(self) -> str:
        """One id shared by every node, kept so a node formatted later still joins."""
        path = self.root / "cluster.id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_cluster_id() + "\n")
        return path.read_text().strip()

    def _format(self, specs: list[NodeSpec], java: Path, lib: Path) -> None:
        """Format fresh data dirs, all nodes in parallel (each is a short JVM run)."""
        cluster_id = self._cluster_id()
        runs = [
            subprocess.Popen(
                [
                    *(str(java), *self._classpath(lib), "kafka.tools.StorageTool", "format"),
                    *("-t", cluster_id, "-c", str(self._config_file(spec))),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for spec in specs
        ]
        for spec, run in zip(specs, runs, strict=True):
            output, _ = run.communicate()
            if run.returncode != 0:
                tail = "\n".join(output.splitlines()[-20:])
                raise ProcessFailed(
                    f"formatting node {spec.node_id} failed ({run.returncode}):\n{tail}"
                )

    @staticmethod
    def _classpath(lib: Path) -> list[str]:
        return [f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", "-cp", f"{lib}/*"]

    def _launch(self, spec: NodeSpec, java: Path, lib: Path) -> int:
        heap = self.local.kafka_heap
        args = [f"-Xmx{heap}", f"-Xms{heap}", *JVM_FLAGS, *self._classpath(lib)]
        return self._procs[spec.node_id].start(
            java, [*args, "kafka.Kafka", str(self._config_file(spec))]
        )

    def _wait_ready(
        self,
        specs: list[NodeSpec],
        expect: int,
        stop_on_failure: list[NodeSpec],
        groups: bool = False,
    ) -> None:
        """Wait for ``specs`` (and the group coordinator if ``groups``).

        If that fails, stop the nodes this call started: no orphans.
        """

        def ready() -> bool:
            nodes_ready = all(serves_metadata(s, expect) for s in specs)
            return nodes_ready and (not groups or groups_ready(self.bootstrap_servers))

        procs = [self._procs[s.node_id] for s in specs]
        try:
            wait_ready(f"kafka cluster {self.name!r}", ready, procs, self.local.start_timeout_s)
        except LocalRuntimeError:
            self._stop([s.node_id for s in stop_on_failure])
            raise

    def down(self, wipe: bool = False) -> list[int]:
        """Stop every node (SIGTERM, bounded wait, SIGKILL); ``wipe`` deletes all state."""
        with state_lock(self._lock):
            stopped = self._stop([s.node_id for s in self.specs])
            if wipe:
                shutil.rmtree(self.root, ignore_errors=True)
        return stopped

    def _stop(self, node_ids: list[int]) -> list[int]:
        """Signal all first, then wait: nodes shut down in parallel, not one after another.

        Once one node has exited, the others may have lost the controller
        quorum their controlled shutdown needs and would wait for it in vain,
        so they get a short grace period instead of the full stop timeout.
        """
        requested = {node_id: self._procs[node_id].request_stop() for node_id in node_ids}
        running = {node_id: pid for node_id, pid in requested.items() if pid is not None}
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            alive = [n for n, pid in running.items() if self._procs[n].is_alive(pid)]
            if not alive:
                break
            if len(alive) < len(running):
                deadline = min(deadline, time.monotonic() + QUORUM_LOST_GRACE_S)
            time.sleep(0.25)
        for node_id, pid in running.items():
            self._procs[node_id].finish_stop(pid, deadline)
        return list(running)

    def status(self) -> ClusterStatus:
        nodes = tuple(
            NodeStatus(
                s.node_id,
                s.address,
                s.controller_port,
                self._procs[s.node_id].pid(),
                port_answers(s.broker_port),
                self._procs[s.node_id].log_file,
            )
            for s in self.specs
        )
        return ClusterStatus(self.name, self.bootstrap_servers, nodes)

    # -- per-node control for fault injection -------------------------------------------

    def node_pids(self) -> dict[int, int]:
        """Pids of the running nodes by node id."""
        pids = {node_id: proc.pid() for node_id, proc in self._procs.items()}
        return {node_id: pid for node_id, pid in pids.items() if pid is not None}

    def kill_node(self, node_id: int, sig: signal.Signals = signal.SIGKILL) -> int:
        """Send ``sig`` to one node; after SIGKILL/SIGTERM, wait until it is gone."""
        self._spec(node_id)
        pid = self._procs[node_id].signal(sig)
        if pid is None:
            raise LocalRuntimeError(f"kafka {self.name} node {node_id} is not running")
        if sig in (signal.SIGKILL, signal.SIGTERM):
            self._procs[node_id].finish_stop(pid, time.monotonic() + STOP_TIMEOUT_S)
        return pid

    def start_node(self, node_id: int) -> StartReport:
        """Restart one node on its existing data and wait until it serves metadata again."""
        spec = self._spec(node_id)
        started_at = time.monotonic()
        with state_lock(self._lock):
            reused = self._procs[node_id].pid() is not None
            pids = () if reused else self._start([spec])
            self._wait_ready([spec], 1, stop_on_failure=[] if reused else [spec])
        elapsed = time.monotonic() - started_at
        return StartReport(f"kafka {self.name} node {node_id}", spec.address, reused, pids, elapsed)
