"""Use cases over the in-memory repositories and the fake gateway: no database, no network.

The fake gateway delivers its signed events straight to the ReceiveWebhook use case, as
Stripe would deliver them to the HTTP endpoint (with `queue=True`, to AcknowledgeWebhook,
whose queue `App.drain` applies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest

from adapters.fake_stripe.gateway import FakeGateway
from adapters.reference_data.countries import IsoCountries
from adapters.system.ids import RandomIds
from application.acknowledge_webhook import AcknowledgeWebhook
from application.add_slots import AddSlots, NewSlots, SlotSpec
from application.apply_received_events import ApplyReceivedEvents
from application.cancel_booking import CancelBooking
from application.create_offering import CreateOffering, NewOffering
from application.create_tenant import CreateTenant, NewTenant
from application.expire_lapsed_holds import ExpireLapsedHolds
from application.payment_events import ApplyPaymentEvent
from application.ports.gateway import PaymentGateway, RefundRequest, WebhookEndpoint
from application.receive_webhook import ReceiveWebhook
from application.reconcile import Reconcile
from application.refund_booking import RefundBooking
from application.settle_reserved_refunds import SettleReservedRefunds
from application.start_checkout import StartCheckout, StartCheckoutCommand
from application.start_onboarding import StartOnboarding, StartOnboardingCommand
from domain.booking import Booking
from domain.fees import FeePolicy
from domain.money import Money
from domain.tenant import ChargeModel
from tests.fakes.clock import ManualClock
from tests.fakes.database import InMemoryDatabase
from tests.fakes.fake_stripe_store import InMemoryFakeStripeStore

START = datetime(2030, 5, 1, 9, 0, tzinfo=UTC)
BASE = "http://bookpay.test"


@dataclass
class App:
    db: InMemoryDatabase
    clock: ManualClock
    gateway: FakeGateway
    start_checkout: StartCheckout
    apply_event: ApplyPaymentEvent
    sweep: ExpireLapsedHolds
    reconcile: Reconcile
    cancel: CancelBooking
    refund: RefundBooking
    create_tenant: CreateTenant
    create_offering: CreateOffering
    add_slots: AddSlots
    onboarding: StartOnboarding
    delivered: list[int]
    dropping: list[bool]
    acknowledge: AcknowledgeWebhook
    drain: ApplyReceivedEvents

    def drop_deliveries(self, drop: bool = True) -> None:
        """Stripe's webhooks stop arriving (or start again)."""
        self.dropping[0] = drop

    async def booking(self, booking_id: str) -> Booking:
        async with self.db.unit_of_work() as uow:
            booking = await uow.bookings.find_by_id(booking_id)
        assert booking is not None
        return booking

    async def refund_in_dashboard(
        self, booking_id: str, payment_intent_id: str, amount: int, key: str
    ) -> None:
        """Someone refunds part of a payment in Stripe's dashboard, outside Bookpay."""
        await self.gateway.refund(
            RefundRequest(
                booking_id=booking_id,
                payment_intent_id=payment_intent_id,
                amount=Money(amount, "usd"),
                charge_model=ChargeModel.DESTINATION,
                refund_application_fee=True,
                reverse_transfer=True,
                idempotency_key=key,
            )
        )

    async def seats_available(self, tenant_id: str, slot_id: str) -> int:
        async with self.db.unit_of_work() as uow:
            slot = await uow.slots.get(tenant_id, slot_id)
        assert slot is not None
        return slot.seats_available


@dataclass
class Shop:
    tenant_id: str
    slug: str
    slot_id: str


Wrapper = TypeVar("Wrapper", bound=PaymentGateway)


def kept_in(
    made: list[Wrapper], wrapper: Callable[[FakeGateway], Wrapper]
) -> Callable[[FakeGateway], PaymentGateway]:
    """`wrapper`, also putting the gateway it makes into `made`, for the test to reach."""

    def wrap(inner: FakeGateway) -> Wrapper:
        made.append(wrapper(inner))
        return made[-1]

    return wrap


