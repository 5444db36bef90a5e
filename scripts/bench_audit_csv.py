#!/usr/bin/env python3
"""Benchmark: audit CSV rows per second into SQLite, against a raw executemany baseline.

Both sides start from the same CSV file and end with rows in a table keyed by search id, in
one run on this machine:
  baseline  csv.reader + sqlite3 executemany into a plain 5-column table (no parsing, no
            checks, default journal);
  raw-same  csv.reader + sqlite3 executemany of the same cells into the inventory's own
            searches table (same schema, WAL, indexes): the cost of the write alone;
  ours      the import path for audit CSVs (alpr_inventory.search_loader): header discovery
            and column mapping, dates to UTC, counts as ints, dedupe against what is stored
            (new / known / changed), immigration-reason and federal-searcher flags, upsert
            with first/last seen and evidence documents.
The CSV is Eugene OR PD's real 2025 audit replicated with fresh ids to --rows rows.
"""

from __future__ import annotations

import argparse
import csv
import io
import sqlite3
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alpr_inventory.archive import Archive  # noqa: E402
from alpr_inventory.ingest import Store  # noqa: E402
from alpr_inventory.schema import open_db  # noqa: E402
from alpr_inventory.settings import corpus_dir  # noqa: E402


def make_csv(rows: int) -> str:
    source = corpus_dir() / "flock" / "audit" / "eugene_or_pd" / "EPDSearchAuditLogs.csv"
    with open(source, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        real = list(reader)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL)
    writer.writerow(header)
    for i in range(rows):
        row = list(real[i % len(real)])
        row[0] = str(uuid.UUID(int=i + 1))
        writer.writerow(row)
    return out.getvalue()


def baseline(text: str, path: str) -> float:
    conn = sqlite3.connect(path)
    conn.execute("create table searches (search_id text primary key, user_id text, "
                 "searched_at text, camera_count integer, reason text)")
    start = time.perf_counter()
    reader = csv.reader(io.StringIO(text))
    next(reader)
    with conn:
        conn.executemany("insert into searches values (?, ?, ?, ?, ?)", reader)
    took = time.perf_counter() - start
    conn.close()
    return took


def raw_same_table(text: str, tmp: str) -> float:
    db = open_db(f"{tmp}/raw.db")
    reader = csv.reader(io.StringIO(text))
    next(reader)
    start = time.perf_counter()
    with db.atomic():
        db.conn.executemany(
            "insert into searches (search_id, user_id, searched_at, camera_count, reason) "
            "values (?, ?, ?, ?, ?)", reader)
    took = time.perf_counter() - start
    db.close()
    return took


def ours(text: str, tmp: str) -> float:
    store = Store(open_db(f"{tmp}/ours.db"), Archive(f"{tmp}/archive"))
    start = time.perf_counter()
    with store.db.atomic():
        store._load_searches([], "0" * 64, "2026-01-01T00:00:00Z", None, csv_text=text)
    took = time.perf_counter() - start
    store.db.close()
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    text = make_csv(args.rows)
    print(f"{args.rows:,} audit rows ({len(text) / 1e6:.0f} MB of CSV)")
    with tempfile.TemporaryDirectory() as tmp:
        b = baseline(text, f"{tmp}/baseline.db")
        r = raw_same_table(text, tmp)
        o = ours(text, tmp)
    print(f"baseline: executemany, plain table    {b:7.2f} s  {args.rows / b:>12,.0f} rows/s")
    print(f"raw-same: executemany, searches table {r:7.2f} s  {args.rows / r:>12,.0f} rows/s")
    print(f"alpr-inventory import path            {o:7.2f} s  {args.rows / o:>12,.0f} rows/s")
    print(f"ratio ours / baseline: {b / o:.2f}   ours / raw-same: {r / o:.2f}   (target >= 0.5)")


if __name__ == "__main__":
    main()
