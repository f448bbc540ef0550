"""POST a signed event to an endpoint with httpx: no redirects followed, a bounded wait for
the whole attempt (resolving, connecting, sending, answering), and, unless allowed for local
development, connections only to public addresses checked at connect time
(adapters/outbound/pinned_connections.py), so an endpoint cannot reach the internal network.

An endpoint's path and query may carry the platform's secrets: no log line names more of
the URL than its scheme and host (`origin_only` rewrites httpx's request log)."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from datetime import datetime

import httpx

from adapters.outbound.pinned_connections import (
    PinnedBackend,
    PinnedTransport,
    Resolver,
    system_resolver,
)
from adapters.outbound.signing import signed_headers

log = logging.getLogger("bookpay.events_out")

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Bookpay-Webhooks/1"
# How much of an endpoint's answer is read: its status is what counts; the body is read no
# further than this (an endpoint answering 200 with an endless body must not fill memory),
# then the connection is closed.
RESPONSE_EXCERPT_BYTES = 4096


def origin_only(url: httpx.URL | str) -> str:
    """`https://hooks.example.com/t/s3cr3t?k=v` → `https://hooks.example.com`."""
    try:
        parsed = httpx.URL(url) if isinstance(url, str) else url
    except (httpx.InvalidURL, TypeError):
        return "<an invalid URL>"
    port = f":{parsed.port}" if parsed.port is not None else ""
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    return f"{parsed.scheme}://{host}{port}"


class _OriginOnly(logging.Filter):
    """Rewrites every URL in a record of httpx's logger to its origin (httpx logs each
    request's full URL at INFO)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                origin_only(a) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


_httpx_log = logging.getLogger("httpx")
if not any(isinstance(f, _OriginOnly) for f in _httpx_log.filters):
    _httpx_log.addFilter(_OriginOnly())


class HttpEventSender:
    """The EventSender port over HTTP. One client (connection pool) per process.

    `resolve` and `verify` are for tests (a name resolved to a local receiver; its CA)."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = TIMEOUT_SECONDS,
        resolve: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self._timeout = timeout
        self._backend = PinnedBackend(allow_private=allow_private, resolve=resolve)
        self._verify = verify
        self._client: httpx.AsyncClient | None = None

    async def send(
        self,
        url: str,
        *,
        message_id: str,
        body: bytes,
        secrets: Sequence[str],
        timestamp: datetime,
    ) -> int | None:
        try:
            if self._client is None:
                self._client = httpx.AsyncClient(
                    transport=PinnedTransport(self._backend, verify=self._verify),
                    timeout=self._timeout,
                    follow_redirects=False,
                    trust_env=False,
                )
            headers = signed_headers(message_id, timestamp, body, secrets)
            headers["content-type"] = "application/json"
            headers["user-agent"] = USER_AGENT
            status, _excerpt = await asyncio.wait_for(
                self._post(self._client, url, body, headers), self._timeout
            )
        except Exception as error:  # any failure is "no answer": retried, never fatal
            log.info(
                "event %s to %s not delivered: %s",
                message_id,
                origin_only(url),
                type(error).__name__,
            )
            return None
        return status

    @staticmethod
    async def _post(
        client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """The answer's status and at most RESPONSE_EXCERPT_BYTES of its body, as sent (not
        decompressed: a small gzip body may inflate to gigabytes)."""
        request = client.build_request("POST", url, content=body, headers=headers)
        response = await client.send(request, stream=True)
        excerpt = bytearray()
        try:
            async for chunk in response.aiter_raw():
                excerpt += chunk[: RESPONSE_EXCERPT_BYTES - len(excerpt)]
                if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                    break
        finally:
            await response.aclose()  # an unread rest closes the connection, unread
        return response.status_code, bytes(excerpt)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
