#!/usr/bin/env python3
"""National-scale benchmark: every user question against a synthetic national database.

Usage: scripts/bench_scale [N_SEARCHES] [--scale F] [--runs 5] [--only TEXT] [--rebuild]

Builds (once, then cached under data/bench/, keyed by the sizes and the schema's tables and
indexes) a database in the project's own schema with 6,822 agencies, 1,100 portals x 6
captures, ~1M sharing intervals, ~720k changes and N_SEARCHES searches (default 10,001,446):
see scripts/scale_db.py. Then times, warm, the median of --runs runs of every question a user
can ask, found from the code rather than listed by hand:

  canned   each query in schema.CANNED_QUERIES, with its parameters empty and then each one
           set (an agency by name and by id, a state, a date, a search term), first 1,001 rows
           (what Datasette fetches);
  view     each view in schema.VIEWS, unfiltered and filtered on each agency or state column,
           as Datasette's table page queries it (first 101 rows and the count);
  table    each table with an agency column, filtered on it the same way;
  cli      alpr-inventory agencies, agencies --federal, state ST, changes --agency NAME;
  report   the exposure report of the agency with the most searches (build_report + HTML);
  page     the Datasette pages of all of the above (test client, same metadata, settings and
           plugin as `alpr-inventory serve`), the agency's row page and its report route.

Prints a table of milliseconds, then the query plan of every SQL statement (SCANs of big tables
flagged), then the slowest of each kind. The last line is
`slowest answer: <ms> ms (<question>) at <N> searches / <M> sharing rows`, where answers are the
canned queries, views, tables and CLI commands (the report and pages are summarised above it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale_db import DEFAULT_SEARCHES, Sizes, cached_database  # noqa: E402

from alpr_inventory.serve.datasette_plugin import (  # noqa: E402
    VIEW_TABLES,
    _table_rows,
    whole_page_switches,
)
from alpr_inventory.settings import REPO_ROOT  # noqa: E402
from alpr_inventory.store import schema

AGENCY_COLUMNS = ("data_owner_id", "owner_id", "grantee_id", "federal_grantee_id",
                  "searching_agency_id", "agency_id", "list_agency_id", "counterpart_id")
STATE_COLUMNS = ("owner_state", "state")
ROWS_SHOWN = 1_000  # Datasette's max_returned_rows: canned queries fetch this + 1
PAGE_SIZE = 100  # Datasette's default_page_size: table pages fetch this + 1 (wide ones:
# schema.WIDE_PAGE_SIZE)
BUDGET_S = 10.0  # a question slower than this once is not repeated
TIMEOUT_S = 60.0  # a SQL question is interrupted after this
ANSWER_KINDS = ("canned", "view", "table", "cli")


@dataclass
class Sample:
    agency_id: str
    agency_name: str
    state: str
    since: str
    text: str = "immigration"
    portal_document: str | None = None
    audit_document: str | None = None


@dataclass
class Question:
    kind: str
    label: str
    run: Callable[[], int]  # returns rows (or bytes for pages)
    sql: list[tuple[str, Any]] = field(default_factory=list)  # for EXPLAIN QUERY PLAN
    times: list[float] = field(default_factory=list)
    rows: int = 0
    note: str = ""
    traced: Traced | None = None  # CLI and report: the SQL they ran

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times) * 1000 if self.times else float("inf")


class Deadline:
    """Interrupts a connection's statement after TIMEOUT_S (SQLite's progress handler)."""

    def __init__(self) -> None:
        self.until = float("inf")

    def install(self, conn: sqlite3.Connection) -> None:
        conn.set_progress_handler(lambda: int(time.perf_counter() > self.until), 100_000)

    def arm(self) -> None:
        self.until = time.perf_counter() + TIMEOUT_S


DEADLINE = Deadline()


def sql_params(sql: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r"(?<!:):(\w+)", sql)))


def param_sets(names: list[str], sample: Sample) -> list[tuple[str, dict[str, str]]]:
    """All empty, then each parameter set on its own (agencies by name and by id)."""
    values: dict[str, list[tuple[str, str]]] = {
        "agency": [("name", sample.agency_name), ("id", sample.agency_id)],
        "state": [("", sample.state)], "since": [("", sample.since)],
        "federal": [("", "1")], "text": [("", sample.text)],
    }
    empty = {n: "" for n in names}
    if "text" in empty:  # an empty full-text query is an error, not a question
        empty["text"] = sample.text
    out = [("", empty)] if names else [("", {})]
    for name in names:
        if name == "text":
            continue
        for how, value in values.get(name, [("", "x")]):
            label = f"{name}={how or value}"
            out.append((label, {**empty, name: value}))
    return out


def fetch(conn: sqlite3.Connection, sql: str, params: Any, limit: int) -> int:
    DEADLINE.arm()
    cur = conn.execute(sql, params)
    return len(cur.fetchmany(limit))


# ---- the questions ---------------------------------------------------------------------------
def canned_questions(conn: sqlite3.Connection, sample: Sample) -> list[Question]:
    out = []
    for name, query in schema.CANNED_QUERIES.items():
        sql = query["sql"]
        for label, params in param_sets(sql_params(sql), sample):
            out.append(Question(
                "canned", f"{name}({label})" if label else name,
                lambda sql=sql, params=params: fetch(conn, sql, params, ROWS_SHOWN + 1),
                [(sql, params)]))
    return out


def filter_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if c in AGENCY_COLUMNS or c in STATE_COLUMNS]


def table_page_sql(conn: sqlite3.Connection, name: str, column: str | None,
                   order: str | None) -> tuple[str, str]:
    where = f'where "{column}" = :p0' if column else ""
    by = f"order by [{order}] desc" if order else ""
    size = schema.WIDE_PAGE_SIZE if name in schema.WIDE_RELATIONS else PAGE_SIZE
    return (f"select * from [{name}] {where} {by} limit {size + 1}",
            f"select count(*) from [{name}] {where}")


def relation_questions(conn: sqlite3.Connection, sample: Sample, big: dict[str, int]
                       ) -> list[Question]:
    """Views (every one) and tables (the big ones, and any with an agency column), unfiltered
    and filtered on each agency or state column, as Datasette's table page asks them."""
    out = []
    relations = [("view", v, None) for v in schema.VIEWS]
    relations += [("table", t.name, t.sort_desc) for t in schema.TABLES]
    for kind, name, order in relations:
        columns = [r[1] for r in conn.execute(f"pragma table_info([{name}])")]
        filters = filter_columns(columns)
        if kind == "table" and not filters and name not in big:
            continue
        for column in [None, *filters]:
            if kind == "table" and column is None and name not in big:
                continue
            value = None if column is None else (
                sample.state if column in STATE_COLUMNS else sample.agency_id)
            select, count = table_page_sql(conn, name, column, order)
            params = {"p0": value} if column else {}
            # what the page asks: an unfiltered page of a national table is not counted when
            # counting costs more than the page (datasette_plugin.whole_page_switches)
            counted = column is not None or "_nocount" not in whole_page_switches(
                name, kind == "view", _table_rows(conn, VIEW_TABLES.get(name, name)), [])

            def run(select: str = select, count: str = count, params: Any = params,
                    counted: bool = counted) -> int:
                rows = fetch(conn, select, params, ROWS_SHOWN + 1)
                if counted:
                    fetch(conn, count, params, 1)
                return rows
            label = f"{name}" + (f"?{column}=" + ("ST" if column in STATE_COLUMNS else "X")
                                 if column else " (whole)")
            out.append(Question(kind, label, run, [(select, params)] + (
                [(count, params)] if counted else []),
                note="" if counted else "not counted (_nocount)"))
    return out


