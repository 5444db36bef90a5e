"""Loading audit rows by the million: one upsert per row, all per-row work done by SQLite.

Python touches each row as little as possible. Whatever is the same for many rows is computed
once per distinct value: the organisation resolver for searching-organisation names and the
immigration-reason classifier for reasons; both land in small temporary tables that the upsert
looks up. Audit CSV files skip the Python row objects altogether: each CSV record is bound
straight into the upsert, whose value expressions apply the same column mapping and date and
number rules as `parsers.audit_csv` (the Python parser handles every unusual value, as a SQL
function). Rows already parsed by Python (portal audits, workbooks, PDFs) use the same upsert
with plain values.

The upsert keeps a search's first content. When a later document has different content for the
same search id, the content goes to search_versions (through a trigger), so a re-export that
shifted a time zone is visible instead of silently overwriting the evidence.
`tests/test_search_loader.py` checks that both paths give the same rows.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import Any

import sqlite_utils

from parsers.audit_csv import (
    KNOWN_COLUMNS,
    _column_key,
    _to_int,
    normalise_search_date,
    parse_audit_records,
)
from parsers.model import AuditRow
from parsers.reasons import classify_reason

FIELDS = ("search_id", "user_id", "searched_at", "searched_at_raw", "network_count",
          "camera_count", "reason", "case_number", "offense_type", "extra", "org_name",
          "search_type", "plate_hash", "source_row")
CONTENT = ("searched_at", "user_id", "network_count", "camera_count", "reason", "case_number",
           "offense_type", "org_name", "search_type", "plate_hash")
BATCH = 20_000

VERSION_TRIGGER = """
create trigger if not exists searches_keep_changed_content
after update of pending_version on searches when new.pending_version is not null
begin
  insert or ignore into search_versions (id, search_id, document_sha256, captured_at, content)
  values (new.search_id || ':' || json_extract(new.pending_version, '$.document'),
          new.search_id, json_extract(new.pending_version, '$.document'),
          json_extract(new.pending_version, '$.captured_at'),
          json_extract(new.pending_version, '$.content'));
  update searches set pending_version = null where search_id = new.search_id;
end
"""


_SAME = " and ".join(f"searches.{c} is excluded.{c}" for c in CONTENT)
_CONTENT = "json_object(" + ", ".join(f"'{c}', excluded.{c}" for c in CONTENT) + ")"
# For ids already stored: keep the first content, widen first/last seen, and send differing
# content to search_versions (via the trigger).
_ON_CONFLICT = f"""
on conflict(search_id) do update set
  first_document = case when excluded.first_seen < searches.first_seen
    then excluded.first_document else searches.first_document end,
  first_seen = min(searches.first_seen, excluded.first_seen),
  last_document = case when excluded.last_seen >= searches.last_seen
    then excluded.last_document else searches.last_document end,
  last_seen = max(searches.last_seen, excluded.last_seen),
  versions = searches.versions + not ({_SAME}),
  pending_version = case when not ({_SAME}) then json_object(
    'document', excluded.first_document, 'captured_at', excluded.first_seen,
    'content', {_CONTENT}) end
