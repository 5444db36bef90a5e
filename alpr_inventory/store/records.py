"""Load what a records-portal or council API response says: requests, matters, votes, files.

Rows are keyed by the source's own ids, so the same request listed on many pages and in many
runs stays one row: `first_seen` / `last_seen` record the captures that listed it, and the
newest capture's values win without a missing value ever erasing a known one. Every row points
to the archived API response it was last read from (`document_sha256`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import sqlite_utils

from parsers.records import CouncilMatter, CouncilVote, RecordsPage, RecordsRequest, ReleasedFile


def _json(value: Any) -> str | None:
    return json.dumps(value, sort_keys=True, default=str) if value else None


def request_row(r: RecordsRequest) -> dict[str, Any]:
    from parsers.records import match_terms

    return {"id": r.key, "source": r.source, "portal": r.portal, "request_id": r.request_id,
            "title": r.title, "request_text": r.request_text, "status": r.status,
            "agency": r.agency, "submitted_at": r.submitted_at, "updated_at": r.updated_at,
            "done_at": r.done_at, "url": r.url, "visibility": r.visibility,
            "matched_terms": _json(match_terms(r.title, r.request_text)),
            "extra": _json(r.extra)}


def matter_row(m: CouncilMatter) -> dict[str, Any]:
    from parsers.records import match_terms

    terms = sorted(set(match_terms(m.title, m.name)) | set(m.matched_terms))
    extra = m.extra
    return {"id": m.key, "client": m.client, "matter_id": m.matter_id, "file": m.file,
            "name": m.name, "title": m.title, "type": m.type, "status": m.status,
            "body": m.body, "intro_date": m.intro_date, "agenda_date": m.agenda_date,
            "passed_date": m.passed_date, "enactment_number": m.enactment_number,
            "last_modified": m.last_modified, "url": m.url, "relevant": int(bool(terms)),
            "matched_terms": _json(terms), "extra": _json(extra)}


def vote_row(v: CouncilVote) -> dict[str, Any]:
    return {"id": v.key, "client": v.client,
            "matter_key": f"legistar:{v.client}:{v.matter_id}" if v.matter_id else None,
            "event_item_id": v.event_item_id, "event_id": v.event_id,
            "event_date": v.event_date, "body": v.body, "person": v.person, "value": v.value,
            "action": v.action, "passed": v.passed}


def file_row(f: ReleasedFile) -> dict[str, Any]:
    return {"id": f.key, "source": f.source, "portal": f.portal, "parent_kind": f.parent_kind,
            "parent_id": f.parent_id, "file_id": f.file_id, "url": f.url, "title": f.title,
            "file_type": f.file_type, "published_at": f.published_at, "access": f.access,
            "relevant": int(f.relevant), "matched_terms": _json(f.matched_terms),
            "extra": _json(f.extra)}


def upsert_seen(db: sqlite_utils.Database, table: str, rows: Iterable[dict[str, Any]],
                sha: str, captured_at: str) -> int:
    """Insert new rows; for known ids widen first/last seen and take the newer capture's
    values (a value the newer capture leaves empty keeps the older one)."""
    rows = [{**r, "first_seen": captured_at, "last_seen": captured_at,
             "document_sha256": sha} for r in rows]
    if not rows:
        return 0
    cols = list(rows[0])
    data_cols = [c for c in cols if c not in ("id", "first_seen", "last_seen",
                                               "document_sha256")]
    newer = "excluded.last_seen >= t.last_seen"
    sets = [f"[{c}] = case when {newer} then coalesce(excluded.[{c}], t.[{c}]) "
            f"else coalesce(t.[{c}], excluded.[{c}]) end" for c in data_cols if c != "relevant"]
    if "relevant" in data_cols:  # once any capture found the terms, the row stays relevant
        sets.append("relevant = max(t.relevant, excluded.relevant)")
    sets += ["first_seen = min(t.first_seen, excluded.first_seen)",
             "last_seen = max(t.last_seen, excluded.last_seen)",
             f"document_sha256 = case when {newer} then excluded.document_sha256 "
             "else t.document_sha256 end"]
    sql = (f"insert into [{table}] as t ({', '.join(f'[{c}]' for c in cols)}) values "
           f"({', '.join('?' for _ in cols)}) on conflict(id) do update set {', '.join(sets)}")
    db.conn.executemany(sql, [[r[c] for c in cols] for r in rows])
    return len(rows)


def load_records(db: sqlite_utils.Database, page: RecordsPage, sha: str,
                 captured_at: str) -> dict[str, int]:
    """Write one response's records (inside the caller's transaction); counts per table."""
    return {
        "records_requests": upsert_seen(db, "records_requests",
                                        map(request_row, page.requests), sha, captured_at),
        "council_matters": upsert_seen(db, "council_matters", map(matter_row, page.matters),
                                       sha, captured_at),
        "council_votes": upsert_seen(db, "council_votes", map(vote_row, page.votes), sha,
                                     captured_at),
        "released_files": upsert_seen(db, "released_files", map(file_row, page.files), sha,
                                      captured_at),
    }


