"""HTTP caching of public views that change with every sale: a validator and a short life.

Availability changes whenever a seat is held, booked or given back, so it may only be
cached briefly: `Cache-Control: public, max-age=5` lets a browser or CDN reuse an answer
for at most AVAILABILITY_MAX_AGE_SECONDS, and the strong `ETag` (a digest of the exact
body, so of every slot's seats and status) lets a client revalidate with `If-None-Match`
and get 304 Not Modified without the body. A cached answer only ever shows seats that were
free a few seconds ago: checkout re-checks the seats atomically, so a slot sold out
meanwhile is refused there, never oversold (RFC 9110 §8.8.3, §13.1.2; RFC 9111 §5.2.2.1).
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request, Response
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.serialization import encode_json

# Seconds a public availability answer may be reused without asking again (documented in
# README.md and CHANGELOG.md): short, since a sold-out slot must not look bookable for long.
AVAILABILITY_MAX_AGE_SECONDS = 5

NOT_MODIFIED: dict[int, ResponseSpec] = {
    304: ResponseSpec(
        data_container=None,
        description="Not Modified: the `If-None-Match` validator still matches; no body",
        generate_examples=False,
    )
}


def cache_headers(max_age: int) -> list[ResponseHeader]:
    """The caching headers a cached view sends, for the OpenAPI document."""
    return [
        ResponseHeader(
            name="ETag",
            value="",  # documentation only: the type gives the schema (a string)
            description="a strong validator of the body; send it back as If-None-Match",
            documentation_only=True,
        ),
        ResponseHeader(
            name="Cache-Control",
            value="",
            description=f"`public, max-age={max_age}`: reusable for at most {max_age} s",
            documentation_only=True,
        ),
    ]


def entity_tag(body: bytes) -> str:
    """A strong ETag of `body`: a quoted 96-bit BLAKE2b digest (same body, same tag)."""
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an If-None-Match header value matches `tag` (weak comparison, as RFC 9110
    §13.1.2 asks for If-None-Match; `*` matches any current representation)."""
    if not if_none_match:
        return False
    wanted = tag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def cached_json(request: Request[Any, Any, Any], content: Any, *, max_age: int) -> Response[Any]:
    """`content` as JSON with an ETag and `Cache-Control: public, max-age=<max_age>`, or 304
    Not Modified (same headers, no body) when the request's If-None-Match matches."""
    body = encode_json(content)
    tag = entity_tag(body)
    headers = {"ETag": tag, "Cache-Control": f"public, max-age={max_age}"}
    if matches(request.headers.get("if-none-match"), tag):
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=body, media_type="application/json", headers=headers)
