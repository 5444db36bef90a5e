"""The answers, computed once per build: one row per data owner and organisation that can see
its data (`data_access`), each owner's newest own list (`owner_lists`), exposure per owner
(`agency_exposure`), 287(g) status per agency (`agency_287g`) and every name an agency is
known by (`agency_lookup`).

Why stored: a reporter's question ("who can see El Cajon's data now?") must be answered from
one place, the same way in the CLI, the report and Datasette, and fast on a national database
(1M sharing intervals): so "current" and "newest list" are decided here, at derive time, and
the queries only filter on indexed ids.

`current` means: named in the newest list of the newest source for this owner. When the owner
publishes its own list (portal, records release, peer dataset), that is its newest own
"can see its data" list (a 2024 dataset is history once a 2026 portal capture exists); evidence
from other agencies' lists counts as current only when it is still in that source's newest list
and newer than the owner's own newest list (or the owner publishes none).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from typing import Any, NamedTuple

from alpr_inventory.resolve.resolver import Resolution
from alpr_inventory.store.schema import indexed_after_filling

__all__ = ["SOURCE_PRIORITY", "affected_owners", "lookup_key", "refresh_agency_287g",
           "refresh_answers", "refresh_exposure", "refresh_lookup"]

# a portal capture and a release on the same day: the portal is the agency's own current page
SOURCE_PRIORITY = {"flock_portal": 3, "records_release": 2, "peer_dataset": 1}


def lookup_key(text: str) -> str:
    """How a typed or published name is compared: case and spacing ignored."""
    return " ".join((text or "").split()).lower()


def _chunks(items: list[Any], n: int = 500) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def affected_owners(conn: sqlite3.Connection, list_agency_ids: Iterable[str]) -> set[str]:
    """The list agencies themselves (an empty list is an answer too) and the data owners of the
    intervals their lists give (those they name as sharing with them)."""
    ids = sorted(set(list_agency_ids))
    return set(ids) | {r[0] for r in conn.execute(
        "select distinct owner_id from sharing where list_agency_id in "
        "(select value from json_each(?))", [json.dumps(ids)])}


# ---- owner_lists + data_access ---------------------------------------------------------------
def _refresh_owner_lists(conn: sqlite3.Connection, owners: str) -> None:
    conn.execute("delete from owner_lists where owner_id in (select value from json_each(?))",
                 [owners])
    conn.execute(f"""
        insert into owner_lists (owner_id, list_id, source_kind, label, captured_at,
          document_sha256, names, own_lists)
        select list_agency_id, id, source_kind, label, captured_at, document_sha256, count,
          n from (
          select l.*, row_number() over (partition by l.list_agency_id order by l.captured_at
            desc, case l.source_kind {' '.join(f"when '{k}' then {v}" for k, v in
                                               SOURCE_PRIORITY.items())} else 0 end desc,
            l.document_sha256 desc) as rn,
            count(*) over (partition by l.list_agency_id) as n
          from sharing_lists l
          where l.direction = 'outbound'
            and l.list_agency_id in (select value from json_each(?)))
        where rn = 1""", [owners])


DATASET_WORDS = {"news_observer_private_eyes": "The News & Observer's 'Private Eyes'"}
SOURCE_WORDS = {"flock_portal": "portal", "peer_dataset": "peer dataset",
                "records_release": "records release"}


class _Interval(NamedTuple):
    """One sharing interval as data_access reads it (the columns of _insert_owners_access)."""

    owner_id: str
    grantee_id: str
    direction: str
    list_agency_id: str
    source_kind: str
    raw_name: str
    first_seen: str
    last_seen: str
    gone_by: str | None
    current: int
    first_document: str | None
    last_document: str | None
    gone_document: str | None
    grantee_marked_federal: int
    list_name: str | None
    label: str | None
    newest_kind: str | None
    newest_at: str | None


def _source_label(row: _Interval, owner_id: str) -> str:
    """What a source is, in words: its own portal, another agency's portal, a release, ..."""
    kind = row.source_kind
    own = row.list_agency_id == owner_id and row.direction == "outbound"
    whose = "its own" if own else f"{row.list_name or row.list_agency_id}'s"
    if kind == "peer_dataset":
        what = (f"{DATASET_WORDS.get(row.label or '', row.label or 'a')} peer dataset "
                f"({(row.last_seen or '')[:4]})")
        return what if own else f"{what}, {whose} list"
    return f"{whose} {SOURCE_WORDS.get(kind, kind)}"


