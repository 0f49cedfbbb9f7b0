"""The Segment-compatible web and app collector (registry name ``collector``).

Browsers (analytics.js), apps and servers send Segment's Tracking API calls;
the collector authenticates the write key, maps each call to the contract's
Avro events (``mapping`` and ``ecommerce``, pure) and answers 200 once Kafka
acknowledged them. ``server`` is the HTTP side, ``body`` reads requests.
"""

from connectors.collector.server import Collector, create

__all__ = ["Collector", "create"]
