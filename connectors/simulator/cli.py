"""``omni simulate``: seeded multi-channel journeys through the running connectors."""

from __future__ import annotations

from typing import Annotated

import typer

from connectors.core.exceptions import ConnectorConfigError
from connectors.simulator.runner import run
from schemas.settings import Settings


def simulate(
    ctx: typer.Context,
    customers: Annotated[int, typer.Option(min=1, help="simulated customers")] = 100,
    rate: Annotated[float, typer.Option(min=0, help="channel messages a second; 0: unpaced")] = 200,
    duration: Annotated[
        float, typer.Option(min=0, help="stop after this many seconds; 0: when all are done")
    ] = 0,
    seed: Annotated[int, typer.Option(help="same seed, same journeys and event ids")] = 42,
    progress: Annotated[bool, typer.Option(help="show the progress bar")] = True,
    tag: Annotated[
        str, typer.Option(hidden=True, help="identity marker for process managers")
    ] = "",
) -> None:
    """Send journeys through the collector, POS, service desk and inventory connectors."""
    settings = ctx.obj
    if not isinstance(settings, Settings):
        raise ConnectorConfigError("settings were not built by the root command")
    summary = run(settings, customers, rate, duration, seed, progress=progress)
    if summary.errors:
        raise typer.Exit(1)
