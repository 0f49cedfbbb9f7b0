"""Deterministic, realistic-looking sample records for every type of the contract.

Tests, the CLI and the simulator need a valid instance of any record without a
hand-written fixture per type; deriving samples from the schema gives a new
event type samples for free. The same ``(type, seed)`` always gives the same
record, so a failure reproduces, and different seeds give different ids, so
samples do not collide as duplicates in idempotent consumers.

Values are chosen by field name (``sku`` looks like ``SKU-000123``, a
``location_id`` like ``STORE-007``, hashes are 64 hex characters) and then made
coherent where a reader would notice (totals add up, ``available`` is
``on_hand - reserved``, a promotion ends after it starts).
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from schemas.avro import PRIMITIVES, SchemaSet, load_schema_set, qualify
from schemas.exceptions import SchemaError
from schemas.models import model_for, to_avro

__all__ = ["BASE_TIME", "sample", "sample_event"]

BASE_TIME = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
FALLBACK_SYMBOL = "unknown"

_CHOICES: dict[str, list[str]] = {
    "source": ["web-collector", "app-collector", "pos-store-007", "service-desk", "erp"],
    "product_name": ["Trail Runner 2", "Merino Crew Sweater", "Canvas Tote", "Rain Shell"],
    "title": ["Trail Runner 2 | Omni Shop", "Running shoes | Omni Shop", "Your basket"],
    "category": ["shoes/running", "apparel/knitwear", "bags", "outdoor/jackets"],
    "query": ["trail shoes", "merino", "rain jacket size m", "gift card"],
    "screen_name": ["Home", "ProductDetail", "Basket", "OrderTracking"],
    "referrer": [
        "https://www.google.com/",
        "https://www.instagram.com/",
        "https://news.example.org/",
    ],
    "carrier": ["dhl", "ups", "dpd", "gls"],
    "payment_method": ["card", "paypal", "klarna", "gift_card"],
    "legal_basis": ["consent", "legitimate_interest", "contract"],
    "requested_by": ["agent-042", "agent-117", "privacy-team"],
    "type": ["ProductViewed", "PageViewed", "CartItemAdded", "OrderPlaced", "CaseOpened"],
    "subject": ["Where is my order?", "Return label missing", "Size advice"],
    "body": ["Hi, my parcel has not arrived yet.\nOrdered last week.", "Thanks, sorted!"],
    "last_message": ["Hi, my parcel has not arrived yet.", "Thanks, sorted!"],
    "summary": ["viewed SKU-000123 Trail Runner 2", "added 2 x SKU-000456 to cart"],
    "resolution": ["Parcel re-sent", "Refund issued", "Advice given"],
    "comment": ["Quick and friendly", "Took too long"],
    "reason": ["customer_request", "wrong_size", "duplicate_profile"],
    "PromotionUpdated.name": ["Spring Sale", "Members Week", "Outdoor -20%"],
    "InteractionTracked.name": ["wishlist_added", "store_locator_opened", "size_guide_opened"],
    "ProfilesUnmergeRequested.reason": ["shared family tablet", "mistyped loyalty number"],
}
_MAPS: dict[str, dict[str, str]] = {
    "traits": {"first_name": "Alex", "preferred_store": "STORE-007", "tier": "gold"},
    "properties": {"button": "wishlist", "sku": "SKU-000123"},
}
_INT_RANGES: dict[str, tuple[int, int]] = {
    "quantity": (1, 5),
    "score": (1, 5),
    "duration_s": (30, 1200),
    "result_count": (0, 120),
    "discount_bp": (500, 3000),
    "on_hand": (0, 200),
    "reserved": (0, 20),
    "locations": (1, 40),
    "order_count": (1, 25),
    "sequence": (1, 10_000),
    "version": (1, 1000),
}
_TOKEN_PREFIXES = {"anonymous_id": "anon", "device_id": "dev", "session_id": "sess"}
_ALWAYS_NULL = frozenset({"merged_into"})


def _singular(name: str) -> str:
    """``skus`` -> ``sku``: array elements are sampled like a field of the singular name."""
    return name[:-1] if name.endswith("s") else name


class _Sampler:
    def __init__(self, schema_set: SchemaSet, rng: random.Random, minimal: bool) -> None:
        self.schema_set = schema_set
        self.rng = rng
        self.minimal = minimal

    def record(self, fullname: str) -> dict[str, Any]:
        schema = self.schema_set.raw(fullname)
        namespace, _, short = fullname.rpartition(".")
        out: dict[str, Any] = {}
        for field in schema["fields"]:
            name = field["name"]
            if "default" in field and (self.minimal or name in _ALWAYS_NULL):
                out[name] = field["default"]
            else:
                out[name] = self.value(field["type"], namespace, name, short)
        return _cohere(out)

    def value(self, node: Any, namespace: str, name: str, record: str) -> Any:
        if isinstance(node, list):
            branches = [b for b in node if b != "null"] or node
            return self.value(branches[0], namespace, name, record)
        if isinstance(node, str) and node not in PRIMITIVES:
            return self.named(qualify(node, namespace))
        if isinstance(node, str):
            return self.primitive(node, name, record)
        kind, logical = node["type"], node.get("logicalType")
        if kind == "array":
            count = self.rng.randint(1, 3)
            item = _singular(name)
            return [self.value(node["items"], namespace, item, record) for _ in range(count)]
        if kind == "map":
            canned = _MAPS.get(name, {"key": "value"})
            if node["values"] == "string":
                return dict(canned)
            return {k: self.value(node["values"], namespace, k, record) for k in canned}
        if logical == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if logical in ("timestamp-millis", "timestamp-micros"):
            return BASE_TIME + timedelta(seconds=self.rng.randint(0, 30 * 24 * 3600))
        return self.value(kind, namespace, name, record)

    def named(self, fullname: str) -> Any:
        schema = self.schema_set.raw(fullname)
        if schema["type"] == "enum":
            symbols = [s for s in schema["symbols"] if s != FALLBACK_SYMBOL] or schema["symbols"]
            return self.rng.choice(symbols)
        if schema["type"] == "fixed":
            return self.rng.randbytes(schema["size"])
        return self.record(fullname)

    def primitive(self, kind: str, name: str, record: str) -> Any:
        if kind == "string":
            return self.string(name, record)
        if kind in ("int", "long"):
            low, high = _INT_RANGES.get(
                name, (199, 49_999) if name.endswith("_minor") else (0, 100)
            )
            return self.rng.randint(low, high)
        if kind == "boolean":
            return False if name == "erased" else self.rng.random() < 0.8
        if kind in ("float", "double"):
            return round(self.rng.uniform(0, 100), 2)
        if kind == "bytes":
            return self.rng.randbytes(8)
        return None

    def string(self, name: str, record: str) -> str:
        rng = self.rng
        n = rng.randint(1, 999_999)
        choices = _CHOICES.get(f"{record}.{name}") or _CHOICES.get(name)
        if choices:
            return rng.choice(choices)
        if name == "currency":
            return "EUR"
        if name == "sku":
            return f"SKU-{n:06d}"
        if name.endswith("location_id"):
            return f"STORE-{rng.randint(1, 40):03d}"
        if name in ("customer_id", "cart_key"):
            return f"CUST-{n:08d}"
        if name in _TOKEN_PREFIXES:
            return f"{_TOKEN_PREFIXES[name]}-{rng.getrandbits(48):012x}"
        if name == "correlation_id":
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))
        if name == "email_sha256":
            return hashlib.sha256(f"customer{n}@example.com".encode()).hexdigest()
        if name == "phone_sha256":
            return hashlib.sha256(f"+49151{n:07d}".encode()).hexdigest()
        if name == "loyalty_id":
            return f"LOY-{n:010d}"
        if name == "url":
            return f"https://shop.example.com/p/sku-{n:06d}?utm_source=newsletter"
        if name == "path":
            return f"/p/sku-{n:06d}"
        if name.endswith("_id"):
            return f"{name.removesuffix('_id').upper()}-{n:06d}"
        return f"{name}-{n}"


def _cohere(rec: dict[str, Any]) -> dict[str, Any]:
    """Make numbers that a human reader would cross-check agree with each other."""
    lines = rec.get("lines") or rec.get("items")
    if isinstance(lines, list) and "total_minor" in rec:
        rec["total_minor"] = sum(
            (ln.get("unit_price_minor") or 0) * ln.get("quantity", 0) for ln in lines
        )
        if "item_count" in rec:
            rec["item_count"] = sum(ln.get("quantity", 0) for ln in lines)
    if {"on_hand", "reserved", "available"} <= rec.keys():
        rec["reserved"] = min(rec["reserved"], rec["on_hand"])
        rec["available"] = rec["on_hand"] - rec["reserved"]
    if isinstance(rec.get("starts_at"), datetime) and rec.get("ends_at") is not None:
        rec["ends_at"] = rec["starts_at"] + timedelta(days=14)
    if isinstance(rec.get("url"), str) and isinstance(rec.get("path"), str):
        rec["path"] = urlsplit(rec["url"]).path
    return rec


def sample(fullname: str, seed: int = 0, *, minimal: bool = False) -> dict[str, Any]:
    """A valid Avro record (as fastavro's writer takes it) of any record type.

    ``minimal`` leaves every field that has a default at its default: the
    smallest record a producer may send.
    """
    schema_set = load_schema_set()
    if fullname not in schema_set.records():
        raise SchemaError(f"{fullname!r} is not a record of the contract")
    rng = random.Random(f"{fullname}:{seed}")
    return _Sampler(schema_set, rng, minimal).record(fullname)


def sample_event(fullname: str, seed: int = 0, **envelope_overrides: Any) -> dict[str, Any]:
    """A sample event whose envelope fields are replaced by ``envelope_overrides``.

    The result goes through the event's model, so overrides are validated
    (``channel="web"``, ``occurred_at`` as ISO text or epoch millis) and come
    out in the form fastavro writes.
    """
    record = sample(fullname, seed)
    envelope = record.get("envelope")
    if not isinstance(envelope, dict):
        raise SchemaError(f"{fullname} is not an event: it has no envelope")
    unknown = sorted(set(envelope_overrides) - set(envelope))
    if unknown:
        raise TypeError(f"not fields of the envelope: {', '.join(unknown)}")
    envelope.update(envelope_overrides)
    return to_avro(model_for(fullname).model_validate(record))
