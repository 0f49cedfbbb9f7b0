"""``omni up``, ``omni down`` and ``omni status``: the whole local backbone at once.

``up`` is what ``make run`` calls: Kafka, the registry, topics and schemas,
the stream processors, PostgreSQL, the connectors (sources and sinks) and the
demo traffic generator. The registry keeps its schemas in Kafka (KafkaSQL
storage) here: events on disk carry schema ids, so the ids must live as long
as the topics do, across ``down`` and ``up``.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from connectors import registry as connector_registry
from deploy.local import KafkaCluster, Registry
from deploy.local.connectors import ConnectorFleet, Simulator
from deploy.local.demo import demo_env
from deploy.local.postgres import Postgres
from deploy.local.workers import Workers
from schemas import admin as topic_admin
from schemas import registry as schema_registry
from schemas.avro import load_schema_set
from schemas.catalogue import ALL_TOPICS
from schemas.exceptions import ContractError
from schemas.settings import Settings

console = Console()


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    if not isinstance(settings, Settings):
        raise ContractError("settings were not built by the root command")
    return settings


def _local_stack(settings: Settings) -> tuple[KafkaCluster, Registry]:
    cluster = KafkaCluster(settings.local, nodes=1)
    registry = Registry(settings.local, "kafkasql", cluster.bootstrap_servers)
    return cluster, registry


def up(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option(help="stream-processor worker processes")] = 1,
    simulate: Annotated[bool, typer.Option(help="send demo traffic through the connectors")] = True,
    customers: Annotated[int, typer.Option(help="simulated customers")] = 2000,
    rate: Annotated[float, typer.Option(help="simulated channel messages a second")] = 50.0,
) -> None:
    """Start Kafka, the registry, processors, PostgreSQL, connectors and demo traffic."""
    settings = _settings(ctx)
    started = time.monotonic()
    cluster, registry = _local_stack(settings)
    kafka_report = cluster.up()
    console.print(f"kafka      {kafka_report.address}  ({_how(kafka_report)})")
    registry_report = registry.up()
    console.print(f"registry   {registry_report.address}  ({_how(registry_report)})")
    local = settings.model_copy(
        update={
            "kafka": settings.kafka.model_copy(
                update={"bootstrap_servers": cluster.bootstrap_servers}
            ),
            "registry": settings.registry.model_copy(update={"url": registry.url}),
        }
    )
    report = topic_admin.apply_topics(topic_admin.make_admin(local.kafka), local.topics)
    console.print(f"topics     {len(ALL_TOPICS)} in the catalogue, {len(report.created)} created")
    client = schema_registry.make_client(local.registry)
    done = schema_registry.register_all(
        client, load_schema_set(), local.topics.prefix, local.registry.compatibility
    )
    console.print(f"schemas    {len(done)} subjects registered ({local.registry.compatibility})")
    fleet = Workers(local, workers)
    fleet_report = fleet.up()
    console.print(f"workers    {fleet_report.address}  ({_how(fleet_report)})")
    postgres = Postgres(local.local)
    pg_report = postgres.up()
    console.print(f"postgres   {pg_report.address}  ({_how(pg_report)})")
    connectors = _connectors(local)
    connectors_report = connectors.up()
    console.print(f"connectors {connectors_report.address}  ({_how(connectors_report)})")
    if simulate:
        seed = int(time.time()) % 1_000_000
        sim = Simulator(local, connectors.env_file).up(customers, rate, seed)
        how = "already running" if sim.reused else f"seed {seed}, {rate:g} messages/s"
        console.print(f"simulator  {customers} customers through the connectors ({how})")
    console.print(_where_to_look(cluster, registry, fleet, connectors, postgres))
    console.print(f"ready in {time.monotonic() - started:.1f}s; `make down` stops everything")


def _connectors(settings: Settings) -> ConnectorFleet:
    """Every registered source connector and the sinks that have somewhere to write."""
    names = [n for n in connector_registry.names() if n != "webhook-sink"]
    if settings.connectors.webhook_sink.endpoints:
        names.append("webhook-sink")
    return ConnectorFleet(settings, names, demo_env(settings.local))


def _how(report: object) -> str:
    reused = getattr(report, "reused", False)
    elapsed = getattr(report, "elapsed_s", 0.0)
    return "already running" if reused else f"started in {elapsed:.1f}s"


def _where_to_look(
    cluster: KafkaCluster,
    registry: Registry,
    fleet: Workers,
    connectors: ConnectorFleet,
    postgres: Postgres,
) -> Table:
    table = Table("what", "where", title="where to look")
    table.add_row("Kafka bootstrap", cluster.bootstrap_servers)
    table.add_row("schema registry (Confluent API)", registry.url)
    table.add_row("query API", f"{fleet.url(1)}/v1/stock/{{sku}}")
    table.add_row("Prometheus metrics", ", ".join(f"{u}/metrics" for u in fleet.urls))
    for name in connectors.names:
        url = connectors.url(name)
        if url is not None:
            table.add_row(f"connector {name}", f"{url}  ({url}/metrics)")
    table.add_row("views in PostgreSQL", f"psql '{postgres.dsn}' -c 'table omni.carts'")
    table.add_row("demo traffic (simulator log)", str(Simulator(fleet.settings, None).log_file))
    table.add_row("demo credentials", str(demo_env(cluster.local)))
    table.add_row("watch a topic", "omni tail omni.view.carts")
    table.add_row("send an event", "omni produce CartItemAdded --json '{...}'")
    table.add_row("logs and data", str(cluster.local.home))
    return table


def down(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option(help="how many workers up started")] = 8,
) -> None:
    """Stop the workers, the registry, then Kafka (data is kept; `make clean` removes it)."""
    settings = _settings(ctx)
    Simulator(settings, None).down()
    all_connectors = ConnectorFleet(settings, connector_registry.names(), None)
    console.print(f"connectors {len(all_connectors.down())} stopped")
    stopped = Workers(settings, workers).down()
    console.print(f"workers    {len(stopped)} stopped")
    console.print(
        f"postgres   {'stopped' if Postgres(settings.local).down() else 'was not running'}"
    )
    cluster, registry = _local_stack(settings)
    stopped_registry = registry.down()
    console.print(f"registry   {'stopped' if stopped_registry else 'was not running'}")
    pids = cluster.down()
    console.print(f"kafka      {'stopped' if pids else 'was not running'}")


def status(ctx: typer.Context) -> None:
    """What runs, and where."""
    cluster, registry = _local_stack(_settings(ctx))
    cluster_status = cluster.status()
    registry_status = registry.status()
    table = Table("service", "address", "running")
    table.add_row("kafka", cluster.bootstrap_servers, "yes" if cluster_status.running else "no")
    table.add_row("registry", registry.url, "yes" if registry_status.running else "no")
    fleet = Workers(_settings(ctx), 8)
    for n, pid in fleet.running().items():
        if pid is not None:
            table.add_row(f"worker {n}", fleet.url(n), f"yes (pid {pid})")
    connectors = ConnectorFleet(_settings(ctx), connector_registry.names(), None)
    for name, pid in connectors.running().items():
        if pid is not None:
            table.add_row(f"connector {name}", connectors.url(name) or "-", f"yes (pid {pid})")
    postgres = Postgres(_settings(ctx).local)
    table.add_row("postgres", postgres.dsn, "yes" if postgres.status().running else "no")
    console.print(table)