class Traced:
    """Collects the SQL a command runs (expanded, with its parameters) for the plans."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def attach(self, conn: sqlite3.Connection) -> None:
        DEADLINE.install(conn)
        conn.set_trace_callback(self.statements.append)

    def plans(self) -> list[tuple[str, Any]]:
        keep = []
        for sql in dict.fromkeys(self.statements):
            head = sql.lstrip().lower()
            if head.startswith(("select", "with")) and "sqlite_master" not in head \
                    and "pragma" not in head:
                keep.append((sql, ()))
        return keep


def cli_questions(db_path: Path, sample: Sample) -> list[Question]:
    from click.testing import CliRunner

    from alpr_inventory.cli import cli

    runner = CliRunner()
    commands = [["agencies"], ["agencies", "--federal"], ["state", sample.state],
                ["changes", "--agency", sample.agency_name]]
    out = []
    for args in commands:
        traced = Traced()
        q = Question("cli", "alpr-inventory " + " ".join(
            a if a not in (sample.agency_name,) else "NAME" for a in args), lambda: 0)

        def run(args: list[str] = args, traced: Traced = traced) -> int:
            original = schema.open_db

            def open_traced(path: str) -> Any:
                db = original(path)
                traced.attach(db.conn)
                DEADLINE.arm()
                return db
            schema.open_db = open_traced  # the commands import it when they run
            try:
                result = runner.invoke(cli, [*args, "--db", str(db_path)], catch_exceptions=True)
            finally:
                schema.open_db = original
            if result.exit_code != 0:
                raise RuntimeError(f"exit {result.exit_code}: {result.output[-300:]} "
                                   f"{result.exception!r}")
            return result.output.count("\n")
        q.run = run
        q.traced = traced
        out.append(q)
    return out


def report_question(db_path: Path, sample: Sample) -> Question:
    from alpr_inventory.serve.report import build_report, render_html

    traced = Traced()
    conn = sqlite3.connect(db_path)
    conn.execute("pragma cache_size = -262144")  # as open_db (`alpr-inventory report`)
    traced.attach(conn)

    def run() -> int:
        DEADLINE.arm()
        report = build_report(conn, sample.agency_id)
        return len(render_html(report))
    return Question("report", f"report {sample.agency_id} (build_report + render_html)", run,
                    traced=traced)


def page_questions(db_path: Path, sample: Sample, sql_questions: list[Question]
                   ) -> tuple[list[Question], Callable[[], None]]:
    """The Datasette pages of the same questions, through Datasette's test client."""
    from urllib.parse import urlencode

    from datasette.app import Datasette
    from datasette.plugins import pm

    from alpr_inventory.serve import datasette_plugin

    if not pm.is_registered(datasette_plugin):
        pm.register(datasette_plugin, name="alpr_inventory")
    name = db_path.stem
    ds = Datasette([str(db_path)], metadata=schema.datasette_metadata(name),
                   settings=datasette_plugin.DATASETTE_SETTINGS)
    loop = asyncio.new_event_loop()

    def get(path: str) -> int:
        response = loop.run_until_complete(ds.client.get(path))
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]!r}")
        body = response.text
        if "SQL Interrupted" in body or "facets-timed-out" in body:
            raise RuntimeError("a query timed out in the page")
        return len(body)

    paths: list[tuple[str, str]] = []
    for q in sql_questions:
        if q.kind == "canned":
            query, _, rest = q.label.partition("(")
            params = q.sql[0][1]
            paths.append((f"{query}({rest}" if rest else query,
                          f"/{name}/{query}?{urlencode(params)}"))
        elif q.kind in ("view", "table"):
            relation, _, column = q.label.partition("?")
            relation = relation.replace(" (whole)", "")
            if column:
                col = column.split("=")[0]
                value = sample.state if col in STATE_COLUMNS else sample.agency_id
                paths.append((q.label, f"/{name}/{relation}?{urlencode({col: value})}"))
            else:
                paths.append((q.label, f"/{name}/{relation}"))
    paths.append(("agency row page", f"/{name}/agencies/{sample.agency_id}"))
    # evidence: the row pages of the agency's newest portal capture and its first audit export
    for label, doc in (("document row page (portal capture)", sample.portal_document),
                       ("document row page (audit export)", sample.audit_document)):
        if doc:
            paths.append((label, f"/{name}/documents/{doc}"))
    paths.append(("report route (Datasette)", f"/-/report/{sample.agency_id}"))
    # the report route serves the exposure report: its budget is the report's (1 s), not a
    # table page's
    out = [Question("report" if label.startswith("report route") else "page", label,
                    lambda path=path: get(path), note=path)
           for label, path in paths]
    return out, loop.close


