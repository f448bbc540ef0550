"""Where py-spy's samples of `bookpay serve` fall (bench/profile_summary.py, where_sampled), read
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

from bench import profile_summary, report_profiles
from bench.common import ROOT

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
    found = profile_summary.summarize_profile(_recorded("uvloop_sqlite_checkout.txt", tmp_path))
    assert found["samples"] == 792
    shares = found["where_sampled"]
    assert shares["event_loop_wait"] == pytest.approx(100 * 314 / 792)
    assert shares["aiosqlite_thread"] == pytest.approx(100 * (441 + 10 + 7) / 792)
    assert shares["aiosqlite_waiting"] == pytest.approx(100 * 441 / 792)


def test_under_asyncio_the_loops_wait_is_its_selectors_select(tmp_path: Path) -> None:
    found = profile_summary.summarize_profile(_recorded("asyncio_aiosqlite_inserts.txt", tmp_path))
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
    assert profile_summary.where_sampled([runner]) == ["event_loop_wait"]
    assert profile_summary.where_sampled([runner, step]) == []
    # A function of that name elsewhere is not asyncio.run's.
    assert profile_summary.where_sampled(["run (/srv/app/jobs.py:3)"]) == []


def test_the_profile_prints_the_loops_wait_and_the_threads_two_shares(
    tmp_path: Path,
) -> None:
    prof = profile_summary.summarize_profile(_recorded("uvloop_sqlite_checkout.txt", tmp_path))
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


def _two_workers_raw() -> str:
    """py-spy --subprocesses over `bookpay serve --workers 2`: each stack rooted in its
    processes, the workers' command lines holding a ';' (multiprocessing's spawn)."""
    python = "/srv/bookpay/.venv/bin/python"
    supervisor = f'process 10:"{python} /srv/bookpay/.venv/bin/bookpay serve --workers 2"'
    spawn = "from multiprocessing.spawn import spawn_main; spawn_main(tracker_fd=5, pipe_handle=7)"

    def worker(pid: int) -> str:
        return f'{supervisor};process {pid}:"{python} -B -c {spawn} --multiprocessing-fork"'

    started = "<module> (<string>:1);spawn_main (/usr/lib/python3.11/multiprocessing/spawn.py:122)"
    runner = "Runner.run (/usr/lib/python3.11/asyncio/runners.py:118)"
    handler = f"receive ({ROOT}/entrypoints/http/webhooks.py:40)"
    main = f"main ({ROOT}/entrypoints/cli.py:386)"
    return "\n".join(
        (
            f"{worker(11)};{started};{runner} 30",
            f"{worker(12)};{started};{runner} 20",
            f"{worker(11)};{started};{runner};{handler} 25",
            f"{worker(12)};{started};{runner};{handler} 15",
            f"{supervisor};<module> (/srv/bookpay/.venv/bin/bookpay:8);{main} 10",
            # A worker sampled with no Python frame: left out, as without --subprocesses.
            f"{worker(12)} 7",
        )
    )


def test_a_profile_of_two_workers_sums_their_samples_without_the_process_frames() -> None:
    found = profile_summary.summarize_profile(_two_workers_raw())
    assert found["samples"] == 100
    assert found["processes"] == [("worker", 55.0), ("worker", 35.0), ("supervisor", 10.0)]
    assert found["where_sampled"] == {"event_loop_wait": 50.0}
    assert dict(found["inclusive"]) == {
        "entrypoints/http/webhooks.py:receive": 40.0,
        "entrypoints/cli.py:main": 10.0,
    }
    assert dict(found["leaf"]) == {
        "Runner.run (runners.py)": 50.0,
        "receive (webhooks.py)": 40.0,
        "main (cli.py)": 10.0,
    }
    out: list[str] = []
    report_profiles.profiles(out, {"webhooks (postgres, workers 2)": found})
    assert any(
        "100 samples, summed over the 3 processes py-spy kept samples of (worker 55 %, "
        "worker 35 %, uvicorn's supervisor 10 %)" in line
        for line in out
    )
    # One process (no --subprocesses): no process frame, no shares by process.
    one = profile_summary.summarize_profile("<module> (/srv/bookpay/.venv/bin/bookpay:8) 5")
    assert one["processes"] == []
