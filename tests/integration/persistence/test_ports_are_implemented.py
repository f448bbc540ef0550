"""Every adapter offers every method of its port, with the port's parameters.

The adapters are not type-checked against the Protocols (mypy --strict covers domain and
application only), so a method added to a port would otherwise surface as an
AttributeError at run time.
"""

from __future__ import annotations

import inspect

import pytest

from adapters.sql.bookings import SqlAlchemyBookingRepository
from adapters.sql.idempotency import SqlAlchemyIdempotencyStore
from adapters.sql.inbox import SqlAlchemyParkedEvents, SqlAlchemyWebhookInbox
from adapters.sql.ledger import SqlAlchemyDisputeRepository, SqlAlchemyLedgerRepository
from adapters.sql.offerings import SqlAlchemyOfferingRepository
from adapters.sql.slots import SqlAlchemySlotRepository
from adapters.sql.tenants import SqlAlchemyTenantRepository
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWork
from application.ports import repositories, unit_of_work
from tests.fakes import repositories as memory

PAIRS = [
    (
        repositories.TenantRepository,
        [SqlAlchemyTenantRepository, memory.InMemoryTenantRepository],
    ),
    (
        repositories.OfferingRepository,
        [SqlAlchemyOfferingRepository, memory.InMemoryOfferingRepository],
    ),
    (repositories.SlotRepository, [SqlAlchemySlotRepository, memory.InMemorySlotRepository]),
    (
        repositories.BookingRepository,
        [SqlAlchemyBookingRepository, memory.InMemoryBookingRepository],
    ),
    (
        repositories.LedgerRepository,
        [SqlAlchemyLedgerRepository, memory.InMemoryLedgerRepository],
    ),
    (
        repositories.DisputeRepository,
        [SqlAlchemyDisputeRepository, memory.InMemoryDisputeRepository],
    ),
    (unit_of_work.WebhookInbox, [SqlAlchemyWebhookInbox, memory.InMemoryWebhookInbox]),
    (unit_of_work.ParkedEvents, [SqlAlchemyParkedEvents, memory.InMemoryParkedEvents]),
    (
        unit_of_work.IdempotencyStore,
        [SqlAlchemyIdempotencyStore, memory.InMemoryIdempotencyStore],
    ),
    (unit_of_work.UnitOfWork, [SqlAlchemyUnitOfWork, memory.InMemoryUnitOfWork]),
]


def _members(cls: type) -> dict[str, object]:
    return {
        name: value
        for name, value in vars(cls).items()
        if not name.startswith("_") or name in {"__aenter__", "__aexit__"}
        if callable(value) or isinstance(value, property)
    }


def _parameters(function: object) -> list[tuple[str, object, object]]:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize(
    ("port", "adapter"),
    [(port, adapter) for port, adapters in PAIRS for adapter in adapters],
    ids=lambda value: getattr(value, "__name__", ""),
)
def test_the_adapter_has_every_method_of_its_port(port: type, adapter: type) -> None:
    for name, expected in _members(port).items():
        actual = getattr(adapter, name, None)
        assert actual is not None, f"{adapter.__name__} lacks {port.__name__}.{name}"
        if isinstance(expected, property):
            assert isinstance(actual, property), f"{adapter.__name__}.{name} is no property"
            continue
        assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(expected), name
        if name == "__aexit__":
            continue
        assert _parameters(actual) == _parameters(expected), f"{adapter.__name__}.{name}"
