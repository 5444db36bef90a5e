"""Benchmark: the naive pdfplumber loop vs parse_org_audit on the Okaloosa audit export.

Runs both on the same machine in one process run and prints pages/s, the ratio, and peak RSS per
worker. The naive loop is exactly ``for page in pdf.pages: page.extract_words()``; it also counts
UUID-shaped words left of the Org Name column, an independent count of the rows to compare with.
The project target is >= 3x the naive loop with < 1 GB per worker.

    .venv/bin/python scripts/bench_audit_pdf.py [--pdf PATH] [--workers 2] [--reference]

``--reference`` also runs parse_org_audit with the pdfplumber backend (same workers) and checks
that its records are identical: it shows why the fast path reads characters with pdfium (two
pdfplumber processes cannot reach 3x the one-process loop) and that the output is the same.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from pathlib import Path

import pdfplumber

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from alpr_inventory.settings import corpus_dir  # noqa: E402
from parsers.flock.audit_pdf import parse_org_audit, read_audit_layout  # noqa: E402

DEFAULT_PDF = (corpus_dir() / "records" / "okaloosa_fl_so"
               / "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _mb(kib: float) -> float:
    return kib / 1024.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pdf", type=Path, default=DEFAULT_PDF)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--reference", action="store_true",
                    help="also run the pdfplumber backend and compare the records")
    args = ap.parse_args()
    path: Path = args.pdf
    path.read_bytes()  # warm the page cache so neither run pays for the disk

    # Ours first, while this process is small: forked workers start from its memory.
    started = time.perf_counter()
    export = parse_org_audit(path, workers=args.workers)
    ours = time.perf_counter() - started
    children_peak = _mb(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)

    layout = read_audit_layout(path)
    id_right = layout.lefts[1] - layout.slack if layout else 180.0
    started = time.perf_counter()
    uuid_words = 0
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            words = page.extract_words()
            uuid_words += sum(1 for w in words if w["x0"] < id_right and UUID.match(w["text"]))
    naive = time.perf_counter() - started
    naive_peak = _mb(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)

    pages = export.pages
    print(f"file: {path.name} ({pages} pages, status {export.status}, "
          f"{len(export.warnings)} warnings)")
    print(f"naive pdfplumber loop (1 process): {naive:7.2f} s  {pages / naive:7.1f} pages/s  "
          f"peak RSS {naive_peak:.0f} MB (this process)")
    print(f"parse_org_audit (workers={args.workers}):    {ours:7.2f} s  "
          f"{pages / ours:7.1f} pages/s")
    print(f"speed-up: {naive / ours:.1f}x (target >= 3x)")
    chunks = export.worker_peak_rss_mb
    if chunks:
        print(f"peak RSS per worker: max {max(chunks):.0f} MB over {len(chunks)} jobs "
              f"(getrusage of children: {children_peak:.0f} MB; target < 1024 MB)")
    print(f"rows parsed: {len(export.records)}; UUID words in the ID column (naive loop): "
          f"{uuid_words}; {'equal' if uuid_words == len(export.records) else 'DIFFERENT'}")
    same = True
    if args.reference:
        started = time.perf_counter()
        reference = parse_org_audit(path, workers=args.workers, backend="pdfplumber")
        slow = time.perf_counter() - started
        same = reference.records == export.records
        print(f"parse_org_audit, pdfplumber backend (workers={args.workers}): {slow:.2f} s "
              f"({naive / slow:.1f}x the naive loop); records identical to the pdfium "
              f"backend: {same}")
    ok = uuid_words == len(export.records) and export.status == "ok" and same
    print("bench-result: " + json.dumps({"pdf_vs_naive": round(naive / ours, 1),
                                         "check": "OK" if ok else "MISMATCH"}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
