"""Stock processing against the real broker: views, duplicates, dead letters, API."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from schemas.catalogue import DEAD_LETTERS, STOCK_LEVEL_VIEW, STOCK_MOVEMENTS, STOCK_TOTAL_VIEW
from schemas.codec import FastDecoder, FastEncoder
from schemas.samples import sample_event
from streams.common.idempotency import Seen, Verdict, admit
from streams.stock import model, rules
from tests.integration.streams.workers import WorkerProcess, worker_env
from tests.integration.support import ContractEnv, consume_all

pytestmark = pytest.mark.integration
RECORD = "omni.inventory.StockMovement"


def movement(
    seed: int, sku: str, location: str, kind: str, qty: int, **extra: Any
) -> dict[str, Any]:
    event = sample_event(RECORD, seed)
    event.update(
        {
            "sku": sku,
            "location_id": location,
            "kind": kind,
            "quantity": qty,
            "to_location_id": None,
            **extra,
        }
    )
    return event


def reference(events: list[dict[str, Any]]) -> dict[str, model.Stock]:
    """What the views must say: each distinct event applied once, in order, by the pure rules."""
    stocks: dict[str, model.Stock] = {}
    seen: dict[str, Seen] = {}
    for event in events:
        sku = event["sku"]
        verdict, seen[sku] = admit(seen.get(sku, Seen()), event["envelope"])
        if verdict is Verdict.DUPLICATE:
            continue
        outcome = rules.apply(stocks.get(sku), RECORD, event)
        if isinstance(outcome, rules.Moved):
            stocks[sku] = outcome.state
    return stocks


@pytest.fixture(scope="module")
def worker(
    contract_env: ContractEnv, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkerProcess]:
    data = tmp_path_factory.mktemp("worker")
    env = worker_env(contract_env.settings, f"omni-test-{uuid.uuid4().hex[:8]}", data)
    process = WorkerProcess(env, "w1", data / "w1.log")
    process.start()
    yield process
    process.stop()


def latest_by_key(
    env: ContractEnv, topic: str, keys: set[str], timeout_s: float = 60
) -> dict[str, dict[str, Any]]:
    """Read a view topic until every key in ``keys`` has a value; the last value wins."""
    decoder = FastDecoder(env.client, env.schema_set)
    consumer = env.consumer(topic)
    latest: dict[str, dict[str, Any]] = {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            if keys <= set(latest):
                break
            continue
        assert message.error() is None
        latest[message.key().decode()] = decoder.decode(message.value()).value
    consumer.close()
    return latest


def test_movements_become_views_once_each(contract_env: ContractEnv, worker: WorkerProcess) -> None:
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    events = [
        movement(1, sku, "STORE-1", "received", 10),
        movement(2, sku, "STORE-1", "sold", 3),
        movement(3, sku, "STORE-2", "received", 4),
        movement(4, sku, "STORE-1", "transferred", 2, to_location_id="STORE-2"),
        movement(5, sku, "STORE-2", "reserved", 5),
    ]
    sent = [*events, events[0], events[1]]  # a producer retry re-sends two events
    topic = STOCK_MOVEMENTS.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    producer = contract_env.producer()
    for event in sent:
        producer.produce(topic, encoder.encode(topic, RECORD, event), key=sku)
    assert producer.flush(30) == 0

    expected = reference(sent)[sku]
    keys = {f"{sku}@{loc}" for loc in expected.levels}
    deadline = time.monotonic() + 60
    levels: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        levels = latest_by_key(
            contract_env, STOCK_LEVEL_VIEW.physical(contract_env.prefix), keys, 20
        )
        if all(
            levels.get(f"{sku}@{loc}", {}).get("version") == lv.version
            for loc, lv in expected.levels.items()
        ):
            break
    for location, level in expected.levels.items():
        got = levels[f"{sku}@{location}"]
        assert (got["on_hand"], got["reserved"], got["available"]) == (
            level.on_hand,
            level.reserved,
            max(level.on_hand - level.reserved, 0),
        ), location
    assert (levels[f"{sku}@STORE-1"]["on_hand"], levels[f"{sku}@STORE-2"]["reserved"]) == (5, 5)

    totals = latest_by_key(contract_env, STOCK_TOTAL_VIEW.physical(contract_env.prefix), {sku})
    assert totals[sku] == {
        **model.total(expected.levels.values(), sku),
        "updated_at": totals[sku]["updated_at"],
    }

    api = httpx.get(f"{worker.url}/v1/stock/{sku}", timeout=10)
    assert api.status_code == 200, api.text
    assert api.json()["total"]["available"] == totals[sku]["available"]
    one = httpx.get(f"{worker.url}/v1/stock/{sku}/STORE-2", timeout=10)
    assert one.json()["reserved"] == 5


def test_bad_records_go_to_the_dead_letter_topic_and_neighbours_are_processed(
    contract_env: ContractEnv, worker: WorkerProcess
) -> None:
    sku = f"SKU-{uuid.uuid4().hex[:6]}"
    topic = STOCK_MOVEMENTS.physical(contract_env.prefix)
    encoder = FastEncoder(contract_env.client, contract_env.schema_set)
    good = encoder.encode(topic, RECORD, movement(11, sku, "STORE-9", "received", 7))
    negative = encoder.encode(topic, RECORD, movement(12, sku, "STORE-9", "received", -5))
    after = encoder.encode(topic, RECORD, movement(13, sku, "STORE-9", "sold", 2))
    corrupt = b"\x00\x7f\xff\xff\xf0garbage"  # a schema id nobody registered
    wrong_magic = b"\x07" + good[1:]
    producer = contract_env.producer()
    for value in (good, corrupt, negative, wrong_magic, after):
        producer.produce(topic, value, key=sku)
    assert producer.flush(30) == 0

    dlq = DEAD_LETTERS.physical(contract_env.prefix)
    letters = [
        m
        for m in consume_all(contract_env.consumer(dlq), 99, timeout_s=20)
        if m.key() == sku.encode()
    ]
    assert sorted(m.value() for m in letters) == sorted([corrupt, negative, wrong_magic])
    for letter in letters:
        headers = dict(letter.headers())
        assert headers["omni.source.topic"].decode() == topic
        assert int(headers["omni.source.offset"]) >= 0
        assert headers["omni.error.message"]
        assert headers["omni.processor"]
    reasons = {dict(m.headers())["omni.error.reason"].decode() for m in letters}
    assert reasons == {"unknown_schema_id", "invalid:bad_quantity", "bad_magic_byte"}

    levels = latest_by_key(
        contract_env, STOCK_LEVEL_VIEW.physical(contract_env.prefix), {f"{sku}@STORE-9"}
    )
    deadline = time.monotonic() + 30
    while levels[f"{sku}@STORE-9"]["on_hand"] != 5 and time.monotonic() < deadline:
        levels = latest_by_key(
            contract_env, STOCK_LEVEL_VIEW.physical(contract_env.prefix), {f"{sku}@STORE-9"}
        )
    assert levels[f"{sku}@STORE-9"]["on_hand"] == 5


def test_api_answers_404_and_400_with_messages(worker: WorkerProcess) -> None:
    missing = httpx.get(f"{worker.url}/v1/stock/SKU-NOPE-{uuid.uuid4().hex[:6]}", timeout=10)
    assert missing.status_code == 404
    assert "no stock known" in missing.json()["error"]
    bad = httpx.get(f"{worker.url}/v1/stock/%20bad%20sku", timeout=10)
    assert bad.status_code == 400
    assert "malformed" in bad.json()["error"]


def test_metrics_count_outcomes(worker: WorkerProcess) -> None:
    deadline = time.monotonic() + 20
    text = ""
    while time.monotonic() < deadline:
        text = httpx.get(f"{worker.url}/metrics", timeout=10).text
        if 'omni_table_keys{table="stock_by_sku"}' in text:
            break
        time.sleep(1)
    values = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("omni_") and " " in line
    }
    applied = [
        v
        for k, v in values.items()
        if k.startswith("omni_events_processed_total") and 'outcome="apply"' in k
    ]
    assert sum(applied) >= 6
    assert any(
        k.startswith("omni_events_processed_total") and 'outcome="duplicate"' in k for k in values
    )
    assert sum(v for k, v in values.items() if k.startswith("omni_dead_letters_total")) >= 3
    assert values['omni_table_keys{table="stock_by_sku"}'] >= 2
    assert any(k.startswith("omni_consumer_lag_records") for k in values)
    assert values['omni_processing_latency_seconds_count{view="stock-levels"}'] >= 1
