"""An `account.updated` is applied as the account the gateway shows, not as sent.

A valid signature proves the sender, not the facts: the snapshot in the event may be false
(a leaked signing secret) or stale. So the account is fetched from the gateway and the
fetched status replaces the event's (Stripe's advice: fetch the object the event names).
"""

from __future__ import annotations

from dataclasses import replace

from application.errors import GatewayError, GatewayRateLimited, GatewayUnavailable
from application.payment_events.checks import GatewayStep, as_sent
from application.payment_events.session_facts import Refuted
from application.ports.gateway import PaymentGateway
from application.ports.gateway_events import AccountUpdated
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory


async def checked_account(event: AccountUpdated, reading: UnitOfWork) -> GatewayStep:
    """Reads the tenant whose account the event names in `reading`; the gateway step gives
    the event with the account's status as the gateway shows it now.

    As sent (nothing asked) when it names no tenant's account, or a snapshot of another
    account than the one it was sent for (the handler ignores those). The step raises
    Refuted when the gateway knows no such account; GatewayUnavailable (or
    GatewayRateLimited) when it could not be asked: nothing is applied, the gateway's
    redelivery tries again.
    """
    account_id = event.account_id or event.status.account_id
    if account_id is None or event.status.account_id != account_id:
        return as_sent(event)
    if await reading.tenants.find_by_account_id(account_id) is None:
        return as_sent(event)

    async def ask_gateway(gateway: PaymentGateway, _uow: UnitOfWorkFactory) -> AccountUpdated:
        try:
            status = await gateway.retrieve_account(account_id)
        except (GatewayUnavailable, GatewayRateLimited):
            raise
        except GatewayError as error:
            raise Refuted(f"the gateway does not know account {account_id}: {error}") from None
        return replace(event, status=status)

    return ask_gateway
