"""A server process builds a large heap once (libraries, the container, the app) and keeps
it until it stops. Python's full collections walk every tracked object, so under load each
one stalled every request in flight for a walk of that whole heap (bench/findings.md,
"Availability's p99 after issue 18"). The ASGI factory therefore freezes what exists once
the app is built: full collections then walk only what requests have allocated since.

Checked in a fresh interpreter, so that this test process's own heap is never frozen.
"""

from __future__ import annotations

from functools import cache

import pytest

from tests.support.fresh_interpreter import last_json_line

# Each test starts a Python process of its own, as the other slow tests do.
pytestmark = pytest.mark.slow

BUILD_AND_LOOK = """
import gc, json
import entrypoints.asgi

app = entrypoints.asgi.create_asgi_app()
after = object.__new__(type("Later", (), {}))
tracked = gc.get_objects()
print(json.dumps({
    "app_collected": any(o is app for o in tracked),
    "later_collected": any(o is after for o in tracked),
    "frozen": gc.get_freeze_count(),
}))
"""


@cache
def _seen() -> dict[str, object]:
    """What one fresh server process saw (both tests read the same start)."""
    seen: dict[str, object] = last_json_line(
        BUILD_AND_LOOK,
        BOOKPAY_GATEWAY="fake",
        BOOKPAY_DATABASE_URL="postgresql+asyncpg://bookpay@127.0.0.1:5432/unused",
    )
    return seen


def test_the_app_built_at_start_is_left_out_of_later_collections() -> None:
    seen = _seen()
    assert seen["app_collected"] is False
    assert isinstance(seen["frozen"], int)
    assert seen["frozen"] > 0


def test_objects_made_after_the_start_are_still_collected() -> None:
    seen = _seen()
    assert seen["later_collected"] is True
