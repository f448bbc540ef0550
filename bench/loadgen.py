"""A closed-loop HTTP/1.1 load generator, run as its own process: `python -m bench.loadgen PLAN`.

PLAN is a JSON file naming the target (always 127.0.0.1), the number of keep-alive
connections, a warm-up and a measured duration, and what to send (see `build_source`).
Each connection sends one request, reads the whole response, and sends the next, so the
figures are latency under the given concurrency; it reconnects every
REQUESTS_PER_CONNECTION requests. The result (requests/s, p50, p99,
errors, status counts, the generator's own CPU time) is printed as one JSON object.

It speaks raw HTTP over asyncio streams instead of using an HTTP client library: the
server and the generator share two cores, and a lean client leaves more of them to the
server. Webhook events are signed here at send time, exactly as Stripe signs them.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import resource
import secrets
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from adapters.stripe_wire.signature import sign

HOST = "127.0.0.1"
# Each connection is reopened after this many requests. With several uvicorn workers sharing
# one listening socket, whichever worker wins accept() keeps a connection for its whole
# life, and 16 long-lived connections can land mostly on one worker; reconnecting now and
# then spreads them the way many clients would, at about one TCP handshake per 50 requests.
REQUESTS_PER_CONNECTION = 50
# A webhook answer's outcome, read without parsing the whole body (entrypoints/http/webhooks.py
# answers compact JSON).
OUTCOME = re.compile(rb'"outcome":\s*"([a-z_]+)"')


class Source(Protocol):
    expected: frozenset[int]

    def next_request(self) -> bytes | None:
        """The next request's bytes, or None when there is nothing left to send."""


