"""Find a JDK new enough for the process we are about to start.

Kafka 4 brokers need Java 17, Apicurio Registry 3 needs Java 21, and a
machine may carry several JDKs with the oldest one on PATH. We therefore ask
each candidate ``java`` for its version instead of trusting its location.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path

from deploy.local.exceptions import JavaNotFound

KAFKA_MIN_JAVA = 17
REGISTRY_MIN_JAVA = 21

# Where Debian/Ubuntu JDK packages (and Temurin's .deb) install side by side.
DEFAULT_JVM_ROOTS: tuple[Path, ...] = (Path("/usr/lib/jvm"),)

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?[^"]*"')


def parse_java_major(version_output: str) -> int | None:
    """The major version from ``java -version`` output; ``1.8`` style means 8."""
    match = _VERSION.search(version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


def java_major(java: Path) -> int | None:
    """Run ``java -version`` (it prints on stderr); None when it cannot run."""
    try:
        done = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_major(done.stderr + done.stdout)


def _candidates(preferred: Path | None, roots: Iterable[Path]) -> Iterator[Path]:
    """Preferred home first, then ``java`` on PATH, then every JDK under the roots."""
    if preferred is not None:
        yield preferred / "bin" / "java"
    on_path = shutil.which("java")
    if on_path is not None:
        yield Path(on_path)
    for root in roots:
        if root.is_dir():
            yield from (home / "bin" / "java" for home in sorted(root.iterdir()))


def find_java(
    min_major: int,
    preferred_home: Path | None = None,
    roots: Iterable[Path] = DEFAULT_JVM_ROOTS,
) -> Path:
    """The first candidate ``java`` whose major version is at least ``min_major``."""
    seen: list[str] = []
    for java in _candidates(preferred_home, roots):
        if not java.is_file():
            continue
        major = java_major(java)
        seen.append(f"{java} ({major})")
        if major is not None and major >= min_major:
            return java
    tried = ", ".join(seen) or "none found"
    raise JavaNotFound(
        f"need a JDK >= {min_major}; tried: {tried}. "
        "Install one or set OMNI_LOCAL__JAVA21_HOME to its home."
    )
