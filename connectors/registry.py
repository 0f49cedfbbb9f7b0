"""The one registry of connectors: a name, and where its factory lives.

Adding a channel is one module with a ``create(settings) -> Service`` factory
and one line below; ``omni connector list`` and ``omni connector run NAME``
read nothing else. Factories are imported only when their connector runs, so
one connector's dependencies never load in another's process.
"""

from __future__ import annotations

import importlib
from typing import cast

from connectors.core.exceptions import UnknownConnector
from connectors.core.runner import ServiceFactory

CONNECTORS: dict[str, str] = {
    "collector": "connectors.collector:create",
    "webhook-sink": "connectors.sinks.webhook:create",
    "postgres-sink": "connectors.sinks.postgres:create",
    "pos": "connectors.pos:create",
    "servicedesk": "connectors.servicedesk:create",
    "inventory": "connectors.inventory:create",
}


def names() -> list[str]:
    return sorted(CONNECTORS)


def factory(name: str) -> ServiceFactory:
    """The factory registered under ``name``, imported now."""
    target = CONNECTORS.get(name)
    if target is None:
        raise UnknownConnector(f"no connector {name!r}; known: {', '.join(names())}")
    module_name, _, attribute = target.partition(":")
    return cast(ServiceFactory, getattr(importlib.import_module(module_name), attribute))