# ---- running ---------------------------------------------------------------------------------
def measure(q: Question, runs: int) -> None:
    try:
        began = time.perf_counter()
        q.rows = q.run()
        first = time.perf_counter() - began
    except Exception as exc:  # a failing question is a result, not the end of the benchmark
        took = time.perf_counter() - began
        q.note = f"FAILED after {took * 1000:,.0f} ms: {type(exc).__name__}: {exc}"[:160]
        q.times = [took]
        return
    if first > BUDGET_S:
        q.times = [first]
        q.note = "run once (slower than the budget)"
        return
    for _ in range(runs):
        began = time.perf_counter()
        try:
            q.run()
        except Exception as exc:
            q.note = f"FAILED in a repeat: {type(exc).__name__}: {exc}"[:160]
        q.times.append(time.perf_counter() - began)


def aliases(sql: str) -> dict[str, str]:
    """alias -> table, from FROM/JOIN clauses of the statement and of the views it reads."""
    texts = [sql] + [v for k, v in schema.VIEWS.items() if re.search(rf"\b{k}\b", sql)]
    out: dict[str, str] = {}
    for text in texts:
        for table, alias in re.findall(
                r"(?:from|join)\s+\[?(\w+)\]?(?:\s+(?:as\s+)?(?!on\b|where\b|join\b|left\b|"
                r"group\b|order\b|limit\b|using\b|inner\b|cross\b)(\w+))?", text, re.I):
            out[alias or table] = table
            out[table] = table
    return out


