"""An answer with an Idempotency-Key is kept before the client sees any of it.

Found by the chaos test (tests/e2e/test_chaos.py): a process killed after sending a
checkout's 201 but before keeping it left the key in progress although the client had its
answer, so the key stayed in progress (and a late retry would have run the request again).
"""

from __future__ import annotations

from typing import Any

import pytest
from litestar.datastructures import Headers

from adapters.system.clock import SystemClock
from application.errors import Conflict
from application.idempotent_requests import CLAIM_TIMEOUT, IdempotentRequests
from entrypoints.http.auth import AUTH_SCOPE_KEY, Caller
from entrypoints.http.idempotency import (
    StillInProgress,
    credential_of,
    idempotency_middleware,
    request_fingerprint,
)
from entrypoints.http.sealed_responses import row_key, unseal
from tests.fakes.database import InMemoryDatabase

KEY = "refund-7f3c2b1a-9d8e-4c6b-a5f4"


async def _route(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 201, "headers": []})
    await send({"type": "http.response.body", "body": b'{"id": "re_1"}', "more_body": False})


async def test_the_response_is_kept_before_its_first_byte_is_sent() -> None:
    requests = IdempotentRequests(InMemoryDatabase().unit_of_work, SystemClock())
    app = idempotency_middleware(lambda: requests, max_body_bytes=1024)(_route)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/tenant/bookings/bk_1/refunds",
        "query_string": b"",
        "headers": [(b"idempotency-key", KEY.encode())],
        AUTH_SCOPE_KEY: Caller(admin=True),
    }
    kept_when_sent: list[object] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            # The process may die right here: is the answer already kept for a retry?
            try:
                credential = credential_of(scope, Headers.from_scope(scope))  # type: ignore[arg-type]
                fingerprint = request_fingerprint(scope, credential, b"{}")  # type: ignore[arg-type]
                claimed = await requests.begin("admin", row_key("admin", KEY), fingerprint)
                kept_when_sent.append(claimed.replay)
            except Conflict as still_in_progress:
                kept_when_sent.append(still_in_progress)

    await app(scope, receive, send)  # type: ignore[arg-type]

    (kept,) = kept_when_sent
    assert not isinstance(kept, Conflict), "the key was still in progress when answered"
    assert kept is not None
    status, sealed = kept.status, kept.body  # type: ignore[attr-defined]
    assert status == 201
    assert unseal("admin", KEY, b"\0", status, sealed).body == b'{"id": "re_1"}'


async def test_a_key_still_in_progress_is_a_conflict_that_says_when_to_retry() -> None:
    requests = IdempotentRequests(InMemoryDatabase().unit_of_work, SystemClock())
    app = idempotency_middleware(lambda: requests, max_body_bytes=1024)(_route)
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/tenant/bookings/bk_1/refunds",
        "query_string": b"",
        "headers": [(b"idempotency-key", KEY.encode())],
        AUTH_SCOPE_KEY: Caller(admin=True),
    }
    credential = credential_of(scope, Headers.from_scope(scope))  # type: ignore[arg-type]
    fingerprint = request_fingerprint(scope, credential, b"{}")  # type: ignore[arg-type]
    await requests.begin("admin", row_key("admin", KEY), fingerprint)  # the first, running

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(_: dict[str, Any]) -> None:
        raise AssertionError("answered by the exception handlers, not here")

    with pytest.raises(StillInProgress) as refused:
        await app(scope, receive, send)  # type: ignore[arg-type]
    assert refused.value.status_code == 409
    # A retry is sure of an answer once the claim may be taken over (CLAIM_TIMEOUT).
    assert refused.value.headers == {"Retry-After": str(int(CLAIM_TIMEOUT.total_seconds()))}
