"""Issue 14: every background job declares the row scope it runs in; nothing is
platform-wide by default (adapters/sql/row_scope.py)."""

from __future__ import annotations

import pytest

from adapters.sql.row_scope import (
    PLATFORM,
    acting_for_platform,
    acting_for_tenant,
    current_scope,
)
from entrypoints.periodic import PeriodicTask


class Stop(Exception):
    pass


def test_nothing_is_platform_wide_until_it_says_so() -> None:
    assert current_scope() is None
    with acting_for_platform():
        assert current_scope() == PLATFORM
        with acting_for_tenant("tn_1"):
            assert current_scope() == "tn_1"
        assert current_scope() == PLATFORM
    assert current_scope() is None


async def test_a_periodic_job_runs_in_the_scope_it_declares() -> None:
    seen: list[str | None] = []

    async def sleep(_: float) -> None:
        if len(seen) >= 2:
            raise Stop

    async def job() -> None:
        seen.append(current_scope())

    task = PeriodicTask("sweeper", lambda: job, 1, scope=acting_for_platform, sleep=sleep)
    with pytest.raises(Stop):
        await task._run()
    assert seen == [PLATFORM, PLATFORM]
    assert current_scope() is None


def test_the_server_declares_a_scope_for_each_of_its_jobs() -> None:
    """A PeriodicTask cannot be made without one (a TypeError, and mypy says so too)."""
    with pytest.raises(TypeError, match="scope"):
        PeriodicTask("sweeper", lambda: lambda: None, 1)  # type: ignore[call-arg,arg-type,return-value]
