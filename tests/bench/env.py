"""The benchmark's slice of the cluster: broker and registry, a fresh prefix, cleanup.

Every run registers the contract under its own ``bench-<uuid>.`` prefix and
names every Faust app after it, so changelogs, view topics and subjects of a
run can all be dropped at the end and never meet those of a test or of
``make run`` on a shared broker.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient

from schemas import admin as topic_admin
from schemas import registry
from schemas.avro import SchemaSet, load_schema_set
from schemas.catalogue import ALL_TOPICS, PROCESSORS, Topic
from schemas.settings import KafkaSettings, RegistrySettings, Settings, TopicSettings

ROOT = Path(__file__).resolve().parents[2]
# Topics the processors consume: inputs and the internal hops between their stages.
SOURCES: tuple[Topic, ...] = tuple(t for t in ALL_TOPICS if PROCESSORS in t.subscribers)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BenchEnv:
    """Settings pointed at this run's prefix, with clients made once."""

    settings: Settings
    client: SchemaRegistryClient
    schema_set: SchemaSet
    workdir: Path
    subjects: list[str] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.settings.topics.prefix

    @property
    def bootstrap(self) -> str:
        return self.settings.kafka.bootstrap_servers

    def topic(self, topic: Topic) -> str:
        return topic.physical(self.prefix)

    def app_id(self, name: str) -> str:
        """An app id under the prefix, so its changelogs are dropped with the run."""
        return f"{self.prefix}{name}"

    def admin(self) -> AdminClient:
        return AdminClient(self.settings.kafka.as_librdkafka_dict())

    def consumer(self, group: str | None = None, **extra: Any) -> Consumer:
        conf = {
            **self.settings.kafka.as_librdkafka_dict(),
            "group.id": group or f"bench-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **extra,
        }
        return Consumer(conf)

    def create_topic(self, name: str, partitions: int, config: dict[str, str]) -> None:
        admin = self.admin()  # keep the handle alive until the future resolves
        futures = admin.create_topics([NewTopic(name, partitions, 1, config=config)])
        futures[name].result(30)

    def worker_env(self, app_id: str, data_dir: Path, **streams: Any) -> dict[str, str]:
        """The environment an ``omni worker`` subprocess builds its settings from."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNI_")}
        env.update(
            OMNI_BOOTSTRAP_SERVERS=self.bootstrap,
            OMNI_SCHEMA_REGISTRY_URL=self.settings.registry.url,
            OMNI_TOPICS__PREFIX=self.prefix,
            OMNI_STREAMS__APP_ID=app_id,
            OMNI_STREAMS__DATA_DIR=str(data_dir),
            OMNI_STREAMS__STANDBY_REPLICAS="0",
            PYTHONPATH=str(ROOT),
        )
        for name, value in streams.items():
            env[f"OMNI_STREAMS__{name.upper()}"] = str(value)
        return env


def create_changelogs(env: BenchEnv, app_id: str) -> list[str]:
    """The changelog topics of ``app_id``'s tables, created as ``omni worker`` creates them.

    B4 writes into them before any worker of that app has run.
    """
    from streams.app import create_app, declare_changelogs

    streams = env.settings.streams.model_copy(
        update={"app_id": app_id, "data_dir": env.workdir / "declare"}
    )
    settings = env.settings.model_copy(update={"streams": streams})
    return declare_changelogs(create_app(settings), settings)


def end_offsets(
    env: BenchEnv, topics: list[str], consumer: Consumer | None = None
) -> dict[tuple[str, int], int]:
    """High watermark of every partition of ``topics`` (with ``consumer`` if given)."""
    own = consumer is None
    client = env.consumer() if consumer is None else consumer
    try:
        out: dict[tuple[str, int], int] = {}
        metadata = client.list_topics(timeout=10)
        for name in topics:
            for partition in metadata.topics[name].partitions:
                _, high = client.get_watermark_offsets(TopicPartition(name, partition), 10)
                out[(name, partition)] = int(high)
        return out
    finally:
        if own:
            client.close()


def committed(consumer: Consumer, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The committed offset of each partition for ``consumer``'s group (-1: none yet)."""
    answer = consumer.committed([TopicPartition(t, p) for t, p in tps], timeout=10)
    return {(tp.topic, tp.partition): int(tp.offset) for tp in answer}


