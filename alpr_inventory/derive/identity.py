"""One agency across every source: names the resolver cannot place on their own, tied to one
agency by what the documents themselves say, with the rule recorded (`agency_links`).

The resolver reads a name alone. "Irvine Police Department" says no state, so on its own it is
`irvine-pd`, not `irvine-ca-pd` (there is an Irvine in Kentucky too); the resolver never guesses.
The documents often do say: a Vigilant report whose 342 recipients are mostly California
agencies is a California agency's report; a California portal that lists "Yuba County Sheriffs
Office" among mostly California agencies means the California one. Three kinds of link, all
recorded in `agency_links` with the rule and the counts behind it:

* **owner** (at load): the subject of a released report or dataset list whose name has no state
  is read in the state of the organisations the document names, when that state is clear
  (`document_state`): at least MIN_NAMED organisations in it and at least RATIO times as many
  as in any other state. The owner becomes "<name> (<state>)" through the resolver.
* **state** (at every build): a portal whose own name has no state ("Shasta County SO") gets the
  state of the organisations its lists name, by the same rule. Its id (the portal slug) stays.
* **name** (at every build): a name without a state in another agency's list is read in that
  list agency's state when the list's organisations are clearly in that state (same rule) and an
  agency of that name in that state is already known from a name that states it. The link is
  scoped to that list agency: the same name in another agency's list is decided there.

Federal bodies are never given a state or linked here ("federal" comes only from the resolver's
rules), nor are private companies and names that are only status words ("DO NOT USE"): they are
not agencies to place. What the evidence does not settle is recorded with status `review` and
the reason, and listed by the view `owners_to_review` and `alpr-inventory links --review`;
nothing is forced.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from alpr_inventory.resolve.resolver import Resolution, Resolver

__all__ = ["MIN_NAMED", "RATIO", "DocumentState", "document_state", "link_names",
           "owner_in_context", "state_of_portal_owners"]

MIN_NAMED = 10  # organisations in the leading state, at least
RATIO = 3  # times as many as in the next state, at least


@dataclass(frozen=True)
class DocumentState:
    """The state the organisations named in a document point to, with the counts."""

    state: str | None
    counts: dict[str, int]  # state -> distinct organisations named in it
    without_state: int

    @property
    def decided(self) -> bool:
        return self.state is not None

    def words(self) -> str:
        """The counts in a sentence ('51 in CA, next TX 9, 249 without a state')."""
        ranked = sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if not ranked:
            return f"no organisation with a state ({self.without_state} without one)"
        top, n = ranked[0]
        nxt = f", next {ranked[1][0]} {ranked[1][1]}" if len(ranked) > 1 else ", no other state"
        return f"{n} in {top}{nxt}, {self.without_state} without a state"

    def evidence(self) -> dict[str, Any]:
        return {"states": dict(sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                "without_state": self.without_state, "min_named": MIN_NAMED, "ratio": RATIO}


def state_from_counts(counts: Counter[str], without: int) -> DocumentState:
    """The rule: the leading state has >= MIN_NAMED organisations and >= RATIO x the next."""
    ranked = counts.most_common()
    state = None
    if ranked and ranked[0][1] >= MIN_NAMED and (
            len(ranked) == 1 or ranked[0][1] >= RATIO * ranked[1][1]):
        state = ranked[0][0]
    return DocumentState(state, dict(counts), without)


def document_state(resolver: Resolver, names: Iterable[str]) -> DocumentState:
    """The state of the organisations a document names (by the resolver, one per agency)."""
    by_agency: dict[str, str | None] = {}
    for name in names:
        r = resolver.resolve(name)
        if r.kind != "federal":
            by_agency[r.agency_id] = r.state
    counts = Counter(s for s in by_agency.values() if s)
    return state_from_counts(counts, sum(1 for s in by_agency.values() if not s))


def _link_id(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:16]


def owner_in_context(resolver: Resolver, owner: str, names: Iterable[str]
                     ) -> tuple[Resolution, dict[str, Any] | None]:
    """The resolution for the subject of a document, read with the document's evidence.

    Returns (resolution, link row or None). A name with a state, a federal body, or a name the
    evidence cannot place keeps the resolver's own reading (the last with a `review` row)."""
    own = resolver.resolve(owner)
    if own.state or own.kind == "federal":
        return own, None
    found = document_state(resolver, names)
    base = {"kind": "owner", "raw_name": owner.strip(), "from_id": own.agency_id,
            "scope_id": None, "evidence": json.dumps(found.evidence())}
    if found.state:
        qualified = resolver.resolve(f"{owner.strip()} ({found.state})")
        if qualified.state == found.state and qualified.kind == own.kind and \
                qualified.agency_id != own.agency_id:
            return qualified, {**base, "status": "linked", "to_id": qualified.agency_id,
                               "state": found.state, "rule": (
                f"owner_state:{found.state}: the document names {found.words()}; "
                f"'{owner.strip()}' read as '{owner.strip()} ({found.state})' -> "
                f"{qualified.agency_id} ({qualified.rule})")}
    reason = ("the organisations it names do not settle a state: " + found.words()
              + f" (a state needs {MIN_NAMED}+ and {RATIO}x the next)")
    return own, {**base, "status": "review", "to_id": None, "state": found.state,
                 "rule": f"owner_unplaced: {reason}"}


