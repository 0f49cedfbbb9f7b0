"""One settings tree for every process of the backbone.

Settings are read from the environment (prefix ``OMNI_``, nested with ``__``)
exactly once, at the entry point, and the resulting object is passed down.
Nothing else in the code base reads ``os.environ``: that keeps tests able to
build an isolated settings object per test and keeps secrets in one place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class LocalRuntimeSettings(BaseModel):
    """Where and how ``deploy/local`` starts Kafka and the registry on this machine."""

    home: Path = Field(
        default=PROJECT_ROOT / ".omni", description="state, jars, logs and pid files"
    )
    kafka_version: str = "4.4.0"
    log4j_version: str = "2.26.1"
    slf4j_version: str = "2.0.17"
    apicurio_version: str = "3.3.3"
    kafka_port: int = 9092
    controller_port: int = 9093
    cluster_base_port: int = 19092
    registry_port: int = 8081
    kafka_heap: str = "512m"
    registry_heap: str = "384m"
    java21_home: Path | None = Field(
        default=None,
        description="a JDK >= 21 for the registry; found under /usr/lib/jvm when unset",
    )
    start_timeout_s: float = 60.0
    postgres_port: int = Field(default=55432, description="local PostgreSQL, loopback only")
    postgres_user: str = "omni"
    postgres_database: str = "omni"
    postgres_bin_dir: Path | None = Field(
        default=None, description="PostgreSQL server binaries; newest Debian one when unset"
    )


class KafkaSettings(BaseModel):
    """Client settings shared by producers, consumers and the admin client."""

    bootstrap_servers: str = "127.0.0.1:9092"
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    client_id: str = "omni"
    compression_type: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        default="lz4",
        description="every producer's, Faust's changelogs included: restores read "
        "uncompressed changelogs several times slower (B4 of make bench)",
    )

    def as_librdkafka_dict(self) -> dict[str, Any]:
        """The one conversion to librdkafka configuration keys."""
        conf: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "client.id": self.client_id,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
        if self.sasl_username:
            conf["sasl.username"] = self.sasl_username
        if self.sasl_password is not None:
            conf["sasl.password"] = self.sasl_password.get_secret_value()
        return conf

    def as_producer_dict(self, linger_ms: int = 5) -> dict[str, Any]:
        """Producer settings every component shares.

        ``murmur2_random`` is the Java client's and aiokafka's partitioner: a
        key lands on the same partition whoever produced it, which the Faust
        processors' co-partitioned tables rely on. librdkafka's own default
        (CRC32) would scatter one customer's events across partitions.
        """
        return {
            **self.as_librdkafka_dict(),
            "acks": "all",
            "enable.idempotence": True,
            "partitioner": "murmur2_random",
            "linger.ms": linger_ms,
            "compression.type": self.compression_type,
        }


class RegistrySettings(BaseModel):
    """The Confluent-compatible schema registry (Apicurio ccompat, Confluent or Karapace)."""

    url: str = "http://127.0.0.1:8081/apis/ccompat/v7"
    basic_auth_user: str | None = None
    basic_auth_password: SecretStr | None = None
    compatibility: str = "FULL_TRANSITIVE"
    request_timeout_s: int = Field(default=10, description="no registry call may hang longer")

    def as_client_dict(self) -> dict[str, Any]:
        """Configuration for ``confluent_kafka.schema_registry.SchemaRegistryClient``."""
        conf: dict[str, Any] = {"url": self.url, "timeout": self.request_timeout_s}
        if self.basic_auth_user and self.basic_auth_password is not None:
            secret = self.basic_auth_password.get_secret_value()
            conf["basic.auth.user.info"] = f"{self.basic_auth_user}:{secret}"
        return conf


class TopicSettings(BaseModel):
    """Deployment-time knobs of the topic catalogue; the catalogue itself is code."""

    prefix: str = Field(default="", description="prepended to every topic name (tests, tenants)")
    replication_factor: int = 1
    min_insync_replicas: int = 1
    partitions_override: int | None = Field(
        default=None, description="one partition count for every topic, for small test clusters"
    )


class StreamsSettings(BaseModel):
    """The Faust processors: identity, state location, RocksDB sizing and batching."""

    app_id: str = Field(
        default="omni-streams",
        description="never rename: changelog topics and consumer offsets derive from it",
    )
    worker_name: str = Field(default="worker-1", description="unique per worker process")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, description="query API and /metrics of this worker")
    data_dir: Path = Field(default=PROJECT_ROOT / ".omni" / "streams")
    rocksdb_memory_bytes: int = Field(
        default=64 * 1024 * 1024,
        description="one RocksDB block cache for all the worker's tables, memtables included",
    )
    rocksdb_memtables_bytes: int = Field(
        default=32 * 1024 * 1024, description="of that, what memtables may hold before a flush"
    )
    rocksdb_write_buffer_bytes: int = Field(default=4 * 1024 * 1024, description="per memtable")
    producer_linger_ms: int = Field(
        default=1,
        description="how long both producers wait to fill a batch; identity waits for its "
        "handed state's changelog records every round (5 ms: B2 p50 329 ms at 1k/s, 1 ms: 118 ms)",
    )
    batch_max_records: int = 1000
    batch_max_wait_s: float = 0.05
    batching: Literal["transport", "take"] = Field(
        default="transport",
        description="transport: one Faust event per fetched partition run (omnibatch://); "
        "take: Faust's per-record events grouped with take_events",
    )
    fetch_max_bytes: int = Field(
        default=4 * 1024 * 1024, description="per partition fetch, hence the batch size"
    )
    session_timeout_s: float = Field(
        default=10.0, description="group session: how long a dead worker holds its partitions"
    )
    stream_buffer_batches: int = Field(
        default=8, description="batches buffered per partition (bounds memory and redo)"
    )
    bulk_restore: bool = Field(
        default=True,
        description="read changelogs into RocksDB before Faust starts (streams.restore); "
        "false leaves recovery to Faust's own restore (about 8k records/s)",
    )
    round_max_runs: int = Field(
        default=64,
        ge=1,
        description="queued partition runs applied before one outbox flush (1: a flush per run)",
    )
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop",
        description="the worker's event loop (uvloop: B1 5.85k -> 6.03k ev/s back to back)",
    )
    gc_young_objects: int = Field(
        default=20_000,
        ge=1,
        description="allocations between two young-generation garbage collections "
        "(CPython's default is 700; B1 4.5k ev/s at 700, 5.4k at 20k)",
    )
    standby_replicas: int = 1
    table_partitions: int | None = Field(
        default=None, description="defaults to the source topic's partition count"
    )


# --- connectors (issue 4): each class is owned by its connector package -------------------


class CollectorSettings(BaseModel):
    """The Segment-compatible web and app collector (``connectors.collector``).

    ``write_keys`` is a JSON list in the environment, e.g.
    ``OMNI_CONNECTORS__COLLECTOR__WRITE_KEYS='[{"key": "...", "source": "web-shop",
    "channel": "web"}]'``: the write key an SDK sends decides the envelope's
    source and channel.
    """

    class WriteKey(BaseModel):
        """One SDK credential and what it stands for."""

        key: SecretStr
        source: str = Field(description="envelope.source, e.g. 'web-shop' or 'ios-app'")
        channel: str = Field(default="web", description="envelope.channel: web, app, kiosk, ...")

    host: str = "127.0.0.1"
    port: int = Field(default=8088, description="0 picks a free port (tests)")
    write_keys: list[CollectorSettings.WriteKey] = Field(default_factory=list)
    max_event_bytes: int = Field(default=32 * 1024, description="Segment's per-event limit")
    max_batch_bytes: int = Field(default=500 * 1024, description="Segment's per-request limit")
    max_in_flight: int = Field(
        default=50_000, description="records produced and unacknowledged; beyond: 503"
    )
    retry_after_s: int = Field(default=1, description="Retry-After of a 503")
    linger_ms: int = 5
    delivery_timeout_s: float = Field(default=30.0, description="Kafka must acknowledge within")
    drain_timeout_s: float = Field(default=30.0, description="SIGTERM: requests get this long")
    cors_origins: list[str] = Field(default_factory=lambda: ["*"])
    default_currency: str = Field(default="EUR", description="when an event names none")
    returns_location_id: str = Field(
        default="online", description="OrderReturned.location_id of a refund naming no store"
    )


class PosSettings(BaseModel):
    """The store/POS connector (``connectors.pos``): receipts by HTTP or dropped files.

    ``api_keys`` is a JSON list in the environment
    (``OMNI_CONNECTORS__POS__API_KEYS='["..."]'``); any of them is accepted as
    ``Authorization: Bearer <key>``, so a key can be rotated without downtime.
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8091, description="0 picks a free port (tests)")
    api_keys: list[SecretStr] = Field(default_factory=list, description="Bearer tokens (secret)")
    watch_dir: Path | None = Field(
        default=None, description="folder polled for receipt files; unset: HTTP only"
    )
    poll_interval_s: float = Field(default=1.0, description="how often the folder is listed")
    settle_s: float = Field(
        default=2.0, description="a file without a .done marker must be unchanged this long"
    )
    default_currency: str = Field(default="EUR", description="when a receipt names none")
    max_body_bytes: int = Field(default=5 * 1024 * 1024, description="per HTTP request")
    max_file_bytes: int = Field(default=256 * 1024 * 1024, description="larger files: refused")
    max_in_flight: int = Field(default=50_000, description="records unacknowledged; beyond: 503")
    retry_after_s: int = 1
    linger_ms: int = 5
    delivery_timeout_s: float = 30.0
    drain_timeout_s: float = 30.0


