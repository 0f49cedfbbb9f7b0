"""Watched folders: when a dropped file is complete, and what becomes of it once read.

The completeness rule (the same for every connector that watches a folder)
--------------------------------------------------------------------------
A file ``NAME`` directly in the folder is read when its name is not hidden or
temporary (``.NAME``, ``NAME.tmp``, ``NAME.part``, ``NAME.partial``,
``NAME~``), its suffix is a row format (``.csv``, ``.jsonl``, ``.ndjson``),
and either

1. a marker ``NAME.done`` exists next to it: the writer says it is finished
   (the marker's content is ignored; it is removed once the file is read); or
2. two polls saw the same size and modification time, that time is at least
   ``settle_s`` old, and the file ends with a newline. A file that does not
   end with a newline waits ``UNTERMINATED_FACTOR`` times longer, because a
   writer paused in the middle of a line looks exactly like that.

Writers that can should write under a temporary name and rename the file in
(a rename is atomic), or drop the marker after the file: then a half-written
file is never read, whatever its timing.

After reading, the file moves to ``done/`` (marker deleted), with
``done/NAME.rejects.json`` listing the refused rows when there were any, so a
restart never reads it again. A crash between publishing and the move reads
it again after the restart: harmless, because event ids derive from the
records' own ids and the processors drop the duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import orjson

from connectors.core.exceptions import InvalidEvent, PublishError
from connectors.core.logs import get_logger
from connectors.core.publisher import DeadLetter, Publisher
from connectors.core.rows import Reject, Unit, format_of

CHUNK_UNITS = 500
DONE_DIR = "done"
MARKER = ".done"
REJECTS = ".rejects.json"
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".swp", "~")
UNTERMINATED_FACTOR = 5
FILE_HEADER = "omni.source.file"
LINE_HEADER = "omni.source.line"
REASON_HEADER = "omni.error.reason"


def candidate(name: str) -> bool:
    """Whether a file name is one the feed reads at all (not hidden, temporary or a marker)."""
    if name.startswith(".") or name.endswith(TEMPORARY_SUFFIXES) or name.endswith(MARKER):
        return False
    return format_of(name) is not None


@dataclass
class _Seen:
    size: int
    mtime_ns: int


class Settler:
    """Rule 2 of the module docstring, as pure bookkeeping of what each poll saw."""

    def __init__(self, settle_s: float) -> None:
        self.settle_s = settle_s
        self._seen: dict[str, _Seen] = {}

    def stable(self, name: str, size: int, mtime_ns: int, now_s: float, terminated: bool) -> bool:
        """True when the last poll saw the same size and mtime and the mtime is old enough."""
        seen = self._seen.get(name)
        self._seen[name] = _Seen(size, mtime_ns)
        if seen is None or (seen.size, seen.mtime_ns) != (size, mtime_ns):
            return False
        wait = self.settle_s * (1 if terminated else UNTERMINATED_FACTOR)
        return now_s - mtime_ns / 1e9 >= wait

    def keep_only(self, names: set[str]) -> None:
        """Forget files that are gone (read and moved, or deleted by someone)."""
        for name in set(self._seen) - names:
            del self._seen[name]


def ends_with_newline(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def ready_files(folder: Path, settler: Settler, now_s: float | None = None) -> list[Path]:
    """The complete files of ``folder``, oldest first (then by name)."""
    now_s = time.time() if now_s is None else now_s
    entries = {entry.name: entry for entry in os.scandir(folder) if entry.is_file()}
    names = {name for name in entries if candidate(name)}
    settler.keep_only(names)
    ready = []
    for name in names:
        path = folder / name
        try:
            stat = entries[name].stat()
            marked = f"{name}{MARKER}" in entries
            if marked or settler.stable(
                name, stat.st_size, stat.st_mtime_ns, now_s, ends_with_newline(path)
            ):
                ready.append((stat.st_mtime_ns, name, path))
        except FileNotFoundError:  # moved or deleted since the listing: not ours any more
            continue
    return [path for _, _, path in sorted(ready)]


def archive(path: Path, rejects: list[Reject], summary: Mapping[str, object]) -> Path:
    """Move a read file to ``done/`` (never over an earlier one), its report beside it."""
    done = path.parent / DONE_DIR
    done.mkdir(exist_ok=True)
    target = done / path.name
    counter = 1
    while target.exists():
        target = done / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    if rejects:
        report = {**summary, "file": path.name, "rejects": [r.report() for r in rejects]}
        partial = done / f".{target.name}{REJECTS}.tmp"
        partial.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
        partial.replace(done / f"{target.name}{REJECTS}")
    path.replace(target)
    path.with_name(f"{path.name}{MARKER}").unlink(missing_ok=True)
    return target


@dataclass(frozen=True, slots=True)
class FileOutcome:
    """What a connector did with one file: records published and rows refused."""

    published: int
    rejects: list[Reject] = field(default_factory=list)


FileHandler = Callable[[Path, bytes], Awaitable[FileOutcome]]


class FolderFeed:
    """Polls one folder and hands each complete file to a connector's ``handler``.

    A ``PublishError`` (Kafka unreachable, backpressure) leaves the file where
    it is for the next poll. Anything unexpected ends the feed and is kept in
    ``failure``, which the connector's ``/healthz`` reports: never hidden.
    """

    def __init__(
        self,
        folder: Path,
        handler: FileHandler,
        *,
        name: str,
        settle_s: float,
        poll_interval_s: float,
        max_file_bytes: int,
    ) -> None:
        self.folder = folder
        self.handler = handler
        self.settler = Settler(settle_s)
        self.poll_interval_s = poll_interval_s
        self.max_file_bytes = max_file_bytes
        self.log = get_logger(f"{name}.files")
        self.failure: BaseException | None = None
        self.files_read = 0
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="folder-feed")
        self._task.add_done_callback(self._ended)

    async def stop(self, timeout_s: float) -> None:
        """Finish the file being read (up to ``timeout_s``), then stop polling."""
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            self._task.cancel()

    async def poll_once(self) -> int:
        """Read every complete file once; returns how many were read and archived."""
        paths = await asyncio.to_thread(ready_files, self.folder, self.settler)
        read = 0
        for path in paths:
            if self._stop.is_set() or not await self._read(path):
                break
            read += 1
        return read

    async def _run(self) -> None:
        while not self._stop.is_set():
            await self.poll_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll_interval_s)

    async def _read(self, path: Path) -> bool:
        try:
            size = path.stat().st_size
        except FileNotFoundError:  # taken away since the listing
            return True
        if size > self.max_file_bytes:
            too_big = Reject(0, b"", "file_too_large", f"{size} bytes > {self.max_file_bytes}")
            await asyncio.to_thread(archive, path, [too_big], {"published": 0})
            self.log.error("file too large", extra={"fields": {"file": path.name, "bytes": size}})
            return True
        data = await asyncio.to_thread(path.read_bytes)
        try:
            outcome = await self.handler(path, data)
        except PublishError as exc:
            self.log.warning(
                "file kept for the next poll",
                extra={"fields": {"file": path.name, "error": str(exc)}},
            )
            return False
        summary = {"published": outcome.published, "rejected": len(outcome.rejects)}
        target = await asyncio.to_thread(archive, path, outcome.rejects, summary)
        self.files_read += 1
        self.log.info("file read", extra={"fields": {"file": path.name, "to": str(target)}})
        return True

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self.failure = error
            self.log.error("folder feed failed", exc_info=error)


class RowPublisher(Publisher):
    """A ``Publisher`` whose dead letters can say which file and line they came from.

    Headers as every dead letter's, with ``omni.source.topic`` = ``file:NAME``
    and ``omni.source.offset`` = the line number, plus ``omni.source.file`` and
    ``omni.source.line`` spelled out. Dead letters go through the publisher's
    own produce path, so they share its in-flight bound, callbacks and flush.
    """

    async def dead_letter_rows(self, rejects: list[Reject], *, file: str) -> None:
        """Every refused row of a file, produced at once and acknowledged."""
        await self.dead_letter_many(
            [
                DeadLetter(
                    r.raw,
                    None,
                    r.reason,
                    r.message,
                    f"file:{file}",
                    position=str(r.line),
                    extra={FILE_HEADER: file, LINE_HEADER: str(r.line)},
                )
                for r in rejects
            ]
        )


async def publish_patiently(publish: Callable[[], Awaitable[None]], attempts: int = 30) -> None:
    """Retry on ``Backpressure``-style refusals: a file can wait, an HTTP caller cannot."""
    for attempt in range(attempts):
        try:
            await publish()
            return
        except PublishError as exc:
            if attempt == attempts - 1:
                raise
            await asyncio.sleep(exc.retry_after_s)


async def publish_file(
    publisher: RowPublisher, file: str, units: list[Unit], rejects: list[Reject]
) -> FileOutcome:
    """Publish a file's good units in chunks and dead-letter its refused rows.

    Mapping validated every unit, so a chunk normally goes in one call; if
    Kafka's schema still refuses one (a value the mapping let through), the
    chunk is retried unit by unit and only the guilty unit's rows are refused.
    """
    published = 0
    refused = list(rejects)
    for start in range(0, len(units), CHUNK_UNITS):
        chunk = units[start : start + CHUNK_UNITS]
        events = [event for unit in chunk for event in unit.events]
        try:
            await publish_patiently(partial(publisher.publish_many, events))
            published += len(events)
            continue
        except InvalidEvent:
            pass
        for unit in chunk:
            try:
                await publish_patiently(partial(publisher.publish_many, unit.events))
                published += len(unit.events)
            except InvalidEvent as exc:
                refused.extend(unit.rejected("invalid_event", str(exc)))
    refused.sort(key=lambda r: r.line)
    for start in range(0, len(refused), CHUNK_UNITS):
        rows = refused[start : start + CHUNK_UNITS]
        await publish_patiently(partial(publisher.dead_letter_rows, rows, file=file))
    return FileOutcome(published, refused)
