"""Idempotency-Key on every POST of the API (API.md), public checkout included.

Runs after authentication, so junk credentials never reach it and keys are scoped to the
caller (the admin, a tenant, or the public). The key must be 1–255 printable ASCII
characters (on the anonymous public checkout: at least 22, so it cannot be guessed; on a
booking-token route the key is scoped to the booking) or the request is 400.
A retry with the same key and body gets the first response again, byte for byte; the same
key with another body is a 409. The body is read once, bounded by the same limit as every
request body, and handed on to the route.

Responses kept: what the route decided (2xx, and 4xx about the state of things such as
409 or 422). Not kept, so a corrected or later retry may run: server errors, and refusals
of the request itself (malformed, unauthorised, too large, throttled).

The credential the caller sent (Authorization header, query string) is part of the request's
fingerprint: a retry with another credential (a booking token guessed wrong, none at all)
is a 409, never a replay of someone else's answer. What is kept is sealed
(sealed_responses): a hash of the key, the response encrypted under the key and credential.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from litestar.datastructures import Headers
from litestar.enums import ParamType, ScopeType
from litestar.exceptions import HTTPException
from litestar.openapi.spec import OpenAPI, OpenAPIType, Parameter, Schema
from litestar.types import (
    ASGIApp,
    HTTPDisconnectEvent,
    HTTPRequestEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from application.errors import IdempotencyKeyReused, MalformedRequest
from application.idempotent_requests import (
    MAX_KEY_LENGTH,
    IdempotentRequests,
    RequestInProgress,
    require_valid_key,
)
from application.ports.unit_of_work import StoredResponse
from entrypoints.http.auth import caller_of
from entrypoints.http.sealed_responses import (
    KEPT_HEADERS,
    Envelope,
    Unreadable,
    row_key,
    seal,
    unseal,
)

HEADER = "idempotency-key"
# Long enough that a key sent by an anonymous caller cannot be guessed (a UUID has 36).
ANONYMOUS_KEY_MINIMUM = 22
NOT_KEPT = frozenset({400, 401, 403, 408, 413, 415, 429})
EXEMPT_PREFIXES = ("/v1/webhooks/",)
BOOKING_ROUTES = "/v1/public/bookings/"


def applies(method: str, path: str) -> bool:
    """Whether a request takes part: a POST to the API, except Stripe's webhooks (those
    are applied exactly once by their event id)."""
    return method == "POST" and path.startswith("/v1/") and not path.startswith(EXEMPT_PREFIXES)


def key_rules(caller_scope: str, path: str) -> tuple[str, int]:
    """Whose keys a request's Idempotency-Key is among, and its minimum length (API.md).

    The admin and each tenant have their own keys (1–255 characters). A booking-token
    route (/v1/public/bookings/{id}/...) scopes the key to that booking, so any key of 1–255
    characters is the customer's own. The anonymous public checkout shares one scope, so
    its key must be unguessable: at least ANONYMOUS_KEY_MINIMUM characters.
    """
    if caller_scope != "public":
        return caller_scope, 1
    if path.startswith(BOOKING_ROUTES):
        booking_id = path.removeprefix(BOOKING_ROUTES).partition("/")[0]
        return f"public:booking:{booking_id}", 1
    return caller_scope, ANONYMOUS_KEY_MINIMUM


class BodyTooLarge(HTTPException):
    status_code = 413


class StillInProgress(HTTPException):
    """409 with `Retry-After`: the seconds until a retry is sure of an answer (the first
    request's, or the key taken over if that request died)."""

    status_code = 409

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail=detail, headers={"Retry-After": str(retry_after)})


def request_fingerprint(scope: Scope, credential: bytes, body: bytes) -> str:
    """What a retry must repeat to be answered from the kept response (64 hex): the method,
    path, query string, credential and body — a JSON body in its canonical form, so the same
    JSON with other spacing, key order or string escapes is the same request."""
    method = scope["method"] if scope["type"] == ScopeType.HTTP else ""
    parts = [method.encode(), scope["path"].encode(), scope["query_string"]]
    parts += [hashlib.sha256(credential).digest(), canonical_body(body)]
    return hashlib.sha256(b"\0".join(parts)).hexdigest()


def canonical_body(body: bytes) -> bytes:
    """A JSON body parsed and written again with sorted keys and no insignificant
    whitespace (strings unescaped as UTF-8; numbers as parsed, so `1` and `1.0` and `"1"`
    stay different); any other body (not JSON, or too deeply nested to parse) as it came.
    Only the fingerprint uses this form: the route reads the body as sent."""
    try:
        parsed = json.loads(body)
        return json.dumps(
            parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True
        ).encode()
    except (ValueError, RecursionError):
        return body


