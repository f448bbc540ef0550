"""What keeps pytest-xdist workers out of each other's way: a name per worker, and local
ports from a range of the worker's own.

Under `pytest -n N` every worker is a separate process with PYTEST_XDIST_WORKER set to
"gw0", "gw1", …; a plain `pytest` run is the worker "main". Databases and Redis keys carry
the worker's name, so a leftover from a crashed run says which worker left it.
"""

from __future__ import annotations

import itertools
import os
import re
import socket

# Below Linux's ephemeral range (32768–60999), so a port the kernel hands to an outgoing
# connection of another worker never collides with a server a test starts here.
FIRST_PORT = 20000
PORTS_PER_WORKER = 500


def worker_id() -> str:
    """ "gw0", "gw1", … under pytest-xdist; "main" otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def worker_index() -> int:
    """0 for "gw0" and for a run without workers, 1 for "gw1", …"""
    match = re.fullmatch(r"gw(\d+)", worker_id())
    return int(match.group(1)) if match else 0


# Each process starts at a place of its own in the range: other runs on the machine (other
# checkouts, a plain run beside a worker "gw0") use the same range, and all starting at its
# first port made them race for the same ports at once.
_next_offset = itertools.count(os.getpid() % PORTS_PER_WORKER)


def free_port() -> int:
    """A port of 127.0.0.1 nobody listens on, from this worker's own range.

    Each call moves on to the next port of the range, so a server that a test stops and
    starts again on its port never races a second test of the same worker for it.

    Raises RuntimeError when the whole range is taken.
    """
    first = FIRST_PORT + worker_index() * PORTS_PER_WORKER
    for _ in range(PORTS_PER_WORKER):
        port = first + next(_next_offset) % PORTS_PER_WORKER
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {first}–{first + PORTS_PER_WORKER - 1}")
