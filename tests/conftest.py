"""Shared fixtures: the real corpus (read in place), a fresh store, a local replay server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from alpr_inventory.demo.replay import ReplayCorpus, ReplayServer
from alpr_inventory.load.ingest import Fetched, Store, utc_now
from alpr_inventory.settings import FLOCK_PORTAL_BASE, REPO_ROOT, corpus_dir
from alpr_inventory.store.archive import Archive
from alpr_inventory.store.schema import open_db

CORPUS = corpus_dir()
FIXTURES = Path(__file__).resolve().parent / "fixtures"  # made by the project (its README)
PORTALS = CORPUS / "flock" / "portals"
PORTALS_NEW = CORPUS / "flock" / "portals_new"
# Without the corpus only the tests marked no_corpus run (pyproject.toml markers); the others
# are skipped, saying so, unless ALPR_REQUIRE_CORPUS=1 (scripts/test, CI) makes it an error.
CORPUS_PRESENT = PORTALS.is_dir()
NO_CORPUS = (f"needs the shared corpus, not found at {CORPUS} (put ../shared beside the "
             "checkout or set ALPR_CORPUS); tests marked no_corpus run without it")


def pytest_configure(config: pytest.Config) -> None:
    if not CORPUS_PRESENT and os.environ.get("ALPR_REQUIRE_CORPUS") == "1":
        raise pytest.UsageError(
            f"the shared corpus is not at {CORPUS}: put ../shared beside the repo or set "
            "ALPR_CORPUS (ALPR_REQUIRE_CORPUS=1, set by scripts/test, makes this an error)")


def pytest_report_header(config: pytest.Config) -> str:
    return f"corpus: {CORPUS}" + ("" if CORPUS_PRESENT else
                                  " (missing: only tests marked no_corpus run)")


class _ModuleReadingTheCorpus(pytest.Module):
    """A test module that reads corpus files when imported (constants, parameters): without
    the corpus it is skipped, saying why, instead of failing to import."""

    def _getobj(self):
        try:
            return super()._getobj()
        except FileNotFoundError as exc:
            if not str(exc.filename or "").startswith(str(CORPUS)):
                raise
            raise pytest.skip.Exception(f"{NO_CORPUS}; it reads {exc.filename} when imported",
                                        allow_module_level=True) from exc


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector):
    if not CORPUS_PRESENT:
        return _ModuleReadingTheCorpus.from_parent(parent, path=module_path)
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the corpus, every test not marked no_corpus is skipped, saying why."""
    if CORPUS_PRESENT:
        return
    skip = pytest.mark.skip(reason=NO_CORPUS)
    for item in items:
        if item.get_closest_marker("no_corpus") is None:
            item.add_marker(skip)


def capture(slug: str, day: str) -> Path:
    """A real capture from corpus/flock/portals."""
    if not CORPUS_PRESENT:  # called when a module is imported, too
        pytest.skip(NO_CORPUS, allow_module_level=True)
    path = PORTALS / slug / f"{day}.html"
    assert path.is_file(), path
    return path


def fetched_from_file(path: Path, captured_at: str | None = None, slug: str | None = None,
                      status: int | None = 200) -> Fetched:
    """A Fetched record for a corpus file, as the spider would make it for that capture."""
    slug = slug or path.parent.name
    day = captured_at or f"{path.stem}T00:00:00Z"
    return Fetched(body=path.read_bytes(), url=FLOCK_PORTAL_BASE + slug, source="test",
                   fetched_at=utc_now(), captured_at=day, captured_at_basis="filename",
                   fetched_from=str(path), http_status=status, requested_slug=slug)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = open_db(str(tmp_path / "inventory.db"))
    return Store(db, Archive(tmp_path / "archive"))


@pytest.fixture
def replay_root(tmp_path: Path) -> Path:
    """A small replay tree of links into the real corpus (nothing copied)."""
    root = tmp_path / "replay"
    for slug in ("-el-cajon-pd-ca", "bell-ca-pd", "burbank-ca-pd"):
        (root / "portals").mkdir(parents=True, exist_ok=True)
        (root / "portals" / slug).symlink_to(PORTALS / slug, target_is_directory=True)
    (root / "portals_new").mkdir()
    for name in ("blocked_cloudflare_1015_medina-wa-pd_2026-06-24.html",
                 "not_found_clark-county-wa-so_2026-10.html"):
        (root / "portals_new" / name).symlink_to(PORTALS_NEW / name)
    return root


