"""Run a PDF job in a child process with an address-space limit and a wall-clock timeout.

Why a child process: a hostile or merely huge PDF can make pdfminer or pdfium run for minutes,
allocate gigabytes or crash in C code. Only a separate process lets the caller enforce a memory
ceiling (``resource.RLIMIT_AS``), kill a job that runs too long, and survive a segfault, and then
record a clear status instead of hanging or dying itself.

The job function and its arguments cross a process boundary, so they must be picklable: pass a
function defined at module level (this works with the 'fork', 'forkserver' and 'spawn' start
methods). Results come back through a pipe; the child also reports its own peak RSS.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import resource
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["JobOutcome", "PdfJobError", "run_job", "run_limited", "run_many"]

JobStatus = Literal["timeout", "memory", "crashed"]
# Signals with which a C library typically dies when an allocation fails under RLIMIT_AS.
_ALLOC_FAILURE_SIGNALS = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGTRAP}


class PdfJobError(RuntimeError):
    """A job did not return a result: ``status`` is "timeout", "memory" or "crashed"."""

    def __init__(self, status: JobStatus, message: str, detail: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status: JobStatus = status
        self.message = message
        self.detail = detail  # the child's traceback, when there was one

    def __reduce__(self) -> tuple[Any, ...]:
        return (PdfJobError, (self.status, self.message, self.detail))


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a finished job returned, with what it cost (peak RSS as measured by the child)."""

    value: Any
    peak_rss_mb: float
    seconds: float


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def _child_main(conn: Any, fn: Callable[..., Any], args: tuple[Any, ...],
                kwargs: dict[str, Any], memory_bytes: int | None) -> None:
    """Entry point of the child: set the limit, run ``fn``, send back one message."""
    started = time.monotonic()
    try:
        if memory_bytes:
            _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            cap = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
            resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
        value = fn(*args, **kwargs)
        message: tuple[Any, ...] = ("ok", value, _peak_rss_mb(), time.monotonic() - started)
    except MemoryError:
        message = ("memory", "MemoryError in the job", None)
    except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
        message = ("error", f"{type(exc).__name__}: {exc}", traceback.format_exc())
    try:
        conn.send(message)
    except MemoryError:
        conn.send(("memory", "MemoryError while sending the result", None))
    except Exception as exc:  # e.g. an unpicklable result
        conn.send(("error", f"could not send the result: {type(exc).__name__}: {exc}", None))
    finally:
        conn.close()


