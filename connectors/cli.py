"""``omni connector list`` and ``omni connector run NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from connectors import registry
from connectors.core.exceptions import ConnectorConfigError
from connectors.core.logs import configure_logging
from connectors.core.runner import run
from schemas.settings import Settings

connector_app = typer.Typer(help="Run the channel connectors.", no_args_is_help=True)


@connector_app.command("list")
def connector_list() -> None:
    """Every connector the registry knows, with its factory."""
    for name in registry.names():
        typer.echo(f"{name}\t{registry.CONNECTORS[name]}")


@connector_app.command("run")
def connector_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="a name from `omni connector list`")],
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    tag: Annotated[
        str, typer.Option(hidden=True, help="identity marker for process managers")
    ] = "",
) -> None:
    """Run one connector until SIGTERM; it drains requests and flushes Kafka before exiting."""
    settings = ctx.obj
    if not isinstance(settings, Settings):
        raise ConnectorConfigError("settings were not built by the root command")
    factory = registry.factory(name)
    configure_logging(log_level)
    run(factory, settings)
