#!/usr/bin/env python3
"""Benchmark: how fast portal pages are classified, parsed and loaded, on the real corpus.

Measures, in one run on this machine:
  1. parse_portal against a bare `lxml.html.fromstring` of the same page, page by page
     (interleaved, best of --reps each), over every capture of every layout (classic,
     transitional, new): the median ratio is the figure to watch (target <= 3x), with the
     ratio per layout and over the whole corpus;
  2. the equality check: every embedded audit read again through the plain path
     (`urllib.parse.unquote_to_bytes` and the general row mapping) must give identical
     records to the fast path parse_portal uses (exit status 1 otherwise);
  3. classify_page + parse_portal over the corpus (pages/s, MB/s);
  4. Store.ingest of every capture into a fresh database (archive + facts), then the
     sharing-interval refresh;
  5. `reparse_all` from the archive (a full offline rebuild).
Prints one table; `--repeat N` scales the corpus N times (same pages, new capture dates) to see
how loading behaves as the database grows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import lxml.html  # noqa: E402

from alpr_inventory.archive import Archive  # noqa: E402
from alpr_inventory.ingest import Fetched, Store, utc_now  # noqa: E402
from alpr_inventory.schema import open_db  # noqa: E402
from alpr_inventory.settings import FLOCK_PORTAL_BASE, corpus_dir  # noqa: E402
from parsers.audit_csv import decode_data_uri, parse_search_audit_csv  # noqa: E402
from parsers.pagekind import classify_page  # noqa: E402
from parsers.portal import parse_portal  # noqa: E402

CAPTURE_FOLDERS = ("portals", "portals_transitional", "portals_new")


def timed(label: str, fn, units: int, unit: str, mb: float | None = None) -> float:
    start = time.perf_counter()
    fn()
    took = time.perf_counter() - start
    rate = f"{units / took:,.0f} {unit}/s"
    extra = f", {mb / took:,.1f} MB/s" if mb else ""
    print(f"{label:<48} {took:8.2f} s   {rate}{extra}")
    return took


def best(fn, reps: int) -> float:
    """Best of `reps` runs in CPU seconds of this process (time.process_time): the other
    processes of a shared 2-core machine then slow both sides of a ratio alike."""
    took = []
    for _ in range(reps):
        start = time.process_time()
        fn()
        took.append(time.process_time() - start)
    return min(took)


def parse_vs_lxml(bodies: list[tuple[Path, bytes]], reps: int) -> None:
    """Per page: best-of-reps parse_portal / best-of-reps lxml.html.fromstring, interleaved so
    that load from other processes hits both alike."""
    ratios: dict[str, list[float]] = defaultdict(list)
    totals = [0.0, 0.0]
    for _, body in bodies:
        layout = classify_page(body, 200).layout or "?"
        bare = best(lambda b=body: lxml.html.fromstring(b), reps)
        full = best(lambda b=body: parse_portal(b), reps)
        ratios[layout].append(full / bare)
        totals[0] += bare
        totals[1] += full
    every = [r for rs in ratios.values() for r in rs]
    median = statistics.median(every)
    print(f"{'parse_portal vs bare lxml.html.fromstring':<48} median {median:.2f}x"
          f" over {len(every)} pages (p90 {statistics.quantiles(every, n=10)[-1]:.2f}x; "
          f"whole corpus {totals[1] / totals[0]:.2f}x: {totals[1]:.2f} s vs {totals[0]:.2f} s)")
    for layout, rs in sorted(ratios.items()):
        print(f"{'':<48} {layout}: median {statistics.median(rs):.2f}x over {len(rs)} pages")


def audits_identical(bodies: list[tuple[Path, bytes]]) -> bool:
    """Every embedded audit: the fast path (what parse_portal returned) against the plain
    path (unquote_to_bytes, the general row mapping): same columns, rows and warnings."""
    audits = rows = 0
    differ = []
    for path, body in bodies:
        page = parse_portal(body)
        if not page.search_audit_present:
            continue
        links = [a.get("href") for a in lxml.html.fromstring(body).iter("a")
                 if (a.get("href") or "")[:5].lower() == "data:"
                 and a.get("download") == page.search_audit_filename]
        columns, records, warnings = parse_search_audit_csv(
            decode_data_uri(links[0], fast=False), fast=False)
        audits += 1
        rows += len(records)
        if (columns, records) != (page.search_audit_columns, page.search_audit) or any(
                w not in page.warnings for w in warnings):
            differ.append(path)
    verdict = "identical" if not differ else f"DIFFERENT in {len(differ)}: {differ[:3]}"
    print(f"{'audit records, fast path vs plain path':<48} {verdict} "
          f"({audits} audits, {rows:,} rows)")
    return not differ


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--corpus", type=Path, default=corpus_dir() / "flock",
                    help="a flock/ folder (portals/, portals_transitional/, portals_new/) or "
                         "one folder of <slug>/<date>.html")
    ap.add_argument("--repeat", type=int, default=1, help="load the corpus N times (N dates)")
    ap.add_argument("--reps", type=int, default=5, help="timings per page for the ratio")
    args = ap.parse_args()
    folders = [args.corpus / f for f in CAPTURE_FOLDERS if (args.corpus / f).is_dir()]
    files = sorted(f for folder in (folders or [args.corpus]) for f in folder.glob("*/*.html"))
    bodies = [(f, f.read_bytes()) for f in files]
    mb = sum(len(b) for _, b in bodies) / 1e6
    print(f"{len(files)} captures, {mb:.1f} MB, from {args.corpus}\n")

    parse_vs_lxml(bodies, args.reps)
    same = audits_identical(bodies)

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
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
