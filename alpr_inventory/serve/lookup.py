"""Any name finds the agency: id, portal slug, any published name or alias, the name on its
portal, case and spacing ignored; then the resolver's reading of the text (so "Calistoga Police
Department" finds calistoga-ca-pd when that is the only Calistoga police department known);
then a unique part of a name. An unknown or ambiguous name is an error that lists the closest
names, never an empty answer.

Every lookup is an indexed read of `agency_lookup` (built at derive time, answers.py) or of the
small `agencies` table: the typed name becomes an agency id first, and the answers filter on
that id.
"""

from __future__ import annotations

import difflib
import sqlite3
from collections.abc import Sequence
from typing import Any

from alpr_inventory.derive.answers import lookup_key, resolver_lookup

__all__ = ["AgencyNotFound", "find_agency"]


class AgencyNotFound(LookupError):
    """No agency, or more than one, for a name; `candidates` (id, name) when ambiguous,
    `suggestions` (id, name) the closest names when nothing matched."""

    def __init__(self, text: str, candidates: Sequence[tuple[str, str]] = (),
                 suggestions: Sequence[tuple[str, str]] = ()):
        self.text = text
        self.candidates = list(candidates)
        self.suggestions = list(suggestions)
        if candidates:
            listed = "; ".join(f"{name} ({aid})" for aid, name in candidates[:12])
            more = f" and {len(candidates) - 12} more" if len(candidates) > 12 else ""
            msg = (f"{text!r} matches more than one agency: {listed}{more}. Give one of these "
                   "names or ids.")
        else:
            msg = f"no agency named {text!r} in this database"
            if suggestions:
                msg += ". Closest names: " + "; ".join(f"{n} ({a})" for a, n in suggestions)
            else:
                msg += " (give a name as published, a portal slug or an agency id)"
        super().__init__(msg)


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _agency(conn: sqlite3.Connection, agency_id: str) -> dict[str, Any] | None:
    rows = _rows(conn, "select * from agencies where id = ?", [agency_id])
    if rows and rows[0].get("same_as"):
        return _agency(conn, rows[0]["same_as"]) or rows[0]
    return rows[0] if rows else None


STATELESS = "id without its state"


def _by_key(conn: sqlite3.Connection, key: str, how: str | None = None) -> list[str]:
    """Agencies with this key; the ids-without-state only when asked for (`how`), so that a
    name that is an agency's own id or name is never ambiguous with them."""
    if how:
        sql, params = ("select distinct agency_id from agency_lookup where key = ? and how = ?",
                       [key, how])
    else:
        sql, params = ("select distinct agency_id from agency_lookup where key = ? and how != ?",
                       [key, STATELESS])
    return [r[0] for r in conn.execute(sql, params)]


def _has_lookup(conn: sqlite3.Connection) -> bool:
    return bool(conn.execute("select 1 from agency_lookup limit 1").fetchone())


def _fallback_ids(conn: sqlite3.Connection, text: str) -> list[str]:
    """Without a built lookup table (a database from before it): ids, slugs, names, aliases."""
    found: list[str] = []
    for sql, params in (
            ("select id from agencies where id = ?", [text]),
            ("select id from agencies where flock_slug in (?, ?)", [text, text.strip("-")]),
            ("select agency_id from agency_aliases where alias = ? collate nocase", [text]),
            ("select id from agencies where name = ? collate nocase", [text])):
        found = list(dict.fromkeys(r[0] for r in conn.execute(sql, params)))
        if found:
            return found
    return found


def _resolve(text: str) -> tuple[str, str | None]:
    from alpr_inventory.resolve.resolver import default_resolver

    return resolver_lookup(default_resolver().resolve, text)


def _named(conn: sqlite3.Connection, ids: Sequence[str]) -> list[tuple[str, str]]:
    out = []
    for aid in ids:
        row = _agency(conn, aid)
        out.append((row["id"], row["name"]) if row else (aid, aid))
    return sorted(dict.fromkeys(out), key=lambda x: x[1].lower())


def _one(conn: sqlite3.Connection, text: str, ids: Sequence[str]) -> dict[str, Any] | None:
    named = _named(conn, ids)
    if len(named) == 1:
        return _agency(conn, named[0][0])
    if named:
        raise AgencyNotFound(text, named)
    return None


def suggestions(conn: sqlite3.Connection, text: str, n: int = 5) -> list[tuple[str, str]]:
    """The closest agency names to a text (for an error message)."""
    names: dict[str, str] = {}
    for aid, name in conn.execute("select id, name from agencies where same_as is null"):
        names.setdefault(lookup_key(name), aid)
    for aid, name in conn.execute("select distinct agency_id, agency_name from portal_snapshots "
                                  "where agency_name is not null"):
        names.setdefault(lookup_key(name), aid)
    close = difflib.get_close_matches(lookup_key(text), list(names), n=n, cutoff=0.5)
    out: list[tuple[str, str]] = []  # closest first
    for c in close:
        for pair in _named(conn, [names[c]]):
            if pair not in out:
                out.append(pair)
    return out[:n]


def find_agency(conn: sqlite3.Connection, text: str) -> dict[str, Any]:
    """The agency for a name, id or slug (unique), else AgencyNotFound with candidates or the
    closest names."""
    text = " ".join((text or "").split())
    if not text:
        raise AgencyNotFound(text)
    key = lookup_key(text)
    if _has_lookup(conn):
        found = _one(conn, text, _by_key(conn, key))
    else:
        found = _one(conn, text, _fallback_ids(conn, text))
    if found:
        return found
    resolved, stateless = _resolve(text)
    if (row := _agency(conn, resolved)) is not None:
        return row
    if stateless and (found := _one(conn, text, _by_key(conn, stateless, STATELESS))):
        return found
    like = [r[0] for r in conn.execute(
        "select id from agencies where same_as is null and name like ? limit 51",
        [f"%{text}%"])]
    if len(like) > 50:
        raise AgencyNotFound(text, _named(conn, like[:50]) + [("...", "more")])
    if (found := _one(conn, text, like)) is not None:
        return found
    raise AgencyNotFound(text, (), suggestions(conn, text))