def _refresh_access(conn: sqlite3.Connection, owners: str) -> int:
    conn.execute("delete from data_access where owner_id in (select value from json_each(?))",
                 [owners])
    with indexed_after_filling(conn, "data_access"):  # (before any statement reads)
        return _insert_owners_access(conn, owners)


def _as_interval(_: sqlite3.Cursor, values: tuple[Any, ...]) -> _Interval:
    return _Interval._make(values)


def _insert_owners_access(conn: sqlite3.Connection, owners: str) -> int:
    """One data_access row per owner and grantee, from the owners' sharing intervals."""
    cur = conn.cursor()
    cur.row_factory = _as_interval  # (by attribute: a dict per row cost a third of the time)
    cur.execute("""
        select s.owner_id, s.grantee_id, s.direction, s.list_agency_id, s.source_kind,
          s.raw_name, s.first_seen, s.last_seen, s.gone_by, s.current, s.first_document,
          s.last_document, s.gone_document, s.grantee_marked_federal, p.name as list_name,
          x.label, n.source_kind as newest_kind, n.captured_at as newest_at
        from sharing s
        left join agencies p on p.id = s.list_agency_id
        left join sharing_lists x on x.list_agency_id = s.list_agency_id
          and x.captured_at = s.last_seen and x.document_sha256 = s.last_document
          and x.direction = s.direction  -- (the list's id is a hash of these four)
        left join owner_lists n on n.owner_id = s.owner_id
        where s.owner_id in (select value from json_each(?))
          and s.grantee_id != s.owner_id  -- a list naming its own agency says nothing here
        order by s.owner_id, s.grantee_id, s.last_seen desc, s.first_seen desc,
          s.source_kind, s.list_agency_id, s.direction""", [owners])
    batch: list[tuple[Any, ...]] = []
    written = 0
    # streamed, one owner x grantee at a time: a national build has a million intervals
    for _, group in groupby(cur, key=itemgetter(0, 1)):
        batch.append(_access_row(list(group)))
        if len(batch) >= 2000:
            _insert_access(conn, batch)
            written += len(batch)
            batch = []
    if batch:
        _insert_access(conn, batch)
        written += len(batch)
    return written


ACCESS_COLUMNS = (
    "owner_id", "grantee_id", "current", "current_basis", "in_newest_own_list",
    "listed_now_elsewhere", "first_seen", "last_seen", "newest_document", "newest_source",
    "sources", "names_as_published", "evidence_documents",
    "grantee_marked_federal", "intervals",
)


