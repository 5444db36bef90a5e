"""Two writers on one database, and kill -9 at several points, then a re-run.

Imports read real corpus files in place (linked into folders); the replay servers serve real
captures on 127.0.0.1 (the slow one only waits before answering).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import CORPUS, PORTALS, comparable_dump, run_cli

from alpr_inventory.demo.replay import LocalServer, ReplayCorpus, ReplayHandler
from alpr_inventory.settings import REPO_ROOT
from alpr_inventory.store.locking import DatabaseLock
from alpr_inventory.store.schema import open_db

OKALOOSA = CORPUS / "records" / "okaloosa_fl_so"
SHEETS = CORPUS / "agreements" / "287g" / "sheets"


def start_cli(*args: str, db: Path) -> subprocess.Popen[str]:
    """`alpr-inventory` started in a subprocess (as run_cli, without waiting)."""
    env = {**os.environ, "ALPR_CORPUS": str(CORPUS)}
    argv = list(args)
    cut = argv.index("--") if "--" in argv else len(argv)
    argv[cut:cut] = ["--db", str(db)]
    return subprocess.Popen([sys.executable, "-m", "alpr_inventory.cli", *argv], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def captures_folder(root: Path, count: int) -> Path:
    """`count` real captures in the <slug>/<date>.html layout (links into the corpus)."""
    folder = root / "captures"
    for path in sorted(PORTALS.glob("*/*.html"))[:count]:
        (folder / path.parent.name).mkdir(parents=True, exist_ok=True)
        (folder / path.parent.name / path.name).symlink_to(path)
    return folder


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children, their children, ...)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for child, ppid in parents.items():
            if ppid == parent and child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            out.add(pid)
    return out


def count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            return conn.execute(sql).fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_writer_waits_for_another_and_says_so(tmp_path):
    db_path = tmp_path / "w.db"
    open_db(str(db_path)).close()
    capture = PORTALS / "bell-ca-pd" / "2026-04-11.html"
    lock = DatabaseLock.for_path(db_path)
    assert lock is not None
    with lock.writing("a test holding the write lock"):
        proc = start_cli("import", str(capture), db=db_path)
        assert proc.stderr is not None
        said = proc.stderr.readline()  # blocks until the import says something
        while said.startswith("Importing"):
            said = proc.stderr.readline()
        time.sleep(1)
        assert proc.poll() is None  # waiting, not failing
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert said.startswith(f"alpr-inventory: waiting for the database w.db: pid {os.getpid()} "
                           "on ") and "(a test holding the write lock, writing since" in said
    assert "the database is free after" in err
    assert open_db(str(db_path))["portal_snapshots"].count == 1


def test_two_imports_and_a_crawl_at_once_are_all_stored(tmp_path, replay):
    server, _ = replay
    db_path = tmp_path / "together.db"
    folder = captures_folder(tmp_path, 36)
    procs = [
        start_cli("import", str(OKALOOSA), "--captured-at", "2025-12-08", db=db_path),
        start_cli("import", str(folder), db=db_path),
        start_cli("crawl", "flock-portals", "--base-url", server.base_url, "--discover-depth",
                  "0", "--", "-el-cajon-pd-ca", "bell-ca-pd", "burbank-ca-pd", db=db_path),
    ]
    outs = [p.communicate(timeout=900) for p in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err[-3000:]
        assert "database is locked" not in err and "Traceback" not in err
    db = open_db(str(db_path))
    # Okaloosa's 809-page audit: 7,273 searches; its sharing report: two lists
    assert db.execute("select count(*) from searches where source_row like 'page %'"
                      ).fetchone()[0] == 7273
    assert db.execute("select count(*) from sharing_lists where list_agency_id = "
                      "'okaloosa-county-fl-so'").fetchone()[0] == 2
    captures = {(p.parent.name, p.stem) for p in folder.glob("*/*.html")}
    assert len(captures) == 36
    stored = {(r["requested_slug"], r["captured_at"][:10]) for r in db.query(
        "select f.requested_slug, f.captured_at from fetches f join portal_snapshots s on "
        "s.document_sha256 = f.sha256 and s.captured_at = f.captured_at "
        "where f.fetched_from like ?", [f"{folder}%"])}
    assert stored == captures
    # every capture of the crawled portals is a snapshot (some were imported as well: one
    # fetch row each, whichever run came first)
    for slug in ("-el-cajon-pd-ca", "bell-ca-pd", "burbank-ca-pd"):
        days = {p.stem for p in (PORTALS / slug).glob("*.html")}
        assert days == {r["captured_at"][:10] for r in db.query(
            "select distinct s.captured_at from portal_snapshots s join fetches f on "
            "f.sha256 = s.document_sha256 where f.requested_slug = ?", [slug])}
    (crawl,) = list(db.query("select * from runs where command = 'flock_portals'"))
    assert crawl["portals"] == 13
    assert [r["status"] for r in db.query("select status from runs")] == ["finished"] * 3


def import_inputs(root: Path) -> Path:
    """Captures, three 287(g) sheet versions and Okaloosa's sharing report PDF."""
    folder = captures_folder(root, 24)
    for sheet in sorted(SHEETS.glob("*.xlsx"))[:3]:
        (folder / sheet.name).symlink_to(sheet)
    (folder / "Sharing_Agencies.pdf").symlink_to(OKALOOSA / "Sharing_Agencies.pdf")
    return folder


