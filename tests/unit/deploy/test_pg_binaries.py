"""Finding PostgreSQL's server binaries and checking the data dir is reachable."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

from deploy.local.exceptions import LocalRuntimeError
from deploy.local.pg_binaries import PostgresNotFound, find_server_bin, newest_server_bin
from deploy.local.postgres import _require_reachable


def fake_server(root: Path, version: str) -> Path:
    bin_dir = root / version / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("postgres", "initdb"):
        (bin_dir / tool).touch()
    return bin_dir


def test_the_newest_major_wins_numerically(tmp_path: Path) -> None:
    fake_server(tmp_path, "9.6")
    newest = fake_server(tmp_path, "15")
    fake_server(tmp_path, "13")
    (tmp_path / "16" / "bin").mkdir(parents=True)  # client only: no server
    assert newest_server_bin([tmp_path]) == newest


def test_no_server_is_none(tmp_path: Path) -> None:
    assert newest_server_bin([tmp_path / "missing", tmp_path]) is None


def test_a_configured_dir_must_hold_the_server(tmp_path: Path) -> None:
    assert find_server_bin(fake_server(tmp_path, "15")) == tmp_path / "15" / "bin"
    with pytest.raises(PostgresNotFound, match="has no postgres/initdb"):
        find_server_bin(tmp_path)


def test_an_unreachable_home_is_named() -> None:
    base = Path(tempfile.mkdtemp(prefix="omni-pg-reach-"))  # pytest's tmp_path is 0700 itself
    base.chmod(0o755)
    locked = base / "locked"
    (locked / "home").mkdir(parents=True)
    locked.chmod(0o700)
    nobody = pwd.getpwnam("nobody")
    try:
        assert os.stat(locked).st_uid != nobody.pw_uid
        with pytest.raises(LocalRuntimeError, match=f"cannot enter {locked} "):
            _require_reachable(locked / "home", nobody)
        locked.chmod(0o711)
        _require_reachable(locked / "home", nobody)
    finally:
        shutil.rmtree(base)
