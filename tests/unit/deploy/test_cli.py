"""The typer sub-apps, mounted the way ``deploy/cli.py`` mounts them; no JVM is started."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from deploy.local.cli import kafka_app, registry_app
from deploy.local.exceptions import PortInUse
from schemas.settings import LocalRuntimeSettings, Settings


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in socks]
    for sock in socks:
        sock.close()
    return ports


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Nothing listens on these ports and nothing lives in this home."""
    kafka, controller, registry = _free_ports(3)
    local = LocalRuntimeSettings(
        home=tmp_path / "omni",
        kafka_port=kafka,
        controller_port=controller,
        registry_port=registry,
        cluster_base_port=kafka + 10_000 if kafka < 50_000 else kafka - 10_000,
    )
    return Settings(local=local)


def _root(settings: Settings | None) -> typer.Typer:
    app = typer.Typer()
    app.add_typer(kafka_app, name="kafka")
    app.add_typer(registry_app, name="registry")

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = settings

    return app


def test_status_of_nothing_running(settings: Settings) -> None:
    result = CliRunner().invoke(_root(settings), ["kafka", "status"])
    assert result.exit_code == 0, result.output
    assert "'single'" in result.output
    assert "'cluster3'" in result.output
    assert "yes" not in result.output


def test_registry_status_says_not_running(settings: Settings) -> None:
    result = CliRunner().invoke(_root(settings), ["registry", "status"])
    assert result.exit_code == 0, result.output
    assert "not running" in result.output


def test_down_when_nothing_runs_says_so(settings: Settings) -> None:
    runner = CliRunner()
    assert "nothing was running" in runner.invoke(_root(settings), ["kafka", "down"]).output
    assert "nothing was running" in runner.invoke(_root(settings), ["registry", "down"]).output


@pytest.fixture
def taken_kafka_port(settings: Settings) -> Iterator[int]:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", settings.local.kafka_port))
        sock.listen()
        yield settings.local.kafka_port


def test_up_on_a_taken_port_raises_the_typed_error(
    settings: Settings, taken_kafka_port: int
) -> None:
    result = CliRunner().invoke(_root(settings), ["kafka", "up"])
    assert isinstance(result.exception, PortInUse)
    assert result.exception.port == taken_kafka_port


def test_commands_need_the_settings_from_the_root_app() -> None:
    result = CliRunner().invoke(_root(None), ["kafka", "status"])
    assert isinstance(result.exception, RuntimeError)
    assert "ctx.obj = Settings()" in str(result.exception)
