"""The Faust application: one factory, settings passed in, domains installed explicitly.

Faust's "Medium/Large Projects" layout uses one package per domain. Here each
domain exposes ``install(app, runtime)`` instead of importing a global app, so a
test can build an isolated app (own app id, topics prefix, data dir and port)
from a ``Settings`` object, and nothing reads the environment behind our back.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faust
import uvloop

from schemas.admin import ensure_changelogs, make_admin
from schemas.avro import SchemaSet, load_schema_set
from schemas.codec import FastDecoder, FastEncoder
from schemas.registry import make_client
from schemas.settings import Settings
from streams import heap, transport
from streams.changelog import Changelog
from streams.dlq import DeadLetters
from streams.metrics import Metrics
from streams.output import Output
from streams.pricing.book import PriceBook
from streams.rocks import share_memory
from streams.web import Reader

if TYPE_CHECKING:
    from streams.identity.handoff import ProfileStage


@dataclass
class Runtime:
    """What every domain's agents share: settings, codec, dead letters, metrics."""

    settings: Settings
    decoder: FastDecoder
    encoder: FastEncoder
    dead_letters: DeadLetters
    metrics: Metrics
    schema_set: SchemaSet
    out: Output
    changelog: Changelog
    prices: PriceBook = field(default_factory=PriceBook)
    readers: dict[str, Reader] = field(default_factory=dict)
    # Stage 2 of the customer pipeline when this app runs it (see streams.identity.handoff).
    profiles: ProfileStage | None = None

    def topic_name(self, name: str) -> str:
        return f"{self.settings.topics.prefix}{name}"

    @property
    def batched(self) -> bool:
        """Whether sources are batch topics of the ``omnibatch://`` transport."""
        return self.settings.streams.batching == "transport"

    def table_options(self) -> dict[str, Any]:
        """RocksDB sized for a 2-core, small-memory worker (defaults are 2 GiB a partition).

        The block cache here is a placeholder: :func:`streams.rocks.share_memory`
        replaces every partition's cache with the worker's shared one.
        """
        streams = self.settings.streams
        return {
            "block_cache_size": 1024 * 1024,
            "write_buffer_size": streams.rocksdb_write_buffer_bytes,
            "max_write_buffer_number": 2,
            "driver": "rocksdict",
        }


def use_event_loop(name: str) -> None:
    """Make the loops this process creates from now on uvloop's, or asyncio's own.

    Set before the app exists: Faust's main loop and the consumer thread's
    (aiokafka runs there) are both created later through the policy. uvloop
    runs the loop's callbacks, timers and socket I/O in C; the worker spends
    a tenth of its time in the loop itself.
    """
    if name == "uvloop":
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())


def faust_config(settings: Settings) -> dict[str, Any]:
    """Faust settings derived from ours; the one place they are translated."""
    streams = settings.streams
    # The driver in both modes: only batch topics are batched, and its fetch
    # and commit fixes (streams.transport.driver) matter to per-record events too.
    transport.register()
    return {
        "broker": f"{transport.BATCH_SCHEME}://{settings.kafka.bootstrap_servers}",
        # With the batching transport an event is a fetched run of one partition:
        # the fetch size sets the batch size, the buffer counts batches.
        "consumer_max_fetch_size": streams.fetch_max_bytes,
        "stream_buffer_maxsize": streams.stream_buffer_batches
        if streams.batching == "transport"
        else 4096,
        "store": "rocksdb://",
        "datadir": str(streams.data_dir / streams.worker_name),
        "web_host": streams.web_host,
        "web_port": streams.web_port,
        "web_bind": streams.web_host,
        # Other workers forward table_route requests here; the default would be
        # the machine's hostname, which need not resolve to the bind address.
        "canonical_url": f"http://{streams.web_host}:{streams.web_port}",
        "producer_linger_ms": streams.producer_linger_ms,
        "producer_acks": -1,
        "producer_compression_type": None
        if settings.kafka.compression_type == "none"
        else settings.kafka.compression_type,
        "table_standby_replicas": streams.standby_replicas,
        "topic_replication_factor": settings.topics.replication_factor,
        "topic_partitions": settings.topics.partitions_override or 6,
        "processing_guarantee": "at_least_once",
        # A worker killed without leaving the group holds its partitions until the
        # session times out; Faust's 60 s default is a minute of standstill.
        "broker_session_timeout": streams.session_timeout_s,
        "broker_heartbeat_interval": max(streams.session_timeout_s / 4, 1.0),
        "consumer_auto_offset_reset": "earliest",
        "stream_wait_empty": False,
        "web_enabled": True,
        "topic_allow_declare": True,
    }


def create_app(settings: Settings, *, domains: tuple[str, ...] | None = None) -> faust.App:
    """Build the processors' app with the chosen domains installed."""
    from streams import registry

    config = faust_config(settings)
    # Faust creates only the last level of its data dir.
    Path(config["datadir"]).parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(settings.streams.app_id, **config)
    schema_set = load_schema_set()
    client = make_client(settings.registry)
    metrics = Metrics()
    out = Output(settings)
    changelog = Changelog(out)
    producer = app.producer
    if not isinstance(producer, transport.Producer):
        raise transport.WrongTransport("the tables' changelogs need the transport's producer")
    # Every commit, and the stop, waits until the changelog records are acknowledged.
    producer.also_flush(changelog.flush)
    runtime = Runtime(
        settings=settings,
        decoder=FastDecoder(client, schema_set, logical_types=False),
        encoder=FastEncoder(client, schema_set),
        dead_letters=DeadLetters(out, settings, metrics),
        metrics=metrics,
        schema_set=schema_set,
        out=out,
        changelog=changelog,
    )
    metrics.install(app)
    heap.install(app, metrics, settings.streams.gc_young_objects)
    for name in domains or registry.DOMAINS:
        registry.install(name, app, runtime)
    share_memory(app, settings.streams)
    return app


def declare_changelogs(app: faust.App, settings: Settings) -> list[str]:
    """Create the app's changelog topics with their tables' partition counts, before start.

    See :func:`schemas.admin.ensure_changelogs` for the race this removes.
    Faust names them ``<app id>-<table>-changelog``: renaming either moves the state.
    """
    wanted = {
        table.changelog_topic.get_topic_name(): int(table.partitions or 0)
        for table in app.tables.values()
    }
    wanted = {name: n for name, n in wanted.items() if n > 0}
    return ensure_changelogs(make_admin(settings.kafka), settings.topics, wanted)
