"""The composition root: the only place that knows both the use cases and the adapters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dependency_injector import containers, providers

from adapters.fake_stripe.gateway import FakeGateway
from adapters.fake_stripe.latency import FakeLatency
from adapters.fake_stripe.sql_store import SqlAlchemyFakeStripeStore
from adapters.fake_stripe.timings import FakeStripeTimings
from adapters.outbound.http_sender import HttpEventSender
from adapters.rate_limits.limiter import RateLimits
from adapters.rate_limits.pacing import PacedGateway, calls_per_second
from adapters.reference_data.countries import IsoCountries
from adapters.sql.database import DatabaseProbe, create_engine
from adapters.sql.unit_of_work import SqlAlchemyUnitOfWorkFactory
from adapters.sql.webhook_endpoints import SqlAlchemyEventsOutUnitOfWork
from adapters.system.clock import SystemClock
from adapters.system.ids import RandomIds
from application.acknowledge_webhook import AcknowledgeWebhook
from application.add_slots import AddSlots
from application.apply_received_events import ApplyReceivedEvents
from application.archive_offering import ArchiveOffering
from application.booking_queries import BookingQueries
from application.cancel_booking import CancelBooking
from application.cancel_slot import CancelSlot, FinishSlotCancellations
from application.create_offering import CreateOffering
from application.create_tenant import CreateTenant
from application.customer_pages import CustomerPages
from application.deliver_events import DeliverEvents
from application.expire_lapsed_holds import ExpireLapsedHolds
from application.idempotent_requests import IdempotentRequests
from application.issue_api_key import IssueTenantApiKey
from application.manage_webhook_endpoints import ManageWebhookEndpoints
from application.offering_queries import OfferingQueries
from application.payment_events import ApplyPaymentEvent
from application.ports.gateway import PaymentGateway
from application.purge_events_out import PurgeEventsOut
from application.quote_fee import QuoteFee
from application.receive_webhook import ReceiveWebhook
from application.reconcile import Reconcile
from application.refund_booking import RefundBooking
from application.resize_slot import ResizeSlot
from application.rotate_api_key import RotateApiKey
from application.set_fee_policy import SetFeePolicy
from application.set_fee_policy_override import SetFeePolicyOverride
from application.settle_reserved_refunds import SettleReservedRefunds
from application.slot_queries import ListAvailability, ListPublicOfferings
from application.start_checkout import StartCheckout
from application.start_onboarding import StartOnboarding
from application.statements import PlatformFeeReport, TenantStatement
from application.tenant_queries import TenantQueries
from application.update_offering import UpdateOffering
from domain.dispute import DisputeBearer
from domain.events import InFlightCaps, RetrySchedule
from entrypoints.config import Settings, reveal
from entrypoints.fake_stripe_wiring import HttpWebhookDelivery, fake_stripe_engine
from entrypoints.http.admission import RequestAdmission, StepsOutForStripe
from entrypoints.http.event_metrics import EventsOutMetrics, WebhookQueueMetrics
from entrypoints.http.event_payloads import TenantViewPayloads
from entrypoints.http.operations import RequestMetrics
from entrypoints.http.request_phases import record
from entrypoints.periodic import Wakeup
from entrypoints.web.onboarding import REFRESH_PATH, RETURN_PATH


def _secret(option: providers.Provider[Any]) -> providers.Callable[str]:
    """A secret option's value, "" when unset, for the adapters that need it."""
    return providers.Callable(reveal, option)


def _stripe_gateway(*args: Any, **kwargs: Any) -> Any:
    """The real Stripe gateway, imported when it is made: with the fake gateway its client
    and retry wrapper (adapters/stripe) are never loaded. The stripe SDK itself is loaded in
    every mode since webhook signatures are checked with it (adapters/stripe_wire)."""
    from adapters.stripe.gateway import StripeGateway

    return StripeGateway(*args, **kwargs)


