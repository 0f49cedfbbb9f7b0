"""The simulated retailer: SKUs, stores, prices and customers, all derived from one seed.

Every id is a function of the seed (``s42`` is in every id of seed 42), so
two runs with one seed describe the same people buying the same things, and
two seeds never collide. Random choices come from ``random.Random`` seeded
with a string, which Python hashes with SHA-512: the same on every machine
and independent of ``PYTHONHASHSEED``.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass

from connectors.core.events import sha256_email, sha256_phone

NAMESPACE = uuid.UUID("0b6c1f9e-2f4d-5a8b-9c3e-7d1a2b3c4d5e")
FIRST_NAMES = ("Alex", "Sam", "Robin", "Kim", "Noa", "Mika", "Jo", "Toni", "Luca", "Ari")
CATEGORIES = ("shoes", "jackets", "shirts", "bags", "outdoor", "kids")
STORE_COUNT = 3


def det_uuid(*parts: object) -> str:
    """A UUID that is a pure function of ``parts``."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(part) for part in parts)))


@dataclass(frozen=True, slots=True)
class Product:
    sku: str
    name: str
    category: str
    price_minor: int


@dataclass(frozen=True, slots=True)
class Customer:
    """One simulated person and every identifier channels will know them by."""

    index: int
    customer_id: str
    first_name: str
    email: str
    phone: str
    loyalty_id: str
    web_anonymous_id: str
    app_anonymous_id: str
    app_device_id: str
    home_store: str

    @property
    def email_sha256(self) -> str:
        return sha256_email(self.email)

    @property
    def phone_sha256(self) -> str:
        return sha256_phone(self.phone)


@dataclass(frozen=True, slots=True)
class World:
    seed: int
    tag: str
    products: tuple[Product, ...]
    stores: tuple[str, ...]
    warehouse: str
    customers: tuple[Customer, ...]

    @property
    def skus(self) -> tuple[str, ...]:
        return tuple(product.sku for product in self.products)


def _products(seed: int, tag: str, count: int) -> tuple[Product, ...]:
    rng = random.Random(f"{seed}/catalogue")
    out = []
    for k in range(1, count + 1):
        category = rng.choice(CATEGORIES)
        price = rng.randrange(9, 200) * 100 + rng.choice((0, 50, 90, 95, 99))
        out.append(Product(f"SKU-{tag}-{k:03d}", f"{category} {k}", category, price))
    return tuple(out)


def _customer(seed: int, tag: str, index: int, stores: tuple[str, ...]) -> Customer:
    rng = random.Random(f"{seed}/customer/{index}")
    number = f"{index:05d}"
    digits = (seed * 1_000_003 + index) % 10**9
    return Customer(
        index=index,
        customer_id=f"C-{tag}-{number}",
        first_name=rng.choice(FIRST_NAMES),
        email=f"c{number}.{tag}@example.com",
        phone=f"+4915{digits:09d}",
        loyalty_id=f"L-{tag}-{number}",
        web_anonymous_id=det_uuid(seed, index, "web"),
        app_anonymous_id=det_uuid(seed, index, "app"),
        app_device_id=det_uuid(seed, index, "device"),
        home_store=rng.choice(stores),
    )


def build(seed: int, customers: int) -> World:
    """The world of ``seed`` with ``customers`` people and a catalogue sized to them."""
    tag = f"s{seed}"
    stores = tuple(f"STORE-{tag}-{n}" for n in range(1, STORE_COUNT + 1))
    products = _products(seed, tag, max(8, min(60, customers)))
    people = tuple(_customer(seed, tag, i, stores) for i in range(1, customers + 1))
    return World(seed, tag, products, stores, f"WH-{tag}", people)