class _Running:
    """One started child: its process, the read end of its pipe and its deadline."""

    def __init__(self, ctx: Any, fn: Callable[..., Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any], timeout_s: float | None, memory_mb: float | None) -> None:
        self.label = getattr(fn, "__qualname__", repr(fn))
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.conn, child_conn = ctx.Pipe(duplex=False)
        memory_bytes = int(memory_mb * 1024 * 1024) if memory_mb else None
        self.proc = ctx.Process(target=_child_main, args=(child_conn, fn, args, kwargs,
                                                          memory_bytes), daemon=True)
        self.started = time.monotonic()
        self.proc.start()
        child_conn.close()
        self.deadline = None if timeout_s is None else self.started + timeout_s

    def kill(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join()
        self.conn.close()

    def timed_out(self) -> PdfJobError:
        self.kill()
        return PdfJobError("timeout", f"{self.label} did not finish within {self.timeout_s:g} s "
                                      "and was killed")

    def collect(self) -> JobOutcome | PdfJobError:
        """Read the child's message (the pipe is readable or at EOF) and reap the child."""
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            message = None
        self.proc.join(10)
        self.kill()
        if message is None:
            return self._died()
        kind = message[0]
        if kind == "ok":
            return JobOutcome(value=message[1], peak_rss_mb=message[2], seconds=message[3])
        limit = f" (limit {self.memory_mb:g} MB)" if self.memory_mb else ""
        if kind == "memory":
            return PdfJobError("memory", f"{self.label}: {message[1]}{limit}")
        return PdfJobError("crashed", f"{self.label} raised {message[1]}", detail=message[2])

    def _died(self) -> PdfJobError:
        code = self.proc.exitcode
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = ""
            if self.memory_mb and -code in _ALLOC_FAILURE_SIGNALS:
                hint = (f"; a native library may have failed to allocate under the "
                        f"{self.memory_mb:g} MB address-space limit")
            return PdfJobError("crashed", f"{self.label}: child process died with {name}{hint}")
        return PdfJobError("crashed", f"{self.label}: child process exited with code {code} "
                                      "without a result")


def _context(start_method: str | None) -> Any:
    return multiprocessing.get_context(start_method)


def run_job(fn: Callable[..., Any], *args: Any, timeout_s: float | None, memory_mb: float | None,
            start_method: str | None = None, **kwargs: Any) -> JobOutcome:
    """Run ``fn(*args, **kwargs)`` in a child process; return its value with its peak RSS.

    Raises PdfJobError("timeout") when the wall-clock limit passes (the child is killed),
    PdfJobError("memory") when the job ran out of its ``memory_mb`` address space, and
    PdfJobError("crashed") when it raised or died (message names the exception or signal).
    ``None`` for a limit means no limit.
    """
    job = _Running(_context(start_method), fn, args, kwargs, timeout_s, memory_mb)
    remaining = None if job.deadline is None else max(0.0, job.deadline - time.monotonic())
    if not job.conn.poll(remaining):
        raise job.timed_out()
    result = job.collect()
    if isinstance(result, PdfJobError):
        raise result
    return result


def run_limited(fn: Callable[..., Any], *args: Any, timeout_s: float | None,
                memory_mb: float | None, start_method: str | None = None, **kwargs: Any) -> Any:
    """``run_job`` returning just the value (raises PdfJobError like it)."""
    return run_job(fn, *args, timeout_s=timeout_s, memory_mb=memory_mb,
                   start_method=start_method, **kwargs).value


def run_many(fn: Callable[..., Any], arg_tuples: Sequence[tuple[Any, ...]], *, workers: int,
             timeout_s: float | None, memory_mb: float | None, start_method: str | None = None,
             on_done: Callable[[int, JobOutcome | PdfJobError], None] | None = None,
             ) -> list[JobOutcome | PdfJobError]:
    """Run ``fn(*args)`` for each tuple, at most ``workers`` children at a time, each limited.

    Returns one JobOutcome or PdfJobError per input, in input order (a failed job never stops the
    others). ``on_done(index, outcome)`` is called in the parent as each job finishes. No threads
    are used, so forking stays safe.
    """
    ctx = _context(start_method)
    results: list[JobOutcome | PdfJobError | None] = [None] * len(arg_tuples)
    pending = list(range(len(arg_tuples)))
    pending.reverse()
    running: dict[int, _Running] = {}

    def finish(index: int, outcome: JobOutcome | PdfJobError) -> None:
        results[index] = outcome
        if on_done is not None:
            on_done(index, outcome)

    try:
        while pending or running:
            while pending and len(running) < max(1, workers):
                index = pending.pop()
                running[index] = _Running(ctx, fn, tuple(arg_tuples[index]), {}, timeout_s,
                                          memory_mb)
            deadlines = [j.deadline for j in running.values() if j.deadline is not None]
            wait_s = None
            if deadlines:
                wait_s = max(0.0, min(deadlines) - time.monotonic())
            by_conn = {job.conn: index for index, job in running.items()}
            ready = multiprocessing.connection.wait(list(by_conn), timeout=wait_s)
            for conn in ready:
                index = by_conn[conn]
                finish(index, running.pop(index).collect())
            now = time.monotonic()
            for index in [i for i, j in running.items()
                          if j.deadline is not None and j.deadline <= now]:
                finish(index, running.pop(index).timed_out())
    finally:
        for job in running.values():  # only on an exception in the parent
            job.kill()
    return [r for r in results if r is not None]

