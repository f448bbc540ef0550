"""/fake-stripe: the fake gateway's hosted pages and tools (only with BOOKPAY_GATEWAY=fake)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.response import Redirect

from adapters.fake_gateway import FakeGateway
from entrypoints.http import schemas as s


class FakeEventOut(s.Struct):
    id: str
    type: str
    created: datetime
    delivered: bool
    attempts: int


class FakeEvents(s.Struct):
    data: list[FakeEventOut]


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


class FakeStripeController(Controller):
    path = "/fake-stripe"
    tags = ["fake gateway"]  # noqa: RUF012 - Litestar reads these as class attributes

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
    ) -> Redirect:
        method = (await _form(request)).get("method", "card")
        outcome = await fake_gateway.pay(session_id, method)
        return Redirect(outcome.redirect_url, status_code=303)

    @post("/checkout/{session_id:str}/decline", status_code=303, summary="Async payment fails")
    async def decline(self, session_id: str, fake_gateway: FakeGateway) -> Redirect:
        outcome = await fake_gateway.decline(session_id)
        return Redirect(outcome.redirect_url, status_code=303)

    @post("/checkout/{session_id:str}/cancel", status_code=303, summary="Back to the shop")
    async def cancel(self, session_id: str, fake_gateway: FakeGateway) -> Redirect:
        outcome = await fake_gateway.cancel(session_id)
        return Redirect(outcome.redirect_url, status_code=303)

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

    @get("/events", summary="Events the fake has delivered, newest first")
    async def events(self, fake_gateway: FakeGateway) -> FakeEvents:
        return FakeEvents(data=[_event_out(e) for e in await fake_gateway.list_events()])

    @post("/events/{event_id:str}/resend", status_code=200, summary="Deliver an event again")
    async def resend(self, event_id: str, fake_gateway: FakeGateway) -> FakeEventOut:
        return _event_out(await fake_gateway.resend_event(event_id))
