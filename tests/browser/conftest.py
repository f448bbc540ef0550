"""Debian's Chromium, driven by Selenium through chromedriver, against a real `bookpay
serve` on SQLite with the fake Stripe gateway.

Every page a journey visits is checked by axe-core (from the npm registry, installed by
`make install`) and photographed into var/browser-artifacts/ (git-ignored) for a reviewer.
Missing Chromium, chromedriver or axe-core fails the tests with what to install: a browser
test never skips.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.conftest import Server, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("BOOKPAY_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMEDRIVER = Path(os.environ.get("BOOKPAY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "var" / "browser-artifacts"
BLOCKING_IMPACTS = {"serious", "critical"}


def _require(path: Path, what: str) -> None:
    if not path.exists():
        pytest.fail(f"{what} is missing at {path}", pytrace=False)


@pytest.fixture(scope="session")
def axe_source() -> str:
    _require(AXE, "axe-core (run `make install`, which runs `npm ci`)")
    return AXE.read_text()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def pages_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("pages")
    running = start_server(
        f"sqlite+aiosqlite:///{folder / 'bookpay.db'}",
        folder / "server.log",
        env={"BOOKPAY_SWEEP_SECONDS": "0"},
    )
    try:
        yield running
    finally:
        stop_server(running)


@pytest.fixture(scope="session")
def chromium() -> Iterator[WebDriver]:
    _require(CHROMIUM, "Chromium (Debian packages `chromium` and `chromium-driver`)")
    _require(CHROMEDRIVER, "chromedriver (Debian package `chromium-driver`)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class Browser:
    """The customer's browser: every page it looks at is checked and photographed."""

    driver: WebDriver
    base_url: str
    axe_source: str
    artifacts: Path
    test_name: str
    shots: int = 0
    seen: list[str] = field(default_factory=list)

    def open(self, path_or_url: str) -> None:
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        self.driver.get(url)
        self.look("open")

    def click(self, css: str, *, text: str | None = None) -> None:
        elements = self.driver.find_elements(By.CSS_SELECTOR, css)
        if text is not None:
            elements = [e for e in elements if text in e.text]
        assert elements, f"nothing matches {css!r} ({text!r}) on {self.driver.current_url}"
        elements[0].click()
        self.look("after click")

    def fill(self, fields: dict[str, str]) -> None:
        for name, value in fields.items():
            element = self.driver.find_element(By.NAME, name)
            if element.tag_name == "select":
                element.find_element(By.CSS_SELECTOR, f'option[value="{value}"]').click()
            else:
                element.clear()
                element.send_keys(value)

    @property
    def url(self) -> str:
        return str(self.driver.current_url)

    @property
    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def wait_for_text(self, words: str, timeout: float = 20.0) -> None:
        """The status page reloads itself while the payment is on its way."""
        deadline = time.monotonic() + timeout
        while words not in self.text:
            assert time.monotonic() < deadline, f"{words!r} never shown; got:\n{self.text}"
            time.sleep(0.3)
        self.look("settled")

    def look(self, moment: str) -> None:
        """axe-core on the page as it is now (none serious or critical), and a screenshot."""
        self.shots += 1
        name = re.sub(r"[^a-z0-9]+", "-", f"{self.test_name}-{self.shots:02d}-{moment}".lower())
        self.driver.save_screenshot(str(self.artifacts / f"{name}.png"))
        self.seen.append(self.url)
        if not self.url.startswith(self.base_url):
            return
        self.driver.execute_script(self.axe_source)
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify([{"
            "impact: 'critical', id: 'axe-error', help: String(e), nodes: []}])));"
        )
        blocking = [v for v in json.loads(result) if v.get("impact") in BLOCKING_IMPACTS]
        assert not blocking, f"axe on {self.url}:\n" + "\n".join(
            f"- {v['impact']} {v['id']}: {v['help']} "
            f"({[n.get('target') for n in v.get('nodes', [])][:3]})"
            for v in blocking
        )

    def fits_width(self) -> bool:
        return bool(
            self.driver.execute_script(
                "return document.documentElement.scrollWidth <= window.innerWidth;"
            )
        )


@pytest.fixture
def browser(
    chromium: WebDriver,
    pages_server: Server,
    axe_source: str,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> Browser:
    chromium.delete_all_cookies()
    chromium.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return Browser(chromium, pages_server.base_url, axe_source, artifacts, request.node.name)


@dataclass
class Shop:
    """A tenant that can sell, made through the API as a platform and a tenant would."""

    server: Server
    slug: str
    key: str
    offerings: dict[str, str] = field(default_factory=dict)

    def client(self) -> httpx.Client:
        return self.server.client(self.key)

    def offering(self, name: str, price: dict[str, Any], **extra: Any) -> str:
        with self.client() as tenant:
            made = tenant.post(
                "/v1/tenant/offerings",
                json={"name": name, "price": price, "duration_minutes": 60, "capacity": 4, **extra},
            )
        assert made.status_code == 201, made.text
        self.offerings[name] = made.json()["id"]
        return str(made.json()["id"])

    def slot(self, offering_id: str, starts_in: timedelta, capacity: int | None = None) -> str:
        starts_at = (datetime.now(UTC) + starts_in).replace(second=0, microsecond=0)
        spec: dict[str, Any] = {"starts_at": starts_at.isoformat()}
        if capacity is not None:
            spec["capacity"] = capacity
        with self.client() as tenant:
            made = tenant.post(f"/v1/tenant/offerings/{offering_id}/slots", json={"slots": [spec]})
        assert made.status_code == 201, made.text
        return str(made.json()["data"][0]["id"])


@pytest.fixture
def open_shop(pages_server: Server) -> Callable[..., Shop]:
    def make(
        *, currency: str = "usd", timezone: str = "America/New_York", bearer: str = "customer"
    ) -> Shop:
        slug = f"shop-{uuid.uuid4().hex[:8]}"
        fee_policy: dict[str, Any] = {"percent_bps": 500, "bearer": bearer}
        if currency == "usd":
            fee_policy["fixed"] = {"amount": 30, "currency": "usd"}
        with pages_server.client(pages_server.admin_key) as admin:
            created = admin.post(
                "/v1/admin/tenants",
                json={
                    "name": "Sunrise Studio",
                    "slug": slug,
                    "country": "US",
                    "default_currency": currency,
                    "timezone": timezone,
                    "fee_policy": fee_policy,
                },
            )
        assert created.status_code == 201, created.text
        shop = Shop(pages_server, slug, created.json()["api_key"])
        with shop.client() as tenant:
            link = tenant.post("/v1/tenant/connect/onboarding-link").json()["url"]
            assert httpx.post(link, follow_redirects=False).status_code == 303
            deadline = time.monotonic() + 10
            while not tenant.get("/v1/tenant/connect/status").json()["charges_enabled"]:
                assert time.monotonic() < deadline, "the tenant never became able to sell"
                time.sleep(0.1)
        return shop

    return make
