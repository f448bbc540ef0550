"""Health probes and Prometheus metrics."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from typing import Any

from litestar import Controller, Response, get
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from adapters.sql.database import DatabaseProbe, is_database_unavailable
from entrypoints.http import schemas as s
from entrypoints.http.admission import RequestAdmission
from entrypoints.http.errors import RETRY_AFTER_SECONDS, STATUS_BY_ERROR
from entrypoints.http.event_metrics import EventsOutMetrics, WebhookQueueMetrics
from entrypoints.http.request_phases import PHASES, RequestPhases, measuring

log = logging.getLogger("bookpay.http")
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Our counters are as old as the process (bookpay_process_start_time_seconds); a `_created`
# series per label set would only double the exposition.
disable_created_metrics()  # type: ignore[no-untyped-call]
# From a millisecond to seconds, fine enough near a second that a bucket's edge bounds a
# p99 closely (a gateway's long tail), and few enough that a scrape stays small: each
# route's duration histogram has one line per edge.
SECONDS_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0,
    1.25, 1.5, 2.0, 3.0, 5.0, 10.0, float("inf"),
)  # fmt: skip


class RequestMetrics:
    """Request counts and latency per route template, with prometheus_client; each
    request's whole time per route template, and the time of every request that met a phase
    (request_phases.py: it waited in line, took a database connection or called the
    gateway) per phase, over all routes, as histograms. Phases are not per route: seven
    histograms per route made one scrape megabytes once every route had been asked.

    Under several worker processes (`PROMETHEUS_MULTIPROC_DIR` set, see `bookpay serve`)
    every process writes its samples to that folder and `/metrics` answers the sum of all;
    alone, a process answers its own. Each container has its own registry (a singleton), so
    apps built side by side, or one app lent to test after test, count only their own.
    """

    def __init__(self) -> None:
        self._registry = CollectorRegistry()
        self._requests = Counter(
            "bookpay_http_requests",
            "HTTP requests answered.",
            ("method", "route", "status"),
            registry=self._registry,
        )
        self._seconds = Counter(
            "bookpay_http_request_seconds",
            "Time spent answering HTTP requests.",
            ("method", "route"),
            registry=self._registry,
        )
        self._duration = Histogram(
            "bookpay_http_request_duration_seconds",
            "Each HTTP request's whole time, from the first middleware to its answer.",
            ("method", "route"),
            registry=self._registry,
            buckets=SECONDS_BUCKETS,
        )
        self._phase = Histogram(
            "bookpay_http_request_phase_seconds",
            "The time in one phase of each HTTP request that met any (all routes): "
            "admission_wait and admission_return_wait (for a place in line, first and after "
            "the gateway), connection_wait (for a pooled database connection), unit_of_work "
            "(holding one), gateway_call, rest.",
            ("phase",),
            registry=self._registry,
            buckets=SECONDS_BUCKETS,
        )
        self._series: dict[tuple[str, str, int], tuple[Counter, Counter, Histogram]] = {}
        self._phases = [(phase, self._phase.labels(phase)) for phase in PHASES]
        started = Gauge(
            "bookpay_process_start_time_seconds",
            "Start time of the process (of the oldest one, under several workers).",
            registry=self._registry,
            multiprocess_mode="min",
        )
        started.set(time.time())

    def observe(
        self,
        method: str,
        route: str,
        status: int,
        seconds: float,
        phases: RequestPhases | None = None,
    ) -> None:
        """One request: counted, its whole time observed, and its phases (each 0 when it did
        not meet it) when it met any (a health probe meets none and leaves the phases'
        means alone)."""
        key = (method, route, status)
        series = self._series.get(key)
        if series is None:
            # Looking a label set up costs more than counting; routes and statuses are few.
            series = (
                self._requests.labels(method, route, str(status)),
                self._seconds.labels(method, route),
                self._duration.labels(method, route),
            )
            self._series[key] = series
        requests, seconds_spent, duration = series
        requests.inc()
        seconds_spent.inc(seconds)
        duration.observe(seconds)
        if phases is None or not phases.seconds:
            return
        split = phases.split(seconds)
        for phase, histogram in self._phases:
            histogram.observe(split[phase])

    def render(self) -> str:
        """The Prometheus text exposition of every process of this server."""
        if os.environ.get(MULTIPROCESS_DIR):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry).decode()
        return generate_latest(self._registry).decode()


def status_sent_for(error: BaseException) -> int:
    """The status the app's exception handlers answer `error` with (errors.py)."""
    if isinstance(error, HTTPException):
        return error.status_code
    if is_database_unavailable(error):
        return 503
    return next((status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)), 500)


