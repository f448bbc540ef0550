"""Issue 16 in a real browser: a customer books, pays and manages a booking on the hosted
pages, never touching the API. Every page passes axe-core (no serious or critical
violation) and is photographed into var/browser-artifacts/."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from tests.browser.conftest import Browser, Shop

pytestmark = pytest.mark.slow

FULL_THEN_HALF = {
    "windows": [
        {"hours_before": 48, "refund_percent": 100},
        {"hours_before": 24, "refund_percent": 50},
    ]
}


def plain(text: str) -> str:
    """Babel separates currency codes and digits with no-break spaces."""
    return text.replace("\xa0", " ").replace("\u202f", " ")


def choose_slot(browser: Browser, shop: Shop, offering: str, seats: int = 2) -> None:
    """From the shop's page to the hosted checkout, as a customer clicks through."""
    browser.open(f"/book/{shop.slug}")
    browser.click("a", text=offering)
    browser.click("a.slot")
    browser.fill({"name": "Ada Lovelace", "email": "ada@example.com", "seats": str(seats)})


def to_checkout(browser: Browser, shop: Shop, offering: str, seats: int = 2) -> None:
    choose_slot(browser, shop, offering, seats)
    browser.click("button", text="Continue to payment")
    if seats != 1:
        # Without script the total shown was for 1 seat: the form shows the new total first.
        assert "The total changed with the seats" in browser.text
        browser.click("button", text="Continue to payment")
    assert "/fake-stripe/checkout/" in browser.url


def test_seats_changed_without_updating_the_total_are_shown_before_paying(
    browser: Browser, open_shop: Callable[..., Shop]
) -> None:
    shop = open_shop()
    offering = shop.offering("Spinning", {"amount": 2000, "currency": "usd"})
    shop.slot(offering, timedelta(days=4))

    choose_slot(browser, shop, "Spinning", seats=1)
    assert "$21.30" in browser.text
    browser.fill({"seats": "2"})  # and straight on, without "Update the total"
    browser.click("button", text="Continue to payment")

    assert "/fake-stripe/" not in browser.url
    # 2 × 20.00 + 5 % + 0.30: the total now on the screen, and a request to confirm it.
    assert "$42.30" in browser.text
    assert "$21.30" not in browser.text
    assert "The total changed with the seats" in browser.text
    browser.click("button", text="Continue to payment")
    assert "42.30 USD" in browser.text


def test_back_to_a_cancelled_checkout_no_longer_offers_to_pay(
    browser: Browser, open_shop: Callable[..., Shop]
) -> None:
    shop = open_shop()
    offering = shop.offering("Rowing", {"amount": 2000, "currency": "usd"})
    shop.slot(offering, timedelta(days=2))

    to_checkout(browser, shop, "Rowing", seats=1)
    browser.click("button", text="Cancel")
    assert "Your booking was not completed" in browser.text
    browser.driver.back()
    browser.look("back")

    # Not the cached page with its Pay button: the checkout as it is now.
    browser.wait_for_text("can no longer be paid")
    assert "/fake-stripe/checkout/" in browser.url
    assert not browser.driver.find_elements("xpath", "//button[text()='Pay']")


def test_book_pay_and_land_on_the_confirmed_booking(
    browser: Browser, open_shop: Callable[..., Shop]
) -> None:
    shop = open_shop()
    offering = shop.offering(
        "Morning yoga", {"amount": 2000, "currency": "usd"}, cancellation_policy=FULL_THEN_HALF
    )
    shop.slot(offering, timedelta(days=5))

    choose_slot(browser, shop, "Morning yoga")
    browser.click("button", text="Update the total")
    # 2 × 20.00 + 5 % + 0.30: the total as the customer will pay it, before checkout.
    assert "$42.30" in browser.text
    assert "Service fee" in browser.text
    browser.click("button", text="Continue to payment")
    checkout = browser.text
    browser.click("button", text="Pay")
    browser.wait_for_text("Your booking is confirmed")

    # The checkout names the offering, its time on the tenant's clock, and the business.
    assert "Morning yoga ·" in checkout
    assert "Sunrise Studio" in checkout
    assert "EST" in checkout or "EDT" in checkout
    page = plain(browser.text)
    assert "Sunrise Studio" in page
    assert "Morning yoga" in page
    assert "Eastern" in page  # the tenant's timezone, by name
    assert "$42.30" in page
    assert "$2.30" in page
    assert "Cancel this booking ($42.30 back)" in page
    # The token came once in the return URL; it is a cookie now, and in no URL since.
    assert "token=" not in browser.url
    assert all("token=" not in url for url in browser.seen)


def test_cancel_on_the_checkout_page_gives_the_seats_back(
    browser: Browser, open_shop: Callable[..., Shop]
) -> None:
    shop = open_shop()
    offering = shop.offering("Pottery", {"amount": 2500, "currency": "usd"})
    shop.slot(offering, timedelta(days=2))

    to_checkout(browser, shop, "Pottery", seats=2)
    browser.click("button", text="Cancel")

    assert "Your booking was not completed" in browser.text
    assert "Nothing was charged" in browser.text
    assert "token=" not in browser.url
    browser.click("a", text="Choose another time")
    assert "4 seats left" in browser.text


