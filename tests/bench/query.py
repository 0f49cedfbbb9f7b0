"""B5: the query API at a fixed request rate over random existing keys.

Open loop: request ``i`` is due at ``start + i / rate`` whether or not earlier
ones were answered, and its latency counts from that due time, so a stalled
server shows up in the percentiles instead of slowing the client down
(no coordinated omission). Keys are drawn from what the recovered worker
holds: customers (two routed hops: identity, then context) and SKUs (one
local read), half and half.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from yarl import URL

from tests.bench import http_load
from tests.bench.recovery import Recovered
from tests.bench.workload import customer_id, location, sku

CONNECTIONS = 64


@dataclass
class LoadResult:
    rate: float
    seconds: float
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0

    @property
    def all(self) -> list[float]:
        return sorted(v for values in self.latencies_ms.values() for v in values)

    finished: float = 0.0  # seconds from the first due time to the last answer

    @property
    def achieved(self) -> float:
        """Answers per second over the time it took to get them all."""
        done = sum(len(v) for v in self.latencies_ms.values())
        return done / max(self.finished, self.seconds)

    def p(self, q: float, values: list[float] | None = None) -> float:
        data = sorted(values) if values is not None else self.all
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(len(data) * q / 100))]

    def figures(self) -> dict[str, float]:
        data = self.all
        return {
            "p50_ms": round(self.p(50), 2),
            "p99_ms": round(self.p(99), 2),
            "max_ms": round(max(data), 2) if data else float("nan"),
            "offered_rps": self.rate,
            "achieved_rps": round(self.achieved),
            "requests": len(data),
            "errors": self.errors,
        }

    def per_endpoint(self) -> dict[str, dict[str, float]]:
        return {
            name: {"p50_ms": round(self.p(50, v), 2), "p99_ms": round(self.p(99, v), 2)}
            for name, v in self.latencies_ms.items()
        }


def paths(recovered: Recovered, count: int, seed: int = 11) -> list[tuple[str, str]]:
    """(endpoint label, path) of ``count`` requests over existing keys."""
    rng = random.Random(seed)
    out = []
    for n in range(count):
        if n % 2 == 0:
            who = customer_id(rng.randrange(recovered.keys))
            out.append(("customer context", f"/v1/customers/{who}/context"))
        elif n % 4 == 1:
            out.append(("stock by sku", f"/v1/stock/{sku(rng.randrange(recovered.skus))}"))
        else:
            code, at = (
                sku(rng.randrange(recovered.skus)),
                location(rng.randrange(recovered.locations)),
            )
            out.append(("stock at location", f"/v1/stock/{code}/{at}"))
    return out


def load(recovered: Recovered, rate: float, seconds: float) -> LoadResult:
    """``rate`` requests/s for ``seconds`` against the recovered worker."""
    plan = paths(recovered, int(rate * seconds))
    result = LoadResult(rate, seconds)

    def answer(label: str, status: int, ms: float) -> None:
        if status != 200:
            result.errors += 1
        else:
            result.latencies_ms.setdefault(label, []).append(ms)

    url = URL(recovered.url)
    assert url.host is not None
    assert url.port is not None
    result.finished = http_load.run(url.host, url.port, plan, rate, answer, CONNECTIONS)
    return result
