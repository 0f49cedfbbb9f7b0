"""Bad records for row 5, made from good ones so they land among real traffic.

Undecodable bytes are checked against the project's own decoder before they
are sent: a flipped byte inside a string can still be valid Avro (just
different data), and such a record is not bad input but a different event.
Well-formed but invalid events keep an event id, so the replay can leave
exactly them out.
"""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from schemas.codec import HEADER, HEADER_SIZE, FastDecoder
from schemas.exceptions import DecodeError
from tests.faults.pump import Sendable
from tests.faults.workload import Outgoing

UNDECODABLE = ("flipped", "truncated", "unknown_schema_id", "wrong_magic", "tombstone")
UNKNOWN_SCHEMA_ID = 0x7FFF_FFF0
ATTEMPTS = 500


@dataclass(frozen=True, slots=True)
class Bad:
    """One bad record and what is wrong with it."""

    kind: str
    record: Sendable


def undecodable(decoder: FastDecoder, rng: random.Random, kind: str, good: Sendable) -> Bad:
    """``good``'s bytes damaged in the way ``kind`` names; never decodable."""
    assert good.value is not None
    value = good.value
    if kind == "tombstone":
        return Bad(kind, replace(good, value=None, event_id=None))
    if kind == "wrong_magic":
        damaged = bytes([1]) + value[1:]
    elif kind == "unknown_schema_id":
        damaged = HEADER.pack(0, UNKNOWN_SCHEMA_ID) + value[HEADER_SIZE:]
    elif kind == "truncated":
        damaged = _until_undecodable(decoder, lambda: value[: rng.randrange(1, len(value))])
    elif kind == "flipped":
        damaged = _until_undecodable(decoder, lambda: _flip(rng, value))
    else:
        raise ValueError(f"unknown kind of bad bytes: {kind}")
    return Bad(kind, replace(good, value=damaged, event_id=None))


def _flip(rng: random.Random, value: bytes) -> bytes:
    position = rng.randrange(HEADER_SIZE, len(value))
    data = bytearray(value)
    data[position] ^= rng.randrange(1, 256)
    return bytes(data)


def _until_undecodable(decoder: FastDecoder, make: Callable[[], bytes]) -> bytes:
    for _ in range(ATTEMPTS):
        candidate = make()
        try:
            decoder.decode(candidate)
        except DecodeError:
            return candidate
    raise AssertionError(f"no undecodable variant in {ATTEMPTS} attempts")


def fresh_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def invalid(rng: random.Random, kind: str, good: Outgoing) -> Outgoing:
    """A well-formed event the processors must refuse: a new id, one value made wrong."""
    value = copy.deepcopy(good.value)
    value["envelope"]["event_id"] = fresh_id(rng)
    value["envelope"]["sequence"] = None
    key = good.key
    if kind == "negative_quantity" and "lines" in value:
        value["lines"][0]["quantity"] = -1
        value["order_id"] = key = f"{good.key}-neg"
    elif kind == "negative_quantity":
        value["quantity"] = -rng.randint(1, 5)
    elif kind == "blank_sku":
        value["sku"] = key = ""
    elif kind == "blank_location":
        value["location_id"] = ""
    else:
        raise ValueError(f"unknown kind of invalid event: {kind}")
    return Outgoing(good.topic, good.record, key, value)