class ServiceDeskSettings(BaseModel):
    """The service-desk webhook connector (``connectors.servicedesk``).

    ``secrets`` is a JSON list (``OMNI_CONNECTORS__SERVICE_DESK__SECRETS='["..."]'``):
    the HMAC-SHA256 keys a request may be signed with (several, for rotation).
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8092, description="0 picks a free port (tests)")
    secrets: list[SecretStr] = Field(
        default_factory=list, description="shared HMAC secrets of X-Omni-Signature (secret)"
    )
    tolerance_s: int = Field(
        default=300, description="X-Omni-Timestamp may be this far from now (replays)"
    )
    source: str = Field(default="service-desk", description="envelope.source of its events")
    max_body_bytes: int = Field(default=1024 * 1024, description="per HTTP request")
    max_in_flight: int = Field(default=50_000, description="records unacknowledged; beyond: 503")
    retry_after_s: int = 1
    linger_ms: int = 5
    delivery_timeout_s: float = 30.0
    drain_timeout_s: float = 30.0


class InventorySettings(BaseModel):
    """The ERP inventory feed (``connectors.inventory``): movements, snapshots, prices.

    ``api_keys`` works as the POS connector's (``OMNI_CONNECTORS__INVENTORY__API_KEYS``).
    """

    host: str = "127.0.0.1"
    port: int = Field(default=8093, description="0 picks a free port (tests)")
    api_keys: list[SecretStr] = Field(default_factory=list, description="Bearer tokens (secret)")
    watch_dir: Path | None = Field(
        default=None, description="folder polled for ERP CSV files; unset: HTTP only"
    )
    poll_interval_s: float = Field(default=1.0, description="how often the folder is listed")
    settle_s: float = Field(
        default=2.0, description="a file without a .done marker must be unchanged this long"
    )
    source: str = Field(default="erp", description="envelope.source of its events")
    default_currency: str = Field(default="EUR", description="when a price names none")
    max_body_bytes: int = Field(default=5 * 1024 * 1024, description="per HTTP request")
    max_file_bytes: int = Field(default=256 * 1024 * 1024, description="larger files: refused")
    max_in_flight: int = Field(default=50_000, description="records unacknowledged; beyond: 503")
    retry_after_s: int = 1
    linger_ms: int = 5
    delivery_timeout_s: float = 30.0
    drain_timeout_s: float = 30.0


class WebhookEndpointSettings(BaseModel):
    """One channel's endpoint: where its view changes go and the secret that signs them."""

    channel: str = Field(description="the channel this endpoint belongs to (labels, logs)")
    url: str
    secret: SecretStr = Field(description="HMAC-SHA256 key of the X-Omni-Signature header")
    views: list[str] = Field(
        description="view topics it subscribes to: catalogue names or short ('carts')"
    )
    timeout_s: float = 5.0


