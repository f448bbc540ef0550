"""py-spy's raw output (`--format raw`) summarised: by layer, by Bookpay function
(inclusive), by leaf function, where the worker waited (the event loop, aiosqlite's
threads), and by process when py-spy followed the workers (bench/profiling.py records)."""

from __future__ import annotations

import linecache
import re
from pathlib import Path
from typing import Any

from bench.common import ROOT

PROJECT_PACKAGES = ("domain", "application", "adapters", "entrypoints")
LAYERS = (
    ("sqlalchemy", "SQLAlchemy"),
    ("asyncpg", "asyncpg"),
    ("aiosqlite", "aiosqlite"),
    ("sqlite3", "sqlite3"),
    ("litestar", "Litestar"),
    ("msgspec", "msgspec"),
    ("h11", "uvicorn/h11"),
    ("uvicorn", "uvicorn/h11"),
    ("dependency_injector", "dependency-injector"),
    ("httpx", "httpx"),
    ("asyncio", "asyncio"),
    ("json", "json"),
    ("logging", "logging"),
)


def _frame_parts(frame: str) -> tuple[str, str]:
    """'function (path/to/file.py:12)' → ('function', 'path/to/file.py')."""
    name, _, rest = frame.partition(" (")
    return name, rest.rsplit(":", 1)[0]


def _project_path(path: str) -> str | None:
    parts = Path(path).parts
    for index, part in enumerate(parts):
        if part in PROJECT_PACKAGES and str(ROOT) in path and "site-packages" not in path:
            return "/".join(parts[index:])
    return None


def _layer(path: str) -> str:
    if _project_path(path):
        return "Bookpay (domain/application/adapters/entrypoints)"
    for needle, layer in LAYERS:
        if f"/{needle}/" in path or path.endswith(f"/{needle}.py"):
            return layer
    return "other (interpreter, stdlib)"


# Where a sample's stack says the worker was, beside its layers (each a share of all samples):
# - "aiosqlite_thread": in one of aiosqlite's connection threads; of those,
#   "aiosqlite_waiting": at the thread's `tx.get()`, waiting for its next statement (read from
#   the recorded line's source), the rest running one (SQLite's C library, off the loop);
# - "event_loop_wait": the event loop waiting for a socket or a thread's answer: asyncio's
#   `select` (selectors.py; `EpollSelector.select` on Python 3.11), or under uvloop
#   (`bookpay serve`'s loop) a stack with no Python frame above the loop's entry
#   (`Runner.run`): uvloop's loop is C, and native stacks of the SQLite checkout
#   (`py-spy --native`, 1 December) put 147 of 164 such samples in libuv's `epoll_pwait`.
# py-spy without --idle keeps these waits in part: a thread woken hundreds of times a
# second is often caught runnable.
AIOSQLITE_THREAD = "_connection_worker_thread"
# asyncio.run's frames that call the loop (Python 3.11+, and 3.10's `run`).
LOOP_ENTRIES = ("Runner.run", "run")
# With --subprocesses py-spy roots each stack in its processes, parent first, each a frame
# 'process 12:"command line"'; a command line may hold ';' (multiprocessing's spawn does),
# so these frames are cut off whole before the stack is split. The first is the process
# py-spy was given (uvicorn's supervisor), the last the sampled one; a sample with no Python
# frame below them is left out, as a process's own empty stack is without --subprocesses.
PROCESS_FRAMES = re.compile(r'^(?:process (\d+):".*?"(?:;|$))+')
FIRST_PROCESS = re.compile(r'^process (\d+):"')


def where_sampled(frames: list[str]) -> list[str]:
    """The where_sampled keys (the comment above) of one sample's frames, root first."""
    leaf_name, leaf_path = _frame_parts(frames[-1])
    if any(_frame_parts(frame)[0] == AIOSQLITE_THREAD for frame in frames):
        if leaf_name == AIOSQLITE_THREAD and "tx.get(" in _source_line(frames[-1]):
            return ["aiosqlite_thread", "aiosqlite_waiting"]
        return ["aiosqlite_thread"]
    if leaf_name.rpartition(".")[2] == "select" and Path(leaf_path).name == "selectors.py":
        return ["event_loop_wait"]
    if leaf_name in LOOP_ENTRIES and leaf_path.endswith("asyncio/runners.py"):
        # asyncio's own loop is Python: its samples end in base_events.py or below it.
        return ["event_loop_wait"]
    return []


def _source_line(frame: str) -> str:
    """The source of a frame 'name (path/to/file.py:12)' (py-spy's --full-filenames), or ''."""
    _, _, rest = frame.partition(" (")
    path, _, line = rest.rstrip(")").rpartition(":")
    return linecache.getline(path, int(line)) if line.isdigit() else ""


def summarize_profile(raw: str) -> dict[str, Any]:
    total = 0
    sampled: dict[str, int] = {}
    leaf: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    layers: dict[str, int] = {}
    processes: dict[str, int] = {}
    supervisor = ""
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        process = PROCESS_FRAMES.match(stack)
        first = FIRST_PROCESS.match(stack)
        if process is not None and first is not None:
            stack = stack[process.end() :]
            if not stack:
                continue
            processes[process[1]] = processes.get(process[1], 0) + count
            supervisor = first[1]
        total += count
        frames = [f for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        for where_key in where_sampled(frames):
            sampled[where_key] = sampled.get(where_key, 0) + count
        name, path = _frame_parts(frames[-1])
        key = f"{name} ({Path(path).name})"
        leaf[key] = leaf.get(key, 0) + count
        layers[_layer(path)] = layers.get(_layer(path), 0) + count
        seen: set[str] = set()
        for frame in frames:
            name, path = _frame_parts(frame)
            project = _project_path(path)
            if project is None:
                continue
            key = f"{project}:{name}"
            if key not in seen:
                seen.add(key)
                inclusive[key] = inclusive.get(key, 0) + count

    def top(counts: dict[str, int], n: int) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda item: -item[1])[:n]
        return [(key, 100 * value / max(total, 1)) for key, value in ranked]

    return {
        "samples": total,
        "layers": top(layers, 12),
        "leaf": top(leaf, 12),
        "inclusive": top(inclusive, 18),
        "where_sampled": {key: 100 * value / max(total, 1) for key, value in sampled.items()},
        # Each process's role and share of the samples, largest first (empty for one process).
        "processes": [
            ("supervisor" if pid == supervisor else "worker", share)
            for pid, share in top(processes, len(processes))
        ],
    }
