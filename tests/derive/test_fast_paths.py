"""The fast paths give the same answers as the slow ones they replaced (issue 13).

Speed itself is measured by scripts/bench_scale and scripts/bench, never here; these tests check
that the indexed, incremental and set-based forms are right: the same rows as a straightforward
form, and the query plans read the indexes they were written for.

Facts from the corpus (read in the captures, as in test_changes.py): El Cajon CA PD's outbound
list drops "College Place WA PD" between its 2026-04-15 and 2026-04-22 captures. Search rows in
the report tests are generated here (say so below), with the table's real schema.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import date, timedelta

import pytest
from conftest import capture, fetched_from_file

from alpr_inventory.derive.changes import compute_changes, refresh_changes
from alpr_inventory.serve.report import build_report
from alpr_inventory.store.schema import (
    AGENCY_IDS,
    CANNED_QUERIES,
    _paged,
    indexed_after_filling,
    open_db,
    rebuild_fts,
    refresh_statistics,
)

EL_CAJON = "-el-cajon-pd-ca"
DAYS = ("2026-04-15", "2026-04-22", "2026-04-29")

# the single-form query recent_changes replaced (it read the whole table when :agency = ''):
# the agency looked up by any of its names (AGENCY_IDS), paged
OLD_RECENT_CHANGES = _paged(f"""
select c.after_captured_at, c.before_captured_at, a.name as agency, c.kind, c.raw_name,
  c.old_value, c.new_value, c.federal, c.summary, c.before_document, c.after_document
from changes c left join agencies a on a.id = c.agency_id
where (:agency = '' or c.agency_id in {AGENCY_IDS} or c.counterpart_id in {AGENCY_IDS})
  and (:since = '' or c.after_captured_at >= :since)
  and (:federal = '' or c.federal = cast(:federal as integer))
