"""Issue 16, in-process: the hosted booking pages from the shop to a cancelled booking.

The browser journeys (tests/browser/) show the same in Chromium; these pin the HTTP side:
cookies, CSRF, the Content Security Policy, and what a page must never show.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.app_client import AppClient
from tests.support.http_app import BASE_URL, build_test_app
from tests.support.http_flows import OpenShop, open_shop

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[AppClient]:
    app, _ = build_test_app(tmp_path, allowed_return_hosts=("platform.example", "testserver.local"))
    async with AppClient(app=app, base_url=BASE_URL) as test_client:
        yield test_client


async def offering_id(client: AppClient, shop: OpenShop) -> str:
    offerings = await client.get(f"/v1/public/{shop.slug}/offerings")
    return str(offerings.json()["data"][0]["id"])


async def submit_form(client: AppClient, form_url: str, **fields: str) -> Any:
    form = await client.get(form_url)
    assert form.status_code == 200, form.text
    token = CSRF_FIELD.search(form.text)
    assert token is not None
    # The seats the total on the screen was for: those sent (as after "Update the total").
    return await client.post(
        form_url,
        data={"_csrf_token": token.group(1), "quoted_seats": fields.get("seats", ""), **fields},
        follow_redirects=False,
    )


async def test_a_customer_books_pays_and_cancels_through_the_pages(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    offering = await offering_id(client, shop)

    home = await client.get(f"/book/{shop.slug}")
    slots = await client.get(f"/book/{shop.slug}/{offering}")
    form_url = f"/book/{shop.slug}/{offering}/{shop.slot_id}"
    quoted = await client.get(form_url, params={"seats": 2})
    sent = await submit_form(
        client, form_url, name="Ada", email="ada@example.com", seats="2", action="book"
    )

    assert home.status_code == 200
    assert "Studio" in home.text
    assert "$20.00" in home.text
    assert "5 seats left" in slots.text
    # The total as the customer will pay it: 2 × 20.00 + 5 % + 0.30 = 42.30.
    assert "$42.30" in quoted.text
    assert "Service fee" in quoted.text
    assert sent.status_code == 303, sent.text
    checkout_url = sent.headers["location"]
    assert "/fake-stripe/checkout/" in checkout_url
    booking_cookie = sent.headers["set-cookie"]
    assert "HttpOnly" in booking_cookie
    assert "SameSite=lax" in booking_cookie.replace("Lax", "lax")

    checkout = await client.get(checkout_url)
    paid = await client.post(checkout_url + "/pay", data={"method": "card"}, follow_redirects=False)
    back = paid.headers["location"]
    first_visit = await client.get(back, follow_redirects=False)
    page = await client.get(first_visit.headers["location"])

    # The checkout names the slot's date and time on the tenant's clock, and the business.
    assert re.search(r"Class · \w{3} \d+ \w{3} \d{4}, \d\d:\d\d UTC · Studio", checkout.text)
    assert urlsplit(back).path.startswith("/booking/")
    assert "token=" in back
    assert first_visit.status_code == 303
    assert "token" not in first_visit.headers["location"]
    assert page.status_code == 200, page.text
    assert "Your booking is confirmed" in page.text
    assert "$42.30" in page.text
    # Nothing of the platform's fee terms: not its percentage, nor what the tenant receives.
    assert "5 %" not in page.text
    assert "40.19" not in page.text
    assert "2.11" not in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'self'" in policy
    assert "https://platform.example:*" in policy

    booking_path = urlsplit(first_visit.headers["location"]).path
    confirm = await client.get(booking_path + "/cancel")
    assert "You will get $42.30 back." in confirm.text
    forged = await client.post(booking_path + "/cancel", data={"_csrf_token": "forged"})
    assert forged.status_code == 403
    token = CSRF_FIELD.search(confirm.text)
    assert token is not None
    cancelled = await client.post(booking_path + "/cancel", data={"_csrf_token": token.group(1)})
    assert cancelled.status_code == 200, cancelled.text
    assert "This booking is cancelled" in cancelled.text
    assert "Refunded" in cancelled.text


async def test_errors_are_shown_beside_their_fields_and_the_values_kept(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    offering = await offering_id(client, shop)
    form_url = f"/book/{shop.slug}/{offering}/{shop.slot_id}"

    sent = await submit_form(client, form_url, name="Ada", email="not-an-email", seats="9")

    assert sent.status_code == 422
    assert 'value="Ada"' in sent.text
    assert 'value="not-an-email"' in sent.text
    assert 'id="email-error"' in sent.text
    assert "name@example.com" in sent.text
    assert 'id="seats-error"' in sent.text
    assert 'id="name-error"' not in sent.text


async def test_a_booking_page_without_its_token_or_cookie_is_not_found(
    client: AppClient,
) -> None:
    page = await client.get("/booking/bk_unknown")
    wrong = await client.get("/booking/bk_unknown", params={"token": "not-the-token"})

    assert page.status_code == 404
    assert wrong.status_code == 404
    assert "We could not find this page" in wrong.text


async def test_the_onboarding_return_and_refresh_pages_answer_a_browser(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    link = await client.post("/v1/tenant/connect/onboarding-link", headers=shop.tenant)
    onboarding = await client.post(link.json()["url"], follow_redirects=False)
    done = await client.get(onboarding.headers["location"])
    expired = await client.get("/onboarding/refresh")

    assert done.status_code == 200
    assert "your details are with Stripe" in done.text
    assert expired.status_code == 200
    assert "expired" in expired.text


async def test_the_form_counts_against_the_per_client_checkout_limit(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path, checkout_limit_per_minute=1)
    async with AppClient(app=app, base_url=BASE_URL) as limited:
        shop = await open_shop(limited)
        form_url = f"/book/{shop.slug}/{await offering_id(limited, shop)}/{shop.slot_id}"
        fields = {
            "name": "Ada",
            "email": "ada@example.com",
            "seats": "1",
            "quoted_seats": "1",
            "action": "book",
        }

        first = await submit_form(limited, form_url, **fields)
        second = await submit_form(limited, form_url, **fields)

    assert first.status_code == 303
    assert second.status_code == 429
    assert "retry-after" in second.headers
    assert "Please wait a minute" in second.text


@pytest.mark.parametrize(
    "seats", ["²", "³", "1½", "-1", " "], ids=["sup2", "sup3", "half", "neg", "blank"]
)
async def test_seats_that_are_not_a_whole_number_are_an_error_beside_the_field(
    client: AppClient, seats: str
) -> None:
    shop = await open_shop(client)
    form_url = f"/book/{shop.slug}/{await offering_id(client, shop)}/{shop.slot_id}"

    sent = await submit_form(
        client, form_url, name="Ada", email="ada@example.com", seats=seats, action="book"
    )

    assert sent.status_code == 422, sent.text
    assert 'id="seats-error"' in sent.text


async def test_the_form_counts_the_seats_it_holds_per_client_address(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path, held_seats_per_client_per_hour=3)
    async with AppClient(app=app, base_url=BASE_URL) as limited:
        shop = await open_shop(limited)
        form_url = f"/book/{shop.slug}/{await offering_id(limited, shop)}/{shop.slot_id}"

        first = await submit_form(
            limited, form_url, name="Ada", email="ada@example.com", seats="2", action="book"
        )
        second = await submit_form(
            limited, form_url, name="Bo", email="bo@example.com", seats="2", action="book"
        )

    assert first.status_code == 303
    assert second.status_code == 429
    assert "retry-after" in second.headers


async def test_lang_names_the_language_of_the_text_while_formats_follow_the_locale(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    german = {"accept-language": "de-DE,de;q=0.9"}
    shop_page = await client.get(f"/book/{shop.slug}", headers=german)
    slots = await client.get(f"/book/{shop.slug}/{await offering_id(client, shop)}", headers=german)
    missing = await client.get("/book/no-such-shop", headers=german)
    onboarding = await client.get("/onboarding/refresh", headers=german)
    english = await client.get(f"/book/{shop.slug}", headers={"accept-language": "fr, en;q=0.5"})

    # No German catalogue: the words are English, and `lang` says so ...
    for page in (shop_page, slots, missing, onboarding, english):
        assert '<html lang="en">' in page.text, page.text[:200]
    assert "Book with Studio" in shop_page.text
    # ... while amounts and dates are German: 20,00 $ and the day's German name.
    assert "20,00\xa0$" in shop_page.text
    assert re.search(r"(Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag)", slots.text)
