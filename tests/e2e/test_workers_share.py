"""`bookpay serve --workers 2` on SQLite: both workers answer requests (issue 19).

Each worker has a listening socket of its own on the port (SO_REUSEPORT), and the kernel
spreads new connections over them by address. Every worker writes its request counts to
its own files in PROMETHEUS_MULTIPROC_DIR (named by its pid), so the test reads there which
workers answered. No timing: 40 fresh connections all landing on one socket would take
odds of 1 in 2^39.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import httpx
from prometheus_client.mmap_dict import MmapedDict

from tests.e2e.conftest import start_server, stop_server

REQUESTS = 40

# prometheus_client's multiprocess files, entry by entry: (key, value, timestamp, offset).
# The library has no annotations.
_read_entries = cast(
    Callable[[str], Iterator[tuple[str, float, float, int]]],
    MmapedDict.read_all_values_from_file,
)


def _requests_by_process(folder: Path) -> Counter[str]:
    answered: Counter[str] = Counter()
    for path in folder.glob("counter_*.db"):
        pid = path.stem.removeprefix("counter_")
        for key, value, *_rest in _read_entries(str(path)):
            metric, name, _labels, _help = json.loads(key)
            if name == "bookpay_http_requests_total" or metric == "bookpay_http_requests":
                answered[pid] += int(value)
    return answered


def test_two_workers_on_sqlite_both_answer_requests(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    server = start_server(
        f"sqlite+aiosqlite:///{tmp_path / 'bookpay.db'}",
        tmp_path / "server.log",
        workers=2,
        env={"PROMETHEUS_MULTIPROC_DIR": str(metrics)},
    )
    try:
        for _ in range(REQUESTS):  # a new connection each time
            # A connection that lands on a worker still starting waits in its socket's
            # backlog until it serves: a generous timeout on a loaded machine.
            answer = httpx.get(f"{server.base_url}/v1/public/no-such-tenant/offerings", timeout=60)
            assert answer.status_code == 404, answer.text
        answered = _requests_by_process(metrics)
    finally:
        stop_server(server)

    assert sum(answered.values()) >= REQUESTS
    busy = [pid for pid, count in answered.items() if count > 0]
    assert len(busy) == 2, answered
