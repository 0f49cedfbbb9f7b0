"""``GET /v1/orders/{order_id}``: the order view as JSON.

An order lives on the worker that owns its partition; the request is relayed
there (:func:`streams.web.routed`), so any worker answers for any order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.orders import model
from streams.web import bad_id, error, json_response, routed, valid_id

if TYPE_CHECKING:
    import faust

    from streams.orders.agents import OrdersProcessor


def install(app: faust.App, processor: OrdersProcessor) -> None:
    @app.page("/v1/orders/{order_id}")
    async def order_by_id(web: Any, request: Any, order_id: str) -> Any:
        if not valid_id(order_id):
            return bad_id(web, "order_id", order_id)

        async def local() -> Any:
            order = processor.lookup(order_id)
            if order is None:
                return error(web, 404, f"no order known with id {order_id!r}")
            return json_response(web, model.to_view(order))

        return await routed(app, web, processor.table.name, order_id, request.path, local)
