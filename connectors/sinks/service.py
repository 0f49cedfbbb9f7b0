"""What both sinks share as a service: the run loop's life cycle.

A sink's work is one coroutine, ``run``: set up, then consume until asked to
stop. ``start``/``stop`` adapt it to the connector runner
(``connectors.core.runner``): ``start`` returns once the sink is set up (so a
wrong DSN or an unknown view fails the start, not later), ``stop`` asks the
loop to finish its batch and waits for it. A sink whose loop dies on its own
(Kafka or PostgreSQL gone) and owns its process (``own_process``, as under
the runner) signals the process to stop, so a supervisor restarts it instead
of leaving a process that consumes nothing.
"""

from __future__ import annotations

import abc
import asyncio
import os
import signal

from connectors.core.logs import get_logger

log = get_logger("sinks")


class SinkService(abc.ABC):
    """Base of the sinks: ``run`` is theirs; ``start``, ``stop`` and ``request_stop`` are here."""

    name: str

    def __init__(self, *, own_process: bool = False) -> None:
        self._own_process = own_process
        self._stopping = asyncio.Event()
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @abc.abstractmethod
    async def run(self) -> None:
        """Set up, call :meth:`_set_ready`, then consume until :attr:`stopping`."""

    @property
    def running(self) -> bool:
        """Started and its loop has not ended."""
        return self._task is not None and not self._task.done()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def request_stop(self) -> None:
        """Finish the batch in hand and leave ``run`` (safe from a signal handler)."""
        self._stopping.set()

    def _set_ready(self) -> None:
        self._ready.set()

    async def start(self) -> None:
        """Run in the background; return when set up, raise if setting up failed."""
        self._task = asyncio.create_task(self.run(), name=self.name)
        ready = asyncio.create_task(self._ready.wait())
        await asyncio.wait({self._task, ready}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self._task.done():
            self._task.result()  # raises what setting up raised
            return
        if self._own_process:
            self._task.add_done_callback(self._exited)

    async def stop(self) -> None:
        """Ask to stop and wait until the loop committed and closed; re-raise its error."""
        self.request_stop()
        if self._task is not None:
            await self._task

    def _exited(self, task: asyncio.Task[None]) -> None:
        if self.stopping or task.cancelled():
            return
        error = task.exception()
        log.error("sink stopped on its own", extra={"fields": {"sink": self.name}}, exc_info=error)
        os.kill(os.getpid(), signal.SIGTERM)
