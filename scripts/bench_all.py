#!/usr/bin/env python3
"""Every benchmark in one run on this machine, then their ratios side by side.

Runs each benchmark script in its own process (their output streams as it comes, with their
progress lines), collects the `bench-result:` line each prints last, and ends with one table:
audit CSV load against raw executemany, the audit PDF against a naive pdfplumber loop,
parse_portal against a bare lxml parse of the same pages, portal pages imported per second, each
with its target and its row-for-row check. Arguments go to bench_audit_csv.py (--rows N).
The national-scale benchmark is separate (scripts/bench_scale: it builds a 7 GB database).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHES = [
    ("audit CSV", ["bench_audit_csv.py"], True),
    ("audit PDF", ["bench_audit_pdf.py"], False),
    ("portal pages", ["bench_portals.py"], False),
    ("single steps (were timed tests)", ["bench_steps.py"], False),
]
ROWS = [  # key, what, target, how it reads
    ("csv_vs_executemany", "audit CSV load / raw executemany (rows/s)", ">= 0.5x", "{:.2f}x"),
    ("pdf_vs_naive", "audit PDF / naive pdfplumber loop (pages/s)", ">= 3x", "{:.1f}x"),
    ("parse_portal_vs_lxml", "parse_portal time / bare lxml.html.fromstring", "<= 3x",
     "{:.2f}x"),
    ("import_pages_per_s", "portal pages imported (ingest + finish), median", ">= 100/s",
     "{:,}/s"),
    ("import_pages_per_s_best", "portal pages imported, best of the runs", "", "{:,}/s"),
]


def main() -> int:
    results: dict[str, object] = {}
    checks: dict[str, str] = {}
    started = time.perf_counter()
    for title, script, takes_args in BENCHES:
        print(f"\n== {title}", flush=True)
        args = [sys.executable, str(HERE / script[0]), *(sys.argv[1:] if takes_args else [])]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, bufsize=1,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("bench-result: "):
                found = json.loads(line.removeprefix("bench-result: "))
                check = str(found.pop("check", ""))
                for key in found:
                    checks[key] = check
                results.update(found)
            else:
                print(line, end="", flush=True)
        if proc.wait() != 0:
            print(f"({script[0]} exited with {proc.returncode})")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n== all ratios, this machine ({os.cpu_count()} cores, load average {load}), "
          f"{time.perf_counter() - started:.0f} s")
    print(f"{'measure':<50} {'result':>10}  {'target':<9} row-for-row check")
    ok = True
    for key, what, target, fmt in ROWS:
        value = results.get(key)
        shown = fmt.format(value) if value is not None else "missing"
        check = checks.get(key, "")
        ok &= value is not None and check in ("OK", "")
        print(f"{what:<50} {shown:>10}  {target:<9} {check}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
