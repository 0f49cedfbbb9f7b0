"""``GET /v1/stock/{sku}`` and ``GET /v1/stock/{sku}/{location}``.

A SKU's state lives on the worker that owns its partition; the request is
relayed there (:func:`streams.web.routed`), so any worker answers any SKU.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams import rocks
from streams.stock import model, tables
from streams.web import bad_id, error, json_response, routed, valid_id

if TYPE_CHECKING:
    import faust

    from streams.stock.agents import StockProcessor


def install(app: faust.App, processor: StockProcessor) -> None:
    table = processor.table

    def lookup(sku: str) -> tables.SkuState | None:
        data = rocks.read(table, sku.encode())
        return tables.decode(data) if data is not None else None

    @app.page("/v1/stock/{sku}")
    async def stock_for_sku(web: Any, request: Any, sku: str) -> Any:
        if not valid_id(sku):
            return bad_id(web, "sku", sku)

        async def local() -> Any:
            state = lookup(sku)
            if state is None or not state.stock.levels:
                return error(web, 404, f"no stock known for sku {sku!r}")
            levels = [model.to_view(level) for level in state.stock.levels.values()]
            total = model.total(state.stock.levels.values(), sku)
            return json_response(web, {"total": total, "locations": levels})

        return await routed(app, web, table.name, sku, request.path, local)

    @app.page("/v1/stock/{sku}/{location}")
    async def stock_at_location(web: Any, request: Any, sku: str, location: str) -> Any:
        for name, value in (("sku", sku), ("location", location)):
            if not valid_id(value):
                return bad_id(web, name, value)

        async def local() -> Any:
            state = lookup(sku)
            if state is None or location not in state.stock.levels:
                return error(web, 404, f"no stock known for sku {sku!r} at {location!r}")
            return json_response(web, model.to_view(state.stock.levels[location]))

        return await routed(app, web, table.name, sku, request.path, local)
