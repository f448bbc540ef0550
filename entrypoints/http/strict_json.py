"""Refuse what the API cannot read before Litestar's lenient conversion sees it.

- A JSON body must say so: `Content-Type: application/json` (or a `+json` type), else 415;
  and it is UTF-8 (RFC 8259, section 8.1): a `charset` parameter naming anything else is
  415 too, since Bookpay reads no other.
- An object that names a key twice is 400: parsers disagree on which value wins, so two
  readers of one request (a proxy, a log, this API) could each see another request.
- It is decoded strictly against its schema: msgspec's lax mode, which Litestar uses,
  would read the string "20.00" as the integer 20, a price meant in dollars charged in
  cents. Money must never be guessed.
- Invalid UTF-8 is 400, and so is a NUL character anywhere in a string, in the body, the
  path or the query: PostgreSQL cannot store it, and nothing legitimate contains it.
- A body nested deeper than MAX_JSON_DEPTH is 400 before any decoder sees it: decoders
  recurse, and a body of a few kilobytes of brackets would drive them past the stack.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, get_args
from urllib.parse import unquote_to_bytes

import msgspec
from litestar import Request
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.types import ASGIApp, Receive, Scope, Send

from entrypoints.http.params import parse_rfc3339

_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")
# Deeper than any body of the API (a checkout is 3 levels), far below the stack's reach.
MAX_JSON_DEPTH = 32
# Stripe's events nest objects a dozen levels at most.
MAX_WEBHOOK_DEPTH = 64
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(rb"[\[\]{}]")


class UnsupportedMediaType(HTTPException):
    status_code = 415


def _is_json(content_type: str) -> bool:
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _charset(content_type: str) -> str | None:
    """The `charset` parameter of a Content-Type, lowercased and unquoted; None without."""
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').strip().lower()
    return None


class DuplicateKey(ValueError):
    pass


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise DuplicateKey(key)
        found[key] = value
    return found


def duplicate_key(body: bytes) -> str | None:
    """A key that some object of the JSON text `body` names more than once, else None.
    For a body already decoded once (valid JSON, nested MAX_JSON_DEPTH deep at most)."""
    try:
        json.loads(body, object_pairs_hook=_refuse_duplicates)
    except DuplicateKey as duplicate:
        return str(duplicate)
    except ValueError:  # not JSON after all: whoever decodes it refuses it
        return None
    return None


def json_depth_exceeds(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the JSON text `body` opens more than `limit` arrays or objects inside one
    another. Counted without decoding (brackets inside strings do not count), in one pass."""
    depth = 0
    for bracket in _JSON_BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _has_nul(value: Any) -> bool:
    # A loop over a stack, not recursion: the depth is bounded already, but a walk that
    # cannot overflow needs no argument.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


def json_text_has_nul(body: bytes) -> bool:
    """Whether a JSON text holds a NUL character in a string; False when it is not JSON
    (or nested too deep to walk), which whoever reads it refuses on their own terms."""
    # JSON holds a NUL only as the escape `\u0000` (a raw control character is malformed,
    # and every decoder refuses it): a text without the escape's bytes has none, and then
    # it is neither scanned nor decoded here.
    if b"\\u0000" not in body:
        return False
    if json_depth_exceeds(body, MAX_WEBHOOK_DEPTH):
        return False
    try:
        return _has_nul(msgspec.json.decode(body))
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False


def _datetime_query_names(request: Request[Any, Any, Any]) -> list[str]:
    names = []
    for name, field in request.route_handler.parsed_fn_signature.parameters.items():
        if datetime in _types_of(field.annotation):
            query = getattr(field.kwarg_definition, "query", None)
            names.append(query or name)
    return names


def _types_of(annotation: Any) -> set[Any]:
    return {annotation, *get_args(annotation)}


def check_query_strictly(request: Request[Any, Any, Any]) -> None:
    """Datetimes in the query need an offset and must stay within the calendar in UTC."""
    for name in _datetime_query_names(request):
        for text in request.query_params.getall(name, []):
            try:
                parse_rfc3339(text)
            except (ValueError, OverflowError) as error:
                raise ValidationException(
                    detail=f"Validation failed for {request.method} {request.url.path}",
                    extra=[
                        {
                            "key": name,
                            "message": "an RFC 3339 time with an offset, within years 1–9999 "
                            "in UTC",
                            "source": "query",
                        }
                    ],
                ) from error


async def check_request_strictly(request: Request[Any, Any, Any]) -> None:
    """The `before_request` hook: the query, then the JSON body."""
    check_query_strictly(request)
    await check_json_body_strictly(request)


async def check_json_body_strictly(request: Request[Any, Any, Any]) -> None:
    field = request.route_handler.parsed_data_field
    if field is None:
        return
    body = await request.body()
    if not body.strip():
        return
    content_type = request.headers.get("content-type", "")
    if not _is_json(content_type):
        raise UnsupportedMediaType(
            detail="send the body as JSON, with Content-Type: application/json"
        )
    if _charset(content_type) not in (None, "utf-8"):
        raise UnsupportedMediaType(
            detail="send the body as JSON in UTF-8: Content-Type: application/json "
            "(charset=utf-8 or no charset)"
        )
    if json_depth_exceeds(body):
        raise ClientException(
            detail=f"The request body is nested more than {MAX_JSON_DEPTH} levels deep"
        )
    try:
        raw = msgspec.json.decode(body)
        msgspec.json.decode(body, type=field.annotation, strict=True)
    except msgspec.ValidationError as error:
        message = str(error)
        match = _PATH.search(message)
        key = match.group("path") if match else ""
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"key": key, "message": _PATH.sub("", message), "source": "body"}],
        ) from error
    except msgspec.DecodeError as error:
        raise ClientException(detail=f"The request body is not valid JSON: {error}") from error
    except UnicodeDecodeError as error:
        raise ClientException(detail="The request body is not valid UTF-8") from error
    if _has_nul(raw):
        raise ClientException(detail="strings must not contain NUL characters")
    duplicate = duplicate_key(body)
    if duplicate is not None:
        shown = duplicate if len(duplicate) <= 64 else duplicate[:64] + "…"
        raise ClientException(detail=f"an object names the key {shown!r} more than once")
    if raw is None:
        # An optional body is left out, never sent as `null` (openapi.py documents it so).
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"key": "", "message": "send a JSON object, or no body", "source": "body"}],
        )


def refuse_nul_middleware() -> Callable[[ASGIApp], ASGIApp]:
    """400 for a NUL character in the path or the query string, before any route runs."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == ScopeType.HTTP and (
                "\x00" in scope.get("path", "")
                or b"\x00" in unquote_to_bytes(scope.get("query_string", b""))
            ):
                raise ClientException(detail="the path or query must not contain NUL characters")
            await app(scope, receive, send)

        return wrapped

    return middleware
