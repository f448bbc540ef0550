"""SQLite's one writer, taken in turn by the processes that share a database file.

Every transaction here starts with BEGIN IMMEDIATE, SQLite's write lock. A process that
finds it taken waits in SQLite's busy handler, which polls with sleeps growing to 100 ms;
the process holding the lock begins its next transaction long before the sleeper looks
again. With two workers on one file, one of them took nearly every transaction while the
other's requests waited (issue 19; the per-process figures are in bench/findings.md).

So before BEGIN IMMEDIATE a connection takes a kernel lock (`flock`) on a file beside the
database, `<database>-writer.lock`, and keeps it until it goes back to the pool. A process
that finds it taken waits for it in a thread (the event loop keeps serving), blocked in
the kernel, which wakes it as soon as the holder lets go: the waiter gets the next turn,
and the writes spread over the workers. SQLite's own lock is still what keeps the data
safe; this only decides who asks for it next. A wait longer than `timeout` seconds gives
up with "database is locked", the same error SQLite's busy timeout gives (503 at the API).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
from typing import Any

import sqlalchemy.exc
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

_TURN = "bookpay_writer_turn"  # key of the held lock's descriptor in the pool entry's info


class WriterTurns:
    """Turns at SQLite's write lock for the connections of every process on one file."""

    def __init__(self, lock_path: str, timeout: float) -> None:
        """`lock_path`: the lock file (created when missing); `timeout`: seconds to wait."""
        self._path = lock_path
        self._timeout = timeout

    def attach(self, engine: AsyncEngine) -> None:
        """Take a turn before each BEGIN IMMEDIATE; give it back when the connection is
        returned to the pool (after its COMMIT or ROLLBACK) or dropped."""
        pool_events = engine.sync_engine
        event.listen(pool_events, "checkin", lambda _dbapi, record: self.give_back(record.info))
        event.listen(
            pool_events, "invalidate", lambda _dbapi, record, _exc: self.give_back(record.info)
        )

    def take(self, connection: Connection) -> None:
        """Wait for this connection's turn (from inside SQLAlchemy's async greenlet); a
        connection that already holds it (a second transaction before going back to the
        pool) keeps it. OperationalError ("database is locked") after the timeout."""
        info = connection.info
        if _TURN in info:
            return
        gate = self._open(".gate")
        try:
            turn = self._open("")
        except BaseException:
            os.close(gate)
            raise
        try:
            gate_held = _try_lock(gate)
            took = gate_held and _try_lock(turn)
        except BaseException:
            _close_quietly(gate, turn)
            raise
        if took:
            os.close(gate)
        else:
            self._wait(gate, turn, gate_held)  # closes both itself when it fails
        info[_TURN] = turn

    def give_back(self, info: dict[Any, Any]) -> None:
        descriptor = info.pop(_TURN, None)
        if descriptor is not None:
            os.close(descriptor)  # closing the descriptor releases its flock

    def _open(self, suffix: str) -> int:
        return os.open(self._path + suffix, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def _wait(self, gate: int, turn: int, gate_held: bool) -> None:
        """Queue at the gate, then wait for the turn, in a thread.

        The kernel does not hand a released flock to a waiter: it wakes the waiter, who
        asks again, and the process that just let go may ask first (on a busy machine it
        usually does). Hence two locks: a writer waiting for the turn holds the gate, so the
        process that just had its turn first waits at the gate, behind it.
        """
        handover = threading.Lock()
        state = {"taken": False, "abandoned": False}

        def wait_in_kernel() -> None:
            if not gate_held:
                fcntl.flock(gate, fcntl.LOCK_EX)
            fcntl.flock(turn, fcntl.LOCK_EX)
            with handover:
                os.close(gate)  # the next writer may queue now
                if state["abandoned"]:  # the requester gave up: pass the turn on
                    os.close(turn)
                else:
                    state["taken"] = True

        waiting = asyncio.get_running_loop().run_in_executor(None, wait_in_kernel)
        try:
            await_only(asyncio.wait_for(asyncio.shield(waiting), self._timeout))
        except BaseException as error:  # timed out or cancelled
            with handover:
                taken = state["taken"]
                state["abandoned"] = not taken
            if taken and isinstance(error, TimeoutError):
                return  # the turn came at the last moment
            if taken:
                os.close(turn)
            # Otherwise the waiting thread closes both once it has them.
            if isinstance(error, TimeoutError):
                raise sqlalchemy.exc.OperationalError(
                    "BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked")
                ) from None
            raise


def _try_lock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _close_quietly(*descriptors: int) -> None:
    for descriptor in descriptors:
        with contextlib.suppress(OSError):
            os.close(descriptor)