def _request(method: str, path: str, port: int, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"host: {HOST}:{port}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    if method != "GET":
        lines.append(f"content-length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class GetSource:
    """GET the same few paths, round robin."""

    port: int
    paths: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    expected: frozenset[int] = frozenset({200})
    _index: int = 0

    def next_request(self) -> bytes | None:
        path = self.paths[self._index % len(self.paths)]
        self._index += 1
        return _request("GET", path, self.port, b"", **self.headers)


@dataclass
class CheckoutSource:
    """A public checkout for one seat on a random slot (all have free seats), each by a
    customer email of its own: the emails of one load differ from every other load's (a
    customer may hold at most 5 unpaid checkouts, and loads on the same shop add up)."""

    port: int
    slug: str
    slot_ids: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(1))  # noqa: S311
    expected: frozenset[int] = frozenset({201})
    load_id: str = field(default_factory=lambda: secrets.token_hex(4))
    _count: int = 0

    def next_request(self) -> bytes | None:
        self._count += 1
        body = json.dumps(
            {
                "slot_id": self.rng.choice(self.slot_ids),
                "seats": 1,
                "customer": {
                    "email": f"c{self._count}.{self.load_id}@example.com",
                    "name": "Bench Customer",
                },
            }
        ).encode()
        return _request(
            "POST",
            f"/v1/public/{self.slug}/checkout",
            self.port,
            body,
            content_type="application/json",
        )


def completed_event(booking: dict[str, Any]) -> bytes:
    """The body of a paid `checkout.session.completed` for one seeded pending booking."""
    session = {
        "id": booking["session_id"],
        "object": "checkout.session",
        "amount_subtotal": booking["amount"],
        "amount_total": booking["amount"],
        "client_reference_id": booking["booking_id"],
        "currency": booking["currency"],
        "customer_email": "bench@example.com",
        "metadata": {"tenant_id": booking["tenant_id"], "booking_id": booking["booking_id"]},
        "mode": "payment",
        "payment_intent": f"pi_{booking['booking_id']}",
        "payment_status": "paid",
        "status": "complete",
    }
    event = {
        "id": f"evt_{booking['booking_id']}",
        "object": "event",
        "api_version": "2023-08-16",
        "created": int(time.time()),
        "type": "checkout.session.completed",
        "livemode": False,
        "data": {"object": session},
    }
    return json.dumps(event).encode()


@dataclass
class WebhookSource:
    """Signed checkout.session.completed events, one per pending booking, with duplicates.

    A duplicate is an event already sent once more (same id, fresh signature), as Stripe
    redelivers; `duplicate_share` of all requests are duplicates.
    """

    port: int
    secret: str
    bookings: list[dict[str, Any]]
    duplicate_share: float
    rng: random.Random = field(default_factory=lambda: random.Random(2))  # noqa: S311
    expected: frozenset[int] = frozenset({200})
    sent: list[bytes] = field(default_factory=list)
    duplicates: int = 0

    def _event(self, booking: dict[str, Any]) -> bytes:
        return completed_event(booking)

    def next_request(self) -> bytes | None:
        duplicate = self.sent and self.rng.random() < self.duplicate_share
        if duplicate:
            payload = self.rng.choice(self.sent)
            self.duplicates += 1
        elif len(self.sent) < len(self.bookings):
            payload = self._event(self.bookings[len(self.sent)])
            self.sent.append(payload)
        else:
            return None
        signature = sign(payload, self.secret, datetime.now(UTC))
        return _request(
            "POST",
            "/v1/webhooks/stripe",
            self.port,
            payload,
            content_type="application/json",
            stripe_signature=signature,
        )


@dataclass
class PostSource:
    """The same small JSON POST every time (the calibration insert)."""

    port: int
    path: str
    expected: frozenset[int] = frozenset({200, 201})

    def next_request(self) -> bytes | None:
        body = b'{"note":"calibration"}'
        return _request("POST", self.path, self.port, body, content_type="application/json")


def build_source(plan: dict[str, Any]) -> Source:
    """The plan's source; `expected` (statuses) overrides the kind's own when given."""
    source = _source(plan)
    if "expected" in plan:
        source.expected = frozenset(int(status) for status in plan["expected"])
    return source


def _source(plan: dict[str, Any]) -> Source:
    port = int(plan["port"])
    kind = plan["kind"]
    if kind == "get":
        headers = {name.replace("-", "_"): value for name, value in plan.get("headers", {}).items()}
        return GetSource(port, list(plan["paths"]), headers)
    if kind == "checkout":
        return CheckoutSource(port, plan["slug"], list(plan["slot_ids"]))
    if kind == "webhook":
        return WebhookSource(
            port, plan["secret"], list(plan["bookings"]), float(plan["duplicate_share"])
        )
    if kind == "post":
        return PostSource(port, plan["path"])
    raise ValueError(f"unknown load kind {kind!r}")


@dataclass
class Recorder:
    """Latencies and statuses of the measured window; answers during the warm-up are not
    timed but counted apart (`warmup_statuses`, `warmup_errors`), so that an error there
    still fails the run's "no errors" check."""

    measure_from: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    warmup_statuses: Counter[str] = field(default_factory=Counter)
    warmup_errors: int = 0
    first_error: str | None = None
    last_done: float = 0.0
    # Webhook answers by their `outcome` (applied, duplicate, queued, …), warm-up included.
    outcomes: Counter[str] = field(default_factory=Counter)

    def record(self, started: float, done: float, status: str, ok: bool, detail: str) -> None:
        if not ok and self.first_error is None:
            self.first_error = detail[:500]
        if started < self.measure_from:
            self.warmup_statuses[status] += 1
            self.warmup_errors += 0 if ok else 1
            return
        self.latencies.append(done - started)
        self.statuses[status] += 1
        self.last_done = max(self.last_done, done)
        if not ok:
            self.errors += 1


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    if not chunked:
        return status, await reader.readexactly(length), close
    body = b""
    while True:
        size = int((await reader.readline()).strip(), 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body, close
        body += chunk[:-2]


async def _connection(
    port: int,
    source: Source,
    recorder: Recorder,
    deadline: float,
    response_timeout: float,
    requests_per_connection: int,
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    used = 0
    try:
        while time.perf_counter() < deadline:
            if writer is not None and used >= requests_per_connection:
                writer.close()
                reader = writer = None
            if writer is None:
                used = 0
            used += 1
            request = source.next_request()
            if request is None:
                return
            started = time.perf_counter()
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                writer.write(request)
                status, body, close = await asyncio.wait_for(
                    _read_response(reader), response_timeout
                )
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as error:
                recorder.record(started, time.perf_counter(), "error", False, repr(error))
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            ok = status in source.expected
            if isinstance(source, WebhookSource) and (found := OUTCOME.search(body)):
                recorder.outcomes[found[1].decode()] += 1
            recorder.record(
                started, time.perf_counter(), str(status), ok, body.decode("utf-8", "replace")
            )
            if close:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


def _percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(share * (len(sorted_values) - 1)))
    return sorted_values[index]


async def run(plan: dict[str, Any]) -> dict[str, Any]:
    source = build_source(plan)
    port = int(plan["port"])
    connections = int(plan["connections"])
    start = time.perf_counter()
    measure_from = start + float(plan["warmup_seconds"])
    deadline = measure_from + float(plan["seconds"])
    recorder = Recorder(measure_from)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(
        *(
            _connection(
                port,
                source,
                recorder,
                deadline,
                float(plan.get("timeout", 30)),
                int(plan.get("requests_per_connection", REQUESTS_PER_CONNECTION)),
            )
            for _ in range(connections)
        )
    )
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    end = min(deadline, recorder.last_done) if recorder.last_done else deadline
    window = max(end - measure_from, 1e-9)
    latencies = sorted(recorder.latencies)
    result: dict[str, Any] = {
        "requests": len(latencies),
        "seconds": window,
        "rps": len(latencies) / window,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "mean_ms": 1000 * sum(latencies) / max(len(latencies), 1),
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "errors": recorder.errors,
        "warmup_errors": recorder.warmup_errors,
        "warmup_statuses": dict(recorder.warmup_statuses),
        # Every answer, warm-up included: the CPU per request is over the whole load.
        "answered": len(latencies) + sum(recorder.warmup_statuses.values()),
        "first_error": recorder.first_error,
        "statuses": dict(recorder.statuses),
        "client_cpu_seconds": (cpu_after.ru_utime + cpu_after.ru_stime)
        - (cpu_before.ru_utime + cpu_before.ru_stime),
        "exhausted": time.perf_counter() < deadline,
    }
    if isinstance(source, WebhookSource):
        result["events_sent"] = len(source.sent)
        result["duplicates_sent"] = source.duplicates
        result["sent_booking_ids"] = [b["booking_id"] for b in source.bookings[: len(source.sent)]]
        result["outcomes"] = dict(recorder.outcomes)
    return result


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(asyncio.run(run(plan))))


if __name__ == "__main__":
    main()
