"""`alpr-inventory merge`: node folders into one database, provenance kept, twice = once.

Node folders here are written by the Store itself (what a node's crawl pipeline does) with
real portal captures from corpus/flock/portals (read in place). The two-node Scrapyd test
(test_scrapyd_nodes.py) merges folders written by real crawls.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CORPUS, capture, comparable_dump, fetched_from_file, run_cli

from alpr_inventory.load.ingest import Store
from alpr_inventory.load.merge import MergeError, merge_nodes
from alpr_inventory.settings import REPO_ROOT, node_db_path
from alpr_inventory.store.archive import Archive
from alpr_inventory.store.schema import open_db

# node 1 crawls bell twice; node 2 burbank once and one of bell's captures again (the same
# capture fetched by two nodes: one observation, the earlier fetch stands)
NODE1 = [("bell-ca-pd", "2026-04-18"), ("bell-ca-pd", "2026-04-25")]
NODE2 = [("burbank-ca-pd", "2026-04-25"), ("bell-ca-pd", "2026-04-25")]


def open_store(db_path: Path) -> Store:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    return Store(open_db(str(db_path)), Archive(db_path.parent / "archive"))


def crawl_into(db_path: Path, captures: list[tuple[str, str]], finish: bool = True
               ) -> tuple[Store, int]:
    store = open_store(db_path)
    run = store.start_run("flock_portals", {"seeds": len(captures)}, "test", "http")
    for slug, day in captures:
        store.ingest(fetched_from_file(capture(slug, day)), run)
    store.finish()
    if finish:
        store.finish_run(run, "finished", "finished", {"pages": len(captures)})
        store.close()
    return store, run


@pytest.fixture(scope="module")
def nodes(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("nodes")
    crawl_into(node_db_path(root / "node1"), NODE1)
    crawl_into(node_db_path(root / "node2"), NODE2)
    return root / "node1", root / "node2"


@pytest.fixture(scope="module")
def one_machine(tmp_path_factory) -> dict:
    """The same captures loaded on one machine, facts rebuilt by reparse (as merge does)."""
    db_path = tmp_path_factory.mktemp("single") / "inventory.db"
    store, _ = crawl_into(db_path, NODE1 + NODE2[:1])
    store = open_store(db_path)
    store.reparse_all()
    store.close()
    return without_merge_log(comparable_dump(db_path))


def without_merge_log(dump: dict) -> dict:
    return {t: rows for t, rows in dump.items() if t != "merged_runs"}


def merged(db_path: Path, node_dirs: list[Path]) -> list:
    store = open_store(db_path)
    try:
        result, _ = merge_nodes(store, node_dirs)
    finally:
        store.close()
    return result


def test_merge_equals_one_machine_keeps_provenance_and_twice_is_once(nodes, one_machine,
                                                                     tmp_path):
    db_path = tmp_path / "merged" / "inventory.db"
    first = merged(db_path, list(nodes))
    assert [(m.runs_added, m.fetches_added, m.documents_added, m.files_copied)
            for m in first] == [(1, 2, 2, 2), (1, 1, 1, 1)]  # bell 04-25 known
    dump = comparable_dump(db_path)
    assert without_merge_log(dump) == one_machine

    conn = sqlite3.connect(db_path)
    # bell 2026-04-25 was fetched by both nodes: one fetch row, node 1's (the earlier fetch)
    node1_fetch = sqlite3.connect(node_db_path(nodes[0])).execute(
        "select fetched_at, sha256 from fetches where captured_at like '2026-04-25%'"
    ).fetchone()
    rows = conn.execute(
        "select f.fetched_at, f.sha256, m.node_dir, m.node_run_id from fetches f join "
        "merged_runs m on m.run_id = f.run_id where f.url like '%bell-ca-pd' and "
        "f.captured_at like '2026-04-25%'").fetchall()
    assert rows == [(node1_fetch[0], node1_fetch[1], str(nodes[0].resolve()), 1)]
    # the bytes are in the merged archive at the path documents names
    for sha, path in conn.execute("select sha256, archive_path from documents"):
        assert Archive(db_path.parent / "archive").get(sha) and path.endswith(sha)
    # the portal page's owner, as the page shows it (corpus/flock/portals/bell-ca-pd/
    # 2026-04-25.html: the heading reads "Bell CA PD")
    assert ("Bell CA PD" in capture("bell-ca-pd", "2026-04-25").read_text())
    assert conn.execute("select agency_id from agency_aliases where alias = 'Bell CA PD'"
                        ).fetchone() == ("bell-ca-pd",)
    runs = conn.execute("select command, status from runs order by id").fetchall()
    assert runs == [("merge", "finished"), ("flock_portals", "finished"),
                    ("flock_portals", "finished")]
    conn.close()

    # again, and in the other order: nothing added, the same database
    again = merged(db_path, list(reversed(nodes)))
    assert [(m.runs_added, m.runs_known, m.fetches_added) for m in again] == [(0, 1, 0)] * 2
    assert comparable_dump(db_path) == dump
    # another database merged in the other order is the same too
    other = tmp_path / "other" / "inventory.db"
    merged(other, list(reversed(nodes)))
    assert without_merge_log(comparable_dump(other)) == one_machine


def test_two_merges_at_once_take_turns(nodes, one_machine, tmp_path):
    db_path = tmp_path / "merged" / "inventory.db"
    args = [sys.executable, "-m", "alpr_inventory.cli", "merge", "--db", str(db_path),
            *map(str, nodes)]
    env = {**os.environ, "ALPR_CORPUS": str(CORPUS)}
    procs = [subprocess.Popen(args, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    # one of them brought the runs, the other found them merged
    assert sorted(o[0].split(":")[1].strip()[:6] for o in outs) == ["0 runs", "2 runs"]
    assert without_merge_log(comparable_dump(db_path)) == one_machine
    conn = sqlite3.connect(db_path)
    assert conn.execute("select count(*) from merged_runs").fetchone()[0] == 2
    conn.close()


def test_a_run_still_running_waits_for_a_later_merge(tmp_path):
    node = tmp_path / "node"
    store, run = crawl_into(node_db_path(node), NODE1[:1], finish=False)
    db_path = tmp_path / "merged" / "inventory.db"
    first = merged(db_path, [node])
    assert (first[0].runs_added, first[0].runs_running, first[0].fetches_added) == (0, 1, 0)
    store.finish_run(run, "finished", "finished", {"pages": 1})
    store.close()
    second = merged(db_path, [node])
    assert (second[0].runs_added, second[0].fetches_added) == (1, 1)
    conn = sqlite3.connect(db_path)
    assert conn.execute("select count(*) from portal_snapshots").fetchone()[0] == 1
    conn.close()


def test_missing_or_corrupt_bytes_are_left_out_and_said(nodes, tmp_path):
    node = tmp_path / "node"
    crawl_into(node_db_path(node), NODE1)
    archive = Archive(node / "archive")
    shas = [r[0] for r in sqlite3.connect(node_db_path(node)).execute(
        "select sha256 from fetches order by captured_at")]
    archive.path(shas[0]).unlink()  # lost
    archive.path(shas[1]).chmod(0o644)
    archive.path(shas[1]).write_bytes(b"not what was fetched")  # corrupt
    out = run_cli("merge", str(node), db=tmp_path / "merged" / "inventory.db", timeout=300)
    assert out.returncode == 1
    assert "2 document(s) missing or corrupt in its archive" in out.stderr
    conn = sqlite3.connect(tmp_path / "merged" / "inventory.db")
    assert conn.execute("select count(*) from fetches").fetchone()[0] == 0
    assert conn.execute("select count(*) from documents").fetchone()[0] == 0
    conn.close()


def test_not_a_node_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(MergeError, match="no node database"):
        merged(tmp_path / "m.db", [tmp_path / "empty"])
    out = run_cli("merge", str(tmp_path / "empty"), db=tmp_path / "m.db", timeout=120)
    assert out.returncode == 1 and "no node database at" in out.stderr
    node = tmp_path / "node"
    crawl_into(node_db_path(node), [])
    with pytest.raises(MergeError, match="holds the database being merged into"):
        merged(node_db_path(node), [node])
