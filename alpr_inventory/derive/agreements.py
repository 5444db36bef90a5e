"""287(g) agreements and state policies in the database.

ICE's 287(g) spreadsheets arrive one version at a time (import or crawl). Each version's rows
are stored as listings with their document; the agreement history (first and last listed,
signed dates, pending since, left the program) is derived from every version held, by
`parsers.agreements.ice287g.agreement_history`, and rebuilt whenever a new version arrives, so
the order
in which versions are loaded never matters. State policies come from the data files
`data/state_policies.csv`, `data/state_dmv_access.csv`, `data/state_policy_events.csv` and
`data/policy_sources.csv` (every claim with a registered source and a date), checked together
and reloaded on every build.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlite_utils

from alpr_inventory.resolve.resolver import Resolver, default_resolver
from alpr_inventory.resolve.state_dmv_access import PolicyData, load_policy_data
from alpr_inventory.store.archive import Archive
from parsers.agreements.ice287g import Sheet287g, agreement_history, parse_287g_sheet
from parsers.pdf.pdf_worker import run_limited


def load_listings(db: sqlite_utils.Database, sheet: Sheet287g, sha: str,
                  resolver: Resolver) -> int:
    """Store one version's rows (the evidence for the history)."""
    db.execute("delete from agreement_listings where document_sha256 = ?", [sha])
    rows = []
    for r in sheet.rows:
        name = r.agency if r.state_code and r.state_code in r.agency.split() else (
            f"{r.agency} {r.state_code}" if r.state_code else r.agency)
        rows.append({
            "id": f"{sha[:16]}:{r.row_number}", "document_sha256": sha,
            "sheet_kind": sheet.kind, "sheet_date": sheet.sheet_date, "row_number": r.row_number,
            "state": r.state_code or r.state, "agency": r.agency, "agency_id":
            (res := resolver.resolve(name)).agency_id,
            "agency_rule": _sheet_rule(name, r.state_code, res.rule),
            "type": r.type, "county": r.county,
            "model": r.model, "support_type": r.support_type, "signed_raw": r.signed_raw,
            "signed": r.signed, "moa_url": r.moa_url,
            "addendum_urls": json.dumps(r.addendum_urls) if r.addendum_urls else None,
            "flags": json.dumps(r.flags) if r.flags else None,
        })
    if rows:
        db["agreement_listings"].insert_all(rows, pk="id", replace=True)
    return len(rows)


def _read_sheets(archive_root: str, docs: list[tuple[str, str | None]],
                 ) -> list[tuple[str, Sheet287g]]:
    archive = Archive(archive_root)
    return [(sha, parse_287g_sheet(archive.get(sha), name=Path(name).name if name else None))
            for sha, name in docs]


def refresh_agreements(db: sqlite_utils.Database, archive: Archive) -> int:
    """Rebuild `agreements` from every 287(g) version held (re-read from the archive)."""
    docs = db.execute(
        "select d.sha256, min(f.fetched_from) from documents d join fetches f using (sha256) "
        "where d.doc_type = 'ice_287g_sheet' group by d.sha256").fetchall()
    sheets, by_source = [], {}
    # read in a worker process under the parsers' limits, like any document
    parsed = run_limited(_read_sheets, str(archive.root), docs, timeout_s=900, memory_mb=2048)
    for sha, sheet in parsed:
        if sheet.kind and sheet.sheet_date:
            sheets.append(sheet)
            by_source[sheet.source] = sha
    db.execute("delete from agreements")
    if not sheets:
        return 0
    rows: list[dict[str, Any]] = []
    for h in agreement_history(sheets, resolver=default_resolver()):
        first = h.listings[0] if h.listings else None
        last = h.listings[-1] if h.listings else None
        signed = [s.signed for s in h.signed_seen if s.signed]
        rows.append({
            "id": f"{h.state}:{h.agency_norm}:{h.model or h.support_type}",
            "state": h.state, "agency": h.agency, "agency_id": h.agency_id,
            "agency_kind": h.agency_kind, "model": h.model, "support_type": h.support_type,
            "signed": signed[-1] if signed else None,
            "signed_history": json.dumps([s.__dict__ for s in h.signed_seen], default=str),
            "moa_urls": json.dumps([m.value for m in h.moa_urls]),
            "addendum_urls": json.dumps([m.value for m in h.addendum_urls]),
            "first_listed": h.first_listed, "last_listed": h.last_listed,
            "first_participating": h.first_participating,
            "last_participating": h.last_participating, "pending_since": h.pending_since,
            "became_participating": h.became_participating,
            "left_program": int(h.left_program), "left_program_by": h.left_program_by,
            "on_newest_participating": int(h.on_newest_participating),
            "on_newest_pending": int(h.on_newest_pending),
            "names_seen": json.dumps(h.names_seen),
            "first_document": by_source.get(first.source) if first else None,
            "last_document": by_source.get(last.source) if last else None,
            "flags": json.dumps(h.flags) if h.flags else None,
            "resolver_rule": _sheet_rule(h.resolved_name, h.state, h.resolver_rule),
        })
    db["agreements"].insert_all(rows, pk="id", replace=True)
    return len(rows)


