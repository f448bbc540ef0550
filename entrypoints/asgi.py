"""The ASGI factory each server worker calls: settings from the environment."""

import gc
import logging

from litestar import Litestar

from entrypoints.config import load_settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app


def create_asgi_app() -> Litestar:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings, _ = load_settings().with_generated_secrets()
    app = create_app(build_container(settings))
    _freeze_startup_heap()
    return app


def _freeze_startup_heap() -> None:
    """Leave what the process built to serve (modules, container, app) out of every later
    garbage collection: it lives as long as the process. A full collection walks every
    tracked object with the event loop stopped, so with this heap in it each one stalled
    the requests in flight (bench/findings.md, "Availability's p99 after issue 18"); frozen,
    it walks only what was allocated since. Garbage first, so that none is kept for good."""
    gc.collect()
    gc.freeze()
