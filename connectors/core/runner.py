"""Running a connector as a process: start it, wait for SIGTERM or SIGINT, stop it cleanly.

Stopping is the connector's ``stop``: for an HTTP connector that drains the
requests in progress and flushes the producer, so a process manager's SIGTERM
never loses an event that was answered "accepted". The exit code is 0 then.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Protocol

from schemas.settings import Settings


class Service(Protocol):
    """What the runner and the registry need of a connector."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


ServiceFactory = Callable[[Settings], Service]


async def serve(service: Service, stop: asyncio.Event | None = None) -> None:
    """Run ``service`` until ``stop`` is set or the process gets SIGTERM/SIGINT."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await service.start()
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await service.stop()


def run(factory: ServiceFactory, settings: Settings) -> None:
    """Build the connector inside the event loop (its producer binds to it) and serve it."""

    async def main() -> None:
        await serve(factory(settings))

    asyncio.run(main())