order by c.after_captured_at desc, a.name, c.kind
""")


def load(store, slug: str, days: tuple[str, ...]) -> None:
    for day in days:
        store.ingest(fetched_from_file(capture(slug, day)))
    store.finish()


def plan(conn: sqlite3.Connection, sql: str, params: dict[str, str]) -> str:
    return "\n".join(r[3] for r in conn.execute(f"explain query plan {sql}", params))


def test_recent_changes_branches_give_the_old_answers(store):
    load(store, EL_CAJON, DAYS)
    load(store, "burbank-ca-pd", ("2026-04-04", "2026-04-11", "2026-04-18"))
    conn = store.db.conn
    sql = CANNED_QUERIES["recent_changes"]["sql"]
    cases = [{"agency": a, "since": s, "federal": f, "page": ""}
             for a in ("", "El Cajon", "el-cajon-ca-pd", "Burbank", "nobody")
             for s in ("", "2026-04-20") for f in ("", "1", "0")]
    for params in cases:
        new = sorted(conn.execute(sql, params).fetchall())
        old = sorted(conn.execute(OLD_RECENT_CHANGES, params).fetchall())
        assert new == old, params
    everyone = conn.execute(sql, {"agency": "", "since": "", "federal": "", "page": ""}
                            ).fetchall()
    assert any(r[4] == "College Place WA PD" and r[3] == "grantee_removed" for r in everyone)
    assert [r[0] for r in everyone] == sorted((r[0] for r in everyone), reverse=True)
    # every branch reads changes through an index (which one is the planner's choice, from
    # the statistics: on a national database, agency_id for one agency), never the whole table
    # in storage order followed by a sort
    lines = plan(conn, sql, {"agency": "", "since": "", "federal": "", "page": ""}).splitlines()
    reads = [x for x in lines if x.startswith(("SCAN c", "SEARCH c"))]
    assert len(reads) >= 3 and all(" USING INDEX idx_changes_" in x for x in reads), lines


def test_flagged_searches_read_the_partial_index(store):
    sql = CANNED_QUERIES["flagged_searches"]["sql"]
    assert "SCAN s USING INDEX idx_searches_flagged" in plan(store.db.conn, sql, {"page": ""})


def test_incremental_change_history_equals_a_full_rebuild(store):
    load(store, EL_CAJON, DAYS[:2])  # first run: two captures
    load(store, "burbank-ca-pd", ("2026-04-04", "2026-04-11"))
    load(store, EL_CAJON, DAYS[2:])  # a later run touching El Cajon only
    db = store.db
    incremental = sorted(db.execute("select * from changes").fetchall())
    assert incremental
    refresh_changes(db)  # everything from scratch
    assert sorted(db.execute("select * from changes").fetchall()) == incremental
    # only the agencies named are recomputed; the others' rows stay as they were
    assert refresh_changes(db, ["burbank-ca-pd"]) == len(compute_changes(db, ["burbank-ca-pd"]))
    assert sorted(db.execute("select * from changes").fetchall()) == incremental


def test_full_text_indexes_follow_replaced_and_added_rows(store):
    load(store, EL_CAJON, DAYS[:1])
    load(store, EL_CAJON, DAYS[1:2])  # intervals of El Cajon are replaced
    db = store.db

    def hits(table: str, text: str) -> list[int]:
        return sorted(r[0] for r in db.execute(
            f"select rowid from {table}_fts where {table}_fts match ?", [text]))

    def truth(table: str, column: str, text: str) -> list[int]:
        return sorted(r[0] for r in db.execute(
            f"select rowid from {table} where {column} like ?", [f"%{text}%"]))

    assert hits("sharing", '"College Place"') == truth("sharing", "raw_name", "College Place")
    assert hits("sharing", '"College Place"')
    # searches: append-only, indexed incrementally at the end of each run
    before = db.execute("select count(*) from searches").fetchone()[0]
    db.execute("insert into searches (search_id, reason) values ('generated-1', "
               "'generated reason zebracorn')")  # generated row
    rebuild_fts(db)
    assert hits("searches", "zebracorn") == truth("searches", "reason", "zebracorn")
    assert db.execute("select count(*) from searches_fts_docsize").fetchone()[0] == before + 1


def test_statistics_are_refreshed_after_a_large_load(store):
    db = store.db
    assert refresh_statistics(db) is False  # nothing big yet
    db.conn.executemany("insert into searches (search_id) values (?)",
                        [(f"generated-{i}",) for i in range(1500)])  # generated rows
    assert refresh_statistics(db) is True
    assert refresh_statistics(db) is False  # statistics are current now


def test_unchanged_state_policies_are_not_rewritten(store):
    store.finish()
    db = store.db
    before = db.conn.total_changes
    store.finish()
    assert db.conn.total_changes == before
    assert db.execute("select count(*) from state_policies").fetchone()[0] > 50


def _add_searches(db, rows: list[tuple]) -> None:
    db.conn.executemany(
        "insert into searches (search_id, searching_agency_id, data_owner_id, searched_at, "
        "federal_searcher, immigration_reason, reason, first_document, versions) "
        "values (?, ?, ?, ?, ?, ?, ?, ?, 1)", rows)


def test_report_counts_from_indexes_equal_a_row_by_row_count(store):
    load(store, EL_CAJON, DAYS[:1])
    db = store.db
    aid = "el-cajon-ca-pd"
    doc_a, doc_b = (hashlib.sha256(x).hexdigest() for x in (b"generated a", b"generated b"))
    # GENERATED searches: 300 by El Cajon's users over ten weeks (some flagged), 5 by another
    # agency into El Cajon's data, one with a date that is not ISO
    rows = []
    for i in range(300):
        day = date(2025, 6, 2) + timedelta(days=i % 70)
        rows.append((f"gen-{i}", aid, None, f"{day}T{i % 24:02d}:00:00.000Z", int(i % 50 == 0),
                     int(i % 37 == 0), "assist" if i % 37 else "ICE ERO", doc_a if i % 2 else
                     doc_b, ))
    rows += [(f"other-{i}", "bell-ca-pd", aid, f"2025-06-{10 + i}T01:00:00.000Z", 0,
              int(i == 0), "HSI" if i == 0 else "theft", doc_b) for i in range(5)]
    rows.append(("odd-1", "bell-ca-pd", aid, "06/20/2025 01:00", 1, 0, "x", doc_a))
    _add_searches(db, rows)
    got = build_report(db.conn, aid).searches

    mine = [r for r in rows if r[1] == aid or (r[2] == aid and r[1] != aid)]
    total = got["total"]
    assert total["n"] == len(mine) == 306
    assert (total["own"], total["others"]) == (300, 6)
    assert total["federal"] == sum(r[4] for r in mine)
    assert total["imm"] == sum(r[5] for r in mine)
    assert total["first"] == min(r[3] for r in mine)
    assert total["last"] == max(r[3] for r in mine)
    weeks: dict[str, list[int]] = {}
    for r in mine:
        try:
            d = date.fromisoformat(r[3][:10])
        except ValueError:
            continue  # not a date: counted in the total, not in a week
        w = weeks.setdefault((d - timedelta(days=d.weekday())).isoformat(), [0, 0, 0])
        w[0] += 1
        w[1] += r[4]
        w[2] += r[5]
    assert {w["week"]: [w["n"], w["federal"], w["imm"]] for w in got["weekly"]} == weeks
    assert {f["search_id"] for f in got["flagged"]} == {r[0] for r in mine if r[4] or r[5]}


def _indexes_and_triggers(conn: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    return sorted(conn.execute(
        "select name, sql from sqlite_master where type in ('index', 'trigger') and "
        "tbl_name = ? and sql is not null", [table]).fetchall())


def test_a_first_build_fills_tables_before_indexing_them_and_leaves_the_schema_whole(
        store, tmp_path):
    declared = open_db(str(tmp_path / "declared.db")).conn  # a new database's own schema
    conn = store.db.conn
    # the first build: sharing and data_access are filled while empty (indexes deferred)
    load(store, EL_CAJON, DAYS[:2])
    load(store, "burbank-ca-pd", ("2026-04-04",))  # then a load into tables holding rows
    for table in ("sharing", "data_access"):
        assert _indexes_and_triggers(conn, table) == _indexes_and_triggers(declared, table)
        assert len(_indexes_and_triggers(conn, table)) >= 5
    # the full-text index rebuilt after the deferred fill finds El Cajon's listed names, and the
    # triggers brought back index Burbank's: every match is a row naming it, and back
    hits = sorted(r[0] for r in conn.execute(
        "select rowid from sharing_fts where sharing_fts match '\"College Place\"'"))
    assert hits and hits == sorted(r[0] for r in conn.execute(
        "select rowid from sharing where raw_name like '%College Place%'"))
    burbank = {r[0] for r in conn.execute(
        "select rowid from sharing where list_agency_id = 'burbank-ca-pd'")}
    indexed = {r[0] for r in conn.execute("select rowid from sharing_fts_docsize")}
    assert burbank and burbank <= indexed
    assert indexed == {r[0] for r in conn.execute("select rowid from sharing")}
    assert "USING INDEX idx_data_access_owner_id_current" in plan(
        conn, "select * from data_access where owner_id = :o and current = 1", {"o": EL_CAJON})


def test_a_failed_fill_of_an_empty_table_leaves_its_indexes(store):
    load(store, EL_CAJON, DAYS[:1])
    conn = store.db.conn
    before = _indexes_and_triggers(conn, "sharing")
    rows = conn.execute("select count(*) from sharing").fetchone()[0]
    conn.execute("savepoint fill")
    conn.execute("delete from sharing")
    with pytest.raises(RuntimeError):
        with indexed_after_filling(conn, "sharing") as deferred:
            assert deferred
            assert _indexes_and_triggers(conn, "sharing") == []  # dropped while filling
            raise RuntimeError("the load failed")
    assert _indexes_and_triggers(conn, "sharing") == before  # built again before the rollback
    conn.execute("rollback to fill")
    conn.execute("release fill")
    assert conn.execute("select count(*) from sharing").fetchone()[0] == rows
    with indexed_after_filling(conn, "sharing") as deferred:  # a table holding rows
        assert not deferred
        assert _indexes_and_triggers(conn, "sharing") == before
