"""Root fixtures: cheap ones here, the runtime ones in ``tests/fixtures.py``.

Runtime fixtures (a real broker, registry or cluster) start on first use
only, and only for tests marked ``integration``: the guard below fails an
unmarked test that asks for one, so ``pytest tests/unit`` can never start
a JVM by accident.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from schemas.settings import Settings

pytest_plugins = ("tests.fixtures",)

# Fixtures of tests/fixtures.py that start a JVM (or use a running service).
RUNTIME_FIXTURES = frozenset(
    {
        "kafka_bootstrap",
        "schema_registry_url",
        "local_kafka",
        "local_registry",
        "kafka_cluster3",
        "admin",
        "postgres_dsn",
    }
)


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The settings of the test session, read from the environment once."""
    return Settings()


@pytest.fixture
def new_topic_name() -> Callable[..., str]:
    """Factory of uuid-named topics, so tests never share (or depend on) a topic."""

    def factory(prefix: str = "test") -> str:
        return f"{prefix}-{uuid.uuid4().hex}"

    return factory


@pytest.fixture
def new_group_id() -> Callable[..., str]:
    """Factory of uuid-named consumer groups, for the same reason."""

    def factory(prefix: str = "group") -> str:
        return f"{prefix}-{uuid.uuid4().hex}"

    return factory


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Refuse to start the runtime for a test not marked ``integration``."""
    wanted = RUNTIME_FIXTURES.intersection(getattr(item, "fixturenames", ()))
    if wanted and item.get_closest_marker("integration") is None:
        pytest.fail(
            f"{item.nodeid} uses {', '.join(sorted(wanted))} but is not marked "
            "@pytest.mark.integration",
            pytrace=False,
        )
