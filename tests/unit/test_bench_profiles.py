"""Where py-spy's samples of `bookpay serve` fall (bench/profiling.py, where_sampled), read
from recorded py-spy output (`record --format raw --nonblocking --full-filenames`, as the
bench records it; each file keeps the ten heaviest stacks of one recording):

- uvloop_sqlite_checkout.txt: the SQLite 1-worker checkout under uvloop (`bookpay
  serve`'s loop), 1 December 2026;
- asyncio_aiosqlite_inserts.txt: eight coroutines inserting through one aiosqlite
  connection under asyncio's own loop.

aiosqlite's core.py is replaced by a file with its two lines that matter at their recorded
line numbers (aiosqlite 0.22.1: 59 `tx.get()`, 63 `function()`), so that the tests do not
depend on the installed version's line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import profiling, report_profiles

RECORDED = Path(__file__).parent / "bench_profiles"


def _recorded(name: str, tmp_path: Path) -> str:
    lines = ["\n"] * 70
    lines[58] = "        future, function = tx.get()\n"
    lines[62] = "            result = function()\n"
    lines[65] = "                future.get_loop().call_soon_threadsafe(set_result, future)\n"
    core = tmp_path / "aiosqlite" / "core.py"
    core.parent.mkdir()
    core.write_text("".join(lines))
    return (RECORDED / name).read_text().replace("{aiosqlite_core}", str(core))


def test_under_uvloop_the_loops_wait_is_the_stack_ending_at_runner_run(
    tmp_path: Path,
) -> None:
    found = profiling.summarize_profile(_recorded("uvloop_sqlite_checkout.txt", tmp_path))
    assert found["samples"] == 792
    shares = found["where_sampled"]
    assert shares["event_loop_wait"] == pytest.approx(100 * 314 / 792)
    assert shares["aiosqlite_thread"] == pytest.approx(100 * (441 + 10 + 7) / 792)
    assert shares["aiosqlite_waiting"] == pytest.approx(100 * 441 / 792)


def test_under_asyncio_the_loops_wait_is_its_selectors_select(tmp_path: Path) -> None:
    found = profiling.summarize_profile(_recorded("asyncio_aiosqlite_inserts.txt", tmp_path))
    assert found["samples"] == 277
    shares = found["where_sampled"]
    assert shares["event_loop_wait"] == pytest.approx(100 * 29 / 277)
    # The thread's samples: running a statement (218), waiting (6), and handing answers
    # back through asyncio's call_soon_threadsafe (`_write_to_self`: 17 and 1).
    assert shares["aiosqlite_thread"] == pytest.approx(100 * (218 + 6 + 17 + 1) / 277)
    assert shares["aiosqlite_waiting"] == pytest.approx(100 * 6 / 277)


def test_a_frame_inside_asyncio_run_is_not_the_loop_waiting() -> None:
    runner = "Runner.run (/usr/lib/python3.11/asyncio/runners.py:118)"
    step = "Task.__step (/usr/lib/python3.11/asyncio/tasks.py:267)"
    assert profiling.where_sampled([runner]) == ["event_loop_wait"]
    assert profiling.where_sampled([runner, step]) == []
    # A function of that name elsewhere is not asyncio.run's.
    assert profiling.where_sampled(["run (/srv/app/jobs.py:3)"]) == []


def test_the_profile_prints_the_loops_wait_and_the_threads_two_shares(
    tmp_path: Path,
) -> None:
    prof = profiling.summarize_profile(_recorded("uvloop_sqlite_checkout.txt", tmp_path))
    assert report_profiles.where_sampled(prof) == (
        "Of the samples, 40 % were the event loop waiting for a socket or a thread's answer "
        "(asyncio's `select`; under uvloop, no Python frame above `Runner.run`: its C loop, "
        "which native stacks show in libuv's `epoll_pwait`); 58 % in aiosqlite's "
        "connection threads: 56 % waiting at `tx.get()` for their next statement and 2 % "
        "running one (SQLite's C library, off the event loop) or handing its answer back."
    )
    assert report_profiles.where_sampled({"where_sampled": {"event_loop_wait": 12.0}}) == (
        "Of the samples, 12 % were the event loop waiting for a socket or a thread's answer "
        "(asyncio's `select`; under uvloop, no Python frame above `Runner.run`: its C loop, "
        "which native stacks show in libuv's `epoll_pwait`)."
    )
    assert report_profiles.where_sampled({"where_sampled": {}}) == ""
