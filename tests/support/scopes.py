"""Tests that run a job of the server themselves declare its row scope, as the server does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from adapters.sql.row_scope import acting_for_platform

T = TypeVar("T")


def on_platform(job: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """`job` declaring the platform's row scope (every tenant's rows), as the server's jobs
    (entrypoints/http/app.py) and CLI commands do: undeclared, it would see none under
    PostgreSQL's row-level security."""

    async def run() -> T:
        with acting_for_platform():
            return await job()

    return run
