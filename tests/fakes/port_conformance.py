"""Every implementation of a persistence port, and the fake Stripe, checked against its port
by mypy (`make typecheck`): each function below returns an implementation as its port's
type, so a missing method or a signature that drifted from the port is a type error.

Nothing here runs; the unit of work's properties carry the check down to each repository.
"""

from __future__ import annotations

from adapters.fake_stripe.gateway import FakeGateway
from adapters.fake_stripe.sql_store import SqlAlchemyFakeStripeStore
from adapters.fake_stripe.store import FakeStripeStore
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork, SqlAlchemyUnitOfWorkFactory
from application.ports.gateway import PaymentGateway
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from tests.fakes.database import InMemoryDatabase, InMemoryUnitOfWork
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore


def in_memory_unit_of_work(unit: InMemoryUnitOfWork) -> UnitOfWork:
    return unit


def in_memory_units(database: InMemoryDatabase) -> UnitOfWorkFactory:
    return database.unit_of_work


def sql_unit_of_work(unit: SqlAlchemyUnitOfWork) -> UnitOfWork:
    return unit


def sql_units(factory: SqlAlchemyUnitOfWorkFactory) -> UnitOfWorkFactory:
    return factory


def fake_stripe(gateway: FakeGateway) -> PaymentGateway:
    return gateway


def fake_stripe_stores(
    memory: InMemoryFakeStripeStore, database: SqlAlchemyFakeStripeStore
) -> tuple[FakeStripeStore, FakeStripeStore]:
    return memory, database
