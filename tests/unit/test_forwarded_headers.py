"""Issue 14, second review: whose `X-Forwarded-For` is believed.

uvicorn believes it from loopback unless told otherwise, and `bookpay serve` did not tell
it: anyone behind a local TCP proxy named their own client address and escaped every
per-address limit. Only the proxies listed in BOOKPAY_FORWARDED_ALLOW_IPS are believed.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import pytest
import uvicorn
from pydantic import ValidationError

from entrypoints.cli import uvicorn_options
from entrypoints.config import Settings

ARGS = argparse.Namespace(
    host="127.0.0.1", port=8000, workers=1, log_level="info", access_log=False
)


def settings(**values: Any) -> Settings:
    return Settings(**values)


async def client_seen(options: dict[str, Any], peer: str, forwarded_for: str) -> str:
    """The client address the app sees, served by uvicorn with these options."""
    seen: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["client"][0])

    served = {k: v for k, v in options.items() if k not in {"factory", "workers"}}
    config = uvicorn.Config(app, log_config=None, **served)
    config.load()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "method": "GET",
        "path": "/",
        "scheme": "http",
        "client": (peer, 40000),
        "server": ("127.0.0.1", 8000),
        "headers": [(b"x-forwarded-for", forwarded_for.encode())],
    }
    await config.loaded_app(scope, None, None)
    return seen[0]


@pytest.fixture(autouse=True)
def no_uvicorn_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn reads FORWARDED_ALLOW_IPS itself when given no list: it must not matter."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "*")
    for name in list(os.environ):
        if name.startswith("BOOKPAY_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "10.0.0.5"])
async def test_by_default_no_forwarded_header_is_believed(peer: str) -> None:
    options = uvicorn_options(ARGS, settings())

    assert await client_seen(options, peer, "198.51.100.9") == peer


async def test_a_listed_proxy_is_believed_and_no_one_else() -> None:
    options = uvicorn_options(ARGS, settings(forwarded_allow_ips="10.0.0.0/8, 192.0.2.1"))

    assert await client_seen(options, "10.0.0.5", "198.51.100.9") == "198.51.100.9"
    assert await client_seen(options, "192.0.2.1", "198.51.100.9") == "198.51.100.9"
    assert await client_seen(options, "127.0.0.1", "198.51.100.9") == "127.0.0.1"


@pytest.mark.parametrize("entry", ["proxy.example", "10.0.0.0/33", "::1/129"])
def test_a_listed_proxy_must_be_an_address_or_a_network(entry: str) -> None:
    with pytest.raises(ValidationError, match="not an address or network"):
        settings(forwarded_allow_ips=entry)