def _sheet_rule(resolved_name: str | None, state: str | None, rule: str | None) -> str:
    """How a 287(g) sheet's name became an agency id: the name with the sheet's STATE column,
    through the resolver (the same ids every other source resolves to)."""
    return (f"ice_287g_sheet: '{resolved_name}' (agency name + the sheet's STATE column "
            f"{state}) through the resolver: {rule}")


def refresh_state_policies(db: sqlite_utils.Database) -> int:
    """Reload the state policy tables from the data files (the files are the source of truth):
    state_policies, policy_sources, state_dmv_access, state_policy_events. Returns the number of
    state_policies rows."""
    data = load_policy_data()
    rows = [{
        "state": p.state, "nlets_ice_hsi_dmv_blocked": p.nlets_ice_hsi_dmv_blocked,
        "nlets_blocked_since": p.nlets_blocked_since, "dmv_law": p.dmv_law,
        "dmv_law_citation": p.dmv_law_citation, "alpr_sharing_law": p.alpr_sharing_law,
        "alpr_sharing_citation": p.alpr_sharing_citation,
        "alpr_federal_sharing_restricted": p.alpr_federal_sharing_restricted,
        "alpr_out_of_state_restricted": p.alpr_out_of_state_restricted, "notes": p.notes,
        "sources": p.sources_raw, "as_of": p.as_of, "line": p.line,
    } for p in data.policies]
    _replace_if_changed(db, "state_policies", rows, "state")
    refresh_state_policy_data(db, data)
    return len(rows)


def refresh_state_policy_data(db: sqlite_utils.Database, data: PolicyData) -> None:
    """policy_sources, state_dmv_access and state_policy_events from ``data``."""
    _replace_if_changed(db, "policy_sources", [
        {"id": s.id, "title": s.title, "publisher": s.publisher, "date": s.date, "url": s.url,
         "kind": s.kind, "supports": s.supports, "notes": s.notes, "line": s.line}
        for s in data.sources.values()], "id")
    _replace_if_changed(db, "state_dmv_access", [
        {"id": a.key, "state": a.state, "component": a.component, "channel": a.channel,
         "access": a.access, "since": a.since or None, "as_of": a.as_of or None,
         "until": a.until or None, "current": int(a.current), "basis": a.basis,
         "source_ids": json.dumps(list(a.source_ids)), "notes": a.notes or None,
         "line": a.line} for a in data.access], "id")
    _replace_if_changed(db, "state_policy_events", [
        {"id": e.id, "state": e.state, "date": e.date, "kind": e.kind,
         "component": ";".join(e.components) or None, "channel": e.channel or None,
         "summary": e.summary, "count": e.count, "count_bound": e.count_bound or None,
         "count_of": e.count_of or None, "period_start": e.period_start or None,
         "period_end": e.period_end or None, "basis": e.basis,
         "source_ids": json.dumps(list(e.source_ids)), "notes": e.notes or None,
         "line": e.line} for e in data.events], "id")


def _replace_if_changed(db: sqlite_utils.Database, table: str, rows: list[dict[str, Any]],
                        pk: str) -> None:
    """Rewrite a table loaded from a data file only when the file's rows differ from it, so an
    unchanged file costs a build no writes."""
    if rows and _stored(db, table, list(rows[0])) == rows:
        return
    db.execute(f"delete from [{table}]")
    db[table].insert_all(rows, pk=pk)


def _stored(db: sqlite_utils.Database, table: str, columns: list[str]) -> list[dict[str, Any]]:
    """The table's rows as dicts of these columns, in primary-key order (empty if it has other
    columns than these, so a schema change rewrites it)."""
    if not db[table].exists() or set(db[table].columns_dict) != set(columns):
        return []
    names = ", ".join(f"[{c}]" for c in columns)
    return [dict(zip(columns, r, strict=True))
            for r in db.execute(f"select {names} from [{table}] order by rowid")]
