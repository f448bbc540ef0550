"""A customer picks a slot: hold the seats, then open a hosted checkout that ends the hold.

Two short transactions around one gateway call, so no transaction waits on the network:
1. hold the seats atomically and store the pending booking;
2. open the Checkout Session (its idempotency key derives from the booking id);
3. attach the session to the booking.

With an Idempotency-Key (claimed and replayed at the HTTP edge), the booking id derives
from the key, so a retry after a failure at 2 or 3 resumes the same booking with a new
token: the gateway sees the same idempotency key and returns the same session instead of
opening a second one, and no second hold is taken. Without a key, a failed gateway call
gives the seats back at once; so does a call the gateway refused as invalid, key or
not, since retrying the same request cannot succeed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from application.credentials import hash_secret, new_booking_token
from application.errors import (
    Conflict,
    GatewayError,
    GatewayInvalidRequest,
    NotFound,
)
from application.holds import release_seats_if_hold_ended
from application.ports.gateway import CheckoutRequest, LineItem, PaymentGateway
from application.ports.repositories import SlotForSale
from application.ports.time_and_identity import Clock, IdGenerator
from application.ports.unit_of_work import UnitOfWork
from application.uow import UnitOfWorkFactory
from domain.booking import (
    Booking,
    BookingStatus,
    Customer,
    ensure_customer_may_hold_more,
    hold_expiry,
)
from domain.errors import SeatsUnavailable
from domain.events import booking_events
from domain.fees import BearerKind, FeePolicy, FeeQuote
from domain.offering import DEFAULT_MAX_SEATS_PER_BOOKING, Offering, require_seats
from domain.return_urls import host_of, require_allowed_return_url
from domain.tenant import Tenant

# Stripe refuses a session that expires sooner than 30 minutes after it is created, by its
# own clock: a hold of exactly 30 minutes gets a minute of slack on the session. A payment
# in that minute is a late completion, which is confirmed or refunded like any other.
SESSION_MINIMUM = timedelta(minutes=31)


@dataclass(frozen=True, slots=True)
class StartCheckoutCommand:
    tenant_slug: str
    slot_id: str
    seats: int
    customer_email: str
    customer_name: str | None = None
    success_url: str | None = None
    cancel_url: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class CheckoutStarted:
    booking_id: str
    booking_token: str
    checkout_url: str
    expires_at: datetime
    quote: FeeQuote


class StartCheckout:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        gateway: PaymentGateway,
        ids: IdGenerator,
        clock: Clock,
        *,
        hold: timedelta,
        public_base_url: str,
        return_hosts: Collection[str] = (),
        default_max_seats_per_booking: int = DEFAULT_MAX_SEATS_PER_BOOKING,
    ) -> None:
        """`return_hosts`: where success and cancel URLs may lead, besides Bookpay itself;
        `default_max_seats_per_booking`: the seats one booking may take of an offering that
        sets no max_seats_per_booking of its own."""
        self._uow = uow
        self._gateway = gateway
        self._ids = ids
        self._clock = clock
        self._hold = hold
        self._default_max_seats = require_seats(default_max_seats_per_booking)
        self._base_url = public_base_url.rstrip("/")
        self._return_hosts = frozenset({*return_hosts, host_of(public_base_url)})

    async def __call__(self, command: StartCheckoutCommand) -> CheckoutStarted:
        require_seats(command.seats)
        for url in (command.success_url, command.cancel_url):
            if url is not None:
                require_allowed_return_url(url, self._return_hosts)
        key = command.idempotency_key
        # One read, then one write: the seats held and the booking stored by a single atomic
        # statement whose condition on the free seats is checked by the statement itself, so
        # a transaction around the two adds nothing but its BEGIN and COMMIT.
        async with self._uow().single_write() as uow:
            # One read for the tenant and everything selling a seat of the slot needs.
            for_sale = await uow.slots.get_for_sale(command.tenant_slug, command.slot_id)
            if for_sale is None:
                raise NotFound("tenant", command.tenant_slug)
            tenant = for_sale.tenant
            tenant.ensure_can_sell()
            token = new_booking_token()
            resumed: tuple[Booking, Offering] | None = None
            booking_id = self._ids.new_id("bk")
            if key is not None:
                booking_id = booking_id_for_key(tenant.id, key)
                existing = await uow.bookings.get(tenant.id, booking_id)
                if existing is not None:
                    resumed = await self._resumable(uow, tenant, existing)
                    # The first attempt's token never reached the customer: issue a new one.
                    booking = replace(resumed[0], access_token_hash=hash_secret(token))
                    await uow.bookings.update(booking)
                    resumed = (booking, resumed[1])
            if resumed is None:
                ensure_customer_may_hold_more(
                    await uow.bookings.count_pending_for_customer(tenant.id, command.customer_email)
                )
                resumed = await self._hold_seats(uow, for_sale, booking_id, token, command)
            await uow.commit()
        # The unit of work is closed before the gateway is called: no transaction waits on it.
        booking, offering = resumed

        try:
            return await self._open_session(tenant, booking, offering, token, command)
        except GatewayError as error:
            if key is None or isinstance(error, GatewayInvalidRequest):
                await self._give_back(booking)
            raise

    async def _hold_seats(
        self,
        uow: UnitOfWork,
        for_sale: SlotForSale,
        booking_id: str,
        token: str,
        command: StartCheckoutCommand,
    ) -> tuple[Booking, Offering]:
        now = self._clock.now()
        tenant, slot, offering = for_sale.tenant, for_sale.slot, for_sale.offering
        if slot is None:
            raise NotFound("slot", command.slot_id)
        if offering is None:
            raise NotFound("offering", slot.offering_id)
        offering.ensure_bookable()
        offering.ensure_seats_per_booking(command.seats, self._default_max_seats)
        slot.ensure_bookable_at(now)
        policy = offering.effective_fee_policy(for_sale.active_fee_policy or FeePolicy())
        quote = policy.quote(offering.price, command.seats)
        booking = Booking(
            id=booking_id,
            tenant_id=tenant.id,
            offering_id=offering.id,
            slot_id=slot.id,
            seats=command.seats,
            starts_at=slot.starts_at,
            customer=Customer(command.customer_email, command.customer_name),
            quote=quote,
            refund_on_cancel=policy.refund_on_cancel,
            hold_expires_at=hold_expiry(now, self._hold),
            created_at=now,
            access_token_hash=hash_secret(token),
            # The terms of sale are frozen now: later edits apply to new bookings only.
            cancellation_policy=offering.cancellation_policy,
            cancel_url=command.cancel_url,
        )
        # The seats are taken by one conditional statement, in the same step as the booking.
        if not await uow.bookings.add_holding_seats(booking):
            current = await uow.slots.get(tenant.id, slot.id)
            if current is not None:
                current.ensure_bookable_at(now)  # cancelled meanwhile: say so
            available = current.seats_available if current else 0
            raise SeatsUnavailable(slot.id, command.seats, available)
        return booking, offering

    async def _open_session(
        self,
        tenant: Tenant,
        booking: Booking,
        offering: Offering,
        token: str,
        command: StartCheckoutCommand,
    ) -> CheckoutStarted:
        status_url = f"{self._base_url}/v1/public/bookings/{booking.id}?token={token}"
        # Leaving the checkout comes back to Bookpay, which ends the hold at once and then
        # sends the customer on to the platform's cancel_url.
        left_url = f"{self._base_url}/v1/public/bookings/{booking.id}/checkout-left?token={token}"
        account_id = tenant.connect.account_id
        if account_id is None:  # ensure_can_sell() said it has one; keep mypy honest
            raise Conflict(f"tenant {tenant.id} has no connected account")
        session = await self._gateway.create_checkout_session(
            CheckoutRequest(
                tenant_id=tenant.id,
                booking_id=booking.id,
                account_id=account_id,
                charge_model=tenant.charge_model,
                line_items=line_items(offering, booking.quote),
                application_fee=booking.quote.application_fee,
                expires_at=max(booking.hold_expires_at, self._clock.now() + SESSION_MINIMUM),
                customer_email=booking.customer.email,
                success_url=command.success_url or status_url,
                cancel_url=left_url,
                fee_policy_version=booking.quote.fee_policy_version,
                idempotency_key=f"bookpay-checkout-{booking.id}",
            )
        )
        result = CheckoutStarted(
            booking_id=booking.id,
            booking_token=token,
            checkout_url=session.url or "",
            expires_at=booking.hold_expires_at,
            quote=booking.quote,
        )
        # The conditional attach is the only write: it needs no transaction around it.
        async with self._uow().single_write() as uow:
            # One conditional write; only when it changes nothing is the booking read, so
            # that a different session already attached is still refused by the domain.
            if not await uow.bookings.attach_session(tenant.id, booking.id, session.session_id):
                current = await uow.bookings.get(tenant.id, booking.id)
                if current is not None and current.status is BookingStatus.PENDING_PAYMENT:
                    current.attach_session(session.session_id)
            await uow.commit()
        return result

    @staticmethod
    async def _resumable(
        uow: UnitOfWork, tenant: Tenant, booking: Booking
    ) -> tuple[Booking, Offering]:
        """A retry after a failure half-way: the same booking, still holding its seats."""
        if booking.status is not BookingStatus.PENDING_PAYMENT:
            raise Conflict(
                f"the checkout for booking {booking.id} has ended ({booking.status}); "
                "use a new Idempotency-Key"
            )
        offering = await uow.offerings.get(tenant.id, booking.offering_id)
        if offering is None:
            raise NotFound("offering", booking.offering_id)
        return booking, offering

    async def _give_back(self, booking: Booking) -> None:
        """No checkout could be opened: release the seats so nothing stays blocked."""
        async with self._uow() as uow:
            current = await uow.bookings.get(booking.tenant_id, booking.id)
            if current is None or current.status is not BookingStatus.PENDING_PAYMENT:
                return
            ended = await release_seats_if_hold_ended(uow, current, current.expire())
            await uow.bookings.update(ended)
            uow.outbox.add(*booking_events(current, ended))
            await uow.commit()


def line_items(offering: Offering, quote: FeeQuote) -> tuple[LineItem, ...]:
    """The offering × seats, plus a "Service fee" line for the customer's share of the fee."""
    items = [LineItem(offering.name, quote.unit_price, quote.seats)]
    if quote.fee_bearer is not BearerKind.TENANT and not quote.customer_fee.is_zero:
        items.append(LineItem("Service fee", quote.customer_fee, 1))
    return tuple(items)


def booking_id_for_key(tenant_id: str, key: str) -> str:
    """The booking a checkout with this Idempotency-Key makes, so that a retry resumes it."""
    digest = hashlib.sha256(f"{tenant_id}\0{key}".encode()).hexdigest()
    return f"bk_{digest[:24]}"
