"""Detached JVMs tracked by pid file, and the waits around them.

Every JVM we start runs in its own session with its output appended to a
log file, so it outlives the command that started it (``omni kafka up``
returns) and a terminal's Ctrl-C does not reach it. Its pid is written to a
file, and the command line carries a marker (``-Domni.dir=<state dir>``):
before signalling a recorded pid we check the marker, so a pid reused by
the OS after a reboot is never killed. Processes are stopped by pid only.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from deploy.local.exceptions import PortInUse, ProcessFailed, StartTimeout

LOOPBACK = "127.0.0.1"
POLL_INTERVAL_S = 0.25
TAIL_LINES = 20

# Popen handles of the JVMs this Python process started: kept so that a JVM
# that exits is reaped (no zombie that still looks alive) and so its exit
# code can be reported. Processes started by another command have none.
_children: dict[int, subprocess.Popen[bytes]] = {}


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Whether we could listen on the port, with the SO_REUSEADDR the JVM uses too."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def port_answers(port: int, host: str = LOOPBACK, timeout_s: float = 0.5) -> bool:
    """Whether something accepts TCP connections on the port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


def require_free(ports: dict[int, str]) -> None:
    """Raise PortInUse for the first taken port; ``ports`` maps port to what needs it."""
    for port, what in ports.items():
        if not port_is_free(port):
            raise PortInUse(port, what)


@contextlib.contextmanager
def state_lock(path: Path) -> Iterator[None]:
    """Serialise start/stop/fetch across processes (a test run and ``omni up`` at once).

    Not re-entrant: a second lock of the same file in one process blocks.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def log_tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last lines of a log file, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _pid_alive(pid: int) -> bool:
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"


def _cmdline(pid: int) -> list[str] | None:
    """The process's argv, or None where /proc is unavailable (then we cannot check)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return [] if Path("/proc/self").exists() else None
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")


class ManagedProcess:
    """One detached JVM: its pid file, log file and identity marker in a state dir."""

    def __init__(self, state_dir: Path, log_name: str) -> None:
        self.state_dir = state_dir
        self.pid_file = state_dir / "pid"
        self.log_file = state_dir / log_name
        self.marker = f"-Domni.dir={state_dir}"
        self._started: int | None = None

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def pid(self) -> int | None:
        """The pid if our process runs; a stale pid file is removed."""
        pid = self._read_pid()
        if pid is None:
            return None
        if self._is_ours(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def _is_ours(self, pid: int) -> bool:
        """Alive and carrying our marker; our own children are trusted by their handle.

        (Right after ``exec`` the kernel may briefly show an empty command
        line, so checking the marker of a child we just started would race.)
        """
        if pid in _children:
            return _pid_alive(pid)
        if not _pid_alive(pid):
            return False
        argv = _cmdline(pid)
        return argv is None or self.marker in argv

    def is_alive(self, pid: int) -> bool:
        """Whether ``pid`` (one we recorded) still runs; reaps it if it is our child."""
        return _pid_alive(pid)

    def start(self, java: Path, args: Sequence[str]) -> int:
        """Start ``java <marker> args`` detached, output appended to the log."""
        return self.start_command([str(java), self.marker, *args])

    def start_command(self, cmd: Sequence[str]) -> int:
        """Start ``cmd`` detached; it must carry :attr:`marker` somewhere in its argv."""
        if self.marker not in cmd:
            raise ValueError(f"{cmd[0]} would not carry the marker {self.marker}")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cmd = list(cmd)
        with self.log_file.open("ab") as log:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            log.write(f"\n--- omni {stamp}: starting {' '.join(cmd)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=self.state_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _children[proc.pid] = proc
        self._started = proc.pid
        self.pid_file.write_text(f"{proc.pid}\n")
        return proc.pid

    def signal(self, sig: signal.Signals) -> int | None:
        """Send a signal to our running process; returns the pid signalled."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, sig)
        return pid

    def request_stop(self) -> int | None:
        """SIGTERM, then SIGCONT so a process paused by fault injection can act on it."""
        pid = self.signal(signal.SIGTERM)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        return pid

    def finish_stop(self, pid: int, deadline: float) -> None:
        """Wait for the pid to exit until the deadline, then SIGKILL; remove the pid file."""
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL_S)
        if _pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while _pid_alive(pid):
                time.sleep(0.05)
        _children.pop(pid, None)
        self.pid_file.unlink(missing_ok=True)

    def exit_status(self) -> str | None:
        """Why the recorded process is gone ('exited with code 1'), or None if it runs."""
        pid = self._started if self._started is not None else self._read_pid()
        if pid is None:
            return "has no pid file"
        child = _children.get(pid)
        if child is not None:
            code = child.poll()
            return None if code is None else f"(pid {pid}) exited with code {code}"
        return None if self._is_ours(pid) else f"(pid {pid}) is gone"


def wait_ready(
    what: str,
    ready: Callable[[], bool],
    procs: Sequence[ManagedProcess],
    timeout_s: float,
) -> None:
    """Poll ``ready`` until true; fail fast if a process dies, or time out with log tails."""
    deadline = time.monotonic() + timeout_s
    while True:
        for proc in procs:
            status = proc.exit_status()
            if status is not None:
                raise ProcessFailed(
                    f"{what}: {status}; log {proc.log_file}:\n{log_tail(proc.log_file)}"
                )
        if ready():
            return
        if time.monotonic() >= deadline:
            raise StartTimeout(f"{what} not ready after {timeout_s:.0f}s\n{_tails(procs)}")
        time.sleep(POLL_INTERVAL_S)


def _tails(procs: Sequence[ManagedProcess]) -> str:
    lines = max(TAIL_LINES // max(len(procs), 1), 8)
    return "\n".join(f"--- {p.log_file}:\n{log_tail(p.log_file, lines)}" for p in procs)


@dataclass(frozen=True)
class StartReport:
    """What ``up()`` did: whether it reused a running service, and how long it took."""

    what: str
    address: str
    reused: bool
    started_pids: tuple[int, ...]
    elapsed_s: float
