"""Run parser jobs in child processes, each under an address-space limit and a wall clock.

Why a child process: a hostile or merely huge document (a PDF of 30,000 pages, a workbook that
unpacks to gigabytes) can make a parser run for minutes, allocate gigabytes or crash in C code.
Only a separate process lets the caller enforce a memory ceiling (``resource.RLIMIT_AS``), kill
a job that runs too long, and survive a segfault, and then record a clear status instead of
hanging or dying itself. Begun for PDFs (hence the module's name), it now runs every parser:
the ingest path interprets every document in a `WorkerPool`.

Two ways in:

* `run_job` / `run_limited` / `run_many`: one child process per job (PDF pages in chunks, a
  PDF's text layer). The job function and its arguments must be picklable with the 'spawn' and
  'forkserver' start methods (module-level functions); results come back through a pipe.
* `WorkerPool`: long-lived forked workers for many small jobs (one per document), so a page of
  600 KB does not pay for a fork. Each job still has its own deadline; a job that overruns is
  killed with its worker, and a worker whose memory grew past half its budget is replaced.

Limits: ``memory_mb`` is what a job may add to the address space its process started with (a
child forked from a big process inherits its mappings). Children die with their parent
(``PR_SET_PDEATHSIG`` on Linux, a watcher thread elsewhere): a ``kill -9`` of an import never
leaves workers behind (the signal follows the *thread* that forked: start pools from a thread
that lives as long as they do, the main thread). Scratch files go to `scratch_dir` folders
named after their process, and `sweep_scratch` removes those of processes that are gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import fcntl
import multiprocessing
import multiprocessing.connection
import os
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["JobError", "JobOutcome", "PdfJobError", "WorkerPool", "die_with_parent",
           "report_progress", "run_job", "run_limited", "run_many", "scratch_dir",
           "sweep_scratch"]

JobStatus = Literal["timeout", "memory", "crashed"]
# Signals with which a C library typically dies when an allocation fails under RLIMIT_AS.
_ALLOC_FAILURE_SIGNALS = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGTRAP}
_PR_SET_PDEATHSIG = 1
# Pipes to and from a worker hold a whole small document or result (Linux allows 1 MiB
# without privileges): sending a portal page does not stall the loader until the worker has
# been scheduled to read it, nor does a worker wait for the loader to take its answer.
PIPE_BYTES = 1 << 20
SCRATCH_PREFIX = "alpr-"


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make this (child) process die when its parent does: prctl(PR_SET_PDEATHSIG, SIGKILL) on
    Linux, else a thread that watches the parent pid. Exits at once if the parent is already
    gone (it may have died before this call). Also usable as a subprocess preexec_fn."""
    parent = parent_pid if parent_pid is not None else os.getppid()
    armed = False
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if os.getppid() != parent:
        os._exit(1)
    if not armed:
        def watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def _vm_bytes() -> int:
    """This process's address space now (VmSize), 0 when unknown."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _limit_memory(memory_bytes: int | None) -> int:
    """Cap the address space at what the process uses now plus ``memory_bytes``; returns the
    address space at the start (the base the budget is counted from)."""
    base = _vm_bytes()
    if memory_bytes:
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = base + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS,
                           (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    return base


@contextlib.contextmanager
def scratch_dir(kind: str) -> Iterator[Path]:
    """A temporary folder for one job, named after this process (alpr-<kind>-<pid>-...), so
    that a folder left by a killed process can be recognised and removed (sweep_scratch)."""
    path = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{kind}-{os.getpid()}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_scratch(root: str | Path | None = None) -> int:
    """Remove scratch folders whose process is gone (killed mid-job); returns how many."""
    removed = 0
    folder = Path(root or tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in folder.iterdir():
            parts = entry.name.split("-")
            if not entry.name.startswith(SCRATCH_PREFIX) or len(parts) < 4:
                continue
            if parts[2].isdigit() and not _alive(int(parts[2])) and entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    return removed


class PdfJobError(RuntimeError):
    """A job did not return a result: ``status`` is "timeout", "memory" or "crashed".
    (JobError is the same class: the name dates from when only PDFs ran in workers.)"""

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
                kwargs: dict[str, Any], memory_bytes: int | None,
                parent_pid: int | None = None) -> None:
    """Entry point of the child: die with the parent, set the limit, run ``fn``, send back one
    message."""
    started = time.monotonic()
    die_with_parent(parent_pid)
    try:
        _limit_memory(memory_bytes)
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
                                                          memory_bytes, os.getpid()),
                                daemon=True)
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



JobError = PdfJobError

# ---- long-lived workers ----------------------------------------------------------------------
_progress_conn: Any = None  # in a pool worker: where report_progress sends


def report_progress(*values: Any) -> None:
    """From inside a pool job: pass values to the pool's ``on_progress`` in the parent (pages
    parsed so far, ...). Does nothing outside a pool worker."""
    if _progress_conn is not None:
        with contextlib.suppress(OSError, ValueError):
            _progress_conn.send(("progress", None, values, False))


def _worker_loop(jobs: Any, results: Any, fn: Callable[..., Any], memory_bytes: int | None,
                 parent_pid: int) -> None:
    """A pool worker: run jobs until told to stop, the parent goes, or memory grew too much."""
    global _progress_conn
    die_with_parent(parent_pid)
    base = _limit_memory(memory_bytes)
    _progress_conn = results
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        job_id, args = job
        started = time.monotonic()
        retire = False
        try:
            value = fn(*args)
            kind, payload = "ok", (value, _peak_rss_mb(), time.monotonic() - started)
        except MemoryError:
            kind, payload, retire = "memory", ("MemoryError in the job", None), True
        except BaseException as exc:  # noqa: BLE001 - everything is reported to the parent
            kind, payload = "error", (f"{type(exc).__name__}: {exc}", traceback.format_exc())
        # Python rarely gives memory back: a worker that grew by half its budget makes way
        retire = retire or bool(memory_bytes and _vm_bytes() - base > memory_bytes // 2)
        try:
            results.send((kind, job_id, payload, retire))
        except MemoryError:
            results.send(("memory", job_id, ("MemoryError while sending the result", None),
                          True))
            return
        except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable result
            results.send(("error", job_id, (f"could not send the result: {type(exc).__name__}:"
                                            f" {exc}", None), retire))
        if retire:
            return


def _reset_signals() -> None:
    """In a forked worker: no signal handling of the parent's (an event loop's wakeup pipe,
    its SIGCHLD and SIGINT handlers): the worker is stopped by SIGKILL, Ctrl-C or its parent's
    death, and a handler writing to a descriptor closed below would write into whatever file
    gets that number next."""
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGHUP):
        with contextlib.suppress(ValueError, OSError):
            signal.signal(sig, signal.SIG_DFL)


def _close_inherited_fds(keep: set[int]) -> None:
    """In a forked worker: close every descriptor the parent had open (databases, sockets,
    pipes to other programs) but standard streams and ``keep``. A worker holding a copy of a
    pipe keeps its other end from seeing EOF: a browser driver waiting for its stdin to close,
    say, would never exit. (Closing them here drops no lock of the parent's.)"""
    limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    limit = 65536 if limit == resource.RLIM_INFINITY else limit
    start = 3
    for fd in sorted(k for k in keep if k >= 3):
        os.closerange(start, fd)
        start = fd + 1
    os.closerange(start, limit)


def _widen_pipe(fd: int) -> None:
    """PIPE_BYTES of buffer for a pipe, where the system allows it (else its default)."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setsize, PIPE_BYTES)


class _PoolWorker:
    """One forked worker: its pid, the pipe it reads jobs from and the one it answers on."""

    def __init__(self, fn: Callable[..., Any], memory_bytes: int | None,
                 inherited: list[Any]) -> None:
        job_r, self.jobs = multiprocessing.Pipe(duplex=False)
        self.results, result_w = multiprocessing.Pipe(duplex=False)
        for conn in (self.jobs, result_w):
            _widen_pipe(conn.fileno())
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                _reset_signals()
                for conn in (self.jobs, self.results, *inherited):
                    with contextlib.suppress(OSError):
                        conn.close()
                _close_inherited_fds(keep={job_r.fileno(), result_w.fileno()})
                _worker_loop(job_r, result_w, fn, memory_bytes, parent)
            except BaseException:  # noqa: BLE001
                code = 1
            finally:
                os._exit(code)
        job_r.close()
        result_w.close()
        self.pid = pid
        self.job: tuple[int, float | None] | None = None  # (job id, deadline)

    def send(self, job_id: int, args: tuple[Any, ...], timeout_s: float | None) -> None:
        self.job = (job_id, None if timeout_s is None else time.monotonic() + timeout_s)
        self.jobs.send((job_id, args))

    def stop(self, kill: bool = False) -> int | None:
        """End the worker (asking first unless ``kill``); returns its exit status."""
        if not kill:
            with contextlib.suppress(OSError, ValueError):
                self.jobs.send(None)
        status = None
        deadline = time.monotonic() + (0 if kill else 2)
        while True:
            with contextlib.suppress(ChildProcessError):
                pid, status = os.waitpid(self.pid, os.WNOHANG)
                if pid:
                    break
            if kill or time.monotonic() >= deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    _, status = os.waitpid(self.pid, 0)
                break
            time.sleep(0.01)
        for conn in (self.jobs, self.results):
            with contextlib.suppress(OSError):
                conn.close()
        return status


class WorkerPool:
    """Long-lived worker processes (forked) running ``fn(*args)`` jobs, each job under
    ``timeout_s`` seconds and ``memory_mb`` of address space above the worker's start.

    `imap` yields one JobOutcome or PdfJobError per job, in input order, running up to
    ``workers`` jobs at a time and reading ahead at most ``lookahead`` jobs (their arguments
    are kept in memory). A job that overruns is killed with its worker; a job that dies takes
    only its worker; a new worker is forked for the next job. ``on_progress(*values)`` gets
    what jobs pass to `report_progress`. Fork only (the job function is inherited, not
    pickled); the arguments and results are pickled. Use as a context manager or call close().
    """

    def __init__(self, fn: Callable[..., Any], *, workers: int = 1,
                 timeout_s: float | None = None, memory_mb: float | None = None,
                 on_progress: Callable[..., None] | None = None) -> None:
        self.fn = fn
        self.workers = max(1, workers)
        self.timeout_s = timeout_s
        self.memory_mb = memory_mb
        self.memory_bytes = int(memory_mb * 1024 * 1024) if memory_mb else None
        self.on_progress = on_progress
        self.idle: list[_PoolWorker] = []
        self.busy: dict[int, _PoolWorker] = {}  # job id -> worker
        self._next_id = 0
        self._label = getattr(fn, "__qualname__", None) or getattr(
            getattr(fn, "func", None), "__qualname__", repr(fn))

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        for worker in [*self.idle, *self.busy.values()]:
            worker.stop(kill=worker.job is not None)
        self.idle.clear()
        self.busy.clear()

    def run(self, *args: Any) -> JobOutcome | PdfJobError:
        """One job, waited for."""
        return next(self.imap([args]))

    def _spawn(self) -> _PoolWorker:
        others = [c for w in [*self.idle, *self.busy.values()] for c in (w.jobs, w.results)]
        return _PoolWorker(self.fn, self.memory_bytes, others)

    def _dispatch(self, job_id: int, args: tuple[Any, ...]) -> None:
        worker = self.idle.pop() if self.idle else self._spawn()
        try:
            worker.send(job_id, args, self.timeout_s)
        except (OSError, ValueError):  # the idle worker had retired: start a fresh one
            worker.stop(kill=True)
            worker = self._spawn()
            worker.send(job_id, args, self.timeout_s)
        self.busy[job_id] = worker

    def _failed(self, worker: _PoolWorker, status: int | None) -> PdfJobError:
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = f"signal {sig}"
            hint = ""
            if self.memory_mb and sig in _ALLOC_FAILURE_SIGNALS:
                hint = (f"; a native library may have failed to allocate under the "
                        f"{self.memory_mb:g} MB limit")
            return PdfJobError("crashed", f"{self._label}: worker process died with "
                                          f"{name}{hint}")
        code = os.WEXITSTATUS(status) if status is not None else None
        return PdfJobError("crashed", f"{self._label}: worker process exited with code "
                                      f"{code} without a result")

    def _message(self, job_id: int, worker: _PoolWorker) -> JobOutcome | PdfJobError | None:
        """Read one message from a busy worker: None for a progress message."""
        try:
            kind, answer_to, payload, retiring = worker.results.recv()
        except (EOFError, OSError):
            del self.busy[job_id]
            return self._failed(worker, worker.stop(kill=True))
        if kind == "progress":
            if self.on_progress is not None:
                self.on_progress(*payload)
            return None
        if answer_to != job_id:  # cannot happen: abandoned jobs take their worker with them
            return None
        del self.busy[job_id]
        worker.job = None
        if retiring:  # it exits after this answer
            worker.stop()
        else:
            self.idle.append(worker)
        if kind == "ok":
            value, peak, seconds = payload
            return JobOutcome(value=value, peak_rss_mb=peak, seconds=seconds)
        if kind == "memory":
            limit = f" (limit {self.memory_mb:g} MB)" if self.memory_mb else ""
            return PdfJobError("memory", f"{self._label}: {payload[0]}{limit}")
        return PdfJobError("crashed", f"{self._label} raised {payload[0]}", detail=payload[1])

    def imap(self, jobs: Iterable[tuple[Any, ...]],
             lookahead: int | None = None) -> Iterator[JobOutcome | PdfJobError]:
        source = iter(jobs)
        window = self.workers + (self.workers if lookahead is None else max(0, lookahead))
        queued: deque[tuple[int, tuple[Any, ...]]] = deque()
        done: dict[int, JobOutcome | PdfJobError] = {}
        order: deque[int] = deque()  # job ids not yet yielded, in input order
        try:
            yield from self._run(source, window, queued, done, order)
        finally:  # abandoned half way (an error in the caller): no worker keeps an old job
            for job_id in [j for j in order if j in self.busy]:
                self.busy.pop(job_id).stop(kill=True)

    def _run(self, source: Iterator[tuple[Any, ...]], window: int,
             queued: deque[tuple[int, tuple[Any, ...]]],
             done: dict[int, JobOutcome | PdfJobError],
             order: deque[int]) -> Iterator[JobOutcome | PdfJobError]:
        exhausted = False
        while True:
            while not exhausted and len(order) < window:
                try:
                    args = next(source)
                except StopIteration:
                    exhausted = True
                    break
                self._next_id += 1
                queued.append((self._next_id, tuple(args)))
                order.append(self._next_id)
            while queued and len(self.busy) < self.workers:
                self._dispatch(*queued.popleft())
            while order and order[0] in done:
                yield done.pop(order.popleft())
            if not order and exhausted:
                return
            if not self.busy:
                continue
            deadlines = [w.job[1] for w in self.busy.values() if w.job and w.job[1] is not None]
            wait_s = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            by_conn = {w.results: job_id for job_id, w in self.busy.items()}
            for conn in multiprocessing.connection.wait(list(by_conn), timeout=wait_s):
                job_id = by_conn[conn]
                outcome = self._message(job_id, self.busy[job_id])
                if outcome is not None:
                    done[job_id] = outcome
            now = time.monotonic()
            for job_id, worker in list(self.busy.items()):
                if worker.job and worker.job[1] is not None and worker.job[1] <= now:
                    del self.busy[job_id]
                    worker.stop(kill=True)
                    done[job_id] = PdfJobError(
                        "timeout", f"{self._label} did not finish within {self.timeout_s:g} s "
                                   "and was killed")
