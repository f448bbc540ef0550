"""Which asyncio task holds each connection checked out of an engine's pool, and a gateway
double that, on every awaited call, records a violation when the calling task holds one
(issue 19: no request holds a database connection while Stripe is asked). No timing."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from application.ports.gateway import PaymentGateway


@dataclass
class PoolWatch:
    """Which asyncio task holds each connection checked out of the engine's pool."""

    holders: dict[int, asyncio.Task[Any] | None] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def attach(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "checkout", self._checkout)
        event.listen(engine.sync_engine, "checkin", self._checkin)

    def _checkout(self, _dbapi: Any, record: Any, _proxy: Any) -> None:
        self.holders[id(record)] = _current_task()

    def _checkin(self, _dbapi: Any, record: Any) -> None:
        self.holders.pop(id(record), None)

    def held_by_caller(self) -> int:
        task = _current_task()
        return sum(1 for holder in self.holders.values() if holder is task)

    def gateway_called(self, name: str) -> None:
        self.calls.append(name)
        held = self.held_by_caller()
        if held:
            self.violations.append(f"{name} called holding {held} database connection(s)")


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


class WatchedGateway:
    """The fake gateway, with every awaited call first checked against the pool watch."""

    def __init__(self, inner: PaymentGateway, watch: PoolWatch) -> None:
        self._inner = inner
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not inspect.iscoroutinefunction(attribute):
            return attribute

        async def watched(*args: Any, **kwargs: Any) -> Any:
            self._watch.gateway_called(name)
            return await attribute(*args, **kwargs)

        return watched
