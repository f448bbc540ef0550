"""The ASGI factory each server worker calls: settings from the environment."""

import logging

from litestar import Litestar

from entrypoints.config import load_settings
from entrypoints.container import build_container
from entrypoints.http.app import create_app


def create_asgi_app() -> Litestar:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings, _ = load_settings().with_generated_secrets()
    return create_app(build_container(settings))
