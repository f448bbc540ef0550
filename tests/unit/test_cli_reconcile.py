"""`bookpay reconcile` prints what converged and what it left for later, one line each."""

from __future__ import annotations

from typing import Any

import pytest

from application.reconcile import ReconcileReport
from entrypoints import cli, container


class _Engine:
    async def dispose(self) -> None:
        return None


class _Container:
    def __init__(self, report: ReconcileReport) -> None:
        self._report = report

    def reconcile(self) -> Any:
        async def run() -> ReconcileReport:
            return self._report

        return run

    def engine(self) -> _Engine:
        return _Engine()


def test_reconcile_prints_refunds_settled_released_and_left_for_later(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    report = ReconcileReport(
        refunds_settled=["re_1"],
        refunds_released=["bookpay-refund-bk_2-1-1000"],
        unreachable=["bk_3"],
    )
    monkeypatch.setenv("BOOKPAY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(container, "build_container", lambda settings: _Container(report))

    cli.main(["reconcile"])

    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "bookpay reconcile: 2 change(s): 0 confirmed, 0 expired, 0 tenant(s) updated, "
        "1 refund(s) settled, 1 refund reservation(s) released, 0 lost dispute(s) recovered, "
        "0 stale parked event(s) dropped; 1 left for later"
    )
    assert out[1:] == [
        "  refund settled: re_1",
        "  refund released (the gateway refused it): bookpay-refund-bk_2-1-1000",
        "  left for later (the gateway did not answer): bk_3",
    ]