def kill_when(proc: subprocess.Popen[str], ready) -> tuple[bool, set[int]]:
    """kill -9 the process once ready() holds; returns (killed while running, the processes
    below it at that moment)."""
    deadline = time.monotonic() + 300
    while proc.poll() is None and time.monotonic() < deadline:
        if ready():
            below = descendants(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True, below
        time.sleep(0.02)
    proc.wait()
    return False, set()


def assert_recovered(db_path: Path, clean: dict, below: set[int]) -> None:
    deadline = time.monotonic() + 10
    while alive(below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(below), "processes left behind after kill -9"
    db = open_db(str(db_path))
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    statuses = [r["status"] for r in db.query("select status from runs order by id")]
    assert statuses == ["interrupted", "finished"]
    reason = db["runs"].get(1)["finish_reason"]
    assert reason.startswith("interrupted: its process (pid ") and "stopped without" in reason
    db.close()
    assert comparable_dump(db_path) == clean


def test_an_import_killed_at_several_points_then_run_again_equals_a_clean_build(tmp_path):
    folder = import_inputs(tmp_path)
    clean_db = tmp_path / "clean.db"
    assert run_cli("import", str(folder), db=clean_db).returncode == 0
    clean = comparable_dump(clean_db)
    files = 24 + 3 + 1
    points = {
        "the first document loaded": lambda db, pid: count(db, "select count(*) from "
                                                              "fetches") >= 1,
        "half the documents loaded": lambda db, pid: count(db, "select count(*) from "
                                                             "fetches") >= files // 2,
        # a PDF job runs in a child of a parser worker: grandchildren of the import
        "a PDF parsed in a worker's child": lambda db, pid: any(
            descendants(child) for child in descendants(pid)),
    }
    for n, (point, ready) in enumerate(points.items()):
        db_path = tmp_path / f"killed-{n}.db"
        proc = start_cli("import", str(folder), db=db_path)
        killed, below = kill_when(proc, lambda db_path=db_path, proc=proc, ready=ready:
                                  ready(db_path, proc.pid))
        assert killed, point
        again = run_cli("import", str(folder), db=db_path)
        assert again.returncode == 0, again.stderr
        assert_recovered(db_path, clean, below)


class SlowReplay(ReplayHandler):
    def do_GET(self) -> None:  # noqa: N802
        time.sleep(0.3)
        super().do_GET()


def test_a_crawl_killed_half_way_then_run_again_equals_a_clean_crawl(tmp_path, replay_root):
    corpus = ReplayCorpus.from_dir(replay_root)
    handler = type("SlowBound", (SlowReplay,), {"corpus": corpus})
    slugs = ["-el-cajon-pd-ca", "bell-ca-pd", "burbank-ca-pd"]
    with LocalServer(handler) as server:
        args = ("crawl", "flock-portals", "--base-url", server.base_url, "--discover-depth", "0",
                "--", *slugs)
        clean_db = tmp_path / "clean.db"
        assert run_cli(*args, db=clean_db).returncode == 0
        db_path = tmp_path / "killed.db"
        proc = start_cli(*args, db=db_path)
        killed, below = kill_when(proc, lambda: count(db_path, "select count(*) from "
                                                                "fetches") >= 3)
        assert killed
        again = run_cli(*args, db=db_path)
        assert again.returncode == 0, again.stderr
    assert_recovered(db_path, comparable_dump(clean_db), below)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGKILL"])
def test_stopping_serve_stops_datasette(tmp_path, signal_name):
    db_path = tmp_path / "serve.db"
    open_db(str(db_path)).close()
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = start_cli("serve", "--port", str(port), db=db_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("Datasette did not start")
    below = descendants(proc.pid)
    proc.send_signal(getattr(signal, signal_name))
    proc.wait(timeout=30)
    time.sleep(0.5)
    assert not alive(below)
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # nothing serves the port any more
