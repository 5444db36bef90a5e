#!/usr/bin/env python3
"""Benchmark: how fast portal pages are classified, parsed and loaded, on the real corpus.

Measures, in one run on this machine:
  1. lxml alone building the tree of every capture (the floor any lxml parser pays);
  2. classify_page + parse_portal on every capture (pages/s, MB/s);
  3. Store.ingest of every capture into a fresh database (archive + facts), then the
     sharing-interval refresh;
  4. `reparse_all` from the archive (a full offline rebuild).
Prints one table; `--repeat N` scales the corpus N times (same pages, new capture dates) to see
how loading behaves as the database grows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lxml.html  # noqa: E402

from alpr_inventory.archive import Archive  # noqa: E402
from alpr_inventory.ingest import Fetched, Store, utc_now  # noqa: E402
from alpr_inventory.schema import open_db  # noqa: E402
from alpr_inventory.settings import FLOCK_PORTAL_BASE, corpus_dir  # noqa: E402
from parsers.pagekind import classify_page  # noqa: E402
from parsers.portal import parse_portal  # noqa: E402


def timed(label: str, fn, units: int, unit: str, mb: float | None = None) -> float:
    start = time.perf_counter()
    fn()
    took = time.perf_counter() - start
    rate = f"{units / took:,.0f} {unit}/s"
    extra = f", {mb / took:,.1f} MB/s" if mb else ""
    print(f"{label:<48} {took:8.2f} s   {rate}{extra}")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=corpus_dir() / "flock" / "portals")
    ap.add_argument("--repeat", type=int, default=1, help="load the corpus N times (N dates)")
    args = ap.parse_args()
    files = sorted(args.corpus.glob("*/*.html"))
    bodies = [(f, f.read_bytes()) for f in files]
    mb = sum(len(b) for _, b in bodies) / 1e6
    print(f"{len(files)} captures, {mb:.1f} MB, from {args.corpus}\n")

    timed("lxml.html.fromstring only (floor)", lambda: [lxml.html.fromstring(b) for _, b in bodies],
          len(files), "pages", mb)
    timed("classify_page", lambda: [classify_page(b, 200) for _, b in bodies],
          len(files), "pages", mb)
    pages = []
    timed("parse_portal", lambda: pages.extend(parse_portal(b) for _, b in bodies),
          len(files), "pages", mb)
    audit_rows = sum(len(p.search_audit) for p in pages)
    names = sum(len(p.sharing_outbound) + len(p.sharing_inbound) for p in pages)
    print(f"{'':<48} ({audit_rows:,} audit rows, {names:,} sharing names)")

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(open_db(f"{tmp}/bench.db"), Archive(f"{tmp}/archive"))

        def load() -> None:
            for rep in range(args.repeat):
                for f, body in bodies:
                    day = f"{f.stem}T{rep:02d}:00:00Z"
                    store.ingest(Fetched(body=body, url=FLOCK_PORTAL_BASE + f.parent.name,
                                         source="bench", fetched_at=utc_now(), captured_at=day,
                                         captured_at_basis="given", http_status=200,
                                         requested_slug=f.parent.name))

        n = len(files) * args.repeat
        timed(f"ingest (archive + parse + load) x{args.repeat}", load, n, "pages", mb * args.repeat)
        timed("refresh_sharing (intervals)", store.refresh_sharing, n, "snapshots")
        rows = store.db["sharing"].count
        print(f"{'':<48} ({rows:,} sharing intervals, {store.db['searches'].count:,} searches)")
        timed("reparse_all (offline rebuild)", store.reparse_all, n, "pages", mb * args.repeat)


if __name__ == "__main__":
    main()
