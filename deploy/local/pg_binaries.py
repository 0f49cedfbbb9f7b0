"""Finding (or installing) PostgreSQL's server binaries, and running them as the right user.

Debian installs each major version side by side under
``/usr/lib/postgresql/<major>/bin`` and puts only the client tools on PATH,
so we look there and take the newest major. When none is there, the Debian
package is installed non-interactively (root only): the project installs
what it needs rather than asking a person to.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from deploy.local.exceptions import ProcessFailed, ToolNotFound

DEBIAN_ROOTS: tuple[Path, ...] = (Path("/usr/lib/postgresql"),)
SERVER_TOOLS = ("postgres", "initdb")
SERVER_USER = "postgres"
APT_PACKAGE = "postgresql"
APT_TIMEOUT_S = 900
_TAIL_LINES = 20


class PostgresNotFound(ToolNotFound):
    """No PostgreSQL server binaries, and installing them was impossible or failed."""


def _has_server(bin_dir: Path) -> bool:
    return all((bin_dir / tool).is_file() for tool in SERVER_TOOLS)


def _major(path: Path) -> tuple[int, ...]:
    """``15`` -> (15,), ``9.6`` -> (9, 6); a non-version name sorts first."""
    try:
        return tuple(int(part) for part in path.name.split("."))
    except ValueError:
        return ()


def newest_server_bin(roots: Iterable[Path] = DEBIAN_ROOTS) -> Path | None:
    """The ``bin`` dir of the newest major version installed under the roots."""
    found = [
        version / "bin"
        for root in roots
        if root.is_dir()
        for version in root.iterdir()
        if _has_server(version / "bin")
    ]
    return max(found, key=lambda bin_dir: _major(bin_dir.parent), default=None)


def find_server_bin(preferred: Path | None = None, roots: Sequence[Path] = DEBIAN_ROOTS) -> Path:
    """The configured bin dir, else the newest Debian one, installing the package if needed."""
    if preferred is not None:
        if _has_server(preferred):
            return preferred
        raise PostgresNotFound(f"OMNI_LOCAL__POSTGRES_BIN_DIR={preferred} has no postgres/initdb")
    found = newest_server_bin(roots)
    if found is None:
        install_server()
        found = newest_server_bin(roots)
    if found is None:
        raise PostgresNotFound(
            f"apt-get installed {APT_PACKAGE!r} but no server is under {', '.join(map(str, roots))}"
        )
    return found


def install_server() -> None:
    """``apt-get install -y postgresql``; once more after ``apt-get update`` if that fails."""
    apt = shutil.which("apt-get")
    if apt is None or os.geteuid() != 0:
        raise PostgresNotFound(
            "PostgreSQL server binaries are missing: install the Debian package "
            f"{APT_PACKAGE!r} (as root: apt-get install -y {APT_PACKAGE}) "
            "or set OMNI_LOCAL__POSTGRES_BIN_DIR"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "--no-install-recommends", APT_PACKAGE]
    if _apt(install, env) == "":
        return
    _apt([apt, "update"], env)
    failure = _apt(install, env)
    if failure:
        raise PostgresNotFound(f"apt-get install {APT_PACKAGE} failed:\n{failure}")


def _apt(cmd: list[str], env: dict[str, str]) -> str:
    """Run apt-get; '' on success, else the tail of its output."""
    try:
        done = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=APT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{' '.join(cmd)}: {exc}"
    if done.returncode == 0:
        return ""
    return "\n".join((done.stdout + done.stderr).splitlines()[-_TAIL_LINES:])


def server_user() -> pwd.struct_passwd | None:
    """The user to run the server as when we are root (PostgreSQL refuses root); else None."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError as exc:
        raise PostgresNotFound(
            f"running as root, and there is no {SERVER_USER!r} user to run PostgreSQL as "
            f"(the Debian package {APT_PACKAGE!r} creates it)"
        ) from exc


def as_server_user() -> list[str]:
    """The argv prefix that runs a command as :func:`server_user` (empty when not root).

    ``setpriv`` switches user and execs, unlike ``runuser`` which stays as a
    parent: the pid we record must be the server's.
    """
    user = server_user()
    if user is None:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise ToolNotFound("`setpriv` (util-linux) is needed to run PostgreSQL as its own user")
    return [
        setpriv,
        f"--reuid={user.pw_uid}",
        f"--regid={user.pw_gid}",
        "--init-groups",
        "--reset-env",
        "--",
    ]


def run_tool(what: str, cmd: Sequence[str], log_file: Path) -> None:
    """Run a one-shot tool (``initdb``), output to ``log_file``; raise with its tail on failure."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        done = subprocess.run(
            list(cmd), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, check=False
        )
    if done.returncode != 0:
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-_TAIL_LINES:])
        raise ProcessFailed(f"{what} exited with {done.returncode}; log {log_file}:\n{tail}")
