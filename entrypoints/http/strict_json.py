"""Decode JSON request bodies strictly before Litestar's lenient conversion sees them.

Litestar converts request data with msgspec's lax mode, which would read the string
"20.00" as the integer 20: a price meant in dollars charged in cents. Money must never be
guessed, so every JSON body is first checked against its schema in strict mode.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException

_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


async def check_json_body_strictly(request: Request[Any, Any, Any]) -> None:
    field = request.route_handler.parsed_data_field
    if field is None:
        return
    body = await request.body()
    if not body.strip():
        return
    try:
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
