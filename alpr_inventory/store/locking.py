"""Several commands on one database: one writer at a time, and runs that died are found.

Every command that writes (import, crawl, reparse, the schema on first open) takes the
database's write lock around each of its write transactions, so two imports, or an import and
a crawl, run alongside each other: each parses on its own and they take turns to write. A
process that has to wait says so on stderr, with who holds the lock. SQLite's own busy timeout
stays as a second line for writers that do not use this lock.

Each running run also holds a lock of its own. When a command opens the database, a run still
marked ``running`` whose lock nobody holds belongs to a process that died (killed, crashed,
machine restarted): it is marked ``interrupted``.

The locks are POSIX record locks (``fcntl.lockf``) on ``<database>-lock`` beside the database:
byte 0 is the write lock (byte 1 the turnstile in front of it), byte ``RUN_BYTE + run id`` a
run's. The kernel drops them when their
process dies, however it dies, and forked children (parser workers) do not inherit them. A
process opens the lock file once and never closes it (closing any descriptor of a file drops
the process's locks on it), hence the per-process registry; the descriptor is closed when
nothing in the process uses the lock any more (a Store holds it for its lifetime).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

__all__ = ["DatabaseLock", "lock_path_for"]

RUN_BYTE = 1 << 20  # run locks start here (the write lock is byte 0; holder info at 64..)
_TURNSTILE = 1
_INFO_AT = 64
# one lock object per file and process while anything uses it (its descriptor is closed when
# nothing does: a long-lived process that opens many databases keeps no descriptor for each)
_registry: weakref.WeakValueDictionary[str, DatabaseLock] = weakref.WeakValueDictionary()
_registry_guard = threading.Lock()


def lock_path_for(db_path: str | os.PathLike[str]) -> Path:
    return Path(f"{Path(db_path).resolve()}-lock")


def _say(message: str) -> None:
    print(f"alpr-inventory: {message}", file=sys.stderr, flush=True)


class DatabaseLock:
    """The write lock and run locks of one database file, shared by everything in a process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        try:
            self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only place: readers still work, writers are unguarded
            _say(f"cannot create the lock file {path} ({exc.strerror}): "
                 "concurrent writers are not coordinated")
        self._thread_lock = threading.RLock()
        self._depth = 0
        self.runs: set[int] = set()  # runs this process holds

    def __del__(self) -> None:
        # nothing refers to this lock any more: no run or write of this process holds it
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    @classmethod
    def for_path(cls, db_path: str | os.PathLike[str]) -> DatabaseLock | None:
        if str(db_path) in ("", ":memory:"):
            return None
        path = lock_path_for(db_path)
        with _registry_guard:
            lock = _registry.get(str(path))
            if lock is None:
                lock = _registry[str(path)] = cls(path)
            return lock

    @classmethod
    def for_connection(cls, conn: object) -> DatabaseLock | None:
        """The lock of the main database of an sqlite3 connection (None in memory)."""
        rows = conn.execute("pragma database_list").fetchall()  # type: ignore[attr-defined]
        main = next((r[2] for r in rows if r[1] == "main"), "")
        return cls.for_path(main) if main else None

    # ---- the write lock -------------------------------------------------------------------
    def _holder(self) -> str:
        if self.fd is None:
            return "another process"
        with contextlib.suppress(OSError, ValueError):
            raw = os.pread(self.fd, 512, _INFO_AT).split(b"\0", 1)[0]
            info = json.loads(raw.decode())
            return (f"pid {info['pid']} on {info['host']} ({info['what']}, writing since "
                    f"{info['since']})")
        return "another process"

    @contextlib.contextmanager
    def writing(self, what: str = "write") -> Iterator[None]:
        """Hold the write lock (re-entrant within the process). Waits, saying so, while another
        process holds it."""
        with self._thread_lock:
            if self._depth == 0 and self.fd is not None:
                self._acquire(what)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self.fd is not None:
                    fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, 0)

    def _acquire(self, what: str) -> None:
        """Take the write lock through a turnstile (byte 1): a process that waits holds the
        turnstile, so a writer that lets go of the lock between two documents cannot take it
        back before the waiting one has had its turn (writers alternate)."""
        assert self.fd is not None
        started: float | None = None

        def wait(offset: int) -> None:
            nonlocal started
            try:
                fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                return
            except OSError:
                pass
            if started is None:
                started = time.monotonic()
                _say(f"waiting for the database {self.path.name[:-5]}: {self._holder()} is "
                     "writing to it; this command goes on when it is done")
            fcntl.lockf(self.fd, fcntl.LOCK_EX, 1, offset)

        wait(_TURNSTILE)
        try:
            wait(0)
        finally:
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, _TURNSTILE)
        if started is not None:
            _say(f"the database is free after {time.monotonic() - started:.1f} s: going on")
        info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                           "since": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode()
        with contextlib.suppress(OSError):
            os.pwrite(self.fd, info.ljust(448, b"\0"), _INFO_AT)

    # ---- run locks ------------------------------------------------------------------------
    def hold_run(self, run_id: int) -> None:
        """Mark run ``run_id`` as alive for as long as this process lives (or release_run)."""
        if self.fd is not None:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, RUN_BYTE + run_id)
        self.runs.add(run_id)

    def release_run(self, run_id: int) -> None:
        if self.fd is not None and run_id in self.runs:
            fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, RUN_BYTE + run_id)
        self.runs.discard(run_id)

    def run_alive(self, run_id: int) -> bool:
        """Whether some process still holds the run (always True without a lock file: then
        nothing can be known)."""
        if run_id in self.runs or self.fd is None:
            return True
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, RUN_BYTE + run_id)
        except OSError:
            return True
        fcntl.lockf(self.fd, fcntl.LOCK_UN, 1, RUN_BYTE + run_id)
        return False
