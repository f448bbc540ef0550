"""`bookpay serve` runs on uvloop's event loop and httptools' HTTP parser, both declared
dependencies (pyproject.toml): asyncio's own loop and h11 cost each request more of the
worker's CPU (docs/benchmarks.md)."""

from __future__ import annotations

import argparse

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from entrypoints.cli import ASGI_FACTORY, uvicorn_options
from entrypoints.config import Settings

ARGS = argparse.Namespace(
    host="127.0.0.1", port=8000, workers=1, log_level="info", access_log=False
)


def test_serve_runs_on_uvloop_with_httptools() -> None:
    config = uvicorn.Config(ASGI_FACTORY, log_config=None, **uvicorn_options(ARGS, Settings()))
    config.load()
    new_loop = config.get_loop_factory()
    assert new_loop is not None

    loop = new_loop()
    try:
        assert isinstance(loop, uvloop.Loop)
    finally:
        loop.close()
    assert config.http_protocol_class is HttpToolsProtocol