def plan(conn: sqlite3.Connection, sql: str, params: Any, big: dict[str, int]) -> list[str]:
    DEADLINE.arm()
    try:
        rows = conn.execute(f"explain query plan {sql}", params).fetchall()
    except sqlite3.Error as exc:
        return [f"(no plan: {exc})"]
    names = aliases(sql)
    partial = {r[0] for r in conn.execute("select name from sqlite_master where type = 'index' "
                                          "and sql like '% where %'")}
    lines = []
    depth: dict[int, int] = {0: 0}
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, 0) + 1
        flag = ""
        m = re.match(r"SCAN (\w+)", detail)
        if m:
            table = names.get(m[1], m[1])
            using = re.search(r"USING (?:COVERING )?INDEX (\w+)", detail)
            if using and using[1] in partial:
                flag = "   (partial index: only the rows it covers)"
            elif table in big:
                flag = f"   <-- SCAN of {table} ({big[table]:,} rows)"
        lines.append("  " * depth[node] + detail + flag)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("searches", nargs="?", type=int, default=DEFAULT_SEARCHES,
                    help=f"searches to generate (default {DEFAULT_SEARCHES:,})")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="scale agencies, portals and agreements (for a quick trial run)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per question (median)")
    ap.add_argument("--only", help="only questions whose label contains this text")
    ap.add_argument("--no-pages", action="store_true", help="skip the Datasette pages")
    ap.add_argument("--no-write-path", action="store_true",
                    help="skip the per-load steps of Store.finish")
    ap.add_argument("--rebuild", action="store_true", help="build the database again")
    ap.add_argument("--build-only", action="store_true", help="build (or check) the database, "
                    "measure nothing")
    ap.add_argument("--cache-dir", type=Path, default=REPO_ROOT / "data" / "bench")
    args = ap.parse_args()

    base = Sizes()
    sizes = Sizes(searches=args.searches) if args.scale == 1 else Sizes(
        searches=args.searches, agencies=round(base.agencies * args.scale),
        portals=round(base.portals * args.scale),
        audit_portals=round(base.audit_portals * args.scale),
        agreements=round(base.agreements * args.scale))
    load_before = os.getloadavg()
    built = cached_database(args.cache_dir, sizes, args.rebuild)
    path, counts = built.path, built.counts
    if args.build_only:
        print(f"{path}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()
                                      if isinstance(v, int)))
        return
    conn = sqlite3.connect(path)
    conn.execute("pragma cache_size = -262144")  # as open_db
    DEADLINE.install(conn)
    big = {t: n for t, n in counts.items() if isinstance(n, int) and n >= 100_000}
    sample = choose_sample(conn, counts)
    print(f"database {path} ({path.stat().st_size / 1e9:.1f} GB): "
          + ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int)))
    print(f"sample agency: {sample.agency_name} ({sample.agency_id}), state {sample.state}, "
          f"since {sample.since}; load average before: "
          + " ".join(f"{x:.2f}" for x in load_before) + f" ({os.cpu_count()} cores)\n")

    questions = canned_questions(conn, sample) + relation_questions(conn, sample, big)
    questions += cli_questions(path, sample)
    questions.append(report_question(path, sample))
    close = None
    if not args.no_pages:
        pages, close = page_questions(path, sample, questions)
        questions += pages
    if args.only:
        questions = [q for q in questions if args.only in q.label or args.only == q.kind]

    print(f"{'kind':<7} {'question':<62} {'median ms':>10} {'min':>8} {'max':>8} {'rows':>7}")
    for q in questions:
        measure(q, args.runs)
        ms = [t * 1000 for t in q.times]
        print(f"{q.kind:<7} {q.label[:62]:<62} {q.median_ms:>10,.1f} {min(ms):>8,.1f} "
              f"{max(ms):>8,.1f} {q.rows:>7,}" + (f"  {q.note}" if q.note and q.kind != "page"
                                                  or "FAILED" in q.note else ""), flush=True)
    if close:
        close()
    if not args.only and not args.no_write_path:
        write_path(path, sample, args.runs)

    print("\n== query plans (SCAN of a table of 100,000 rows or more flagged)")
    seen: set[str] = set()
    for q in questions:
        statements = q.sql or (q.traced.plans() if q.traced else [])
        for sql, params in statements:
            text = " ".join(sql.split())
            key = re.sub(r"'[^']*'|\b\d+\b", "?", text)  # the same statement, other values
            if key in seen:
                continue
            seen.add(key)
            print(f"\n[{q.kind}] {q.label}\n  {text[:300]}{' ...' if len(text) > 300 else ''}")
            for line in plan(conn, sql, params, big):
                print("    " + line)

    load_after = os.getloadavg()
    print("\n== summary")
    print("load average after: " + " ".join(f"{x:.2f}" for x in load_after))
    for kinds, title, limit in ((ANSWER_KINDS, "answers (canned, views, tables, CLI)", 50),
                                (("report",), "exposure report (built; served)", 1000),
                                (("page",), "Datasette pages", 200)):
        group = [q for q in questions if q.kind in kinds]
        if not group:
            continue
        slow = max(group, key=lambda q: q.median_ms)
        over = [q for q in group if q.median_ms > limit]
        failed = [q for q in group if "FAILED" in q.note]
        print(f"{title}: {len(group)}, slowest {slow.median_ms:,.1f} ms ({slow.label}); "
              f"{len(over)} over {limit} ms" + (f": {', '.join(q.label for q in over[:8])}"
                                                if over else "")
              + (f"; {len(failed)} failed" if failed else ""))
    answers = [q for q in questions if q.kind in ANSWER_KINDS] or questions
    slow = max(answers, key=lambda q: q.median_ms)
    print(f"slowest answer: {slow.median_ms:,.1f} ms ({slow.kind} {slow.label}) at "
          f"{counts.get('searches', 0):,} searches / {counts.get('sharing', 0):,} sharing rows")


