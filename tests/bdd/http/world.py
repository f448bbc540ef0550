"""What the HTTP features' steps share: the world a scenario builds up through the API, and
the outcomes a feature may name ("accepted", or "refused: <reason>") with what each means on
the wire."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar.testing import TestClient

from tests.support.http_app import ADMIN_KEY


@dataclass
class World:
    client: TestClient[Any]
    tenant_slug: str = ""
    tenant_key: str = ""
    offering_id: str = ""
    slot_id: str = ""
    responses: list[httpx.Response] = field(default_factory=list)
    checkout: dict[str, Any] = field(default_factory=dict)
    webhook_answer: httpx.Response | None = None

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN_KEY}"}

    def tenant(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tenant_key}"}

    @property
    def last(self) -> httpx.Response:
        return self.responses[-1]

    def booking(self) -> dict[str, Any]:
        response = self.client.get(
            f"/v1/public/bookings/{self.checkout['booking_id']}",
            params={"token": self.checkout["booking_token"]},
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    def seats_available(self) -> int:
        response = self.client.get(
            f"/v1/public/{self.tenant_slug}/offerings/{self.offering_id}/slots"
        )
        assert response.status_code == 200, response.text
        (slot,) = [s for s in response.json()["data"] if s["id"] == self.slot_id]
        return int(slot["seats_available"])


@dataclass(frozen=True)
class Refusal:
    """How the API refuses, on the wire: the status, and the problem type or a part of the
    detail when the words name one reason among several of that status."""

    status: int
    problem_type: str | None = None
    detail: str | None = None


# The reasons a feature may give after "refused: ", and what each means on the wire. (A
# "retry key" in the features is the Idempotency-Key header of API.md.)
REFUSALS = {
    "not enough seats": Refusal(409, "urn:bookpay:problem:seats-unavailable"),
    "below the smallest charge": Refusal(422, "urn:bookpay:problem:below-minimum-charge"),
    "too many seats for a booking": Refusal(422, detail="seat(s) per booking"),
    "too many seats held from one connection": Refusal(
        429, "urn:bookpay:problem:too-many-seats-held-from-client"
    ),
    "the retry key was used for another checkout": Refusal(
        409, "urn:bookpay:problem:idempotency-key-reused"
    ),
    "the business cannot take payments yet": Refusal(422, "urn:bookpay:problem:tenant-cannot-sell"),
    "the cancellation window has closed": Refusal(
        409, "urn:bookpay:problem:cancellation-window-closed"
    ),
    "more than is left to refund": Refusal(409, "urn:bookpay:problem:refund-exceeds-paid"),
    "nothing to refund": Refusal(422),
    "not signed by Stripe": Refusal(400),
}


def assert_outcome(response: httpx.Response, outcome: str, *, accepted: int) -> None:
    """`outcome` is "accepted" (answered with the status `accepted`) or "refused: <reason>"
    with a reason of REFUSALS, answered as a problem document."""
    if outcome == "accepted":
        assert response.status_code == accepted, response.text
        return
    reason = outcome.removeprefix("refused: ")
    assert reason in REFUSALS, f"name a reason of REFUSALS after 'refused: ', not {reason!r}"
    refusal = REFUSALS[reason]
    assert response.status_code == refusal.status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    if refusal.problem_type is not None:
        assert problem["type"] == refusal.problem_type, problem
    if refusal.detail is not None:
        assert refusal.detail in problem["detail"], problem
