"""Where the shared reference files live: `shared/` beside the repository's root folder."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
STRIPE_OPENAPI_SPEC = SHARED / "stripe" / "openapi-spec3.json"
STRIPE_FIXTURES = SHARED / "stripe" / "fixtures3.json"


@cache
def _stripe_fixtures() -> dict[str, Any]:
    resources: dict[str, Any] = json.loads(STRIPE_FIXTURES.read_text())["resources"]
    return resources


def stripe_fixture(name: str) -> dict[str, Any]:
    """A fresh copy of one fixture object (`account`, `checkout.session`, `refund`, …)."""
    fixture: dict[str, Any] = json.loads(json.dumps(_stripe_fixtures()[name]))
    return fixture
