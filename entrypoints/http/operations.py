"""Health probes and Prometheus metrics."""

from __future__ import annotations

import logging
import time
from collections import Counter
from typing import Any

from litestar import Controller, Response, get
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from adapters.sql.database import DatabaseProbe, is_database_unavailable
from entrypoints.http import schemas as s
from entrypoints.http.errors import RETRY_AFTER_SECONDS, STATUS_BY_ERROR

log = logging.getLogger("bookpay.http")


class RequestMetrics:
    """Request counts and latency per route template, for this process."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.seconds: Counter[tuple[str, str]] = Counter()
        self.started = time.time()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests[(method, route, status)] += 1
        self.seconds[(method, route)] += seconds

    def render(self) -> str:
        lines = [
            "# HELP bookpay_http_requests_total HTTP requests answered.",
            "# TYPE bookpay_http_requests_total counter",
        ]
        for (method, route, status), count in sorted(self.requests.items()):
            lines.append(
                f'bookpay_http_requests_total{{method="{method}",route="{route}",'
                f'status="{status}"}} {count}'
            )
        lines += [
            "# HELP bookpay_http_request_seconds_total Time spent answering HTTP requests.",
            "# TYPE bookpay_http_request_seconds_total counter",
        ]
        for (method, route), total in sorted(self.seconds.items()):
            lines.append(
                f'bookpay_http_request_seconds_total{{method="{method}",route="{route}"}} '
                f"{total:.6f}"
            )
        lines += [
            "# HELP bookpay_process_start_time_seconds Start time of the process.",
            "# TYPE bookpay_process_start_time_seconds gauge",
            f"bookpay_process_start_time_seconds {self.started:.3f}",
        ]
        return "\n".join(lines) + "\n"


def status_sent_for(error: BaseException) -> int:
    """The status the app's exception handlers answer `error` with (errors.py)."""
    if isinstance(error, HTTPException):
        return error.status_code
    if is_database_unavailable(error):
        return 503
    return next((status for kind, status in STATUS_BY_ERROR if isinstance(error, kind)), 500)


def metrics_middleware(metrics: RequestMetrics) -> Any:
    def middleware(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            started = time.perf_counter()
            status = 500

            async def capture(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await app(scope, receive, capture)
            except BaseException as error:
                # Refused in a middleware: the answer is sent further out, from this error.
                status = status_sent_for(error)
                raise
            finally:
                route = scope.get("path_template") or "unmatched"
                metrics.observe(scope["method"], route, status, time.perf_counter() - started)

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
        summary="The database answers within 2 s, on a connection of its own",
        responses={503: ResponseSpec(data_container=s.Health, description="Not ready")},
    )
    async def ready(self, database_probe: DatabaseProbe) -> Response[s.Health]:
        if not await database_probe.ready():
            return Response(
                s.Health(status="unavailable"),
                status_code=503,
                headers={"Retry-After": RETRY_AFTER_SECONDS},
            )
        return Response(s.Health(status="ok"))

    @get("/metrics", summary="Prometheus metrics", media_type="text/plain; version=0.0.4")
    async def metrics(self, request_metrics: RequestMetrics) -> str:
        return request_metrics.render()