def build_app(
    gateway_wrapper: Callable[[FakeGateway], PaymentGateway] | None = None,
    *,
    queue: bool = False,
    worker_gateway: Callable[[PaymentGateway], PaymentGateway] | None = None,
) -> App:
    """`queue`: webhooks are acknowledged and queued, applied by `App.drain`, whose
    ApplyPaymentEvent asks `worker_gateway(gateway)` when given."""
    db = InMemoryDatabase()
    clock = ManualClock(START)
    ids = RandomIds()
    delivered: list[int] = []
    dropping = [False]
    holder: dict[str, ReceiveWebhook | AcknowledgeWebhook] = {}

    async def deliver(endpoint: WebhookEndpoint, body: bytes, headers: dict[str, str]) -> int:
        if dropping[0]:
            return 503
        await holder["receive"](body, headers["Stripe-Signature"], endpoint)
        delivered.append(200)
        return 200

    fake = FakeGateway(
        store=InMemoryFakeStripeStore(),
        public_base_url=BASE,
        webhook_secret="whsec_platform",
        connect_webhook_secret="whsec_connect",
        deliver=deliver,
        clock=clock.now,
        retry_delays=(),
    )
    gateway = fake if gateway_wrapper is None else gateway_wrapper(fake)
    uow = db.unit_of_work
    apply_event = ApplyPaymentEvent(uow, gateway, clock)
    acknowledge = AcknowledgeWebhook(uow, gateway, clock)
    holder["receive"] = acknowledge if queue else ReceiveWebhook(gateway, apply_event)
    paced = gateway if worker_gateway is None else worker_gateway(gateway)
    drain = ApplyReceivedEvents(uow, paced, ApplyPaymentEvent(uow, paced, clock), clock)
    sweep = ExpireLapsedHolds(uow, gateway, apply_event, clock)
    return App(
        db=db,
        clock=clock,
        gateway=fake,
        start_checkout=StartCheckout(
            uow, gateway, ids, clock, hold=timedelta(minutes=30), public_base_url=BASE
        ),
        apply_event=apply_event,
        sweep=sweep,
        reconcile=Reconcile(
            uow, gateway, apply_event, sweep, SettleReservedRefunds(uow, gateway, clock), clock
        ),
        cancel=CancelBooking(uow, gateway, clock),
        refund=RefundBooking(uow, gateway, clock),
        create_tenant=CreateTenant(uow, ids, clock, IsoCountries()),
        create_offering=CreateOffering(uow, ids),
        add_slots=AddSlots(uow, ids, clock),
        onboarding=StartOnboarding(
            uow, gateway, default_return_url=f"{BASE}/r", default_refresh_url=f"{BASE}/r"
        ),
        delivered=delivered,
        dropping=dropping,
        acknowledge=acknowledge,
        drain=drain,
    )


async def open_shop(
    app: App, *, capacity: int = 3, slug: str = "studio", max_seats_per_booking: int | None = None
) -> Shop:
    """An onboarded tenant with one slot of `capacity`; without `max_seats_per_booking` one
    booking takes at most half the slot (rounded up)."""
    created = await app.create_tenant(
        NewTenant(
            name="Studio",
            slug=slug,
            country="US",
            default_currency="usd",
            timezone="UTC",
            fee_policy=FeePolicy(percent_bps=500, fixed=Money(30, "usd")),
        )
    )
    tenant_id = created.tenant.id
    await app.onboarding(StartOnboardingCommand(tenant_id))
    async with app.db.unit_of_work() as uow:
        tenant = await uow.tenants.get(tenant_id)
    assert tenant is not None
    assert tenant.connect.account_id is not None
    await app.gateway.complete_onboarding(tenant.connect.account_id)
    offering = await app.create_offering(
        NewOffering(
            tenant_id=tenant_id,
            name="Class",
            price=Money(2000, "usd"),
            duration_minutes=60,
            capacity=capacity,
            max_seats_per_booking=max_seats_per_booking,
        )
    )
    (slot,) = await app.add_slots(
        NewSlots(tenant_id, offering.id, (SlotSpec(START + timedelta(days=3)),))
    )
    return Shop(tenant_id, slug, slot.id)


def checkout(shop: Shop, seats: int = 2, key: str | None = None) -> StartCheckoutCommand:
    return StartCheckoutCommand(
        tenant_slug=shop.slug,
        slot_id=shop.slot_id,
        seats=seats,
        customer_email="ada@example.com",
        idempotency_key=key,
    )


async def paid_unheard(app: App, shop: Shop) -> tuple[str, str]:
    """A checkout paid while its completion event is lost: (booking id, payment intent)."""
    started = await app.start_checkout(checkout(shop))
    booking = await app.booking(started.booking_id)
    assert booking.gateway_session_id is not None
    app.drop_deliveries()
    paid = await app.gateway.pay(booking.gateway_session_id)
    assert paid.session.payment_intent_id is not None
    return booking.id, paid.session.payment_intent_id


@pytest.fixture
def app() -> App:
    return build_app()