def write_path(path: Path, sample: Sample, runs: int) -> None:
    """The per-load steps of Store.finish at national scale, each in a transaction that is
    rolled back (the cached database is not changed): what a load of one agency's new capture
    costs after it, against recomputing everything."""
    import tempfile

    from alpr_inventory.derive.agreements import refresh_state_policies
    from alpr_inventory.derive.changes import refresh_changes, write_atom_feed
    from alpr_inventory.store.schema import open_db, rebuild_fts, refresh_statistics

    db = open_db(str(path))
    feed = Path(tempfile.mkdtemp()) / "changes.atom"
    steps: list[tuple[str, Callable[[], object]]] = [
        ("change history of the agency touched (refresh_changes)",
         lambda: refresh_changes(db, [sample.agency_id])),
        ("change history of every agency (the old full rebuild)", lambda: refresh_changes(db)),
        ("full-text indexes, nothing new (rebuild_fts)", lambda: rebuild_fts(db)),
        ("full-text index of searches, from scratch (the old rebuild)",
         lambda: db["searches"].rebuild_fts()),
        ("state policies, file unchanged", lambda: refresh_state_policies(db)),
        ("Atom feed, newest 500 entries (write_atom_feed)",
         lambda: write_atom_feed(db, feed)),
        ("statistics check (refresh_statistics)", lambda: refresh_statistics(db)),
    ]
    print(f"\n== per-load steps of Store.finish at this scale (each rolled back), median of "
          f"{runs}")
    for label, step in steps:
        times = []
        for _ in range(runs if "old" not in label else 1):
            db.conn.execute("begin")
            began = time.perf_counter()
            try:
                step()
            finally:
                times.append(time.perf_counter() - began)
                db.conn.execute("rollback")
        print(f"{label:<62} {statistics.median(times) * 1000:>10,.1f} ms", flush=True)
    db.close()


def choose_sample(conn: sqlite3.Connection, counts: dict[str, Any]) -> Sample:
    """The agency with the most searches (the generator makes it the one with the longest
    lists too), its state, and a date two weeks before the newest change."""
    aid = counts.get("biggest_agency") or conn.execute(
        "select searching_agency_id from searches group by 1 order by count(*) desc limit 1"
    ).fetchone()[0]
    name, state = conn.execute("select name, state from agencies where id = ?", [aid]).fetchone()
    newest = conn.execute("select max(after_captured_at) from changes").fetchone()[0] or "2026"
    since = conn.execute("select date(?, '-14 days')", [newest[:10]]).fetchone()[0] or ""
    portal = conn.execute("select document_sha256 from portal_snapshots where agency_id = ? "
                          "order by captured_at desc limit 1", [aid]).fetchone()
    audit = conn.execute("select sha256 from documents where agency_id = ? and "
                         "document_type = 'audit_export' order by sha256 limit 1",
                         [aid]).fetchone()
    return Sample(aid, name, state or "CA", since or "", portal_document=portal and portal[0],
                  audit_document=audit and audit[0])


if __name__ == "__main__":
    main()
