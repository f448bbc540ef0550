"""The profiles section of docs/benchmarks.md: each py-spy profile (bench/profiling.py) by
layer and function, with the configuration and load it was taken under."""

from __future__ import annotations

from typing import Any

from bench.report_sections import Lines, profile_title


def profiles(out: Lines, profiles: dict[str, dict[str, Any]]) -> None:
    add = out.append
    if profiles:
        add("## Profiles (py-spy)\n")
        add(
            "Sampled at 200 Hz over the server while it takes each load (its warm-up "
            "included); each profile names its configuration and load. Only the loads "
            "whose targets this run missed are profiled (a met target needs no "
            "explaining; bench/profile_choice.py): on one worker of the configuration that "
            "missed (each over 3 s of its load, those under latency over the figure's own); a "
            "two-worker miss links its "
            "database's one-worker profile of the same load (the same code per request; "
            "its costs section splits the CPU by worker); a storm's miss, the storm's "
            "load (applied in the request, or in queue mode unpaced, its worker draining "
            "beside the acknowledgements) over uvicorn's supervisor and both workers "
            "(`--subprocesses`) on its "
            "64 connections: their samples are summed over the processes, so every share "
            "below, the event loop's waits and aiosqlite's threads included, is of both "
            "workers together (the profile gives each process's share of its samples); "
            "the costs sections give each figure's CPU per request, by worker, PostgreSQL "
            "and the load generator, and the machine's idle cores. Shares are of the "
            "samples py-spy kept as running (without `--idle`); it keeps some in which a "
            "thread waits, catching a thread woken hundreds of times a second runnable, so "
            "each profile counts apart the event loop's waits and those of aiosqlite's "
            "threads for their next statement. SQLAlchemy's "
            "async layer runs each database call inside a greenlet, and py-spy shows only "
            "that greenlet's frames, so the inclusive shares of Bookpay functions that "
            "reach the database are lower bounds (which is also why `cli.py:main` is not "
            "at 100 %).\n"
        )
        for scenario, prof in profiles.items():
            add(f"### {profile_title(scenario)}\n")
            add(f"{_profiled_load(prof)}; {prof['samples']:,} samples{_by_process(prof)}.\n")
            threads = where_sampled(prof)
            if threads:
                add(threads + "\n")
            add("By layer (where the sampled frame was):\n")
            add("| layer | share |")
            add("| --- | ---: |")
            for key, share in prof["layers"]:
                add(f"| {key} | {share:.0f} % |")
            add("\nBookpay functions, inclusive (the function or anything it called):\n")
            add("| function | share |")
            add("| --- | ---: |")
            for key, share in prof["inclusive"]:
                add(f"| `{key}` | {share:.0f} % |")
            add("\nHottest leaf functions:\n")
            add("| function | share |")
            add("| --- | ---: |")
            for key, share in prof["leaf"]:
                add(f"| `{key}` | {share:.1f} % |")
            add("")


def where_sampled(prof: dict[str, Any]) -> str:
    """The samples in which the event loop waited, and those in aiosqlite's connection
    threads, waiting for their next statement or running one (bench/profile_summary.py,
    where_sampled), when the profile has any of them."""
    found = prof.get("where_sampled") or {}
    thread = float(found.get("aiosqlite_thread", 0.0))
    waiting = min(float(found.get("aiosqlite_waiting", 0.0)), thread)
    loop = float(found.get("event_loop_wait", 0.0))
    if thread <= 0 and loop <= 0:
        return ""
    text = (
        f"Of the samples, {loop:.0f} % were the event loop waiting for a socket or a "
        "thread's answer (asyncio's `select`; under uvloop, no Python frame above "
        "`Runner.run`: its C loop, which native stacks show in libuv's `epoll_pwait`)"
    )
    if thread <= 0:
        return text + "."
    return (
        f"{text}; {thread:.0f} % in aiosqlite's connection threads: {waiting:.0f} % "
        f"waiting at `tx.get()` for their next statement and {thread - waiting:.0f} % "
        "running one (SQLite's C library, off the event loop) or handing its answer back."
    )


def _by_process(prof: dict[str, Any]) -> str:
    """Each process's share of a profile's samples, when py-spy followed several."""
    shares = prof.get("processes") or []
    if len(shares) < 2:
        return ""
    roles = {"supervisor": "uvicorn's supervisor"}
    each = ", ".join(f"{roles.get(role, role)} {float(share):.0f} %" for role, share in shares)
    return f", summed over the {len(shares)} processes py-spy kept samples of ({each})"


def _profiled_load(prof: dict[str, Any]) -> str:
    """The configuration and load of one profile, from what bench/profiling.py recorded."""
    where = prof.get("where", "configuration not recorded")
    connections = prof.get("connections")
    load = f"{connections} connections" if connections else "connections not recorded"
    latency = prof.get("latency_ms")
    if latency:
        p50, p99 = latency
        return (
            f"{where}, the checkout under the fake Stripe's latency (p50 {p50} ms, p99 "
            f"{p99} ms) with {connections} customers"
        )
    seconds = prof.get("seconds")
    return f"{where}, {load}" + (f", {float(seconds):g} s" if seconds else "")
