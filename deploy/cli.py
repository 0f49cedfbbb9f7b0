"""The ``omni`` command: one entry point that builds the settings once.

Every sub-command receives the ``Settings`` object through the typer context.
Any error of ours (``OmniError``) becomes one human line and exit code 1, so a
person never has to read a traceback to learn that a port is taken.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from connectors.cli import connector_app
from connectors.simulator.cli import simulate
from deploy.local.cli import fetch, kafka_app, registry_app
from deploy.local.postgres_cli import postgres_app
from deploy.stack import down, status, up
from schemas.cli import produce, schemas_app, tail, topics_app
from schemas.exceptions import ContractError, OmniError
from schemas.settings import Settings
from streams.cli import worker

app = typer.Typer(
    name="omni",
    help="Omnichannel event-streaming backbone.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(kafka_app, name="kafka")
app.add_typer(registry_app, name="registry")
app.add_typer(postgres_app, name="postgres")
app.add_typer(topics_app, name="topics")
app.add_typer(schemas_app, name="schemas")
app.add_typer(connector_app, name="connector")
app.command("up")(up)
app.command("fetch")(fetch)
app.command("down")(down)
app.command("status")(status)
app.command("produce")(produce)
app.command("tail")(tail)
app.command("worker")(worker)
app.command("simulate")(simulate)

err = Console(stderr=True)


@app.callback()
def root(
    ctx: typer.Context,
    env_file: Annotated[
        Path | None,
        typer.Option(
            help="a file of OMNI_* settings, read after the environment "
            "(`make run` passes its generated demo credentials this way)"
        ),
    ] = None,
) -> None:
    """Build the settings (``OMNI_*`` environment) once for every command."""
    if env_file is not None and not env_file.is_file():
        raise ContractError(f"--env-file {env_file} does not exist")
    # pydantic-settings takes the dotenv path as a private init argument.
    ctx.obj = Settings(_env_file=env_file) if env_file else Settings()  # type: ignore[call-arg]


def main() -> None:
    try:
        app()
    except OmniError as exc:
        _fail(str(exc))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        _fail(f"invalid setting {where}: {first['msg']}", code=2)
    except KeyboardInterrupt:
        sys.exit(130)


def _fail(message: str, code: int = 1) -> None:
    """One line on stderr, never wrapped, never a traceback."""
    err.print(f"[red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(code)
