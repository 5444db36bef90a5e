"""The parser workers: limits per job, order kept, failures isolated, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parsers.pdf.pdf_worker import (
    JobOutcome,
    PdfJobError,
    WorkerPool,
    report_progress,
    scratch_dir,
    sweep_scratch,
)

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus


def job(kind: str, value: int | float = 0) -> object:
    if kind == "sleep":
        time.sleep(value)
        return value
    if kind == "allocate":
        return len(bytearray(int(value)))
    if kind == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "raise":
        raise ValueError("bad input")
    if kind == "progress":
        for done in range(1, 4):
            report_progress(done, 3)
    return kind


def test_each_job_has_its_limits_and_its_own_outcome_in_order():
    seen: list[tuple[int, int]] = []
    with WorkerPool(job, workers=2, timeout_s=2, memory_mb=256,
                    on_progress=lambda *v: seen.append(v)) as pool:
        outcomes = list(pool.imap([("sleep", 0.2), ("sleep", 30), ("allocate", 2 * 1024**3),
                                   ("die",), ("raise",), ("progress",), ("allocate", 10**6),
                                   ("ok",)]))
    assert [o.status if isinstance(o, PdfJobError) else "ok" for o in outcomes] == [
        "ok", "timeout", "memory", "crashed", "crashed", "ok", "ok", "ok"]
    assert "within 2 s" in outcomes[1].message and "256 MB" in outcomes[2].message
    assert "SIGKILL" in outcomes[3].message and "ValueError: bad input" in outcomes[4].message
    assert [o.value for o in outcomes if isinstance(o, JobOutcome)] == [
        0.2, "progress", 10**6, "ok"]
    assert seen == [(1, 3), (2, 3), (3, 3)]


def span(seconds: float) -> tuple[float, float]:
    started = time.time()
    time.sleep(seconds)
    return started, time.time()


def test_jobs_run_in_parallel():
    with WorkerPool(span, workers=2, timeout_s=60) as pool:
        (a, b) = [o.value for o in pool.imap([(1.0,), (1.0,)])]
    assert b[0] < a[1] and a[0] < b[1]  # the second started before the first ended


def test_workers_die_with_their_parent(tmp_path):
    """kill -9 of the process that owns a pool: its busy worker does not go on."""
    script = tmp_path / "owner.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[3])!r})\n"
        "from parsers.pdf.pdf_worker import WorkerPool\n"
        "def job():\n    time.sleep(120)\n"
        "with WorkerPool(job, workers=1) as pool:\n"
        "    print('started', flush=True)\n    pool.run()\n")
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None and owner.stdout.readline().strip() == "started"
    deadline = time.monotonic() + 30
    workers: list[str] = []
    while not workers and time.monotonic() < deadline:
        workers = subprocess.run(["pgrep", "-P", str(owner.pid)], capture_output=True,
                                 text=True).stdout.split()
        time.sleep(0.05)
    assert workers
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(running(pid) for pid in workers)


def running(pid: str) -> bool:
    """Alive and not a zombie (a dead process nobody has reaped yet)."""
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) != "Z"
    except OSError:
        return False


def test_scratch_folders_of_dead_processes_are_swept(tmp_path):
    with scratch_dir("test") as mine:
        # a folder named after a process that is gone (pid numbers stop well below 2**22)
        gone = Path(str(mine).replace(f"-{os.getpid()}-", "-4194304-"))
        gone.mkdir()
        (gone / "document.pdf").write_bytes(b"%PDF-")
        assert sweep_scratch() >= 1
        assert mine.exists() and not gone.exists()
    assert not mine.exists()
