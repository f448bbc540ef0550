"""Issue 16's "Done when", as a newcomer: `bookpay run` (what `make run` runs) on a fresh
database prints the demo's booking URL; in Chromium, from that URL only, they book, pay on
the fake checkout page, come back to the booking, and cancel it for the refund it names."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tests.browser.conftest import Browser
from tests.e2e.conftest import BOOKPAY
from tests.support.workers import free_port

pytestmark = pytest.mark.slow

BOOK_AND_PAY = re.compile(r"Book and pay:\s+(\S+)")


@dataclass
class Demo:
    booking_url: str
    base_url: str


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """`bookpay run` in an empty folder, as on a newcomer's machine; its printed URL."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith("BOOKPAY_")} | {
        "BOOKPAY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'bookpay.db'}",
        "BOOKPAY_PUBLIC_BASE_URL": base_url,
    }
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BOOKPAY), "run", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, f"bookpay run exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"bookpay run never ready:\n{log.read_text()}"
            try:
                if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        printed = BOOK_AND_PAY.search(log.read_text())
        assert printed is not None, log.read_text()
        yield Demo(printed.group(1), base_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_newcomer_books_pays_and_cancels_from_the_printed_url(
    chromium: WebDriver,
    demo: Demo,
    axe_source: str,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    chromium.delete_all_cookies()
    chromium.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser = Browser(chromium, demo.base_url, axe_source, artifacts, request.node.name)

    browser.open(demo.booking_url)
    assert "Demo Studio" in browser.text
    browser.click("a", text="Morning yoga")
    # The studio's morning class, on its own clock (New York), not at 4 AM.
    assert "Eastern" in browser.text
    assert re.search(r"\b9:00\s*AM\b", browser.text), browser.text
    browser.click("a.slot")
    browser.fill({"name": "Nia Newcomer", "email": "nia@example.com", "seats": "1"})
    browser.click("button", text="Continue to payment")
    assert "/fake-stripe/checkout/" in browser.url
    browser.click("button", text="Pay")
    browser.wait_for_text("Your booking is confirmed")

    page = browser.text.replace("\xa0", " ")
    total = re.search(r"Total paid\s+(\S+)", page)
    assert total is not None, page
    # The first slot is far enough ahead: cancelling gives everything back.
    assert f"Cancel this booking ({total.group(1)} back)" in page
    assert all("token=" not in url for url in browser.seen)
    browser.click("a.button", text="Cancel this booking")
    assert f"You will get {total.group(1)} back." in browser.text.replace("\xa0", " ")
    browser.click("button", text="Yes, cancel my booking")
    browser.wait_for_text("This booking is cancelled")
    assert "Refunded" in browser.text


def test_guessing_booking_links_is_told_to_wait_on_an_accessible_page(
    chromium: WebDriver,
    demo: Demo,
    axe_source: str,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    """The demo's server has the default limit of failed authentications (10 a minute)."""
    chromium.delete_all_cookies()
    browser = Browser(chromium, demo.base_url, axe_source, artifacts, request.node.name)

    browser.open("/booking/bk_guess?token=not-the-right-token")
    assert "We could not find this page" in browser.text
    for attempt in range(20):
        browser.open(f"/booking/bk_guess?token=not-the-right-token-{attempt}")
        if "Please wait a minute" in browser.text:
            break
    status = httpx.get(f"{demo.base_url}/booking/bk_guess", params={"token": "one-more-guess"})

    assert "Too many booking links" in browser.text
    assert status.status_code == 429
    assert int(status.headers["retry-after"]) >= 1
    assert status.headers["content-type"].startswith("text/html")
