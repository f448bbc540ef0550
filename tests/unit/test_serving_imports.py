"""What a server process imports decides much of its memory (docs/benchmarks.md, "Peak
memory"; issue 19's target is 150 MB per process). Two libraries are only needed by a
feature a deployment may not use, so serving without that feature never imports them:

- redis-py: only for a shared rate-limit store (BOOKPAY_REDIS_URL);
- alembic: only a command that migrates (`bookpay serve` on PostgreSQL does not).

The stripe SDK is not among them: every process checks webhook signatures with it
(adapters/stripe_wire/signature.py, STYLE.md 12), the fake gateway's too.

Checked in a fresh interpreter, where nothing else imported them first.
"""

from __future__ import annotations

import pytest

from tests.support.fresh_interpreter import last_json_line

# A fresh interpreter imports the whole app (about 2.5 s of CPU): a process of its own, as
# the other tests marked slow.
pytestmark = pytest.mark.slow

OPTIONAL = ("redis", "alembic")

BUILD_AND_VERIFY = """
import json, sys
from datetime import UTC, datetime

import entrypoints.cli
import entrypoints.asgi
from adapters.stripe_wire import signature

app = entrypoints.asgi.create_asgi_app()
now = datetime.now(UTC)
body = b'{"id": "evt_1"}'
signature.verify(body, signature.sign(body, "whsec_x", now), "whsec_x", now)
print(json.dumps(sorted(name for name in sys.argv[1:] if name in sys.modules)))
"""


def _imported(**settings: str) -> list[str]:
    imported: list[str] = last_json_line(BUILD_AND_VERIFY, *OPTIONAL, **settings)
    return imported


def test_serving_with_the_fake_gateway_on_postgres_without_redis_imports_none_of_them() -> None:
    assert (
        _imported(
            BOOKPAY_GATEWAY="fake",
            BOOKPAY_DATABASE_URL="postgresql+asyncpg://bookpay@127.0.0.1:5432/unused",
        )
        == []
    )
