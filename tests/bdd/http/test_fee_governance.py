"""Steps for features/fee_governance.feature, through the HTTP API: who may set the fee,
every write keeps offerings quotable, and a quote names its policy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from tests.bdd.http.world import World
from tests.bdd.notation import money_json, parse_fee

scenarios("fee_governance.feature")


def fee_policy(text: str) -> dict[str, Any]:
    """ "5% + 0.30 USD, or + 0.25 EUR in EUR" as the fee policy JSON of API.md."""
    return parse_fee(text).as_json()


@dataclass
class Platform:
    """The tenant under test, its offering, and the answer to the last change."""

    world: World
    tenant_id: str = ""
    offering_id: str = ""
    answer: httpx.Response | None = None
    quote: dict[str, Any] = field(default_factory=dict)

    @property
    def client(self) -> Any:
        return self.world.client

    def offering_body(self, price: str) -> dict[str, Any]:
        return {"name": "Class", "price": money_json(price), "duration_minutes": 60, "capacity": 5}

    def tenant_fee(self, fee: str) -> httpx.Response:
        return self.client.put(  # type: ignore[no-any-return]
            f"/v1/admin/tenants/{self.tenant_id}/fee-policy",
            json=fee_policy(fee),
            headers=self.world.admin(),
        )

    def offering_fee(self, fee: str | None) -> httpx.Response:
        path = f"/v1/admin/tenants/{self.tenant_id}/offerings/{self.offering_id}/fee-policy"
        if fee is None:
            return self.client.delete(path, headers=self.world.admin())  # type: ignore[no-any-return]
        return self.client.put(path, json=fee_policy(fee), headers=self.world.admin())  # type: ignore[no-any-return]

    def quote_of(self, offering_id: str) -> httpx.Response:
        return self.client.get(  # type: ignore[no-any-return]
            "/v1/tenant/fee-quote",
            params={"offering_id": offering_id, "seats": 1},
            headers=self.world.tenant(),
        )


@pytest.fixture
def platform(world: World) -> Platform:
    return Platform(world)


def _accepted(response: httpx.Response) -> httpx.Response:
    assert response.is_success, response.text
    return response


@given(parsers.re(r"a tenant whose service fee is (?P<fee>.+)"))
def tenant_with_fee(platform: Platform, fee: str) -> None:
    slug = f"studio-{uuid.uuid4().hex[:8]}"
    created = _accepted(
        platform.client.post(
            "/v1/admin/tenants",
            json={
                "name": "Studio",
                "slug": slug,
                "country": "US",
                "default_currency": "usd",
                "timezone": "America/New_York",
                "fee_policy": fee_policy(fee),
            },
            headers=platform.world.admin(),
        )
    )
    platform.world.tenant_slug = slug
    platform.world.tenant_key = created.json()["api_key"]
    platform.tenant_id = created.json()["tenant"]["id"]


@given(parsers.re(r"it sells an offering at (?P<price>.+)"))
def sells_an_offering(platform: Platform, price: str) -> None:
    created = _accepted(
        platform.client.post(
            "/v1/tenant/offerings",
            json=platform.offering_body(price),
            headers=platform.world.tenant(),
        )
    )
    platform.offering_id = created.json()["id"]


@when(
    parsers.re(
        r"(?P<who>the tenant|the platform) sets the fee "
        r"(?P<where>of its offering|of a new offering|of the tenant|of the offering) to (?P<fee>.+)"
    )
)
def someone_sets_the_fee(platform: Platform, who: str, where: str, fee: str) -> None:
    if who == "the platform":
        answer = (
            platform.tenant_fee(fee) if where == "of the tenant" else platform.offering_fee(fee)
        )
    elif where == "of its offering":
        answer = platform.client.patch(
            f"/v1/tenant/offerings/{platform.offering_id}",
            json={"fee_policy": fee_policy(fee)},
            headers=platform.world.tenant(),
        )
    else:
        answer = platform.client.post(
            "/v1/tenant/offerings",
            json=platform.offering_body("20.00 USD") | {"fee_policy": fee_policy(fee)},
            headers=platform.world.tenant(),
        )
    platform.answer = answer


@when(parsers.re(r"the platform sets the (?P<whose>tenant's|offering's) fee to (?P<fee>.+)"))
def platform_sets(platform: Platform, whose: str, fee: str) -> None:
    platform.answer = (
        platform.tenant_fee(fee) if whose == "tenant's" else platform.offering_fee(fee)
    )


@when(parsers.re(r"the tenant re-prices the offering at (?P<price>.+)"))
def tenant_reprices(platform: Platform, price: str) -> None:
    platform.answer = platform.client.patch(
        f"/v1/tenant/offerings/{platform.offering_id}",
        json={"price": money_json(price)},
        headers=platform.world.tenant(),
    )


@when(parsers.re(r"the tenant adds an offering at (?P<price>.+)"))
def tenant_adds(platform: Platform, price: str) -> None:
    platform.answer = platform.client.post(
        "/v1/tenant/offerings", json=platform.offering_body(price), headers=platform.world.tenant()
    )


@then(parsers.re(r"the change is (?P<outcome>.+)"))
def change_is(platform: Platform, outcome: str) -> None:
    answer = platform.answer
    assert answer is not None
    if outcome == "accepted":
        _accepted(answer)
        return
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    expected = {
        "forbidden": 403,
        "refused": 422,
        "refused, naming the offering": 422,
    }[outcome]
    assert answer.status_code == expected, answer.text
    if outcome.endswith("naming the offering"):
        assert platform.offering_id in answer.json()["detail"], answer.text


@then(parsers.re(r"a quote for one seat of the offering shows a service fee of (?P<fee>.+)"))
def quote_shows(platform: Platform, fee: str) -> None:
    quote = _accepted(platform.quote_of(platform.offering_id)).json()
    assert quote["service_fee"] == money_json(fee), quote


@then("every active offering of the tenant can still be quoted")
def all_quotable(platform: Platform) -> None:
    listed = _accepted(
        platform.client.get("/v1/tenant/offerings", headers=platform.world.tenant())
    ).json()["data"]
    active = [o["id"] for o in listed if not o["archived"]]
    assert platform.offering_id in active
    for offering_id in active:
        _accepted(platform.quote_of(offering_id))


@given("the platform has not changed the fee since")
def fee_unchanged() -> None:
    """Nothing happens: the tenant's first policy stays in force."""


