"""The HTTP sender of events out, against a local receiver: signed per Standard Webhooks,
no redirect followed, no answer in time is no answer, and loopback refused unless allowed."""

from __future__ import annotations

from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from adapters.outbound.http_sender import HttpEventSender
from application.manage_webhook_endpoints import new_secret
from tests.support.event_receiver import event_receiver

BODY = b'{"id":"evt_1","type":"slot.cancelled","data":{}}'


async def _send(sender: HttpEventSender, url: str, secrets: list[str]) -> int | None:
    try:
        return await sender.send(
            url, message_id="evt_1", body=BODY, secrets=secrets, timestamp=datetime.now(UTC)
        )
    finally:
        await sender.aclose()


async def test_a_delivery_is_signed_with_every_secret_and_a_redirect_is_not_followed() -> None:
    old, new = new_secret(), new_secret()
    with event_receiver() as receiver:
        receiver.script[:] = [302]
        status = await _send(HttpEventSender(allow_private=True), receiver.url, [new, old])
        assert status == 302  # an answer, not a success, and not followed
        (received,) = receiver.received
    assert received.body == BODY
    assert received.headers["webhook-id"] == "evt_1"
    assert received.headers["content-type"] == "application/json"
    assert len(received.headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert Webhook(secret).verify(received.body, received.headers)["id"] == "evt_1"


async def test_loopback_is_refused_unless_allowed_and_a_slow_endpoint_is_no_answer() -> None:
    with event_receiver() as receiver:
        assert await _send(HttpEventSender(), receiver.url, [new_secret()]) is None
        assert receiver.received == []  # refused before connecting
        receiver.delay = 2.0
        slow = HttpEventSender(allow_private=True, timeout=0.5)
        assert await _send(slow, receiver.url, [new_secret()]) is None
