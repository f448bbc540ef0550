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
        self.days: int | None = None

    def reconcile(self) -> Any:
        async def run(*, payments_days: int | None = None) -> ReconcileReport:
            self.days = payments_days
            return self._report

        return run

    def engine(self) -> _Engine:
        return _Engine()

    def fake_stripe_engine(self) -> _Engine:
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
        "0 stale parked event(s) dropped, 0 parked event(s) applied, 0 ledger repair(s); "
        "1 left for later, "
        "0 left for a human"
    )
    assert out[1:] == [
        "  refund settled: re_1",
        "  refund released (the gateway refused it): bookpay-refund-bk_2-1-1000",
        "  left for later (the gateway did not answer): bk_3",
    ]


def test_reconcile_prints_what_it_repaired_and_what_it_left_for_a_human(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    report = ReconcileReport(
        payments_repaired=["bk_1: refund of 4000 usd (minor units) made at the gateway recorded"],
        for_a_human=["bk_2: refunds is 5000 usd (minor units) in the ledger, 0 usd at the gateway"],
    )
    fake = _Container(report)
    monkeypatch.setenv("BOOKPAY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setattr(container, "build_container", lambda settings: fake)

    cli.main(["reconcile", "--days", "30"])

    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("1 ledger repair(s); 0 left for later, 1 left for a human")
    assert out[1:] == [
        "  repaired from the gateway's facts: "
        "bk_1: refund of 4000 usd (minor units) made at the gateway recorded",
        "  left for a human (the ledger and the gateway differ): "
        "bk_2: refunds is 5000 usd (minor units) in the ledger, 0 usd at the gateway",
    ]
    assert fake.days == 30