def credential_of(scope: Scope, headers: Headers) -> bytes:
    """What the caller proved who it is with: the Authorization header and the query
    string (a booking token may travel in either)."""
    return b"\0".join([headers.get("authorization", "").encode(), scope["query_string"]])


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body, refused (413) as soon as it passes `limit` bytes."""
    declared = Headers.from_scope(scope).get("content-length", "")
    if declared.isdecimal() and int(declared) > limit:
        raise BodyTooLarge(detail=f"the request body is larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(detail=f"the request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def idempotency_middleware(
    requests: Callable[[], IdempotentRequests], *, max_body_bytes: int
) -> Callable[[ASGIApp], ASGIApp]:
    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or not applies(
                scope["method"], scope.get("path", "")
            ):
                await app(scope, receive, send)
                return
            headers = Headers.from_scope(scope)
            raw_keys = headers.getall(HEADER, [])
            if not raw_keys:
                await app(scope, receive, send)
                return
            if len(raw_keys) > 1:
                raise MalformedRequest("send one Idempotency-Key header, not several")
            caller = caller_of(scope)
            key_scope, minimum = key_rules(caller.scope, scope.get("path", ""))
            key = require_valid_key(raw_keys[0], minimum=minimum)
            credential = credential_of(scope, headers)
            body = await read_body(scope, receive, max_body_bytes)
            fingerprint = request_fingerprint(scope, credential, body)
            service = requests()
            row = row_key(key_scope, key)
            try:
                claimed = await service.begin(key_scope, row, fingerprint)
            except RequestInProgress as error:
                raise StillInProgress(str(error), error.retry_after) from error
            except IdempotencyKeyReused as error:
                raise IdempotencyKeyReused(key) from error
            if claimed.replay is not None:
                try:
                    envelope = unseal(
                        key_scope, key, credential, claimed.replay.status, claimed.replay.body
                    )
                except Unreadable as error:
                    raise IdempotencyKeyReused(key) from error
                await _send_stored(send, claimed.replay.status, envelope)
                return

            sent = False

            async def replay_body() -> HTTPRequestEvent | HTTPDisconnectEvent:
                nonlocal sent
                if sent:
                    return HTTPDisconnectEvent(type="http.disconnect")
                sent = True
                return HTTPRequestEvent(type="http.request", body=body, more_body=False)

            status = 500
            chunks: list[bytes] = []
            kept_headers: list[tuple[bytes, bytes]] = []
            held: list[Message] = []

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    kept_headers.extend(
                        (name.lower(), value)
                        for name, value in message.get("headers", [])
                        if name.lower() in KEPT_HEADERS
                    )
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))
                held.append(message)

            # The response is kept before the client sees any of it: a process killed in
            # between leaves a claim its retry takes over, never an answered request whose
            # key stays in progress (and would run again after the claim timeout).
            try:
                await app(scope, replay_body, capture)
            except BaseException:
                await service.finish(key_scope, row, None, claimed)
                raise
            stored = None
            if status < 500 and status not in NOT_KEPT:
                envelope = Envelope(headers=kept_headers, body=b"".join(chunks))
                sealed = seal(key_scope, key, credential, status, envelope)
                stored = StoredResponse(status, sealed)
            await service.finish(key_scope, row, stored, claimed)
            for message in held:
                await send(message)

        return wrapped

    return middleware


async def _send_stored(send: Send, status: int, envelope: Envelope) -> None:
    headers = dict(envelope.headers)
    if b"content-type" not in headers:
        headers[b"content-type"] = (
            b"application/problem+json" if status >= 400 else b"application/json"
        )
    headers[b"content-length"] = str(len(envelope.body)).encode()
    headers[b"idempotent-replayed"] = b"true"
    await send({"type": "http.response.start", "status": status, "headers": list(headers.items())})
    await send({"type": "http.response.body", "body": envelope.body, "more_body": False})


def declare_idempotency_key(document: OpenAPI) -> None:
    """Declare the Idempotency-Key header on every POST the mechanism applies to, in the
    app's OpenAPI document (one place, whatever the routes declare themselves)."""
    for path, item in (document.paths or {}).items():
        operation = item.post
        if operation is None or not applies("POST", path):
            continue
        parameters = list(operation.parameters or [])
        if any(
            isinstance(p, Parameter) and p.param_in is ParamType.HEADER and p.name.lower() == HEADER
            for p in parameters
        ):
            continue
        parameters.append(
            Parameter(
                name="Idempotency-Key",
                param_in=ParamType.HEADER,
                required=False,
                description="A retry with the same key and body returns the first response; "
                "the same key with another body is 409. 1–255 printable ASCII characters.",
                schema=Schema(
                    type=OpenAPIType.STRING,
                    min_length=1,
                    max_length=MAX_KEY_LENGTH,
                    pattern="^[\\x20-\\x7e]+$",
                ),
            )
        )
        operation.parameters = parameters