def _paced(gateway: PaymentGateway, rate: int) -> PaymentGateway:
    """The gateway as the webhook queue's worker asks it: at most `rate` calls a second
    from this process (0: as fast as it goes)."""
    if rate <= 0:
        return gateway
    return PacedGateway(gateway, calls_per_second(rate))


def _bookpay_page(public_base_url: str, path: str) -> str:
    return f"{public_base_url}{path}"


class Container(containers.DeclarativeContainer):
    """Built by `build_container(settings)`; `config` holds every setting by its name."""

    settings = providers.Dependency(instance_of=Settings)
    config = providers.Configuration(strict=True)

    clock = providers.Singleton(SystemClock)
    ids = providers.Singleton(RandomIds)
    engine = providers.Singleton(
        create_engine,
        config.database_url,
        statement_timeout_ms=config.db_statement_timeout_ms.as_int(),
        transaction_pooler=config.db_transaction_pooler,
        row_security_role=config.database_role,
    )
    database_probe = providers.Singleton(
        DatabaseProbe, config.database_url, transaction_pooler=config.db_transaction_pooler
    )
    rate_limits = providers.Singleton(
        RateLimits,
        checkouts_per_minute=config.checkout_limit_per_minute,
        auth_failures_per_minute=config.auth_failures_per_minute,
        held_seats_per_hour=config.held_seats_per_client_per_hour,
        slot_share_per_client=config.slot_share_per_client,
        redis_url=providers.Callable(lambda url: reveal(url) or None, config.redis_url),
        redis_timeout=providers.Callable(lambda ms: int(ms) / 1000, config.redis_timeout_ms),
    )
    admission = providers.Singleton(
        RequestAdmission,
        config.max_requests_in_flight,
        max_wait=providers.Callable(lambda ms: int(ms) / 1000, config.max_wait_in_line_ms),
    )
    event_payloads = providers.Singleton(TenantViewPayloads)
    # Use cases get the factory: a fresh unit of work per call, statements built once.
    uow = providers.Singleton(
        SqlAlchemyUnitOfWorkFactory, engine, event_payloads, on_timing=providers.Object(record)
    )
    events_out_uow = providers.Factory(SqlAlchemyEventsOutUnitOfWork, engine=engine)
    event_sender = providers.Singleton(
        HttpEventSender,
        allow_private=config.outbound_allow_private,
        timeout=config.outbound_timeout_seconds,
    )

    webhook_delivery = providers.Singleton(HttpWebhookDelivery, config.webhook_base_url)
    # The fake Stripe is no tenant's data: its tables are its own, made on first use.
    fake_stripe_engine = providers.Singleton(
        fake_stripe_engine,
        engine,
        config.database_url,
        pool_size=config.fake_stripe_pool_size.as_int(),
        statement_timeout_ms=config.db_statement_timeout_ms.as_int(),
        transaction_pooler=config.db_transaction_pooler,
    )
    # Where the fake's calls spent their time (GET /fake-stripe/timings, for the benchmark).
    fake_stripe_timings = providers.Singleton(FakeStripeTimings)
    fake_stripe_store = providers.Singleton(
        SqlAlchemyFakeStripeStore, fake_stripe_engine, fake_stripe_timings
    )
    fake_gateway = providers.Singleton(
        FakeGateway,
        store=fake_stripe_store,
        public_base_url=config.public_base_url,
        webhook_secret=_secret(config.stripe_webhook_secret),
        connect_webhook_secret=_secret(config.stripe_connect_webhook_secret),
        deliver=webhook_delivery,
        clock=clock.provided.now,
        latency=providers.Singleton(FakeLatency.parse, config.fake_stripe_latency_ms),
        timings=fake_stripe_timings,
    )
    # Waiting for Stripe, a request steps out of its place (entrypoints/http/admission.py).
    gateway = providers.Singleton(
        StepsOutForStripe,
        providers.Selector(
            config.gateway,
            fake=fake_gateway,
            stripe=providers.Singleton(
                _stripe_gateway,
                _secret(config.stripe_secret_key),
                webhook_secret=_secret(config.stripe_webhook_secret),
                connect_webhook_secret=_secret(config.stripe_connect_webhook_secret),
                api_base=config.stripe_api_base,
            ),
        ),
    )

    create_tenant = providers.Singleton(CreateTenant, uow, ids, clock, IsoCountries())
    issue_tenant_api_key = providers.Singleton(IssueTenantApiKey, uow, clock)
    set_fee_policy = providers.Singleton(SetFeePolicy, uow)
    set_fee_policy_override = providers.Singleton(SetFeePolicyOverride, uow)
    tenant_queries = providers.Singleton(TenantQueries, uow, clock)
    rotate_api_key = providers.Singleton(RotateApiKey, uow, clock)
    platform_fee_report = providers.Singleton(PlatformFeeReport, uow)
    start_onboarding = providers.Singleton(
        StartOnboarding,
        uow,
        gateway,
        default_return_url=providers.Callable(_bookpay_page, config.public_base_url, RETURN_PATH),
        default_refresh_url=providers.Callable(_bookpay_page, config.public_base_url, REFRESH_PATH),
        return_hosts=config.return_hosts,
    )
    create_offering = providers.Singleton(CreateOffering, uow, ids)
    update_offering = providers.Singleton(UpdateOffering, uow)
    archive_offering = providers.Singleton(ArchiveOffering, uow)
    offering_queries = providers.Singleton(OfferingQueries, uow)
    add_slots = providers.Singleton(AddSlots, uow, ids, clock)
    list_availability = providers.Singleton(ListAvailability, uow, clock)
    list_public_offerings = providers.Singleton(ListPublicOfferings, uow)
    quote_fee = providers.Singleton(
        QuoteFee, uow, default_max_seats_per_booking=config.default_max_seats_per_booking
    )
    start_checkout = providers.Singleton(
        StartCheckout,
        uow,
        gateway,
        ids,
        clock,
        hold=providers.Factory(timedelta, minutes=config.hold_minutes.as_int()),
        public_base_url=config.public_base_url,
        return_hosts=config.return_hosts,
        default_max_seats_per_booking=config.default_max_seats_per_booking,
        seats_per_client=rate_limits,
    )
    apply_payment_event = providers.Singleton(
        ApplyPaymentEvent,
        uow,
        gateway,
        clock,
        dispute_bearer=providers.Factory(DisputeBearer, config.dispute_bearer),
    )
    # BOOKPAY_WEBHOOK_MODE=queue: the request keeps the verified event and wakes this
    # process's worker (entrypoints/http/app.py), whose gateway calls are paced.
    webhook_queue_wakeup = providers.Singleton(Wakeup)
    acknowledge_webhook = providers.Singleton(
        AcknowledgeWebhook, uow, gateway, clock, on_queued=webhook_queue_wakeup.provided.set
    )
    # Applied in the request: the default mode's endpoints, and `bookpay demo`, which
    # seeds before any server (and so any queue worker) runs.
    apply_webhook = providers.Singleton(ReceiveWebhook, gateway, apply_payment_event)
    receive_webhook = providers.Selector(
        config.webhook_mode, apply=apply_webhook, queue=acknowledge_webhook
    )
    webhook_queue_gateway = providers.Singleton(_paced, gateway, config.webhook_queue_rate)
    apply_received_events = providers.Singleton(
        ApplyReceivedEvents,
        uow,
        gateway,
        providers.Singleton(
            ApplyPaymentEvent,
            uow,
            webhook_queue_gateway,
            clock,
            dispute_bearer=providers.Factory(DisputeBearer, config.dispute_bearer),
        ),
        clock,
    )
    cancel_booking = providers.Singleton(CancelBooking, uow, gateway, clock)
    refund_booking = providers.Singleton(RefundBooking, uow, gateway, clock)
    booking_queries = providers.Singleton(BookingQueries, uow)
    customer_pages = providers.Singleton(
        CustomerPages, uow, clock, list_availability, booking_queries
    )
    tenant_statement = providers.Singleton(TenantStatement, uow)
    idempotent_requests = providers.Singleton(
        IdempotentRequests,
        uow,
        clock,
        claim_timeout=providers.Factory(
            timedelta, seconds=config.idempotency_claim_timeout_seconds
        ),
    )
    expire_lapsed_holds = providers.Singleton(
        ExpireLapsedHolds, uow, gateway, apply_payment_event, clock
    )
    settle_reserved_refunds = providers.Singleton(SettleReservedRefunds, uow, gateway, clock)
    resize_slot = providers.Singleton(ResizeSlot, uow, clock)
    cancel_slot = providers.Singleton(CancelSlot, uow, cancel_booking, clock)
    finish_slot_cancellations = providers.Singleton(FinishSlotCancellations, uow, cancel_slot)
    manage_webhook_endpoints = providers.Singleton(
        ManageWebhookEndpoints,
        uow,
        events_out_uow.provider,
        ids,
        clock,
        allow_private=settings.provided.outbound_allow_private,
        max_endpoints_per_owner=settings.provided.outbound_max_endpoints_per_owner,
    )
    deliver_events = providers.Singleton(
        DeliverEvents,
        events_out_uow.provider,
        event_sender,
        ids,
        clock,
        schedule=providers.Factory(
            RetrySchedule.of_seconds, settings.provided.outbound_retry_seconds
        ),
        lease=providers.Factory(timedelta, seconds=settings.provided.outbound_lease_seconds),
        caps=providers.Factory(
            InFlightCaps,
            per_owner=settings.provided.outbound_max_in_flight_per_owner,
            per_endpoint=settings.provided.outbound_max_in_flight_per_endpoint,
        ),
        attempt_timeout=providers.Factory(
            timedelta, seconds=settings.provided.outbound_timeout_seconds
        ),
    )
    purge_events_out = providers.Singleton(
        PurgeEventsOut,
        events_out_uow.provider,
        clock,
        retention=providers.Callable(
            lambda days: timedelta(days=days) if days else None,
            settings.provided.outbound_retention_days,
        ),
    )
    events_out_metrics = providers.Singleton(EventsOutMetrics, events_out_uow.provider, clock)
    webhook_queue_metrics = providers.Singleton(
        WebhookQueueMetrics,
        uow,
        clock,
        queue_mode=providers.Callable(lambda mode: mode == "queue", config.webhook_mode),
    )
    request_metrics = providers.Singleton(RequestMetrics)
    reconcile = providers.Singleton(
        Reconcile,
        uow,
        gateway,
        apply_payment_event,
        expire_lapsed_holds,
        settle_reserved_refunds,
        clock,
        finish_slot_cancellations=finish_slot_cancellations,
    )


# Names the HTTP layer resolves from the container, one per use case (and the UoW factory).
USE_CASES = (
    "create_tenant",
    "set_fee_policy",
    "set_fee_policy_override",
    "tenant_queries",
    "rotate_api_key",
    "platform_fee_report",
    "start_onboarding",
    "create_offering",
    "update_offering",
    "archive_offering",
    "offering_queries",
    "add_slots",
    "resize_slot",
    "cancel_slot",
    "list_availability",
    "list_public_offerings",
    "quote_fee",
    "start_checkout",
    "receive_webhook",
    "cancel_booking",
    "refund_booking",
    "booking_queries",
    "tenant_statement",
    "customer_pages",
    "manage_webhook_endpoints",
)


async def dispose_engines(container: Container) -> None:
    """Close the connections of the app's engine and of the fake Stripe's (when its own)."""
    await container.engine().dispose()
    await container.fake_stripe_engine().dispose()


def build_container(settings: Settings) -> Container:
    container = Container(settings=settings)
    container.config.from_pydantic(settings)
    return container
