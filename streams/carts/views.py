"""``GET /v1/profiles/{canonical}/cart``: a cart by canonical id, on the worker that owns it.

Called by the public ``/v1/carts/{identifier}`` (:mod:`streams.identity.views`)
after identity resolution. A merged cart answers ``{"merged_into": ...}`` so
the caller follows it to the survivor's cart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from streams.carts import model, tables
from streams.web import Reader, bad_id, error_bytes, json_bytes, reader_response, routed, valid_id

if TYPE_CHECKING:
    import faust


def install(
    app: faust.App, table: faust.types.TableT[Any, Any], readers: dict[str, Reader]
) -> None:
    def read(canonical: str) -> tuple[int, bytes]:
        data = table.get(canonical.encode())
        if data is None:
            return 404, error_bytes(404, f"no cart for canonical id {canonical!r}")
        cart = tables.decode(data)
        if cart.merged_into is not None:
            return 200, json_bytes({"cart_key": canonical, "merged_into": cart.merged_into})
        return 200, json_bytes(model.to_view(cart))

    readers["cart"] = read

    @app.page("/v1/profiles/{canonical}/cart")
    async def profile_cart(web: Any, request: Any, canonical: str) -> Any:
        if not valid_id(canonical):
            return bad_id(web, "canonical id", canonical)

        async def local() -> Any:
            return reader_response(web, read(canonical))

        return await routed(app, web, table.name, canonical, request.path, local)
