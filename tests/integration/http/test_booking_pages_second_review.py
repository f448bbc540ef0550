"""Issue 16, second review of the hosted pages: what the customer is shown is what they pay,
one form submission is one checkout, and every dead end says what happened in words."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from dependency_injector import providers

from application.ports.repositories import AlreadyExists
from application.start_checkout import CheckoutStarted, StartCheckout, StartCheckoutCommand
from entrypoints.container import Container
from entrypoints.web.formatting import Formats, customer_locale
from tests.fakes.clock import ManualClock
from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import OpenShop, open_shop, paid_booking_with_token

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')
QUOTED = re.compile(r'name="quoted_seats" value="([^"]*)"')
CUSTOMER = {"name": "Ada", "email": "ada@example.com"}


ENGINES = [
    pytest.param(None, id="sqlite"),
    pytest.param("migrated_postgres_url", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    return str(request.getfixturevalue(request.param)) if request.param else None


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime.now(UTC))


@pytest.fixture
async def app(
    tmp_path: Path, clock: ManualClock, database_url: str | None
) -> AsyncIterator[tuple[Any, Container]]:
    app, container = build_test_app(tmp_path, database_url)
    container.clock.override(providers.Object(clock))
    async with AppClient(app=app, base_url=BASE_URL) as client:
        yield client, container


@pytest.fixture
def client(app: tuple[AppClient, Container]) -> AppClient:
    return app[0]


async def form_url(client: AppClient, shop: OpenShop) -> str:
    offerings = await client.get(f"/v1/public/{shop.slug}/offerings")
    return f"/book/{shop.slug}/{offerings.json()['data'][0]['id']}/{shop.slot_id}"


def hidden(pattern: re.Pattern[str], html: str) -> str:
    found = pattern.search(html)
    assert found is not None, html
    return found.group(1)


def the_form(html: str) -> dict[str, str]:
    """The hidden fields a browser sends back with the form as it was shown."""
    return {
        "_csrf_token": hidden(CSRF_FIELD, html),
        "form_id": hidden(FORM_ID, html),
        "quoted_seats": hidden(QUOTED, html),
    }


async def seats_left(client: AppClient, url: str) -> str:
    slots = await client.get(url.rsplit("/", 1)[0])
    found = re.search(r"(\d+) seats? left", slots.text)
    assert found is not None, slots.text
    return found.group(1)


# --- 1. The total on the screen is the total charged -----------------------------------


async def test_seats_changed_without_updating_the_total_show_the_new_total_first(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    url = await form_url(client, shop)
    shown = await client.get(url)

    # Seats changed from 1 to 3, "Continue to payment" pressed without updating the total.
    sent = await client.post(
        url,
        data={**the_form(shown.text), **CUSTOMER, "seats": "3", "action": "book"},
        follow_redirects=False,
    )
    confirmed = await client.post(
        url,
        data={**the_form(sent.text), **CUSTOMER, "seats": "3", "action": "book"},
        follow_redirects=False,
    )

    assert "$21.30" in shown.text
    assert sent.status_code == 200, sent.text
    # 3 × 20.00 + 5 % + 0.30 = 63.30, now on the screen, and a sentence asking to confirm.
    assert "$63.30" in sent.text
    assert "The total changed with the seats" in sent.text
    assert hidden(QUOTED, sent.text) == "3"
    assert 'value="Ada"' in sent.text
    assert confirmed.status_code == 303, confirmed.text
    checkout = await client.get(confirmed.headers["location"])
    assert "63.30 USD" in checkout.text


async def test_a_post_without_the_seats_of_its_total_is_not_sent_to_checkout(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    url = await form_url(client, shop)
    shown = await client.get(url)
    fields = {k: v for k, v in the_form(shown.text).items() if k != "quoted_seats"}

    sent = await client.post(
        url, data={**fields, **CUSTOMER, "seats": "1", "action": "book"}, follow_redirects=False
    )

    assert sent.status_code == 200
    assert "$21.30" in sent.text
    assert "The total changed with the seats" in sent.text


# --- 4. One form submission, one checkout ----------------------------------------------


@pytest.mark.race
async def test_two_simultaneous_posts_of_one_form_hold_the_seats_once(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    url = await form_url(client, shop)
    shown = await client.get(url, params={"seats": 2})
    fields = {**the_form(shown.text), **CUSTOMER, "seats": "2", "action": "book"}

    first, second = await asyncio.gather(
        client.post(url, data=fields, follow_redirects=False),
        client.post(url, data=fields, follow_redirects=False),
    )

    assert (first.status_code, second.status_code) == (303, 303), (first.text, second.text)
    assert first.headers["location"] == second.headers["location"]
    assert await seats_left(client, url) == "3"
    # Either response's cookie opens the booking the checkout comes back to.
    assert first.headers["set-cookie"].split(";")[0] == second.headers["set-cookie"].split(";")[0]
    paid = await client.post(first.headers["location"] + "/pay", data={"method": "card"})
    assert paid.status_code == 200, paid.text
    assert "Your booking is confirmed" in paid.text


async def test_a_form_sent_again_after_its_checkout_ended_asks_to_continue_again(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    url = await form_url(client, shop)
    shown = await client.get(url)
    fields = {**the_form(shown.text), **CUSTOMER, "seats": "1", "action": "book"}
    sent = await client.post(url, data=fields, follow_redirects=False)
    await client.post(sent.headers["location"] + "/cancel")

    # Back to the form (a cached copy) and Continue once more: the same submission.
    again = await client.post(url, data=fields, follow_redirects=False)
    fresh = await client.post(
        url, data={**fields, "form_id": hidden(FORM_ID, again.text)}, follow_redirects=False
    )

    assert again.status_code == 422
    assert "This form was sent already" in again.text
    assert hidden(FORM_ID, again.text) != fields["form_id"]
    assert fresh.status_code == 303
    assert fresh.headers["location"] != sent.headers["location"]


# --- 5. A slot that starts while the customer is on the form ---------------------------


async def test_a_slot_that_started_meanwhile_says_so_with_the_way_to_other_times(
    client: AppClient, clock: ManualClock
) -> None:
    shop = await open_shop(client)
    url = await form_url(client, shop)
    shown = await client.get(url)
    clock.advance(timedelta(days=4))

    sent = await client.post(
        url,
        data={**the_form(shown.text), **CUSTOMER, "seats": "1", "action": "book"},
        follow_redirects=False,
    )
    opened = await client.get(url)

    for page in (sent, opened):
        assert page.status_code == 410, page.text
        assert "This time can no longer be booked" in page.text
        assert "We could not find this page" not in page.text
        assert f'href="{url.rsplit("/", 1)[0]}"' in page.text


# --- 6. A link's seats that are not a number ---------------------------------------------


@pytest.mark.parametrize("seats", ["abc", "", "-2", "9" * 30])
async def test_a_link_with_seats_that_are_not_a_number_opens_the_form_at_one_seat(
    client: AppClient, seats: str
) -> None:
    shop = await open_shop(client)
    url = await form_url(client, shop)

    shown = await client.get(url, params={"seats": seats})

    assert shown.status_code == 200, shown.text
    assert '<option value="1" selected>' in shown.text
    assert "$21.30" in shown.text


# --- 2. The fake checkout page is never stale, and refuses in words ---------------------


async def test_the_fake_checkout_page_is_not_cached_and_refuses_a_browser_in_words(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    url = await form_url(client, shop)
    shown = await client.get(url)
    sent = await client.post(
        url,
        data={**the_form(shown.text), **CUSTOMER, "seats": "1", "action": "book"},
        follow_redirects=False,
    )
    checkout_url = sent.headers["location"]
    page = await client.get(checkout_url)
    await client.post(checkout_url + "/cancel", data={})

    # The Back button's page, Pay pressed: a browser's form post.
    refused = await client.post(
        checkout_url + "/pay",
        data={"method": "card"},
        headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        follow_redirects=False,
    )
    api = await client.post(checkout_url + "/pay", json={}, headers={"accept": "application/json"})

    assert page.headers["cache-control"] == "no-store"
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert refused.headers["cache-control"] == "no-store"
    assert "is not open" not in refused.text
    assert "can no longer be paid" in refused.text
    booking_link = re.search(r'href="([^"]+)"', refused.text)
    assert booking_link is not None
    assert urlsplit(booking_link.group(1)).path.startswith("/booking/")
    assert api.status_code == 400
    assert api.headers["content-type"].startswith("application/problem+json")


# --- 6. Who cancelled a booking ----------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("The teacher is ill", "The business cancelled this booking: The teacher is ill"),
        (None, "The business cancelled this booking."),
    ],
    ids=["with-reason", "without-reason"],
)
async def test_a_booking_the_business_cancelled_says_so_and_why(
    client: AppClient, reason: str | None, words: str
) -> None:
    tenant, booking_id, token = await paid_booking_with_token(client)
    body = {} if reason is None else {"reason": reason}
    cancelled = await client.post(
        f"/v1/tenant/bookings/{booking_id}/cancel", json=body, headers=tenant
    )

    page = await client.get(f"/booking/{booking_id}", params={"token": token})

    assert cancelled.status_code == 200, cancelled.text
    assert "This booking is cancelled" in page.text
    assert words in page.text
    assert "You cancelled" not in page.text


class _SecondHoldLosesTheRace(StartCheckout):
    """The same submission's first post inserted the booking between this post's look for
    it and its own insert (PostgreSQL, two posts at once): the insert is refused once."""

    def __init__(self, inner: StartCheckout) -> None:  # the use case's own, wrapped
        self._inner = inner
        self.refused = 0

    async def __call__(self, command: StartCheckoutCommand) -> CheckoutStarted:
        first = await self._inner(command)
        if self.refused == 0:
            self.refused += 1
            raise AlreadyExists(f"booking {first.booking_id} exists")
        return await self._inner(command)


@pytest.mark.race
async def test_a_post_that_loses_the_race_to_hold_resumes_the_first_checkout(
    app: tuple[AppClient, Container],
) -> None:
    client, container = app
    shop = await open_shop(client)
    url = await form_url(client, shop)
    racing = _SecondHoldLosesTheRace(container.start_checkout())
    container.start_checkout.override(providers.Object(racing))
    shown = await client.get(url)

    sent = await client.post(
        url,
        data={**the_form(shown.text), **CUSTOMER, "seats": "1", "action": "book"},
        follow_redirects=False,
    )

    assert sent.status_code == 303, sent.text
    assert racing.refused == 1
    assert await seats_left(client, url) == "4"
    paid = await client.post(sent.headers["location"] + "/pay", data={"method": "card"})
    assert "Your booking is confirmed" in paid.text


# --- 6. Too many seats held from one connection (limits3) ------------------------------


async def test_a_connection_holding_its_share_is_told_when_to_come_back(
    client: AppClient, clock: ManualClock
) -> None:
    """README: more is 429 `too-many-seats-held-from-client` with `Retry-After`, and the
    form says so in words, with the time to come back (it answered 422, "later")."""
    shop = await open_shop(client, capacity=10, timezone="America/New_York")  # share: 5
    url = await form_url(client, shop)
    first = await client.get(url)
    held = await client.post(
        url,
        data={
            **the_form(first.text),
            **CUSTOMER,
            "seats": "5",
            "quoted_seats": "5",
            "action": "book",
        },
        follow_redirects=False,
    )
    again = await client.get(url)
    other = {"name": "Bo", "email": "bo@example.com"}

    refused = await client.post(
        url,
        data={**the_form(again.text), **other, "seats": "1", "action": "book"},
        follow_redirects=False,
    )

    assert held.status_code == 303, held.text
    assert refused.status_code == 429, refused.text
    wait = int(refused.headers["retry-after"])
    assert 0 < wait <= timedelta(minutes=30).total_seconds()  # until the hold's window passes
    back = clock.now() + timedelta(seconds=wait)
    when = Formats(customer_locale(None), "America/New_York").when(back)
    assert f"try again after {when}" in refused.text
    assert 'value="bo@example.com"' in refused.text  # the form is kept as filled in
    assert await seats_left(client, url) == "5"
