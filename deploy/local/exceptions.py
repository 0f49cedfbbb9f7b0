"""Errors of the local runtime (``deploy/local``).

    OmniError                      root of every error the backbone raises on purpose
    └── LocalRuntimeError          the local Kafka / registry runtime
        ├── ToolNotFound           a program the runtime needs is missing
        │   ├── JavaNotFound       no JDK new enough (Kafka needs 17, Apicurio 21)
        │   └── MavenNotFound      ``mvn`` is not on PATH, so nothing can be fetched
        ├── FetchFailed            Maven could not fetch the jars or the registry app
        ├── PortInUse              a port we must listen on is taken by someone else
        ├── StartTimeout           a service did not become ready in time
        └── ProcessFailed          a JVM exited (or a tool failed) while we waited on it

Messages carry what is needed to act without opening another file: the
port, the exit code, the tail of the log. The CLI prints them as one line.
"""

from __future__ import annotations

from schemas.exceptions import OmniError


class LocalRuntimeError(OmniError):
    """Root of the local runtime's errors."""


class ToolNotFound(LocalRuntimeError):
    """A program the runtime shells out to cannot be found."""


class JavaNotFound(ToolNotFound):
    """No JDK of the required major version was found."""


class MavenNotFound(ToolNotFound):
    """Maven is needed to fetch Kafka and Apicurio but is not installed."""


class FetchFailed(LocalRuntimeError):
    """Maven ran but did not produce the artifacts we asked for."""


class PortInUse(LocalRuntimeError):
    """A port is already bound by a process that is not one of ours."""

    def __init__(self, port: int, what: str) -> None:
        super().__init__(f"port {port} ({what}) is already in use by another process")
        self.port = port


class StartTimeout(LocalRuntimeError):
    """A service did not answer within the start timeout; the message ends with its log tail."""


class ProcessFailed(LocalRuntimeError):
    """A process we started exited early, or a one-shot tool returned non-zero."""