"""


def _literal(value: str | int | None) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _write(db: sqlite_utils.Database, rows: Iterable[tuple[Any, ...]], fields: tuple[str, ...],
           sha: str, captured_at: str, searcher: str | None,
           exprs: tuple[str, ...] | None = None, id_at: int = 0) -> tuple[int, int]:
    """Write rows (values for `fields`, search_id first) in batches.

    Only the columns a document has are bound, and what is the same for the whole document
    (agency, capture time, evidence) is written into the statement once: binding parameters
    is most of the cost of a row. A batch is inserted with "or ignore" (the bulk of any load
    is new ids); only a batch where some ids were already stored, or repeat within the
    document, goes through the upsert as well.
    """
    constants = {"searching_agency_id": searcher, "federal_searcher": _is_federal(db, searcher),
                 "first_seen": captured_at, "last_seen": captured_at, "first_document": sha,
                 "last_document": sha, "immigration_reason": 0, "versions": 1}
    values = exprs or tuple("?" for _ in fields)
    insert = (f"insert into searches ({', '.join(fields)}, {', '.join(constants)}) values "
              f"({', '.join(values)}, {', '.join(_literal(v) for v in constants.values())})")
    upsert = insert + _ON_CONFLICT
    insert = insert.replace("insert into", "insert or ignore into", 1)
    processed = inserted = 0
    batch: list[tuple[Any, ...]] = []

    def flush() -> None:
        nonlocal inserted
        before = db.conn.total_changes
        db.conn.executemany(insert, batch)
        new = db.conn.total_changes - before
        inserted += new
        if new < len(batch):
            # some ids were stored already or repeat within the document: the upsert keeps
            # their first content and evidence straight (a no-op for rows just inserted)
            db.conn.executemany(upsert, batch)
        batch.clear()

    for row in rows:
        if not row[id_at]:
            continue
        batch.append(row)
        processed += 1
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return processed, inserted


def _apply_lookups(db: sqlite_utils.Database, sha: str) -> None:
    """Searching agency and federal flag from organisation names, and immigration-reason flags,
    for the rows this document inserted (one statement each, not one per row)."""
    if db.execute("select count(*) from temp.org_map").fetchone()[0]:
        db.execute("""update searches set searching_agency_id = o.agency_id,
                    federal_searcher = coalesce((select a.kind = 'federal' from agencies a
                                                 where a.id = o.agency_id), 0)
                  from temp.org_map o
                  where searches.first_document = ? and o.org_name = trim(searches.org_name)""",
                   [sha])
    if db.execute("select count(*) from temp.reason_flags").fetchone()[0]:
        db.execute("""update searches set immigration_reason = 1, immigration_terms = f.terms
                      from temp.reason_flags f
                      where searches.first_document = ? and f.reason = searches.reason""",
                   [sha])


def _prepare(db: sqlite_utils.Database, reasons: Iterable[str | None],
             org_ids: dict[str, str]) -> None:
    """Small lookup tables: one classification per distinct reason, one id per org name."""
    db.execute(VERSION_TRIGGER)
    db.execute("drop table if exists temp.org_map")
    db.execute("create temp table org_map (org_name text primary key, agency_id text)")
    db.conn.executemany("insert into temp.org_map values (?, ?)", org_ids.items())
    db.execute("drop table if exists temp.reason_flags")
    db.execute("create temp table reason_flags (reason text primary key, immigration integer, "
               "terms text)")
    flags = []
    for reason in {r for r in reasons if r}:
        flag = classify_reason(reason)
        if flag.immigration:
            terms = "; ".join(f"{t}: {m!r}" for t, m in zip(flag.terms, flag.matches, strict=True))
            flags.append((reason, 1, terms))
    db.conn.executemany("insert into temp.reason_flags values (?, ?, ?)", flags)


def _counts(db: sqlite_utils.Database, written: tuple[int, int], sha: str) -> Counter[str]:
    processed, new = written
    changed = db.execute("select count(*) from search_versions where document_sha256 = ?",
                         [sha]).fetchone()[0]
    return Counter(new=new, changed=changed, known=processed - new - changed)


# ---- rows parsed in Python ----------------------------------------------------------------
def load_rows(db: sqlite_utils.Database, rows: list[AuditRow], sha: str, captured_at: str,
              searcher: str | None, org_ids: dict[str, str]) -> Counter[str]:
    _prepare(db, (r.reason for r in rows), org_ids)
    values = [(r.search_id, r.user_id, r.searched_at, r.searched_at_raw, r.network_count,
               r.camera_count, r.reason, r.case_number, r.offense_type,
               _compact(r.extra) if r.extra else None, r.org_name, r.search_type,
               r.plate_hash, r.source_row) for r in rows]
    present = [0] + [i for i in range(1, len(FIELDS)) if any(v[i] is not None for v in values)]
    written = _write(db, (tuple(v[i] for i in present) for v in values),
                       tuple(FIELDS[i] for i in present), sha, captured_at, searcher)
    _apply_lookups(db, sha)
    return _counts(db, written, sha)


def _compact(value: dict[str, str]) -> str:
    """JSON as SQLite's json_object writes it, so both load paths store identical text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _is_federal(db: sqlite_utils.Database, agency_id: str | None) -> int:
    row = db.execute("select kind = 'federal' from agencies where id = ?",
                     [agency_id]).fetchone() if agency_id else None
    return int(bool(row and row[0]))


