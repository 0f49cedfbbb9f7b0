"""A stop is clean only once every changelog record the worker queued is acknowledged."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import faust
import pytest

from streams import changelog


@dataclass(eq=False)  # hashable by identity, as the real producer is
class Writer:
    """Stands in for the librdkafka producer: how many records stay queued after a flush."""

    left: int
    closed: list[float] = field(default_factory=list)

    def close(self, timeout_s: float) -> int:
        self.closed.append(timeout_s)
        return self.left


def app_with(writer: Writer | None, tables: int = 2) -> faust.App:
    app = faust.App(f"changelog-{id(writer)}", broker="memory://", Table=changelog.LogTable)
    for n in range(tables):
        table = app.Table(f"t{n}", partitions=2)
        assert isinstance(table, changelog.LogTable)
        table.writer = writer  # type: ignore[assignment]
    return app


@pytest.mark.parametrize(("left", "clean"), [(0, True), (3, False)])
def test_drained_only_when_nothing_is_left_queued(left: int, clean: bool) -> None:
    writer = Writer(left)
    assert changelog.drained(app_with(writer), timeout_s=2.0) is clean
    assert writer.closed == [2.0], "the one writer all tables share is flushed once"


def test_tables_without_a_writer_are_faust_s_and_drained() -> None:
    assert changelog.drained(app_with(None)) is True


def test_a_revoke_flushes_the_changelogs_before_the_rebalance_goes_on() -> None:
    """Faust awaits its on_partitions_revoked signal inside the revoke: the flush is in it."""

    class Log:
        def __init__(self) -> None:
            self.flushed = 0

        async def flush(self) -> None:
            self.flushed += 1

    log = Log()
    app = app_with(None, tables=0)
    changelog.install(app, log, batched=False)  # type: ignore[arg-type]
    asyncio.run(app.on_partitions_revoked.send(set()))
    assert log.flushed == 1
