"""Stripe's reference files kept in the repository (see tests/support/stripe/README.md)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

STRIPE_REFERENCE = Path(__file__).resolve().parent / "stripe"
STRIPE_OPENAPI_SPEC = STRIPE_REFERENCE / "openapi-spec3.json"
STRIPE_FIXTURES = STRIPE_REFERENCE / "fixtures3.json"


@cache
def _stripe_fixtures() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(STRIPE_FIXTURES.read_text())["resources"]
    return resources


def stripe_fixture(name: str) -> dict[str, Any]:
    """A fresh copy of one fixture object (`account`, `checkout.session`, `refund`, …)."""
    fixture: dict[str, Any] = json.loads(json.dumps(_stripe_fixtures()[name]))
    return fixture
