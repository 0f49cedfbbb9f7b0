"""Fetch the Kafka jars and the Apicurio Registry app with Maven, once.

Maven Central is the one artifact source this project may rely on, so the
broker is assembled from ``kafka_2.13`` and its runtime dependencies rather
than from a release tarball. Each artifact set lands in a versioned
directory under ``settings.home/lib`` and is trusted only once a marker file
written after the last step exists: an interrupted fetch is redone from
scratch instead of leaving a broker with half its classpath.
"""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

from deploy.local.exceptions import FetchFailed, MavenNotFound
from deploy.local.proc import state_lock
from schemas.settings import LocalRuntimeSettings

POM = Path(__file__).with_name("pom.xml")
MARKER = ".complete"
_TAIL_LINES = 20


def kafka_lib_dir(local: LocalRuntimeSettings) -> Path:
    """Where the broker's classpath lives, one directory per Kafka version."""
    return local.home / "lib" / f"kafka-{local.kafka_version}"


def apicurio_dir(local: LocalRuntimeSettings) -> Path:
    """Where the extracted registry app lives, one directory per Apicurio version."""
    return local.home / "lib" / f"apicurio-{local.apicurio_version}"


def _kafka_stamp(local: LocalRuntimeSettings) -> str:
    """Marker content: a change of any pinned version invalidates the directory."""
    return f"kafka={local.kafka_version} log4j={local.log4j_version} slf4j={local.slf4j_version}\n"


def _is_complete(target: Path, stamp: str) -> bool:
    marker = target / MARKER
    return marker.is_file() and marker.read_text() == stamp


def _fresh_dir(target: Path) -> None:
    """Start from an empty directory so leftovers of a failed fetch cannot leak in."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenNotFound("`mvn` is not on PATH; install Maven (apt-get install maven)")
    return mvn


def _run_maven(args: list[str], cwd: Path) -> None:
    """Run Maven quietly; on failure raise with the tail of its output."""
    cmd = [_mvn(), "-B", "-q", *args]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-_TAIL_LINES:])
        raise FetchFailed(f"maven exited with {done.returncode}: {' '.join(args)}\n{tail}")


def _fetch_lock(local: LocalRuntimeSettings) -> Path:
    return local.home / "locks" / "fetch.lock"


def ensure_kafka(local: LocalRuntimeSettings) -> Path:
    """The directory holding every jar ``kafka.Kafka`` needs; fetched if missing."""
    with state_lock(_fetch_lock(local)):
        return _ensure_kafka(local)


def _ensure_kafka(local: LocalRuntimeSettings) -> Path:
    target = kafka_lib_dir(local)
    stamp = _kafka_stamp(local)
    if _is_complete(target, stamp):
        return target
    _fresh_dir(target)
    _run_maven(
        [
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={target}",
            f"-Dkafka.version={local.kafka_version}",
            f"-Dlog4j.version={local.log4j_version}",
            f"-Dslf4j.version={local.slf4j_version}",
        ],
        cwd=target,
    )
    if not any(target.glob(f"kafka_2.13-{local.kafka_version}.jar")):
        raise FetchFailed(f"maven finished but no kafka_2.13-{local.kafka_version}.jar in {target}")
    (target / MARKER).write_text(stamp)
    return target


def _extract(archive: Path, into: Path) -> None:
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")


def ensure_apicurio(local: LocalRuntimeSettings) -> Path:
    """The directory holding ``quarkus-run.jar`` of Apicurio Registry; fetched if missing."""
    with state_lock(_fetch_lock(local)):
        return _ensure_apicurio(local)


def _ensure_apicurio(local: LocalRuntimeSettings) -> Path:
    target = apicurio_dir(local)
    stamp = f"apicurio={local.apicurio_version}\n"
    if _is_complete(target, stamp):
        return registry_app_dir(target)
    _fresh_dir(target)
    download = target / ".download"
    download.mkdir()
    artifact = f"io.apicurio:apicurio-registry-app:{local.apicurio_version}:tar.gz:all"
    _run_maven(
        ["dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={download}"],
        cwd=download,
    )
    archives = list(download.glob("*.tar.gz"))
    if not archives:
        raise FetchFailed(f"maven finished but left no tar.gz in {download}")
    _extract(archives[0], target)
    shutil.rmtree(download)
    app = registry_app_dir(target)
    (target / MARKER).write_text(stamp)
    return app


def registry_app_dir(target: Path) -> Path:
    """The folder of ``quarkus-run.jar``: the archive may or may not nest it in a subfolder."""
    found = sorted(target.rglob("quarkus-run.jar"), key=lambda p: len(p.parts))
    if not found:
        raise FetchFailed(f"no quarkus-run.jar under {target}; delete it to fetch again")
    return found[0].parent
