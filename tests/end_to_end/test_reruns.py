"""Every command run twice: the second run changes nothing (run bookkeeping aside).

The long cases (the demo twice; every corpus file imported twice) are marked `slow`: they run
in CI and in ./scripts/test; `pytest -m "not slow"` leaves them out while developing.
"""

from __future__ import annotations

import pytest
from conftest import CORPUS, comparable_dump, open_crawl_failures, run_cli

from alpr_inventory.load.ingest import Store
from alpr_inventory.store.archive import Archive
from alpr_inventory.store.schema import open_db

YUBA = CORPUS / "flock" / "audit" / "yuba_county_ca_so"


def test_yuba_workbooks_imported_twice(tmp_path):
    db_path = tmp_path / "yuba.db"
    args = ("import", str(YUBA), "--agency", "Yuba County CA SO")
    first = run_cli(*args, db=db_path)
    assert first.returncode == 0, first.stderr
    # search_audit_pacific.xlsx has the master's 2,060 searches with times shifted by 8 hours
    assert "searches: 3257 new, 0 already known, 2060 changed" in first.stdout
    before = comparable_dump(db_path)
    again = run_cli(*args, db=db_path)
    assert again.returncode == 0, again.stderr
    assert "(0 new documents, 2 unchanged" in again.stdout
    assert comparable_dump(db_path) == before
    # read again as another capture: loaded again, through the upsert; nothing changes but
    # the evidence dates (the failure was here: UNIQUE constraint failed: search_versions.id)
    later = run_cli(*args, "--captured-at", "2026-06-02", db=db_path)
    assert later.returncode == 0, later.stderr
    assert "searches: 0 new, 5317 already known, 0 changed" in later.stdout
    db = open_db(str(db_path))
    assert db["search_versions"].count == 2060
    assert db.execute("select sum(versions) from searches").fetchone()[0] == 3257 + 2060


# Constructed: one search id with three contents in one document, and a second document.
THREE = ('"id","searchDate","reason"\n"s1","2026-01-01T00:00:00.000Z","first"\n'
         '"s1","2026-01-01T00:00:00.000Z","second"\n"s1","2026-01-01T00:00:00.000Z","third"\n'
         '"s1","2026-01-01T00:00:00.000Z","second"\n')


@pytest.mark.parametrize("fast", [True, False])
def test_versions_are_kept_once_however_often_a_document_is_loaded(tmp_path, fast):
    store = Store(open_db(str(tmp_path / "v.db")), Archive(tmp_path / "archive"))
    counts = []
    for captured_at in ("2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", "2026-02-01T00:00:00Z"):
        with store.db.atomic():
            if fast:
                counts.append(store._load_searches([], "d" * 64, captured_at, "x",
                                                   csv_text=THREE))
            else:
                from parsers.flock.audit_csv import parse_search_audit_csv

                rows = parse_search_audit_csv(THREE)[1]
                counts.append(store._load_searches(rows, "d" * 64, captured_at, "x"))
    assert counts[0] == {"new": 1, "known": 1, "changed": 2}
    assert counts[1] == counts[2] == {"new": 0, "known": 4, "changed": 0}
    versions = {r["id"]: r["content"] for r in store.db["search_versions"].rows}
    assert sorted(versions) == ["s1:" + "d" * 64, "s1:" + "d" * 64 + ":2"]
    assert store.db["searches"].get("s1")["versions"] == 3
    assert store.db["searches"].get("s1")["reason"] == "first"


@pytest.mark.slow
def test_the_demo_twice_gives_the_same_database(tmp_path):
    db_path = tmp_path / "demo.db"
    first = run_cli("demo", "--no-serve", db=db_path, timeout=1500)
    assert first.returncode == 0, first.stderr[-3000:]
    built = comparable_dump(db_path)
    failing = open_crawl_failures(db_path)
    # the demo's replay answers Medina's portal with 429 (a recorded rate-limit page)
    assert ("flock_portals", "medina-wa-pd", "seed", "rate_limited",
            "http://127.0.0.1:PORT/medina-wa-pd", 429) in failing
    second = run_cli("demo", "--no-serve", db=db_path, timeout=1500)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Traceback" not in second.stderr
    assert open_crawl_failures(db_path) == failing
    again = comparable_dump(db_path)
    assert again.keys() == built.keys()
    for table in built:
        assert again[table] == built[table], table
    db = open_db(str(db_path))
    assert {r["status"] for r in db.query("select status from runs")} == {"finished"}
    # the summary counts pages, not fetches: the second run prints the same figures (it printed
    # "not found pages: 3,936" after 1,968 when every crawl's fetch of a missing slug counted)
    assert _summary(second.stdout) == _summary(first.stdout)
    assert "not found pages: 1,968" in _summary(first.stdout)
    assert "blocked pages: 1" in _summary(first.stdout)


def _summary(stdout: str) -> list[str]:
    """The demo's closing "The database holds:" block (without the build time)."""
    block = stdout.split("The database holds:", 1)[1].split("\ndatabase:", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip()]


@pytest.mark.slow
def test_reimporting_every_corpus_file_changes_nothing(tmp_path):
    db_path = tmp_path / "corpus.db"
    first = run_cli("import", str(CORPUS), db=db_path, timeout=1500)
    assert first.returncode == 0, first.stderr[-3000:]
    built = comparable_dump(db_path)
    files = int(first.stdout.split()[1])
    second = run_cli("import", str(CORPUS), db=db_path, timeout=1500)
    assert second.returncode == 0, second.stderr[-3000:]
    # nothing read again (statuses worth another try aside: none in the corpus)
    assert f"imported {files} files (0 new documents, {files} unchanged" in second.stdout
    assert comparable_dump(db_path) == built