# HTTP's own methods (RFC 9110 section 9 and PATCH, RFC 5789); any other is labelled
# OTHER_METHOD, so invented methods cannot add series.
KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
)
OTHER_METHOD = "other"
# The route of a request the router matched to none (404, or 405 for a method no route takes).
UNMATCHED_ROUTE = "unmatched"
# The status of a request cancelled before any answer (its client went away, or the server
# stopped): the one proxies log for a request the client closed (nginx's 499); nothing was
# sent, so it is no 500.
CLOSED_BEFORE_ANSWER = 499


def metrics_middleware(metrics: Callable[[], RequestMetrics]) -> Any:
    """ASGI middleware observing every HTTP request on `metrics()`, by method, route template
    and status. It wraps the whole app (`app.asgi_handler`, outside Litestar's router), so a
    request that matches no route is counted too, under UNMATCHED_ROUTE."""

    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status: int | None = None

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            with measuring() as phases:
                try:
                    await app(scope, receive, capture)
                except asyncio.CancelledError:
                    if status is None:  # nothing answered: the client went, or we stop
                        status = CLOSED_BEFORE_ANSWER
                    raise
                except BaseException as error:
                    if status is None:  # answered further out, from this error
                        status = status_sent_for(error)
                    raise
                finally:
                    method = scope["method"]
                    metrics().observe(
                        method if method in KNOWN_METHODS else OTHER_METHOD,
                        scope.get("path_template") or UNMATCHED_ROUTE,
                        500 if status is None else status,
                        time.perf_counter() - started,
                        phases,
                    )

        return wrapped

    return middleware


class OperationsController(Controller):
    path = "/"
    tags = ["operations"]  # noqa: RUF012 - Litestar reads these as class attributes
    include_in_schema = True

    @get("/health/live", summary="The process is up")
    async def live(self) -> s.Health:
        return s.Health(status="ok")

    @get(
        "/health/ready",
        summary="The database answers within 2 s, on a connection of its own, and the "
        "line of requests moves",
        responses={503: ResponseSpec(data_container=s.Readiness, description="Not ready")},
    )
    async def ready(
        self, database_probe: DatabaseProbe, request_admission: RequestAdmission
    ) -> Response[s.Readiness]:
        line = request_admission
        status = "ok"
        if line.stalled():
            status = "stalled"
        elif not await database_probe.ready():
            status = "unavailable"
        return Response(
            s.Readiness(status=status, in_flight=line.at_work, waiting=line.waiting),
            status_code=200 if status == "ok" else 503,
            headers=None if status == "ok" else {"Retry-After": RETRY_AFTER_SECONDS},
        )

    @get("/metrics", summary="Prometheus metrics", media_type="text/plain; version=0.0.4")
    async def metrics(
        self,
        request_metrics: RequestMetrics,
        events_out_metrics: EventsOutMetrics,
        webhook_queue_metrics: WebhookQueueMetrics,
    ) -> str:
        # Off the event loop: rendering every process's samples is Python work that would
        # otherwise hold up every request of this worker for as long as it takes.
        rendered = await asyncio.to_thread(request_metrics.render)
        return rendered + await events_out_metrics.render() + await webhook_queue_metrics.render()
