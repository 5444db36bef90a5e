"""Loading audit rows by the million: multi-row upserts, all per-row work done by SQLite.

Python touches each row as little as possible. Whatever is the same for many rows is computed
once per distinct value: the organisation resolver for searching-organisation names, the
immigration-reason classifier for reasons and the plate hasher for plates; organisations and
reasons land in small temporary tables that the upsert looks up. Audit CSV files skip the
Python row objects altogether: each CSV record is bound straight into the upsert, whose value
expressions apply the same column mapping and date and number rules as `parsers.flock.audit_csv`.
The expressions are chosen per column from what the whole column holds (checked with C-level
string operations): a column of Flock's two common date forms is converted once for all rows,
a column of plain digits is cast, and anything unusual goes through the parser's own functions
(as SQL functions), so every value comes out as the Python parser makes it. Flock's own export
format (every field quoted, no quote inside a field) is split without the csv module; anything
else is read by csv.reader. Rows already parsed by Python (portal audits, workbooks, PDFs) use
the same upsert with plain values. Rows are bound as parameter columns, ROWS_PER_STATEMENT
rows to a statement.

The upsert keeps a search's first content. When a later document has different content for the
same search id, the content goes to search_versions (through a trigger), so a re-export that
shifted a time zone is visible instead of silently overwriting the evidence. Known ids go
through an upsert that widens the evidence dates and counts rows whose content differs; only
then does a second one (which alone can fire the trigger) record the differing content.

Large loads (BULK_ROWS rows and more) are written in search-id order (B-tree appends instead of
random inserts with UUID keys; equal ids keep their document order, so the first occurrence is
still the one kept), and when the table holds fewer rows than the load brings, its secondary
indexes are dropped and built again after the load and its lookups (one sort instead of a
million random index inserts). `tests/store/test_search_loader.py` checks that every path gives the
same rows and counts.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, islice
from operator import attrgetter, itemgetter, le
from typing import Any

import sqlite_utils

from parsers.flock.audit_csv import (
    KNOWN_COLUMNS,
    _column_key,
    _to_int,
    normalise_search_date,
    parse_audit_records,
)
from parsers.model import AuditRow
from parsers.plate_tokens import mask_plates
from parsers.reasons import classify_reason

FIELDS = ("search_id", "user_id", "searched_at", "searched_at_raw", "network_count",
          "camera_count", "reason", "case_number", "offense_type", "extra", "org_name",
          "search_type", "plate_hash", "source_row")
CONTENT = ("searched_at", "user_id", "network_count", "camera_count", "reason", "case_number",
           "offense_type", "org_name", "search_type", "plate_hash")
BATCH = 20_000
ROWS_PER_STATEMENT = 100
BULK_ROWS = 50_000  # from this many rows: id order, and secondary indexes built afterwards

VERSION_TRIGGER = """
create trigger if not exists searches_keep_version
after update of pending_version on searches when new.pending_version is not null
begin
  insert into search_versions (id, search_id, document_sha256, captured_at, content)
  values (new.search_id || ':' || json_extract(new.pending_version, '$.document') || coalesce(
            (select ':' || (count(*) + 1) from search_versions
             where search_id = new.search_id
               and document_sha256 = json_extract(new.pending_version, '$.document')
             having count(*) > 0), ''),
          new.search_id, json_extract(new.pending_version, '$.document'),
          json_extract(new.pending_version, '$.captured_at'),
          json_extract(new.pending_version, '$.content'));
  update searches set pending_version = null where search_id = new.search_id;
end
"""
# the trigger of earlier versions (its "insert or ignore" gave way to the upsert's conflict
# policy: a re-import failed with "UNIQUE constraint failed: search_versions.id")
OLD_TRIGGERS = ("searches_keep_changed_content",)


_DIFFERS = "search_content_differs"


class _DifferingRows:
    """How many rows the evidence upserts of this process found with content unlike their
    search's first content (the SQL function search_content_differs counts them)."""

    seen = 0

    @classmethod
    def count(cls) -> int:
        cls.seen += 1
        return 1


_PARAM = re.compile(r"'(?:[^']|'')*'|\?(\d+)")  # a string literal, or a numbered parameter
_SAME = " and ".join(f"searches.{c} is excluded.{c}" for c in CONTENT)
_CONTENT = "json_object(" + ", ".join(f"'{c}', excluded.{c}" for c in CONTENT) + ")"
# Content is a new version when it differs from the first content and this document has not
# already given that content for the id (a re-import, or another capture of the same document,
# changes nothing). CASE evaluates lazily: the lookup only runs for differing rows.
_NEW_VERSION = f"""case when {_SAME} then 0
    when exists (select 1 from search_versions v where v.search_id = excluded.search_id
                 and v.document_sha256 = excluded.first_document
                 and v.content = {_CONTENT}) then 0
    else 1 end"""
