"""``omni topics apply``: make the cluster's topics match the catalogue.

Idempotent by design: it reads what exists, creates what is missing, alters only
the configs that differ and grows partition counts, so a second run changes
nothing. It never shrinks partitions (Kafka cannot) and says so instead.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
)

from schemas.catalogue import ALL_TOPICS, Topic
from schemas.exceptions import TopicAdminError
from schemas.settings import KafkaSettings, TopicSettings

TIMEOUT_S = 30.0


@dataclass
class ApplyReport:
    """What ``apply_topics`` did, topic by topic."""

    created: list[str] = field(default_factory=list)
    altered: dict[str, list[str]] = field(default_factory=dict)
    repartitioned: dict[str, tuple[int, int]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.altered or self.repartitioned)


def make_admin(settings: KafkaSettings) -> AdminClient:
    return AdminClient(settings.as_librdkafka_dict())


def _wait(futures: dict[Any, Any], what: str) -> None:
    for name, future in futures.items():
        try:
            future.result(timeout=TIMEOUT_S)
        except KafkaException as exc:
            raise TopicAdminError(f"{what} {name}: {exc.args[0]}") from exc
        except Exception as exc:
            raise TopicAdminError(f"{what} {name}: {exc}") from exc


def existing_topics(admin: AdminClient) -> dict[str, int]:
    """Topic name -> partition count, as the cluster sees it."""
    try:
        metadata = admin.list_topics(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise TopicAdminError(f"cannot reach Kafka: {exc.args[0]}") from exc
    return {name: len(t.partitions) for name, t in metadata.topics.items()}


def desired_partitions(topic: Topic, settings: TopicSettings) -> int:
    return settings.partitions_override or topic.partitions


def apply_topics(
    admin: AdminClient,
    settings: TopicSettings,
    topics: Iterable[Topic] = ALL_TOPICS,
) -> ApplyReport:
    """Create or update every catalogue topic; safe to run any number of times."""
    report = ApplyReport()
    wanted = {t.physical(settings.prefix): t for t in topics}
    present = existing_topics(admin)
    raced = _create_missing(admin, settings, wanted, present, report)
    if raced:
        present = _wait_listed(admin, raced)
    for name, topic in wanted.items():
        if name in report.created:
            continue
        _reconcile_partitions(
            admin, name, present[name], desired_partitions(topic, settings), report
        )
        _reconcile_config(admin, name, topic.config(settings.min_insync_replicas), report)
        if name not in report.altered and name not in report.repartitioned:
            report.unchanged.append(name)
    return report


def _create_missing(
    admin: AdminClient,
    settings: TopicSettings,
    wanted: dict[str, Topic],
    present: dict[str, int],
    report: ApplyReport,
) -> set[str]:
    """Create what the metadata did not list; return those that turned out to exist.

    A topic can exist yet be missing from the metadata just read: another
    ``apply`` created it meanwhile, or a broker's metadata trails the
    controller for a moment after a create. Kafka then answers
    ``TOPIC_ALREADY_EXISTS``; such a topic is reconciled like any existing one.
    """
    new = [
        NewTopic(
            name,
            num_partitions=desired_partitions(topic, settings),
            replication_factor=settings.replication_factor,
            config=topic.config(settings.min_insync_replicas),
        )
        for name, topic in wanted.items()
        if name not in present
    ]
    raced: set[str] = set()
    if not new:
        return raced
    for name, future in admin.create_topics(new, request_timeout=TIMEOUT_S).items():
        try:
            future.result(timeout=TIMEOUT_S)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise TopicAdminError(f"creating {name}: {exc.args[0]}") from exc
            raced.add(name)
        except Exception as exc:
            raise TopicAdminError(f"creating {name}: {exc}") from exc
        else:
            report.created.append(name)
    return raced


def _wait_listed(admin: AdminClient, names: set[str]) -> dict[str, int]:
    """The metadata once it lists ``names`` (it catches up within moments)."""
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        present = existing_topics(admin)
        if names <= present.keys():
            return present
        if time.monotonic() > deadline:
            raise TopicAdminError(f"topics exist but are not in the metadata: {sorted(names)}")
        time.sleep(0.1)


def _reconcile_partitions(
    admin: AdminClient, name: str, have: int, want: int, report: ApplyReport
) -> None:
    if want > have:
        _wait(admin.create_partitions([NewPartitions(name, want)]), "adding partitions to")
        report.repartitioned[name] = (have, want)
    elif want < have:
        report.warnings.append(f"{name} has {have} partitions, catalogue says {want}: not shrunk")


def _reconcile_config(
    admin: AdminClient, name: str, desired: dict[str, str], report: ApplyReport
) -> None:
    resource = ConfigResource(ConfigResource.Type.TOPIC, name)
    futures = admin.describe_configs([resource], request_timeout=TIMEOUT_S)
    try:
        current = futures[resource].result(timeout=TIMEOUT_S)
    except KafkaException as exc:
        raise TopicAdminError(f"describing {name}: {exc.args[0]}") from exc
    differing = [key for key, value in desired.items() if _value(current, key) != value]
    if not differing:
        return
    entries = [
        ConfigEntry(key, desired[key], incremental_operation=AlterConfigOpType.SET)
        for key in differing
    ]
    altered = ConfigResource(ConfigResource.Type.TOPIC, name, incremental_configs=entries)
    _wait(admin.incremental_alter_configs([altered]), "altering")
    report.altered[name] = differing


def _value(current: dict[str, Any], key: str) -> str | None:
    entry = current.get(key)
    return None if entry is None else str(entry.value)


def ensure_changelogs(
    admin: AdminClient, settings: TopicSettings, wanted: dict[str, int]
) -> list[str]:
    """Create compacted changelog topics (name -> partitions) that do not exist yet.

    A stream processor's changelogs must have exactly its source's partition
    count. Left to chance, a worker's first metadata request can race the
    framework's own declaration and a broker with topic auto-creation
    creates the changelog with its default count; the first table write then
    fails. Creating them up front, with the right count, removes the race; an
    existing changelog with another count is an error to fix by hand (its
    state is keyed by partition), reported before anything runs.
    """
    present = existing_topics(admin)
    wrong = {n: (present[n], p) for n, p in wanted.items() if n in present and present[n] != p}
    if wrong:
        detail = ", ".join(
            f"{n} has {have} partitions, needs {want}" for n, (have, want) in wrong.items()
        )
        raise TopicAdminError(f"changelog partition counts differ from their sources: {detail}")
    config = {"cleanup.policy": "compact", "min.insync.replicas": str(settings.min_insync_replicas)}
    new = [
        NewTopic(n, num_partitions=p, replication_factor=settings.replication_factor, config=config)
        for n, p in wanted.items()
        if n not in present
    ]
    if new:
        futures = admin.create_topics(new, request_timeout=TIMEOUT_S)
        for name, future in futures.items():
            try:
                future.result(timeout=TIMEOUT_S)
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise TopicAdminError(f"creating {name}: {exc.args[0]}") from exc
        _await_partitions(admin, wanted)
    return [t.topic for t in new]


def _await_partitions(admin: AdminClient, wanted: dict[str, int]) -> None:
    """Wait until metadata shows every topic with all its partitions led.

    A topic just created can be listed with no partitions for a moment; a
    consumer that caches that answer fails every table write until its next
    metadata refresh (faust's ``PartitionsMismatch``).
    """
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        metadata = admin.list_topics(timeout=TIMEOUT_S).topics
        short = [
            name
            for name, count in wanted.items()
            if name not in metadata
            or len(metadata[name].partitions) != count
            or any(p.leader < 0 for p in metadata[name].partitions.values())
        ]
        if not short:
            return
        if time.monotonic() > deadline:
            raise TopicAdminError(f"topics without all partitions after {TIMEOUT_S}s: {short}")
        time.sleep(0.2)
