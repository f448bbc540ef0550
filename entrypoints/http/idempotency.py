"""Idempotency-Key on the POST routes that create something (API.md).

A retry with the same key and body gets the first response again, byte for byte; the same
key with another body is a 409. Keys are scoped to the credential that sent them. Checkout
keeps its own, stronger handling inside its use case (it resumes a half-done checkout).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from application.idempotent_requests import IdempotentRequests
from application.ports import StoredResponse

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value)
    return None


def _applies(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and (path.startswith("/v1/admin/") or path.startswith("/v1/tenant/"))
    )


def idempotency_middleware(
    requests: Callable[[], IdempotentRequests],
) -> Callable[[ASGIApp], ASGIApp]:
    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            raw_key = _header(scope, HEADER) if _applies(scope) else None
            if raw_key is None or not raw_key.strip() or len(raw_key) > MAX_KEY_LENGTH:
                await app(scope, receive, send)
                return
            key = raw_key.decode("latin-1").strip()
            body = b""
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            credential = _header(scope, b"authorization") or b""
            idempotency_scope = "http:" + hashlib.sha256(credential).hexdigest()[:32]
            fingerprint = hashlib.sha256(
                b"\0".join([scope["path"].encode(), scope.get("query_string", b""), body])
            ).hexdigest()
            service = requests()
            claimed = await service.begin(idempotency_scope, key, fingerprint)
            if claimed.replay is not None:
                await _send_stored(send, claimed.replay)
                return

            async def replay_body() -> Message:
                return {"type": "http.request", "body": body, "more_body": False}

            status = 500
            chunks: list[bytes] = []

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                await send(message)

            try:
                await app(scope, replay_body, capture)
            finally:
                # Server errors are not kept: the client should be able to try again.
                stored = StoredResponse(status, b"".join(chunks)) if status < 500 else None
                await service.finish(idempotency_scope, key, stored)

        return wrapped

    return middleware


async def _send_stored(send: Send, stored: StoredResponse) -> None:
    media_type = b"application/problem+json" if stored.status >= 400 else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": stored.status,
            "headers": [
                (b"content-type", media_type),
                (b"content-length", str(len(stored.body)).encode()),
                (b"idempotent-replayed", b"true"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": stored.body, "more_body": False})