# For ids already stored: keep the first content, widen first/last seen (_ON_CONFLICT_SEEN),
# and send new differing content to search_versions (_ON_CONFLICT_VERSION, via the trigger).
# Two statements over the same rows, because the trigger fires for every row whose update
# sets pending_version, and in one statement that was every repeated row (each capture of an
# audit moves its rows' last capture): firing it made the upsert cost twice as much per row.
# A row's first content never changes, so whether its content is new does not depend on the
# first statement. The first one counts the rows whose content differs from the stored first
# content (the SQL function search_content_differs, called only for those: CASE evaluates
# lazily, in order), and the second runs only when there were any (most captures repeat their
# rows unchanged); it goes row after row (a search repeated within a document with several
# contents gets each once).
_ON_CONFLICT_SEEN = f"""
on conflict(search_id) do update set
  first_document = case when excluded.first_seen < searches.first_seen
    then excluded.first_document else searches.first_document end,
  first_seen = min(searches.first_seen, excluded.first_seen),
  last_document = case when excluded.last_seen >= searches.last_seen
    then excluded.last_document else searches.last_document end,
  last_seen = max(searches.last_seen, excluded.last_seen)
where case when not ({_SAME}) then {_DIFFERS}()
  else excluded.first_seen < searches.first_seen or excluded.last_seen > searches.last_seen
    or (excluded.last_seen = searches.last_seen
        and excluded.last_document is not searches.last_document) end
"""
_ON_CONFLICT_VERSION = f"""
on conflict(search_id) do update set
  versions = searches.versions + 1,
  pending_version = json_object(
    'document', excluded.first_document, 'captured_at', excluded.first_seen,
    'content', {_CONTENT})
where {_NEW_VERSION}
"""
# (the WHEREs: a row this load changes nothing of, the same capture loaded again or a row just
# inserted by the same batch, is not written again, nor are its index entries)


def _max_parameters(db: sqlite_utils.Database) -> int:
    try:
        return db.conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python < 3.11: the smallest limit SQLite has had
        return 999


@lru_cache(maxsize=512)  # kinds x row counts x column sets: all of a run
def _statement(kind: str, names: str, row: str, width: int, rows: int, constants: int) -> str:
    """The multi-row statement for `rows` rows of the `row` template: parameter ?k of row r
    becomes ?(r * width + k) (string literals stay), constant j becomes ?(rows * width + j + 1).
    """
    def shifted(offset: int) -> str:
        return _PARAM.sub(lambda m: m[0] if m[1] is None else f"?{int(m[1]) + offset}", row)

    values = ", ".join(shifted(r * width) for r in range(rows))
    for j in range(constants):
        values = values.replace(f"@@c{j}@@", f"?{rows * width + j + 1}")
    if kind == "insert":
        return f"insert or ignore into {names} values {values}"
    on_conflict = {"seen": _ON_CONFLICT_SEEN, "version": _ON_CONFLICT_VERSION}[kind]
    return f"insert into {names} values {values}{on_conflict}"


