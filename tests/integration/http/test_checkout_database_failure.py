"""A checkout whose database fails after its seats were held (issue 19: a pool timeout under
load, answered 503) gives the seats back, as one whose gateway failed does: without an
Idempotency-Key nothing would resume that booking, and its seats would stay held until the
hold lapsed. With a key, the seats stay for the retry, which resumes the same booking."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy.exc
from dependency_injector import providers

from application.ports.gateway import CheckoutRequest, CheckoutSession
from entrypoints.container import Container
from tests.integration.http.fees.shop import open_shop, usd
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app

ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def app_and_container(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Any, Container]:
    url = str(request.getfixturevalue(request.param)) if request.param else None
    return build_test_app(tmp_path, url)


class _Unavailable:
    """A unit of work that cannot start: the pool's wait for a connection ran out."""

    async def __aenter__(self) -> Any:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit reached, connection timed out")

    async def __aexit__(self, *_: object) -> None:
        return None


class UnitsOfWorkFailingOnce:
    """The app's units of work, except the first one asked for after the first `arm()`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._armed = False
        self._fired = False

    def arm(self) -> None:
        if not self._fired:
            self._armed, self._fired = True, True

    def __call__(self) -> Any:
        if self._armed:
            self._armed = False
            return _Unavailable()
        return self._inner()


class SessionThenDatabaseFails:
    """The fake gateway; once the first Checkout Session is opened, the next unit of work
    fails."""

    def __init__(self, inner: Any, units: UnitsOfWorkFailingOnce) -> None:
        self._inner = inner
        self._units = units

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        session: CheckoutSession = await self._inner.create_checkout_session(request)
        self._units.arm()
        return session

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _database_fails_after_the_session(container: Container) -> None:
    units = UnitsOfWorkFailingOnce(container.uow())
    container.uow.override(providers.Object(units))
    container.gateway.override(
        providers.Singleton(SessionThenDatabaseFails, container.fake_gateway, units)
    )


async def test_without_a_key_the_seats_come_back_when_the_database_fails_after_the_hold(
    app_and_container: tuple[Any, Container],
) -> None:
    app, container = app_and_container
    _database_fails_after_the_session(container)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        offering_id = await shop.new_offering(usd(2000), 4)
        slot_id = await shop.new_slot(offering_id)

        failed = await shop.checkout(slot_id, 2)
        assert failed.status_code == 503, failed.text
        assert await shop.seats_available(offering_id, slot_id) == 4


@pytest.mark.parametrize("key", ["order-7-0b1d2c3e-4f50-4a6b-8c7d"])
async def test_with_a_key_the_seats_wait_for_the_retry_which_resumes_the_booking(
    app_and_container: tuple[Any, Container], key: str
) -> None:
    app, container = app_and_container
    _database_fails_after_the_session(container)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        shop = await open_shop(client)
        offering_id = await shop.new_offering(usd(2000), 4)
        slot_id = await shop.new_slot(offering_id)

        failed = await shop.checkout(slot_id, 2, key=key)
        assert failed.status_code == 503, failed.text
        assert await shop.seats_available(offering_id, slot_id) == 2
        retried = await shop.checkout(slot_id, 2, key=key)
        assert retried.status_code == 201, retried.text
        assert await shop.seats_available(offering_id, slot_id) == 2
