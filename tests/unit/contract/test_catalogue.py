"""The catalogue is the one place topics are declared; these tests keep it honest."""

from __future__ import annotations

import re

import pytest

from schemas.avro import load_schema_set
from schemas.catalogue import (
    ALL_TOPICS,
    CART_EVENTS,
    STOCK_LEVEL_VIEW,
    KeyRule,
    TopicKind,
    all_records,
    resolve_record_name,
    subject_for,
    topic,
    topic_for_record,
)
from schemas.exceptions import CatalogueError

EVENT_NAMESPACES = ("customer", "cart", "order", "inventory", "service", "pricing")


def test_topic_names_follow_the_naming_rule() -> None:
    for t in ALL_TOPICS:
        if t.kind is TopicKind.DLQ:
            assert t.name == "omni.dlq"
        elif t.kind is TopicKind.VIEW:
            assert re.fullmatch(r"omni\.view\.[a-z-]+", t.name), t.name
        else:
            assert re.fullmatch(r"omni\.[a-z]+\.[a-z-]+", t.name), t.name


def test_names_are_unique_and_every_record_has_one_topic() -> None:
    names = [t.name for t in ALL_TOPICS]
    assert len(names) == len(set(names))
    records = all_records()
    assert len(records) == len(set(records)), "a record is carried by two topics"


def test_every_catalogue_record_exists_in_schemas() -> None:
    known = set(load_schema_set().records())
    missing = [r for r in all_records() if r not in known]
    assert missing == []


def test_every_event_and_view_record_is_on_a_topic() -> None:
    schema_set = load_schema_set()
    carried = set(all_records())
    orphans = [
        name
        for name in schema_set.records()
        if name.split(".")[1] in EVENT_NAMESPACES
        and schema_set.raw(name)["fields"][0]["name"] == "envelope"
        and name not in carried
    ]
    assert orphans == []
    views = {"omni.view.CustomerContext", "omni.view.CartView", "omni.view.OrderView"}
    assert views <= carried


def test_views_are_compacted_and_events_are_not() -> None:
    for t in ALL_TOPICS:
        conf = t.config()
        if t.kind in (TopicKind.VIEW, TopicKind.REFERENCE):
            assert conf["cleanup.policy"] == "compact"
            assert conf["retention.ms"] == "-1"
        else:
            assert conf["cleanup.policy"] == "delete"
            assert int(conf["retention.ms"]) > 0


def test_cart_key_prefers_customer_then_anonymous() -> None:
    ids = {"customer_id": None, "anonymous_id": "anon-1"}
    assert CART_EVENTS.key is not None
    assert CART_EVENTS.key.key_of({"envelope": {"identifiers": ids}}) == "anon-1"
    ids["customer_id"] = "C-9"
    assert CART_EVENTS.key.key_of({"envelope": {"identifiers": ids}}) == "C-9"


def test_stock_level_key_joins_sku_and_location() -> None:
    assert STOCK_LEVEL_VIEW.key is not None
    assert (
        STOCK_LEVEL_VIEW.key.key_of({"sku": "SKU-1", "location_id": "STORE-2"}) == "SKU-1@STORE-2"
    )
    with pytest.raises(CatalogueError, match="not all set"):
        STOCK_LEVEL_VIEW.key.key_of({"sku": "SKU-1"})


def test_missing_key_is_a_contract_error() -> None:
    rule = KeyRule(paths=("a.b", "c"), doc="")
    with pytest.raises(CatalogueError, match=r"none of a\.b, c"):
        rule.key_of({"a": {"b": ""}})


def test_lookups() -> None:
    assert resolve_record_name("CartItemAdded") == "omni.cart.CartItemAdded"
    assert topic_for_record("OrderPlaced").name == "omni.order.events"
    assert topic("omni.view.carts").kind is TopicKind.VIEW
    assert subject_for("omni.cart.events", "omni.cart.CartCleared") == (
        "omni.cart.events-omni.cart.CartCleared"
    )
    with pytest.raises(CatalogueError, match="unknown event type"):
        resolve_record_name("NoSuchEvent")
    with pytest.raises(CatalogueError, match="unknown topic"):
        topic("omni.nope")


def test_prefix_moves_every_topic() -> None:
    assert {t.physical("t1.") for t in ALL_TOPICS} == {f"t1.{t.name}" for t in ALL_TOPICS}


def test_producers_partition_like_java_and_aiokafka() -> None:
    from schemas.settings import KafkaSettings

    conf = KafkaSettings().as_producer_dict()
    assert conf["partitioner"] == "murmur2_random"
    assert conf["acks"] == "all"
    assert conf["enable.idempotence"] is True
