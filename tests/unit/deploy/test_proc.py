"""Ports, pid files and waits, exercised with sockets and tiny Python processes."""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.exceptions import PortInUse, ProcessFailed, StartTimeout
from deploy.local.proc import (
    ManagedProcess,
    log_tail,
    port_answers,
    port_is_free,
    require_free,
    wait_ready,
)


@pytest.fixture
def listening() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_bound_port_is_not_free_and_answers(listening: int) -> None:
    assert not port_is_free(listening)
    assert port_answers(listening)


def test_an_unused_port_is_free_and_silent() -> None:
    port = _unused_port()
    assert port_is_free(port)
    assert not port_answers(port)


def test_require_free_names_the_taken_port(listening: int) -> None:
    with pytest.raises(PortInUse, match=f"port {listening} \\(kafka node 1\\)") as caught:
        require_free({_unused_port(): "controller", listening: "kafka node 1"})
    assert caught.value.port == listening


def test_log_tail_keeps_the_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_text("".join(f"line {i}\n" for i in range(50)))
    assert log_tail(log, 3) == "line 47\nline 48\nline 49"
    assert "no log" in log_tail(tmp_path / "missing.log")


def _script(tmp_path: Path, body: str) -> Path:
    """An executable Python script standing in for ``java`` (it ignores the marker arg)."""
    path = tmp_path / "fake-java"
    path.write_text(f"#!{sys.executable}\n{body}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[ManagedProcess]:
    proc = ManagedProcess(tmp_path / "state", "out.log")
    proc.start(_script(tmp_path, "import time\nprint('booting', flush=True)\ntime.sleep(60)"), [])
    yield proc
    pid = proc.request_stop()
    if pid is not None:
        proc.finish_stop(pid, 0)


def test_started_process_is_tracked_by_pid_file(sleeper: ManagedProcess) -> None:
    pid = sleeper.pid()
    assert pid is not None
    assert sleeper.pid_file.read_text().strip() == str(pid)
    assert sleeper.exit_status() is None


def test_stop_terminates_and_removes_the_pid_file(sleeper: ManagedProcess) -> None:
    pid = sleeper.request_stop()
    assert pid is not None
    sleeper.finish_stop(pid, deadline=float("inf"))
    assert sleeper.pid() is None
    assert not sleeper.pid_file.exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_stopped_process_is_still_stopped_by_sigterm(sleeper: ManagedProcess) -> None:
    """A node paused by fault injection (SIGSTOP) must not survive ``down()``."""
    sleeper.signal(signal.SIGSTOP)
    pid = sleeper.request_stop()
    assert pid is not None
    sleeper.finish_stop(pid, deadline=float("inf"))
    assert sleeper.pid() is None


def test_a_pid_file_naming_someone_else_is_stale(tmp_path: Path) -> None:
    proc = ManagedProcess(tmp_path, "out.log")
    proc.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not started with our marker
    assert proc.pid() is None
    assert not proc.pid_file.exists()


def test_wait_ready_reports_an_early_exit_with_code_and_log(tmp_path: Path) -> None:
    proc = ManagedProcess(tmp_path / "state", "out.log")
    proc.start(_script(tmp_path, "print('Invalid maximum heap size')\nraise SystemExit(3)"), [])
    with pytest.raises(ProcessFailed, match=r"(?s)exited with code 3.*Invalid maximum heap size"):
        wait_ready("broker", lambda: False, [proc], timeout_s=30)


def test_wait_ready_times_out_with_the_log_tail(sleeper: ManagedProcess) -> None:
    with pytest.raises(StartTimeout, match=r"(?s)broker not ready after 1s.*booting"):
        wait_ready("broker", lambda: False, [sleeper], timeout_s=1)


def test_wait_ready_returns_once_ready(sleeper: ManagedProcess) -> None:
    calls = iter([False, False, True])
    wait_ready("broker", lambda: next(calls), [sleeper], timeout_s=30)
