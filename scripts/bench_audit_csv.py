#!/usr/bin/env python3
"""Benchmark: audit CSV rows per second into SQLite, against a raw executemany baseline.

Both sides start from the same CSV file and end with rows in a table keyed by search id, in
one run on this machine:
  baseline  csv.reader + sqlite3 executemany into a plain 5-column table (no parsing, no
            checks, default journal);
  raw-same  csv.reader + sqlite3 executemany of the same cells into the inventory's own
            searches table (same schema, WAL, indexes): the cost of the write alone;
  ours      the import path for audit CSVs (alpr_inventory.store.search_loader): header discovery
            and column mapping, dates to UTC, counts as ints, dedupe against what is stored
            (new / known / changed), immigration-reason and federal-searcher flags, upsert
            with first/last seen and evidence documents.
The CSV is Eugene OR PD's real 2025 audit replicated with fresh ids to --rows rows. After the
first round, the rows the import path stored are checked against the baseline's, row for row;
--repeat runs more rounds (the machine is shared: compare ratios from the same round).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alpr_inventory.load.ingest import Store  # noqa: E402
from alpr_inventory.settings import corpus_dir  # noqa: E402
from alpr_inventory.store.archive import Archive  # noqa: E402
from alpr_inventory.store.plates import load_or_create_key, plate_hasher  # noqa: E402
from alpr_inventory.store.schema import open_db  # noqa: E402
from parsers.plate_tokens import mask_plates  # noqa: E402


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


def row_check(tmp: str, rows: int) -> str:
    """Row for row, what the import path stored against what the baseline stored."""
    conn = sqlite3.connect(f"{tmp}/ours.db")
    conn.execute(f"attach '{tmp}/baseline.db' as base")
    # plates typed into reasons are stored as keyed tokens: the baseline's reasons, masked alike
    hash_plate = plate_hasher(load_or_create_key(tmp))
    conn.create_function("masked", 1, lambda text: mask_plates(text, hash_plate)[0])
    ours_n = conn.execute("select count(*) from main.searches").fetchone()[0]
    base_n = conn.execute("select count(*) from base.searches").fetchone()[0]
    differ = conn.execute("""
        select count(*) from base.searches b left join main.searches o using (search_id)
        where o.search_id is null or o.user_id is not b.user_id
           or o.searched_at_raw is not b.searched_at or o.camera_count is not b.camera_count
           or o.reason is not nullif(masked(b.reason), '')
           or o.searched_at is not
              substr(b.searched_at, 1, 10) || 'T' || substr(b.searched_at, 12) || 'Z'
        """).fetchone()[0]
    conn.close()
    ok = ours_n == base_n == rows and not differ
    return (f"row-for-row check: {ours_n:,} rows stored, baseline {base_n:,}; "
            f"{differ:,} differ in id/user/date/cameras/reason: {'OK' if ok else 'MISMATCH'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of all three measurements (each round in a fresh directory); "
                         "the ratios of every round and their median are printed")
    args = ap.parse_args()
    text = make_csv(args.rows)
    print(f"{args.rows:,} audit rows ({len(text) / 1e6:.0f} MB of CSV)")
    ratios = []
    first_check = ""
    for round_ in range(args.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            b = baseline(text, f"{tmp}/baseline.db")
            r = raw_same_table(text, tmp)
            o = ours(text, tmp)
            check = row_check(tmp, args.rows) if round_ == 0 else None
            first_check = check or first_check
        if args.repeat > 1:
            print(f"round {round_ + 1}:")
        print(f"baseline: executemany, plain table    {b:7.2f} s  {args.rows / b:>12,.0f} rows/s")
        print(f"raw-same: executemany, searches table {r:7.2f} s  {args.rows / r:>12,.0f} rows/s")
        print(f"alpr-inventory import path            {o:7.2f} s  {args.rows / o:>12,.0f} rows/s")
        print(f"ratio ours / baseline: {b / o:.2f}   ours / raw-same: {r / o:.2f}   "
              "(target >= 0.5)")
        if check:
            print(check)
        ratios.append(b / o)
    if args.repeat > 1:
        print(f"ratios ours / baseline: {', '.join(f'{x:.2f}' for x in ratios)}; "
              f"median {statistics.median(ratios):.2f}")
    print("bench-result: " + json.dumps({"csv_vs_executemany": round(statistics.median(ratios), 2),
                                         "check": first_check.rsplit(": ", 1)[-1]}))


if __name__ == "__main__":
    main()
