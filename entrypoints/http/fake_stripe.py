"""/fake-stripe: the fake gateway's hosted pages and tools (only with BOOKPAY_GATEWAY=fake)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import CacheControlHeader
from litestar.response import Redirect
from msgspec import Meta

from adapters.fake_stripe.gateway import FakeGateway
from adapters.fake_stripe.pages import render_refusal_page
from application.errors import GatewayInvalidRequest
from entrypoints.http import schemas as s
from entrypoints.http.errors import problem
from entrypoints.http.openapi import documented
from entrypoints.http.params import DEFAULT_LIMIT, Cursor, Limit, after_sequence, page


class FakeEventOut(msgspec.Struct):
    id: str
    type: str
    created: datetime
    delivered: bool
    attempts: int


class FakeEvents(msgspec.Struct):
    data: list[FakeEventOut]
    next_cursor: str | None = None


# Like Stripe's API: whole minor units of the charge's currency.
PositiveAmount = Annotated[int, Meta(ge=1, le=s.MAX_AMOUNT, description="whole minor units")]
Reason = Literal[
    "bank_cannot_process",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
]
Requirement = Annotated[str, Meta(min_length=1, max_length=200)]


class DashboardRefund(msgspec.Struct, forbid_unknown_fields=True):
    amount: PositiveAmount | None = None
    refund_application_fee: bool = False


class DashboardRefundOut(msgspec.Struct):
    refund_id: str


class DashboardDispute(msgspec.Struct, forbid_unknown_fields=True):
    amount: PositiveAmount | None = None
    reason: Reason = "general"


class DashboardDisputeOut(msgspec.Struct):
    dispute_id: str


class DisputeClose(msgspec.Struct, forbid_unknown_fields=True):
    outcome: Literal["won", "lost"]


class DisputeClosed(msgspec.Struct):
    dispute_id: str
    status: str


class AccountChange(msgspec.Struct, forbid_unknown_fields=True):
    charges_enabled: bool | None = None
    payouts_enabled: bool | None = None
    requirements_due: Annotated[list[Requirement], Meta(max_length=100)] | None = None


class AccountOut(msgspec.Struct):
    account_id: str
    charges_enabled: bool
    payouts_enabled: bool
    requirements_due: list[str]


def _event_out(event: Any) -> FakeEventOut:
    return FakeEventOut(
        id=event.id,
        type=event.type,
        created=event.created,
        delivered=event.delivered,
        attempts=event.attempts,
    )


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {key: str(value) for key, value in form.items()}


NO_STORE = CacheControlHeader(no_store=True)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# What a browser reads when a button of a page that is out of date (Back, another tab) is
# pressed: the session has been paid, cancelled or has expired meanwhile.
CHECKOUT_ENDED = (
    "This checkout has ended: it was paid, cancelled or has expired, so it can no longer "
    "be paid or changed here. Your booking's page says where it stands."
)


def from_a_browser(request: Request[Any, Any, Any]) -> bool:
    """A browser's form post (a page's button), not an API client of the fake: a form body,
    or HTML asked for; a client asking for JSON keeps problem+json."""
    accept = request.headers.get("accept", "")
    if "text/html" in accept:
        return True
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type in FORM_TYPES and "json" not in accept


def _refused(request: Request[Any, Any, Any], error: GatewayInvalidRequest) -> Response[Any]:
    # Elsewhere the gateway refusing Bookpay's own request is Bookpay's fault (502); here
    # the request came straight from whoever uses the fake's pages, so it is theirs.
    return problem(400, str(error), slug="fake-stripe-refused").to_response(request)


async def _checkout_action(
    request: Request[Any, Any, Any],
    session_id: str,
    fake_gateway: FakeGateway,
    action: Callable[[], Awaitable[str]],
) -> Response[Any]:
    """A checkout page's button: on to where the session sends the customer; refused, a
    page in words for a browser (with the way back to the booking), problem+json else."""
    try:
        return Redirect(await action(), status_code=303)
    except GatewayInvalidRequest:
        if not from_a_browser(request):
            raise
    return Response(
        render_refusal_page(
            CHECKOUT_ENDED, back_url=await fake_gateway.checkout_return_url(session_id)
        ),
        status_code=400,
        media_type=MediaType.HTML,
    )


class FakeStripeController(Controller):
    path = "/fake-stripe"
    tags = ["fake gateway"]  # noqa: RUF012 - Litestar reads these as class attributes
    exception_handlers = {GatewayInvalidRequest: _refused}  # noqa: RUF012
    # Never a stale page: after Cancel then Back, the browser asks again.
    cache_control = NO_STORE

    @get("/checkout/{session_id:str}", media_type=MediaType.HTML, summary="Test checkout page")
    async def checkout_page(self, session_id: str, fake_gateway: FakeGateway) -> str:
        return await fake_gateway.checkout_page(session_id)

    @post(
        "/checkout/{session_id:str}/pay",
        status_code=303,
        summary="Pay: completes the session and delivers checkout.session.completed",
    )
    async def pay(
        self, request: Request[Any, Any, Any], session_id: str, fake_gateway: FakeGateway
    ) -> Response[Any]:
        method = (await _form(request)).get("method", "card")

        async def pay() -> str:
            return (await fake_gateway.pay(session_id, method)).redirect_url

        return await _checkout_action(request, session_id, fake_gateway, pay)

    @post("/checkout/{session_id:str}/decline", status_code=303, summary="Async payment fails")
    async def decline(
        self, request: Request[Any, Any, Any], session_id: str, fake_gateway: FakeGateway
    ) -> Response[Any]:
        async def decline() -> str:
            return (await fake_gateway.decline(session_id)).redirect_url

        return await _checkout_action(request, session_id, fake_gateway, decline)

    @post("/checkout/{session_id:str}/cancel", status_code=303, summary="Back to the shop")
    async def cancel(
        self, request: Request[Any, Any, Any], session_id: str, fake_gateway: FakeGateway
    ) -> Response[Any]:
        async def cancel() -> str:
            return (await fake_gateway.cancel(session_id)).redirect_url

        return await _checkout_action(request, session_id, fake_gateway, cancel)

    @get("/onboarding/{account_id:str}", media_type=MediaType.HTML, summary="Test onboarding")
    async def onboarding_page(self, account_id: str, fake_gateway: FakeGateway) -> str:
        return await fake_gateway.onboarding_page(account_id)

    @post(
        "/onboarding/{account_id:str}",
        status_code=303,
        summary="Complete onboarding: enables charges and payouts, delivers account.updated",
    )
    async def complete_onboarding(self, account_id: str, fake_gateway: FakeGateway) -> Redirect:
        return_url = await fake_gateway.complete_onboarding(account_id)
        return Redirect(return_url, status_code=303)

    @get(
        "/events",
        summary="Events the fake has delivered, newest first",
        description="Paginated with `limit` and `cursor`.",
    )
    async def events(
        self, fake_gateway: FakeGateway, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
    ) -> FakeEvents:
        events = await fake_gateway.list_events(limit + 1, after_sequence(cursor))
        shown, next_cursor = page(events, limit, lambda e: (str(e.sequence), e.id))
        return FakeEvents(data=[_event_out(e) for e in shown], next_cursor=next_cursor)

    @get(
        "/timings",
        summary="Where this process's fake Stripe calls spent their time (for the benchmark)",
        description="Sums in seconds since the process started, over the calls that take "
        "the injected latency: their whole time, the delay injected, the wait for a "
        "connection of the fake's pool, the time its connections were held.",
    )
    async def timings(self, fake_gateway: FakeGateway) -> dict[str, float]:
        return fake_gateway.timings.reading()

    @get(
        "/timings/samples",
        summary="Each fake Stripe call's injected delay and whole time (for the benchmark)",
        description="In seconds, call by call, from the `since`-th call of this process on "
        "(the `calls` of an earlier GET /fake-stripe/timings).",
    )
    async def timing_samples(
        self, fake_gateway: FakeGateway, since: int = 0
    ) -> dict[str, list[float]]:
        return fake_gateway.timings.samples(max(since, 0))

    @post("/events/{event_id:str}/resend", status_code=200, summary="Deliver an event again")
    async def resend(self, event_id: str, fake_gateway: FakeGateway) -> FakeEventOut:
        return _event_out(await fake_gateway.resend_event(event_id))

    # --- The dashboard: Stripe-side actions, each delivering Stripe's events ---------------

    @post(
        "/payments/{payment_intent_id:str}/refund",
        status_code=200,
        summary="A refund made in Stripe's dashboard: charge.refunded (+ application_fee.refunded)",
        description="The body is optional: without it the whole payment is refunded.",
        operation_class=documented(optional_body=True),
    )
    async def refund_payment(
        self,
        payment_intent_id: str,
        fake_gateway: FakeGateway,
        data: DashboardRefund | None = None,
    ) -> DashboardRefundOut:
        data = data or DashboardRefund()
        refund = await fake_gateway.refund_payment(
            payment_intent_id,
            amount=data.amount,
            refund_application_fee=data.refund_application_fee,
        )
        return DashboardRefundOut(refund_id=refund.refund_id)

    @post(
        "/payments/{payment_intent_id:str}/dispute",
        status_code=200,
        summary="The cardholder disputes: charge.dispute.created and ….funds_withdrawn",
    )
    async def dispute_payment(
        self, payment_intent_id: str, data: DashboardDispute, fake_gateway: FakeGateway
    ) -> DashboardDisputeOut:
        dispute_id = await fake_gateway.open_dispute(
            payment_intent_id, amount=data.amount, reason=data.reason
        )
        return DashboardDisputeOut(dispute_id=dispute_id)

    @post(
        "/disputes/{dispute_id:str}/close",
        status_code=200,
        summary="The dispute is decided: charge.dispute.closed (+ ….funds_reinstated when won)",
    )
    async def close_dispute(
        self, dispute_id: str, data: DisputeClose, fake_gateway: FakeGateway
    ) -> DisputeClosed:
        closed = await fake_gateway.close_dispute(dispute_id, won=data.outcome == "won")
        return DisputeClosed(dispute_id=dispute_id, status=closed["status"])

    @post(
        "/accounts/{account_id:str}",
        status_code=200,
        summary="Stripe changes a connected account: account.updated",
    )
    async def update_account(
        self, account_id: str, data: AccountChange, fake_gateway: FakeGateway
    ) -> AccountOut:
        status = await fake_gateway.update_account(
            account_id,
            charges_enabled=data.charges_enabled,
            payouts_enabled=data.payouts_enabled,
            requirements_due=data.requirements_due,
        )
        return AccountOut(
            account_id=account_id,
            charges_enabled=status.charges_enabled,
            payouts_enabled=status.payouts_enabled,
            requirements_due=list(status.requirements_due),
        )