def wait_group_done(
    env: BenchEnv,
    group: str,
    topics: list[str],
    timeout_s: float,
    check: Callable[[], None] = lambda: None,
) -> None:
    """Until the group committed the end of every partition of ``topics``, twice in a row.

    The processors commit only after a batch's effects were flushed, and what
    they emit onto internal topics is itself a source, so "every source
    partition committed to its end, and still so a poll later" means done.
    """
    deadline = time.monotonic() + timeout_s
    settled = 0
    last: dict[tuple[str, int], int] = {}
    watcher = env.consumer(group=group)  # never subscribes: it only reads the group's offsets
    try:
        while time.monotonic() < deadline:
            check()
            ends = end_offsets(env, topics, watcher)
            done = committed(watcher, list(ends))
            behind = sum(max(end - max(done.get(tp, -1), 0), 0) for tp, end in ends.items())
            settled = settled + 1 if behind == 0 and ends == last else 0
            if settled >= 2:
                return
            last = ends
            time.sleep(1.0)
    finally:
        watcher.close()
    raise TimeoutError(f"group {group} still behind after {timeout_s:.0f}s")


def last_timestamp_ms(env: BenchEnv, topics: list[str], timeout_s: float = 30.0) -> int:
    """The latest record CreateTime over ``topics``: when the last output was made."""
    consumer = env.consumer()
    try:
        ends = end_offsets(env, topics, consumer)
        wanted = {tp: end - 1 for tp, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(t, p, offset) for (t, p), offset in wanted.items()])
        last, deadline = 0, time.monotonic() + timeout_s
        while wanted and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                tp = (message.topic() or "", message.partition() or 0)
                if message.error() or (message.offset() or 0) < wanted.get(tp, 1 << 62):
                    continue
                last = max(last, message.timestamp()[1])
                wanted.pop(tp, None)
        return last
    finally:
        consumer.close()


@contextmanager
def broker_and_registry(settings: Settings) -> Iterator[Settings]:
    """The configured broker and registry, or the local ones (stopped after if started here)."""
    from deploy.local import KafkaCluster, Registry

    if settings.bootstrap_servers and settings.schema_registry_url:
        yield settings
        return
    cluster, reg = KafkaCluster(settings.local), Registry(settings.local)
    started: list[KafkaCluster | Registry] = []
    try:
        for service in (cluster, reg):
            if not service.up().reused:
                started.append(service)
        yield Settings(bootstrap_servers=cluster.bootstrap_servers, schema_registry_url=reg.url)
    finally:
        for service in reversed(started):
            service.down()


@contextmanager
def bench_env(settings: Settings, workdir: Path) -> Iterator[BenchEnv]:
    """Every catalogue topic and schema under a fresh prefix; all of it dropped afterwards."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    scoped = Settings(
        kafka=KafkaSettings(bootstrap_servers=settings.kafka.bootstrap_servers),
        registry=RegistrySettings(url=settings.registry.url),
        topics=TopicSettings(prefix=prefix),
        local=settings.local,
        connectors=settings.connectors,
    )
    topic_admin.apply_topics(topic_admin.make_admin(scoped.kafka), scoped.topics)
    client = registry.make_client(scoped.registry)
    schema_set = load_schema_set()
    done = registry.register_all(client, schema_set, prefix, scoped.registry.compatibility)
    env = BenchEnv(scoped, client, schema_set, workdir, [r.subject for r in done])
    try:
        yield env
    finally:
        drop(env)


def drop(env: BenchEnv) -> None:
    """Delete the run's topics (changelogs included) and subjects."""
    admin = env.admin()
    names = [n for n in topic_admin.existing_topics(admin) if n.startswith(env.prefix)]
    if names:
        for future in admin.delete_topics(names, operation_timeout=60).values():
            future.result(timeout=60)
    for subject in env.subjects:
        env.client.delete_subject(subject, permanent=False)
