"""Customer query API: context, cart and identity (audit) by any identifier.

Any identifier works (customer id, anonymous id, e-mail or phone hash, loyalty
id, device id): the request is first routed (``table_route``) to the worker
owning the identifier's partition of ``identity_links``, which resolves it to
the canonical id. The context and cart are keyed by canonical id, usually on
another partition, so that worker then makes a second HTTP hop to the owner of
the canonical id (Faust's assignor tells which worker that is) and relays the
answer; a redirect of a merged profile is followed. Reading the other table
locally would be reading a partition this worker does not own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson

from streams import rocks
from streams.context.tables import TABLE_NAME as PROFILES_TABLE
from streams.identity import tables
from streams.web import JSON, bad_id, error, is_here, json_response, owner, routed, valid_id

if TYPE_CHECKING:
    import faust

    from streams.identity.agents import Resolver

MAX_REDIRECTS = 4


def install(app: faust.App, resolver: Resolver) -> None:
    table = resolver.table

    def canonical_of(identifier: str) -> str | None:
        data = rocks.read(table, identifier.encode())
        return tables.decode(data).canonical if data is not None else None

    async def relay(web: Any, canonical: str, what: str) -> Any:
        """Fetch from the canonical id's owner, following merge redirects."""
        for _ in range(MAX_REDIRECTS):
            dest = await owner(app, PROFILES_TABLE, canonical)
            if dest is None:
                return error(web, 503, "partitions are being assigned; retry shortly")
            read = resolver.runtime.readers.get(what)
            if read is not None and is_here(app, dest):
                status, body, into = read(canonical)  # this worker owns it: no HTTP hop
            else:
                url = str(dest.with_path(f"/v1/profiles/{canonical}/{what}"))
                async with app.http_client.get(url) as answer:
                    status, body = answer.status, await answer.read()
                into = orjson.loads(body).get("merged_into") if status == 200 else None
            if status != 200:
                return web.bytes(body, content_type=JSON, status=status)
            if not into:
                return web.bytes(body, content_type=JSON, status=200)
            canonical = into
        return error(web, 404, f"too many merge redirects from {canonical!r}")

    def resolving(what: str) -> Callable[[Any, Any, str], Awaitable[Any]]:
        async def handler(web: Any, request: Any, identifier: str) -> Any:
            if not valid_id(identifier):
                return bad_id(web, "identifier", identifier)

            async def local() -> Any:
                canonical = canonical_of(identifier)
                if canonical is None:
                    return error(web, 404, f"no customer known for identifier {identifier!r}")
                return await relay(web, canonical, what)

            return await routed(app, web, table.name, identifier, request.path, local)

        return handler

    app.page("/v1/customers/{identifier}/context")(resolving("context"))
    app.page("/v1/carts/{identifier}")(resolving("cart"))

    @app.page("/v1/identities/{identifier}")
    async def identity(web: Any, request: Any, identifier: str) -> Any:
        """The identifier's link, and for a canonical one its members, merges and audit log."""
        if not valid_id(identifier):
            return bad_id(web, "identifier", identifier)

        async def local() -> Any:
            data = rocks.read(table, identifier.encode())
            if data is None:
                return error(web, 404, f"no customer known for identifier {identifier!r}")
            entry = tables.decode(data)
            return json_response(
                web,
                {
                    "identifier": entry.value,
                    "kind": entry.kind,
                    "canonical_id": entry.canonical,
                    "canonical_kind": entry.canonical_kind,
                    "members": sorted(entry.members),
                    "merged_into": entry.merged_into,
                    "merges": entry.merges,
                    "audit": list(entry.audit),
                },
            )

        return await routed(app, web, table.name, identifier, request.path, local)
