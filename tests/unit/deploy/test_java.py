"""JDK discovery: the first ``java`` new enough wins, whatever PATH says."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.local.exceptions import JavaNotFound
from deploy.local.java import find_java, java_major, parse_java_major


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "25.0.3" 2026-04-21 LTS', 25),
        ('java version "1.8.0_392"', 8),
        ('openjdk version "21-ea" 2023-09-19', 21),
        ('openjdk version "22" 2024-03-19', 22),
        ("bash: java: command not found", None),
    ],
)
def test_parse_java_major(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    """A JDK home whose ``bin/java -version`` prints like the real one (on stderr)."""
    home = root / name
    java = home / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-01-01' >&2\n")
    java.chmod(0o755)
    return home


@pytest.fixture
def no_java_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the machine's own java so only the fake JDKs are candidates."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


@pytest.mark.usefixtures("no_java_on_path")
def test_picks_a_jdk_at_least_as_new_as_required(tmp_path: Path) -> None:
    jvms = tmp_path / "jvm"
    _fake_jdk(jvms, "a-jdk-11", "11.0.2")
    _fake_jdk(jvms, "b-jdk-17", "17.0.15")
    newest = _fake_jdk(jvms, "c-temurin-25", "25.0.3")
    assert find_java(21, roots=[jvms]) == newest / "bin" / "java"
    assert java_major(find_java(17, roots=[jvms])) == 17


@pytest.mark.usefixtures("no_java_on_path")
def test_preferred_home_comes_first(tmp_path: Path) -> None:
    jvms = tmp_path / "jvm"
    _fake_jdk(jvms, "a-jdk-25", "25")
    preferred = _fake_jdk(tmp_path, "mine", "21.0.1")
    assert find_java(21, preferred_home=preferred, roots=[jvms]) == preferred / "bin" / "java"


@pytest.mark.usefixtures("no_java_on_path")
def test_too_old_everywhere_names_what_was_tried(tmp_path: Path) -> None:
    jvms = tmp_path / "jvm"
    _fake_jdk(jvms, "jdk-17", "17.0.1")
    with pytest.raises(JavaNotFound, match=r"need a JDK >= 21; tried: .*jdk-17/bin/java \(17\)"):
        find_java(21, roots=[jvms, tmp_path / "missing"])