@given(parsers.re(r"the platform has set the tenant's fee to (?P<fee>.+)"))
def has_set_tenant_fee(platform: Platform, fee: str) -> None:
    _accepted(platform.tenant_fee(fee))


@given(parsers.re(r"the platform has set the offering's fee to (?P<fee>[^,]+)(?P<rest>.*)"))
def has_set_offering_fee(platform: Platform, fee: str, rest: str) -> None:
    _accepted(platform.offering_fee(fee))
    if rest == ", then ended it":
        _accepted(platform.offering_fee(None))
    elif rest.startswith(", then to "):
        _accepted(platform.offering_fee(rest.removeprefix(", then to ")))
    else:
        assert not rest, f"say ', then to <fee>' or ', then ended it', not {rest!r}"


@when("a customer asks what one seat of the offering costs")
def asks_for_a_quote(platform: Platform) -> None:
    platform.quote = _accepted(platform.quote_of(platform.offering_id)).json()


@then(
    parsers.re(
        r"the quote names the (?P<whose>tenant's|offering's) policy, version (?P<version>\d+)"
    )
)
def quote_names(platform: Platform, whose: str, version: str) -> None:
    scope = "tenant" if whose == "tenant's" else "offering"
    owner = platform.tenant_id if scope == "tenant" else platform.offering_id
    expected = {"id": owner, "version": int(version), "scope": scope}
    assert platform.quote["fee_policy"] == expected, platform.quote
    assert platform.quote["fee_policy_version"] == int(version)


@then(parsers.re(r"the quote shows a service fee of (?P<fee>.+)"))
def quote_fee_is(platform: Platform, fee: str) -> None:
    assert platform.quote["service_fee"] == money_json(fee), platform.quote
