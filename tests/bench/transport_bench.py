"""Events per second of one worker: naive Faust, the batching transport, a bare consumer.

Not a pytest test. Run it against the local broker and registry (started if
they are not running, and stopped again afterwards if this run started them)::

    .venv/bin/python tests/bench/transport_bench.py [--events 200000] [--profile batch.spy]

It registers the contract under a fresh prefix, produces ``--events`` Avro
``StockMovement`` events over ``--skus`` SKUs to a fresh 6-partition topic,
then measures each mode from the first to the last event it processed:

* ``naive``  a per-event Faust agent: decode, ``table[sku] = fold(table[sku], m)``,
  default settings, RocksDB store;
* ``batch``  the same fold on the ``omnibatch://`` transport: one event per fetched
  run, each touched SKU written once per batch, small RocksDB options
  (``--fetch-bytes`` sets ``consumer_max_fetch_size``, hence the batch size);
* ``batch-raw`` the same with a bytes table (state encoded once, with orjson);
* ``bare``   confluent-kafka and fastavro only: the ceiling of decode on this machine.

Besides events/s it prints CPU µs per event (process time of the worker, all
threads), which moves far less than wall time when other work shares the cores.

Workers run as subprocesses of this script (``... transport_bench.py worker``),
one at a time, each with its own app id, data dir and web port. ``--profile``
samples the batch worker with py-spy (``pip install py-spy``) from its first
event to its last and prints where the time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from copy import deepcopy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from schemas.settings import Settings  # noqa: E402

RECORD = "omni.inventory.StockMovement"
TOPIC = "omni.inventory.movements"
PARTITIONS = 6
SIGN = {"received": 1, "returned": 1, "sold": -1, "adjusted": 1, "transferred": -1}
SMALL_ROCKSDB = {
    "block_cache_size": 8 << 20,
    "write_buffer_size": 8 << 20,
    "max_write_buffer_number": 2,
    "driver": "rocksdict",
}


def fold(state: dict[str, Any] | None, movement: dict[str, Any]) -> dict[str, Any]:
    """The pure rule both Faust modes apply: on hand per SKU, floored at 0."""
    on_hand = state["on_hand"] if state else 0
    quantity, kind = movement["quantity"], movement["kind"]
    if kind != "counted":
        quantity = max(on_hand + SIGN.get(kind, 0) * quantity, 0)
    return {
        "on_hand": quantity,
        "movements": (state["movements"] if state else 0) + 1,
        "last_event": str(movement["envelope"]["event_id"]),
    }


# --- the worker (a subprocess) --------------------------------------------------------------


def build_app(args: argparse.Namespace) -> Any:
    import faust

    from schemas.avro import load_schema_set
    from schemas.codec import FastDecoder
    from schemas.registry import make_client
    from schemas.settings import RegistrySettings
    from streams.transport import BATCH_SCHEME, batch_topic, batches

    decode = FastDecoder(make_client(RegistrySettings(url=args.registry)), load_schema_set()).decode
    common: dict[str, Any] = {
        "store": "rocksdb://",
        "datadir": args.data_dir,
        "web_port": args.web_port,
        "web_host": "127.0.0.1",
        "web_bind": "127.0.0.1",
        "topic_partitions": PARTITIONS,
        "consumer_auto_offset_reset": "earliest",
    }
    progress = Progress(args.events, Path(args.result), args.mode)
    if args.mode == "naive":
        app = faust.App(args.app_id, broker=f"kafka://{args.bootstrap}", **common)
        source = app.topic(args.topic, key_serializer="raw", value_serializer="raw")
        table = app.Table("stock", partitions=PARTITIONS)

        @app.agent(source)
        async def naive(stream: Any) -> None:
            async for event in stream.events():
                movement = decode(event.value).value
                sku = movement["sku"]
                table[sku] = fold(table.get(sku), movement)
                progress.add(1, writes=1)

        return app

    app = faust.App(
        args.app_id,
        broker=f"{BATCH_SCHEME}://{args.bootstrap}",
        producer_linger=args.linger,
        stream_buffer_maxsize=16,
        broker_max_poll_records=args.max_poll or None,
        consumer_max_fetch_size=args.fetch_bytes,
        **common,
    )
    source = batch_topic(app, args.topic)
    if args.mode == "batch-raw":
        return _raw_table_agent(app, source, decode, progress)
    table = app.Table("stock", partitions=PARTITIONS, options=dict(SMALL_ROCKSDB))

    @app.agent(source)
    async def batched(stream: Any) -> None:
        async for batch in batches(stream):
            touched: dict[str, dict[str, Any]] = {}
            for record in batch:
                movement = decode(record.value).value
                sku = movement["sku"]
                state = touched[sku] if sku in touched else table.get(sku)
                touched[sku] = fold(state, movement)
            for sku, state in touched.items():
                table[sku] = state
            progress.add(len(batch), writes=len(touched))

    return app


def _raw_table_agent(app: Any, source: Any, decode: Any, progress: Progress) -> Any:
    """The batch agent with a bytes table: state is encoded once (orjson), not twice (json).

    Faust serializes a table value for the changelog and again for the store;
    with ``raw`` serializers the agent hands it bytes it encoded itself.
    """
    import orjson

    from streams.transport import batches

    table = app.Table(
        "stock",
        partitions=PARTITIONS,
        key_type=bytes,  # bytes types make Faust pick the "raw" serializers
        value_type=bytes,
        options=dict(SMALL_ROCKSDB),
    )

    @app.agent(source)
    async def batched_raw(stream: Any) -> None:
        async for batch in batches(stream):
            touched: dict[bytes, dict[str, Any]] = {}
            for record in batch:
                movement = decode(record.value).value
                key = record.key
                if key in touched:
                    state = touched[key]
                else:
                    stored = table.get(key)
                    state = orjson.loads(stored) if stored is not None else None
                touched[key] = fold(state, movement)
            for key, state in touched.items():
                table[key] = orjson.dumps(state)
            progress.add(len(batch), writes=len(touched))

    return app


class Progress:
    """Counts events, agent iterations and table writes; writes the result file at the end."""

    def __init__(self, total: int, result: Path, mode: str) -> None:
        self.total, self.result, self.mode = total, result, mode
        self.done = self.batches = self.writes = 0
        self.first = self.first_cpu = 0.0

    def add(self, n: int, writes: int) -> None:
        if not self.done:
            self.first, self.first_cpu = time.monotonic(), time.process_time()
            self.result.with_suffix(".started").touch()
        self.done += n
        self.batches += 1
        self.writes += writes
        if self.done >= self.total and not self.result.exists():
            seconds = time.monotonic() - self.first
            cpu = time.process_time() - self.first_cpu
            report = {"mode": self.mode, "events": self.done, "seconds": seconds, "cpu": cpu}
            report.update(batches=self.batches, writes=self.writes)
            self.result.write_text(json.dumps(report))


def worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="transport_bench.py worker")
    for name in ("mode", "bootstrap", "registry", "topic", "app-id", "data-dir", "result"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--web-port", type=int, required=True)
    parser.add_argument("--linger", type=float, default=0.05)
    parser.add_argument("--max-poll", type=int, default=0)
    parser.add_argument("--fetch-bytes", type=int, default=1 << 20)
    args = parser.parse_args(argv)
    import faust

    worker = faust.Worker(build_app(args), loglevel="warn", quiet=True)
    # Faust's start-up spinner sets the root logger to DEBUG for good (faust/worker.py
    # `Worker._setup_spinner_handler`), so every logger.debug() in the hot path builds a
    # LogRecord that the WARN handler then drops: ~2% of the batch worker's time.
    worker.spinner = None
    worker.execute_from_commandline()


# --- the driver (this process) ----------------------------------------------------------------


@dataclass
class Bench:
    settings: Settings
    bootstrap: str
    registry: str
    topic: str
    events: int
    workdir: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def prepare(settings: Settings, events: int, skus: int, workdir: Path) -> Bench:
    """Register the contract under a fresh prefix and produce the events, keyed by SKU."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    from schemas.avro import load_schema_set
    from schemas.codec import FastEncoder
    from schemas.registry import make_client, register_all
    from schemas.samples import sample_event

    bootstrap, registry = settings.kafka.bootstrap_servers, settings.registry.url
    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    topic = prefix + TOPIC
    schema_set = load_schema_set()
    client = make_client(settings.registry)
    register_all(client, schema_set, prefix, settings.registry.compatibility)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(30)

    encoder = FastEncoder(client, schema_set)
    bases = [sample_event(RECORD, seed) for seed in range(500)]
    producer = Producer(settings.kafka.as_producer_dict(linger_ms=20))
    started = time.monotonic()
    for i in range(events):
        movement = deepcopy(bases[i % len(bases)])
        movement["envelope"]["event_id"] = str(uuid.UUID(int=i + 1))
        movement["sku"] = f"SKU-{i % skus:06d}"
        movement["movement_id"] = f"MOVEMENT-{i}"
        value = encoder.encode(topic, RECORD, movement)
        producer.produce(topic, key=movement["sku"].encode(), value=value)
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(60)
    print(f"produced {events} events to {topic} in {time.monotonic() - started:.1f}s", flush=True)
    return Bench(settings, bootstrap, registry, topic, events, workdir)


