"""Running a plan: the ERP prelude, then journeys side by side, paced, with a progress bar.

A run ends when every journey is done or after ``duration`` seconds (0: no
limit), whichever comes first; a journey whose request was refused stops
there (its next steps would depend on it) and the refusal is reported.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from connectors.simulator.journeys import Plan, plan
from connectors.simulator.messages import CONNECTORS, Step
from connectors.simulator.pacing import Pacer
from connectors.simulator.send import Endpoints, Outcome, send
from connectors.simulator.world import build
from schemas.settings import Settings

MAX_ERRORS = 10
MAX_CONCURRENCY = 128
REQUEST_TIMEOUT_S = 30.0


@dataclass
class Tally:
    """One connector's share of a run, in requests and channel messages (events)."""

    requests: int = 0
    events: int = 0
    accepted: int = 0
    rejected: int = 0
    failed: int = 0


@dataclass
class Summary:
    seed: int
    customers: int
    planned_events: int
    target_rate: float
    elapsed_s: float = 0.0
    finished: bool = False
    connectors: dict[str, Tally] = field(default_factory=lambda: {c: Tally() for c in CONNECTORS})
    errors: list[str] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(t.events for t in self.connectors.values())

    @property
    def accepted(self) -> int:
        return sum(t.accepted for t in self.connectors.values())

    @property
    def rate(self) -> float:
        """Events a second actually sent, over the whole run."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def record(self, step: Step, outcome: Outcome) -> None:
        tally = self.connectors[step.connector]
        tally.requests += 1
        tally.events += step.events
        if outcome.accepted:
            tally.accepted += step.events
        elif 400 <= outcome.status < 500:
            tally.rejected += step.events
        else:
            tally.failed += step.events
        if not outcome.accepted and len(self.errors) < MAX_ERRORS:
            self.errors.append(f"{step.connector} {step.route}: {outcome.status} {outcome.detail}")


class Run:
    """The state one simulation shares between its concurrent journeys."""

    def __init__(self, endpoints: Endpoints, pacer: Pacer, summary: Summary, deadline: float):
        self.endpoints = endpoints
        self.pacer = pacer
        self.summary = summary
        self.deadline = deadline
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    async def journey(self, client: aiohttp.ClientSession, steps: Sequence[Step]) -> bool:
        """Send the steps in order; False if one was refused or time ran out."""
        for step in steps:
            if self.expired():
                return False
            await self.pacer.wait(step.events)
            if self.expired():
                return False
            outcome = await send(client, self.endpoints, step)
            self.summary.record(step, outcome)
            if self.progress is not None and self.task is not None:
                self.progress.advance(self.task, step.events)
            if not outcome.accepted:
                return False
        return True

    async def journeys(
        self, client: aiohttp.ClientSession, journeys: Sequence[Sequence[Step]], concurrency: int
    ) -> None:
        queue: asyncio.Queue[Sequence[Step]] = asyncio.Queue()
        for journey in journeys:
            queue.put_nowait(journey)

        async def worker() -> None:
            while not queue.empty() and not self.expired():
                await self.journey(client, queue.get_nowait())

        await asyncio.gather(*(worker() for _ in range(concurrency)))


def default_concurrency(rate: float, journeys: int) -> int:
    """Enough journeys in flight to reach ``rate`` at a few ms per request, within limits."""
    wanted = MAX_CONCURRENCY if rate <= 0 else max(8, math.ceil(rate / 20))
    return max(1, min(wanted, MAX_CONCURRENCY, journeys))


async def simulate(
    settings: Settings,
    customers: int,
    rate: float,
    duration: float,
    seed: int,
    *,
    console: Console | None = None,
    progress: bool = True,
) -> Summary:
    """Send the seed's journeys through the running connectors; the summary of what happened."""
    the_plan: Plan = plan(build(seed, customers))
    summary = Summary(seed, customers, the_plan.events(), rate)
    deadline = time.monotonic() + duration if duration > 0 else math.inf
    run_ = Run(Endpoints.from_settings(settings), Pacer(rate), summary, deadline)
    concurrency = default_concurrency(rate, len(the_plan.journeys))
    started = time.monotonic()
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
    ) as bar:
        run_.progress, run_.task = bar, bar.add_task("events", total=summary.planned_events)
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency + 4),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
        ) as client:
            await run_.journey(client, the_plan.prelude)
            await run_.journeys(client, the_plan.journeys, concurrency)
    summary.elapsed_s = time.monotonic() - started
    summary.finished = summary.sent == summary.planned_events and not summary.errors
    return summary


def render(summary: Summary, console: Console) -> None:
    """The table ``omni simulate`` prints at the end."""
    table = Table(title=f"simulation, seed {summary.seed}, {summary.customers} customers")
    for column in ("connector", "requests", "events sent", "accepted", "rejected", "failed"):
        table.add_column(column, justify="left" if column == "connector" else "right")
    for name, t in summary.connectors.items():
        table.add_row(
            name, *(str(v) for v in (t.requests, t.events, t.accepted, t.rejected, t.failed))
        )
    console.print(table)
    target = f"{summary.target_rate:g}/s" if summary.target_rate > 0 else "unpaced"
    console.print(
        f"sent {summary.sent} of {summary.planned_events} events in {summary.elapsed_s:.1f} s: "
        f"{summary.rate:.1f} events/s (target {target}); "
        + ("all journeys done" if summary.finished else "stopped early")
    )
    for error in summary.errors:
        console.print(f"  [red]refused:[/] {escape(error)}", soft_wrap=True)


def run(
    settings: Settings,
    customers: int,
    rate: float,
    duration: float,
    seed: int,
    *,
    console: Console | None = None,
    progress: bool = True,
) -> Summary:
    """Blocking entry point (``omni simulate``, ``make run``): simulate and print the summary."""
    console = console or Console()
    summary = asyncio.run(
        simulate(settings, customers, rate, duration, seed, console=console, progress=progress)
    )
    render(summary, console)
    return summary