def record_links(conn: sqlite3.Connection, rows: Iterable[dict[str, Any]],
                 document: str | None = None) -> None:
    """Insert or replace link rows (ids from kind, scope, name and document)."""
    for row in rows:
        row = {**row, "document_sha256": row.get("document_sha256") or document}
        # an owner link is per document; name and state links are one per name and scope
        row["id"] = _link_id(row["kind"], row.get("scope_id") or "", row["raw_name"],
                             row["document_sha256"] or "" if row["kind"] == "owner" else "")
        cols = ("id", "kind", "status", "raw_name", "from_id", "to_id", "scope_id",
                "document_sha256", "state", "rule", "evidence")
        conn.execute(f"insert or replace into agency_links ({', '.join(cols)}) values "
                     f"({', '.join('?' * len(cols))})", [row.get(c) for c in cols])


def _named_states(conn: sqlite3.Connection, list_agency_id: str) -> DocumentState:
    """The states of the organisations an agency's own lists name (from its intervals)."""
    counts: Counter[str] = Counter()
    without = 0
    for state, n in conn.execute("""
            select g.state, count(distinct g.id) from sharing s
            join agencies g on g.id = case when s.direction = 'outbound' then s.grantee_id
                                           else s.owner_id end
            where s.list_agency_id = ? and g.kind != 'federal' group by g.state""",
                                 [list_agency_id]):
        if state:
            counts[state] = n
        else:
            without = n
    return state_from_counts(counts, without)


def state_of_portal_owners(conn: sqlite3.Connection) -> list[str]:
    """Portal owners whose own name has no state get the state their lists point to; returns
    the agencies whose state was set (their lists' names are then read in that state)."""
    changed = []
    owners = conn.execute("""
        select a.id, a.name from agencies a where a.state is null and a.flock_slug is not null
          and a.kind != 'federal'
          and exists (select 1 from sharing s where s.list_agency_id = a.id)""").fetchall()
    for agency_id, name in owners:
        found = _named_states(conn, agency_id)
        doc = conn.execute("select document_sha256 from portal_snapshots where agency_id = ? "
                           "order by captured_at desc limit 1", [agency_id]).fetchone()
        base = {"kind": "state", "raw_name": name, "from_id": agency_id, "scope_id": None,
                "document_sha256": doc[0] if doc else None,
                "evidence": json.dumps(found.evidence())}
        if found.state:
            rule = (f"portal_lists_state:{found.state}: its portal's lists name "
                    f"{found.words()}")
            conn.execute("update agencies set state = ?, state_basis = ? where id = ?",
                         [found.state, rule, agency_id])
            record_links(conn, [{**base, "status": "linked", "to_id": agency_id,
                                 "state": found.state, "rule": rule}])
            changed.append(agency_id)
        else:
            record_links(conn, [{**base, "status": "review", "to_id": None, "state": None,
                                 "rule": "portal_unplaced: its portal's lists name "
                                 + found.words()}])
    return changed


