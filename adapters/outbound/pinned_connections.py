"""Connections to checked addresses only: the endpoint's host is resolved ONCE per
connection, every address it resolves to is judged (domain/endpoint_hosts.py), and the
socket is opened to one of those very addresses, so a name that resolves public when
checked and private when connected (DNS rebinding) never reaches the private address.

The URL keeps its host name: the `Host` header, TLS SNI and certificate verification are
the name's, only the TCP connection is pinned (httpcore asks its network backend to
connect to the URL's host; this backend resolves, checks and connects)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import typing
from collections.abc import Awaitable, Callable, Iterable

import httpcore
import httpx

from domain.endpoint_hosts import is_public_address

# host, port -> the addresses (strings) to connect to, in order of preference.
Resolver = Callable[[str, int], Awaitable[list[str]]]


class AddressRefused(httpcore.ConnectError):
    """The endpoint's host resolves to an address events may not be sent to."""


async def system_resolver(host: str, port: int) -> list[str]:
    """The platform's resolver (getaddrinfo), without duplicates, in its order."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise httpcore.ConnectError(f"{host} does not resolve") from error
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend that connects only to addresses it checked itself."""

    def __init__(self, *, allow_private: bool, resolve: Resolver = system_resolver) -> None:
        self._allow_private = allow_private
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def checked_addresses(self, host: str, port: int) -> list[str]:
        """Resolves `host` once; raises AddressRefused when any address is not public
        (unless private addresses are allowed), or when it resolves to nothing."""
        addresses = await self._resolve(host, port)
        if not addresses:
            raise AddressRefused(f"{host} resolves to no address")
        for address in addresses:
            parsed = ipaddress.ip_address(address.split("%")[0])
            if not self._allow_private and not is_public_address(parsed):
                raise AddressRefused(f"{host} resolves to a non-public address")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        last_error: Exception | None = None
        for address in await self.checked_addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last_error = error
        raise httpcore.ConnectError(f"no address of {host} accepted the connection") from (
            last_error
        )

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("events are sent over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)


class PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose connections are pinned.

    httpx 0.28 offers no argument for httpcore's `network_backend`, so the pool httpx made
    is replaced by one made the same way with the pinned backend (pinned versions,
    requirements.lock; tests/integration/test_event_sender.py covers it)."""

    def __init__(
        self,
        backend: PinnedBackend,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits = LIMITS,
    ) -> None:
        # One context for both pools: loading the CA bundle is most of a transport's cost.
        context = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify)
        super().__init__(verify=context, trust_env=False, limits=limits)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=backend,
        )


__all__: typing.Final = [
    "AddressRefused",
    "PinnedBackend",
    "PinnedTransport",
    "Resolver",
    "system_resolver",
]
