"""``omni postgres up|down|status``: the local PostgreSQL server from a terminal.

Mounted by the root app (``deploy/cli.py``), which builds ``Settings`` once and
puts it in ``ctx.obj``; errors are ``LocalRuntimeError`` and become one line.
"""

from __future__ import annotations

import typer
from rich.console import Console

from deploy.local.postgres import Postgres
from schemas.settings import Settings

postgres_app = typer.Typer(
    help="A real PostgreSQL server on this machine (for the PostgreSQL sink).",
    no_args_is_help=True,
)
console = Console()


def _postgres(ctx: typer.Context) -> Postgres:
    settings = ctx.find_object(Settings)
    if settings is None:
        raise RuntimeError("mount this app under the root app, which sets ctx.obj = Settings()")
    return Postgres(settings.local)


@postgres_app.command("up")
def postgres_up(ctx: typer.Context) -> None:
    """Start the server (initdb on first use) and create the database, or reuse it."""
    report = _postgres(ctx).up()
    if report.reused:
        console.print(f"[yellow]postgres[/] already running at [bold]{report.address}[/] (reused)")
        return
    console.print(
        f"[green]postgres[/] up at [bold]{report.address}[/] in {report.elapsed_s:.1f}s "
        f"(pid {', '.join(map(str, report.started_pids))})"
    )


@postgres_app.command("down")
def postgres_down(ctx: typer.Context) -> None:
    """Fast shutdown by pid (sessions rolled back, a checkpoint written)."""
    stopped = _postgres(ctx).down()
    console.print("postgres: " + ("stopped" if stopped else "nothing was running"))


@postgres_app.command("status")
def postgres_status(ctx: typer.Context) -> None:
    """Show whether the server runs and answers."""
    status = _postgres(ctx).status()
    state = "[green]running[/]" if status.running else "[red]not running[/]"
    console.print(
        f"postgres {state} at {status.dsn} (pid {status.pid or '-'}, log {status.log_file})"
    )
