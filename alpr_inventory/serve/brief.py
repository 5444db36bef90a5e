"""The state brief: who can see one state's DMV and plate-reader data, dated and sourced.

`build_brief(conn, "WA")` gathers what the database holds about a state into a `Brief`:

- whether ICE, HSI, CBP (and other DHS units where sources say) can query its DMV data through
  Nlets, direct DMV access or the state's network (state_dmv_access), with since-dates, and its
  dated timeline (state_policy_events, with the national events);
- DMV agreements and Nlets documents that arrived through `import` (documents classified
  `dmv_agreement`), placed in the state by the words that name it;
- the state's agencies whose plate-reader data federal or immigration bodies can see now (the
  stored answers: federal_access, agency_exposure), with dates and evidence documents;
- sharing with out-of-state organisations set against the state's ALPR-sharing rule
  (report.state_rules: data/state_policies.csv plus the notes of report.py);
- 287(g) agreements in the state (agreements) and federal or immigration-flagged searches in
  audit logs (searches);
- what is unknown, said plainly; numbered sources (the reporter-edited policy sources and the
  archived documents); charts.

`render_html` and `render_markdown` use Jinja2 templates (alpr_inventory/serve/templates/), so the
document is markup, not concatenated strings; `render_pdf` prints the HTML with the same
headless Chromium as the agency report; `to_json` is the same content as data.

Wording rule, as in the report: every sentence says what a dated record shows, never more;
"unknown" is never read as "no"; an apparent conflict with a state rule is not a legal finding.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from alpr_inventory.serve.report import (
    GROUP_WORDS,
    STATE_NAMES,
    _basis_note,
    _doc_title,
    _no_rule_statement,
    render_pdf,
    state_rules,
)
from parsers.agreements.dmv_documents import read_dmv_document

__all__ = ["Brief", "StateNotFound", "build_brief", "render_html", "render_markdown",
           "render_pdf", "to_json"]

# USPS codes to names for the states report.py does not name
MORE_STATE_NAMES = {
    "AL": "Alabama", "AK": "Alaska", "AR": "Arkansas", "CT": "Connecticut", "DE": "Delaware",
    "DC": "District of Columbia", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota",
    "TN": "Tennessee", "UT": "Utah", "VT": "Vermont", "WV": "West Virginia",
    "WI": "Wisconsin", "WY": "Wyoming",
}
ALL_STATE_NAMES = {**MORE_STATE_NAMES, **STATE_NAMES}
COMPONENT_WORDS = {
    "ICE": "ICE", "ICE_ERO": "ICE Enforcement and Removal Operations (ERO)",
    "HSI": "Homeland Security Investigations (HSI)", "CBP": "Customs and Border Protection (CBP)",
    "USBP": "U.S. Border Patrol (USBP)", "USCIS": "USCIS", "DHS": "DHS (unit not named)",
    "federal": "federal agencies (all)",
}
CHANNEL_WORDS = {"nlets": "Nlets", "direct_dmv": "direct DMV access",
                 "state_network": "the state's law-enforcement network",
                 "alpr": "plate readers", "dmv_plates": "licence plates"}
ACCESS_WORDS = {"yes": "can query", "no": "blocked", "partial": "partly blocked",
                "unknown": "unknown"}
BASIS_WORDS = {
    "primary": "primary source", "reported": "reported", "secondary": "second-hand source",
    "law": "what the law requires", "not_researched": "not researched yet",
    "not_found": "searched, nothing found", "sources_silent": "the sources do not say",
    "unverified": "a claim found but not verified",
}
ACCESS_COLORS = {"yes": "#b2182b", "partial": "#ef8a62", "no": "#4393c3",
                 "unknown": "#bdbdbd"}
EVENT_COLORS = {"block": "#4393c3", "restore": "#b2182b", "letter": "#5aae61",
                "count": "#8073ac", "report": "#8073ac", "access_reported": "#b2182b",
                "law": "#1b7837", "regulation": "#1b7837", "directive": "#2166ac",
                "lawsuit": "#e08214", "audit": "#8073ac"}
MAX_ROWS = 400  # rows shown per long table (the rest are counted, and in Datasette)


class StateNotFound(LookupError):
    """The state is not a row of data/state_policies.csv (50 states and DC)."""


# ---- sources --------------------------------------------------------------------------------
@dataclass
class BriefSource:
    n: int
    kind: str  # policy (data/policy_sources.csv), url (cited only by URL), document (archived)
    title: str
    url: str | None
    publisher: str | None = None
    date: str | None = None
    note: str | None = None
    sha256: str | None = None
    archive_path: str | None = None
    href: str | None = None
    captures: list[str] = field(default_factory=list)


class BriefSources:
    """Numbered sources in order of first citation: policy sources by id (or URL), archived
    documents by SHA-256. `ref*` return the marker "[[n]]" that the templates turn into links."""

    def __init__(self, conn: sqlite3.Connection,
                 archive_href: Callable[[str, str | None], str | None]):
        self.conn = conn
        self.archive_href = archive_href
        self.by_key: dict[str, BriefSource] = {}
        self.policy = {r["id"]: r for r in _rows(conn, "select * from policy_sources")} \
            if _has_table(conn, "policy_sources") else {}
        self.by_url = {r["url"]: r["id"] for r in self.policy.values()}

    def _add(self, key: str, make: Callable[[int], BriefSource]) -> str:
        src = self.by_key.get(key)
        if src is None:
            src = self.by_key[key] = make(len(self.by_key) + 1)
        return f"[[{src.n}]]"

    def policy_ref(self, source_id: str) -> str:
        row = self.policy.get(source_id)
        if row is None:  # the loader refuses unregistered ids; a stale database may differ
            return self._add("id:" + source_id, lambda n: BriefSource(
                n, "policy", source_id, None, note="not in policy_sources"))
        return self._add("id:" + source_id, lambda n: BriefSource(
            n, "policy", row["title"], row["url"], row["publisher"], row["date"],
            row["notes"] or None))

    def url_ref(self, url: str) -> str:
        if url in self.by_url:
            return self.policy_ref(self.by_url[url])
        title = url.split("#", 1)[0].removeprefix("corpus:") if url.startswith("corpus:") \
            else url.split("//", 1)[-1].split("/", 1)[0]
        return self._add("url:" + url, lambda n: BriefSource(n, "url", title, url))

    def doc_ref(self, sha: str | None) -> str:
        if not sha:
            return ""

        def make(n: int) -> BriefSource:
            doc = _one(self.conn, """
                select d.*, a.name as agency_name, (select min(captured_at) from fetches f
                  where f.sha256 = d.sha256) as first_captured_at
                from documents d left join agencies a on a.id = d.agency_id
                where d.sha256 = ?""", [sha]) or {}
            caps = [f"{r['captured_at'][:10]}{_basis_note(r['captured_at_basis'])}"
                    for r in _rows(self.conn, "select distinct captured_at, captured_at_basis "
                                   "from fetches where sha256 = ? order by captured_at", [sha])]
            title = ("DMV agreement or Nlets document: "
                     + (doc.get("url") or "").rstrip("/").rsplit("/", 1)[-1]
                     if doc.get("document_type") == "dmv_agreement" else _doc_title(doc))
            return BriefSource(n, "document", title, doc.get("url"), sha256=sha,
                               archive_path=doc.get("archive_path"),
                               href=self.archive_href(sha, doc.get("archive_path")),
                               captures=caps[:6] + ([f"and {len(caps) - 6} more"]
                                                    if len(caps) > 6 else []))
        return self._add("doc:" + sha, make)

    def refs(self, markers: list[str]) -> str:
        out: list[str] = []
        for m in markers:
            if m and m not in out:
                out.append(m)
        return "".join(sorted(out, key=lambda m: int(m.strip("[]"))))

    @property
    def items(self) -> list[BriefSource]:
        return sorted(self.by_key.values(), key=lambda s: s.n)


def _rows(conn: sqlite3.Connection, sql: str,
          params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params if isinstance(params, dict) else list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _one(conn: sqlite3.Connection, sql: str,
         params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
    rows = _rows(conn, sql, params)
    return rows[0] if rows else None


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("select 1 from sqlite_master where name = ?", [name]).fetchone() \
        is not None


def _ids(text: str | None) -> list[str]:
    return json.loads(text or "[]")


def _day(ts: str | None) -> str:
    return (ts or "")[:10]


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{_n(n)} {one if n == 1 else (many or one + 's')}"


# ---- the brief ------------------------------------------------------------------------------
@dataclass
class ChartBar:
    label: str
    value: int
    color: str
    x: int = 0
    y: int = 0
    width: int = 0


@dataclass
class Chart:
    kind: str  # grid, bars, timeline
    id: str
    title: str
    desc: str
    width: int
    height: int
    items: list[dict[str, Any]]
    data: list[tuple[str, str]]  # (label, value) for text renderings


@dataclass
class Brief:
    state: str
    state_name: str
    generated_at: str
    database: str
    lede: list[str]
    policy: dict[str, Any]
    policy_basis: str
    laws: list[dict[str, Any]]
    dmv: list[dict[str, Any]]
    dmv_history: list[dict[str, Any]]
    dmv_statements: list[str]
    timeline: list[dict[str, Any]]
    dmv_documents: list[dict[str, Any]]
    dmv_document_statements: list[str]
    federal_now: list[dict[str, Any]]
    federal_statements: list[str]
    partners: list[dict[str, Any]]
    partner_statements: list[str]
    out_of_state: list[dict[str, Any]]
    rule: dict[str, Any] | None
    rule_statements: list[str]
    agreements: list[dict[str, Any]]
    agreement_statements: list[str]
    searches: list[dict[str, Any]]
    search_statements: list[str]
    unknowns: list[str]
    charts: list[Chart]
    sources: list[BriefSource]
    notes: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Who can see {self.state_name}'s DMV and plate-reader data"


def build_brief(conn: sqlite3.Connection, state: str,
                archive_href: Callable[[str, str | None], str | None] | None = None,
                database: str = "inventory", now: datetime | None = None,
                agency_href: Callable[[str], str | None] | None = None) -> Brief:
    """Everything the database shows about one state, as a Brief (raises StateNotFound).

    `archive_href(sha, archive_path)` links sources to archived copies; `agency_href(id)`
    links agencies to their exposure reports (Datasette: /-/report/ID)."""
    code = state.strip().upper()
    if not _has_table(conn, "state_policies"):
        raise StateNotFound("this database has no state_policies table: rebuild it "
                            "(alpr-inventory import or demo loads data/state_policies.csv)")
    policy = _one(conn, "select * from state_policies where state = ?", [code])
    if policy is None:
        raise StateNotFound(f"no state {code!r} in data/state_policies.csv (two letters: one of "
                            "the 50 states or DC)")
    name = ALL_STATE_NAMES.get(code, code)
    sources = BriefSources(conn, archive_href or (lambda sha, path: None))
    unknowns: list[str] = []

    dmv, history, dmv_statements = _dmv_access(conn, code, name, sources, unknowns)
    timeline = _timeline(conn, code, sources)
    laws = _laws(policy, sources, unknowns, name)
    dmv_docs, dmv_doc_statements = _dmv_documents(conn, code, name, sources)
    federal_now, federal_statements = _federal_now(conn, code, name, sources)
    partners, partner_statements = _partners(conn, code, name, sources)
    out_of_state, rule, rule_statements = _out_of_state(conn, code, name, sources, unknowns)
    for row, key in ([(o, "id") for o in federal_now] + [(r, "data_owner_id") for r in partners]
                     + [(r, "data_owner_id") for r in out_of_state]):
        row["href"] = agency_href(row[key]) if agency_href else None
    agreements, agreement_statements = _agreements(conn, code, name, sources)
    searches, search_statements = _searches(conn, code, name, sources)

    if not federal_now and not out_of_state and not partners:
        owners = conn.execute("select count(*) from agency_exposure where owner_state = ?",
                              [code]).fetchone()[0] if _has_table(conn, "agency_exposure") else 0
        unknowns.append(
            f"This database holds {_plural(owners, 'agency', 'agencies')} in {name} with a list "
            "of who can see its plate-reader data"
            + (", and none of those lists names a federal body, an agency with a 287(g) "
               "agreement or an out-of-state organisation." if owners else
               ": who can see the plate-reader data of its agencies is not known here. That is "
               "not a finding that no federal body can."))
    if not searches:
        unknowns.append(f"No audit log in this database shows a federal or immigration-flagged "
                        f"search by or into an agency in {name}; audit logs cover only the "
                        "agencies whose logs were released or published.")
    lede = _lede(code, name, dmv, federal_now, partners, agreements, timeline)
    charts = [_grid_chart(name, dmv), _timeline_chart(name, code, timeline)]
    if federal_now or partners or out_of_state:
        charts.append(_owners_chart(name, federal_now, partners, out_of_state))
    now = now or datetime.now(UTC)
    return Brief(
        state=code, state_name=name, generated_at=now.strftime("%Y-%m-%d %H:%M UTC"),
        database=database, lede=lede, policy=policy,
        policy_basis=f"data/state_policies.csv line {policy.get('line')}, as of "
                     f"{policy.get('as_of')}",
        laws=laws, dmv=dmv, dmv_history=history, dmv_statements=dmv_statements,
        timeline=timeline, dmv_documents=dmv_docs,
        dmv_document_statements=dmv_doc_statements, federal_now=federal_now,
        federal_statements=federal_statements, partners=partners,
        partner_statements=partner_statements, out_of_state=out_of_state, rule=rule,
        rule_statements=rule_statements, agreements=agreements,
        agreement_statements=agreement_statements, searches=searches,
        search_statements=search_statements, unknowns=unknowns, charts=charts,
        sources=sources.items)


def _dmv_access(conn: sqlite3.Connection, code: str, name: str, sources: BriefSources,
                unknowns: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]],
                                              list[str]]:
    from alpr_inventory.resolve.state_dmv_access import CHANNELS, COMPONENTS

    if not _has_table(conn, "state_dmv_access"):
        unknowns.append("This database has no state_dmv_access table (built by an older "
                        "version): who can query the DMV data is not shown.")
        return [], [], []

    def order(r: dict[str, Any]) -> tuple[int, int, str]:
        return (CHANNELS.index(r["channel"]) if r["channel"] in CHANNELS else 99,
                COMPONENTS.index(r["component"]) if r["component"] in COMPONENTS else 99,
                r["since"] or "")

    rows = sorted(_rows(conn, "select * from state_dmv_access where state = ?", [code]),
                  key=order)
    # a claim is stated only with a source and a date (data/state_dmv_access.csv is checked on
    # load; a database built otherwise, or edited by hand, may not be): else it is unknown here
    unsourced = [r for r in rows if r["access"] != "unknown"
                 and (not _ids(r["source_ids"]) or not (r["as_of"] or r["since"]))]
    for r in unsourced:
        unknowns.append(
            f"state_dmv_access row {r['id']} (data/state_dmv_access.csv line {r['line']}) "
            f"claims '{r['access']}' without a source or a date: not stated in this brief.")
        r["access"], r["since"], r["basis"] = "unknown", None, "unverified"
    for r in rows:
        r["refs"] = sources.refs([sources.policy_ref(s) for s in _ids(r["source_ids"])])
        r["component_words"] = COMPONENT_WORDS.get(r["component"], r["component"])
        r["channel_words"] = CHANNEL_WORDS.get(r["channel"], r["channel"])
        r["access_words"] = ACCESS_WORDS.get(r["access"], r["access"])
        r["basis_words"] = BASIS_WORDS.get(r["basis"], r["basis"])
    current = [r for r in rows if r["current"]]
    statements = []
    for r in current:
        if r["access"] == "unknown":
            continue
        since = f" since {r['since']}" if r["since"] else " (since when: no source says)"
        verb = {"yes": "can query", "no": "is blocked from querying",
                "partial": "is partly blocked from querying"}[r["access"]]
        statements.append(
            f"{r['component_words']} {verb} {name}'s DMV data through {r['channel_words']}"
            f"{since}, as of {r['as_of']} ({r['basis_words']}) {r['refs']}.")
    gaps = [r for r in current if r["access"] == "unknown"]
    if gaps:
        unknowns.append(
            f"Whether these can query {name}'s DMV data is unknown: "
            + "; ".join(f"{r['component_words']} through {r['channel_words']} "
                        f"({r['basis_words']})" for r in gaps)
            + ". Unknown is not no.")
    return current, [r for r in rows if not r["current"]], statements


def _count_words(e: dict[str, Any]) -> str:
    if e.get("count") is None:
        return ""
    bound = {"at_least": "at least ", "about": "about "}.get(e.get("count_bound") or "", "")
    period = (f", {e['period_start']} to {e['period_end']}"
              if e.get("period_start") and e.get("period_end") else "")
    return f"{bound}{_n(int(e['count']))} {e.get('count_of') or ''}{period}".strip()


def _timeline(conn: sqlite3.Connection, code: str, sources: BriefSources
              ) -> list[dict[str, Any]]:
    if not _has_table(conn, "state_policy_events"):
        return []
    events = [e for e in _rows(conn, "select * from state_policy_events where state = ? or "
                               "state = 'US' order by date, state, id", [code])
              if _ids(e["source_ids"]) and e["date"]]  # never an event without source or date
    for e in events:
        e["refs"] = sources.refs([sources.policy_ref(s) for s in _ids(e["source_ids"])])
        e["count_words"] = _count_words(e)
        e["components_words"] = ", ".join(COMPONENT_WORDS.get(c, c) for c in
                                          (e["component"] or "").split(";") if c)
        e["channel_words"] = CHANNEL_WORDS.get(e["channel"] or "", e["channel"] or "")
        e["national"] = e["state"] == "US"
    return events


def _laws(policy: dict[str, Any], sources: BriefSources, unknowns: list[str],
          name: str) -> list[dict[str, Any]]:
    refs: dict[str, list[str]] = {}
    for part in re.split(r"\s+;\s+", policy.get("sources") or ""):
        m = re.match(r"^([a-z]+):\s+(\S.*)$", part.strip())
        if m:
            refs.setdefault(m[1], []).append(m[2].strip())
    laws = []
    for claim, label, law_col, cite_col in (
            ("dmv", "Law on DMV data", "dmv_law", "dmv_law_citation"),
            ("alpr", "Law on sharing plate-reader (ALPR) data", "alpr_sharing_law",
             "alpr_sharing_citation")):
        law = policy.get(law_col) or "unknown"
        if law == "unknown":
            unknowns.append(f"{label} in {name}: data/state_policies.csv records none "
                            "(unknown: not researched or not found; not a finding that there "
                            "is none).")
        laws.append({"label": label, "law": law, "citation": policy.get(cite_col) or "",
                     "refs": sources.refs([sources.url_ref(u) for u in refs.get(claim, [])])
                     if law != "unknown" else ""})
    for label, col in (("ALPR sharing with federal agencies restricted",
                        "alpr_federal_sharing_restricted"),
                       ("ALPR sharing with out-of-state agencies restricted",
                        "alpr_out_of_state_restricted")):
        value = policy.get(col) or "unknown"
        laws.append({"label": label, "law": value, "citation": "",
                     "refs": sources.refs([sources.url_ref(u) for u in refs.get("alpr", [])])
                     if value not in ("unknown", "n/a") else ""})
    return laws


def _dmv_documents(conn: sqlite3.Connection, code: str, name: str, sources: BriefSources
                   ) -> tuple[list[dict[str, Any]], list[str]]:
    """Documents `import` classified as DMV agreements (a DMV MOU with DHS released under a
    records law, an Nlets policy document), that name this state."""
    docs = _rows(conn, """
        select d.sha256, d.url, d.title, d.agency_id, a.state as agency_state,
          d.document_type_evidence as evidence, t.text, g.effective_date,
          g.effective_date_basis, g.signature_dates, g.parties, g.status as agreement_status,
          g.lea_agency_id, (select state from agencies where id = g.lea_agency_id) as lea_state,
          (select min(captured_at) from fetches f where f.sha256 = d.sha256) as captured_at,
          (select captured_at_basis from fetches f where f.sha256 = d.sha256
             order by captured_at limit 1) as captured_at_basis
        from documents d
        left join agencies a on a.id = d.agency_id
        left join document_texts t on t.sha256 = d.sha256
        left join agreement_documents g on g.document_sha256 = d.sha256
        where d.document_type = 'dmv_agreement'
        order by captured_at, d.sha256""")
    out = []
    for d in docs:
        facts = read_dmv_document(d.get("text") or "")
        states = set(facts.states) | {s for s in (d["agency_state"], d["lea_state"]) if s}
        if code not in states:
            continue
        ref = sources.doc_ref(d["sha256"])
        dated = (f"signed {d['effective_date']} ({d['effective_date_basis']})"
                 if d.get("effective_date") else
                 (f"dates printed in it: {', '.join(facts.dates[:6])}" if facts.dates else
                  f"captured {_day(d['captured_at'])}{_basis_note(d['captured_at_basis'])}"))
        out.append({"sha256": d["sha256"], "ref": ref, "what": facts.kind_words,
                    "channel": facts.channel, "components": facts.components,
                    "parties": facts.parties, "dated": dated,
                    "state_basis": facts.state_basis.get(code) or
                    ("the agency the document belongs to" if code in
                     (d["agency_state"], d["lea_state"]) else ""),
                    "evidence": d["evidence"] or ""})
    statements = []
    if out:
        statements.append(
            f"{_plural(len(out), 'document')} in this database that import classified as a "
            f"DMV agreement or Nlets document {'concerns' if len(out) == 1 else 'concern'} "
            f"{name}. What each says is listed as read; "
            "it is not merged into the per-component status above, which comes from "
            "data/state_dmv_access.csv: a reporter decides whether a document changes it.")
    else:
        statements.append(
            f"No DMV agreement or Nlets document concerning {name} has been imported. A DMV "
            "memorandum with DHS or an Nlets policy released under a records law is loaded with "
            "alpr-inventory import FILE and appears here.")
    return out, statements


def _federal_now(conn: sqlite3.Connection, code: str, name: str, sources: BriefSources
                 ) -> tuple[list[dict[str, Any]], list[str]]:
    rows = _rows(conn, """
        select data_owner_id, data_owner, federal_grantee_id, federal_grantee, component,
          immigration, first_seen, last_seen, newest_source, evidence_documents
        from federal_access where owner_state = ? and current = 1
        order by data_owner, immigration desc, federal_grantee""", [code]) \
        if _has_table(conn, "federal_access") else []
    owners: dict[str, dict[str, Any]] = {}
    for r in rows:
        o = owners.setdefault(r["data_owner_id"], {"id": r["data_owner_id"],
                                                   "name": r["data_owner"], "grantees": []})
        docs = _ids(r["evidence_documents"])
        o["grantees"].append({
            "name": r["federal_grantee"], "component": r["component"],
            "immigration": bool(r["immigration"]), "first_seen": _day(r["first_seen"]),
            "last_seen": _day(r["last_seen"]), "source": r["newest_source"],
            "refs": sources.refs([sources.doc_ref(s) for s in docs[:2]])})
    out = sorted(owners.values(), key=lambda o: (-sum(g["immigration"] for g in o["grantees"]),
                                                 o["name"].lower()))
    for o in out:
        o["immigration"] = sum(g["immigration"] for g in o["grantees"])
        o["newest"] = max(g["last_seen"] for g in o["grantees"])
    statements = []
    if out:
        imm = [o for o in out if o["immigration"]]
        statements.append(
            f"In the newest list held for each, {_plural(len(out), 'agency', 'agencies')} in "
            f"{name} let federal bodies see their plate-reader data"
            + (f"; for {_plural(len(imm), 'agency', 'agencies')} of them, immigration-"
               "enforcement bodies (ICE, HSI, CBP, Border Patrol) are among them" if imm else "")
            + ". Each row gives the dates of the lists that show it and the documents; a list "
              "is only as current as its date.")
    else:
        statements.append(f"No list in this database shows a federal body that can see the "
                          f"plate-reader data of an agency in {name} now.")
    return out, statements


def _partners(conn: sqlite3.Connection, code: str, name: str, sources: BriefSources
              ) -> tuple[list[dict[str, Any]], list[str]]:
    rows = _rows(conn, """
        select data_owner_id, data_owner, grantees, ice_287g, ice_287g_grantees,
          newest_list_source, newest_list_at, newest_list_document, as_of
        from agency_exposure where owner_state = ? and ice_287g > 0
        order by ice_287g desc, data_owner""", [code]) \
        if _has_table(conn, "agency_exposure") else []
    for r in rows:
        r["names"] = (r["ice_287g_grantees"] or "").split("; ")
        r["ref"] = sources.doc_ref(r["newest_list_document"])
    statements = []
    if rows:
        statements.append(
            f"{_plural(len(rows), 'agency', 'agencies')} in {name} let agencies with 287(g) "
            "agreements with ICE (listed in ICE's sheets held here) see their plate-reader "
            "data, in the newest lists held.")
    return rows, statements


def _out_of_state(conn: sqlite3.Connection, code: str, name: str, sources: BriefSources,
                  unknowns: list[str]) -> tuple[list[dict[str, Any]], dict[str, Any] | None,
                                                list[str]]:
    rows = _rows(conn, """
        select data_owner_id, data_owner, grantees, out_of_state, federal, immigration_bodies,
          newest_list_source, newest_list_at, newest_list_document, as_of
        from agency_exposure where owner_state = ? and (out_of_state > 0 or federal > 0)
        order by out_of_state desc, data_owner""", [code]) \
        if _has_table(conn, "agency_exposure") else []
    for r in rows:
        r["ref"] = sources.doc_ref(r["newest_list_document"])
        r["as_of_day"] = _day(r["newest_list_at"] or r["as_of"])
    rules, origin = state_rules()
    rule = next((x for x in rules if x.state == code), None)
    statements: list[str] = []
    if rule is None:
        statements.append(_no_rule_statement(code))
        return rows, None, statements
    rule_refs = sources.refs([sources.url_ref(u) for u in [rule.url] if u])
    rule_info = {"law": rule.law, "citation": rule.citation, "summary": rule.summary,
                 "refs": rule_refs, "basis": rule.basis, "as_of": rule.as_of, "origin": origin}
    outs = [r for r in rows if r["out_of_state"]]
    feds = [r for r in rows if r["federal"]]
    for group, found, count_col in (("out_of_state", outs, "out_of_state"),
                                    ("federal", feds, "federal")):
        n = sum(r[count_col] for r in found)
        who = GROUP_WORDS[group]
        if group in rule.forbids:
            statements.append(
                f"{_plural(len(found), 'agency', 'agencies')} in {name} let {_n(n)} {who} see "
                f"their plate-reader data in the newest lists held. Under {rule.citation} "
                f"{rule_refs} this sharing appears to conflict with the rule." if found else
                f"No list held here shows an agency in {name} sharing with {who}, which "
                f"{rule.citation} {rule_refs} restricts.")
        elif any(g == group for g, _ in rule.conditions):
            cond = next(c for g, c in rule.conditions if g == group)
            if found:
                statements.append(
                    f"{_plural(len(found), 'agency', 'agencies')} in {name} let {_n(n)} {who} "
                    f"see their data; {rule.citation} {rule_refs} requires {cond}. These "
                    "records do not show whether that condition is met: check it.")
        elif group in rule.unknown:
            unknowns.append(f"Whether {rule.citation} restricts sharing with {who}: the "
                            "state table says unknown.")
            if found:
                statements.append(
                    f"{_plural(len(found), 'agency', 'agencies')} in {name} let {_n(n)} {who} "
                    f"see their data; whether {rule.citation} restricts that is unknown here.")
    statements.append("This compares what the published lists show with the rule as "
                      "summarised here; it is not a legal finding. Verify against the official "
                      "text.")
    return rows, rule_info, statements


def _agreements(conn: sqlite3.Connection, code: str, name: str, sources: BriefSources
                ) -> tuple[list[dict[str, Any]], list[str]]:
    rows = _rows(conn, """
        select a.agency, a.agency_id, a.model, a.support_type, a.signed, a.first_listed,
          a.last_listed, a.on_newest_participating, a.on_newest_pending, a.left_program_by,
          a.last_document,
          (select count(*) from data_access d where d.grantee_id = a.agency_id
             and d.current = 1) as can_see
        from agreements a where a.state = ? order by a.agency, a.model""", [code]) \
        if _has_table(conn, "agreements") else []
    sheets = _rows(conn, "select max(sheet_date) as newest, min(sheet_date) as oldest, "
                   "count(distinct document_sha256) as n from agreement_listings") \
        if _has_table(conn, "agreement_listings") else [{}]
    for r in rows:
        r["status"] = ("participating" if r["on_newest_participating"] else
                       "pending" if r["on_newest_pending"] else "no longer listed")
        r["ref"] = sources.doc_ref(r["last_document"])
    statements = []
    sheet = sheets[0] if sheets else {}
    if rows:
        part = sum(1 for r in rows if r["status"] == "participating")
        pend = sum(1 for r in rows if r["status"] == "pending")
        sees = sum(1 for r in rows if r["can_see"])
        statements.append(
            f"ICE's 287(g) sheets held here ({_plural(sheet.get('n') or 0, 'version')}, "
            f"{sheet.get('oldest')} to {sheet.get('newest')}) list "
            f"{_plural(len(rows), 'agreement')} with agencies in {name}: {_n(part)} "
            f"participating and {_n(pend)} pending on the newest sheets, the rest no longer "
            "listed."
            + (f" {_plural(sees, 'of these agencies', 'of these agencies')} can see the "
               "plate-reader data of other agencies in this database." if sees else ""))
    elif sheet.get("n"):
        statements.append(f"ICE's 287(g) sheets held here ({sheet['oldest']} to "
                          f"{sheet['newest']}) list no agreement with an agency in {name}.")
    else:
        statements.append("This database holds none of ICE's 287(g) sheets, so 287(g) "
                          f"agreements in {name} are not known here.")
    return rows, statements


def _searches(conn: sqlite3.Connection, code: str, name: str, sources: BriefSources
              ) -> tuple[list[dict[str, Any]], list[str]]:
    """Federal- or immigration-flagged searches by agencies in the state or into their data
    (by the searching-agency and data-owner indexes: the state's agencies first)."""
    if not _has_table(conn, "searches"):
        return [], []
    rows = _rows(conn, """
        with here as (select id from agencies where state = :s)
        select s.searched_at, g.name as searcher, o.name as data_owner, s.org_name,
          s.federal_searcher, s.immigration_reason, s.immigration_terms, s.reason,
          s.source_row, s.first_document
        from searches s
        left join agencies g on g.id = s.searching_agency_id
        left join agencies o on o.id = s.data_owner_id
        where (s.searching_agency_id in (select id from here)
               or s.data_owner_id in (select id from here))
          and (s.federal_searcher = 1 or s.immigration_reason = 1)
        order by s.searched_at limit 301""", {"s": code})
    for r in rows:
        r["ref"] = sources.doc_ref(r["first_document"])
    statements = []
    if rows:
        fed = sum(1 for r in rows[:300] if r["federal_searcher"])
        imm = sum(1 for r in rows[:300] if r["immigration_reason"])
        more = " (the first 300 shown)" if len(rows) > 300 else ""
        statements.append(
            f"Audit logs in this database list {_plural(min(len(rows), 300), 'search', 'searches')}"
            f"{more} by or into agencies in {name} that were made by a federal agency "
            f"({_n(fed)}) or give a reason matching an immigration-enforcement term ({_n(imm)}).")
    return rows[:300], statements


def _lede(code: str, name: str, dmv: list[dict[str, Any]], federal_now: list[dict[str, Any]],
          partners: list[dict[str, Any]], agreements: list[dict[str, Any]],
          timeline: list[dict[str, Any]]) -> list[str]:
    out = []
    claims = [r for r in dmv if r["access"] != "unknown"]
    blocked = [r for r in claims if r["access"] == "no"]
    open_ = [r for r in claims if r["access"] in ("yes", "partial")]
    if claims:
        parts = []
        if blocked:
            parts.append("blocked: " + "; ".join(
                f"{r['component']} through {r['channel_words']}"
                + (f" since {r['since']}" if r["since"] else f" (as of {r['as_of']})")
                + f" {r['refs']}" for r in blocked))
        if open_:
            parts.append("can query: " + "; ".join(
                f"{r['component']} through {r['channel_words']} (as of {r['as_of']}) "
                f"{r['refs']}" for r in open_))
        out.append(f"{name}'s DMV data, by DHS component (data/state_dmv_access.csv): "
                   + "; ".join(parts) + ".")
    else:
        out.append(f"No public source in data/state_dmv_access.csv says whether ICE, HSI or "
                   f"CBP can query {name}'s DMV data: every cell is unknown (see 'What is "
                   "unknown').")
    own = [e for e in timeline if not e["national"]]
    if own:
        out.append(f"The timeline holds {_plural(len(own), 'dated event')} for {name}, "
                   f"{own[0]['date']} to {own[-1]['date']}, with the national ones.")
    imm = [o for o in federal_now if o["immigration"]]
    if federal_now:
        out.append(f"{_plural(len(federal_now), 'agency', 'agencies')} in {name} let federal "
                   f"bodies see their plate-reader data in the newest lists held"
                   + (f" ({_n(len(imm))} of them immigration-enforcement bodies)" if imm else "")
                   + "; 287(g) partners of ICE can see the data of "
                   f"{_plural(len(partners), 'agency', 'agencies')}.")
    if agreements:
        out.append(f"ICE's 287(g) sheets list {_plural(len(agreements), 'agreement')} with "
                   f"agencies in {name}.")
    return out


# ---- charts ---------------------------------------------------------------------------------
def _grid_chart(name: str, dmv: list[dict[str, Any]]) -> Chart:
    from alpr_inventory.resolve.state_dmv_access import CHANNELS, COMPONENTS

    comps = sorted({r["component"] for r in dmv},
                   key=lambda c: COMPONENTS.index(c) if c in COMPONENTS else 99)
    chans = sorted({r["channel"] for r in dmv},
                   key=lambda c: CHANNELS.index(c) if c in CHANNELS else 99)
    cell_w, cell_h, left, top = 150, 30, 110, 44
    items = [{"kind": "col", "x": left + i * cell_w + cell_w // 2, "y": top - 8,
              "text": CHANNEL_WORDS.get(c, c)} for i, c in enumerate(chans)]
    data = []
    for j, comp in enumerate(comps):
        items.append({"kind": "row", "x": left - 8, "y": top + j * cell_h + 20, "text": comp})
        for i, chan in enumerate(chans):
            r = next((x for x in dmv if x["component"] == comp and x["channel"] == chan), None)
            access = r["access"] if r else "unknown"
            text = ACCESS_WORDS[access] if r else "no row"
            items.append({"kind": "cell", "x": left + i * cell_w, "y": top + j * cell_h,
                          "w": cell_w - 4, "h": cell_h - 4, "fill": ACCESS_COLORS[access],
                          "text": text + (f" {r['since']}" if r and r["since"] else ""),
                          "dark": access in ("yes", "no", "partial")})
            data.append((f"{comp} via {CHANNEL_WORDS.get(chan, chan)}",
                         text + (f" since {r['since']}" if r and r["since"] else "")))
    title = f"Who can query {name}'s DMV data, by component and channel"
    return Chart("grid", "dmv-grid", title, "; ".join(f"{k}: {v}" for k, v in data),
                 max(640, left + len(chans) * cell_w + 10), top + len(comps) * cell_h + 10,
                 items, data)


def _year_fraction(day: str) -> float:
    parts = [int(p) for p in day.split("-")]
    year, month, dom = parts[0], parts[1] if len(parts) > 1 else 7, parts[2] if len(parts) > 2 \
        else 1
    return year + (month - 1) / 12 + (dom - 1) / 365


def _timeline_chart(name: str, code: str, events: list[dict[str, Any]]) -> Chart:
    own = [e for e in events if not e["national"]] or events
    title = f"Dated events for {name}" + ("" if any(not e["national"] for e in events)
                                          else " (national events only)")
    width, left, right, axis_y = 680, 40, 20, 70
    if not own:
        return Chart("timeline", "timeline", title, "no dated event", width, 60, [], [])
    first = int(min(_year_fraction(e["date"]) for e in own))
    last = int(max(_year_fraction(e["date"]) for e in own)) + 1
    span = max(last - first, 1)

    def x(value: float) -> int:
        return int(left + (width - left - right) * (value - first) / span)

    step = 1 if span <= 10 else 2
    items: list[dict[str, Any]] = [{"kind": "axis", "x1": left, "x2": width - right,
                                    "y": axis_y}]
    items += [{"kind": "tick", "x": x(year), "y": axis_y, "text": str(year)}
              for year in range(first, last + 1, step)]
    stacks: dict[int, int] = {}
    data = []
    for e in own:
        px = x(_year_fraction(e["date"]))
        level = stacks.get(px // 8, 0)
        stacks[px // 8] = level + 1
        items.append({"kind": "dot", "x": px, "y": axis_y - 10 - 9 * min(level, 5),
                      "fill": EVENT_COLORS.get(e["kind"], "#999999"),
                      "text": f"{e['date']}: {e['kind']}: {e['summary'][:120]}"})
        data.append((e["date"], f"{e['kind']}: {e['summary'][:80]}"))
    kinds = sorted({e["kind"] for e in own})
    items += [{"kind": "legend", "x": left + i * 110, "y": axis_y + 34,
               "fill": EVENT_COLORS.get(k, "#999999"), "text": k.replace("_", " ")}
              for i, k in enumerate(kinds)]
    return Chart("timeline", "timeline", title,
                 f"{len(own)} events from {own[0]['date']} to {own[-1]['date']}", width,
                 axis_y + 50, items, data)


def _owners_chart(name: str, federal_now: list[dict[str, Any]], partners: list[dict[str, Any]],
                  out_of_state: list[dict[str, Any]]) -> Chart:
    counts: dict[str, dict[str, int]] = {}
    for o in federal_now:
        c = counts.setdefault(o["name"], {})
        c["federal"] = len(o["grantees"])
        c["immigration"] = o["immigration"]
    for r in partners:
        counts.setdefault(r["data_owner"], {})["ice_287g"] = r["ice_287g"]
    for r in out_of_state:
        counts.setdefault(r["data_owner"], {})["out_of_state"] = r["out_of_state"]
    series = (("immigration", "Immigration enforcement", "#67001f"),
              ("federal", "Federal (all)", "#b2182b"),
              ("ice_287g", "287(g) partners of ICE", "#d6604d"),
              ("out_of_state", "Out of state", "#ef8a62"))
    owners = sorted(counts, key=lambda k: (-counts[k].get("immigration", 0),
                                           -counts[k].get("federal", 0), k))[:15]
    top = max((v for c in counts.values() for v in c.values()), default=1) or 1
    width, left, bar_h = 680, 230, 9
    items: list[dict[str, Any]] = []
    data = []
    y = 30
    for owner in owners:
        items.append({"kind": "label", "x": left - 8, "y": y + 2 * bar_h, "text": owner})
        for i, (key, label, color) in enumerate(series):
            n = counts[owner].get(key, 0)
            w = int((width - left - 60) * n / top) if n else 0
            items.append({"kind": "bar", "x": left, "y": y + i * bar_h, "w": max(w, 1),
                          "h": bar_h - 1, "fill": color, "n": n, "label": label,
                          "text": f"{owner}: {label}: {n}"})
            data.append((f"{owner}: {label}", _n(n)))
        y += 4 * bar_h + 10
    items += [{"kind": "legend", "x": left + i * 110, "y": y + 8, "fill": color, "text": label}
              for i, (_, label, color) in enumerate(series)]
    title = f"Who can see the plate-reader data of agencies in {name} (newest lists)"
    return Chart("bars", "owners", title, "; ".join(f"{k}: {v}" for k, v in data[:40]), width,
                 y + 24, items, data)


# ---- rendering ------------------------------------------------------------------------------
_MARK = re.compile(r"\[\[(\d+)\]\]")


def _cite(text: Any) -> Markup:
    """Escape the text, then turn citation markers into links to the numbered sources."""
    return Markup(_MARK.sub(lambda m: f'<a class="ref" href="#src-{m[1]}">[{m[1]}]</a>',
                            str(escape(str(text if text is not None else "")))))


def _cite_text(text: Any) -> str:
    return _MARK.sub(r"[\1]", str(text if text is not None else ""))


def _md_cell(text: Any) -> str:
    return _cite_text(text).replace("|", "\\|").replace("\n", " ")


def _environment(autoescape: bool) -> Environment:
    env = Environment(loader=PackageLoader("alpr_inventory.serve", "templates"),
                      autoescape=select_autoescape(["html"]) if autoescape else False,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters.update(cite=_cite, cite_text=_cite_text, md=_md_cell, n=_n)
    return env


_HTML_ENV: Environment | None = None
_MD_ENV: Environment | None = None


def render_html(b: Brief, nav_html: str = "") -> str:
    """The brief as one self-contained HTML page (inline CSS and SVG, print CSS, no network)."""
    global _HTML_ENV
    _HTML_ENV = _HTML_ENV or _environment(True)
    return _HTML_ENV.get_template("state_brief.html").render(
        b=b, nav=Markup(nav_html), max_rows=MAX_ROWS)


def render_markdown(b: Brief) -> str:
    global _MD_ENV
    _MD_ENV = _MD_ENV or _environment(False)
    return _MD_ENV.get_template("state_brief.md").render(b=b, max_rows=MAX_ROWS)


def to_json(b: Brief) -> str:
    """The brief as data: the same content, charts as their data (no SVG)."""
    data = asdict(b)
    data["title"] = b.title
    data["charts"] = [{"title": c.title, "data": c.data} for c in b.charts]
    return json.dumps(data, indent=2, default=str, ensure_ascii=False)


def write_brief(b: Brief, fmt: str, target: Path) -> Path:
    """Write the brief in one format (html, md, json, pdf) to `target`."""
    if fmt == "pdf":
        return render_pdf(render_html(b), target, title=b.title)
    text = {"html": render_html, "md": render_markdown, "json": to_json}[fmt](b)
    target.write_text(text, encoding="utf-8")
    return target
