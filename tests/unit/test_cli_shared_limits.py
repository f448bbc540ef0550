"""`bookpay serve --workers N` (and `run`) with the per-client limits kept in each worker's
memory would count each address N times over: one address took all 10 seats of a slot
(5 from each of two workers), and the per-minute limits and the failed-authentication
lockout were multiplied by N. So several workers need BOOKPAY_REDIS_URL, or those limits
switched off (README, "Hard edges")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from entrypoints import cli
from tests.support.workers import free_port

# Starts `bookpay serve` processes, as the other many-process tests (marked slow) do.
pytestmark = pytest.mark.slow

BOOKPAY = Path(sys.executable).parent / "bookpay"
PER_CLIENT_LIMITS_OFF = {
    "BOOKPAY_CHECKOUT_LIMIT_PER_MINUTE": "0",
    "BOOKPAY_AUTH_FAILURES_PER_MINUTE": "0",
    "BOOKPAY_HELD_SEATS_PER_CLIENT_PER_HOUR": "0",
    "BOOKPAY_SLOT_SHARE_PER_CLIENT": "false",
}


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKPAY_")}
    env["BOOKPAY_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'bookpay.db'}"
    return {**env, **extra}


def test_several_workers_without_a_shared_limit_store_refuse_to_start(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(BOOKPAY), "serve", "--workers", "4", "--port", str(free_port())],
        env=_environment(tmp_path),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a server that did start is stopped with its workers
    )
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()

    assert process.returncode == 1, stdout + stderr
    said = stderr.strip()
    assert len(said.splitlines()) == 1, said
    assert said.startswith("bookpay: ")
    assert "set BOOKPAY_REDIS_URL" in said
    assert "BOOKPAY_SLOT_SHARE_PER_CLIENT" in said  # which limits are counted per worker
    assert "Traceback" not in stderr
    # Refused before anything is served or migrated.
    assert stdout == ""
    assert not (tmp_path / "var" / "bookpay.db").exists()


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """What `bookpay serve`/`run` went on to serve ("one" or "workers"); nothing listens.
    The commands write to the environment (for their workers): put back as it was."""
    saved = dict(os.environ)
    started: list[str] = []
    monkeypatch.setattr(cli, "_serve_workers", lambda config: started.append("workers"))
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: started.append("one"))
    monkeypatch.setattr(cli, "cmd_demo", lambda args: started.append("demo"))
    monkeypatch.setattr(cli, "ADMIN_KEY_FILE", tmp_path / "admin-key")
    monkeypatch.setattr(cli, "prepare_shared_metrics", lambda: tmp_path)
    for name in [name for name in os.environ if name.startswith("BOOKPAY_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("BOOKPAY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    yield started
    os.environ.clear()
    os.environ.update(saved)


def _set(monkeypatch: pytest.MonkeyPatch, settings: dict[str, str]) -> None:
    for name, value in settings.items():
        monkeypatch.setenv(name, value)


def test_several_workers_start_with_redis_shared_by_every_worker(
    served: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOOKPAY_REDIS_URL", "redis://127.0.0.1:6379/0")

    cli.main(["serve", "--workers", "2"])

    assert served == ["workers"]


def test_several_workers_start_with_every_per_client_limit_switched_off(
    served: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _set(monkeypatch, PER_CLIENT_LIMITS_OFF)

    cli.main(["serve", "--workers", "2"])

    assert served == ["workers"]


@pytest.mark.parametrize("left_on", sorted(PER_CLIENT_LIMITS_OFF))
def test_one_limit_left_on_is_enough_to_refuse(
    served: list[str], monkeypatch: pytest.MonkeyPatch, left_on: str, capsys: Any
) -> None:
    _set(monkeypatch, {k: v for k, v in PER_CLIENT_LIMITS_OFF.items() if k != left_on})

    with pytest.raises(SystemExit) as refused:
        cli.main(["serve", "--workers", "2"])

    assert left_on in str(refused.value.code)
    assert "BOOKPAY_REDIS_URL" in str(refused.value.code)
    assert served == []


def test_one_worker_keeps_its_limits_in_memory(served: list[str]) -> None:
    cli.main(["serve"])

    assert served == ["one"]


def test_run_with_several_workers_refuses_before_seeding_the_demo(
    served: list[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["run", "--workers", "2"])

    assert "BOOKPAY_REDIS_URL" in str(refused.value.code)
    assert served == []


def test_the_benchmarks_two_worker_servers_may_start(
    served: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """bench/configs.py serves `bookpay serve --workers 2` with bench/servers.py's settings
    (all the load comes from one address, so its per-client limits are off)."""
    from bench.servers import server_env

    bench = server_env("sqlite+aiosqlite://", 1)
    _set(monkeypatch, {k: v for k, v in bench.items() if k.startswith("BOOKPAY_")})
    monkeypatch.setenv("BOOKPAY_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")

    cli.main(["serve", "--workers", "2"])

    assert served == ["workers"]
