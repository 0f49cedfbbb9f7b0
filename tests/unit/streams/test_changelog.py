"""A stop is clean only once every changelog record the worker queued is acknowledged."""

from __future__ import annotations

from dataclasses import dataclass, field

import faust
import pytest

from streams import changelog


@dataclass
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
