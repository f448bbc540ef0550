"""A crash between receiving a webhook and committing its effect: the handler answers 5xx,
the event is not marked processed, and Stripe's redelivery applies it exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dependency_injector import providers
from litestar.testing import TestClient

from application.payment_events import ApplyPaymentEvent
from tests.bdd.http.conftest import customer_checks_out, offering_with_slot, tenant_that_can_sell
from tests.bdd.http.world import World
from tests.support.http_app import BASE_URL, build_test_app


class CrashingCommit:
    """A unit of work whose next commit fails as if the database connection dropped."""

    crashes = 0

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __aenter__(self) -> CrashingCommit:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    async def commit(self) -> None:
        if CrashingCommit.crashes:
            CrashingCommit.crashes -= 1
            raise ConnectionResetError("the database connection dropped at commit")
        await self._inner.commit()


def test_a_crash_before_commit_answers_5xx_and_the_redelivery_applies_once(
    tmp_path: Path,
) -> None:
    app, container = build_test_app(tmp_path)
    container.apply_payment_event.override(
        providers.Singleton(
            ApplyPaymentEvent,
            lambda: CrashingCommit(container.uow()()),
            container.gateway,
            container.clock,
        )
    )
    with TestClient(app=app, base_url=BASE_URL) as client:
        world = World(client)
        tenant_that_can_sell(world, "crash-studio", "5% + 0.30 USD", "customer")
        offering_with_slot(world, "20.00 USD", "4")
        customer_checks_out(world, "2")
        booking_id = world.checkout["booking_id"]

        CrashingCommit.crashes = 1
        paid = client.post(
            world.checkout["checkout_url"] + "/pay", data={"method": "card"}, follow_redirects=False
        )
        assert paid.status_code == 303
        events = client.get("/fake-stripe/events").json()["data"]
        completed = next(e for e in events if e["type"] == "checkout.session.completed")
        assert completed["delivered"] is False  # the webhook answered 5xx
        assert world.booking()["status"] == "pending_payment"

        for _ in range(3):  # Stripe retries, then retries again
            assert client.post(f"/fake-stripe/events/{completed['id']}/resend").status_code == 200

        assert world.booking()["status"] == "confirmed"
        detail = client.get(f"/v1/tenant/bookings/{booking_id}", headers=world.tenant()).json()
        assert sorted(e["kind"] for e in detail["ledger"]) == ["application_fee", "charge"]
        assert world.seats_available() == 2


def test_an_unexpected_failure_answers_a_problem_without_a_stack_trace(tmp_path: Path) -> None:
    app, container = build_test_app(tmp_path)
    container.tenant_queries.override(providers.Object(None))  # a broken dependency
    with TestClient(app=app, base_url=BASE_URL) as client:
        response = client.get("/v1/tenant", headers={"Authorization": "Bearer bp_tenant_x"})
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "Traceback" not in response.text
    assert "NoneType" not in response.text
