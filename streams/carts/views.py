"""``GET /v1/profiles/{canonical}/cart``: a cart by canonical id, on the worker that owns it.

Called by the public ``/v1/carts/{identifier}`` (:mod:`streams.identity.views`)
after identity resolution. A merged cart answers ``{"merged_into": ...}`` so
the caller follows it to the survivor's cart. The cart is read from the
profile's state (:mod:`streams.context.tables`), where it is kept with the
event ids applied to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streams import rocks
from streams.carts import model
from streams.web import (
    Answer,
    Reader,
    bad_id,
    error_bytes,
    json_bytes,
    reader_response,
    routed,
    valid_id,
)

if TYPE_CHECKING:
    import faust


def install(
    app: faust.App,
    table: faust.types.TableT[Any, Any],
    cart_of: Callable[[bytes], model.Cart | None],
    readers: dict[str, Reader],
) -> None:
    """``cart_of`` reads the cart out of one value of ``table`` (the profile's state)."""

    def read(canonical: str) -> Answer:
        data = rocks.read(table, canonical.encode())
        cart = None if data is None else cart_of(data)
        if cart is None:
            return Answer(404, error_bytes(404, f"no cart for canonical id {canonical!r}"))
        if cart.merged_into is not None:
            body = json_bytes({"cart_key": canonical, "merged_into": cart.merged_into})
            return Answer(200, body, cart.merged_into)
        return Answer(200, json_bytes(model.to_view(cart)))

    readers["cart"] = read

    @app.page("/v1/profiles/{canonical}/cart")
    async def profile_cart(web: Any, request: Any, canonical: str) -> Any:
        if not valid_id(canonical):
            return bad_id(web, "canonical id", canonical)

        async def local() -> Any:
            return reader_response(web, read(canonical))

        return await routed(app, web, table.name, canonical, request.path, local)
