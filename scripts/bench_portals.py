#!/usr/bin/env python3
"""Benchmark: how fast portal pages are classified, parsed and imported, on the real corpus.

Measures, in one run on this machine:
  1. lxml alone building the tree of every capture (the floor any lxml parser pays), and
     parse_portal of the same bytes: the ratio parse_portal / bare lxml (target <= 3x);
  2. an import of every capture into a fresh database, as `alpr-inventory import` does it:
     Store.ingest of each page, then Store.finish (sharing intervals, change history, full-text
     indexes, Atom feed, statistics): pages per second (target >= 100), with where the time
     goes (parse, archive, load of facts, and each step of finish);
  3. `reparse_all` from the archive (a full offline rebuild), and the row-for-row check: every
     fact table holds exactly the same rows after the rebuild as after the import, so the
     incremental paths of a load give what a rebuild from scratch gives.
`--repeat N` imports the corpus N times (same pages, new capture dates) to see how loading
behaves as the database grows. The last line is a `bench-result:` line for scripts/bench.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lxml.html  # noqa: E402

from alpr_inventory import ingest  # noqa: E402
from alpr_inventory.archive import Archive  # noqa: E402
from alpr_inventory.ingest import Fetched, Store, utc_now  # noqa: E402
from alpr_inventory.schema import FACT_TABLES, open_db  # noqa: E402
from alpr_inventory.settings import FLOCK_PORTAL_BASE, corpus_dir  # noqa: E402
from parsers.pagekind import classify_page  # noqa: E402
from parsers.portal import parse_portal  # noqa: E402

# where an import spends its time: module functions and Store methods, timed by wrapping them
STEPS = {
    "parse (interpret: classify + parse_portal)": (ingest, "interpret"),
    "archive (hash + write the bytes)": (Archive, "put"),
    "document row, type, text": (Store, "_record_interpretation"),
    "load facts (snapshot, lists, searches)": (Store, "_load_facts"),
    "finish: sharing intervals (refresh_sharing)": (Store, "refresh_sharing"),
    "finish: 287(g), state policies": (ingest, "refresh_state_policies"),
    "finish: change history (refresh_changes)": (ingest, "refresh_changes"),
    "finish: full-text indexes (rebuild_fts)": (ingest, "rebuild_fts"),
    "finish: Atom feed": (ingest, "write_atom_feed"),
    "finish: statistics (ANALYZE)": (ingest, "refresh_statistics"),
}


def timed(label: str, fn: Callable[[], Any], units: int, unit: str,
          mb: float | None = None) -> float:
    start = time.perf_counter()
    fn()
    took = time.perf_counter() - start
    rate = f"{units / took:,.0f} {unit}/s"
    extra = f", {mb / took:,.1f} MB/s" if mb else ""
    print(f"{label:<48} {took:8.2f} s   {rate}{extra}", flush=True)
    return took


class StepTimer:
    """Wraps the STEPS so each accumulates its own time (outermost call only)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> StepTimer:
        for label, (owner, name) in STEPS.items():
            original = getattr(owner, name)
            self.saved.append((owner, name, original))
            setattr(owner, name, self._wrap(label, original))
        return self

    def _wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        depth = [0]

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            depth[0] += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                depth[0] -= 1
                if not depth[0]:
                    self.spent[label] += time.perf_counter() - start
        return wrapper

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in self.saved:
            setattr(owner, name, original)


def facts(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every fact table's rows (without rowids), sorted, for the row-for-row check."""
    out = {}
    for table in FACT_TABLES:
        rows = store.db.execute(f"select * from [{table}]").fetchall()
        out[table] = sorted(rows, key=repr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=corpus_dir() / "flock" / "portals")
    ap.add_argument("--repeat", type=int, default=1, help="load the corpus N times (N dates)")
    args = ap.parse_args()
    files = sorted(args.corpus.glob("*/*.html"))
    # imported in the order a rebuild reads them (by SHA-256): a search's first content and an
    # alias's first document are those of the first document loaded, so with the same order
    # the import and the rebuild must agree row for row
    bodies = sorted(((f, f.read_bytes()) for f in files),
                    key=lambda fb: hashlib.sha256(fb[1]).hexdigest())
    mb = sum(len(b) for _, b in bodies) / 1e6
    print(f"{len(files)} captures, {mb:.1f} MB, from {args.corpus}\n")

    floor = timed("lxml.html.fromstring only (floor)",
                  lambda: [lxml.html.fromstring(b) for _, b in bodies], len(files), "pages", mb)
    timed("classify_page", lambda: [classify_page(b, 200) for _, b in bodies],
          len(files), "pages", mb)
    pages = []
    parse = timed("parse_portal", lambda: pages.extend(parse_portal(b) for _, b in bodies),
                  len(files), "pages", mb)
    audit_rows = sum(len(p.search_audit) for p in pages)
    names = sum(len(p.sharing_outbound) + len(p.sharing_inbound) for p in pages)
    print(f"{'':<48} ({audit_rows:,} audit rows, {names:,} sharing names)")
    print(f"{'parse_portal / bare lxml':<48} {parse / floor:8.2f} x  (target <= 3x)\n")

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(open_db(f"{tmp}/bench.db"), Archive(f"{tmp}/archive"))
        n = len(files) * args.repeat

        def load() -> None:
            done = 0
            for rep in range(args.repeat):
                for f, body in bodies:
                    day = f"{f.stem}T{rep:02d}:00:00Z"
                    store.ingest(Fetched(body=body, url=FLOCK_PORTAL_BASE + f.parent.name,
                                         source="bench", fetched_at=utc_now(), captured_at=day,
                                         captured_at_basis="given", http_status=200,
                                         requested_slug=f.parent.name))
                    done += 1
                    if done % 100 == 0:
                        print(f"  imported {done}/{n} pages", file=sys.stderr, flush=True)

        with StepTimer() as steps:
            ingest_s = timed(f"import: ingest every page x{args.repeat}", load, n, "pages",
                             mb * args.repeat)
            finish_s = timed("import: finish (intervals, changes, FTS, feed)", store.finish, n,
                             "pages")
        total = ingest_s + finish_s
        print(f"{'import (ingest + finish)':<48} {total:8.2f} s   {n / total:,.0f} pages/s  "
              "(target >= 100 pages/s)")
        for label, spent in sorted(steps.spent.items(), key=lambda kv: -kv[1]):
            print(f"    {label:<46} {spent:7.2f} s  {100 * spent / total:4.0f}%")
        other = total - sum(steps.spent.values())
        print(f"    {'other (transactions, fetch rows, run)':<46} {other:7.2f} s  "
              f"{100 * other / total:4.0f}%")
        rows = store.db["sharing"].count
        print(f"{'':<48} ({rows:,} sharing intervals, {store.db['searches'].count:,} searches, "
              f"{store.db['changes'].count:,} changes)")
        imported = facts(store)
        timed("reparse_all (offline rebuild)", store.reparse_all, n, "pages", mb * args.repeat)
        rebuilt = facts(store)
        differ = [t for t in FACT_TABLES if imported[t] != rebuilt[t]]
        count = sum(len(v) for v in imported.values())
        check = "OK" if not differ else f"MISMATCH in {', '.join(differ)}"
        print(f"row-for-row check: {count:,} fact rows in {len(FACT_TABLES)} tables after the "
              f"import, the same after a full rebuild: {check}")
    print("bench-result: " + json.dumps({
        "parse_portal_vs_lxml": round(parse / floor, 2), "import_pages_per_s": round(n / total),
        "check": check}))


if __name__ == "__main__":
    main()
