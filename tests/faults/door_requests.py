"""Row 5c's requests: good ones from known customers, bad ones of every kind the doors refuse.

Good collector requests name their customer by ``userId`` only and carry UUID
``messageId``s and explicit timestamps, so every event id is known before the
request is sent (the collector keeps a UUID ``messageId`` as the event id) and
the harness's replay can compute every view: no e-mail or anonymous id the
identity stage could link, nothing that depends on the collector's clock.
Good service-desk requests name no customer, so they change the cases table
only (read back through the worker's case query), never a context the replay
does not know.

Each bad kind has one right answer (:data:`BAD`): 413 for Segment's limits,
400 for bodies and fields (and the body is dead-lettered whole), 401 for
credentials. Bad requests carry message ids too, for the events in them that
look fine, so the row can check that nothing of a refused request got in.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import orjson

from connectors.collector.server import BATCH_ROUTES, SINGLE_ROUTES
from connectors.core.events import event_id_for
from connectors.servicedesk.server import ROUTE as DESK_ROUTE
from connectors.servicedesk.signature import SIGNATURE_HEADER, signed_headers
from schemas.samples import BASE_TIME
from tests.integration.connectors.collector_process import APP_KEY, WEB_KEY, basic_auth
from tests.integration.connectors.connector_process import DESK_SECRET

COLLECTOR = "collector"
DESK = "servicedesk"
GOOD = "good"


@dataclass(frozen=True)
class Kind:
    """What a bad kind must be answered: its status, and whether its body is dead-lettered."""

    status: int
    dead_lettered: bool


BAD: dict[str, Kind] = {
    "oversize_event": Kind(413, dead_lettered=False),
    "oversize_batch": Kind(413, dead_lettered=False),
    "bad_json": Kind(400, dead_lettered=True),
    "missing_field": Kind(400, dead_lettered=True),
    "wrong_type": Kind(400, dead_lettered=True),
    "no_write_key": Kind(401, dead_lettered=False),
    "wrong_write_key": Kind(401, dead_lettered=False),
    "bad_hmac": Kind(401, dead_lettered=False),  # the service desk's
}


@dataclass(frozen=True)
class DoorRequest:
    """One HTTP request to a door; ``event_ids`` are the events it names (good or not)."""

    door: str
    kind: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    event_ids: tuple[str, ...] = ()
    case_id: str | None = None

    @property
    def bad(self) -> bool:
        return self.kind != GOOD


@dataclass(frozen=True)
class Limits:
    """Segment's limits as the collector is configured: per event and per request."""

    event_bytes: int
    batch_bytes: int