def run_worker(
    bench: Bench, mode: str, profile: Path | None = None, **extra: Any
) -> dict[str, Any]:
    """One worker process from start to the result file, then SIGTERM (SIGKILL if it hangs)."""
    name = f"{mode}-{uuid.uuid4().hex[:6]}"
    result = bench.workdir / f"{name}.json"
    args = [
        *("--mode", mode, "--bootstrap", bench.bootstrap, "--registry", bench.registry),
        *("--topic", bench.topic, "--app-id", f"bench-{name}", "--events", str(bench.events)),
        *("--data-dir", str(bench.workdir / name), "--result", str(result)),
        *("--web-port", str(free_port())),
    ]
    for option, value in extra.items():
        args += [f"--{option.replace('_', '-')}", str(value)]
    log = bench.workdir / f"{name}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, __file__, "worker", *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    spy = None
    try:
        deadline = time.monotonic() + 600
        while not result.exists():
            if profile and spy is None and result.with_suffix(".started").exists():
                spy = start_profiler(proc.pid, profile)
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text()[-2000:]
                raise RuntimeError(f"{mode} worker ended without a result:\n{tail}")
            time.sleep(0.2)
        report: dict[str, Any] = json.loads(result.read_text())
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        stop(proc)
    return report


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    py_spy = Path(sys.executable).with_name("py-spy")
    return subprocess.Popen(
        [
            *(str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--threads"),
            *("--rate", "200", "--output", str(output), "--nonblocking"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


def run_bare(bench: Bench) -> dict[str, Any]:
    """confluent-kafka batch consume plus FastDecoder: no Faust, no state."""
    from confluent_kafka import Consumer

    from schemas.avro import load_schema_set
    from schemas.codec import FastDecoder
    from schemas.registry import make_client

    decode = FastDecoder(make_client(bench.settings.registry), load_schema_set()).decode
    consumer = Consumer(
        {
            "bootstrap.servers": bench.bootstrap,
            "group.id": f"bench-bare-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe([bench.topic])
    done, first, first_cpu = 0, 0.0, 0.0
    try:
        while done < bench.events:
            for message in consumer.consume(num_messages=1000, timeout=1.0):
                if message.error():
                    raise RuntimeError(message.error())
                if not done:
                    first, first_cpu = time.monotonic(), time.process_time()
                decode(message.value())
                done += 1
        seconds, cpu = time.monotonic() - first, time.process_time() - first_cpu
    finally:
        consumer.close()
    return {"mode": "bare", "events": done, "seconds": seconds, "cpu": cpu}


# --- the profile summary ----------------------------------------------------------------------

CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("Avro decode (FastDecoder, fastavro)", ("FastDecoder.decode",)),
    ("table writes: serialize, RocksDB put, FutureMessage", ("ManagedUserDict.__setitem__",)),
    (
        "changelog produce: buffer, aiokafka send, ack callbacks",
        ("ProducerBuffer", "aiokafka/producer", "_on_published", "_on_changelog_sent"),
    ),
    ("table reads: RocksDB get, deserialize", ("Mapping.get (", "ManagedUserDict.__getitem__")),
    ("fold, the pure rule", ("fold (",)),
    ("aiokafka fetch + record parsing (own thread)", ("aiokafka/consumer", "ConsumerThread")),
    ("rest of the agent loop (iteration, dicts)", ("batched",)),
    ("Faust dispatch: conductor, stream, acks, commit", ("faust/", "streams/transport")),
]
EVENT_LOOP = ("asyncio/", "selectors.py", "aiokafka/conn", "aiokafka/protocol", "aiokafka/client")


def summarize(raw: Path, top: int = 12) -> str:
    """Where the sampled time went, by category (first that matches any frame) and by leaf."""
    by_category: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        by_leaf[frames[-1]] += count
        by_category[_category(frames)] += count
    if not total:
        return "no samples"
    lines = [f"{total} samples (py-spy, all threads, idle excluded)"]
    for name, count in by_category.most_common():
        lines.append(f"  {100 * count / total:5.1f}%  {name}")
    lines.append("top leaf frames:")
    for frame, count in by_leaf.most_common(top):
        lines.append(f"  {100 * count / total:5.1f}%  {frame[:110]}")
    return "\n".join(lines)


def _category(frames: list[str]) -> str:
    for name, patterns in CATEGORIES[:-1]:
        if any(pattern in frame for frame in frames for pattern in patterns):
            return name
    if any(pattern in frames[-1] for pattern in EVENT_LOOP):
        return "event loop, sockets (callbacks, selectors, protocol)"
    name, patterns = CATEGORIES[-1]
    if any(pattern in frame for frame in frames[1:] for pattern in patterns):
        return name
    return "other"


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--skus", type=int, default=5_000)
    parser.add_argument("--modes", default="naive,batch,bare")
    parser.add_argument("--linger", type=float, default=0.05, help="producer_linger, batch mode")
    parser.add_argument("--max-poll", type=int, default=0, help="broker_max_poll_records, 0=all")
    parser.add_argument(
        "--fetch-bytes", type=int, default=1 << 20, help="consumer_max_fetch_size, batch mode"
    )
    parser.add_argument("--profile", type=Path, help="py-spy the batch worker into this file")
    args = parser.parse_args(argv)

    from deploy.local import KafkaCluster, Registry

    settings = Settings()
    started: list[KafkaCluster | Registry] = []
    if not settings.bootstrap_servers:
        cluster, registry = KafkaCluster(settings.local), Registry(settings.local)
        for service in (cluster, registry):
            if not service.up().reused:
                started.append(service)
        settings = Settings(
            bootstrap_servers=cluster.bootstrap_servers, schema_registry_url=registry.url
        )
    try:
        with tempfile.TemporaryDirectory(prefix="transport-bench-") as tmp:
            bench = prepare(settings, args.events, args.skus, Path(tmp))
            reports = []
            for mode in args.modes.split(","):
                if mode == "bare":
                    reports.append(run_bare(bench))
                elif mode.startswith("batch"):
                    raw = args.profile.resolve() if args.profile and mode == "batch" else None
                    report = run_worker(
                        bench,
                        mode,
                        raw,
                        linger=args.linger,
                        max_poll=args.max_poll,
                        fetch_bytes=args.fetch_bytes,
                    )
                    reports.append(report)
                    if raw is not None:
                        print(summarize(raw), flush=True)
                else:
                    reports.append(run_worker(bench, mode))
                print(format_row(reports[-1]), flush=True)
            print(table(reports, args))
    finally:
        for service in reversed(started):
            service.down()


def format_row(report: dict[str, Any]) -> str:
    mode, events, seconds = report["mode"], report["events"], report["seconds"]
    cpu_us = 1e6 * report["cpu"] / events
    batches, writes = report.get("batches", "-"), report.get("writes", "-")
    return (
        f"| {mode:<9} | {events:>8} | {seconds:>7.2f} | {events / seconds:>9,.0f} "
        f"| {cpu_us:>9.1f} | {batches:>9} | {writes:>12} |"
    )


def table(reports: list[dict[str, Any]], args: argparse.Namespace) -> str:
    header = [
        f"{args.events} StockMovement events, {args.skus} SKUs, {PARTITIONS} partitions, "
        f"one worker, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}",
        "| mode      |   events |       s |  events/s | CPU µs/ev | agent its | table writes |",
        "|-----------|---------:|--------:|----------:|----------:|----------:|-------------:|",
    ]
    return "\n".join(header + [format_row(r) for r in reports])


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker_main(sys.argv[2:])
    else:
        main(sys.argv[1:])