class WebhookSinkSettings(BaseModel):
    """The webhook sink that POSTs view changes to channels (``connectors.sinks.webhook``).

    ``endpoints`` comes from the environment as JSON
    (``OMNI_CONNECTORS__WEBHOOK_SINK__ENDPOINTS='[{"channel": ..., "url": ..., ...}]'``).
    """

    group_id: str = Field(default="omni-webhook-sink", description="consumer group")
    endpoints: list[WebhookEndpointSettings] = []
    max_attempts: int = Field(default=6, ge=1, description="tries before the dead-letter topic")
    backoff_initial_s: float = 0.2
    backoff_multiplier: float = 2.0
    backoff_max_s: float = 10.0
    backoff_jitter: float = Field(default=0.5, ge=0, le=1, description="share of a delay drawn")
    breaker_failure_threshold: int = Field(default=5, description="failures in a row to open")
    breaker_reset_s: float = Field(default=5.0, description="open time before one trial call")
    max_parallel_keys: int = Field(default=32, description="keys delivered at once")
    batch_max_records: int = 500
    poll_timeout_s: float = 0.5
    metrics_port: int | None = Field(default=None, description="serve /metrics here when set")


class PostgresSinkSettings(BaseModel):
    """The PostgreSQL sink of the views (``connectors.sinks.postgres``)."""

    dsn: SecretStr | None = Field(
        default=None, description="libpq URI; unset: the local server of ``omni postgres up``"
    )
    db_schema: str = Field(default="omni", description="PostgreSQL schema of the view tables")
    group_id: str = Field(default="omni-postgres-sink", description="consumer group")
    views: list[str] = Field(
        default=[], description="view topics to keep (catalogue or short names); empty: all"
    )
    batch_max_records: int = Field(default=2000, description="records per transaction at most")
    poll_timeout_s: float = 0.5
    metrics_port: int | None = Field(default=None, description="serve /metrics here when set")


