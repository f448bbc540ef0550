"""/metrics: prometheus_client's exposition, escaped by the library, summed over workers."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from entrypoints.cli import prepare_shared_metrics
from entrypoints.http.operations import RequestMetrics, metrics_middleware
from entrypoints.http.request_phases import PHASES
from tests.support.app_client import AppClient
from tests.support.http_app import build_test_app


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_requests_are_counted_per_route_template_and_status(tmp_path: Path) -> None:
    app, _ = build_test_app(tmp_path)
    async with AppClient(app) as client:
        for _ in range(2):
            assert (await client.get("/health/live")).status_code == 200
        assert (await client.get("/v1/public/no-such-shop/offerings")).status_code == 404
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples = _samples(answer.text)
    live = (("method", "GET"), ("route", "/health/live"), ("status", "200"))
    assert samples[("bookpay_http_requests_total", live)] == 2
    offerings = (
        ("method", "GET"),
        ("route", "/v1/public/{tenant_slug}/offerings"),
        ("status", "404"),
    )
    assert samples[("bookpay_http_requests_total", offerings)] == 1
    seconds = (("method", "GET"), ("route", "/health/live"))
    assert samples[("bookpay_http_request_seconds_total", seconds)] > 0
    assert samples[("bookpay_process_start_time_seconds", ())] > 0


def test_label_values_are_escaped() -> None:
    """A quote, a backslash or a newline in a label cannot forge another sample."""
    metrics = RequestMetrics()
    route = '/odd"route\\with\nnewline} 99\nbookpay_http_requests_total{x="y"'
    metrics.observe("GET", route, 200, 0.5)
    samples = _samples(metrics.render())
    key = (("method", "GET"), ("route", route), ("status", "200"))
    assert samples[("bookpay_http_requests_total", key)] == 1
    assert [name for name, _ in samples].count("bookpay_http_requests_total") == 1


_WORKER = """
from entrypoints.http.operations import RequestMetrics, metrics_middleware
from entrypoints.http.request_phases import PHASES
metrics = RequestMetrics()
for _ in range({count}):
    metrics.observe("GET", "/health/live", 200, 0.25)
