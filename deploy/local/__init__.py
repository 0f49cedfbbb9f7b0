"""The local runtime: a real Kafka (KRaft) and a real Apicurio Registry on this machine.

No Docker needed: the broker is assembled from Maven Central jars and the
registry from its published app archive, both fetched once into
``settings.local.home`` (``.omni/``), then run as detached JVMs tracked by
pid file. Tests use it through the fixtures in ``tests/fixtures.py``.
"""

from deploy.local.exceptions import (
    FetchFailed,
    JavaNotFound,
    LocalRuntimeError,
    MavenNotFound,
    PortInUse,
    ProcessFailed,
    StartTimeout,
    ToolNotFound,
)
from deploy.local.fetch import ensure_apicurio, ensure_kafka
from deploy.local.java import find_java
from deploy.local.kafka import ClusterStatus, KafkaCluster, NodeStatus
from deploy.local.pg_binaries import PostgresNotFound
from deploy.local.postgres import Postgres, PostgresStatus
from deploy.local.proc import StartReport
from deploy.local.registry import Registry, RegistryStatus

__all__ = [
    "ClusterStatus",
    "FetchFailed",
    "JavaNotFound",
    "KafkaCluster",
    "LocalRuntimeError",
    "MavenNotFound",
    "NodeStatus",
    "PortInUse",
    "Postgres",
    "PostgresNotFound",
    "PostgresStatus",
    "ProcessFailed",
    "Registry",
    "RegistryStatus",
    "StartReport",
    "StartTimeout",
    "ToolNotFound",
    "ensure_apicurio",
    "ensure_kafka",
    "find_java",
]
