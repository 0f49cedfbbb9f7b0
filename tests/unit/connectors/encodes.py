"""Shared check of the unit tests: a mapped value is what the contract accepts."""

from __future__ import annotations

import io

import fastavro

from connectors.core.events import Outgoing
from schemas.avro import load_schema_set
from schemas.catalogue import topic_for_record


def encodes(out: Outgoing) -> str:
    """The value fits its Avro schema and the catalogue can key it; returns the key."""
    fastavro.schemaless_writer(io.BytesIO(), load_schema_set().parsed(out.record), out.value)
    rule = topic_for_record(out.record).key
    assert rule is not None
    key = rule.key_of(out.value)
    assert key
    return key
