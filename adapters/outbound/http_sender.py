"""POST a signed event to an endpoint with httpx: no redirects followed, a bounded wait,
and (unless allowed for local development) no private, loopback or link-local address, so
an endpoint cannot be used to reach the internal network."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

import httpx

from adapters.outbound.signing import signed_headers

log = logging.getLogger("bookpay.events_out")

TIMEOUT_SECONDS = 10.0
USER_AGENT = "Bookpay-Webhooks/1"


class AddressRefused(Exception):
    """The endpoint's host resolves to an address events may not be sent to."""


async def check_public(url: str) -> None:
    """Raises AddressRefused when any address the host resolves to is not public."""
    host = urlsplit(url).hostname or ""
    port = urlsplit(url).port or 443
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise AddressRefused(f"{host} does not resolve: {error}") from error
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise AddressRefused(f"{host} resolves to a non-public address")


class HttpEventSender:
    """The EventSender port over HTTP. One client (connection pool) per process."""

    def __init__(self, *, allow_private: bool = False, timeout: float = TIMEOUT_SECONDS) -> None:
        self._allow_private = allow_private
        self._timeout = timeout
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
            if not self._allow_private:
                await check_public(url)
            if self._client is None:
                self._client = httpx.AsyncClient(
                    timeout=self._timeout, follow_redirects=False, trust_env=False
                )
            headers = signed_headers(message_id, timestamp, body, secrets)
            headers["content-type"] = "application/json"
            headers["user-agent"] = USER_AGENT
            response = await asyncio.wait_for(
                self._client.post(url, content=body, headers=headers), self._timeout
            )
        except Exception as error:  # any failure is "no answer": retried, never fatal
            log.info("event %s not delivered: %s", message_id, type(error).__name__)
            return None
        return response.status_code

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
