"""``omni kafka ...`` and ``omni registry ...``: the local runtime from a terminal.

The root app (``deploy/cli.py``) builds ``Settings()`` once and puts it in
``ctx.obj``; these commands only read it from there. Errors are raised as
``LocalRuntimeError`` and the root app prints them as one line, exit code 1.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from deploy.local.fetch import ensure_apicurio, ensure_kafka
from deploy.local.kafka import ClusterStatus, KafkaCluster
from deploy.local.proc import StartReport
from deploy.local.registry import Registry
from schemas.settings import Settings

kafka_app = typer.Typer(help="A real Kafka (KRaft) on this machine.", no_args_is_help=True)
registry_app = typer.Typer(
    help="A real Apicurio schema registry on this machine.", no_args_is_help=True
)
console = Console()

Nodes = Annotated[
    int, typer.Option("--nodes", "-n", min=1, help="1 (default ports) or 3 (cluster)")
]


class StorageKind(StrEnum):
    mem = "mem"
    kafkasql = "kafkasql"


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:
        raise RuntimeError("mount this app under the root app, which sets ctx.obj = Settings()")
    return settings


def _report(report: StartReport) -> None:
    if report.reused:
        console.print(
            f"[yellow]{report.what}[/] already running at [bold]{report.address}[/] (reused)"
        )
        return
    pids = ", ".join(map(str, report.started_pids))
    console.print(
        f"[green]{report.what}[/] up at [bold]{report.address}[/] "
        f"in {report.elapsed_s:.1f}s (pid {pids})"
    )


def fetch(ctx: typer.Context) -> None:
    """Fetch the jars of Kafka and the registry (Maven) without starting anything.

    For an image or a CI cache warmed ahead of time, and for two local
    runtimes that share one ``lib`` folder and must not download into it at once.
    """
    local = _settings(ctx).local
    console.print(f"kafka jars in {ensure_kafka(local)}")
    console.print(f"registry in {ensure_apicurio(local)}")


@kafka_app.command("up")
def kafka_up(
    ctx: typer.Context,
    nodes: Nodes = 1,
    wipe: Annotated[bool, typer.Option(help="stop and delete the data first")] = False,
) -> None:
    """Start the cluster, or reuse it if it already runs."""
    cluster = KafkaCluster(_settings(ctx).local, nodes=nodes)
    if wipe:
        cluster.down(wipe=True)
    _report(cluster.up())


@kafka_app.command("down")
def kafka_down(
    ctx: typer.Context,
    nodes: Nodes = 1,
    wipe: Annotated[bool, typer.Option(help="also delete the data")] = False,
) -> None:
    """Stop every node of the cluster (SIGTERM, then SIGKILL after a bounded wait)."""
    cluster = KafkaCluster(_settings(ctx).local, nodes=nodes)
    stopped = cluster.down(wipe=wipe)
    what = f"stopped node(s) {', '.join(map(str, stopped))}" if stopped else "nothing was running"
    console.print(f"kafka cluster {cluster.name!r}: {what}" + (", data wiped" if wipe else ""))


def _cluster_table(status: ClusterStatus) -> Table:
    table = Table(title=f"kafka cluster {status.name!r}")
    for column in ("node", "address", "controller", "pid", "answering", "log"):
        table.add_column(column, overflow="fold")
    for node in status.nodes:
        table.add_row(
            str(node.node_id),
            node.address,
            str(node.controller_port),
            str(node.pid or "-"),
            "yes" if node.answering else "no",
            str(node.log_file),
        )
    return table


@kafka_app.command("status")
def kafka_status(ctx: typer.Context) -> None:
    """Show both local layouts: the single node and the three-node cluster."""
    local = _settings(ctx).local
    for nodes in (1, 3):
        console.print(_cluster_table(KafkaCluster(local, nodes=nodes).status()))


@registry_app.command("up")
def registry_up(
    ctx: typer.Context,
    storage: Annotated[
        StorageKind, typer.Option(help="in-memory, or kept in Kafka")
    ] = StorageKind.mem,
    kafka: Annotated[str | None, typer.Option(help="bootstrap for kafkasql storage")] = None,
) -> None:
    """Start the registry, or reuse it if it already runs."""
    settings = _settings(ctx)
    bootstrap = kafka or settings.kafka.bootstrap_servers
    registry = Registry(
        settings.local, storage.value, bootstrap if storage is StorageKind.kafkasql else None
    )
    _report(registry.up())


@registry_app.command("down")
def registry_down(ctx: typer.Context) -> None:
    """Stop the registry (SIGTERM, then SIGKILL after a bounded wait)."""
    stopped = Registry(_settings(ctx).local).down()
    console.print("schema registry: " + ("stopped" if stopped else "nothing was running"))


@registry_app.command("status")
def registry_status(ctx: typer.Context) -> None:
    """Show whether the registry runs and answers."""
    status = Registry(_settings(ctx).local).status()
    state = "[green]running[/]" if status.running else "[red]not running[/]"
    console.print(
        f"schema registry {state} at {status.url} (pid {status.pid or '-'}, log {status.log_file})"
    )
