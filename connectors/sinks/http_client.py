"""The HTTP client of the webhook sink: aiohttp, one pooled session per sink.

aiohttp rather than httpx here: with tens of requests in flight on one
loop, httpx's async client managed a few hundred requests/s on this machine
where aiohttp's does thousands. Transport failures become
``DeliveryRetryable``; the status code is judged by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from connectors.sinks.exceptions import DeliveryRetryable

ERROR_BODY_BYTES = 200


class AiohttpTransport:
    """``post`` returns (status, first bytes of an error body); connections are kept alive."""

    def __init__(self, max_connections: int = 100) -> None:
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # created on the running loop, at first use
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._session = aiohttp.ClientSession(connector=connector, raise_for_status=False)
        return self._session

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], timeout_s: float
    ) -> tuple[int, str]:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with self._client().post(
                url, data=body, headers=dict(headers), timeout=timeout
            ) as response:
                if 200 <= response.status < 300:
                    return response.status, ""
                detail = await response.content.read(ERROR_BODY_BYTES)
                return response.status, detail.decode(errors="replace")
        except TimeoutError as exc:
            raise DeliveryRetryable(f"no answer within {timeout_s}s") from exc
        except aiohttp.ClientError as exc:
            raise DeliveryRetryable(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
