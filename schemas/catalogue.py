"""The topic catalogue: every topic of the backbone, declared once.

Like ``Schemas.Topics`` in Kafka Streams' microservices example, each topic is a
typed value that names its key, the Avro records it carries, its partitions and
its cleanup policy. Producers, processors, connectors, ``omni topics apply``, the
AsyncAPI document and the README table all read this module, so a topic cannot
mean two things in two places.

Event topics carry several record types; each type is its own registry subject
(``TopicRecordNameStrategy``: ``<topic>-<record full name>``) so that channels can
evolve one event type without touching the others, and per-key ordering holds
across types because they share the topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from schemas.exceptions import CatalogueError

DAY_MS = 24 * 60 * 60 * 1000


class TopicKind(StrEnum):
    """What a topic is for; it decides the defaults of its configuration."""

    EVENTS = "events"
    VIEW = "view"
    REFERENCE = "reference"
    DLQ = "dlq"


@dataclass(frozen=True)
class KeyRule:
    """How the record key is derived from a value, so every producer keys alike.

    ``first_of`` takes the first non-empty dotted path; ``join`` joins all paths
    with ``separator`` (``sku@location``).
    """

    paths: tuple[str, ...]
    doc: str
    mode: str = "first_of"
    separator: str = "@"

    def key_of(self, value: Mapping[str, Any]) -> str:
        """The key for ``value``; a value with no usable key is a contract error."""
        parts = [_dig(value, path) for path in self.paths]
        if self.mode == "join":
            if any(part in (None, "") for part in parts):
                raise CatalogueError(f"cannot build key: {self.paths} not all set")
            return self.separator.join(str(part) for part in parts)
        for part in parts:
            if part not in (None, ""):
                return str(part)
        raise CatalogueError(f"cannot build key: none of {', '.join(self.paths)} is set")


def _dig(value: Mapping[str, Any], path: str) -> Any:
    current: Any = value
    for step in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(step)
    return current


@dataclass(frozen=True)
class Topic:
    """One Kafka topic: its name, key, value records and configuration."""

    name: str
    kind: TopicKind
    key: KeyRule | None
    records: tuple[str, ...]
    partitions: int
    doc: str
    publishers: tuple[str, ...]
    subscribers: tuple[str, ...]
    retention_ms: int = 7 * DAY_MS
    extra_config: Mapping[str, str] = field(default_factory=dict)

    @property
    def compacted(self) -> bool:
        return self.kind in (TopicKind.VIEW, TopicKind.REFERENCE)

    @property
    def cleanup_policy(self) -> str:
        return "compact" if self.compacted else "delete"

    def config(self, min_insync_replicas: int = 1) -> dict[str, str]:
        """Topic-level configs that ``omni topics apply`` enforces."""
        conf = {
            "cleanup.policy": self.cleanup_policy,
            "retention.ms": str(-1 if self.compacted else self.retention_ms),
            "min.insync.replicas": str(min_insync_replicas),
        }
        if self.compacted:
            conf["min.cleanable.dirty.ratio"] = "0.1"
            conf["delete.retention.ms"] = str(DAY_MS)
        conf.update(self.extra_config)
        return conf

    def carries(self, record: str) -> bool:
        return record in self.records

    def physical(self, prefix: str = "") -> str:
        """The name on the cluster: tests and tenants prepend a prefix."""
        return f"{prefix}{self.name}"


IDENTITY_KEY = KeyRule(
    paths=tuple(
        f"envelope.identifiers.{name}"
        for name in (
            "customer_id",
            "anonymous_id",
            "loyalty_id",
            "email_sha256",
            "phone_sha256",
            "device_id",
        )
    ),
    doc="the most stable identifier the channel knows: customer_id, else anonymous_id, "
    "loyalty_id, email_sha256, phone_sha256, device_id",
)
CART_KEY = KeyRule(
    paths=("envelope.identifiers.customer_id", "envelope.identifiers.anonymous_id"),
    doc="customer_id, or anonymous_id until the shopper is identified",
)


def _field_key(name: str, doc: str) -> KeyRule:
    return KeyRule(paths=(name,), doc=doc)


def _records(namespace: str, *names: str) -> tuple[str, ...]:
    return tuple(f"{namespace}.{name}" for name in names)


COLLECTOR = "connectors.collector"
POS = "connectors.pos"
SERVICE_DESK = "connectors.servicedesk"
INVENTORY_FEED = "connectors.inventory"
SIMULATOR = "connectors.simulator"
PROCESSORS = "streams"
WEBHOOK_SINK = "connectors.sinks.webhook"
POSTGRES_SINK = "connectors.sinks.postgres"
ANY_COMPONENT = "any component"
CHANNEL_READERS = "channel systems"
SINKS = (WEBHOOK_SINK, POSTGRES_SINK, CHANNEL_READERS)
EVENT_PARTITIONS = 6

CUSTOMER_INTERACTIONS = Topic(
    name="omni.customer.interactions",
    kind=TopicKind.EVENTS,
    key=IDENTITY_KEY,
    records=_records(
        "omni.customer",
        "PageViewed",
        "ScreenViewed",
        "ProductViewed",
        "ProductsSearched",
        "MessageSent",
        "MessageOpened",
        "MessageClicked",
        "InteractionTracked",
    ),
    partitions=EVENT_PARTITIONS,
    doc="What customers do on every channel: views, searches, messages and anything tracked.",
    publishers=(COLLECTOR, SIMULATOR),
    subscribers=(PROCESSORS,),
)
IDENTITY_EVENTS = Topic(
    name="omni.identity.events",
    kind=TopicKind.EVENTS,
    key=IDENTITY_KEY,
    records=_records(
        "omni.customer", "CustomerIdentified", "IdentifiersLinked", "ProfilesUnmergeRequested"
    ),
    partitions=EVENT_PARTITIONS,
    doc="Logins, aliases and loyalty scans that tie identifiers to one person; unmerge requests.",
    publishers=(COLLECTOR, POS, SIMULATOR),
    subscribers=(PROCESSORS,),
)
CONSENT_EVENTS = Topic(
    name="omni.consent.events",
    kind=TopicKind.EVENTS,
    key=IDENTITY_KEY,
    records=_records("omni.customer", "ConsentChanged", "ErasureRequested"),
    partitions=EVENT_PARTITIONS,
    doc="Consent per channel and purpose, and erasure requests.",
    publishers=(COLLECTOR, SERVICE_DESK, SIMULATOR),
    subscribers=(PROCESSORS,),
    retention_ms=30 * DAY_MS,
)
CART_EVENTS = Topic(
    name="omni.cart.events",
    kind=TopicKind.EVENTS,
    key=CART_KEY,
    records=_records(
        "omni.cart",
        "CartItemAdded",
        "CartItemRemoved",
        "CartItemQuantitySet",
        "CartCleared",
        "CartCheckedOut",
    ),
    partitions=EVENT_PARTITIONS,
    doc="Cart changes from any device; per-cart order is kept by the key.",
    publishers=(COLLECTOR, SIMULATOR),
    subscribers=(PROCESSORS,),
)
ORDER_EVENTS = Topic(
    name="omni.order.events",
    kind=TopicKind.EVENTS,
    key=_field_key("order_id", "order_id"),
    records=_records(
        "omni.order",
        "OrderPlaced",
        "OrderPaid",
        "OrderAllocated",
        "OrderReadyForPickup",
        "OrderPickedUp",
        "OrderShipped",
        "OrderDelivered",
        "OrderCancelled",
        "OrderReturned",
    ),
    partitions=EVENT_PARTITIONS,
    doc="The order lifecycle from every channel: placed, paid, picked up, shipped, returned.",
    publishers=(COLLECTOR, POS, SIMULATOR),
    subscribers=(PROCESSORS,),
    retention_ms=30 * DAY_MS,
)
STOCK_MOVEMENTS = Topic(
    name="omni.inventory.movements",
    kind=TopicKind.EVENTS,
    key=_field_key("sku", "sku, so every location of a SKU is on one partition"),
    records=_records("omni.inventory", "StockMovement"),
    partitions=EVENT_PARTITIONS,
    doc="Stock movements per SKU and location: received, sold, counted, transferred.",
    publishers=(INVENTORY_FEED, POS, SIMULATOR),
    subscribers=(PROCESSORS,),
    retention_ms=30 * DAY_MS,
)
SERVICE_CASES = Topic(
    name="omni.service.cases",
    kind=TopicKind.EVENTS,
    key=KeyRule(paths=("case_id", "call_id"), doc="case_id, or call_id for a call with no case"),
    records=_records(
        "omni.service",
        "CaseOpened",
        "CaseMessage",
        "CallStarted",
        "CallEnded",
        "CaseResolved",
        "CsatSubmitted",
    ),
    partitions=EVENT_PARTITIONS,
    doc="Service conversations from chat, phone, email and social: cases, messages, calls, CSAT.",
    publishers=(SERVICE_DESK, SIMULATOR),
    subscribers=(PROCESSORS,),
    retention_ms=30 * DAY_MS,
)
PRICES = Topic(
    name="omni.pricing.prices",
    kind=TopicKind.REFERENCE,
    key=_field_key("sku", "sku"),
    records=_records("omni.pricing", "PriceUpdated"),
    partitions=EVENT_PARTITIONS,
    doc="The current price of each SKU; compacted, so a new reader gets every price.",
    publishers=(INVENTORY_FEED, SIMULATOR),
    subscribers=(PROCESSORS,),
)
PROMOTIONS = Topic(
    name="omni.pricing.promotions",
    kind=TopicKind.REFERENCE,
    key=_field_key("promotion_id", "promotion_id"),
    records=_records("omni.pricing", "PromotionUpdated"),
    partitions=1,
    doc="Promotions and their SKUs; compacted.",
    publishers=(INVENTORY_FEED, SIMULATOR),
    subscribers=(PROCESSORS,),
)
CUSTOMER_CONTEXT_VIEW = Topic(
    name="omni.view.customer-context",
    kind=TopicKind.VIEW,
    key=_field_key("customer_id", "canonical customer id"),
    records=("omni.view.CustomerContext",),
    partitions=EVENT_PARTITIONS,
    doc="The single customer view; a merged-away id gets a redirect (merged_into) record.",
    publishers=(PROCESSORS,),
    subscribers=SINKS,
)
CART_VIEW = Topic(
    name="omni.view.carts",
    kind=TopicKind.VIEW,
    key=_field_key("cart_key", "customer_id, or anonymous_id before identification"),
    records=("omni.view.CartView",),
    partitions=EVENT_PARTITIONS,
    doc="Every cart as it is now; a cart merged into another is tombstoned.",
    publishers=(PROCESSORS,),
    subscribers=SINKS,
)
STOCK_LEVEL_VIEW = Topic(
    name="omni.view.stock-levels",
    kind=TopicKind.VIEW,
    key=KeyRule(paths=("sku", "location_id"), doc="sku@location_id", mode="join"),
    records=("omni.view.StockLevel",),
    partitions=EVENT_PARTITIONS,
    doc="On hand, reserved and available to promise per SKU and location.",
    publishers=(PROCESSORS,),
    subscribers=SINKS,
)
STOCK_TOTAL_VIEW = Topic(
    name="omni.view.stock-totals",
    kind=TopicKind.VIEW,
    key=_field_key("sku", "sku"),
    records=("omni.view.StockTotal",),
    partitions=EVENT_PARTITIONS,
    doc="Availability per SKU across all locations (endless aisle).",
    publishers=(PROCESSORS,),
    subscribers=SINKS,
)
ORDER_VIEW = Topic(
    name="omni.view.orders",
    kind=TopicKind.VIEW,
    key=_field_key("order_id", "order_id"),
    records=("omni.view.OrderView",),
    partitions=EVENT_PARTITIONS,
    doc="Each order's status, lines and history.",
    publishers=(PROCESSORS,),
    subscribers=SINKS,
)
STOCK_RESERVATIONS = Topic(
    name="omni.inventory.reservations",
    kind=TopicKind.EVENTS,
    key=_field_key("order_id", "order_id, so an order's answers share its events' partition"),
    records=_records("omni.inventory", "ReservationConfirmed", "ReservationRejected"),
    partitions=EVENT_PARTITIONS,
    doc="The stock processor's answers to order reservations: confirmed or rejected, per SKU.",
    publishers=(PROCESSORS,),
    subscribers=(PROCESSORS,),
    retention_ms=30 * DAY_MS,
)
IDENTITY_LINKS = Topic(
    name="omni.identity.links",
    kind=TopicKind.EVENTS,
    key=_field_key("identifier", "the identifier value the command is addressed to"),
    records=("omni.internal.IdentityCommand",),
    partitions=EVENT_PARTITIONS,
    doc="Internal: identity resolution steps (claims, merges, repoints, unmerges) between "
    "the resolver's partitions, keyed like the identity graph's links table.",
    publishers=(PROCESSORS,),
    subscribers=(PROCESSORS,),
)
CUSTOMER_BY_CANONICAL = Topic(
    name="omni.customer.by-canonical",
    kind=TopicKind.EVENTS,
    key=_field_key("canonical_id", "canonical customer id"),
    records=("omni.internal.ProfileCommand",),
    partitions=EVENT_PARTITIONS,
    doc="Internal: customer events re-keyed by canonical id (original Avro bytes, header "
    "omni.canonical-id) and profile commands (merges, unmerges, order and case summaries). "
    "Only what changes partition crosses it: a worker applies records that stay on their "
    "partition in process.",
    publishers=(PROCESSORS,),
    subscribers=(PROCESSORS,),
)
CUSTOMER_FACTS = Topic(
    name="omni.customer.facts",
    kind=TopicKind.EVENTS,
    key=IDENTITY_KEY,
    records=("omni.internal.CustomerFact",),
    partitions=EVENT_PARTITIONS,
    doc="Internal: order and case summaries for the customer context, keyed like customer events "
    "so the identity resolver routes them to the canonical profile.",
    publishers=(PROCESSORS,),
    subscribers=(PROCESSORS,),
)
DEAD_LETTERS = Topic(
    name="omni.dlq",
    kind=TopicKind.DLQ,
    key=None,
    records=(),
    partitions=1,
    doc="Records that could not be decoded or validated: original key and bytes, error headers.",
    publishers=(ANY_COMPONENT,),
    subscribers=("operators",),
    retention_ms=30 * DAY_MS,
)

ALL_TOPICS: tuple[Topic, ...] = (
    CUSTOMER_INTERACTIONS,
    IDENTITY_EVENTS,
    CONSENT_EVENTS,
    CART_EVENTS,
    ORDER_EVENTS,
    STOCK_MOVEMENTS,
    SERVICE_CASES,
    PRICES,
    PROMOTIONS,
    CUSTOMER_CONTEXT_VIEW,
    CART_VIEW,
    STOCK_LEVEL_VIEW,
    STOCK_TOTAL_VIEW,
    ORDER_VIEW,
    STOCK_RESERVATIONS,
    IDENTITY_LINKS,
    CUSTOMER_BY_CANONICAL,
    CUSTOMER_FACTS,
    DEAD_LETTERS,
)

# Headers every dead letter carries, after confluent-kafka's DLQ action.
DLQ_HEADERS = (
    "omni.error.type",
    "omni.error.message",
    "omni.source.topic",
    "omni.source.partition",
    "omni.source.offset",
    "omni.processor",
)


def topic(name: str) -> Topic:
    """The topic declared under ``name`` (without any deployment prefix)."""
    for candidate in ALL_TOPICS:
        if candidate.name == name:
            return candidate
    raise CatalogueError(f"unknown topic {name!r}; known: {', '.join(t.name for t in ALL_TOPICS)}")


def topic_for_record(record: str) -> Topic:
    """The one topic that carries ``record`` (full name, or the short name if unique)."""
    full = resolve_record_name(record)
    for candidate in ALL_TOPICS:
        if candidate.carries(full):
            return candidate
    raise CatalogueError(f"no topic carries {full!r}")


def all_records() -> tuple[str, ...]:
    """Every record some topic carries, in catalogue order."""
    return tuple(record for t in ALL_TOPICS for record in t.records)


def resolve_record_name(name: str) -> str:
    """Accept ``CartItemAdded`` as well as ``omni.cart.CartItemAdded``."""
    records = all_records()
    if name in records:
        return name
    matches = [r for r in records if r.rsplit(".", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CatalogueError(f"unknown event type {name!r}")
    raise CatalogueError(f"ambiguous event type {name!r}: {', '.join(matches)}")


def subject_for(topic_name: str, record: str) -> str:
    """The registry subject of ``record`` on ``topic_name`` (TopicRecordNameStrategy)."""
    return f"{topic_name}-{record}"
