"""Which view topics a sink reads, by the names people write in settings.

Settings may name a view by its catalogue name (``omni.view.carts``) or its
short name (``carts``); the physical topic adds the deployment prefix. Both
directions are resolved once at start, so the hot loop maps a consumed
topic back to its catalogue entry with one dict lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from connectors.sinks.exceptions import SinkConfigError
from schemas.catalogue import ALL_TOPICS, Topic, TopicKind

VIEW_PREFIX = "omni.view."
VIEWS: tuple[Topic, ...] = tuple(t for t in ALL_TOPICS if t.kind is TopicKind.VIEW)


def view_named(name: str) -> Topic:
    """The view topic called ``name`` (``omni.view.carts`` or ``carts``)."""
    wanted = name if name.startswith(VIEW_PREFIX) else VIEW_PREFIX + name
    for view in VIEWS:
        if view.name == wanted:
            return view
    known = ", ".join(v.name.removeprefix(VIEW_PREFIX) for v in VIEWS)
    raise SinkConfigError(f"unknown view {name!r}; known views: {known}")


def views_named(names: Iterable[str]) -> tuple[Topic, ...]:
    """Every named view once, in catalogue order; no names means every view."""
    chosen = {view_named(name).name for name in names}
    if not chosen:
        return VIEWS
    return tuple(v for v in VIEWS if v.name in chosen)


def by_physical(views: Iterable[Topic], prefix: str) -> Mapping[str, Topic]:
    """Physical topic name -> catalogue view."""
    return {view.physical(prefix): view for view in views}
