"""Issue 14, "What was seen 4" on small slots: one anonymous address cannot hold every seat.

The default cap of seats per booking (10) is at least a typical class's capacity, so one
checkout held every seat of an 8- or 10-seat slot for the length of a hold, and repeated
checkouts from one address took the rest. With default settings now: one unpaid hold takes
at most half the slot (rounded up) when the offering sets no max_seats_per_booking, and one
client address holds at most that many of a slot's seats per hold period. A tenant selling
whole slots sets max_seats_per_booking on its offering.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.support.app_client import AppClient
from tests.support.http_app import ADMIN_KEY, BASE_URL, asgi_transport, build_test_app

PROBLEM = "application/problem+json"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
async def app(tmp_path: Path) -> Litestar:
    app, _ = build_test_app(tmp_path)
    return app


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AppClient]:
    async with AppClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


async def _shop(
    client: AppClient, capacity: int, max_seats_per_booking: int | None = None
) -> tuple[str, str, str]:
    """(slug, offering id, slot id) of an onboarded tenant with one slot of `capacity`."""
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    created = await client.post(
        "/v1/admin/tenants",
        json={
            "name": "Studio",
            "slug": slug,
            "country": "US",
            "default_currency": "usd",
            "timezone": "UTC",
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    tenant = {"Authorization": f"Bearer {created.json()['api_key']}"}
    link = await client.post("/v1/tenant/connect/onboarding-link", headers=tenant)
    assert (await client.post(link.json()["url"], follow_redirects=False)).status_code == 303
    offering = {
        "name": "Class",
        "price": {"amount": 2000, "currency": "usd"},
        "duration_minutes": 60,
        "capacity": capacity,
    }
    if max_seats_per_booking is not None:
        offering["max_seats_per_booking"] = max_seats_per_booking
    made = await client.post("/v1/tenant/offerings", json=offering, headers=tenant)
    assert made.status_code == 201, made.text
    starts_at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    slots = await client.post(
        f"/v1/tenant/offerings/{made.json()['id']}/slots",
        json={"starts_at": starts_at.isoformat()},
        headers=tenant,
    )
    assert slots.status_code == 201, slots.text
    return slug, made.json()["id"], slots.json()["data"][0]["id"]


async def _checkout(client: Any, slug: str, slot_id: str, seats: int, email: str) -> Any:
    return await client.post(
        f"/v1/public/{slug}/checkout",
        json={"slot_id": slot_id, "seats": seats, "customer": {"email": email}},
    )


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["type"].startswith("urn:bookpay:problem:"), body
    return body


async def _seats_available(client: Any, slug: str, offering_id: str) -> int:
    slots = await client.get(f"/v1/public/{slug}/offerings/{offering_id}/slots")
    return int(slots.json()["data"][0]["seats_available"])


async def test_one_checkout_cannot_hold_every_seat_of_a_ten_seat_slot(
    client: AppClient,
) -> None:
    slug, offering_id, slot_id = await _shop(client, capacity=10)

    whole = await _checkout(client, slug, slot_id, 10, "grab@example.com")
    over_half = await _checkout(client, slug, slot_id, 6, "grab@example.com")

    body = _problem(whole, 422)
    assert body["type"] == "urn:bookpay:problem:too-many-seats-per-booking"
    assert "5" in body["detail"], body
    _problem(over_half, 422)
    assert await _seats_available(client, slug, offering_id) == 10
    assert (await _checkout(client, slug, slot_id, 5, "half@example.com")).status_code == 201


async def test_a_quote_refuses_what_the_checkout_refuses(client: AppClient) -> None:
    slug, offering_id, _ = await _shop(client, capacity=10)

    refused = await client.get(f"/v1/public/{slug}/fee-quote?offering_id={offering_id}&seats=6")
    quoted = await client.get(f"/v1/public/{slug}/fee-quote?offering_id={offering_id}&seats=5")

    _problem(refused, 422)
    assert quoted.status_code == 200, quoted.text


async def test_repeated_checkouts_from_one_address_cannot_take_the_rest(
    client: AppClient,
) -> None:
    slug, offering_id, slot_id = await _shop(client, capacity=10)

    first = await _checkout(client, slug, slot_id, 5, "one@example.com")
    again = await _checkout(client, slug, slot_id, 5, "two@example.com")
    one_more = await _checkout(client, slug, slot_id, 1, "three@example.com")

    assert first.status_code == 201, first.text
    body = _problem(again, 429)
    assert int(again.headers["retry-after"]) > 0
    assert body["type"] == "urn:bookpay:problem:too-many-seats-held-from-client"
    _problem(one_more, 429)
    assert await _seats_available(client, slug, offering_id) == 5


async def test_seat_by_seat_one_address_holds_half_and_another_address_the_rest(
    app: Litestar, client: AppClient
) -> None:
    slug, offering_id, slot_id = await _shop(client, capacity=8)

    taken = [
        (await _checkout(client, slug, slot_id, 1, f"c{n}@example.com")).status_code
        for n in range(6)
    ]
    transport = asgi_transport(app, client=("198.51.100.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as elsewhere:
        other = await _checkout(elsewhere, slug, slot_id, 4, "other@example.com")

    assert taken == [201, 201, 201, 201, 429, 429]
    assert other.status_code == 201, other.text
    assert await _seats_available(client, slug, offering_id) == 0


async def test_a_checkout_refused_for_want_of_seats_costs_the_address_nothing(
    app: Litestar, client: AppClient
) -> None:
    slug, _, slot_id = await _shop(client, capacity=6)
    for n, address in enumerate(("198.51.100.7", "198.51.100.8")):
        transport = asgi_transport(app, client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as elsewhere:
            taken = await _checkout(elsewhere, slug, slot_id, 3 - n, f"o{n}@example.com")
            assert taken.status_code == 201, taken.text

    too_many = await _checkout(client, slug, slot_id, 3, "a@example.com")
    fits = await _checkout(client, slug, slot_id, 1, "a@example.com")

    _problem(too_many, 409)
    assert fits.status_code == 201, fits.text


async def test_a_tenant_that_sells_whole_slots_says_so_on_its_offering(
    client: AppClient,
) -> None:
    slug, offering_id, slot_id = await _shop(client, capacity=10, max_seats_per_booking=10)

    whole = await _checkout(client, slug, slot_id, 10, "team@example.com")

    assert whole.status_code == 201, whole.text
    assert await _seats_available(client, slug, offering_id) == 0


async def _form_post(client: AppClient, form_url: str, seats: str, email: str) -> Any:
    form = await client.get(form_url)
    assert form.status_code == 200, form.text
    token = CSRF_FIELD.search(form.text)
    assert token is not None
    return await client.post(
        form_url,
        data={
            "_csrf_token": token.group(1),
            "name": "Ada",
            "email": email,
            "seats": seats,
            "quoted_seats": seats,
            "action": "book",
        },
        follow_redirects=False,
    )


async def test_the_booking_form_offers_half_the_slot_and_says_why_in_words(
    client: AppClient,
) -> None:
    slug, offering_id, slot_id = await _shop(client, capacity=10)
    form_url = f"/book/{slug}/{offering_id}/{slot_id}"

    form = await client.get(form_url)
    whole = await _form_post(client, form_url, "10", "ada@example.com")
    half = await _form_post(client, form_url, "5", "ada@example.com")
    more = await _form_post(client, form_url, "1", "bo@example.com")

    assert '<option value="5"' in form.text
    assert '<option value="6"' not in form.text
    assert whole.status_code == 422, whole.text
    assert "between 1 and 5 seats" in whole.text
    assert half.status_code == 303, half.text
    assert more.status_code in (422, 429), more.text
    assert more.headers["content-type"].startswith("text/html")
    assert "from your connection" in more.text, more.text


async def test_a_deployment_can_switch_the_address_count_off_and_keep_the_booking_share(
    tmp_path: Path,
) -> None:
    app, _ = build_test_app(tmp_path, slot_share_per_client=False)
    async with AppClient(app=app, base_url=BASE_URL) as client:
        slug, offering_id, slot_id = await _shop(client, capacity=10)

        first = await _checkout(client, slug, slot_id, 5, "one@example.com")
        again = await _checkout(client, slug, slot_id, 5, "two@example.com")
        too_many = await _checkout(client, slug, slot_id, 6, "three@example.com")

        assert first.status_code == 201, first.text
        assert again.status_code == 201, again.text  # one address, customers it cannot tell apart
        assert await _seats_available(client, slug, offering_id) == 0
        assert _problem(too_many, 422)["type"] == "urn:bookpay:problem:too-many-seats-per-booking"
