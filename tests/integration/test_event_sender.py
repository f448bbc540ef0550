"""The HTTP sender of events out, against a local receiver: signed per Standard Webhooks,
no redirect followed, no answer in time is no answer, and loopback refused unless allowed."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from adapters.outbound.http_sender import HttpEventSender
from application.manage_webhook_endpoints import new_secret
from tests.support.event_receiver import event_receiver
from tests.support.tls import tls_for

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


async def test_a_huge_answer_is_read_only_as_far_as_the_delivery_log_needs() -> None:
    """A 200 followed by 256 MB: the status counts, a few KB of body are read, the rest is
    never pulled in (before, httpx buffered all of it: 600 MB took 36 MB to 1.4 GB RSS)."""
    with event_receiver() as receiver:
        receiver.stream_body = 256 * 1024 * 1024
        sender = HttpEventSender(allow_private=True, timeout=30)
        assert await _send(sender, receiver.url, [new_secret()]) == 200
        for _ in range(100):  # the server thread notices the hang-up
            if receiver.body_bytes_written < receiver.stream_body:
                break
            await asyncio.sleep(0.05)
    # What the server wrote before the hang-up: the excerpt (RESPONSE_EXCERPT_BYTES) plus
    # what the two sockets buffer (a few MB on loopback), far from the whole body.
    assert receiver.body_bytes_written < 64 * 1024 * 1024


async def test_loopback_is_refused_unless_allowed_and_a_slow_endpoint_is_no_answer() -> None:
    with event_receiver() as receiver:
        assert await _send(HttpEventSender(), receiver.url, [new_secret()]) is None
        assert receiver.received == []  # refused before connecting
        receiver.delay = 2.0
        slow = HttpEventSender(allow_private=True, timeout=0.5)
        assert await _send(slow, receiver.url, [new_secret()]) is None


class CountingResolver:
    """A DNS stand-in: each name's addresses, and how often each name was resolved."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.answers[host]


async def test_the_connection_goes_to_the_address_checked_with_the_name_kept_for_tls(
    tmp_path: Path,
) -> None:
    """Resolved once, and the socket opened to that very address (no second lookup a
    rebinding DNS could answer differently); Host, SNI and the certificate are the name's."""
    tls = tls_for("hooks.example.test", tmp_path)
    with event_receiver(tls=tls.server, host="hooks.example.test") as receiver:
        resolver = CountingResolver({"hooks.example.test": ["127.0.0.1"]})
        sender = HttpEventSender(allow_private=True, resolve=resolver, verify=tls.client)
        assert await _send(sender, receiver.url, [new_secret()]) == 200
        (received,) = receiver.received
    assert resolver.calls == ["hooks.example.test"]
    assert received.headers["host"].startswith("hooks.example.test:")


async def test_a_name_with_any_private_address_is_refused_before_connecting() -> None:
    with event_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        url = f"http://hooks.example.test:{port}/hooks/bookpay"
        for addresses in (["127.0.0.1"], ["8.8.8.8", "127.0.0.1"], ["::ffff:127.0.0.1"]):
            resolver = CountingResolver({"hooks.example.test": addresses})
            assert await _send(HttpEventSender(resolve=resolver), url, [new_secret()]) is None
            assert resolver.calls == ["hooks.example.test"]  # once: what is checked is used
        assert receiver.received == []


async def test_no_log_line_names_an_endpoint_url_beyond_its_origin(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with event_receiver(path="/hooks/tok_s3cr3t") as receiver:
        secret_url = receiver.url + "?key=k3y"
        assert await _send(HttpEventSender(allow_private=True), secret_url, ["whsec_x"]) is None
        receiver.script[:] = [500]
        sent = await _send(HttpEventSender(allow_private=True), secret_url, [new_secret()])
        assert sent == 500
        assert await _send(HttpEventSender(), secret_url, [new_secret()]) is None  # refused
    logged = [record.getMessage() for record in caplog.records]
    assert any("127.0.0.1" in line for line in logged), logged  # the origin is still told
    assert not [line for line in logged if "s3cr3t" in line or "k3y" in line], logged