def _insert_access(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    # (one prepared single-row statement: faster here than statements of 2,000 rows, whose
    # 30,000 parameters took longer to prepare and bind than the rows to write)
    conn.executemany(f"insert into data_access ({', '.join(ACCESS_COLUMNS)}) values "
                     f"({', '.join('?' * len(ACCESS_COLUMNS))})", rows)


def _access_row(rows: list[_Interval]) -> tuple[Any, ...]:
    """One owner x grantee from its intervals (newest evidence first)."""
    first = rows[0]
    owner = first.owner_id
    newest_kind, newest_at = first.newest_kind, first.newest_at
    in_newest = listed_elsewhere = marked = False
    newer_elsewhere = None
    sources: list[str] = []
    docs: list[str] = []
    names: list[str] = []
    first_seen = first.first_seen
    for r in rows:
        own = r.list_agency_id == owner and r.direction == "outbound"
        if r.current:
            if own:
                in_newest = in_newest or r.source_kind == newest_kind
            else:
                listed_elsewhere = True
                if newer_elsewhere is None and (newest_at is None or r.last_seen > newest_at):
                    newer_elsewhere = r
        marked = marked or bool(r.grantee_marked_federal)
        if r.first_seen < first_seen:
            first_seen = r.first_seen
        a, b = r.first_seen[:10], r.last_seen[:10]
        state = ("in that source's newest list" if r.current else
                 f"gone by {(r.gone_by or '')[:10]}")
        sources.append(f"{_source_label(r, owner)} {a if a == b else a + '..' + b} ({state})")
        for doc in (r.last_document, r.first_document):
            if doc and doc not in docs:
                docs.append(doc)
        # the grantee's name as published: the name in an outbound list, the list agency's
        # own name when the grantee's list says it receives the data (inbound)
        shown = r.raw_name if r.direction == "outbound" else (
            r.list_name or r.list_agency_id)
        if shown not in names:
            names.append(shown)
    newest_words = SOURCE_WORDS.get(newest_kind, newest_kind)
    if in_newest:
        basis = f"in its newest own list ({newest_words}, {newest_at[:10]})"
    elif newer_elsewhere is not None:
        r = newer_elsewhere
        basis = (f"in the newest list of {_source_label(r, owner)} ({r.last_seen[:10]})"
                 + (f", newer than its own newest list ({newest_at[:10]})" if newest_at else
                    "; it publishes no list of its own"))
    elif newest_at:
        basis = (f"history: last listed {first.last_seen[:10]}; not in its newest own list "
                 f"({newest_words}, {newest_at[:10]})")
    else:
        basis = f"history: last listed {first.last_seen[:10]}, not in that source's newest list"
    current = in_newest or newer_elsewhere is not None
    return (
        owner, first.grantee_id, int(current), basis, int(in_newest),
        int(listed_elsewhere), first_seen, first.last_seen, first.last_document,
        _source_label(first, owner),
        "; ".join(sources), "; ".join(names),
        '["' + '", "'.join(docs) + '"]' if docs else "[]", int(marked), len(rows),
    )


def refresh_answers(conn: sqlite3.Connection, owners: Iterable[str],
                    exposure: bool = True) -> int:
    """Rebuild owner_lists, data_access and (unless the caller refreshes every owner's next)
    agency_exposure for these data owners."""
    ids = json.dumps(sorted(set(owners)))
    _refresh_owner_lists(conn, ids)
    written = _refresh_access(conn, ids)
    if exposure:
        refresh_exposure(conn, ids)
    return written


def refresh_exposure(conn: sqlite3.Connection, owners: str | None = None) -> None:
    """agency_exposure for these owners (JSON list of ids), or for every owner (None)."""
    where = "where d.owner_id in (select value from json_each(:owners))" if owners else ""
    if owners:
        conn.execute("delete from agency_exposure where data_owner_id in "
                     "(select value from json_each(?))", [owners])
    else:
        conn.execute("delete from agency_exposure")
    conn.execute(f"""
        insert into agency_exposure
        select d.owner_id, o.name, o.state,
          sum(d.current) as grantees,
          sum(d.current and g.kind = 'federal') as federal,
          sum(d.current and g.immigration = 1) as immigration_bodies,
          sum(d.current and k.agency_id is not null) as ice_287g,
          sum(d.current and g.state is not null and o.state is not null
              and g.state != o.state and g.kind != 'federal') as out_of_state,
          sum(d.current and g.kind != 'federal' and g.state is null) as state_unknown,
          sum(d.current and g.kind = 'local_police') as local_police,
          sum(d.current and g.kind = 'sheriff') as sheriff,
          sum(d.current and g.kind = 'state') as state_agencies,
          sum(d.current and g.kind = 'task_force') as task_force,
          sum(d.current and g.kind = 'university') as university,
          sum(d.current and g.kind = 'tribal') as tribal,
          sum(d.current and g.kind = 'private') as private,
          sum(d.current and g.kind = 'other') as other,
          sum(d.current and g.kind = 'unresolved') as unresolved,
          count(*) - sum(d.current) as history_only,
          group_concat(case when d.current and g.kind = 'federal' then g.name end, '; ')
            as federal_grantees,
          group_concat(case when d.current and k.agency_id is not null then g.name end, '; ')
            as ice_287g_grantees,
          n.source_kind as newest_list_source, n.captured_at as newest_list_at,
          n.names as newest_list_names, n.document_sha256 as newest_list_document,
          max(d.last_seen) as as_of
        from data_access d
        join agencies o on o.id = d.owner_id
        join agencies g on g.id = d.grantee_id
        left join agency_287g k on k.agency_id = d.grantee_id
        left join owner_lists n on n.owner_id = d.owner_id
        {where}
        group by d.owner_id""", {"owners": owners} if owners else {})


# ---- 287(g) per agency -----------------------------------------------------------------------
def refresh_agency_287g(conn: sqlite3.Connection) -> int:
    """One row per agency in ICE's 287(g) sheets: status on the newest sheets, models, dates and
    the sheet versions as evidence (from `agreements`, which keeps every version's history)."""
    conn.execute("delete from agency_287g")
    conn.execute("""
        insert into agency_287g (agency_id, agency_as_listed, state, status, models, signed,
          first_listed, last_listed, agreements, last_document, first_document, rule)
        select agency_id,
          group_concat(distinct agency),
          max(state),
          case when max(on_newest_participating) = 1 then 'participating'
               when max(on_newest_pending) = 1 then 'pending'
               else 'no longer listed' end,
          group_concat(distinct model || ' (' || case when on_newest_participating = 1
            then 'participating' when on_newest_pending = 1 then 'pending'
            else 'left ' || coalesce(left_program_by, '?') end
            || case when signed is not null then ', signed ' || signed else '' end || ')'),
          max(signed), min(first_listed), max(last_listed), count(*),
          max(last_document), min(first_document), max(resolver_rule)
        from agreements where agency_id is not null
        group by agency_id""")
    return conn.execute("select count(*) from agency_287g").fetchone()[0]


# ---- names -> agency -------------------------------------------------------------------------
def _stateless_id(agency_id: str, state: str | None) -> str | None:
    """'calistoga-ca-pd' -> 'calistoga-pd': the id the resolver gives the name without a state."""
    if not state:
        return None
    token = f"-{state.lower()}-"
    if token in agency_id:
        i = agency_id.rfind(token)
        return agency_id[:i] + agency_id[i + len(token) - 1:]
    if agency_id.endswith(token[:-1]):
        return agency_id[: -len(token) + 1]
    return None


OWNED_BY = re.compile(r"\bData is owned by\s+(?:the\s+)?(.{3,80}?)\s+and\b", re.I)


def _compatible(resolution: Resolution, agency_id: str, state: str | None,
                state_names: dict[str, str]) -> bool:
    """A name the portal uses for itself fits the portal's agency: the same id, or the same id
    once the state (code or full name) is left out."""
    if resolution.kind == "federal":
        return False
    if resolution.agency_id == agency_id:
        return True
    stateless = _stateless_id(agency_id, state)
    if not stateless:
        return False
    if resolution.state is None:
        return resolution.agency_id == stateless
    full = state_names.get(resolution.state, "").lower().replace(" ", "-")
    return resolution.state == state and bool(full) and \
        resolution.agency_id.replace(f"-{full}-", "-") == stateless


def portal_self_names(conn: sqlite3.Connection, resolve: Callable[[str], Resolution],
                      state_names: dict[str, str]) -> list[tuple[str, str]]:
    """(name, agency id) for the names portals use for their own agency in their policy text
    ("Data is owned by Calistoga Police Department and is never sold ..."), where the name
    fits the portal's agency (a name that does not fit is left out, never guessed)."""
    out = []
    for agency_id, state, text in conn.execute("""
            select distinct p.agency_id, a.state, p.acceptable_use from portal_snapshots p
            join agencies a on a.id = p.agency_id
            where p.acceptable_use like '%owned by%'"""):
        for m in OWNED_BY.finditer(text or ""):
            name = " ".join(m.group(1).split())
            if _compatible(resolve(name), agency_id, state, state_names):
                out.append((name, agency_id))
    return out


def refresh_lookup(conn: sqlite3.Connection,
                   resolve: Callable[[str], Resolution] | None = None,
                   state_names: dict[str, str] | None = None) -> int:
    """Every key an agency can be asked for by: id, portal slug, name, every published name or
    alias, names it was tied to (agency_links), and the resolver's id without the state."""
    conn.execute("delete from agency_lookup")
    rows: dict[tuple[str, str], str] = {}

    def add(key: str | None, agency_id: str | None, how: str) -> None:
        if key and agency_id:
            rows.setdefault((lookup_key(key), agency_id), how)

    same_as = dict(conn.execute("select id, same_as from agencies where same_as is not null"))
    for aid, name, slug, state in conn.execute(
            "select id, name, flock_slug, state from agencies"):
        target = same_as.get(aid, aid)
        add(aid, target, "id")
        add(name, target, "name")
        if slug:
            add(slug, target, "portal slug")
            add(slug.strip("-"), target, "portal slug")
        add(_stateless_id(aid, state), target, "id without its state")
    for alias, aid in conn.execute("select alias, agency_id from agency_aliases"):
        add(alias, same_as.get(aid, aid), "published name")
    for name, aid in conn.execute("select distinct agency_name, agency_id from portal_snapshots "
                                  "where agency_name is not null"):
        add(name, aid, "name on its portal")
    for raw, to_id in conn.execute("select distinct raw_name, to_id from agency_links "
                                   "where status = 'linked' and to_id is not null"):
        add(raw, to_id, "published name (linked)")
    if resolve is not None:
        for name, aid in portal_self_names(conn, resolve, state_names or {}):
            add(name, aid, "name in its portal's own text")
    items = [(k, a, how) for (k, a), how in rows.items()]
    for chunk in _chunks(items, 3000):
        conn.execute("insert or ignore into agency_lookup (key, agency_id, how) values "
                     + ", ".join("(?, ?, ?)" for _ in chunk), [v for r in chunk for v in r])
    return len(items)


def refresh_same_as(conn: sqlite3.Connection) -> None:
    """An agency row whose every occurrence was tied to one other agency (agency_links) and
    that no fact refers to any more points there (`same_as`), so a lookup of its name finds the
    agency the records mean."""
    conn.execute("update agencies set same_as = null where same_as is not null")
    conn.execute("""
        update agencies set same_as = (
          select min(k.to_id) from agency_links k where k.from_id = agencies.id
            and k.status = 'linked' and k.to_id != agencies.id)
        where id in (
          select from_id from agency_links where status = 'linked' and to_id != from_id
          group by from_id having count(distinct to_id) = 1)
          and not exists (select 1 from sharing where owner_id = agencies.id)
          and not exists (select 1 from sharing where grantee_id = agencies.id)
          and not exists (select 1 from sharing_lists where list_agency_id = agencies.id)
          and not exists (select 1 from searches where searching_agency_id = agencies.id)
          and not exists (select 1 from portal_snapshots where agency_id = agencies.id)
          and not exists (select 1 from agreements where agency_id = agencies.id)
          and not exists (select 1 from agency_links x where x.from_id = agencies.id
                          and x.status = 'review')""")


def resolver_lookup(resolve: Callable[[str], Resolution], text: str) -> tuple[str, str | None]:
    """The resolver's id for a typed name and that id without its state (for lookups)."""
    r = resolve(text)
    return r.agency_id, _stateless_id(r.agency_id, r.state) or (
        r.agency_id if not r.state else None)
