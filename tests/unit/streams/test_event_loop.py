"""The worker's event loop comes from its settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import uvloop

from schemas.settings import StreamsSettings
from streams.app import use_event_loop


@pytest.fixture
def policy() -> Iterator[None]:
    saved = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(saved)


def test_uvloop_makes_the_loops_created_afterwards_uvloops(policy: None) -> None:
    use_event_loop(StreamsSettings().event_loop)
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()


def test_asyncio_puts_the_standard_loop_back(policy: None) -> None:
    use_event_loop("uvloop")
    use_event_loop("asyncio")
    loop = asyncio.new_event_loop()
    try:
        assert not isinstance(loop, uvloop.Loop)
        assert isinstance(loop, asyncio.BaseEventLoop)
    finally:
        loop.close()


def test_an_unknown_loop_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="uvloop"):
        StreamsSettings(event_loop="trio")  # type: ignore[arg-type]
