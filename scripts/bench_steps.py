#!/usr/bin/env python3
"""Benchmark: single steps whose speed the tests used to assert with timers.

Speed is measured here, never by timed tests (DEVELOPERS.md): each line is one step, timed on
this machine (best and median of --runs), next to the limit the old test asserted, so a
regression shows up in `./scripts/bench` and the tests keep only their functional checks.

  resolver       Resolver.resolve_many of 20,000 generated names, fresh resolver (was < 5 s)
  classify_page  the constructed 635 KB new-layout page (was < 50 ms)
  parse_portal   the same page (was < 1 s)
  pdf_status     the 809-page Okaloosa audit export: samples 3 pages (was < 2 s)
  legistar       `crawl legistar sanjose` over the local replay of the recorded meeting, in a
                 child process like the CLI (was < 60 s)
  report PDF     `report "Okaloosa County FL SO" --format pdf` after importing its sharing
                 report, in a child process, Chromium printing (was < 60 s; skipped without
                 Chromium)

The 809-page audit PDF parse (was < 60 s) is measured by bench_audit_pdf.py and the sweep of
the 536 classic captures (was < 60 s) by bench_portals.py.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))  # the constructed pages the tests use

from alpr_inventory.settings import corpus_dir  # noqa: E402

CORPUS = corpus_dir()
OKALOOSA = CORPUS / "records" / "okaloosa_fl_so"
AUDIT = OKALOOSA / "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf"
SHARING = OKALOOSA / "Sharing_Agencies.pdf"


def timed(label: str, fn: Callable[[], object], runs: int, limit_s: float) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    best, median = min(times), statistics.median(times)
    unit, scale = ("ms", 1000) if median < 1 else ("s", 1)
    print(f"{label:<44} best {best * scale:9.2f} {unit:<2} median {median * scale:9.2f} {unit:<2}"
          f"  (old test limit {limit_s:g} s: {limit_s / median:,.0f}x headroom)", flush=True)


def cli(*args: str, db: Path) -> None:
    env = {**os.environ, "ALPR_CORPUS": str(CORPUS)}
    done = subprocess.run([sys.executable, "-m", "alpr_inventory.cli", *args, "--db", str(db)],
                          env=env, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-2000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    from portal_pages import LARGE_PAGE_FILLER, new_layout_page

    from alpr_inventory.resolve.resolver import Resolver
    from parsers.flock.pagekind import classify_page
    from parsers.flock.portal import parse_portal
    from parsers.pdf.pdf_status import pdf_status

    names = [f"Town {i} CA PD" if i % 3 else f"Agency {i} County SO ({'GA' if i % 2 else 'TX'})"
             for i in range(20_000)]
    timed("resolver: resolve_many, 20,000 names", lambda: Resolver.load().resolve_many(names),
          args.runs, 5)
    body = new_layout_page(filler_orgs=LARGE_PAGE_FILLER).encode()
    timed(f"classify_page, {len(body) / 1000:,.0f} KB new-layout page",
          lambda: classify_page(body), args.runs * 4, 0.05)
    timed(f"parse_portal, {len(body) / 1000:,.0f} KB new-layout page",
          lambda: parse_portal(body), args.runs, 1)
    if AUDIT.exists():
        timed("pdf_status, 809-page audit export", lambda: pdf_status(AUDIT), args.runs, 2)

    from alpr_inventory.demo.legistar_replay import LegistarReplayServer

    with tempfile.TemporaryDirectory() as tmp:
        def legistar() -> None:
            db = Path(tmp) / f"legistar-{time.monotonic_ns()}.db"
            with LegistarReplayServer() as replay:
                cli("crawl", "legistar", "sanjose", "--base-url", replay.api_base,
                    "--log-level", "WARNING", db=db)
        timed("crawl legistar sanjose (replay, child process)", legistar, 1, 60)

        from crawlers.settings import find_chromium

        if not find_chromium():
            print("report PDF: skipped (no Chromium)")
            return
        db = Path(tmp) / "okaloosa.db"
        cli("import", str(SHARING), "--captured-at", "2025-12-08", db=db)
        timed("report Okaloosa --format pdf (child process)",
              lambda: cli("report", "Okaloosa County FL SO", "--format", "pdf", "-o",
                          str(Path(tmp) / "okaloosa.pdf"), db=db), 1, 60)


if __name__ == "__main__":
    main()
