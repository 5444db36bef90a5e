"""Sharing intervals from published lists, set-based: a few SQL statements per load.

A list agency's lists form one timeline per (source kind, direction), ordered by capture time
(then document). A name's interval is a run of consecutive lists of its timeline that name it;
the next list of the same timeline without the name closes it (`gone_by`). A capture that does
not publish a direction at all is not part of that direction's timeline, so it says nothing
about its names. `current` = the interval reaches the newest list of its timeline.

The whole derivation for the touched list agencies runs as SQL over `sharing_lists` (window
functions number each timeline and find the runs; a run of consecutive lists with the same names,
half of all captures, is read once), inside one transaction, so a load of
thousands of portals writes its intervals in a handful of statements instead of one commit per
agency. Results are the same rows, ids included, as the earlier per-agency Python loop.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable

from alpr_inventory.store.schema import indexed_after_filling
from parsers.names import federal_marker, match_key

__all__ = ["register_functions", "derive_intervals", "INTERVAL_COLUMNS"]

INTERVAL_COLUMNS = (
    "id", "owner_id", "grantee_id", "direction", "list_agency_id", "source_kind", "raw_name",
    "grantee_marked_federal", "owner_marked_federal", "first_seen", "last_seen", "gone_by",
    "current", "captures", "first_document", "last_document", "gone_document",
)


def _short_id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions the derivation uses: the interval id and Flock's [Federal] label."""
    conn.create_function("short_id", -1, _short_id, deterministic=True)
    conn.create_function("federal_marker", 1, lambda n: int(federal_marker(n or "")),
                         deterministic=True)
    conn.create_function("match_key", 1, match_key, deterministic=True)


def derive_intervals(conn: sqlite3.Connection, list_agency_ids: Iterable[str]) -> int:
    """Replace the intervals of these list agencies' lists; returns how many were written.

    Names must already be resolved (every listed name has an `agency_aliases` row); a name
    linked in the context of the list (agency_links, scope = list agency) takes the linked id.
    Call inside a transaction.
    """
    register_functions(conn)
    conn.execute("drop table if exists temp._dirty_lists")
    conn.execute("create temp table _dirty_lists (id text primary key)")
    conn.executemany("insert or ignore into temp._dirty_lists values (?)",
                     [(i,) for i in list_agency_ids])
    conn.execute("delete from sharing where list_agency_id in (select id from temp._dirty_lists)")
    conn.execute("drop table if exists temp._timeline")
    # every list of a touched agency, numbered within its timeline (tl: one per agency, source
    # kind and direction); seg numbers the runs of consecutive lists with the same names (most
    # captures repeat the one before: half of the corpus's lists), so each run's names are read
    # once
    conn.execute("create temp table _timeline (tl integer, seq integer, seg integer, "
                 "list_agency_id text, source_kind text, direction text, captured_at text, "
                 "document_sha256 text, list_rowid integer)")
    conn.execute("""
        insert into _timeline
        select tl, seq, sum(starts) over (partition by tl order by seq) as seg, list_agency_id,
          source_kind, direction, captured_at, document_sha256, list_rowid
        from (
          select dense_rank() over (order by l.list_agency_id, l.source_kind, l.direction) as tl,
            row_number() over w as seq,
            l.names is not lag(l.names) over w as starts,
            l.list_agency_id, l.source_kind, l.direction, l.captured_at, l.document_sha256,
            l.rowid as list_rowid
          from sharing_lists l
          where l.list_agency_id in (select id from temp._dirty_lists)
          window w as (partition by l.list_agency_id, l.source_kind, l.direction
                       order by l.captured_at, l.document_sha256))""")
    conn.execute("create unique index temp._timeline_seq on _timeline (tl, seq)")
    conn.execute("drop table if exists temp._segments")
    conn.execute("create temp table _segments (tl integer, seg integer, first_seq integer, "
                 "last_seq integer, list_rowid integer, primary key (tl, seg)) without rowid")
    conn.execute("""
        insert into _segments
        select t.tl, t.seg, t.seq, m.last_seq, t.list_rowid
        from (select tl, seg, min(seq) as first_seq, max(seq) as last_seq
              from _timeline group by tl, seg) m
        join _timeline t on t.tl = m.tl and t.seq = m.first_seq""")
    # each name once per run of same lists, by its match key (names.match_key: whitespace
    # collapsed, so a spacing difference between two captures does not break an interval); the
    # name as published is kept beside it
    conn.execute("drop table if exists temp._listed")
    conn.execute("create temp table _listed (tl integer, key text, seg integer, name text, "
                 "primary key (tl, key, seg)) without rowid")
    # (a name of printable ASCII without edge or double spaces is its own key: the Python
    # function runs only for the others)
    conn.execute("insert or ignore into _listed select s.tl, "
                 "case when j.value not glob '*[^ -~]*' and j.value not like ' %' "
                 "and j.value not like '% ' and instr(j.value, '  ') = 0 then j.value "
                 "else match_key(j.value) end, s.seg, "
                 "j.value from _segments s "
                 "join sharing_lists l on l.rowid = s.list_rowid, json_each(l.names) j")
    conn.execute("drop table if exists temp._runs")
    # seg minus the name's rank is constant along a run of consecutive segments naming it (so
    # of consecutive lists: segments cover the timeline without gaps); an interval's raw_name
    # is the name as published in the first list of its run
    conn.execute("create temp table _runs (tl integer, key text, first_seq integer, "
                 "last_seq integer, captures integer, name text)")
    conn.execute("""
        insert into _runs
        select r.tl, r.key, a.first_seq, b.last_seq, b.last_seq - a.first_seq + 1, x.name
        from (select tl, key, min(seg) as first_seg, max(seg) as last_seg
              from (select tl, key, seg,
                      seg - row_number() over (partition by tl, key order by seg) as grp
                    from _listed)
              group by tl, key, grp) r
        join _segments a on a.tl = r.tl and a.seg = r.first_seg
        join _segments b on b.tl = r.tl and b.seg = r.last_seg
        join _listed x on x.tl = r.tl and x.key = r.key and x.seg = r.first_seg""")
    with indexed_after_filling(conn, "sharing"):
        written = _insert_intervals(conn)
    for table in ("_runs", "_listed", "_segments", "_timeline", "_dirty_lists"):
        conn.execute(f"drop table if exists temp.{table}")
    return written


