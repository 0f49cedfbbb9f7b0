"""``GET /v1/profiles/{canonical}/context``: a context by canonical id, on the worker that owns it.

The public ``/v1/customers/{identifier}/context`` (:mod:`streams.identity.views`)
resolves any identifier to a canonical id on the links table's owner and then
calls this page on the owner of the canonical id's partition, which may be a
different worker: the identity graph and the profiles are keyed differently,
so two routed hops are the price of never reading another partition's table.
A merged-away profile answers with its redirect (``merged_into``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams import rocks
from streams.carts import views as cart_views
from streams.context import model, tables
from streams.web import Answer, bad_id, error_bytes, json_bytes, reader_response, routed, valid_id

if TYPE_CHECKING:
    import faust

    from streams.context.agents import ProfileProcessor


def install(app: faust.App, processor: ProfileProcessor) -> None:
    table = processor.table

    def read(canonical: str) -> Answer:
        data = rocks.read(table, canonical.encode())
        if data is None:
            return Answer(
                404, error_bytes(404, f"no customer context for canonical id {canonical!r}")
            )
        ctx = tables.decode(data).ctx
        return Answer(200, json_bytes(model.to_view(ctx)), ctx.merged_into)

    processor.runtime.readers["context"] = read

    @app.page("/v1/profiles/{canonical}/context")
    async def profile_context(web: Any, request: Any, canonical: str) -> Any:
        if not valid_id(canonical):
            return bad_id(web, "canonical id", canonical)

        async def local() -> Any:
            return reader_response(web, read(canonical))

        return await routed(app, web, table.name, canonical, request.path, local)

    cart_views.install(app, table, lambda data: tables.decode(data).cart, processor.runtime.readers)