# ---- audit CSV text, without a Python object per row ----------------------------------------
_D = "[0-9]"
# the two forms normalise_search_date takes its fast paths for, as GLOB patterns
_ISO_Z = f"{_D * 4}-{_D * 2}-{_D * 2}T{_D * 2}:{_D * 2}:{_D * 2}.{_D * 3}Z"
_ISO_NAIVE = f"{_D * 4}-{_D * 2}-{_D * 2} {_D * 2}:{_D * 2}:{_D * 2}.{_D * 3}"


def _py_date(value: str | None) -> str | None:
    return normalise_search_date(value)[0] if value and value.strip() else None


def _py_int(value: str | None) -> int | None:
    return _to_int(value) if value and value.strip() else None


def load_audit_csv(db: sqlite_utils.Database, text: str, sha: str, captured_at: str,
                   searcher: str | None, resolve_orgs: Callable[[dict[str, str]], dict[str, str]],
                   hash_plate: Callable[[str], str] | None) -> tuple[Counter[str], list[str]]:
    """Load an audit CSV; returns (new / known / changed counts, warnings).

    Same column mapping as parse_search_audit_csv; values are mapped by SQL as they are bound.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        return Counter(), ["search audit CSV is empty (no header)"]
    columns = records[0]
    # blank lines (csv gives []) are skipped but still count in row numbers, as in the parser
    body = [r for r in records[1:] if r]
    warnings: list[str] = []
    fields: dict[str, int] = {}
    unknown: list[tuple[int, str]] = []
    for i, name in enumerate(columns):
        field = KNOWN_COLUMNS.get(_column_key(name))
        if field and field not in fields:
            fields[field] = i
        else:
            if field:
                warnings.append(f"search audit: duplicate column {name!r} kept in extra")
            unknown.append((i, name))
    width = len(columns)
    counts_at = [fields[f] for f in ("network_count", "camera_count") if f in fields]
    if set(map(len, body)) - {width} or not all(
            all(map(str.isdigit, filter(None, map(itemgetter(i), body)))) for i in counts_at):
        # ragged rows or non-numeric counts: the Python parser keeps every oddity in `extra`;
        # these files are rare, so they take that path rather than a second implementation
        rows, warnings = parse_audit_records(columns, records[1:], hash_plate)
        orgs = {r.org_name.strip(): sha for r in rows if r.org_name and r.org_name.strip()}
        return load_rows(db, rows, sha, captured_at, searcher,
                         resolve_orgs(orgs) if orgs else {}), warnings

    def distinct(field: str) -> set[str]:
        i = fields.get(field)
        return set() if i is None else {r[i] for r in body}

    orgs = {o.strip() for o in distinct("org_name") if o.strip()}
    org_ids = resolve_orgs({name: sha for name in sorted(orgs)}) if orgs else {}
    _prepare(db, distinct("reason"), org_ids)
    # Each record becomes the upsert's parameters with a few cheap Python operations: the
    # common date forms and plain integers take fast paths; anything else goes through the
    # parser's own functions (normalise_search_date, _to_int), so the results are the same.
    def at(field: str) -> int | None:
        return fields.get(field)

    i_id, i_user, i_date = at("search_id"), at("user_id"), at("searched_at")
    i_net, i_cam, i_reason = at("network_count"), at("camera_count"), at("reason")
    i_case, i_off, i_org, i_type = at("case_number"), at("offense_type"), at("org_name"), \
        at("search_type")
    i_plate = at("plate")
    # Each CSV record is bound as it is (C-level itemgetter, no Python per value); the SQL
    # applies the parser's rules: empty -> null, the two common date forms by GLOB (anything
    # else through normalise_search_date as a SQL function), digits -> integers.
    db.conn.create_function("py_date", 1, _py_date, deterministic=True)
    db.conn.create_function("py_int", 1, _py_int, deterministic=True)
    if i_id is None:
        return Counter(), [*warnings, "search audit: no id column: nothing loaded"]
    used = sorted({i for i in (i_id, i_user, i_date, i_net, i_cam, i_reason, i_case, i_off,
                               i_org, i_type, i_plate) if i is not None} | {i for i, _ in unknown})
    param = {col: f"?{k + 2}" for k, col in enumerate(used)}  # ?1 is the row number
    names: list[str] = ["search_id"]
    exprs: list[str] = [f"trim({param[i_id]})"]

    def add(name: str, expr: str) -> None:
        names.append(name)
        exprs.append(expr)

    if i_user is not None:
        add("user_id", f"nullif({param[i_user]}, '')")
    if i_date is not None:
        d = param[i_date]
        add("searched_at", f"case when {d} glob '{_ISO_Z}' then {d} "
                           f"when {d} glob '{_ISO_NAIVE}' then "
                           f"substr({d},1,10) || 'T' || substr({d},12) || 'Z' "
                           f"else py_date({d}) end")
        add("searched_at_raw", f"nullif({d}, '')")
    for name, i in (("network_count", i_net), ("camera_count", i_cam)):
        if i is not None:
            v = param[i]
            add(name, f"case when {v} glob '[0-9]*' and {v} not glob '*[^0-9]*' and "
                      f"length({v}) < 16 then cast({v} as integer) else py_int({v}) end")
    for name, i in (("reason", i_reason), ("case_number", i_case), ("offense_type", i_off),
                    ("org_name", i_org), ("search_type", i_type)):
        if i is not None:
            add(name, f"nullif({param[i]}, '')")
    if unknown:
        add("extra", "json_object(" + ", ".join(
            f"'{k.replace(chr(39), chr(39) * 2)}', {param[i]}" for i, k in unknown) + ")")
    if i_plate is not None and hash_plate is not None:
        db.conn.create_function(
            "py_plate", 1, lambda v: hash_plate(v.strip()) if v and v.strip() else None,
            deterministic=True)
        add("plate_hash", f"py_plate({param[i_plate]})")
    add("source_row", "'row ' || ?1")
    pick = itemgetter(*used)

    def params() -> Iterator[tuple[Any, ...]]:
        rows = enumerate(records, start=0)  # records[0] is the header: data rows count from 1
        next(rows)
        if len(used) == 1:
            for n, r in rows:
                if r:
                    yield (n, pick(r))
        else:
            for n, r in rows:
                if r:
                    yield (n, *pick(r))

    written = _write(db, params(), tuple(names), sha, captured_at, searcher, tuple(exprs),
                       id_at=1 + used.index(i_id))
    _apply_lookups(db, sha)
    no_id = len(body) - written[0]
    if no_id:
        warnings.append(f"search audit: {no_id} row(s) without an id skipped")
    if i_plate is not None and hash_plate is None:
        warnings.append("search audit: plate values dropped (no plate hasher)")
    naive_at = fields.get("searched_at")
    naive = 0 if naive_at is None else sum(
        1 for d in map(itemgetter(naive_at), body) if d[10:11] == " " and d[-1:] != "Z")
    if naive:
        warnings.append(f"search audit: {naive} searchDate value(s) without a time zone taken "
                        "as UTC")
    return _counts(db, written, sha), warnings
