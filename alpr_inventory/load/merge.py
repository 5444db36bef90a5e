"""Merge what crawl nodes fetched into one database, then rebuild the facts from the archive.

A node (a machine running Scrapyd jobs or `alpr-inventory crawl --node-dir DIR`) writes to its
own folder: `DIR/inventory.db` (runs, fetches, failures, crawl state) and `DIR/archive/` (the
bytes, by SHA-256). `merge_nodes` brings every finished run of each node into the target
database with its provenance unchanged (fetched_at, captured_at, sha256, the URL asked), the
bytes into the target's archive (checked against their hash on the way), and then rebuilds
every fact with `Store.reparse_all`, the same code as `alpr-inventory reparse`: the merged
database holds what one machine crawling the same seeds would hold.

Provenance: each merged run gets a row of its own in `runs` (its fetches and failures point to
it) and one in `merged_runs` (node, the node's run number, folder, host). Idempotent: a run
already merged is recognised by (node, run number) and not added again, a fetch by (sha256,
url, captured_at), so merging the same folders again changes nothing but adds its own `merge`
run. Two merges at once take turns: a merge holds the database's write lock
(alpr_inventory/store/locking.py) from its first write to the end of the rebuild.

A run still `running` in a node's database (a crawl in progress, or one that died before any
later command on its node noticed) is left out, with its fetches, until a later merge.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import closing, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alpr_inventory.load.ingest import Store, utc_now
from alpr_inventory.settings import node_db_path
from alpr_inventory.store.archive import Archive

NODE_ARCHIVE = "archive"


class MergeError(ValueError):
    """A node folder that cannot be merged (no database, not an inventory database)."""


@dataclass
class NodeMerge:
    """What one node folder brought."""

    node_dir: str
    node_id: str
    runs_added: int = 0
    runs_known: int = 0
    runs_running: int = 0
    fetches_added: int = 0
    documents_added: int = 0
    files_copied: int = 0
    failures_added: int = 0
    missing: list[str] = field(default_factory=list)  # sha256 not in the node's archive

    def describe(self) -> str:
        text = (f"{self.node_dir}: {self.runs_added} run(s) added ({self.runs_known} merged "
                f"before), {self.fetches_added} fetches, {self.documents_added} new documents, "
                f"{self.files_copied} files copied, {self.failures_added} failures")
        if self.runs_running:
            text += f"; {self.runs_running} run(s) still running there, left for a later merge"
        if self.missing:
            text += (f"; {len(self.missing)} document(s) missing or corrupt in its archive, "
                     "their fetches left out")
        return text


def node_id_of(conn: sqlite3.Connection) -> str:
    """A node database's identity: its first run's host, start time and process, hashed. It
    never changes once the node has crawled, whatever the folder is called or where it is."""
    row = conn.execute("select host, started_at, pid from runs order by id limit 1").fetchone()
    if row is None:
        return ""
    return hashlib.sha256("\x1f".join(str(v) for v in row).encode()).hexdigest()[:16]


def open_node(node_dir: str | Path) -> sqlite3.Connection:
    """A node's database, read-only (the node may still be crawling into it)."""
    path = node_db_path(node_dir)
    if not path.is_file():
        raise MergeError(f"{node_dir}: no node database at {path} (a node folder is what "
                         "`crawl --node-dir DIR` or a Scrapyd job with node_dir=DIR wrote)")
    conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        tables = {r[0] for r in conn.execute("select name from sqlite_master where type='table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise MergeError(f"{path}: not an SQLite database ({exc})") from exc
    if not {"runs", "fetches", "documents"} <= tables:
        conn.close()
        raise MergeError(f"{path}: not an alpr-inventory database (no runs/fetches/documents)")
    return conn


def merge_nodes(store: Store, node_dirs: Iterable[str | Path], progress: bool = False,
                say: Callable[[str], None] | None = None) -> tuple[list[NodeMerge], Counter[str]]:
    """Merge each node folder into the store's database, then rebuild the facts (reparse).
    Returns what each node brought and the reparse counts."""
    node_dirs = [Path(d) for d in node_dirs]
    target = _db_file(store)
    for node_dir in node_dirs:  # every folder checked before anything is written
        open_node(node_dir).close()
        if target is not None and node_db_path(node_dir).resolve() == target:
            raise MergeError(f"{node_dir} holds the database being merged into: give another "
                             "--db")
    lock = store.lock.writing("merge") if store.lock is not None else nullcontext()
    with lock:  # the whole merge, rebuild included: two merges take turns
        merge_run = store.start_run("merge", {"nodes": [str(d) for d in node_dirs]})
        try:
            merged = []
            for node_dir in node_dirs:
                result = merge_node(store, node_dir, merge_run)
                merged.append(result)
                if say:
                    say(result.describe())
            stats = store.reparse_all(progress=progress)
        except BaseException as exc:
            store.finish_run(merge_run, "failed", f"{type(exc).__name__}: {exc}", {})
            raise
        store.finish_run(merge_run, "finished", "finished", {
            "pages": sum(m.fetches_added for m in merged),
            "documents": sum(m.documents_added for m in merged),
            "errors": sum(len(m.missing) for m in merged) + stats["missing_from_archive"],
            "runs_merged": sum(m.runs_added for m in merged)})
    return merged, stats


def _db_file(store: Store) -> Path | None:
    rows = store.db.execute("pragma database_list").fetchall()
    main = next((r[2] for r in rows if r[1] == "main"), "")
    return Path(main).resolve() if main else None


def _columns(db: Any, table: str) -> list[str]:
    return [r[1] for r in db.execute(f"pragma table_info([{table}])").fetchall()]


def merge_node(store: Store, node_dir: Path, merge_run: int) -> NodeMerge:
    """Bring one node's finished runs, their fetches, documents, failures and crawl state into
    the store's database (one transaction), the bytes into its archive first."""
    db = store.db
    with closing(open_node(node_dir)) as node:
        result = NodeMerge(str(node_dir), node_id_of(node))
        node_archive = Archive(Path(node_dir) / NODE_ARCHIVE)
        runs = [dict(r) for r in node.execute("select * from runs order by id")]
        done = {r["id"] for r in runs if r["status"] != "running"}
        result.runs_running = len(runs) - len(done)
        fetches = [dict(r) for r in node.execute("select * from fetches order by id")
                   if r["run_id"] is None or r["run_id"] in done]
        shas = sorted({f["sha256"] for f in fetches})
        documents = {r["sha256"]: dict(r) for r in node.execute("select * from documents")}
        failures = ([dict(r) for r in node.execute("select * from crawl_failures order by id")]
                    if _has_table(node, "crawl_failures") else [])
        states = ([dict(r) for r in node.execute("select * from crawl_state")]
                  if _has_table(node, "crawl_state") else [])

        # the bytes first: a fetch row never points to bytes the archive does not hold
        for sha in shas:
            if store.archive.path(sha).is_file():
                continue  # merged before (or fetched by another node): read once, not again
            try:
                body = node_archive.get(sha)  # checked against its hash
            except (OSError, ValueError):
                result.missing.append(sha)
                continue
            _, new = store.archive.put(body, sha)
            result.files_copied += int(new)
        missing = set(result.missing)

        run_cols = [c for c in _columns(db, "runs") if c != "id"]
        fetch_cols = [c for c in _columns(db, "fetches") if c != "id"]
        now = utc_now()
        with store.writing("merge a node"):
            run_map: dict[int, int] = {}
            for run in runs:
                if run["id"] not in done:
                    continue
                known = db.execute("select run_id from merged_runs where node_id = ? and "
                                   "node_run_id = ?", [result.node_id, run["id"]]).fetchone()
                values = {c: run.get(c) for c in run_cols}
                if known:
                    run_map[run["id"]] = known[0]
                    result.runs_known += 1
                    continue
                cursor = db.execute(
                    f"insert into runs ({', '.join(run_cols)}) values "
                    f"({', '.join('?' for _ in run_cols)})", [values[c] for c in run_cols])
                run_map[run["id"]] = int(cursor.lastrowid)
                db.execute("insert into merged_runs (run_id, node_id, node_run_id, node_dir, "
                           "node_host, merged_at, merge_run_id) values (?, ?, ?, ?, ?, ?, ?)",
                           [run_map[run["id"]], result.node_id, run["id"],
                            str(Path(node_dir).resolve()), run.get("host"), now, merge_run])
                result.runs_added += 1

            for sha in shas:
                doc = documents.get(sha)
                if sha in missing or doc is None:
                    continue
                exists = db.execute("select first_fetched_at from documents where sha256 = ?",
                                    [sha]).fetchone()
                row = {"sha256": sha, "url": doc["url"], "source": doc["source"],
                       "content_type": doc["content_type"], "bytes": doc["bytes"],
                       "archive_path": store.archive.relative_path(sha),
                       "first_fetched_at": doc["first_fetched_at"],
                       "http_status": doc["http_status"]}
                if exists is None:
                    db["documents"].insert(row, pk="sha256")
                    result.documents_added += 1
                elif (doc["first_fetched_at"] or "") < (exists[0] or "~"):
                    db["documents"].update(sha, row)  # an earlier first fetch on this node

            for fetch in fetches:
                if fetch["sha256"] in missing:
                    continue
                values = {c: fetch.get(c) for c in fetch_cols}
                values["run_id"] = run_map.get(fetch["run_id"]) if fetch["run_id"] else None
                known = db.execute("select 1 from fetches where sha256 = ? and url = ? and "
                                   "captured_at = ?", [fetch["sha256"], fetch["url"],
                                                       fetch["captured_at"]]).fetchone()
                db.execute(
                    f"insert into fetches ({', '.join(fetch_cols)}) values "
                    f"({', '.join('?' for _ in fetch_cols)}) on conflict (sha256, url, "
                    "captured_at) do update set "
                    + ", ".join(f"{c} = excluded.{c}" for c in fetch_cols
                                if c not in ("sha256", "url", "captured_at"))
                    # the same capture fetched by two nodes: the earlier fetch stands
                    + " where excluded.fetched_at < fetches.fetched_at",
                    [values[c] for c in fetch_cols])
                result.fetches_added += int(known is None)

            fail_cols = [c for c in _columns(db, "crawl_failures") if c != "id"]
            for failure in failures:
                if failure["run_id"] not in run_map:
                    continue
                values = {c: failure.get(c) for c in fail_cols}
                values["run_id"] = run_map[failure["run_id"]]
                values["resolved_run_id"] = run_map.get(failure.get("resolved_run_id"))
                if values["resolved_run_id"] is None:
                    values["resolved_at"] = None
                same = db.execute(
                    "select id from crawl_failures where run_id = ? and url is ? and reason = ? "
                    "and failed_at is ? and seed is ?",
                    [values["run_id"], values["url"], values["reason"], values["failed_at"],
                     values["seed"]]).fetchone()
                if same is None:
                    db.execute(f"insert into crawl_failures ({', '.join(fail_cols)}) values "
                               f"({', '.join('?' for _ in fail_cols)})",
                               [values[c] for c in fail_cols])
                    result.failures_added += 1
                elif values["resolved_run_id"] is not None:  # answered since the last merge
                    db.execute("update crawl_failures set resolved_run_id = ?, resolved_at = ? "
                               "where id = ? and resolved_run_id is null",
                               [values["resolved_run_id"], values["resolved_at"], same[0]])

            for state in states:
                if state.get("run_id") is not None and state["run_id"] not in run_map:
                    continue
                db.execute(
                    "insert into crawl_state (spider, scope, key, value, updated_at, run_id) "
                    "values (?, ?, ?, ?, ?, ?) on conflict (spider, scope, key) do update set "
                    "value = excluded.value, updated_at = excluded.updated_at, "
                    "run_id = excluded.run_id where excluded.updated_at > crawl_state.updated_at",
                    [state["spider"], state["scope"], state["key"], state["value"],
                     state["updated_at"], run_map.get(state.get("run_id"))])
    return result


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where type = 'table' and name = ?",
                        [name]).fetchone() is not None


def summary(merged: list[NodeMerge], stats: Counter[str]) -> str:
    """One line for the CLI after the node lines."""
    parts = ", ".join(f"{k} {v}" for k, v in sorted(stats.items()))
    return (f"merged {len(merged)} node folder(s): {sum(m.runs_added for m in merged)} runs, "
            f"{sum(m.fetches_added for m in merged)} fetches; facts rebuilt ({parts})")


__all__ = ["MergeError", "NodeMerge", "merge_nodes", "node_id_of", "summary"]
