"""``omni worker``: run one stream-processor worker process."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from faust.worker import Worker

from schemas.exceptions import ContractError
from schemas.settings import Settings
from streams import cleanstop
from streams.app import create_app, declare_changelogs, use_event_loop
from streams.restore import restore
from streams.transport.producer import stopped_clean


def worker(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Option(help="unique worker name (its state folder)")] = None,
    web_port: Annotated[int | None, typer.Option(help="query API and /metrics port")] = None,
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error")] = "warning",
    tag: Annotated[
        str | None, typer.Option(help="a label in the process list (the local runtime's marker)")
    ] = None,
) -> None:
    """Run the processors until SIGTERM; state restores from changelogs at start."""
    settings = ctx.obj
    if not isinstance(settings, Settings):
        raise ContractError("settings were not built by the root command")
    updates: dict[str, object] = {}
    if name:
        updates["worker_name"] = name
    if web_port:
        updates["web_port"] = web_port
    settings = settings.model_copy(update={"streams": settings.streams.model_copy(update=updates)})
    use_event_loop(settings.streams.event_loop)
    app = create_app(settings)
    declare_changelogs(app, settings)
    datadir = Path(app.conf.datadir)
    cleanstop.begin(datadir, Path(app.conf.tabledir))
    if settings.streams.bulk_restore:
        restore(app, settings)
    runner = Worker(app, loglevel=loglevel, redirect_stdouts=False)
    # Faust's start-up spinner leaves the root logger at DEBUG (~2% of a busy worker).
    runner.spinner = None
    try:
        runner.execute_from_commandline()
    except SystemExit as exc:
        if exc.code in (0, None) and stopped_clean(app.producer):
            cleanstop.end(datadir)
        raise