def test_a_declined_payment_can_be_tried_again_and_paid(
    browser: Browser, open_shop: Callable[..., Shop]
) -> None:
    shop = open_shop()
    offering = shop.offering("Climbing", {"amount": 3000, "currency": "usd"})
    shop.slot(offering, timedelta(days=3))

    # One seat of the 4: the declined attempt still counts against the connection's share
    # of the slot (2) until its hold's length passes, so the second attempt fits beside it.
    to_checkout(browser, shop, "Climbing", seats=1)
    browser.click("button", text="Decline")
    browser.click("a", text="Return to the shop")
    browser.wait_for_text("Your payment did not go through")
    browser.click("a", text="Try again")
    browser.fill({"name": "Ada Lovelace", "email": "ada@example.com"})
    browser.click("button", text="Continue to payment")
    browser.click("button", text="Pay")

    browser.wait_for_text("Your booking is confirmed")


def test_a_paid_booking_is_cancelled_inside_its_window_with_the_refund_it_said(
    browser: Browser, open_shop: Callable[..., Shop]
) -> None:
    shop = open_shop()
    offering = shop.offering(
        "Sound bath", {"amount": 2000, "currency": "usd"}, cancellation_policy=FULL_THEN_HALF
    )
    shop.slot(offering, timedelta(hours=36))  # inside the 24-hour window: half back

    to_checkout(browser, shop, "Sound bath")
    browser.click("button", text="Pay")
    browser.wait_for_text("Your booking is confirmed")
    browser.click("a.button", text="Cancel this booking")
    assert "You will get $21.15 back." in browser.text
    browser.click("button", text="Yes, cancel my booking")

    browser.wait_for_text("This booking is cancelled")
    assert "$21.15" in browser.text
    assert "Refunded" in browser.text


def test_outside_every_window_the_booking_page_offers_no_cancel(
    browser: Browser, open_shop: Callable[..., Shop]
) -> None:
    shop = open_shop()
    offering = shop.offering(
        "Sunset hike", {"amount": 2000, "currency": "usd"}, cancellation_policy=FULL_THEN_HALF
    )
    shop.slot(offering, timedelta(hours=3))

    to_checkout(browser, shop, "Sunset hike")
    browser.click("button", text="Pay")
    browser.wait_for_text("Your booking is confirmed")

    assert "can no longer be cancelled online" in browser.text
    assert "Cancel this booking" not in browser.text


def test_a_full_slot_cannot_be_picked(browser: Browser, open_shop: Callable[..., Shop]) -> None:
    shop = open_shop()
    offering = shop.offering("Private lesson", {"amount": 5000, "currency": "usd"})
    slot = shop.slot(offering, timedelta(days=4), capacity=1)
    with httpx.Client(base_url=shop.server.base_url) as public:
        taken = public.post(
            f"/v1/public/{shop.slug}/checkout",
            json={"slot_id": slot, "seats": 1, "customer": {"email": "first@example.com"}},
        )
    assert taken.status_code == 201, taken.text

    browser.open(f"/book/{shop.slug}/{offering}")

    assert "Full" in browser.text
    assert not browser.driver.find_elements("css selector", "a.slot")


@pytest.mark.parametrize(
    ("currency", "timezone", "price", "shown"),
    [
        pytest.param("jpy", "Asia/Tokyo", 3000, "¥3,000", id="jpy"),
        pytest.param("kwd", "Asia/Kuwait", 26530, "KWD 26.530", id="kwd"),
    ],
)
def test_zero_and_three_decimal_currencies_are_shown_as_paid(
    browser: Browser,
    open_shop: Callable[..., Shop],
    currency: str,
    timezone: str,
    price: int,
    shown: str,
) -> None:
    shop = open_shop(currency=currency, timezone=timezone, bearer="tenant")
    offering = shop.offering("City tour", {"amount": price, "currency": currency})
    shop.slot(offering, timedelta(days=6))

    choose_slot(browser, shop, "City tour", seats=1)
    assert shown in plain(browser.text)
    browser.click("button", text="Continue to payment")
    browser.click("button", text="Pay")
    browser.wait_for_text("Your booking is confirmed")

    assert shown in plain(browser.text)


def test_every_page_fits_a_375_pixel_wide_screen(
    browser: Browser, open_shop: Callable[..., Shop]
) -> None:
    browser.driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 375, "height": 812, "deviceScaleFactor": 2, "mobile": True},
    )
    shop = open_shop()
    offering = shop.offering(
        "A rather long offering name for a very small screen indeed",
        {"amount": 2000, "currency": "usd"},
        cancellation_policy=FULL_THEN_HALF,
    )
    for day in (3, 4):  # inside the first cancellation window
        shop.slot(offering, timedelta(days=day))

    browser.open(f"/book/{shop.slug}")
    assert browser.fits_width()
    browser.click("a", text="A rather long offering name")
    assert browser.fits_width()
    browser.click("a.slot")
    assert browser.fits_width()
    browser.fill({"name": "Ada Lovelace", "email": "ada@example.com"})
    browser.click("button", text="Continue to payment")
    browser.click("button", text="Pay")
    browser.wait_for_text("Your booking is confirmed")
    assert browser.fits_width()
    browser.click("a.button", text="Cancel this booking")
    assert browser.fits_width()


def test_the_onboarding_return_and_refresh_pages_say_what_happens_next(browser: Browser) -> None:
    browser.open("/onboarding/return")
    assert "your details are with Stripe" in browser.text
    browser.open("/onboarding/refresh")
    assert "This onboarding link has expired" in browser.text
