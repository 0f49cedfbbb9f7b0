"""Fault-suite options, environments and the report.

Options (``pytest tests/faults --fault-events 400000 --fault-seed 42``, or
``make test-faults FAULT_ARGS="..."``); ``pytest tests`` runs the suite with
the defaults:

``--fault-seed``     seed of every workload and fault schedule (default: a new
                     one per session, printed in the report so a failure replays)
``--fault-events``   events of the worker-crash row; the other rows take a
                     fixed share of it (default 100000)
``--fault-kills``    worker kills in the crash row (default 5)
``--fault-stall``    seconds a broker stays SIGSTOPped (default 20)

Each test gets its own topic prefix, app id (consumer group, changelogs) and
state directory, on the session's single broker (``fault_env``) or on the
three-broker cluster (``cluster_env``: RF 3, min ISR 2).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.local import KafkaCluster
from schemas import admin as topic_admin
from schemas import registry
from schemas.avro import load_schema_set
from schemas.settings import PROJECT_ROOT, KafkaSettings, RegistrySettings, Settings, TopicSettings
from tests.faults.report import Row, table, write
from tests.integration.support import ContractEnv, drop_prefix

REPORT = pytest.StashKey[list[Row]]()
FAILED = pytest.StashKey[bool]()
REPORT_DIR = PROJECT_ROOT / "bench-results"
PARTITIONS = 4


@dataclass(frozen=True)
class FaultConfig:
    """The knobs of one session, from the command line."""

    seed: int
    events: int
    kills: int
    stall_s: float


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("faults", "fault-injection suite (tests/faults)")
    group.addoption("--fault-seed", type=int, default=None, help="seed (default: random)")
    group.addoption("--fault-events", type=int, default=100_000, help="events of the crash row")
    group.addoption("--fault-kills", type=int, default=5, help="worker kills in the crash row")
    group.addoption("--fault-stall", type=float, default=20.0, help="seconds of SIGSTOP")
    group.addoption(
        "--fault-report",
        default="faults-report",
        help="file name (no suffix) of the report under bench-results/",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Cluster rows last: the three brokers start once and no other row shares the CPU with them."""
    here = Path(__file__).parent
    slots = [n for n, item in enumerate(items) if here in item.path.parents]
    faults = [items[n] for n in slots]
    ordered = sorted(faults, key=lambda item: item.get_closest_marker("cluster") is not None)
    for n, item in zip(slots, ordered, strict=True):
        items[n] = item


@pytest.fixture(scope="session")
def fault_config(request: pytest.FixtureRequest) -> FaultConfig:
    """Options read with defaults: under ``pytest tests`` this conftest is not an initial one."""
    config = request.config
    seed = config.getoption("fault_seed", default=None)
    return FaultConfig(
        seed=int(seed) if seed is not None else random.SystemRandom().randrange(1, 2**31),
        events=int(config.getoption("fault_events", default=100_000)),
        kills=int(config.getoption("fault_kills", default=5)),
        stall_s=float(config.getoption("fault_stall", default=20.0)),
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember whether a row failed, so its topics can be kept for a look."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call":
        item.stash[FAILED] = report.failed


def _contract(
    bootstrap: str, registry_url: str, nodes: int, request: pytest.FixtureRequest
) -> Iterator[ContractEnv]:
    """Every catalogue topic and schema under a fresh prefix; dropped afterwards unless the
    row failed (its input, views and internal topics are then kept for diagnosis)."""
    rf, min_isr = (3, 2) if nodes >= 3 else (1, 1)
    settings = Settings(
        # The shortcuts too: set in the environment, they would win over kafka= and registry=.
        bootstrap_servers=bootstrap,
        schema_registry_url=registry_url,
        kafka=KafkaSettings(bootstrap_servers=bootstrap),
        registry=RegistrySettings(url=registry_url),
        topics=TopicSettings(
            prefix=f"f{uuid.uuid4().hex[:10]}.",
            replication_factor=rf,
            min_insync_replicas=min_isr,
            partitions_override=PARTITIONS,
        ),
    )
    topic_admin.apply_topics(topic_admin.make_admin(settings.kafka), settings.topics)
    client = registry.make_client(settings.registry)
    schema_set = load_schema_set()
    done = registry.register_all(
        client, schema_set, settings.topics.prefix, settings.registry.compatibility
    )
    yield ContractEnv(settings, client, schema_set)
    if request.node.stash.get(FAILED, False):
        print(f"kept the topics under {settings.topics.prefix} for diagnosis")
        return
    drop_prefix(settings, client, [r.subject for r in done])


@pytest.fixture
def fault_env(
    kafka_bootstrap: str, schema_registry_url: str, request: pytest.FixtureRequest
) -> Iterator[ContractEnv]:
    """A private slice of the session's broker (single node unless configured otherwise)."""
    yield from _contract(kafka_bootstrap, schema_registry_url, 1, request)


@pytest.fixture
def cluster_env(
    kafka_cluster3: KafkaCluster, schema_registry_url: str, request: pytest.FixtureRequest
) -> Iterator[ContractEnv]:
    """A private slice of the three-broker cluster: RF 3, min ISR 2."""
    yield from _contract(kafka_cluster3.bootstrap_servers, schema_registry_url, 3, request)


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Callable[[Row], None]:
    """Adds a row to the session's report (printed and written at the end)."""
    rows = request.config.stash.setdefault(REPORT, [])
    return rows.append


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    rows = config.stash.get(REPORT, [])
    if not rows:
        return
    path = write(rows, REPORT_DIR, config.getoption("fault_report", default="faults-report"))
    terminalreporter.section("fault report")
    terminalreporter.write_line(table(rows))
    terminalreporter.write_line(f"\nwritten to {path.relative_to(PROJECT_ROOT)}")
