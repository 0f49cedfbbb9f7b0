"""Domain packages the processors run; adding one is one line here."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING

from streams.exceptions import StreamsError

if TYPE_CHECKING:
    import faust

    from streams.app import Runtime

DOMAINS: tuple[str, ...] = ("pricing", "stock", "orders", "cases", "identity", "context")


def install(name: str, app: faust.App, runtime: Runtime) -> None:
    """Import ``streams.<name>.agents`` and let it declare its tables and agents."""
    if name not in DOMAINS:
        raise StreamsError(f"unknown domain {name!r}; known: {', '.join(DOMAINS)}")
    module = import_module(f"streams.{name}.agents")
    installer: Callable[[faust.App, Runtime], None] = module.install
    installer(app, runtime)