class Builder:
    """Makes the row's requests; every id, customer and time comes from one seeded ``Random``."""

    def __init__(self, seed: int, customers: int, limits: Limits, desk_source: str) -> None:
        self.rng = random.Random(seed)
        self.tag = f"{seed:x}"
        self.customers = [f"CUST-H{self.tag}-{n:03d}" for n in range(customers)]
        self.limits = limits
        self.desk_source = desk_source
        self.clock = BASE_TIME
        self.cases = 0

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def stamp(self) -> str:
        self.clock += timedelta(seconds=1)
        return self.clock.isoformat()

    # -- good ---------------------------------------------------------------------------

    def message(self) -> dict[str, Any]:
        """One Segment message the replay folds: a page, a screen, a view, an add or a custom."""
        sku = f"SKU-H{self.tag}-{self.rng.randrange(8)}"
        kinds: list[dict[str, Any]] = [
            {"type": "page", "properties": {"url": f"https://shop.example/p/{sku}", "title": sku}},
            {"type": "screen", "name": "Cart"},
            {"type": "track", "event": "Product Viewed", "properties": {"sku": sku, "price": 12.5}},
            {"type": "track", "event": "Product Added",
             "properties": {"sku": sku, "quantity": self.rng.randint(1, 3), "price": 12.5}},
            {"type": "track", "event": "Wishlist Opened", "properties": {"list": "default"}},
        ]  # fmt: skip
        chosen = self.rng.choice(kinds)
        user = self.rng.choice(self.customers)
        return {**chosen, "userId": user, "messageId": self.uid(), "timestamp": self.stamp()}

    def good_collector(self) -> DoorRequest:
        """One call on its own path, or a batch of 2-4; the write key in the header or the body."""
        if self.rng.random() < 0.5:
            message = self.message()
            payload: dict[str, Any] = message
            path, messages = self.rng.choice(SINGLE_ROUTES[message["type"]]), [message]
        else:
            messages = [self.message() for _ in range(self.rng.randint(2, 4))]
            payload, path = {"batch": messages}, self.rng.choice(BATCH_ROUTES)
        if self.rng.random() < 0.3:  # the app's key, in the body as analytics.js sends one
            return self._collector(GOOD, path, {**payload, "writeKey": APP_KEY}, messages, {})
        return self._collector(GOOD, path, payload, messages)

    def _collector(
        self,
        kind: str,
        path: str,
        payload: dict[str, Any],
        messages: list[dict[str, Any]],
        headers: dict[str, str] | None = None,
    ) -> DoorRequest:
        """A collector request, by default with the web key as Basic auth."""
        auth = {"Authorization": basic_auth(WEB_KEY)} if headers is None else headers
        ids = tuple(str(m["messageId"]) for m in messages)
        return DoorRequest(COLLECTOR, kind, path, orjson.dumps(payload), auth, ids)

    def good_desk(self) -> DoorRequest:
        """A case opened and its first message, naming no customer."""
        self.cases += 1
        case_id = f"CASE-H{self.tag}-{self.cases:03d}"
        opened = {"id": f"{case_id}-1", "type": "case.opened", "occurred_at": self.stamp(),
                  "case_id": case_id, "subject": f"Parcel {case_id}"}  # fmt: skip
        message = {"id": f"{case_id}-2", "type": "case.message", "occurred_at": self.stamp(),
                   "case_id": case_id, "author": "customer", "body": "Where?"}  # fmt: skip
        return self._desk(GOOD, {"events": [opened, message]}, case_id)

    def _desk(
        self, kind: str, payload: dict[str, Any], case_id: str, secret: str = DESK_SECRET
    ) -> DoorRequest:
        """Signed now: the desk allows five minutes of skew, the row sends within seconds."""
        body = orjson.dumps(payload)
        ids = tuple(event_id_for(self.desk_source, e["id"]) for e in payload["events"])
        headers = signed_headers(secret, body, time.time())
        return DoorRequest(DESK, kind, DESK_ROUTE, body, headers, ids, case_id)

    # -- bad: one maker per kind, its variants by number --------------------------------

    def bad(self, kind: str, variant: int) -> DoorRequest:
        return MAKERS[kind](self, variant % 3)

    def oversize_event(self, variant: int) -> DoorRequest:
        blob = {"blob": "x" * (self.limits.event_bytes + 1)}
        big = {**self.message(), "type": "track", "event": "Blob", "properties": blob}
        if variant == 0:
            return self._collector("oversize_event", "/v1/track", big, [big])
        batch = [self.message(), big]
        return self._collector("oversize_event", "/v1/batch", {"batch": batch}, batch)

    def oversize_batch(self, _variant: int) -> DoorRequest:
        """Every event under the per-event limit, all of them together over the batch limit."""
        share = self.limits.event_bytes // 2
        count = self.limits.batch_bytes // share + 2
        batch = [
            {**self.message(), "type": "track", "event": "Blob", "properties": {"b": "x" * share}}
            for _ in range(count)
        ]
        return self._collector("oversize_batch", "/v1/batch", {"batch": batch}, batch)

    def bad_json(self, variant: int) -> DoorRequest:
        message = self.message()
        bodies = (
            orjson.dumps({"batch": [message]})[:-7],
            b"{not json " + orjson.dumps(message),
            orjson.dumps([message]),
        )
        auth = {"Authorization": basic_auth(WEB_KEY)}  # with a key: the body is dead-lettered
        ids = (str(message["messageId"]),)
        return DoorRequest(COLLECTOR, "bad_json", "/v1/batch", bodies[variant], auth, ids)

    def missing_field(self, variant: int) -> DoorRequest:
        good, bad = self.message(), self.message()
        if variant == 0:
            bad = {**bad, "type": "track"}
            bad.pop("event", None)
        else:
            bad.pop("userId" if variant == 1 else "type")
        batch = [good, bad]
        return self._collector("missing_field", "/v1/batch", {"batch": batch}, batch)

    def wrong_type(self, variant: int) -> DoorRequest:
        good, bad = self.message(), self.message()
        if variant == 0:
            bad = {**bad, "type": "track", "event": "Product Added",
                   "properties": {"sku": "SKU-X", "quantity": "two"}}  # fmt: skip
        elif variant == 1:
            bad["userId"] = {"id": 1}
        else:
            bad["timestamp"] = 1_741_944_600
        batch = [good, bad]
        return self._collector("wrong_type", "/v1/batch", {"batch": batch}, batch)

    def no_write_key(self, variant: int) -> DoorRequest:
        """No header and no ``writeKey``, or Basic auth with an empty user name."""
        batch = [self.message()]
        headers = {"Authorization": basic_auth("")} if variant == 1 else {}
        return self._collector("no_write_key", "/v1/batch", {"batch": batch}, batch, headers)

    def wrong_write_key(self, variant: int) -> DoorRequest:
        """An unknown key in the header or in the body, or a key under the wrong scheme."""
        batch = [self.message()]
        payload: dict[str, Any] = {"batch": batch}
        headers = {"Authorization": f"Bearer {WEB_KEY}"}
        if variant == 0:
            headers = {"Authorization": basic_auth(f"wk-{self.uid()}")}
        elif variant == 1:
            payload, headers = {**payload, "writeKey": f"wk-{self.uid()}"}, {}
        return self._collector("wrong_write_key", "/v1/batch", payload, batch, headers)

    def bad_hmac(self, variant: int) -> DoorRequest:
        """Signed with a wrong secret, signed over other bytes, or not signed at all."""
        good = self.good_desk()
        if variant == 0:
            assert good.case_id is not None
            wrong = f"not-{DESK_SECRET}"
            return self._desk("bad_hmac", orjson.loads(good.body), good.case_id, wrong)
        if variant == 1:
            return replace(good, kind="bad_hmac", body=good.body.replace(b"Where?", b"Where!"))
        unsigned = {k: v for k, v in good.headers.items() if k != SIGNATURE_HEADER}
        return replace(good, kind="bad_hmac", headers=unsigned)


MAKERS: dict[str, Callable[[Builder, int], DoorRequest]] = {
    "oversize_event": Builder.oversize_event,
    "oversize_batch": Builder.oversize_batch,
    "bad_json": Builder.bad_json,
    "missing_field": Builder.missing_field,
    "wrong_type": Builder.wrong_type,
    "no_write_key": Builder.no_write_key,
    "wrong_write_key": Builder.wrong_write_key,
    "bad_hmac": Builder.bad_hmac,
}


def interleave(
    rng: random.Random, goods: list[DoorRequest], bads: list[DoorRequest]
) -> list[DoorRequest]:
    """Bad requests at random places among the good ones, whose order is kept."""
    out = list(goods)
    for request in bads:
        out.insert(rng.randrange(len(out) + 1), request)
    return out