print(metrics.render())
"""


@pytest.mark.slow
def test_several_worker_processes_answer_their_sum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As under `bookpay serve --workers N`: each process writes to the shared folder, and
    any of them answers the sum of all of them."""
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_12345.db").write_bytes(b"left over by a previous run")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    assert prepare_shared_metrics() == folder
    assert not list(folder.glob("*.db"))  # a previous run's samples never count again
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": str(folder)}
    answers = [
        subprocess.run(
            [sys.executable, "-c", _WORKER.format(count=count)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for count in (2, 3)
    ]
    live = (("method", "GET"), ("route", "/health/live"), ("status", "200"))
    assert _samples(answers[0])[("bookpay_http_requests_total", live)] == 2
    assert _samples(answers[1])[("bookpay_http_requests_total", live)] == 5
    seconds = (("method", "GET"), ("route", "/health/live"))
    assert _samples(answers[1])[("bookpay_http_request_seconds_total", seconds)] == 1.25


def _phase(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> Any:
    def value(name: str, phase: str) -> float:
        key = (("phase", phase),)
        return samples[(f"bookpay_http_request_phase_seconds_{name}", key)]

    return value


async def test_each_request_counts_its_wait_for_a_pooled_connection_and_its_units(
    tmp_path: Path,
) -> None:
    """The SQLite app has one pooled connection: held by the test, a request waits for it,
    and /metrics shows that wait, the request's unit of work and the rest, per request."""
    app, container = build_test_app(tmp_path)
    route = "/v1/public/{tenant_slug}/offerings"
    async with AppClient(app) as client:
        assert (await client.get("/v1/public/no-such-shop/offerings")).status_code == 404
        held, release = asyncio.Event(), asyncio.Event()

        async def hold_the_connection() -> None:
            async with container.uow()():
                held.set()
                await release.wait()

        holding = asyncio.create_task(hold_the_connection())
        await held.wait()
        asking = asyncio.create_task(client.get("/v1/public/no-such-shop/offerings"))
        for _ in range(50):
            await asyncio.sleep(0)
        assert not asking.done()
        release.set()
        assert (await asking).status_code == 404
        await holding
        # A probe meets no phase: it counts in its route's whole, not in the phases.
        assert (await client.get("/health/live")).status_code == 200
        samples = _samples((await client.get("/metrics")).text)
    phase = _phase(samples)
    assert phase("count", "connection_wait") == 2
    assert phase("sum", "connection_wait") > 0
    assert phase("count", "unit_of_work") == 2
    assert phase("sum", "unit_of_work") > 0
    assert phase("sum", "gateway_call") == 0
    whole = (("method", "GET"), ("route", route))
    assert samples[("bookpay_http_request_duration_seconds_count", whole)] == 2
    parts = sum(phase("sum", name) for name in PHASES)
    assert parts == pytest.approx(samples[("bookpay_http_request_duration_seconds_sum", whole)])


async def test_unrouted_requests_are_counted_without_growing_the_labels(tmp_path: Path) -> None:
    """A scan of made-up paths and methods shows on /metrics, under one route label
    (`unmatched`) and the methods of HTTP's own vocabulary ("other" for any invented one), so
    a client cannot grow the exposition by inventing paths or methods."""
    app, _ = build_test_app(tmp_path)
    async with AppClient(app) as client:
        assert (await client.get("/health/live")).status_code == 200
        for n in range(5):
            assert (await client.request(f"BREW{n}", "/health/live")).status_code == 405
            assert (await client.get(f"/no/such/path/{n}")).status_code == 404
        assert (await client.delete("/health/live")).status_code == 405
        answer = await client.get("/metrics")
    samples = _samples(answer.text)
    routes = {dict(labels).get("route") for (_, labels) in samples}
    assert routes - {None} == {"/health/live", "unmatched"}
    methods = {dict(labels).get("method") for (_, labels) in samples} - {None}
    assert methods == {"GET", "DELETE", "other"}
    counted = "bookpay_http_requests_total"
    invented = (("method", "other"), ("route", "unmatched"), ("status", "405"))
    assert samples[(counted, invented)] == 5
    unknown = (("method", "GET"), ("route", "unmatched"), ("status", "404"))
    assert samples[(counted, unknown)] == 5
    wrong_method = (("method", "DELETE"), ("route", "unmatched"), ("status", "405"))
    assert samples[(counted, wrong_method)] == 1
    whole = (("method", "GET"), ("route", "unmatched"))
    assert samples[("bookpay_http_request_duration_seconds_count", whole)] == 5


async def _observed_through_the_middleware(
    app: Any, raised: type[BaseException]
) -> dict[tuple[str, Any], float]:
    """What the metrics middleware counts for one GET /x that `app` fails with `raised`."""
    metrics = RequestMetrics()
    wrapped = metrics_middleware(lambda: metrics)(app)
    scope = {"type": "http", "method": "GET", "path": "/x", "path_template": "/x", "headers": []}

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(_message: Any) -> None:
        return None

    with pytest.raises(raised):
        await wrapped(scope, receive, send)
    return _samples(metrics.render())


async def test_an_error_after_the_answer_started_keeps_the_status_sent() -> None:
    async def app(_scope: Any, _receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("after the answer started")

    samples = await _observed_through_the_middleware(app, RuntimeError)
    counted = "bookpay_http_requests_total"
    assert samples[(counted, (("method", "GET"), ("route", "/x"), ("status", "200")))] == 1
    assert (counted, (("method", "GET"), ("route", "/x"), ("status", "500"))) not in samples


async def test_a_request_cancelled_before_its_answer_counts_as_closed_by_the_client() -> None:
    """Cancelled (the client went away, or the server stops) before anything was sent: no
    500 was answered, so it counts as 499, the status proxies log for it."""

    async def app(_scope: Any, _receive: Any, _send: Any) -> None:
        raise asyncio.CancelledError

    samples = await _observed_through_the_middleware(app, asyncio.CancelledError)
    counted = "bookpay_http_requests_total"
    assert samples[(counted, (("method", "GET"), ("route", "/x"), ("status", "499")))] == 1
    assert (counted, (("method", "GET"), ("route", "/x"), ("status", "500"))) not in samples
