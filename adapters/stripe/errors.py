"""Stripe's errors, judged: which to retry, and which application error each one is.

The Stripe SDK's exception types never leave the adapter. Retry advice follows Stripe's
"Idempotent requests" and "Error handling" guides: network errors, 429 and 5xx are retried
unless the `Stripe-Should-Retry` header says otherwise.
"""

from __future__ import annotations

import stripe

from application.errors import (
    CardDeclined,
    GatewayAuthenticationFailed,
    GatewayError,
    GatewayInvalidRequest,
    GatewayOutcomeUnknown,
    GatewayRateLimited,
    GatewayUnavailable,
)


def is_retryable(error: stripe.StripeError) -> bool:
    """Network errors, 429 and 5xx — unless Stripe says otherwise (`Stripe-Should-Retry`)."""
    headers = {name.lower(): value for name, value in (error.headers or {}).items()}
    advice = headers.get("stripe-should-retry")
    if advice in ("true", "false"):
        return advice == "true"
    if isinstance(error, stripe.APIConnectionError):
        return error.should_retry
    if isinstance(error, stripe.RateLimitError):
        return True
    return isinstance(error, stripe.APIError) and (error.http_status or 0) >= 500


def application_error(error: stripe.StripeError) -> GatewayError:
    """The named application error for a Stripe error; the Stripe type never escapes."""
    message = error.user_message or type(error).__name__
    if isinstance(error, stripe.CardError):
        return CardDeclined(message)
    if isinstance(error, stripe.RateLimitError):
        return GatewayRateLimited(message)
    if isinstance(error, stripe.IdempotencyError):
        # The key is in flight in another request, or was used with other parameters:
        # either way the first request may have been acted on; it is not a refusal.
        return GatewayOutcomeUnknown(message)
    if isinstance(error, stripe.InvalidRequestError):
        return GatewayInvalidRequest(message)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return GatewayAuthenticationFailed(message)
    if isinstance(error, stripe.APIConnectionError | stripe.APIError):
        return GatewayUnavailable(message)
    return GatewayError(message)
