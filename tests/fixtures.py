"""Session fixtures that give tests a real Kafka and a real schema registry.

Where the broker comes from, in order:

1. ``OMNI_BOOTSTRAP_SERVERS`` / ``OMNI_SCHEMA_REGISTRY_URL`` are set: use them
   (an existing cluster, e.g. in CI with services).
2. A Docker daemon answers: testcontainers.
3. Otherwise the local runtime (``deploy.local``): started on first use and
   stopped at session end only if this session started it; a broker you
   started yourself with ``omni kafka up`` is reused and left running.

A broker that cannot start fails the tests that need it, never skips them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest
from confluent_kafka.admin import AdminClient

from deploy.local import KafkaCluster, Postgres, Registry, StartReport
from schemas.settings import Settings

# confluentinc/cp-kafka 8.x is Apache Kafka 4.x, and it is the image family
# testcontainers' KafkaContainer knows how to configure.
KAFKA_IMAGE = "confluentinc/cp-kafka:8.0.0"
APICURIO_IMAGE = "apicurio/apicurio-registry:{version}"


class _Service(Protocol):
    def up(self) -> StartReport: ...

    def down(self) -> object: ...


def _run(service: _Service) -> Iterator[None]:
    """Start ``service`` for the session; stop it afterwards only if we started it."""
    report = service.up()
    yield
    if not report.reused:
        service.down()


def docker_available() -> bool:
    """Whether a Docker daemon answers (a client without a daemon does not count)."""
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        done = subprocess.run([docker, "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@pytest.fixture(scope="session")
def local_kafka(settings: Settings) -> Iterator[KafkaCluster]:
    """The single-node local broker on the default ports."""
    cluster = KafkaCluster(settings.local)
    for _ in _run(cluster):
        yield cluster


@pytest.fixture(scope="session")
def local_registry(settings: Settings) -> Iterator[Registry]:
    """The local Apicurio registry, in-memory storage."""
    registry = Registry(settings.local)
    for _ in _run(registry):
        yield registry


@pytest.fixture(scope="session")
def kafka_cluster3(settings: Settings) -> Iterator[KafkaCluster]:
    """A three-node local cluster (RF 3, min ISR 2) on its own ports and state."""
    cluster = KafkaCluster(settings.local, nodes=3)
    for _ in _run(cluster):
        yield cluster


@pytest.fixture(scope="session")
def kafka_bootstrap(settings: Settings, request: pytest.FixtureRequest) -> Iterator[str]:
    """Bootstrap servers of a running broker: configured, a container, or local."""
    if settings.bootstrap_servers:
        yield settings.bootstrap_servers
    elif docker_available():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer(KAFKA_IMAGE).with_kraft() as container:
            yield container.get_bootstrap_server()
    else:
        yield request.getfixturevalue("local_kafka").bootstrap_servers


@pytest.fixture(scope="session")
def schema_registry_url(settings: Settings, request: pytest.FixtureRequest) -> Iterator[str]:
    """The ccompat base URL (``.../apis/ccompat/v7``) of a running registry."""
    if settings.schema_registry_url:
        yield settings.schema_registry_url
    elif docker_available():
        yield from _registry_container(settings.local.apicurio_version)
    else:
        yield request.getfixturevalue("local_registry").url


def _registry_container(version: str) -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    container = (
        DockerContainer(APICURIO_IMAGE.format(version=version))
        .with_exposed_ports(8080)
        .waiting_for(HttpWaitStrategy(8080, "/apis/ccompat/v7/subjects"))
    )
    with container:
        host = container.get_container_host_ip()
        yield f"http://{host}:{container.get_exposed_port(8080)}/apis/ccompat/v7"


@pytest.fixture(scope="session")
def admin(kafka_bootstrap: str) -> AdminClient:
    """An admin client on the session's broker."""
    return AdminClient({"bootstrap.servers": kafka_bootstrap})


@pytest.fixture(scope="session")
def postgres_dsn(settings: Settings) -> Iterator[str]:
    """A real PostgreSQL: ``OMNI_CONNECTORS__POSTGRES_SINK__DSN`` if set, else our own server.

    Our own runs from a fresh temporary home on a free port, started by
    ``deploy.local.Postgres`` (which installs the Debian package if needed)
    and stopped, its data deleted, at session end.
    """
    configured = settings.connectors.postgres_sink.dsn
    if configured is not None:
        yield configured.get_secret_value()
        return
    home = Path(tempfile.mkdtemp(prefix="omni-pg-"))
    home.chmod(0o755)  # as root the server runs as the postgres user, which must enter it
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = Postgres(settings.local.model_copy(update={"home": home, "postgres_port": port}))
    for _ in _run(server):
        yield server.dsn
    shutil.rmtree(home, ignore_errors=True)