def _insert_intervals(conn: sqlite3.Connection) -> int:
    """One interval per run (temp._runs), with its owner, grantee, first and last lists."""
    cur = conn.execute("""
        insert into sharing (id, owner_id, grantee_id, direction, list_agency_id, source_kind,
          raw_name, grantee_marked_federal, owner_marked_federal, first_seen, last_seen, gone_by,
          current, captures, first_document, last_document, gone_document)
        select short_id(f.list_agency_id, f.source_kind, f.direction, r.name, f.captured_at),
          case when f.direction = 'outbound' then f.list_agency_id
               else coalesce(k.to_id, a.agency_id) end,
          case when f.direction = 'outbound' then coalesce(k.to_id, a.agency_id)
               else f.list_agency_id end,
          f.direction, f.list_agency_id, f.source_kind, r.name,
          case when f.direction = 'outbound' then r.name like '%federal%'
                 and federal_marker(r.name)
               else coalesce(la.flock_marked_federal, 0) end,
          case when f.direction = 'outbound' then coalesce(la.flock_marked_federal, 0)
               else r.name like '%federal%' and federal_marker(r.name) end,
          f.captured_at, l.captured_at, g.captured_at,
          case when g.seq is null then 1 else 0 end, r.captures,
          f.document_sha256, l.document_sha256, g.document_sha256
        from _runs r
        join _timeline f on f.tl = r.tl and f.seq = r.first_seq
        join _timeline l on l.tl = r.tl and l.seq = r.last_seq
        left join _timeline g on g.tl = r.tl and g.seq = r.last_seq + 1
        left join agencies la on la.id = f.list_agency_id
        join agency_aliases a on a.alias = r.name
        left join agency_links k on k.scope_id = f.list_agency_id and k.raw_name = r.name
          and k.kind = 'name' and k.status = 'linked'""")
    return cur.rowcount
