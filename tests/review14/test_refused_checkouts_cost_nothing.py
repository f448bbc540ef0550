"""Review 14 (fresh): a checkout that holds nothing must not spend the address's seat budget.

README, "Hard edges": `HELD_SEATS_PER_CLIENT_PER_HOUR` counts "the seats a client address
puts on hold per hour", and "a checkout refused for want of seats counts nothing". Yet a
checkout refused before any seat is held (422 too-many-seats-per-booking, 409
too-many-pending-holds) is charged its requested seats: one mistyped `"seats": 40` locks
the address (an office NAT, a whole IPv6 /64) out of every checkout for an hour, and an
honest customer who asked for too much and then the right number finds 429.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import open_shop


async def _shop(client: AppClient, capacity: int) -> tuple[str, str]:
    """(slug, slot id) of an onboarded tenant with one slot of `capacity`."""
    shop = await open_shop(client, capacity=capacity)
    return shop.slug, shop.slot_id


async def _checkout(client: Any, slug: str, slot_id: str, seats: int, email: str) -> Any:
    return await client.post(
        f"/v1/public/{slug}/checkout",
        json={"slot_id": slot_id, "seats": seats, "customer": {"email": email}},
    )


async def test_a_checkout_refused_as_too_many_seats_per_booking_costs_the_address_nothing(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, held_seats_per_client_per_hour=40)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        slug, slot_id = await _shop(client, capacity=8)
        other_slug, other_slot_id = await _shop(client, capacity=8)

        mistyped = await _checkout(client, slug, slot_id, 40, "ada@example.com")
        meant = await _checkout(client, slug, slot_id, 1, "ada@example.com")
        elsewhere = await _checkout(client, other_slug, other_slot_id, 1, "bo@example.com")

    assert mistyped.status_code == 422, mistyped.text
    # Nothing was held by the refused request, so the address still has its 40 seats.
    assert meant.status_code == 201, meant.text
    assert elsewhere.status_code == 201, elsewhere.text


async def test_a_checkout_refused_for_too_many_pending_holds_costs_the_address_nothing(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, held_seats_per_client_per_hour=40)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        slugs_slots = [await _shop(client, capacity=40) for _ in range(2)]
        slug, slot_id = slugs_slots[0]
        held = [
            (await _checkout(client, slug, slot_id, 1, "ada@example.com")).status_code
            for _ in range(5)
        ]
        # The sixth unpaid hold of one email is refused (at most five per tenant) ...
        refused = [
            (await _checkout(client, slug, slot_id, 10, "ada@example.com")).status_code
            for _ in range(4)
        ]
        # ... and held nothing, so the address has 35 of its 40 seats left (charged for
        # what it asked, it would have "held" 45).
        other_slug, other_slot_id = slugs_slots[1]
        after = await _checkout(client, other_slug, other_slot_id, 1, "bo@example.com")

    assert held == [201] * 5
    assert refused == [409] * 4
    assert after.status_code == 201, after.text
