"""bench/ imports, and its load generator signs webhooks the way Bookpay verifies them.

No timing here: `make bench` measures; this only keeps the benchmark code from rotting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from adapters.stripe_wire.signature import verify
from bench import calibration, loadgen, nodelay, roundtrips, run, seed


def test_the_bench_modules_import() -> None:
    assert callable(run.main)
    assert callable(calibration.create_app)
    assert callable(nodelay.main)
    assert callable(seed.seed_history)
    assert callable(roundtrips.main)


def test_webhook_events_are_signed_and_duplicates_reuse_an_event_id() -> None:
    bookings = [
        {
            "tenant_id": "tn_1",
            "booking_id": f"bk_{n}",
            "session_id": f"cs_{n}",
            "amount": 2130,
            "currency": "usd",
        }
        for n in range(20)
    ]
    source = loadgen.WebhookSource(8000, "whsec_test", bookings, duplicate_share=0.2)
    ids = []
    while (request := source.next_request()) is not None:
        head, _, body = request.partition(b"\r\n\r\n")
        header = next(
            line.split(b": ", 1)[1].decode()
            for line in head.split(b"\r\n")
            if line.startswith(b"stripe-signature")
        )
        verify(body, header, "whsec_test", now=datetime.now(UTC))
        ids.append(json.loads(body)["id"])
    assert len(set(ids)) == len(bookings)
    assert len(ids) == len(bookings) + source.duplicates


def test_a_profile_is_summarized_by_layer() -> None:
    raw = (
        f"main ({run.ROOT}/entrypoints/cli.py:10);execute (/x/site-packages/sqlalchemy/a.py:1) 3\n"
        f"main ({run.ROOT}/entrypoints/cli.py:10) 1\n"
    )
    summary = run.summarize_profile(raw)
    assert summary["samples"] == 4
    assert dict(summary["layers"])["SQLAlchemy"] == 75
    assert dict(summary["inclusive"])["entrypoints/cli.py:main"] == 100


def test_the_events_out_bench_writes_its_table() -> None:
    from bench import events_out

    text = events_out.markdown({"sqlite": {"per_second": 120.0, "p50": 0.6, "p99": 1.1}}, 500, 20)
    assert "| sqlite | 120 | 600 ms | 1100 ms |" in text
