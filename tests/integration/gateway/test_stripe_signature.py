"""Stripe's webhook signature scheme: the stripe SDK signs and checks the HMAC, our wrapper
maps its refusals to InvalidWebhookSignature and holds the timestamp to our clock."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
import stripe

from adapters.stripe_wire import signature as stripe_signature
from application.errors import InvalidWebhookSignature

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
BODY = b'{"id": "evt_1", "object": "event"}'
SECRET = "whsec_test"


def test_the_header_is_t_and_v1_over_timestamp_dot_payload() -> None:
    timestamp = int(NOW.timestamp())
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + BODY, hashlib.sha256)

    header = stripe_signature.sign(BODY, SECRET, NOW)

    assert header == f"t={timestamp},v1={expected.hexdigest()}"
    assert stripe_signature.verify(BODY, header, SECRET, NOW) == timestamp


def test_the_tolerance_is_configurable() -> None:
    header = stripe_signature.sign(BODY, SECRET, NOW)
    later = NOW + timedelta(seconds=61)

    assert stripe_signature.verify(BODY, header, SECRET, later)
    with pytest.raises(InvalidWebhookSignature):
        stripe_signature.verify(BODY, header, SECRET, later, tolerance_seconds=60)


def test_a_timestamp_slightly_ahead_of_our_clock_is_accepted() -> None:
    header = stripe_signature.sign(BODY, SECRET, NOW + timedelta(seconds=30))

    assert stripe_signature.verify(BODY, header, SECRET, NOW)


def test_a_valid_signature_with_a_forged_timestamp_is_refused() -> None:
    header = stripe_signature.sign(BODY, SECRET, NOW - timedelta(hours=1))
    signature = header.split(",")[1]

    with pytest.raises(InvalidWebhookSignature):
        stripe_signature.verify(BODY, f"t={int(NOW.timestamp())},{signature}", SECRET, NOW)


@pytest.mark.parametrize("header", [None, "t=1,v1=é", "t=,v1=00", " , ,", "t=1;v1=00"])
def test_odd_headers_are_refused_not_crashed_on(header: str | None) -> None:
    with pytest.raises(InvalidWebhookSignature):
        stripe_signature.verify(BODY, header, SECRET, NOW)


def test_no_configured_secret_never_verifies() -> None:
    header = stripe_signature.sign(BODY, "", NOW)

    with pytest.raises(InvalidWebhookSignature):
        stripe_signature.verify(BODY, header, "", NOW)


@pytest.mark.parametrize("ahead", [timedelta(seconds=301), timedelta(days=3 * 365)])
def test_a_timestamp_beyond_the_tolerance_ahead_of_our_clock_is_refused(ahead: timedelta) -> None:
    header = stripe_signature.sign(BODY, SECRET, NOW + ahead)

    with pytest.raises(InvalidWebhookSignature):
        stripe_signature.verify(BODY, header, SECRET, NOW)


def test_a_body_that_is_not_text_is_refused_not_crashed_on() -> None:
    body = b"\xff\xfe not utf-8"
    timestamp = int(NOW.timestamp())
    v1 = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    header = f"t={timestamp},v1={v1}"

    with pytest.raises(InvalidWebhookSignature):
        stripe_signature.verify(body, header, SECRET, NOW)


def _headers_to_compare() -> list[str]:
    good = stripe_signature.sign(BODY, SECRET, NOW)
    t, v1 = (item.split("=", 1)[1] for item in good.split(","))
    other = stripe_signature.sign(BODY, "whsec_other", NOW).split(",")[1]
    return [
        good,
        f"{other},{good}",  # a second signature while the secret is being rolled
        f"t={t},{other}",  # only a wrong one
        f"t={t},v0={v1}",  # another scheme only
        f" t={t},v1={v1}",  # the timestamp's key is not exactly `t`
        f"t={t}, v1={v1}",  # nor is the signature's
        f"t={t},v1={v1}=",
        f"t={t},v1={v1},v1",
        f"t={t},t,v1={v1}",
        f"t,v1={v1}",
        f"t=x{t},v1={v1}",
        f"t={int(t) + 1},v1={v1}",
        f"v1={v1},t={t}",
        f"t={t};v1={v1}",
        "",
        ",,,",
    ]


@pytest.mark.parametrize("header", _headers_to_compare())
def test_the_sdk_decides_the_hmac_and_each_refusal_becomes_ours(header: str) -> None:
    # Time aside (the SDK's tolerance is off, ours wide open), `verify` accepts exactly what
    # the SDK's verify_header accepts, and each SDK refusal reaches callers as
    # InvalidWebhookSignature carrying the SDK's reason, never as a Stripe error type.
    try:
        stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=None)
        sdk_refusal = None
    except stripe.SignatureVerificationError as error:
        sdk_refusal = error.user_message
    try:
        stripe_signature.verify(BODY, header, SECRET, NOW, tolerance_seconds=10**9)
        ours = None
    except InvalidWebhookSignature as error:
        ours = str(error)

    assert (ours is None) == (sdk_refusal is None)
    if sdk_refusal is not None and header:
        assert ours is not None
        assert ours.lower().endswith(sdk_refusal.lower())


def test_a_header_with_two_timestamps_is_refused_though_the_sdk_accepts_it() -> None:
    # The SDK checks the HMAC against the first `t`; a second one, spaced so that the SDK
    # skips it, would otherwise carry a fresh time beside a captured signature.
    captured = stripe_signature.sign(BODY, SECRET, NOW - timedelta(hours=1))
    header = f"{captured}, t={int(NOW.timestamp())}"
    stripe.WebhookSignature.verify_header(BODY, header, SECRET, tolerance=None)

    with pytest.raises(InvalidWebhookSignature, match="more than one timestamp"):
        stripe_signature.verify(BODY, header, SECRET, NOW - timedelta(hours=1))


def test_our_signing_is_the_sdks() -> None:
    header = stripe_signature.sign(BODY, SECRET, NOW)
    sdk_header = stripe.WebhookSignature.generate_signature_header(
        BODY.decode(), SECRET, timestamp=int(NOW.timestamp())
    )

    assert header == sdk_header
