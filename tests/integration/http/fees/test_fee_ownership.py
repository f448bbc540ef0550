"""Issue 13, over HTTP on SQLite and PostgreSQL: the platform owns its fee and every active
offering stays quotable."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.http.fees.shop import ADMIN, open_shop, problem, usd
from tests.support.app_client import AppClient

pytestmark = pytest.mark.fees


# --- What was seen 1: the platform owns the fee ----------------------------------------


async def test_a_tenant_cannot_set_the_fee_on_a_new_offering(client: AppClient) -> None:
    shop = await open_shop(client)
    response = await shop.offering(usd(2000), fee_policy={"percent_bps": 0})
    assert "platform" in problem(response, 403)
    listed = await client.get("/v1/tenant/offerings", headers=shop.auth)
    assert listed.json()["data"] == []


async def test_a_tenant_cannot_set_or_clear_the_fee_of_its_offering(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    for change in ({"percent_bps": 0}, None):
        problem(await shop.patch(offering_id, {"fee_policy": change}), 403)
    quote = (await shop.quote(offering_id)).json()
    assert quote["service_fee"] == usd(130)  # 5 % of 20.00 + 0.30: the platform's fee


async def test_the_platform_overrides_one_offering_and_quotes_name_the_policy(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    before = (await shop.quote(offering_id)).json()
    assert before["fee_policy"] == {"id": shop.id, "version": 1, "scope": "tenant"}
    assert before["fee_policy_version"] == 1

    set_ = await shop.set_override(offering_id, {"percent_bps": 1000})
    assert set_.status_code == 200, set_.text
    assert set_.json() | {"policy": None} == {
        "id": offering_id,
        "version": 1,
        "scope": "offering",
        "policy": None,
    }
    again = await shop.set_override(offering_id, {"percent_bps": 800})
    assert again.json()["version"] == 2

    quote = (await shop.quote(offering_id)).json()
    assert quote["service_fee"] == usd(160)
    assert quote["fee_policy"] == {"id": offering_id, "version": 2, "scope": "offering"}
    assert quote["fee_policy_version"] == 2

    slot_id = await shop.new_slot(offering_id)
    sold = await shop.checkout(slot_id, 1)
    assert sold.status_code == 201, sold.text
    booking = await client.get(
        f"/v1/tenant/bookings/{sold.json()['booking_id']}", headers=shop.auth
    )
    assert booking.json()["quote"]["fee_policy"] == quote["fee_policy"]

    ended = await shop.end_override(offering_id)
    assert ended.status_code == 200, ended.text
    assert (ended.json()["id"], ended.json()["scope"]) == (shop.id, "tenant")
    after = (await shop.quote(offering_id)).json()
    assert after["fee_policy"] == {"id": shop.id, "version": 1, "scope": "tenant"}
    # The booking keeps the policy it was sold under.
    booking = await client.get(
        f"/v1/tenant/bookings/{sold.json()['booking_id']}", headers=shop.auth
    )
    assert booking.json()["quote"]["fee_policy"] == quote["fee_policy"]


async def test_overrides_are_the_admins_alone(client: AppClient) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    path = f"/v1/admin/tenants/{shop.id}/offerings/{offering_id}/fee-policy"
    response = await client.put(path, json={"percent_bps": 0}, headers=shop.auth)
    assert response.status_code == 401, response.text
    missing = await shop.set_override("of_missing", {"percent_bps": 0})
    problem(missing, 404)


# --- What was seen 2: every active offering stays quotable ------------------------------


async def test_a_fixed_fee_in_another_currency_is_refused_naming_the_offering(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    eur = {"percent_bps": 500, "fixed": {"amount": 30, "currency": "eur"}}

    assert offering_id in problem(await shop.set_policy(eur), 422)
    assert offering_id in problem(await shop.set_override(offering_id, eur), 422)
    slot_id = await shop.new_slot(offering_id)
    assert (await shop.checkout(slot_id, 1)).status_code == 201  # still sold as before


async def test_a_tenant_cannot_reprice_into_a_currency_its_fee_cannot_price(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    gbp = {"amount": 1500, "currency": "gbp"}

    assert offering_id in problem(await shop.patch(offering_id, {"price": gbp}), 422)
    problem(await shop.offering(gbp), 422)
    quote = await shop.quote(offering_id)
    assert quote.status_code == 200, quote.text


async def test_a_tenant_selling_in_two_currencies_has_a_fixed_fee_in_each(
    client: AppClient,
) -> None:
    policy = {
        "percent_bps": 500,
        "fixed": usd(30),
        "by_currency": {"eur": {"fixed": {"amount": 25, "currency": "eur"}}},
    }
    shop = await open_shop(client, policy)
    in_usd = await shop.new_offering(usd(2000))
    in_eur = await shop.new_offering({"amount": 2000, "currency": "eur"})
    assert (await shop.quote(in_usd)).json()["service_fee"] == usd(130)
    assert (await shop.quote(in_eur)).json()["service_fee"] == {"amount": 125, "currency": "eur"}

    tenant = await client.get(f"/v1/admin/tenants/{shop.id}", headers=ADMIN)
    by_currency = tenant.json()["fee_policy"]["policy"]["by_currency"]
    assert by_currency["eur"]["fixed"] == {"amount": 25, "currency": "eur"}
    # Dropping the euro amounts would leave the euro offering unpriced: refused.
    detail = problem(await shop.set_policy({"percent_bps": 500, "fixed": usd(30)}), 422)
    assert in_eur in detail
    assert in_usd not in detail


async def test_an_archived_offering_does_not_hold_back_a_new_policy(
    client: AppClient,
) -> None:
    shop = await open_shop(client)
    offering_id = await shop.new_offering(usd(2000))
    archived = await client.delete(f"/v1/tenant/offerings/{offering_id}", headers=shop.auth)
    assert archived.status_code == 200
    response = await shop.set_policy({"fixed": {"amount": 30, "currency": "eur"}})
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2


@pytest.mark.race
async def test_a_fee_change_and_a_price_change_at_once_never_leave_an_offering_unpriced(
    client: AppClient,
) -> None:
    both = {
        "percent_bps": 500,
        "fixed": usd(30),
        "by_currency": {"eur": {"fixed": {"amount": 25, "currency": "eur"}}},
    }
    usd_only = {"percent_bps": 500, "fixed": usd(30)}
    for _ in range(5):
        shop = await open_shop(client, both)
        offering_id = await shop.new_offering(usd(2000))
        # Each alone is fine; together they would leave a euro offering without a euro fee.
        policy, price = await asyncio.gather(
            shop.set_policy(usd_only),
            shop.patch(offering_id, {"price": {"amount": 1800, "currency": "eur"}}),
        )
        assert sorted([policy.status_code, price.status_code]) == [200, 422], (
            policy.text,
            price.text,
        )
        assert (await shop.quote(offering_id)).status_code == 200
