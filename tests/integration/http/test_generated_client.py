"""A client generated from the served OpenAPI document drives the main flow (issue 15).

openapi-python-client (a pinned development dependency) generates the client inside the
test, into a temporary folder, without the network; the client then talks to the app
in-process. What a generated client cannot do (a browser pressing Pay on the fake
gateway's page) is done with plain HTTP, as a person would.
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from litestar import Litestar

from tests.support.http_app import ADMIN_KEY, BASE_URL, asgi_transport, build_test_app

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "bookpay_client"


# Generating the client runs openapi-python-client in a process of its own.
pytestmark = pytest.mark.slow


@pytest.fixture
def app(tmp_path: Path) -> Litestar:
    app, _ = build_test_app(tmp_path)
    return app


@pytest.fixture
def client_package(
    app: Litestar, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    document = app.openapi_schema.to_schema()
    folder = tmp_path / "generated"
    folder.mkdir()
    (folder / "openapi.json").write_text(json.dumps(document))
    (folder / "config.yaml").write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            "openapi.json",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
            "--config",
            "config.yaml",
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(folder))
    yield importlib.import_module(PACKAGE)
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def _module(name: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.{name}")


def _client(app: Litestar, token: str | None = None, **headers: str) -> Any:
    """A generated client whose HTTP goes to the app in-process."""
    package = _module("client")
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    transport = asgi_transport(app)
    http = httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)
    if token is None:
        return package.Client(base_url=BASE_URL).set_async_httpx_client(http)
    return package.AuthenticatedClient(base_url=BASE_URL, token=token).set_async_httpx_client(http)


async def test_a_generated_client_drives_the_main_flow(
    app: Litestar, client_package: ModuleType
) -> None:
    models = _module("models")
    admin_api = "api.platform_admin"
    tenant_api = "api.tenant"
    public_api = "api.public"

    # The platform creates a tenant.
    admin = _client(app, ADMIN_KEY)
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    created = await _module(f"{admin_api}.create_tenant").asyncio_detailed(
        client=admin,
        body=models.TenantCreate(
            name="Studio",
            slug=slug,
            country="US",
            default_currency="usd",
            timezone="UTC",
            fee_policy=models.FeePolicy(
                percent_bps=500,
                fixed=models.Money(amount=30, currency="usd"),
                bearer=models.FeeBearer.CUSTOMER,
            ),
        ),
    )
    assert created.status_code == 201, created.content
    assert created.headers["location"] == f"/v1/admin/tenants/{created.parsed.tenant.id}"
    assert created.parsed.tenant.charge_model is models.ChargeModel.DESTINATION
    tenant = _client(app, created.parsed.api_key)

    # The tenant onboards on the (fake) Stripe page.
    link = await _module(f"{tenant_api}.create_onboarding_link").asyncio(client=tenant)
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url=BASE_URL) as browser:
        assert (await browser.post(link.url)).status_code == 303
        status = await _module(f"{tenant_api}.get_connect_status").asyncio(client=tenant)
        assert status.charges_enabled is True

        # An offering and a slot.
        offering = await _module(f"{tenant_api}.create_offering").asyncio(
            client=tenant,
            body=models.OfferingCreate(
                name="Morning yoga",
                price=models.Money(amount=2000, currency="usd"),
                duration_minutes=60,
                capacity=12,
            ),
        )
        starts_at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        slots = await _module(f"{tenant_api}.add_slots").asyncio(
            offering.id, client=tenant, body=models.SlotsCreate(starts_at=starts_at)
        )
        (slot,) = slots.data

        # The customer's side: the public quote, then the checkout.
        public = _client(app)
        offerings = await _module(f"{public_api}.list_public_offerings").asyncio(
            slug, client=public, limit=10
        )
        assert [o.id for o in offerings.data] == [offering.id]
        quote = await _module(f"{public_api}.get_public_fee_quote").asyncio(
            slug, client=public, offering_id=offering.id, seats=2
        )
        assert (quote.subtotal.amount, quote.service_fee.amount, quote.customer_total.amount) == (
            4000,
            230,
            4230,
        )
        checkout = await _module(f"{public_api}.create_checkout").asyncio_detailed(
            slug,
            client=public,
            body=models.CheckoutCreate(
                slot_id=slot.id,
                seats=2,
                customer=models.CustomerIn(email="ada@example.com"),
            ),
            idempotency_key=str(uuid.uuid4()),
        )
        assert checkout.status_code == 201, checkout.content
        started = checkout.parsed
        assert started.quote.customer_total.amount == 4230

        # Pay on the fake gateway's page; its signed webhook confirms the booking.
        paid = await browser.post(f"{started.checkout_url}/pay", data={"method": "card"})
        assert paid.status_code == 303, paid.text
    booking = await _module(f"{public_api}.get_public_booking").asyncio(
        started.booking_id, client=public, token=started.booking_token
    )
    assert booking.status is models.BookingStatus.CONFIRMED

    # A keyed refund, retried: one refund.
    keyed = _client(app, created.parsed.api_key, **{"Idempotency-Key": f"refund-{uuid.uuid4()}"})
    refund = _module(f"{tenant_api}.refund_booking")
    answers = [
        await refund.asyncio_detailed(
            started.booking_id,
            client=keyed,
            body=models.RefundCreate(amount=models.Money(amount=1000, currency="usd")),
        )
        for _ in range(2)
    ]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].content == answers[1].content
    detail = await _module(f"{tenant_api}.get_booking").asyncio(started.booking_id, client=tenant)
    assert detail.refunded.amount == 1000
    refunds = [e for e in detail.ledger if e.kind is models.EntryKind.REFUND]
    assert [e.amount.amount for e in refunds] == [1000]

    # The statement, as JSON and as CSV.
    statement = _module(f"{tenant_api}.get_statement")
    as_json = await statement.asyncio(client=tenant)
    (line,) = as_json.data
    assert (line.gross.amount, line.refunds.amount, line.fees.amount) == (4230, 1000, 230)
    assert isinstance(line.net, models.SignedMoney)
    # The generated code parses JSON only, so the CSV form is requested with the request
    # it builds (the declared `format` enum) and read as text.
    request = statement._get_kwargs(format_=models.StatementFormat.CSV)
    as_csv = await tenant.get_async_httpx_client().request(**request)
    assert as_csv.headers["content-type"].startswith("text/csv")
    (row,) = csv.DictReader(io.StringIO(as_csv.text))
    assert (row["currency"], row["gross"], row["refunds"], row["fees"]) == (
        "USD",
        "42.30",
        "10.00",
        "2.30",
    )
