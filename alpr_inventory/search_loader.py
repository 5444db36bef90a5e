"""Loading audit rows by the million: stage them, then let SQLite do the per-row work.

Python touches each row as little as possible. Rows go into a temporary staging table (from
parsed AuditRows, or, for audit CSV files, straight from the CSV reader with the same column
mapping and date/number rules as `parsers.audit_csv`, written as SQL expressions). Everything
that is the same for many rows is computed once per distinct value in Python: the resolver for
organisation names, the immigration-reason classifier for reasons. Then set-based SQL counts
new / already known / changed rows, keeps changed content in search_versions, and upserts.

`tests/test_search_loader.py` checks that the CSV fast path and the Python parser give the same
rows on every real audit CSV in the corpus.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import sqlite_utils

from parsers.audit_csv import KNOWN_COLUMNS, _column_key, _to_int, normalise_search_date
from parsers.model import AuditRow
from parsers.reasons import classify_reason

STAGE_COLUMNS = ("search_id", "user_id", "searched_at", "searched_at_raw", "network_count",
                 "camera_count", "reason", "case_number", "offense_type", "extra", "org_name",
                 "search_type", "plate_hash", "source_row")
CONTENT = ("searched_at", "user_id", "network_count", "camera_count", "reason", "case_number",
           "offense_type", "org_name", "search_type", "plate_hash")
BATCH = 10_000


def _reset_stage(db: sqlite_utils.Database) -> None:
    db.execute("drop table if exists temp.audit_stage")
    db.execute(f"create temp table audit_stage ({', '.join(STAGE_COLUMNS)}, n integer, "
               "primary key (search_id)) without rowid")


def stage_rows(db: sqlite_utils.Database, rows: Iterable[AuditRow]) -> None:
    """Stage parsed rows (portal audits, workbooks, PDFs)."""
    _reset_stage(db)
    db.conn.executemany(
        f"insert or ignore into audit_stage ({', '.join(STAGE_COLUMNS)}, n) values "
        f"({', '.join('?' * len(STAGE_COLUMNS))}, ?)",
        ((r.search_id, r.user_id, r.searched_at, r.searched_at_raw, r.network_count,
          r.camera_count, r.reason, r.case_number, r.offense_type,
          json.dumps(r.extra) if r.extra else None, r.org_name, r.search_type, r.plate_hash,
          r.source_row, n) for n, r in enumerate(rows)))


# ---- the CSV fast path --------------------------------------------------------------------
def _py_date(value: str | None) -> str | None:
    return normalise_search_date(value)[0] if value and value.strip() else None


def _py_int(value: str | None) -> int | None:
    return _to_int(value) if value and value.strip() else None


def _sql_text(col: str) -> str:
    return f"nullif({col}, '')"


def _sql_date(col: str) -> str:
    """SQL for normalise_search_date's two fast forms; anything else calls it (a UDF)."""
    digits = (f"(substr({col},1,4)||substr({col},6,2)||substr({col},9,2)||substr({col},12,2)||"
              f"substr({col},15,2)||substr({col},18,2)||substr({col},21,3))")
    fixed = (f"(substr({col},5,1) = '-' and substr({col},8,1) = '-' and substr({col},14,1) = ':' "
             f"and substr({col},17,1) = ':' and substr({col},20,1) = '.' and "
             f"{digits} not glob '*[^0-9]*')")
    return (f"case when length({col}) = 24 and substr({col},11,1) = 'T' and "
            f"substr({col},24,1) = 'Z' and {fixed} then {col} "
            f"when length({col}) = 23 and substr({col},11,1) = ' ' and {fixed} "
            f"then substr({col},1,10) || 'T' || substr({col},12) || 'Z' "
            f"else py_date({col}) end")


def _sql_int(col: str) -> str:
    return (f"case when {col} <> '' and {col} not glob '*[^0-9]*' and length({col}) < 16 "
            f"then cast({col} as integer) else py_int({col}) end")


