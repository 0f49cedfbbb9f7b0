"""What every baseline shares: the job, Avro decoding, the stock and cart rules, the result.

Baselines run as subprocesses (the Quix one in its own virtualenv, see
:mod:`tests.bench.baselines.quix`), so this module imports only the standard
library, fastavro, orjson and the pure rule modules of ``streams``: no Faust,
no confluent-kafka schema-registry client.

The rules are ours (:mod:`streams.stock.rules`, :mod:`streams.carts.rules`),
called the obvious way: state as a JSON dict in the table, one fold per event,
one view record per change, JSON views. Interactions, identity and order
events are decoded and dropped: the baselines implement only stock and carts,
so they do less work per event than our processors (which resolve identities,
re-key, keep contexts and run the order saga).
"""

from __future__ import annotations

import io
import json
import os
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import fastavro

from streams.carts import model as cart_model
from streams.carts import rules as cart_rules
from streams.common.outcome import Applied
from streams.stock import model as stock_model
from streams.stock import rules as stock_rules

STOCK_RECORD = "omni.inventory.StockMovement"
CART_PREFIX = "omni.cart."
View = tuple[str, dict[str, Any]]  # (view topic role, value): key is inside the value


@dataclass(frozen=True)
class Job:
    """What the driver hands a baseline process (as JSON in ``BENCH_JOB``)."""

    bootstrap: str
    registry: str
    app_id: str
    stock_topic: str
    cart_topic: str
    other_topics: list[str]
    views: dict[str, str]  # role ("levels", "totals", "carts") -> topic
    total: int
    data_dir: str
    result: str
    web_port: int = 0

    @classmethod
    def from_env(cls) -> Job:
        return cls(**json.loads(os.environ["BENCH_JOB"]))

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @property
    def sources(self) -> list[str]:
        return [self.stock_topic, self.cart_topic, *self.other_topics]


class WireDecoder:
    """Confluent wire format with fastavro; writer schemas fetched by id once, then cached."""

    def __init__(self, registry_url: str) -> None:
        self.url = registry_url.rstrip("/")
        self.schemas: dict[int, tuple[str, Any]] = {}

    def decode(self, data: bytes) -> tuple[str, dict[str, Any]]:
        schema_id = int.from_bytes(data[1:5], "big")
        known = self.schemas.get(schema_id)
        if known is None:
            known = self.schemas[schema_id] = self._fetch(schema_id)
        name, parsed = known
        value = fastavro.schemaless_reader(io.BytesIO(data[5:]), parsed, None)
        if not isinstance(value, dict):
            raise TypeError(f"schema {schema_id} does not describe a record")
        return name, value

    def _fetch(self, schema_id: int) -> tuple[str, Any]:
        with urllib.request.urlopen(f"{self.url}/schemas/ids/{schema_id}", timeout=10) as answer:
            schema = json.loads(json.loads(answer.read())["schema"])
        return f"{schema.get('namespace', '')}.{schema['name']}", fastavro.parse_schema(schema)


def fold_stock(state: dict[str, Any] | None, event: dict[str, Any]) -> tuple[Any, list[View]]:
    """The stock rule on a JSON state: new state and the level and total views it changed."""
    stock = stock_model.from_state_dict(state) if state else None
    outcome = stock_rules.apply(stock, STOCK_RECORD, event)
    if not isinstance(outcome, stock_rules.Moved):
        return state, []
    new = outcome.state
    views: list[View] = [
        ("levels", plain(stock_model.to_view(new.level(location)))) for location in outcome.changed
    ]
    views.append(("totals", plain(stock_model.total(new.levels.values(), new.sku))))
    return stock_model.to_state_dict(new), views


def fold_cart(
    state: dict[str, Any] | None, record: str, event: dict[str, Any]
) -> tuple[Any, list[View]]:
    """The cart rule on a JSON state: new state and the cart view."""
    cart = cart_model.from_state_dict(state) if state else None
    outcome = cart_rules.apply(cart, record, event)
    if not isinstance(outcome, Applied):
        return state, []
    view = cart_model.to_view(outcome.state)
    return cart_model.to_state_dict(outcome.state), [("carts", plain(view))] if view else []


def plain(view: dict[str, Any]) -> dict[str, Any]:
    """The view with its datetimes as epoch millis: plain JSON for any serializer."""
    out = dict(view)
    for name, value in view.items():
        if isinstance(value, datetime):
            out[name] = int(value.timestamp() * 1000)
        elif name == "items":
            out[name] = [plain(item) for item in value]
    return out


def view_key(role: str, view: dict[str, Any]) -> str:
    if role == "levels":
        return f"{view['sku']}@{view['location_id']}"
    if role == "totals":
        return str(view["sku"])
    return str(view["cart_key"])


class Progress:
    """Counts events; the first one starts the clocks (wall and this process's CPU)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.first = self.first_cpu = 0.0

    def add(self, n: int = 1) -> bool:
        """Count ``n`` events; True once all are done."""
        if not self.done:
            self.first, self.first_cpu = time.time(), time.process_time()
        self.done += n
        return self.done >= self.total

    def write(self, result: str, **extra: Any) -> None:
        report = {
            "events": self.done,
            "first": self.first,
            "last": time.time(),
            "cpu": time.process_time() - self.first_cpu,
            **extra,
        }
        partial = Path(f"{result}.partial")
        partial.write_text(json.dumps(report))
        partial.rename(result)  # atomic: the driver never reads half a file
