"""The local PostgreSQL for real: initdb, start, reuse, stop by pid, start on the same data."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from deploy.local import Postgres
from deploy.local.proc import port_answers
from schemas.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def server(settings: Settings) -> Iterator[Postgres]:
    home = Path(tempfile.mkdtemp(prefix="omni-pg-test-"))
    home.chmod(0o755)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    postgres = Postgres(settings.local.model_copy(update={"home": home, "postgres_port": port}))
    yield postgres
    postgres.down()
    shutil.rmtree(home, ignore_errors=True)


def test_up_reuse_down_and_up_again_keeps_the_data(server: Postgres) -> None:
    first = server.up()
    assert not first.reused
    assert server.status().running
    assert server.up().reused
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (42)")

    assert server.down()
    assert not server.status().running
    assert not port_answers(server.port)
    assert not server.down(), "a second down has nothing to stop"

    assert not server.up().reused
    with psycopg.connect(server.dsn) as conn:
        assert conn.execute("SELECT n FROM kept").fetchall() == [(42,)]