def stage_audit_csv(db: sqlite_utils.Database, text: str,
                    hash_plate: Callable[[str], str] | None) -> tuple[list[str], list[str]]:
    """Stage an audit CSV without building a Python object per row.

    Returns (columns as published, warnings). Same column mapping as parse_search_audit_csv.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        columns = next(reader)
    except StopIteration:
        _reset_stage(db)
        return [], ["search audit CSV is empty (no header)"]
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
    db.conn.create_function("py_date", 1, _py_date, deterministic=True)
    db.conn.create_function("py_int", 1, _py_int, deterministic=True)
    if hash_plate is not None:
        db.conn.create_function("py_plate", 1,
                                lambda v: hash_plate(v.strip()) if v and v.strip() else None,
                                deterministic=True)

    def col(field: str) -> str | None:  # ?1 is the row number, ?2... the CSV cells
        return f"?{fields[field] + 2}" if field in fields else None

    def text_of(field: str) -> str:
        c = col(field)
        return _sql_text(c) if c else "null"

    extra = ("json_object(" + ", ".join(f"'{name.replace(chr(39), chr(39) * 2)}', ?{i + 2}"
                                        for i, name in unknown) + ")") if unknown else "null"
    plate = col("plate")
    exprs = {
        "search_id": f"trim({col('search_id')})" if col("search_id") else "null",
        "user_id": text_of("user_id"),
        "searched_at": _sql_date(col("searched_at")) if col("searched_at") else "null",
        "searched_at_raw": text_of("searched_at"),
        "network_count": _sql_int(col("network_count")) if col("network_count") else "null",
        "camera_count": _sql_int(col("camera_count")) if col("camera_count") else "null",
        "reason": text_of("reason"), "case_number": text_of("case_number"),
        "offense_type": text_of("offense_type"), "extra": extra,
        "org_name": text_of("org_name"), "search_type": text_of("search_type"),
        "plate_hash": (f"py_plate({plate})" if plate and hash_plate else "null"),
        "source_row": "'row ' || ?1",
    }
    _reset_stage(db)
    # one pass: each CSV record is mapped by SQL expressions as it is inserted; the staging
    # table's key on search_id keeps the first row of a duplicated id
    insert = (f"insert or ignore into audit_stage ({', '.join(STAGE_COLUMNS)}, n) values "
              f"({', '.join(exprs[c] for c in STAGE_COLUMNS)}, ?1)")
    ragged = naive = 0
    date_at = fields.get("searched_at")
    batch: list[list[Any]] = []
    for n, record in enumerate(reader, start=1):
        if len(record) != width:
            if not any(record):
                continue
            ragged += 1
            record = (record + [""] * width)[:width]
        if date_at is not None and (d := record[date_at]) and d[-1:] != "Z" and d[10:11] == " ":
            naive += 1
        batch.append([n, *record])
        if len(batch) >= BATCH:
            db.conn.executemany(insert, batch)
            batch = []
    if batch:
        db.conn.executemany(insert, batch)
    if ragged:
        warnings.append(f"search audit: {ragged} row(s) with a different number of fields than "
                        "the header")
    if naive:
        warnings.append(f"search audit: {naive} searchDate value(s) without a time zone taken "
                        "as UTC")
    no_id = db.execute("select count(*) from audit_stage where search_id is null or "
                       "search_id = ''").fetchone()[0]  # (many empty ids collapse to one row)
    if no_id:
        warnings.append(f"search audit: {no_id} row(s) without an id skipped")
        db.execute("delete from audit_stage where search_id is null or search_id = ''")
    if plate and hash_plate is None:
        warnings.append("search audit: plate values dropped (no plate hasher)")
    return columns, warnings


# ---- from stage to searches ----------------------------------------------------------------
def finalize_stage(db: sqlite_utils.Database, sha: str, captured_at: str,
                   default_searcher: str | None,
                   resolve_orgs: Callable[[dict[str, str]], dict[str, str]]) -> Counter[str]:
    """Flag, count (new / known / changed), keep changed content, and upsert staged rows."""
    counts: Counter[str] = Counter()
    total = db.execute("select count(*) from audit_stage").fetchone()[0]
    if not total:
        return counts
    orgs = [r[0] for r in db.execute(
        "select distinct trim(org_name) from audit_stage where trim(org_name) <> ''")]
    org_ids = resolve_orgs({name: sha for name in orgs}) if orgs else {}
    db.execute("drop table if exists temp.org_map")
    db.execute("create temp table org_map (org_name text primary key, agency_id text)")
    db.conn.executemany("insert into org_map values (?, ?)", org_ids.items())
    db.execute("drop table if exists temp.reason_flags")
    db.execute("create temp table reason_flags (reason text primary key, immigration integer, "
               "terms text)")
    flags = []
    for (reason,) in db.execute("select distinct reason from audit_stage where reason is not null"):
        flag = classify_reason(reason)
        terms = "; ".join(f"{t}: {m!r}" for t, m in zip(flag.terms, flag.matches, strict=True))
        flags.append((reason, int(flag.immigration), terms or None))
    db.conn.executemany("insert into reason_flags values (?, ?, ?)", flags)

    same = " and ".join(f"s.{c} is st.{c}" for c in CONTENT)
    counts["known"] = db.execute(
        f"select count(*) from audit_stage st join searches s using (search_id) where {same}"
    ).fetchone()[0]
    counts["changed"] = db.execute(
        f"select count(*) from audit_stage st join searches s using (search_id) where not ({same})"
    ).fetchone()[0]
    counts["new"] = db.execute("select count(*) from audit_stage").fetchone()[0] - (
        counts["known"] + counts["changed"])
    content_json = "json_object(" + ", ".join(f"'{c}', st.{c}" for c in CONTENT) + ")"
    if counts["changed"]:
        db.execute(
            f"""insert or ignore into search_versions (id, search_id, document_sha256,
                  captured_at, content)
                select st.search_id || ':' || ?, st.search_id, ?, ?, {content_json}
                from audit_stage st join searches s using (search_id) where not ({same})""",
            [sha, sha, captured_at])
    db.execute(
        """insert into searches (search_id, searching_agency_id, data_owner_id, user_id,
              searched_at, searched_at_raw, network_count, camera_count, reason, case_number,
              offense_type, extra, org_name, search_type, plate_hash, source_row,
              federal_searcher, immigration_reason, immigration_terms, first_seen, last_seen,
              first_document, last_document, versions)
            select st.search_id, coalesce(o.agency_id, ?), null, st.user_id, st.searched_at,
              st.searched_at_raw, st.network_count, st.camera_count, st.reason,
              st.case_number, st.offense_type, st.extra, st.org_name, st.search_type,
              st.plate_hash, st.source_row,
              coalesce(a.kind = 'federal', 0), coalesce(f.immigration, 0), f.terms,
              ?, ?, ?, ?, 1
            from audit_stage st
            left join org_map o on o.org_name = trim(st.org_name)
            left join agencies a on a.id = coalesce(o.agency_id, ?)
            left join reason_flags f on f.reason = st.reason
            where true
            on conflict(search_id) do update set
              first_document = case when excluded.first_seen < searches.first_seen
                then excluded.first_document else searches.first_document end,
              first_seen = min(searches.first_seen, excluded.first_seen),
              last_document = case when excluded.last_seen >= searches.last_seen
                then excluded.last_document else searches.last_document end,
              last_seen = max(searches.last_seen, excluded.last_seen)""",
        [default_searcher, captured_at, captured_at, sha, sha, default_searcher])
    if counts["changed"]:
        db.execute("""update searches set versions = 1 + (select count(*) from search_versions v
                        where v.search_id = searches.search_id)
                      where search_id in (select search_id from search_versions
                                          where document_sha256 = ?)""", [sha])
    db.execute("drop table temp.audit_stage")
    return counts
