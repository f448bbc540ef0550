"""Which Stripe account a tenant's charges live on: one rule, asked by every caller."""

import pytest

from domain.tenant import ChargeModel, ConnectStatus, Tenant, charge_account


def tenant(model: ChargeModel, account_id: str | None = "acct_1") -> Tenant:
    return Tenant(
        id="tn_1",
        name="Yoga",
        slug="yoga",
        country="DE",
        default_currency="eur",
        timezone="Europe/Berlin",
        charge_model=model,
        connect=ConnectStatus(account_id=account_id, charges_enabled=True),
    )


def test_a_direct_charge_lives_on_the_connected_account() -> None:
    assert charge_account(ChargeModel.DIRECT, "acct_1") == "acct_1"
    assert tenant(ChargeModel.DIRECT).charge_account_id == "acct_1"


def test_a_destination_charge_lives_on_the_platform() -> None:
    assert charge_account(ChargeModel.DESTINATION, "acct_1") is None
    assert tenant(ChargeModel.DESTINATION).charge_account_id is None


@pytest.mark.parametrize("model", list(ChargeModel))
def test_a_tenant_without_an_account_has_no_charge_account(model: ChargeModel) -> None:
    assert tenant(model, account_id=None).charge_account_id is None
