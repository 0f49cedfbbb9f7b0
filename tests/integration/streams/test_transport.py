"""The batching transport against the real broker, with real Faust workers as processes.

Each test produces to its own uuid topic, runs a worker of this module (run as
``python -m tests.integration.streams.test_transport``, so it can be killed
with ``kill -9``) under a unique app id, data dir and web port, and checks what
the worker wrote to a sink file against what Kafka holds: every record seen,
tables restored from their changelog, commits never ahead of processing.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HARNESS = "tests.integration.streams.test_transport"
PARTITIONS = 3
ROOT = Path(__file__).resolve().parents[3]


# --- the worker (runs in a subprocess) ----------------------------------------------------


def build_app(args: argparse.Namespace) -> Any:
    """A batch agent that folds records into a table and logs every offset it processed."""
    import faust

    from streams.transport import BATCH_SCHEME, batch_topic, batches

    app = faust.App(
        args.app_id,
        broker=f"{BATCH_SCHEME}://{args.bootstrap}",
        store="rocksdb://",
        datadir=args.data_dir,
        web_host="127.0.0.1",
        web_bind="127.0.0.1",
        web_port=args.web_port,
        topic_partitions=PARTITIONS,
        broker_commit_interval=args.commit_interval,
        # A killed worker leaves the group only when its session expires: keep that short.
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_max_poll_records=args.max_poll,
        producer_linger=0.02,
        stream_buffer_maxsize=4,
        consumer_auto_offset_reset="earliest",
    )
    source = batch_topic(app, args.topic)
    totals = app.Table(
        "totals",
        partitions=PARTITIONS,
        # Stored keys are the source's key bytes, as in the product's tables (the
        # partitioner, hence routing and point reads, hashes the stored key).
        key_type=bytes,
        options={"block_cache_size": 4 << 20, "write_buffer_size": 4 << 20, "driver": "rocksdict"},
    )
    sink = Path(args.sink)

    @app.agent(source)
    async def fold(stream: Any) -> None:
        async for batch in batches(stream):
            touched: dict[str, list[int]] = {}
            lines = []
            for record in batch:
                key = (record.key or b"").decode()
                state = touched.get(key) or list(totals.get(key.encode()) or (0, 0))
                state[0] += 1
                state[1] += int(record.value or b"0")
                touched[key] = state
                lines.append(f"{record.partition} {record.offset} {batch.last_offset} {key}\n")
            for key, state in touched.items():
                totals[key.encode()] = state
            if args.delay:
                await stream.sleep(args.delay)
            with sink.open("a") as out:
                out.write("".join(lines))

    @app.page("/totals/")
    async def totals_view(web: Any, request: Any) -> Any:
        return web.json({key.decode(): value for key, value in totals.items()})

    @app.page("/point/")
    async def point_view(web: Any, request: Any) -> Any:
        """Every key read back alone from its partition's database, as the query API does."""
        from streams import rocks

        found = {key.decode(): rocks.read(totals, key) for key in totals}
        return web.json({"found": found, "missing": rocks.read(totals, b"no-such-key")})

    return app


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog=HARNESS)
    for name in ("bootstrap", "topic", "app-id", "data-dir", "sink"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--web-port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--max-poll", type=int, default=500)
    parser.add_argument("--commit-interval", type=float, default=0.5)
    args = parser.parse_args(argv)
    import faust

    worker = faust.Worker(build_app(args), loglevel="warn", quiet=True)
    worker.spinner = None  # it would leave the root logger at DEBUG
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1:])


# --- helpers for the tests ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Worker:
    """One worker process of this module, stopped or killed by its pid."""

    proc: subprocess.Popen[bytes]
    sink: Path
    port: int
    log: Path

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM, Faust's graceful shutdown (it commits what was acked)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(timeout_s)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def processed(self) -> list[tuple[int, int, int]]:
        """(partition, offset, batch's last offset) of every record the worker finished."""
        return [(int(p), int(o), int(b)) for p, o, b, _ in self._lines()]

    def touched(self) -> set[tuple[int, int, str]]:
        """(partition, batch's last offset, key): one table write each."""
        return {(int(p), int(b), key) for p, _, b, key in self._lines()}

    def _lines(self) -> list[list[str]]:
        if not self.sink.exists():
            return []
        lines = self.sink.read_text().split("\n")[:-1]  # a torn last line is not a record
        return [line.split() for line in lines]

    def totals(self) -> dict[str, list[int]] | None:
        return self._page("/totals/")

    def _page(self, path: str) -> Any:
        import httpx

        try:
            reply = httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=2.0)
        except httpx.HTTPError:
            return None
        return reply.json() if reply.status_code == 200 else None

    def tail(self) -> str:
        return self.log.read_text()[-3000:] if self.log.exists() else ""