def link_names(conn: sqlite3.Connection, resolve: Callable[[str], Resolution],
               scopes: Iterable[str] | None = None) -> set[str]:
    """Names without a state in other agencies' lists, read in the list agency's state where
    the evidence allows (see the module docstring). Returns the list agencies whose intervals
    must be derived again.

    Decided again: every such name in the lists of `scopes` (the list agencies loaded or placed
    in this run; None = all), and every name left for review whose candidate agency is now known
    in its state (it may have arrived with any document), so the order in which documents are
    loaded never changes the result."""
    scoped = json.dumps(sorted(set(scopes))) if scopes is not None else None
    recheck = conn.execute("""
        select k.scope_id from agency_links k
        join agencies a on a.id = json_extract(k.evidence, '$.candidate') and a.state = k.state
        where k.kind = 'name' and k.status = 'review'""").fetchall()
    if scoped is None:
        conn.execute("delete from agency_links where kind = 'name' and status = 'review'")
        where = ""
    else:
        scope_ids = sorted(set(json.loads(scoped)) | {r[0] for r in recheck})
        scoped = json.dumps(scope_ids)
        conn.execute("delete from agency_links where kind = 'name' and status = 'review' and "
                     "scope_id in (select value from json_each(?))", [scoped])
        where = " and s.list_agency_id in (select value from json_each(:scopes))"
    pairs = conn.execute(f"""
        select s.list_agency_id, s.raw_name, g.id, 'grantee' from agencies g
        join sharing s on s.grantee_id = g.id and s.direction = 'outbound'
        where g.state is null and g.kind not in ('federal', 'private')
          and g.id not like 'unnamed-%'{where}
        union
        select s.list_agency_id, s.raw_name, g.id, 'data_owner' from agencies g
        join sharing s on s.owner_id = g.id and s.direction = 'inbound'
        where g.state is null and g.kind not in ('federal', 'private')
          and g.id not like 'unnamed-%'{where}""",
                         {"scopes": scoped} if scoped is not None else {}).fetchall()
    context: dict[str, tuple[str | None, DocumentState]] = {}
    rescan: set[str] = set()
    rows = []
    for scope, raw, from_id, role in pairs:
        if scope not in context:
            st = conn.execute("select state from agencies where id = ?", [scope]).fetchone()
            context[scope] = (st[0] if st else None, _named_states(conn, scope))
        scope_state, found = context[scope]
        doc = conn.execute("select first_document from sharing where list_agency_id = ? and "
                           "raw_name = ? order by first_seen limit 1", [scope, raw]).fetchone()
        base = {"kind": "name", "raw_name": raw, "from_id": from_id, "scope_id": scope,
                "document_sha256": doc[0] if doc else None,
                "evidence": json.dumps({**found.evidence(), "role": role,
                                        "list_agency_state": scope_state})}
        reason = None
        candidate = None
        guess = resolve(f"{raw} ({scope_state})") if scope_state else None
        if guess is not None and guess.state == scope_state and guess.agency_id != from_id:
            # the agency that would settle it, so a later build re-examines this name when
            # that agency becomes known (not a link: see status)
            base["evidence"] = json.dumps({**json.loads(base["evidence"]),
                                           "candidate": guess.agency_id})
        if not scope_state:
            reason = "the agency whose list names it has no state either"
        elif found.state != scope_state:
            reason = (f"the list's organisations are not clearly in {scope_state}: "
                      + found.words())
        else:
            qualified = resolve(f"{raw} ({scope_state})")
            known = conn.execute("select state from agencies where id = ?",
                                 [qualified.agency_id]).fetchone()
            if qualified.agency_id == from_id or qualified.state != scope_state:
                reason = "the name does not take a state"
            elif not known or known[0] != scope_state:
                reason = (f"no agency {qualified.canonical_name} ({qualified.agency_id}) is "
                          f"known in {scope_state} from a name that says so")
            elif conn.execute("""select 1 from sharing where list_agency_id = ? and (
                    grantee_id = ? and direction = 'outbound' or owner_id = ?
                    and direction = 'inbound') limit 1""",
                              [scope, qualified.agency_id, qualified.agency_id]).fetchone():
                reason = (f"the same agency's lists also name {qualified.agency_id} with its "
                          "state, so the two names are read as different organisations")
            else:
                candidate = qualified
        if candidate is None:
            rows.append({**base, "status": "review", "to_id": None, "state": scope_state,
                         "rule": f"name_unplaced ({role}): {reason}"})
            continue
        rows.append({**base, "status": "linked", "to_id": candidate.agency_id,
                     "state": scope_state, "rule": (
            f"list_state:{scope_state} ({role}): named in a list of {scope} ({scope_state}), "
            f"whose organisations are {found.words()}; {candidate.agency_id} is known in "
            f"{scope_state}")})
        rescan.add(scope)
    record_links(conn, rows)
    return rescan