@pytest.fixture
def replay(replay_root: Path):
    corpus = ReplayCorpus.from_dir(replay_root)
    with ReplayServer(corpus) as server:
        yield server, corpus


def run_cli(*args: str, db: Path, timeout: int = 600,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `alpr-inventory` in a subprocess (Scrapy's reactor runs once per process)."""
    env = {**os.environ, "ALPR_CORPUS": str(CORPUS), **(env or {})}
    args_list = list(args)
    cut = args_list.index("--") if "--" in args_list else len(args_list)
    args_list[cut:cut] = ["--db", str(db)]  # options before a '--' that ends them
    return subprocess.run(
        [sys.executable, "-m", "alpr_inventory.cli", *args_list],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def fact_dump(db) -> dict[str, list[tuple]]:
    """Every fact table's rows, sorted, to compare two builds."""
    out = {}
    for table in ("agencies", "agency_aliases", "portal_snapshots", "sharing", "searches"):
        out[table] = sorted(tuple(r.values()) for r in db[table].rows)
    return out


# Run bookkeeping: what two builds of the same data differ in and nothing else (ignored when
# builds are compared): the runs themselves, when and by which run each fetch was made (a page
# fetched twice is one observation of the same capture), when a document was first fetched,
# when crawl state was saved. For fetches whose capture time is the fetch time (basis
# 'fetch': live pages, API answers), that time is bookkeeping too, and so is the last time an
# API answer listed a request, matter, vote or file (last_seen: the time of the last fetch).
# The port of a local replay server (fetched_from http://127.0.0.1:<port>/...) is any free
# port, another one each run: it is compared as "127.0.0.1:PORT". crawl_failures is the log
# of each run's failed attempts (a seed that fails again on the next run is one more attempt,
# a row of that run): tests compare the seeds still failing instead (open_crawl_failures).
BOOKKEEPING: dict[str, tuple[str, ...] | None] = {
    "runs": None,
    "crawl_failures": None,
    "fetches": ("id", "fetched_at", "run_id"),
    "documents": ("first_fetched_at",),
    "crawl_state": ("updated_at", "run_id"),
    "records_requests": ("last_seen",),
    "council_matters": ("last_seen",),
    "council_votes": ("last_seen",),
    "released_files": ("last_seen",),
}


_LOCAL_PORT = re.compile(r"(?<=//)127\.0\.0\.1:\d+")


def open_crawl_failures(path: Path | str) -> set[tuple]:
    """The seeds and requests still failing, with why: what two builds must agree on."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {(spider, seed, seed_kind, reason, _LOCAL_PORT.sub("127.0.0.1:PORT", url or ""),
                 status) for spider, seed, seed_kind, reason, url, status in conn.execute(
            "select spider, seed, seed_kind, reason, url, http_status from crawl_failures "
            "where resolved_run_id is null")}
    finally:
        conn.close()


def comparable_dump(path: Path | str) -> dict[str, list[tuple]]:
    """Every table of a database (full-text index shadow tables aside, as they follow their
    tables), without BOOKKEEPING columns, rows sorted: equal for two builds of the same data."""
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out: dict[str, list[tuple]] = {}
    try:
        names = [r[0] for r in conn.execute(
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' "
            "and name not like '%_fts' and name not like '%_fts_%' order by name")]
        for table in names:
            ignored = BOOKKEEPING.get(table, ())
            if ignored is None:
                continue
            columns = [r[1] for r in conn.execute(f"pragma table_info([{table}])")
                       if r[1] not in ignored]
            rows = conn.execute(f"select {', '.join(f'[{c}]' for c in columns)} "
                                f"from [{table}]").fetchall()
            if table == "fetches":
                at, basis = columns.index("captured_at"), columns.index("captured_at_basis")
                rows = list({tuple(None if i == at and r[basis] == "fetch" else
                                   _LOCAL_PORT.sub("127.0.0.1:PORT", v) if isinstance(v, str)
                                   else v for i, v in enumerate(r)) for r in rows})
            out[table] = sorted(rows, key=repr)
    finally:
        conn.close()
    return out
