"""The local runtime for real: a KRaft broker and Apicurio started from Maven Central jars."""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Callable

import httpx
import pytest
from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient

from deploy.local import KafkaCluster, PortInUse, ProcessFailed, Registry, StartTimeout
from schemas.settings import LocalRuntimeSettings, Settings

pytestmark = pytest.mark.integration


def consume_one(bootstrap: str, topic: str, group: str, timeout_s: float = 30.0) -> Message:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest"}
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None:
                assert message.error() is None, message.error()
                return message
    finally:
        consumer.close()
    raise AssertionError(f"nothing arrived on {topic} within {timeout_s}s")


def test_broker_round_trips_a_message(
    local_kafka: KafkaCluster,
    new_topic_name: Callable[..., str],
    new_group_id: Callable[..., str],
) -> None:
    topic = new_topic_name()
    producer = Producer({"bootstrap.servers": local_kafka.bootstrap_servers, "acks": "all"})
    producer.produce(topic, key=b"k", value=b"hello")
    assert producer.flush(30) == 0
    message = consume_one(local_kafka.bootstrap_servers, topic, new_group_id())
    assert (message.key(), message.value()) == (b"k", b"hello")


def test_second_up_reuses_the_running_broker(local_kafka: KafkaCluster, settings: Settings) -> None:
    before = local_kafka.node_pids()
    assert set(before) == {1}
    report = KafkaCluster(settings.local).up()
    assert report.reused
    assert report.started_pids == ()
    assert local_kafka.node_pids() == before
    assert local_kafka.status().running


def test_another_cluster_on_taken_ports_is_refused(
    local_kafka: KafkaCluster, settings: Settings
) -> None:
    intruder = KafkaCluster(settings.local, name="intruder")
    with pytest.raises(PortInUse, match=f"port {settings.local.kafka_port}"):
        intruder.up()
    assert intruder.node_pids() == {}


def _free_port_pair() -> tuple[int, int]:
    socks = [socket.socket() for _ in range(2)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = (socks[0].getsockname()[1], socks[1].getsockname()[1])
    for sock in socks:
        sock.close()
    return ports


def _scratch_cluster(settings: Settings, name: str, **update: object) -> KafkaCluster:
    """A throwaway cluster on free ports, sharing the fetched jars of the session."""
    broker, controller = _free_port_pair()
    changes = {"kafka_port": broker, "controller_port": controller, **update}
    local: LocalRuntimeSettings = settings.local.model_copy(update=changes)
    return KafkaCluster(local, name=name)


def test_a_jvm_that_dies_is_reported_with_its_exit_code_and_log(settings: Settings) -> None:
    cluster = _scratch_cluster(settings, "crash-test", kafka_heap="not-a-size")
    try:
        with pytest.raises(
            ProcessFailed, match=r"(?s)exited with code 1.*Invalid maximum heap size"
        ):
            cluster.up()
        assert cluster.node_pids() == {}
    finally:
        cluster.down(wipe=True)


def test_a_start_timeout_leaves_no_process_behind(settings: Settings) -> None:
    cluster = _scratch_cluster(settings, "timeout-test", start_timeout_s=1.0)
    try:
        with pytest.raises(StartTimeout, match=r"(?s)not ready after 1s.*kafka\.log"):
            cluster.up()
        assert cluster.node_pids() == {}
    finally:
        cluster.down(wipe=True)


def test_a_killed_node_is_restarted_on_its_data(
    settings: Settings, new_topic_name: Callable[..., str], new_group_id: Callable[..., str]
) -> None:
    cluster = _scratch_cluster(settings, "restart-test")
    try:
        cluster.up()
        topic = new_topic_name()
        producer = Producer({"bootstrap.servers": cluster.bootstrap_servers, "acks": "all"})
        producer.produce(topic, value=b"kept")
        assert producer.flush(30) == 0
        old_pid = cluster.kill_node(1, signal.SIGKILL)
        assert cluster.node_pids() == {}
        report = cluster.start_node(1)
        assert not report.reused
        assert cluster.node_pids()[1] != old_pid
        assert consume_one(cluster.bootstrap_servers, topic, new_group_id()).value() == b"kept"
    finally:
        cluster.down(wipe=True)
    assert not cluster.root.exists()


def test_registry_answers_subjects(local_registry: Registry) -> None:
    response = httpx.get(f"{local_registry.url}/subjects", timeout=10)
    assert response.status_code == 200
    assert isinstance(response.json(), list)


def test_second_registry_up_is_reused(local_registry: Registry, settings: Settings) -> None:
    pid = local_registry.status().pid
    report = Registry(settings.local).up()
    assert report.reused
    assert local_registry.status().pid == pid is not None


def test_session_fixtures_point_at_working_services(
    kafka_bootstrap: str, schema_registry_url: str, admin: AdminClient
) -> None:
    assert admin.list_topics(timeout=10).brokers
    assert httpx.get(f"{schema_registry_url}/subjects", timeout=10).status_code == 200
    assert kafka_bootstrap
