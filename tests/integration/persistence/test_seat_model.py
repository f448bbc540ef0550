"""The repositories' seat statements agree with the domain's Slot rules, step by step.

A seeded random walk of holds, releases, confirmations and late bookings is applied both to
the domain's `Slot` (the rule) and to each repository (the atomic statements); every step
must succeed or be refused alike, and the counts must match after each step.
"""

from __future__ import annotations

import random

from domain.errors import DomainError
from domain.offering import Slot
from tests.integration.persistence.builders import a_slot, a_tenant, an_offering
from tests.integration.persistence.conftest import Backend

OPERATIONS = {
    "try_hold": Slot.hold,
    "release_hold": Slot.release_hold,
    "confirm_hold": Slot.confirm_hold,
    "try_book": Slot.book,
    "release_booked": Slot.release_booked,
}
STEPS = 120


async def test_seat_statements_follow_the_slot_rules(backend: Backend) -> None:
    tenant = a_tenant()
    offering = an_offering(tenant.id, capacity=7)
    model = a_slot(offering)
    async with backend.uow() as uow:
        await uow.tenants.add(tenant)
        await uow.offerings.add(offering)
        await uow.slots.add(model)
        await uow.commit()

    walk = random.Random(20300101)  # reproducible, so a failing step can be replayed
    async with backend.uow() as uow:
        for step in range(STEPS):
            name = walk.choice(sorted(OPERATIONS))
            seats = walk.randint(1, 4)
            try:
                expected, allowed = OPERATIONS[name](model, seats), True
            except DomainError:
                expected, allowed = model, False
            done = await getattr(uow.slots, name)(tenant.id, model.id, seats)
            assert done is allowed, f"step {step}: {name}({seats}) on {model}"
            model = expected
            stored = await uow.slots.get(tenant.id, model.id)
            assert stored == model, f"step {step}: {name}({seats})"
            if step % 10 == 9:
                await uow.commit()
