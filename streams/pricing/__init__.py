"""Prices: every worker keeps the whole price list, read from the compacted ``omni.pricing.prices``.

Carts are keyed by customer and prices by SKU, so a cart event cannot read a
co-partitioned price table. The price list is small (one entry per SKU) and
changes slowly, so each worker reads all of its partitions into memory (the
role of a global table) and the cart rules join against it by event time.
"""

from streams.pricing.book import PriceBook, PricePoint

__all__ = ["PriceBook", "PricePoint"]