Spawn = Callable[..., Worker]


@pytest.fixture
def spawn(tmp_path: Path, kafka_bootstrap: str) -> Iterator[Spawn]:
    """Start workers of this module; whatever is still running at teardown is killed by pid."""
    started: list[Worker] = []

    def start(topic: str, app_id: str, name: str, **options: Any) -> Worker:
        port = free_port()
        sink, log = tmp_path / f"{name}.sink", tmp_path / f"{name}.log"
        args = [
            *("--bootstrap", kafka_bootstrap, "--topic", topic, "--app-id", app_id),
            *("--data-dir", str(tmp_path / f"{name}-data"), "--sink", str(sink)),
            *("--web-port", str(port)),
        ]
        for option, value in options.items():
            args += [f"--{option.replace('_', '-')}", str(value)]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", HARNESS, *args],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        worker = Worker(proc, sink, port, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


class Feed:
    """Records (key ``k<i % keys>``, value ``i``) to a topic, with each partition's end offset."""

    def __init__(self, bootstrap: str, topic: str, keys: int) -> None:
        from confluent_kafka import Producer

        self.topic, self.keys, self.sent = topic, keys, 0
        self.ends: dict[int, int] = {}
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "linger.ms": 10, "partitioner": "murmur2_random"}
        )

    def send(self, n: int) -> None:
        for i in range(self.sent, self.sent + n):
            self._producer.produce(
                self.topic,
                key=f"k{i % self.keys}".encode(),
                value=str(i).encode(),
                on_delivery=self._delivered,
            )
            if i % 5000 == 0:
                self._producer.poll(0)
        self.sent += n
        assert self._producer.flush(30) == 0

    def _delivered(self, err: Any, msg: Any) -> None:
        assert err is None, err
        self.ends[msg.partition()] = max(self.ends.get(msg.partition(), 0), msg.offset() + 1)


def create_topic(bootstrap: str, topic: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)


def produce(bootstrap: str, topic: str, n: int, keys: int) -> dict[int, int]:
    """``n`` records to a new topic; returns each partition's end offset."""
    create_topic(bootstrap, topic)
    feed = Feed(bootstrap, topic, keys)
    feed.send(n)
    return feed.ends


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition (0 where nothing was committed)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        tps = consumer.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], 10)
    finally:
        consumer.close()
    return {tp.partition: max(tp.offset, 0) for tp in tps}


