"""A real PostgreSQL server on loopback, for the PostgreSQL sink and its tests.

Debian's server binaries (``/usr/lib/postgresql/<major>/bin``, the newest
major) are used as they are; when they are missing and we are root, the
``postgresql`` package is installed first. A cluster is ``initdb``-ed under
``settings.local.home`` and ``postgres`` runs detached like the JVMs: pid
file, log file, an identity marker in its argv (a custom setting,
``--omni.dir=<state dir>``, which PostgreSQL accepts and ignores), readiness
by connecting, fast shutdown by pid.

PostgreSQL refuses to run as root, so a root caller runs ``initdb`` and
``postgres`` as the ``postgres`` system user the package creates (``setpriv``
changes user and execs, so the pid we record is the server's own). Any other
caller runs them as itself. Authentication is ``trust`` on loopback and on
the socket in the state dir: a local development server, like the
PLAINTEXT broker next to it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from deploy.local.exceptions import LocalRuntimeError, ProcessFailed
from deploy.local.pg_binaries import as_server_user, find_server_bin, run_tool, server_user
from deploy.local.proc import (
    LOOPBACK,
    ManagedProcess,
    StartReport,
    port_answers,
    require_free,
    state_lock,
    wait_ready,
)
from schemas.settings import LocalRuntimeSettings

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 2


@dataclass(frozen=True)
class PostgresStatus:
    dsn: str
    pid: int | None
    answering: bool
    log_file: Path

    @property
    def running(self) -> bool:
        return self.pid is not None and self.answering


class Postgres:
    """The local PostgreSQL server; ``dsn`` is what the sink connects to."""

    def __init__(self, local: LocalRuntimeSettings) -> None:
        self.local = local
        self.port = local.postgres_port
        self.state_dir = local.home / "postgres"
        self.data_dir = self.state_dir / "data"
        self.socket_dir = self.state_dir / "run"
        self._proc = ManagedProcess(self.state_dir, "postgres.log")
        # postgres parses ``--name=value`` as a setting; ``-D...`` would be its data dir.
        self._proc.marker = f"--omni.dir={self.state_dir}"
        self._lock = local.home / "locks" / "postgres.lock"

    @property
    def dsn(self) -> str:
        return self._dsn(self.local.postgres_database)

    def _dsn(self, database: str) -> str:
        return f"postgresql://{self.local.postgres_user}@{LOOPBACK}:{self.port}/{database}"

    def answers(self) -> bool:
        """Whether the server accepts a connection to its maintenance database."""
        try:
            with psycopg.connect(self._dsn("postgres"), connect_timeout=CONNECT_TIMEOUT_S):
                return True
        except psycopg.Error:
            return False

    def up(self) -> StartReport:
        """Start the server unless ours runs, wait until it answers, create the database."""
        started_at = time.monotonic()
        with state_lock(self._lock):
            reused = self._proc.pid() is not None
            pids = () if reused else (self._start(),)
            try:
                wait_ready("postgres", self.answers, [self._proc], self.local.start_timeout_s)
                self._create_database()
            except LocalRuntimeError:
                if not reused:
                    self._stop()
                raise
        return StartReport("postgres", self.dsn, reused, pids, time.monotonic() - started_at)

    def _start(self) -> int:
        require_free({self.port: "postgres"})
        bin_dir = find_server_bin(self.local.postgres_bin_dir)
        self._prepare_dirs()
        if not (self.data_dir / "PG_VERSION").is_file():
            self._initdb(bin_dir)
        cmd = [
            *as_server_user(),
            str(bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            LOOPBACK,
            "-k",
            str(self.socket_dir),
            self._proc.marker,
        ]
        return self._proc.start_command(cmd)

    def _prepare_dirs(self) -> None:
        """Create the data and socket dirs, owned by whoever runs the server."""
        for path in (self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
        user = server_user()
        if user is None:
            return
        _require_reachable(self.state_dir, user)
        for path in (self.state_dir, self.data_dir, self.socket_dir):
            os.chown(path, user.pw_uid, user.pw_gid)
        self.data_dir.chmod(0o700)

    def _initdb(self, bin_dir: Path) -> None:
        cmd = [
            *as_server_user(),
            str(bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            self.local.postgres_user,
            "--auth=trust",
            "--encoding=UTF8",
            "--no-locale",
        ]
        run_tool("initdb", cmd, self.state_dir / "initdb.log")

    def _create_database(self) -> None:
        name = self.local.postgres_database
        try:
            with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
                found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
                if found.fetchone() is None:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        except psycopg.Error as exc:
            raise ProcessFailed(f"postgres: cannot create database {name!r}: {exc}") from exc

    def down(self) -> bool:
        """Fast shutdown (SIGINT: roll back sessions, checkpoint); True if one was running."""
        with state_lock(self._lock):
            return self._stop()

    def _stop(self) -> bool:
        pid = self._proc.signal(signal.SIGINT)
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        self._proc.finish_stop(pid, time.monotonic() + STOP_TIMEOUT_S)
        return True

    def status(self) -> PostgresStatus:
        return PostgresStatus(
            self.dsn, self._proc.pid(), port_answers(self.port), self._proc.log_file
        )


def _require_reachable(path: Path, user: pwd.struct_passwd) -> None:
    """Fail clearly when the server user could not walk down to its data dir."""
    for ancestor in reversed(path.resolve().parents):
        info = ancestor.stat()
        if info.st_uid == user.pw_uid or info.st_mode & 0o001:
            continue
        raise LocalRuntimeError(
            f"postgres runs as user {user.pw_name!r}, which cannot enter {ancestor} "
            f"(mode {info.st_mode & 0o777:o}): chmod o+x it or point OMNI_LOCAL__HOME elsewhere"
        )