class ConnectorsSettings(BaseModel):
    """Every connector's settings, one sub-tree each (``OMNI_CONNECTORS__<NAME>__...``)."""

    collector: CollectorSettings = CollectorSettings()
    pos: PosSettings = PosSettings()
    service_desk: ServiceDeskSettings = ServiceDeskSettings()
    inventory: InventorySettings = InventorySettings()
    webhook_sink: WebhookSinkSettings = WebhookSinkSettings()
    postgres_sink: PostgresSinkSettings = PostgresSinkSettings()


class Settings(BaseSettings):
    """The root settings object built once per process."""

    model_config = SettingsConfigDict(
        env_prefix="OMNI_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    bootstrap_servers: str | None = Field(
        default=None,
        description="shortcut for kafka.bootstrap_servers (points at an existing cluster)",
    )
    schema_registry_url: str | None = Field(
        default=None, description="shortcut for registry.url (points at an existing registry)"
    )
    kafka: KafkaSettings = KafkaSettings()
    registry: RegistrySettings = RegistrySettings()
    topics: TopicSettings = TopicSettings()
    local: LocalRuntimeSettings = LocalRuntimeSettings()
    streams: StreamsSettings = StreamsSettings()
    connectors: ConnectorsSettings = ConnectorsSettings()

    def model_post_init(self, __context: Any) -> None:
        if self.bootstrap_servers:
            self.kafka = self.kafka.model_copy(update={"bootstrap_servers": self.bootstrap_servers})
        if self.schema_registry_url:
            self.registry = self.registry.model_copy(update={"url": self.schema_registry_url})