def wait_for(what: str, check: Callable[[], bool], worker: Worker, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if worker.proc.poll() is not None:
            raise AssertionError(f"worker exited {worker.proc.returncode}:\n{worker.tail()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}:\n{worker.tail()}")


def all_offsets(ends: dict[int, int]) -> set[tuple[int, int]]:
    return {(p, o) for p, end in ends.items() for o in range(end)}


# --- the tests ----------------------------------------------------------------------------


@pytest.mark.integration
def test_every_record_is_seen_exactly_once_in_batches(
    kafka_bootstrap: str, new_topic_name: Callable[..., str], spawn: Spawn
) -> None:
    topic, app_id = new_topic_name("batch-once"), f"batch-once-{uuid.uuid4().hex[:8]}"
    ends = produce(kafka_bootstrap, topic, 9000, keys=40)
    worker = spawn(topic, app_id, "w1")

    wait_for("9000 records", lambda: len(worker.processed()) >= 9000, worker, 45)
    assert worker.stop() == 0, worker.tail()

    seen = worker.processed()
    counts = Counter((p, o) for p, o, _ in seen)
    assert set(counts) == all_offsets(ends)
    assert set(counts.values()) == {1}
    batch_count = len({(p, b) for p, _, b in seen})
    assert batch_count < len(seen) / 10, f"{batch_count} batches for {len(seen)} records"
    assert committed(kafka_bootstrap, app_id, topic) == ends


@pytest.mark.integration
def test_table_written_from_batches_restores_from_its_changelog(
    kafka_bootstrap: str, new_topic_name: Callable[..., str], spawn: Spawn
) -> None:
    topic, app_id = new_topic_name("batch-restore"), f"batch-restore-{uuid.uuid4().hex[:8]}"
    n, keys = 6000, 50
    produce(kafka_bootstrap, topic, n, keys=keys)
    expected: dict[str, list[int]] = {}
    for i in range(n):
        state = expected.setdefault(f"k{i % keys}", [0, 0])
        state[0] += 1
        state[1] += i

    first = spawn(topic, app_id, "first")
    wait_for(f"{n} records", lambda: len(first.processed()) >= n, first, 45)
    wait_for("the first worker's table", lambda: first.totals() == expected, first, 10)
    assert first.stop() == 0, first.tail()

    # A fresh data dir: the table can only come back from its changelog.
    second = spawn(topic, app_id, "second")
    wait_for("the restored table", lambda: second.totals() == expected, second, 45)
    assert second.processed() == [], "the restored worker reprocessed committed records"
    # A point read asks only the key's own partition (streams.rocks.read): it must find
    # every key of every partition, and nothing for a key that was never written.
    assert second._page("/point/") == {"found": expected, "missing": None}
    changelog = f"{app_id}-totals-changelog"
    writes = sum(_end_offsets(kafka_bootstrap, changelog).values())
    assert writes == len(first.touched()), "not one changelog record per key per batch"
    assert writes < n / 4, f"{writes} changelog records for {n} records: batching did not pay"
    assert second.stop() == 0, second.tail()


@pytest.mark.integration
def test_kill_9_mid_stream_reprocesses_only_uncommitted_batches(
    kafka_bootstrap: str, new_topic_name: Callable[..., str], spawn: Spawn
) -> None:
    topic, app_id = new_topic_name("batch-crash"), f"batch-crash-{uuid.uuid4().hex[:8]}"
    n = 12000
    ends = produce(kafka_bootstrap, topic, n, keys=100)
    slow = spawn(topic, app_id, "crashing", delay=0.03, max_poll=100, commit_interval=0.2)
    wait_for("a third of the records", lambda: len(slow.processed()) >= n // 3, slow, 45)
    slow.kill()

    at_crash = committed(kafka_bootstrap, app_id, topic)
    before = {(p, o) for p, o, _ in slow.processed()}
    assert sum(at_crash.values()) > 0, "nothing was committed before the crash: test is vacuous"
    assert before != all_offsets(ends), "the worker finished before it was killed"
    for p, offset in at_crash.items():
        missing = {(p, o) for o in range(offset)} - before
        assert not missing, f"committed {offset} on {p} but never processed {sorted(missing)[:5]}"

    again = spawn(topic, app_id, "restarted")
    wait_for(
        "every record after the restart",
        lambda: before | {(p, o) for p, o, _ in again.processed()} >= all_offsets(ends),
        again,
        45,
    )
    assert again.stop() == 0, again.tail()

    # Records processed twice *within* the restarted run are allowed: Faust's recovery
    # resumes stream partitions before it seeks them to the committed offset
    # (faust/tables/recovery.py `Recovery.on_recovery_completed`), so a fetch slips in between.
    after = {(p, o) for p, o, _ in again.processed()}
    assert before | after == all_offsets(ends), "a record was skipped"
    for p, o in after:
        assert o >= at_crash[p], f"{p}/{o} was committed before the crash yet processed again"
    uncommitted = {(p, o) for p, o in before if o >= at_crash[p]}
    assert before & after == uncommitted, "reprocessed other than the uncommitted records"
    assert committed(kafka_bootstrap, app_id, topic) == ends


def _end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex}"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        }
    finally:
        consumer.close()


@pytest.mark.integration
def test_a_worker_joining_mid_stream_skips_nothing(
    kafka_bootstrap: str, new_topic_name: Callable[..., str], spawn: Spawn
) -> None:
    topic, app_id = new_topic_name("batch-join"), f"batch-join-{uuid.uuid4().hex[:8]}"
    create_topic(kafka_bootstrap, topic)
    feed = Feed(kafka_bootstrap, topic, keys=100)
    feed.send(2400)
    slow = {"delay": 0.1, "max_poll": 100, "commit_interval": 0.2}  # ~1k records/s per worker
    first = spawn(topic, app_id, "first", **slow)
    wait_for("the first worker's first batches", lambda: len(first.processed()) >= 600, first, 45)
    second = spawn(topic, app_id, "second", **slow)
    # Keep the stream going until the second worker has taken partitions, however slowly it
    # starts: if the first worker drained everything beforehand, the test would prove nothing.
    deadline = time.monotonic() + 60
    while not second.processed():
        assert time.monotonic() < deadline, f"the second worker never got a batch:\n{second.tail()}"
        assert second.proc.poll() is None, f"the second worker exited:\n{second.tail()}"
        feed.send(200)
        time.sleep(0.2)
    feed.send(1200)  # more after the handover
    ends = feed.ends

    def everything() -> bool:
        done = {(p, o) for w in (first, second) for p, o, _ in w.processed()}
        return done >= all_offsets(ends)

    wait_for("every record across both workers", everything, second, 40)
    assert first.stop() == 0, first.tail()
    assert second.stop() == 0, second.tail()
    assert committed(kafka_bootstrap, app_id, topic) == ends
