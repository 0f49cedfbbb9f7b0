"""When a view differs, ask the worker's query API what its *table* holds for that key.

The API reads the table, the view topic is what was emitted from it: if the
table agrees with the replay and the view does not, an emission was lost; if
both disagree, the state itself is wrong. That one line of evidence is what
turns "a key differs" into a diagnosis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from schemas.catalogue import (
    CART_VIEW,
    CUSTOMER_CONTEXT_VIEW,
    ORDER_VIEW,
    STOCK_LEVEL_VIEW,
    STOCK_TOTAL_VIEW,
)

PER_VIEW = 3


def api_path(view: str, key: str) -> str:
    """The query-API path that serves ``key`` of ``view``."""
    if view == STOCK_LEVEL_VIEW.name:
        sku, _, location = key.partition("@")
        return f"/v1/stock/{sku}/{location}"
    paths = {
        STOCK_TOTAL_VIEW.name: "/v1/stock/{}",
        ORDER_VIEW.name: "/v1/orders/{}",
        CART_VIEW.name: "/v1/carts/{}",
        CUSTOMER_CONTEXT_VIEW.name: "/v1/customers/{}/context",
    }
    return paths[view].format(key)


def table_versions(
    base_url: str,
    differing: list[str],
    wanted: Mapping[str, Mapping[str, Mapping[str, Any]]],
    latest: Mapping[tuple[str, str], Mapping[str, Any] | None],
) -> list[str]:
    """One line per sampled key: the version expected, in the view, and in the table."""
    lines: list[str] = []
    per_view: dict[str, int] = {}
    for item in differing:
        view, _, key = item.partition("/")
        per_view[view] = per_view.get(view, 0) + 1
        if per_view[view] > PER_VIEW:
            continue
        want = (wanted.get(view) or {}).get(key) or {}
        got = latest.get((view, key)) or {}
        try:
            answer = httpx.get(f"{base_url}{api_path(view, key)}", timeout=10)
            table: Any = answer.json() if answer.status_code == 200 else answer.status_code
        except httpx.HTTPError as exc:
            table = f"no answer ({exc})"
        if isinstance(table, dict) and isinstance(table.get("total"), dict):
            table = table["total"]  # /v1/stock/{sku} answers the total next to the levels
        table_version = table.get("version") if isinstance(table, dict) else table
        verdict = "emission lost" if table_version == want.get("version") else "state differs"
        lines.append(
            f"{view}/{key}: version expected {want.get('version')}, view {got.get('version')}, "
            f"table {table_version} -> {verdict}"
        )
    return lines
