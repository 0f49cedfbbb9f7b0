"""The HTTP base every webhook-style connector shares (aiohttp).

A subclass adds its routes; the base gives it, for free and the same way for
every channel:

* JSON errors: every ``RequestError``/``PublishError`` and every aiohttp HTTP
  error becomes ``{"error": code, "detail": message}`` with its status (4xx for
  bad input, 503 plus ``Retry-After`` under backpressure or when Kafka does not
  acknowledge); an unexpected exception is logged with its traceback and
  answered 500, never hidden.
* ``/healthz`` (503 while draining) and ``/metrics`` (Prometheus).
* One JSON log line per request, request metrics, optional CORS.
* Graceful stop: close the listening socket, let every running request finish
  (so each one answered 200 is in Kafka), then flush the producer. A request
  that arrives on a kept-alive connection meanwhile is answered 503 (with
  ``Retry-After`` and ``Connection: close``), so the client retries elsewhere.
"""

from __future__ import annotations

import abc
import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson
from aiohttp import web

from connectors.core.exceptions import ConnectorError, PublishError, RequestError
from connectors.core.logs import get_logger
from connectors.core.metrics import ConnectorMetrics
from connectors.core.publisher import Publisher

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNMATCHED = "unmatched"
CORS_METHODS = "POST, GET, OPTIONS"
CORS_MAX_AGE_S = "86400"
OBSERVE_PATHS = frozenset({"/healthz", "/metrics"})  # answered while draining too
DRAIN_POLL_S = 0.01


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    """orjson, not aiohttp's json.dumps: the answer is on every request's path."""
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None
) -> web.Response:
    return json_response(status, {"error": code, "detail": detail}, headers)


def _route_of(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource if route is not None else None
    return resource.canonical if resource is not None else UNMATCHED


def cors_middleware(allow_origins: Sequence[str]) -> Any:
    """Answer preflights and label answers for browsers (analytics.js posts cross-origin).

    ``*`` allows any origin; the origin is echoed (with ``Vary: Origin``) rather
    than ``*`` so that requests sent with credentials are allowed too.
    """
    anyone = "*" in allow_origins
    allowed = frozenset(allow_origins)

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or not (anyone or origin in allowed):
            return await handler(request)
        headers = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
        if request.method == "OPTIONS":
            asked = request.headers.get("Access-Control-Request-Headers", "")
            headers["Access-Control-Allow-Methods"] = CORS_METHODS
            headers["Access-Control-Allow-Headers"] = asked or "Authorization, Content-Type"
            headers["Access-Control-Max-Age"] = CORS_MAX_AGE_S
            return web.Response(status=204, headers=headers)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(headers)
            raise
        response.headers.update(headers)
        return response

    return cors


class HttpService(abc.ABC):
    """A connector that listens on HTTP and publishes what it is sent.

    Subclasses implement ``add_routes``. ``start``/``stop`` make it a service
    the runner can drive; ``port`` is the bound port (``0`` asks for a free one).
    """

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        publisher: Publisher,
        metrics: ConnectorMetrics,
        client_max_size: int = 1024 * 1024,
        drain_timeout_s: float = 30.0,
        cors_origins: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.publisher = publisher
        self.metrics = metrics
        self.log = get_logger(name)
        self._client_max_size = client_max_size
        self._drain_timeout_s = drain_timeout_s
        self._cors_origins = tuple(cors_origins)
        self._runner: web.AppRunner | None = None
        self.draining = False
        self._handling = 0  # requests inside a handler (their headers have arrived)

    @abc.abstractmethod
    def add_routes(self, app: web.Application) -> None:
        """The connector's own endpoints."""

    async def prepare(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Work before the socket opens (e.g. ``publisher.prepare`` of the records it sends)."""

    def build_app(self) -> web.Application:
        middlewares: list[Any] = [self._observe]
        if self._cors_origins:
            middlewares.insert(0, cors_middleware(self._cors_origins))
        app = web.Application(middlewares=middlewares, client_max_size=self._client_max_size)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        self.add_routes(app)
        return app

    async def start(self) -> None:
        await self.prepare()
        # Bodies arrive as sent: a connector decodes them itself, bounded (see
        # ``connectors.collector.body``), and HMAC checks need the bytes as signed.
        self._runner = web.AppRunner(
            self.build_app(),
            access_log=None,
            shutdown_timeout=self._drain_timeout_s,
            auto_decompress=False,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.log.info("listening", extra={"fields": {"host": self.host, "port": self.port}})

    async def stop(self) -> None:
        """Stop accepting, finish running requests, flush the producer.

        The listening sockets close first and the running requests finish
        before ``AppRunner.cleanup``: once that starts, aiohttp drops whatever
        arrives on open connections (``RequestHandler.data_received`` returns
        when closing), so a request whose body was still on its way would wait
        for it until the drain timeout and fail instead of being answered.
        """
        self.draining = True
        self.log.info(
            "draining",
            extra={"fields": {"in_flight": self.publisher.in_flight, "handling": self._handling}},
        )
        if self._runner is not None:
            for site in list(self._runner.sites):
                await site.stop()
            await self._wait_for_handlers()
            await self._runner.cleanup()
        left = await self.publisher.close(self._drain_timeout_s)
        if left:
            self.log.error("records not acknowledged at exit", extra={"fields": {"count": left}})
        self.log.info("stopped")

    async def _wait_for_handlers(self) -> None:
        deadline = time.monotonic() + self._drain_timeout_s
        while self._handling and time.monotonic() < deadline:
            await asyncio.sleep(DRAIN_POLL_S)

    async def _healthz(self, _request: web.Request) -> web.Response:
        if self.draining:
            return json_response(503, {"status": "draining"})
        return json_response(200, {"status": "ok", "in_flight": self.publisher.in_flight})

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": self.metrics.content_type}
        )

    @web.middleware
    async def _observe(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        if self.draining and request.path not in OBSERVE_PATHS:
            return self._refuse_while_draining(request)
        self._handling += 1
        try:
            response = await handler(request)
        except ConnectorError as exc:
            response = self._error(exc)
        except web.HTTPException as exc:
            response = error_response(
                exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason
            )
            response.headers.update({k: v for k, v in exc.headers.items() if k == "Allow"})
            self.metrics.reject(response.reason.lower().replace(" ", "_"))
        except Exception:
            self.log.exception("unhandled error", extra={"fields": {"path": request.path}})
            response = error_response(500, "internal", "unexpected error; it was logged")
        finally:
            self._handling -= 1
        route = _route_of(request)
        self.metrics.request(route, response.status)
        self.log.info(
            "request",
            extra={
                "fields": {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status,
                    "ms": round((time.perf_counter() - started) * 1000, 2),
                }
            },
        )
        return response

    def _refuse_while_draining(self, request: web.Request) -> web.Response:
        self.metrics.reject("draining")
        self.metrics.request(_route_of(request), 503)
        headers = {"Retry-After": "1", "Connection": "close"}
        return error_response(503, "draining", "the connector is shutting down; retry", headers)

    def _error(self, exc: ConnectorError) -> web.Response:
        headers = None
        if isinstance(exc, PublishError):
            headers = {"Retry-After": str(exc.retry_after_s)}
        elif not isinstance(exc, RequestError):
            self.log.error("connector error", extra={"fields": {"error": str(exc)}})
        self.metrics.reject(exc.code)
        return error_response(exc.status, exc.code, str(exc), headers)