def _write(db: sqlite_utils.Database, columns: Sequence[Sequence[Any]], fields: tuple[str, ...],
           sha: str, captured_at: str, searcher: str | None,
           exprs: tuple[str, ...] | None = None, known: bool = False) -> tuple[int, int]:
    """Write rows given as parameter columns (?1 is the first column, ...; each row with an id)
    as values for `fields`, or through `exprs` of those parameters; returns (rows written,
    new ids).

    Only the columns a document has are bound, and what is the same for the whole document
    (agency, capture time, evidence) is bound once per statement, after the rows' values, so
    the statement text is the same for every document with the same columns (prepared once
    for a run of many portal pages). Each statement
    writes ROWS_PER_STATEMENT rows (a multi-row VALUES: SQLite opens its cursors once per
    statement instead of once per row; rows are still written one after the other, each
    seeing the ones before it). A batch is inserted with "or ignore" (the bulk of a first
    load is new ids); a batch where some ids were already stored, or repeat within the
    document, goes through the upsert as well, and once a batch has had such ids, the
    following batches go through the upsert only (a re-import is mostly known ids), counting
    new rows by their rowids (new rows always get rowids above all stored ones). `known`:
    the caller found the document's first id stored already (another capture of the same
    audit, mostly the same rows): every batch goes through the upsert only (the same rows as
    "or ignore" followed by the upsert, without the pass that ignores them all).
    """
    constants = {"searching_agency_id": searcher, "federal_searcher": _is_federal(db, searcher),
                 "first_seen": captured_at, "last_seen": captured_at, "first_document": sha,
                 "last_document": sha, "immigration_reason": 0, "versions": 1}
    consts = list(constants.values())
    width = len(columns)
    row = "({})".format(", ".join([*(exprs or (f"?{k + 1}" for k in range(width))),
                                   *(f"@@c{j}@@" for j in range(len(consts)))]))
    names = f"searches ({', '.join(fields)}, {', '.join(constants)})"
    per_statement = max(1, min(ROWS_PER_STATEMENT,
                               (_max_parameters(db) - len(consts)) // width))

    def execute(kind: str, params: list[Any]) -> None:
        rows = len(params) // width
        full = rows - rows % per_statement
        step = per_statement * width
        if full:
            db.conn.executemany(_statement(kind, names, row, width, per_statement, len(consts)),
                                (params[i:i + step] + consts
                                 for i in range(0, full * width, step)))
        # the rest in statements of 64, 32, ... 1 rows: a few statement texts, each prepared
        # once for all documents, instead of one per remainder size
        at, left = full * width, rows - full
        while left:
            size = 1 << (left.bit_length() - 1)
            db.conn.execute(_statement(kind, names, row, width, size, len(consts)),
                            params[at:at + size * width] + consts)
            at, left = at + size * width, left - size

    def upsert(params: list[Any]) -> None:
        differing = _DifferingRows.seen
        execute("seen", params)
        if _DifferingRows.seen != differing:  # (another connection's count: one pass more)
            execute("version", params)

    count = len(columns[0])
    inserted = 0
    for start in range(0, count, BATCH):
        end = min(count, start + BATCH)
        params: list[Any] = [None] * ((end - start) * width)  # row after row
        for k, column in enumerate(columns):
            params[k::width] = column[start:end]
        if known:
            before = db.execute("select coalesce(max(rowid), 0) from searches").fetchone()[0]
            upsert(params)
            inserted += db.execute("select count(*) from searches where rowid > ?",
                                   [before]).fetchone()[0]
            continue
        before = db.conn.total_changes
        execute("insert", params)
        new = db.conn.total_changes - before
        inserted += new
        if new < end - start:
            # some ids were stored already or repeat within the document: the upsert keeps
            # their first content and evidence straight (a no-op for rows just inserted)
            upsert(params)
            known = True
    return count, inserted


@contextmanager
def _bulk(db: sqlite_utils.Database, incoming: int, plates: bool) -> Iterator[None]:
    """For a load of BULK_ROWS rows or more, into a table holding fewer rows than it brings:
    the secondary indexes of searches are dropped during the load and built again after it
    (one sort instead of a million random index inserts).

    No savepoint of its own around the load (inside one, SQLite keeps every page the upserts
    touch in the statement sub-journal and walks it again at the end of every statement). If
    the load fails, the indexes are built again here (a rollback restores them anyway).
    """
    rebuild = _drop_indexes(db, incoming, plates) if incoming >= BULK_ROWS else []
    try:
        yield
    except BaseException:
        with suppress(sqlite3.Error):  # the load's own error is the one to report
            for sql in rebuild:
                db.execute(sql)
        raise
    for sql in rebuild:
        db.execute(sql)


def _ascending(values: Sequence[str]) -> bool:
    return all(map(le, values, islice(values, 1, None)))


def _drop_indexes(db: sqlite_utils.Database, incoming: int, plates: bool) -> list[str]:
    """Drop the secondary indexes of searches when the load brings more rows than the table
    holds (building an index once is far cheaper than as many random inserts); returns the
    statements that build them again. Partial indexes (plate hashes) cost nothing for rows
    they do not cover, so they stay unless the load writes plate hashes."""
    stored = db.execute("select coalesce(max(rowid), 0) from searches").fetchone()[0]
    if stored >= incoming:
        return []
    indexes = db.execute("select name, sql from sqlite_master where type = 'index' and "
                         "tbl_name = 'searches' and sql is not null").fetchall()
    drop = [(name, sql) for name, sql in indexes if plates or " where " not in sql.lower()]
    for name, _ in drop:
        db.execute(f'drop index "{name}"')
    # "if not exists": after a failed load, a rollback may have brought them back already
    return [re.sub(r"(?i)^\s*create\s+index\s+", "create index if not exists ", sql)
            for _, sql in drop]


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
    """Small lookup tables: one classification per distinct reason, one id per org name.

    The tables (and the version trigger, and the function counting differing rows) are created
    once per connection and emptied for each
    document: any CREATE or DROP changes the schema, and SQLite then prepares every statement
    again, the 100-row upserts included (5-6 ms each): a third of the time of loading a
    portal's audit went there. They are looked up each time, not remembered, because a rolled
    back load takes them away with it."""
    triggers = ("searches_keep_version", *OLD_TRIGGERS)
    have = {name for (name,) in db.execute(
        "select name from temp.sqlite_master where name in ('org_map', 'reason_flags') union "
        "all select name from main.sqlite_master where type = 'trigger' and name in "
        f"({', '.join('?' * len(triggers))}) union all "
        "select name from pragma_function_list where name = ?", [*triggers, _DIFFERS])}
    if _DIFFERS not in have:  # (registering a function again would re-prepare statements)
        db.conn.create_function(_DIFFERS, 0, _DifferingRows.count)
    for name in OLD_TRIGGERS:
        if name in have:
            db.execute(f"drop trigger {name}")
    if "searches_keep_version" not in have:
        db.execute(VERSION_TRIGGER)
    if "org_map" not in have:
        db.execute("create temp table org_map (org_name text primary key, agency_id text)")
    if "reason_flags" not in have:
        db.execute("create temp table reason_flags (reason text primary key, "
                   "immigration integer, terms text)")
    db.execute("delete from temp.org_map")
    db.execute("delete from temp.reason_flags")
    db.conn.executemany("insert into temp.org_map values (?, ?)", org_ids.items())
    flags = []
    for reason in {r for r in reasons if r}:
        flag = classify_reason(reason)
        if flag.immigration:
            terms = "; ".join(f"{t}: {m!r}" for t, m in zip(flag.terms, flag.matches, strict=True))
            flags.append((reason, 1, terms))
    db.conn.executemany("insert into temp.reason_flags values (?, ?, ?)", flags)


def _versions(db: sqlite_utils.Database, sha: str) -> int:
    return db.execute("select count(*) from search_versions where document_sha256 = ?",
                      [sha]).fetchone()[0]


def _counts(db: sqlite_utils.Database, written: tuple[int, int], sha: str,
            versions_before: int) -> Counter[str]:
    """new / known / changed rows of this load (changed: versions this load added)."""
    processed, new = written
    changed = _versions(db, sha) - versions_before
    return Counter(new=new, changed=changed, known=processed - new - changed)


class _PlateMask:
    """Plates in free text (reasons, case numbers, offense types, unknown columns) replaced by
    keyed tokens (parsers.plate_tokens), once per distinct value; counts the tokens masked."""

    def __init__(self, hash_plate: Callable[[str], str] | None) -> None:
        self.hash_plate = hash_plate
        self.memo: dict[str, tuple[str | None, int]] = {}
        self.tokens = 0

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        hit = self.memo.get(value)
        if hit is None:
            hit = self.memo[value] = mask_plates(value, self.hash_plate)
        self.tokens += hit[1]
        return hit[0]

    def values(self, column: list[Any]) -> list[Any]:
        """`self(value)` for every value of a column (the same values and count)."""
        distinct = {v for v in column if isinstance(v, str)}
        if not distinct:
            return column
        for value in distinct - self.memo.keys():
            self.memo[value] = mask_plates(value, self.hash_plate)
        if any(self.memo[v][1] for v in distinct):
            self.tokens += sum(self.memo[v][1] for v in column if isinstance(v, str))
        elif all(self.memo[v][0] is v for v in distinct):
            return column  # nothing masked
        return [self.memo[v][0] if isinstance(v, str) else v for v in column]

    def column(self, values: Sequence[str], ids: Sequence[str]) -> list[str] | None:
        """A CSV column with plates masked (tokens counted on rows with an id), or None when
        no value holds a plate."""
        mapped = {v: mask_plates(v, self.hash_plate) for v in set(values)}
        if not any(n for _, n in mapped.values()):
            return None
        self.tokens += sum(mapped[v][1] for v, i in zip(values, ids, strict=True) if i)
        return [mapped[v][0] for v in values]  # type: ignore[misc]


def _with_masked(counts: Counter[str], tokens: int) -> Counter[str]:
    if tokens:
        counts["masked_plates"] = tokens
    return counts


# ---- rows parsed in Python ----------------------------------------------------------------
@dataclass(frozen=True)
class AuditColumns:
    """Parsed audit rows as the upsert binds them: one list per field some row fills (search
    id first), rows without an id left out, free text with plates masked, extras as JSON text.

    Made where the rows were parsed (`Store`'s parser workers call `audit_columns`), so the
    loader neither unpickles a hundred thousand row objects nor walks them again: the columns
    pickle in a fifth of the time and load as they are. `len()` is the number of rows parsed,
    as `len()` of the row list was.
    """

    fields: tuple[str, ...]
    columns: tuple[list[Any], ...]
    rows: int  # rows parsed, those without a search id included
    org_names: tuple[str, ...]  # distinct searching-organisation names (stripped), first first
    masked_plates: int

    def __len__(self) -> int:
        return self.rows

    def column(self, name: str) -> list[Any]:
        return self.columns[self.fields.index(name)] if name in self.fields else []


def audit_columns(rows: Sequence[AuditRow] | AuditColumns,
                  hash_plate: Callable[[str], str] | None = None) -> AuditColumns:
    """The columns `load_rows` binds for these rows (no database: runs in a parser worker).
    Plate-like tokens in free text become keyed tokens (`[plate:<hash>]`, unkeyed `[plate]`
    without a hasher), each distinct value masked once, and are counted."""
    if isinstance(rows, AuditColumns):
        return rows
    mask = _PlateMask(hash_plate)
    kept = [r for r in rows if r.search_id]
    if len(kept) >= BULK_ROWS:
        # B-tree appends instead of random inserts (stable: repeats keep their order)
        kept.sort(key=attrgetter("search_id"))
    # column by column (each free-text column masked once per distinct value); only the
    # columns some row fills are bound
    every = [[getattr(r, name) for r in kept] for name in _ROW_FIELDS]
    for i in _MASKED:
        every[i] = mask.values(every[i])
    every[_EXTRA] = [_compact({k: mask(v) for k, v in extra.items()}) if extra else None
                     for extra in every[_EXTRA]]
    present = [0] + [i for i in range(1, len(FIELDS)) if every[i].count(None) < len(kept)]
    orgs = dict.fromkeys(name for r in rows if r.org_name and (name := r.org_name.strip()))
    return AuditColumns(fields=tuple(FIELDS[i] for i in present),
                        columns=tuple(every[i] for i in present) if kept else ([],),
                        rows=len(rows), org_names=tuple(orgs), masked_plates=mask.tokens)


def load_rows(db: sqlite_utils.Database, rows: Sequence[AuditRow] | AuditColumns, sha: str,
              captured_at: str, searcher: str | None, org_ids: dict[str, str],
              hash_plate: Callable[[str], str] | None = None) -> Counter[str]:
    """Load parsed rows (or the columns `audit_columns` made of them); the plate-like tokens
    masked in their free text are counted (masked_plates)."""
    prepared = audit_columns(rows, hash_plate)
    fields, columns = prepared.fields, list(prepared.columns)
    _prepare(db, prepared.column("reason"), org_ids)
    before = _versions(db, sha)
    # any id stored already, or repeated within the document: every batch through the upsert
    # (one pass); else the plain insert alone (no second pass over rows just inserted). A
    # bulk load goes by its first id (a first load of a big export is all new ids).
    ids = columns[0]
    if len(ids) >= BULK_ROWS:
        known = db.execute("select 1 from searches where search_id = ?",
                           [ids[0]]).fetchone() is not None
    else:
        known = bool(ids) and (len(set(ids)) < len(ids) or db.execute(
            "select exists (select 1 from searches where search_id in "
            "(select value from json_each(?)))", [json.dumps(ids)]).fetchone()[0] == 1)
    with _bulk(db, len(ids), "plate_hash" in fields):
        written = _write(db, columns, fields, sha, captured_at, searcher, known=known)
        _apply_lookups(db, sha)
    return _with_masked(_counts(db, written, sha, before), prepared.masked_plates)


# the AuditRow attribute of each of FIELDS, and which are free text to mask
_ROW_FIELDS = FIELDS
_MASKED = tuple(FIELDS.index(f) for f in ("reason", "case_number", "offense_type"))
_EXTRA = FIELDS.index("extra")


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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a million row lists are built and kept: each
    collection would walk all of them (more than the parsing itself costs)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _split_quoted(text: str) -> tuple[list[str], list[list[str]], range] | None:
    """(header, columns, row numbers) of a CSV in Flock's export format, every field quoted
    and no quote inside a field, split with C-level string operations; None for anything else
    (an unquoted field, an escaped quote, a blank line, mixed line ends, NUL), which
    csv.reader reads. For the text accepted, the fields are exactly csv.reader's: splitting
    at every quote alternates between field text and what lies between fields, and all of
    that must be a comma or the one line end, with the same number of fields on every line."""
    if not text.startswith('"') or "\0" in text:
        return None
    # ['', field, separator, field, separator, ..., field, end]
    parts = text.split('"')
    fields = (len(parts) - 1) // 2
    if len(parts) % 2 == 0:
        return None
    width = 1
    while 2 * width < len(parts) - 1 and parts[2 * width] == ",":
        width += 1
    end = parts[-1]
    newline = parts[2 * width] if 2 * width < len(parts) - 1 else end or "\n"
    lines = fields // width
    if newline not in ("\n", "\r\n") or end not in ("", newline) or lines * width != fields:
        return None
    header = parts[1:2 * width:2]
    columns = [parts[2 * (width + i) + 1::2 * width] for i in range(width)]
    # the separator after every width-th field is the line end, every other one a comma
    separators = parts[2:-1:2]
    if (separators[width - 1::width].count(newline) != lines - 1
            or separators.count(",") != fields - lines):
        return None
    return header, columns, range(1, lines)


def _fixed_form(values: Sequence[str], form: str) -> str | None:
    """The values joined by newlines when every one has exactly `form` ('d': an ASCII digit,
    anything else itself), else None; C-level string checks, no Python per value."""
    count, width = len(values), len(form)
    if not count or len(values[0]) != width or values[0][10:11] != form[10]:
        return None
    joined = "\n".join(values)
    if len(joined) != count * (width + 1) - 1:
        return None
    step = width + 1
    digits = []
    for at, char in enumerate(form):
        column = joined[at::step]
        if char == "d":
            digits.append(column)
        elif column != char * count:
            return None
    if joined[width::step] != "\n" * (count - 1):
        return None
    return joined if _ascii_digits("".join(digits)) else None


def _needs_trim(ids: Sequence[str]) -> bool:
    """Whether any id has spaces around it (SQLite's trim removes spaces only)."""
    joined = "\n".join(ids)
    return " " in joined and (joined.startswith(" ") or joined.endswith(" ") or "\n " in joined
                              or " \n" in joined)


def _ascii_digits(text: str) -> bool:
    """Only ASCII digits, at least one (bytes.isdigit: ten times faster than str.isdigit)."""
    return text.isascii() and text.encode("ascii").isdigit()


def _plain_digits(values: Sequence[str]) -> bool:
    """Every value empty or ASCII digits short enough for a 64-bit integer."""
    joined = "".join(values)
    return (not joined or _ascii_digits(joined)) and max(map(len, values), default=0) < 16


def load_audit_csv(db: sqlite_utils.Database, text: str, sha: str, captured_at: str,
                   searcher: str | None, resolve_orgs: Callable[[dict[str, str]], dict[str, str]],
                   hash_plate: Callable[[str], str] | None) -> tuple[Counter[str], list[str]]:
    """Load an audit CSV; returns (new / known / changed counts, warnings).

    Same column mapping as parse_search_audit_csv; values are mapped by SQL as they are bound.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    with _gc_paused():
        return _load_audit_csv(db, text, sha, captured_at, searcher, resolve_orgs, hash_plate)


def _load_audit_csv(db: sqlite_utils.Database, text: str, sha: str, captured_at: str,
                    searcher: str | None,
                    resolve_orgs: Callable[[dict[str, str]], dict[str, str]],
                    hash_plate: Callable[[str], str] | None) -> tuple[Counter[str], list[str]]:
    records: list[list[str]] | None = None
    data: Sequence[Sequence[str]]
    numbers: Sequence[int]
    split = _split_quoted(text)
    if split is not None:
        columns, data, numbers = split
        ragged = False
    else:
        records = list(csv.reader(io.StringIO(text, newline="")))
        if not records:
            return Counter(), ["search audit CSV is empty (no header)"]
        columns = records[0]
        # blank lines (csv gives []) are skipped but still count in row numbers, as in the parser
        body = [r for r in records[1:] if r]
        ragged = bool(set(map(len, body)) - {len(columns)})
        data = [() for _ in columns] if ragged or not body else list(zip(*body, strict=True))
        numbers = [n for n in range(1, len(records)) if records[n]]
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
    plain_counts = {i for i in counts_at if not ragged and _plain_digits(data[i])}
    if ragged or not all(all(map(str.isdigit, filter(None, data[i])))
                         for i in counts_at if i not in plain_counts):
        # ragged rows or non-numeric counts: the Python parser keeps every oddity in `extra`;
        # these files are rare, so they take that path rather than a second implementation
        if records is None:
            records = list(csv.reader(io.StringIO(text, newline="")))
        rows, warnings = parse_audit_records(columns, records[1:], hash_plate)
        orgs = {r.org_name.strip(): sha for r in rows if r.org_name and r.org_name.strip()}
        return load_rows(db, rows, sha, captured_at, searcher,
                         resolve_orgs(orgs) if orgs else {}, hash_plate), warnings

    seen: dict[int, set[str]] = {}  # distinct values of a column, when computed

    def distinct(field: str) -> set[str]:
        i = fields.get(field)
        if i is None:
            return set()
        seen[i] = set(data[i])
        return seen[i]

    orgs = {o.strip() for o in distinct("org_name") if o.strip()}
    org_ids = resolve_orgs({name: sha for name in sorted(orgs)}) if orgs else {}
    # plates in free text become keyed tokens: columns holding any are bound masked
    mask = _PlateMask(hash_plate)
    masked: dict[int, list[str]] = {}
    if (i_ids := fields.get("search_id")) is not None:
        free_text = [fields.get(f) for f in ("reason", "case_number", "offense_type")]
        for i in [*free_text, *(i for i, _ in unknown)]:
            if i is not None and (column := mask.column(data[i], data[i_ids])) is not None:
                masked[i] = column
    i_reasons = fields.get("reason")
    _prepare(db, set(masked[i_reasons]) if i_reasons in masked else distinct("reason"),
             org_ids)

    def at(field: str) -> int | None:
        return fields.get(field)

    i_id, i_user, i_date = at("search_id"), at("user_id"), at("searched_at")
    i_net, i_cam, i_reason = at("network_count"), at("camera_count"), at("reason")
    i_case, i_off, i_org, i_type = at("case_number"), at("offense_type"), at("org_name"), \
        at("search_type")
    i_plate = at("plate")
    # Each CSV record is bound as it is (cell k is ?k+1); the SQL applies the parser's rules:
    # empty -> null, digits -> integers, dates to UTC; anything unusual goes through the
    # parser's own functions (normalise_search_date, _to_int) as SQL functions.
    db.conn.create_function("py_date", 1, _py_date, deterministic=True)
    db.conn.create_function("py_int", 1, _py_int, deterministic=True)
    if i_id is None:
        return Counter(), [*warnings, "search audit: no id column: nothing loaded"]
    # values computed for a whole column at once are bound after the cells
    extras: list[Sequence[Any]] = []

    def bind(values: Sequence[Any]) -> str:
        extras.append(values)
        return f"?{width + len(extras)}"

    row_number = bind(numbers)
    names: list[str] = ["search_id"]
    trimmed = _needs_trim(data[i_id])
    exprs: list[str] = [f"trim(?{i_id + 1})" if trimmed else f"?{i_id + 1}"]

    def add(name: str, expr: str) -> None:
        names.append(name)
        exprs.append(expr)

    def text_or_null(i: int) -> str:
        return f"nullif(?{i + 1}, '')" if "" in seen.get(i, data[i]) else f"?{i + 1}"

    naive = 0
    if i_user is not None:
        add("user_id", text_or_null(i_user))
    if i_date is not None:
        d, dates = f"?{i_date + 1}", data[i_date]
        # a column all in one of Flock's two common forms is mapped once for all its values
        if _fixed_form(dates, "dddd-dd-ddTdd:dd:dd.dddZ") is not None:
            add("searched_at", d)  # already ISO-8601 UTC
            add("searched_at_raw", d)
        elif (joined := _fixed_form(dates, "dddd-dd-dd dd:dd:dd.ddd")) is not None:
            # time-zone-less (Eugene 2025), taken as UTC: "2025-06-18T00:02:04.789Z"
            naive = len(dates)
            add("searched_at", bind((joined.replace(" ", "T").replace("\n", "Z\n")
                                     + "Z").split("\n")))
            add("searched_at_raw", d)
        else:
            naive = sum(1 for v in dates if v[10:11] == " " and v[-1:] != "Z")
            add("searched_at", f"case when {d} glob '{_ISO_Z}' then {d} "
                               f"when {d} glob '{_ISO_NAIVE}' then "
                               f"substr({d},1,10) || 'T' || substr({d},12) || 'Z' "
                               f"else py_date({d}) end")
            add("searched_at_raw", text_or_null(i_date))
    for name, i in (("network_count", i_net), ("camera_count", i_cam)):
        if i is not None:
            v = f"?{i + 1}"
            add(name, f"cast(nullif({v}, '') as integer)" if i in plain_counts else
                f"case when {v} glob '[0-9]*' and {v} not glob '*[^0-9]*' and "
                f"length({v}) < 16 then cast({v} as integer) else py_int({v}) end")
    for name, i in (("reason", i_reason), ("case_number", i_case), ("offense_type", i_off),
                    ("org_name", i_org), ("search_type", i_type)):
        if i in masked:
            add(name, f"nullif({bind(masked[i])}, '')")
        elif i is not None:
            add(name, text_or_null(i))
    if unknown:
        add("extra", "json_object(" + ", ".join(
            f"'{k.replace(chr(39), chr(39) * 2)}', "
            f"{bind(masked[i]) if i in masked else f'?{i + 1}'}" for i, k in unknown) + ")")
    if i_plate is not None and hash_plate is not None:
        plates = data[i_plate]
        hashed = {v: hash_plate(v.strip()) if v.strip() else None for v in set(plates)}
        add("plate_hash", bind(list(map(hashed.__getitem__, plates))))
    add("source_row", f"'row ' || {row_number}")
    ids = data[i_id]
    count = len(ids) - ids.count("")
    params = [*data, *extras]
    if count < len(ids):  # rows without an id are skipped
        params = [list(compress(column, ids)) for column in params]
    if count >= BULK_ROWS and not trimmed and not _ascending(params[i_id]):
        # B-tree appends instead of random inserts (stable: repeats keep their order)
        order = itemgetter(*sorted(range(count), key=params[i_id].__getitem__))
        params = [order(column) for column in params]
    before = _versions(db, sha)
    with _bulk(db, count, "plate_hash" in names):
        written = _write(db, params, tuple(names), sha, captured_at, searcher, tuple(exprs))
        _apply_lookups(db, sha)
    no_id = len(numbers) - written[0]
    if no_id:
        warnings.append(f"search audit: {no_id} row(s) without an id skipped")
    if i_plate is not None and hash_plate is None:
        warnings.append("search audit: plate values dropped (no plate hasher)")
    if naive:
        warnings.append(f"search audit: {naive} searchDate value(s) without a time zone taken "
                        "as UTC")
    return _with_masked(_counts(db, written, sha, before), mask.tokens), warnings


# ---- upgrade -------------------------------------------------------------------------------
FREE_TEXT = ("reason", "case_number", "offense_type")


def mask_stored_plates(db: sqlite_utils.Database, hash_plate: Callable[[str], str]) -> int:
    """Mask plates in rows stored before free text was masked (schema 1): searches' free text
    and unknown columns, search_versions' content; audit exports' full text is dropped (their
    rows are the searchable form). Returns the number of rows changed."""

    def mask(value: Any) -> Any:
        return mask_plates(value, hash_plate)[0] if isinstance(value, str) else value

    def mask_json(text: str | None, keys: tuple[str, ...] | None) -> str | None:
        if not text:
            return text
        try:
            value = json.loads(text)
        except ValueError:
            return mask(text)
        if not isinstance(value, dict):
            return text
        return _compact({k: mask(v) if keys is None or k in keys else v
                         for k, v in value.items()})

    db.conn.create_function("alpr_mask_plates", 1, mask, deterministic=True)
    db.conn.create_function("alpr_mask_extra", 1, lambda t: mask_json(t, None),
                            deterministic=True)
    db.conn.create_function("alpr_mask_content", 1, lambda t: mask_json(t, FREE_TEXT),
                            deterministic=True)
    changed = 0
    for column in FREE_TEXT:
        changed += db.execute(
            f"update searches set {column} = alpr_mask_plates({column}) where {column} glob "
            f"'*[0-9]*' and alpr_mask_plates({column}) is not {column}").rowcount
    changed += db.execute("update searches set extra = alpr_mask_extra(extra) where extra glob "
                          "'*[0-9]*' and alpr_mask_extra(extra) is not extra").rowcount
    changed += db.execute("update search_versions set content = alpr_mask_content(content) "
                          "where alpr_mask_content(content) is not content").rowcount
    db.execute("delete from document_texts where sha256 in (select sha256 from documents "
               "where doc_type = 'audit_export')")
    if db["searches_fts"].exists():
        db["searches"].rebuild_fts()
    return changed
