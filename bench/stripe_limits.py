"""Stripe's default live-mode rate limits, the one place the bench's reports take them from.

Source: https://docs.stripe.com/rate-limits (read 1 December 2026): in live mode 100
operations per second per account in all, and 25 requests per second to any one endpoint
unless the page names another limit for it (creating Checkout Sessions and retrieving them
are one endpoint each). Stripe raises them on request; a sandbox allows 25 in all.
"""

from __future__ import annotations

STRIPE_RATE_LIMITS_URL = "https://docs.stripe.com/rate-limits"
LIVE_OPERATIONS_PER_SECOND = 100
ENDPOINT_REQUESTS_PER_SECOND = 25
# (what the limit is, requests per second): the account's in all, then one endpoint's.
RATE_LIMITS = (
    ("live mode's limit in all", LIVE_OPERATIONS_PER_SECOND),
    ("one endpoint's default limit", ENDPOINT_REQUESTS_PER_SECOND),
)
# The shortest timeout for a webhook's answer that write-ups about Stripe quote (Stripe
# publishes none): a storm's p99 must stay well under it.
QUOTED_TIMEOUT_MS = 3_000
