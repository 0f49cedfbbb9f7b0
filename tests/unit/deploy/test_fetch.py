"""Fetching is idempotent and its failures are explicit; Maven is faked here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploy.local.exceptions import FetchFailed, MavenNotFound
from deploy.local.fetch import MARKER, ensure_kafka, kafka_lib_dir
from schemas.settings import LocalRuntimeSettings

FAKE_MVN = """#!{python}
import pathlib, sys
calls = pathlib.Path({calls!r})
calls.write_text(calls.read_text() + " ".join(sys.argv[1:]) + "\\n" if calls.exists() else "")
if {fail!r}:
    print("[ERROR] Could not resolve dependencies for project omni.backbone:local-runtime")
    sys.exit(1)
args = dict(a[2:].split("=", 1) for a in sys.argv if a.startswith("-D") and "=" in a)
out = pathlib.Path(args["outputDirectory"])
(out / f"kafka_2.13-{{args['kafka.version']}}.jar").write_text("jar")
"""


def _fake_maven(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> Path:
    """Put a fake ``mvn`` first on PATH; returns the file recording its invocations."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "mvn-calls"
    calls.write_text("")
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN.format(python=sys.executable, calls=str(calls), fail=fail))
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    return calls


def test_fetches_once_then_trusts_the_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _fake_maven(tmp_path, monkeypatch)
    local = LocalRuntimeSettings(home=tmp_path / "home", kafka_version="9.9.9")
    lib = ensure_kafka(local)
    assert lib == kafka_lib_dir(local) == tmp_path / "home" / "lib" / "kafka-9.9.9"
    assert (lib / "kafka_2.13-9.9.9.jar").exists()
    assert (lib / MARKER).exists()
    assert ensure_kafka(local) == lib
    invocations = calls.read_text().splitlines()
    assert len(invocations) == 1
    assert "-Dkafka.version=9.9.9" in invocations[0]
    assert f"-Dslf4j.version={local.slf4j_version}" in invocations[0]


def test_a_half_finished_fetch_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_maven(tmp_path, monkeypatch)
    local = LocalRuntimeSettings(home=tmp_path / "home", kafka_version="9.9.9")
    partial = kafka_lib_dir(local)
    partial.mkdir(parents=True)
    (partial / "leftover-from-a-crash.jar").write_text("")
    ensure_kafka(local)
    assert len(calls.read_text().splitlines()) == 1
    assert not (partial / "leftover-from-a-crash.jar").exists()


def test_maven_failure_shows_its_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_maven(tmp_path, monkeypatch, fail=True)
    local = LocalRuntimeSettings(home=tmp_path / "home")
    with pytest.raises(
        FetchFailed, match=r"(?s)maven exited with 1.*Could not resolve dependencies"
    ):
        ensure_kafka(local)
    assert not (kafka_lib_dir(local) / MARKER).exists()


def test_missing_maven_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MavenNotFound, match="mvn"):
        ensure_kafka(LocalRuntimeSettings(home=tmp_path / "home"))
