"""The exposure report: one agency, everything the records show, every statement dated and sourced.

`build_report(conn, agency)` gathers what the database holds about one agency (its portal, who
can see its data, whose data it can see, searches in audit logs, changes, the state's rules) into
a `Report`; `render_html`, `render_markdown` and `render_pdf` turn it into a self-contained
document (inline CSS and SVG charts, no network) with a numbered list of sources: the archived
documents by SHA-256, their URLs and capture dates.

Wording rule: every sentence says what a dated record shows ("The 2026-04-29 capture of its
portal lists ..."), never more. Kinds, states and federal status come from the organisation
resolver (data/resolver/), which records the rule behind each decision. Where the agency's
sharing appears to conflict with a state rule, the report says so and cites the rule; it is not
a legal finding.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from alpr_inventory.derive.answers import DATASET_WORDS as DATASET_NAMES
from alpr_inventory.derive.cameras import camera_count
from alpr_inventory.derive.changes import query_changes
from alpr_inventory.serve.lookup import AgencyNotFound, find_agency

__all__ = ["AgencyNotFound", "Report", "STATE_RULES", "StateRule", "build_report",
           "find_agency", "render_html", "render_markdown", "render_pdf", "state_rules"]


# ---- state rules ------------------------------------------------------------------------------
@dataclass(frozen=True)
class StateRule:
    """One state rule on sharing ALPR data, with what it forbids in terms the records can show.

    `forbids` lists grantee groups the rule bars (federal, out_of_state, immigration, private);
    `conditions` lists groups it allows only under a condition the records cannot show
    (e.g. a signed declaration), which the report flags for checking, not as a conflict.
    """

    state: str
    law: str
    citation: str
    url: str
    summary: str
    forbids: tuple[str, ...] = ()
    conditions: tuple[tuple[str, str], ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    unknown: tuple[str, ...] = ()  # groups the state table marks 'unknown' (never read as no)
    as_of: str | None = None
    basis: str = "alpr_inventory/serve/report.py STATE_RULES"


# Kept small and cited; see corpus reference/STATE_LAWS.md. Verify against official code before
# publishing (the report says so).
STATE_RULES: tuple[StateRule, ...] = (
    StateRule(
        state="CA",
        law="SB 34 (2015): California Civil Code 1798.90.5-1798.90.55",
        citation="Cal. Civ. Code § 1798.90.55(b)",
        url="https://leginfo.legislature.ca.gov/faces/codes_displaySection.xhtml"
            "?lawCode=CIV&sectionNum=1798.90.55",
        summary="A public agency \"shall not sell, share, or transfer ALPR information, except "
                "to another public agency\". The Attorney General's Bulletin 2023-DLE-06 reads "
                "\"public agency\" as excluding out-of-state and federal agencies, so ALPR data "
                "may not be shared with federal or out-of-state agencies (or private entities).",
        forbids=("federal", "out_of_state", "private"),
        sources=(("California Attorney General, Information Bulletin 2023-DLE-06",
                  "https://oag.ca.gov/system/files/media/2023-dle-06.pdf"),),
    ),
    StateRule(
        state="IL",
        law="HB 3326 (2023, effective 2024-01-01): 625 ILCS 5/2-130",
        citation="625 ILCS 5/2-130",
        url="https://www.ilga.gov/legislation/ilcs/fulltext.asp?DocName=062500050K2-130",
        summary="An ALPR user may not \"sell, share, allow access to, or transfer ALPR "
                "information\" for investigating or enforcing a law that permits detention or "
                "investigation based on immigration status (or that interferes with lawful "
                "health care); an out-of-state law-enforcement agency must first sign a written "
                "declaration that it will not use the data that way.",
        forbids=("immigration",),
        conditions=(("out_of_state", "a signed written declaration from each out-of-state "
                     "agency before access"),),
    ),
    StateRule(
        state="WA",
        law="Keep Washington Working Act, Laws of 2019 ch. 440 (E2SB 5497)",
        citation="RCW 43.17.425 (and RCW 10.93.160)",
        url="https://app.leg.wa.gov/RCW/default.aspx?cite=43.17.425",
        summary="State agencies may not use funds or personnel to assist enforcement of "
                "federal immigration law, must limit collection of personal information and may "
                "not disclose it for immigration enforcement except as required by law or court "
                "order; law-enforcement agencies may not give non-public personal information to "
                "federal immigration authorities (RCW 10.93.160).",
        forbids=("immigration",),
        conditions=(("federal", "that no data reaches federal immigration enforcement through "
                     "the federal bodies that can see it"),),
        sources=(("Washington Attorney General, Keep Washington Working Act FAQ",
                  "https://www.atg.wa.gov/keep-washington-working-act-faq-law-enforcement"),),
    ),
)

GROUP_WORDS = {
    "federal": "federal bodies", "immigration": "immigration-enforcement bodies",
    "out_of_state": "out-of-state organisations", "private": "private organisations",
}
GROUP_WORD = {
    "federal": "federal body", "immigration": "immigration-enforcement body",
    "out_of_state": "out-of-state organisation", "private": "private organisation",
}


def _group_count(n: int, group: str) -> str:
    return f"{n:,} {GROUP_WORD[group] if n == 1 else GROUP_WORDS[group]}"


def state_rules() -> tuple[tuple[StateRule, ...], str]:
    """The state rules to apply and where they came from.

    When `alpr_inventory.resolve.state_policies` exists (data/state_policies.csv, maintained with
    sources per
    claim), its rows decide the law, citation, sources and which groups a state restricts
    (`yes`; `unknown` is reported as unknown, never as "no"). This module's small table adds
    what that file has no column for (immigration-enforcement bodies, private entities, and
    conditions such as Illinois's written declaration). Without the file, or when it does not
    load, the small table here is used alone.
    """
    try:
        from alpr_inventory.resolve.state_policies import load_state_policies
    except ImportError:
        return STATE_RULES, "the table in alpr_inventory/serve/report.py (STATE_RULES)"
    try:
        policies = load_state_policies()
    except Exception as exc:  # a broken data file must not stop a report: say so, use ours
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return STATE_RULES, ("the table in alpr_inventory/serve/report.py (STATE_RULES); "
                             f"data/state_policies.csv did not load: {first}")
    ours = {r.state: r for r in STATE_RULES}
    rules = [rule for p in policies if (rule := _rule_from_policy(p, ours.get(p.state)))]
    covered = {r.state for r in rules}
    rules += [r for r in STATE_RULES if r.state not in covered]
    return tuple(rules), ("data/state_policies.csv (alpr_inventory.resolve.state_policies), "
                          "with the "
                          "immigration, private-entity and condition notes of "
                          "alpr_inventory/serve/report.py")


def _notes_part(notes: str, label: str) -> str:
    """The 'ALPR: ...' (or 'DMV: ...') part of a state_policies.csv notes cell."""
    parts = re.split(r"(?:^|\s)(Nlets|ALPR|DMV):\s", notes or "")
    found = [parts[i + 1].strip() for i in range(1, len(parts) - 1, 2) if parts[i] == label]
    return " ".join(found)


def _rule_from_policy(p: Any, base: StateRule | None) -> StateRule | None:
    """One StateRule from a data/state_policies.csv row (None when it says nothing usable)."""
    if p.alpr_sharing_law != "unknown":
        claim, law, citation = "alpr", p.alpr_sharing_law, p.alpr_sharing_citation
    elif p.dmv_law != "unknown" and base is not None:
        # a general law on information reaching immigration enforcement (e.g. WA's Keep
        # Washington Working Act): only where this module knows what it means for ALPR sharing
        claim, law, citation = "dmv", p.dmv_law, p.dmv_law_citation
    elif base is not None:
        return base
    else:
        return None
    flags = {"federal": p.alpr_federal_sharing_restricted,
             "out_of_state": p.alpr_out_of_state_restricted}
    conditional = {g for g, _ in base.conditions} if base else set()
    forbids = [g for g, v in flags.items() if v == "yes" and g not in conditional]
    forbids += [g for g in (base.forbids if base else ()) if g not in forbids]
    unknown = tuple(g for g, v in flags.items()
                    if v == "unknown" and g not in forbids and g not in conditional)
    refs = p.sources_for(claim)
    urls = [r for r in refs if r.startswith(("http://", "https://"))]
    summary = _notes_part(p.notes, "ALPR" if claim == "alpr" else "DMV") or (
        base.summary if base else p.notes)
    return StateRule(
        state=p.state, law=law, citation=citation,
        url=urls[0] if urls else (base.url if base else ""),
        summary=summary, forbids=tuple(forbids),
        conditions=base.conditions if base else (),
        sources=tuple((r, r) for r in refs[1:] if r not in urls[:1]) + (
            base.sources if base else ()),
        unknown=unknown, as_of=None if p.as_of == "unknown" else p.as_of,
        basis=(f"data/state_policies.csv line {p.line}" if getattr(p, "line", 0) else
               "data/state_policies.csv"),
    )


# ---- finding the agency: alpr_inventory/serve/lookup.py (AgencyNotFound, find_agency) ----------


def _sharing_with(conn: Any, aid: str, *, other: str, this: str) -> list[dict[str, Any]]:
    """Sharing intervals where the agency is `this` side, with the `other` side's agency."""
    assert {other, this} == {"owner_id", "grantee_id"}
    return _rows(conn, f"""
        select s.owner_id, s.grantee_id, s.direction, s.list_agency_id, s.source_kind,
          s.raw_name, s.grantee_marked_federal, s.owner_marked_federal, s.first_seen,
          s.last_seen, s.first_document, s.last_document, g.name as g_name,
          g.kind as g_kind, g.state as g_state,
          g.federal_component as g_component, g.immigration as g_immigration,
          g.flock_marked_federal as g_marked, g.resolver_rule as g_rule, p.name as list_name,
          (select x.label from sharing_lists x where x.list_agency_id = s.list_agency_id
             and x.captured_at = s.last_seen and x.document_sha256 = s.last_document
             and x.direction = s.direction) as list_label
        from sharing s join agencies g on g.id = s.{other}
        left join agencies p on p.id = s.list_agency_id
        where s.{this} = ? order by s.first_seen""", [aid])


def _access(conn: Any, aid: str, column: str) -> dict[str, dict[str, Any]]:
    """The stored answer (data_access) for one agency as owner (column owner_id: key = grantee)
    or as grantee (column grantee_id: key = owner), with 287(g) status joined: the columns
    _people reads (not the sources and evidence lists, which a big agency has thousands of)."""
    other = "grantee_id" if column == "owner_id" else "owner_id"
    return {r[other]: r for r in _rows(conn, f"""
        select d.{other}, d.current, d.current_basis, d.in_newest_own_list,
          k.status as k_status, k.models as k_models, k.first_listed as k_first,
          k.last_listed as k_last, k.last_document as k_document, k.agency_as_listed as k_name
        from data_access d left join agency_287g k on k.agency_id = d.{other}
        where d.{column} = ?""", [aid])}


def _rows(conn: sqlite3.Connection, sql: str,
          params: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params if isinstance(params, dict) else list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _one(conn: sqlite3.Connection, sql: str,
         params: Sequence[Any] | dict[str, Any] = ()) -> dict[str, Any] | None:
    rows = _rows(conn, sql, params)
    return rows[0] if rows else None


# ---- the report model -----------------------------------------------------------------------
@dataclass
class Source:
    n: int
    sha256: str
    url: str | None
    title: str
    doc_type: str | None
    archive_path: str | None
    captures: list[tuple[str, str]]  # (captured_at, basis)
    href: str | None = None


class Sources:
    """Numbered sources in order of first citation."""

    def __init__(self, conn: sqlite3.Connection, archive_href: Callable[[str, str | None],
                                                                         str | None]):
        self.conn = conn
        self.archive_href = archive_href
        self.by_sha: dict[str, Source] = {}

    def ref(self, sha: str | None) -> str:
        """The citation marker for a document ('' when there is none)."""
        if not sha:
            return ""
        src = self.by_sha.get(sha)
        if src is None:
            doc = _one(self.conn, """
                select d.*, a.name as agency_name, (select min(captured_at) from fetches f
                  where f.sha256 = d.sha256) as first_captured_at
                from documents d left join agencies a on a.id = d.agency_id
                where d.sha256 = ?""", [sha]) or {}
            caps = [(r["captured_at"], r["captured_at_basis"]) for r in _rows(
                self.conn, "select distinct captured_at, captured_at_basis from fetches "
                "where sha256 = ? order by captured_at", [sha])]
            src = Source(len(self.by_sha) + 1, sha, public_url(doc.get("url")), _doc_title(doc),
                         doc.get("doc_type"), doc.get("archive_path"), caps)
            src.href = self.archive_href(sha, doc.get("archive_path"))
            self.by_sha[sha] = src
        return f"[[{src.n}]]"

    def refs(self, shas: Iterable[str | None]) -> str:
        """The markers of several documents, each once, in source order (a report cites
        thousands of pairs of documents: the numbers are sorted, not the markers)."""
        by_sha = self.by_sha
        numbers = set()
        for sha in shas:
            if sha:
                src = by_sha.get(sha)
                if src is None:
                    self.ref(sha)
                    src = by_sha[sha]
                numbers.add(src.n)
        return "".join(f"[[{n}]]" for n in sorted(numbers))

    @property
    def items(self) -> list[Source]:
        return sorted(self.by_sha.values(), key=lambda s: s.n)


def public_url(url: str | None) -> str | None:
    """A source's address as a report may show it: an imported file by its name only (its
    file:// path belongs to the machine that built the database)."""
    if url and url.startswith("file://"):
        name = unquote(urlparse(url).path).rstrip("/").rsplit("/", 1)[-1]
        return f"imported file {name}"
    return url


CAMERAS_CREDIT = "© OpenStreetMap contributors, ODbL 1.0"


def _camera_statement(r: Report) -> str:
    return (f"OpenStreetMap mappers name {r.agency['name']} as the operator of "
            f"{_plural(r.cameras, 'plate-reader camera')} (the operator tag of ALPR nodes; "
            f"data {CAMERAS_CREDIT}).")


def _doc_title(doc: dict[str, Any]) -> str:
    """A source said for what it is: an agency's portal, a records release (and whose), a peer
    dataset and its year, an ICE sheet and its version."""
    kind = doc.get("doc_type")
    title = doc.get("title") or ""
    url = doc.get("url") or ""
    name = url.rstrip("/").rsplit("/", 1)[-1]
    whose = doc.get("agency_name")
    if kind == "flock_portal":
        return f"Flock transparency portal of {title}" if title else "Flock transparency portal"
    if kind == "peer_dataset":
        dataset = DATASET_NAMES.get(doc.get("layout") or "", doc.get("layout") or "a")
        year = (doc.get("first_captured_at") or "")[:4]
        return f"Peer dataset: {dataset} sharing edges{', ' + year if year else ''} ({name})"
    if kind == "sharing_report":
        return ("Records release: Flock shared-networks report"
                + (f" of {whose}" if whose else "") + f" ({name})")
    if kind == "vigilant_sharing_report":
        return ("Records release: Vigilant agency data sharing report"
                + (f" of {whose}" if whose else "") + f" ({name})")
    if kind == "sharing_list":
        return ("Records release: sharing list" + (f" of {whose}" if whose else "")
                + f" ({name})")
    if kind == "audit_export":
        return ("Search audit export" + (f" of {whose}" if whose else "") + f" ({name})")
    if kind == "ice_287g_sheet":
        return f"ICE 287(g) {doc.get('layout') or ''} agencies sheet ({name})"
    return f"{kind or 'document'}: {name}"


@dataclass
class Grantee:
    id: str
    name: str
    kind: str | None
    state: str | None
    component: str | None
    immigration: bool
    marked_federal: bool
    rule: str | None
    names: list[str] = field(default_factory=list)
    first_seen: str = ""
    last_seen: str = ""
    evidence: list[str] = field(default_factory=list)  # phrases with citation markers
    group: str = ""
    in_newest_own: bool = False
    current_basis: str = ""
    ice_287g: str | None = None  # participating / pending / no longer listed
    ice_287g_models: str | None = None
    ice_287g_listed: str | None = None  # first..last sheet version listing it
    ice_287g_ref: str = ""  # citation of the newest sheet version listing it


@dataclass
class Chart:
    title: str
    svg: str
    data: list[tuple[str, str]]  # (label, value) for text renderings


@dataclass
class Report:
    agency: dict[str, Any]
    generated_at: str
    database: str
    lede: list[str]
    portal: dict[str, Any] | None
    portal_captures: list[dict[str, Any]]
    portal_facts: list[tuple[str, str]]
    policies: list[tuple[str, str]]
    lists: list[dict[str, Any]]
    grantee_groups: list[tuple[str, str, list[Grantee]]]
    older_only: list[Grantee]
    exposure_statements: list[str]
    source_groups: list[tuple[str, str, list[Grantee]]]
    receives_statements: list[str]
    searches: dict[str, Any]
    changes: list[dict[str, Any]]
    change_statements: list[str]
    rules_origin: str
    rule: StateRule | None
    rule_findings: list[dict[str, Any]]
    rule_statements: list[str]
    charts: list[Chart]
    sources: list[Source]
    notes: list[str] = field(default_factory=list)
    partners: list[Grantee] = field(default_factory=list)  # grantees with 287(g) agreements
    partner_statements: list[str] = field(default_factory=list)
    cameras: int = 0  # OpenStreetMap camera nodes whose operator is this agency (cameras)
    camera_map_href: str | None = None


KIND_WORDS = {
    "local_police": "local police", "sheriff": "sheriff", "state": "state agency",
    "federal": "federal", "tribal": "tribal", "university": "university", "private": "private",
    "task_force": "task force", "other": "other", "unresolved": "unresolved (under review)",
}
CHART_LABELS = {"federal": "Federal or immigration", "out_of_state": "Out of state",
                "in_state": "In state", "private": "Private", "unknown": "State not known"}
GROUPS = (
    ("federal", "Federal and immigration-enforcement bodies"),
    ("out_of_state", "Out-of-state organisations"),
    ("in_state", "In-state organisations"),
    ("private", "Private organisations"),
    ("unknown", "State not known"),
)
DATASET_WORDS = {"news_observer_private_eyes": "The News & Observer's 'Private Eyes' dataset"}
DIRECTION_WORDS = {"outbound": "can see its data", "inbound": "share their data with it"}
SOURCE_KIND_WORDS = {"flock_portal": "portal", "peer_dataset": "peer dataset",
                     "records_release": "records release"}
STATE_NAMES = {"CA": "California", "IL": "Illinois", "WA": "Washington", "FL": "Florida",
               "OR": "Oregon", "NV": "Nevada", "AZ": "Arizona", "TX": "Texas", "CO": "Colorado",
               "NY": "New York", "VA": "Virginia"}


def _day(ts: str | None) -> str:
    return (ts or "")[:10]


def _n(value: int) -> str:
    return f"{value:,}"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{_n(n)} {one if n == 1 else (many or one + 's')}"


def _basis_note(basis: str | None, source: str | None = None) -> str:
    if basis == "mtime":
        return " (dated by the file's modification time, not by the document itself)"
    if basis == "import":
        return " (dated by the time it was imported: neither the document nor its file name " \
               "gives a date)"
    if basis == "given":
        return " (date given on import)"
    if basis == "document" and source:
        return f" (dated by {source})"
    return ""


def _group_of(g: Grantee, owner_state: str | None) -> str:
    if g.kind == "federal" or g.immigration or g.marked_federal:
        return "federal"
    if g.kind == "private":
        return "private"
    if not g.state or not owner_state:
        return "unknown"
    return "in_state" if g.state == owner_state else "out_of_state"


# ---- building -------------------------------------------------------------------------------
def build_report(conn: sqlite3.Connection, agency: str | dict[str, Any],
                 archive_href: Callable[[str, str | None], str | None] | None = None,
                 database: str = "inventory", now: datetime | None = None,
                 camera_map_href: Callable[[str], str] | None = None) -> Report:
    """Everything the database shows about one agency, as a Report (raises AgencyNotFound)."""
    a = agency if isinstance(agency, dict) else find_agency(conn, agency)
    aid, name = a["id"], a["name"]
    sources = Sources(conn, archive_href or (lambda sha, path: None))
    owner_state = a.get("state")

    # its portal
    captures = _rows(conn, "select * from portal_snapshots where agency_id = ? "
                     "order by captured_at, document_sha256", [aid])
    portal = captures[-1] if captures else None
    for capture in captures:  # number its own documents first, oldest first
        sources.ref(capture["document_sha256"])
    portal_facts, policies = _portal_facts(portal, sources) if portal else ([], [])

    # lists it published (every source), and its newest own outbound list (owner_lists: what
    # 'current' is measured against)
    lists = _rows(conn, """
        select l.*, f.captured_at_basis as basis, f.captured_at_source as basis_source
        from sharing_lists l
        left join fetches f on f.sha256 = l.document_sha256 and f.captured_at = l.captured_at
        where l.list_agency_id = ? group by l.id order by l.captured_at, l.direction""", [aid])
    for lst in lists:
        sources.ref(lst["document_sha256"])
    newest_row = _one(conn, "select list_id from owner_lists where owner_id = ?", [aid])
    newest_own = next((x for x in lists if newest_row and x["id"] == newest_row["list_id"]),
                      None)

    # who can see its data: one row per organisation, current as stored (data_access)
    intervals = _sharing_with(conn, aid, other="grantee_id", this="owner_id")
    access = _access(conn, aid, "owner_id")
    grantees, older = _people(intervals, "grantee", aid, access, sources, owner_state)
    groups = _grouped(grantees)  # every number below and the chart count these groups

    # whose data it can see
    inbound = _sharing_with(conn, aid, other="owner_id", this="grantee_id")
    providers, _ = _people(inbound, "owner", aid, _access(conn, aid, "grantee_id"), sources,
                           owner_state, both_ends=False)
    provider_groups = _grouped(providers)

    lede = _lede(a, newest_own, grantees, groups, sources)
    exposure = _exposure_statements(a, newest_own, grantees, older, sources, lists)
    partners = [g for g in grantees if g.ice_287g]
    partner_statements = _partner_statements(a, grantees, partners, older)
    receives = _receives_statements(a, providers, provider_groups)
    searches = _searches(conn, aid, name, sources)
    changes = query_changes(conn, agency_ids=[aid])
    change_statements = _change_statements(a, changes, captures, lists)
    rules, origin = state_rules()
    rule = next((r for r in rules if r.state == owner_state), None)
    findings, rule_statements = _rule_findings(a, rule, groups, newest_own, rules)

    charts = [_kind_chart(a, groups), _list_size_chart(a, lists)]
    if searches["weekly"]:
        charts.append(_search_chart(a, searches))
    now = now or datetime.now(UTC)
    return Report(
        agency=a, generated_at=now.strftime("%Y-%m-%d %H:%M UTC"), database=database,
        lede=lede, portal=portal, portal_captures=[
            {"captured_at": c["captured_at"], "ref": sources.ref(c["document_sha256"]),
             "layout": c["layout"], "outbound_count": c["outbound_count"]} for c in captures],
        portal_facts=portal_facts, policies=policies, lists=[
            {**x, "ref": sources.ref(x["document_sha256"])} for x in lists],
        grantee_groups=groups, older_only=older, exposure_statements=exposure,
        partners=partners, partner_statements=partner_statements,
        source_groups=provider_groups, receives_statements=receives, searches=searches,
        changes=[{**c, "refs": sources.refs([c["before_document"], c["after_document"]])}
                 for c in changes],
        change_statements=change_statements, rules_origin=origin, rule=rule,
        rule_findings=findings, rule_statements=rule_statements, charts=charts,
        sources=sources.items, cameras=(n_cameras := camera_count(conn, aid)),
        camera_map_href=camera_map_href(aid) if camera_map_href and n_cameras else None,
    )


def _portal_facts(p: dict[str, Any], sources: Sources
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    ref = sources.ref(p["document_sha256"])
    facts: list[tuple[str, str]] = [("Capture", f"{_day(p['captured_at'])} {ref}")]
    if p.get("last_updated"):
        facts.append(("Portal's own 'Last Updated'", p["last_updated"]))
    if p.get("retention_raw") or p.get("retention_days") is not None:
        facts.append(("Data retention", p.get("retention_raw") or f"{p['retention_days']} days"))
    if p.get("cameras") is not None:
        counts = json.loads(p["camera_counts"] or "{}")
        detail = "; ".join(f"{k}: {_n(v)}" for k, v in counts.items()) if counts else ""
        facts.append(("Cameras", f"{_n(p['cameras'])}" + (f" ({detail})" if detail else "")))
    for key, label in (("vehicles_30d", "Vehicles detected, last 30 days"),
                       ("hotlist_hits_30d", "Hotlist hits, last 30 days"),
                       ("searches_30d", "Searches, last 30 days")):
        if p.get(key) is not None:
            facts.append((label, _n(p[key])))
    if p.get("hotlists"):
        facts.append(("Hotlists alerted on", ", ".join(json.loads(p["hotlists"]))))
    facts.append(("Public search audit on the page",
                  f"yes ({_n(p['search_audit_rows'] or 0)} rows)" if p.get("search_audit_present")
                  else "no"))
    policies: list[tuple[str, str]] = []
    for key, label in (("prohibited_uses", "Prohibited uses"),
                       ("acceptable_use", "Acceptable use policy"),
                       ("access_policy", "Access policy"), ("hotlist_policy", "Hotlist policy"),
                       ("detected", "What's detected"), ("not_detected", "What's not detected")):
        if p.get(key):
            policies.append((label, p[key]))
    for label, text in (json.loads(p["other_policies"]) if p.get("other_policies") else
                        {}).items():
        policies.append((label, text))
    return facts, policies


def _source_words(s: dict[str, Any], aid: str) -> str:
    """What a source is: its own portal / records release, another agency's portal, a peer
    dataset and its year (the same words as data_access.sources)."""
    kind = s["source_kind"]
    own = s["list_agency_id"] == aid
    whose = "its own" if own else f"{s['list_name'] or s['list_agency_id']}'s"
    if kind == "peer_dataset":
        dataset = DATASET_NAMES.get(s.get("list_label") or "", s.get("list_label") or "a")
        what = f"{dataset} peer dataset ({_day(s['last_seen'])[:4]})"
        return what if own else f"{what}, {whose} list"
    if kind == "records_release":
        label = f" ('{s['list_label']}')" if s.get("list_label") else ""
        return f"{whose} records release{label}"
    return f"{whose} {SOURCE_KIND_WORDS.get(kind, kind)}"


def _people(intervals: list[dict[str, Any]], role: str, aid: str,
            access: dict[str, dict[str, Any]], sources: Sources, owner_state: str | None,
            both_ends: bool = True) -> tuple[list[Grantee], list[Grantee]]:
    """Organisations on the other side of `aid`'s sharing, one per organisation.

    Which are current comes from the stored answer (`access`, data_access): named in the
    newest list of the newest source for the data owner. The others (e.g. only in a 2024
    dataset when a 2026 portal capture exists) go to the second list ("older lists only"),
    never into the counts. Evidence cites the first and last document of each interval
    (`both_ends`), or only the last, with each source said for what it is."""
    people: dict[str, Grantee] = {}
    words: dict[tuple[Any, ...], str] = {}  # _source_words of each source (thousands of rows)
    for s in intervals:
        other = s["grantee_id"] if role == "grantee" else s["owner_id"]
        g = people.get(other)
        if g is None:
            g = people[other] = Grantee(
                other, s["g_name"], s["g_kind"], s["g_state"], s["g_component"],
                bool(s["g_immigration"]), bool(s["g_marked"]), s["g_rule"])
            g.first_seen = s["first_seen"]
            row = access.get(other) or {}
            g.in_newest_own = bool(row.get("in_newest_own_list"))
            g.current_basis = row.get("current_basis") or ""
            if row.get("k_status"):
                g.ice_287g, g.ice_287g_models = row["k_status"], row["k_models"]
                g.ice_287g_listed = f"{row['k_first']} to {row['k_last']}"
                g.ice_287g_ref = sources.ref(row["k_document"])
        if s["raw_name"] not in g.names and (
                (s["direction"] == "outbound") == (role == "grantee")):
            g.names.append(s["raw_name"])
        g.marked_federal = g.marked_federal or bool(
            s["grantee_marked_federal"] if role == "grantee" else s["owner_marked_federal"])
        g.first_seen = min(g.first_seen, s["first_seen"])
        g.last_seen = max(g.last_seen, s["last_seen"])
        first, last = _day(s["first_seen"]), _day(s["last_seen"])
        span = first if first == last else f"{first} – {last}"
        docs = [s["first_document"] if both_ends else None, s["last_document"]]
        whose = aid if role == "grantee" else other
        key = (s["source_kind"], s["list_agency_id"], s["list_name"], s.get("list_label"),
               last[:4], whose)
        said = words.get(key)
        if said is None:
            said = words[key] = _source_words(s, whose)
        phrase = f"{said}, {span} {sources.refs(docs)}"
        if phrase not in g.evidence:
            g.evidence.append(phrase)
    main, older = [], []
    for gid, g in people.items():
        g.group = _group_of(g, owner_state)
        (main if (access.get(gid) or {}).get("current") else older).append(g)

    def key(g: Grantee) -> tuple[bool, bool, str, str]:
        return (not g.immigration, g.ice_287g is None, g.state or "~", g.name.lower())

    return sorted(main, key=key), sorted(older, key=key)


def _grouped(people: list[Grantee]) -> list[tuple[str, str, list[Grantee]]]:
    return [(key, title, [g for g in people if g.group == key]) for key, title in GROUPS]


def _count(groups: list[tuple[str, str, list[Grantee]]], key: str) -> int:
    return next(len(gs) for k, _, gs in groups if k == key)


def _list_phrase(lst: dict[str, Any]) -> str:
    when = _day(lst["captured_at"])
    basis = _basis_note(lst.get("basis"), lst.get("basis_source"))
    if lst["source_kind"] == "flock_portal":
        if lst.get("basis") == "import":
            return f"The copy of its portal imported on {when}{basis}"
        return f"The {when} capture of its portal{basis}"
    if lst["source_kind"] == "peer_dataset":
        label = DATASET_WORDS.get(lst["label"] or "", f"The {lst['label'] or 'peer'} dataset")
        return f"{label} of {when}{basis}"
    return f"The records release ('{lst['label']}') dated {when}{basis}"


def _lede(a: dict[str, Any], newest: dict[str, Any] | None, grantees: list[Grantee],
          groups: list[tuple[str, str, list[Grantee]]], sources: Sources) -> list[str]:
    """The headline. Every number is counted from `groups` (the organisations that can see its
    data now), the same groups the chart and the tables show."""
    name = a["name"]
    out: list[str] = []
    people = {key: gs for key, _, gs in groups}
    total = sum(len(gs) for gs in people.values())
    if newest is None:
        out.append(f"No document in this database publishes {name}'s own list of organisations "
                   "that can see its data. That does not show that none can: it means no portal "
                   "capture, records release or dataset here is its list.")
        if grantees:
            out.append(f"Lists published by other agencies name "
                       f"{_plural(total, 'organisation')} that can see {name}'s data now, "
                       "in each source's newest list (see below).")
    else:
        ref = sources.ref(newest["document_sha256"])
        phrase = _list_phrase(newest)
        names = json.loads(newest["names"])
        if not names:
            heading = f" under the heading '{newest['label']}'" if newest.get("label") else ""
            out.append(f"{phrase} {ref} lists no organisations that can see {name}'s "
                       f"data{heading}: it publishes the list empty.")
            if not grantees:
                return out
        else:
            in_list = sum(1 for g in grantees if g.in_newest_own)
            text = (f"{phrase} {ref} lists {_plural(len(names), 'organisation')} that can see "
                    f"{name}'s data")
            if in_list != len(names):
                text += f" ({_n(in_list)} distinct organisations once names are resolved)"
            out.append(text + ".")
        others = total - sum(1 for g in grantees if g.in_newest_own)
        if others:
            out.append(f"Newer lists of other agencies add {_plural(others, 'organisation')}: "
                       f"{_plural(total, 'organisation')} can see its data now, counted below.")
    if not total:
        return out
    fed, imm = people["federal"], [g for gs in people.values() for g in gs if g.immigration]
    if fed:
        listed = "; ".join(g.name for g in fed)
        out.append(f"{_plural(len(fed), 'of them is a federal body', 'of them are federal bodies')}"
                   f" (as the resolver classifies them, or labelled [Federal] by Flock): {listed}."
                   + (f" {_group_count(len(imm), 'immigration')} among them."
                      if imm else " None is an immigration-enforcement body."))
    else:
        out.append("None of them is a federal body or an immigration-enforcement body, as the "
                   "resolver classifies them.")
    partners = [g for gs in people.values() for g in gs if g.ice_287g]
    if partners:
        out.append(f"{_n(len(partners))} of the {_plural(total, 'agency', 'agencies')} that can "
                   f"see {name}'s data {'has' if len(partners) == 1 else 'have'} 287(g) "
                   "agreements with ICE (ICE's participating and pending agencies sheets; see "
                   "below).")
    if a.get("state"):
        state = STATE_NAMES.get(a["state"], a["state"])
        unknown = people["unknown"]
        out.append(f"{_plural(len(people['out_of_state']), 'of them is', 'of them are')} outside "
                   f"{state}; {_n(len(people['in_state']))} are in {state}"
                   + (f"; for {_n(len(unknown))} the resolver has no state" if unknown else "")
                   + ".")
    return out


def _partner_statements(a: dict[str, Any], grantees: list[Grantee], partners: list[Grantee],
                        older: list[Grantee]) -> list[str]:
    """What ICE's 287(g) sheets say about the organisations that can see the data."""
    name = a["name"]
    out = []
    if not partners:
        out.append(f"None of the {_plural(len(grantees), 'organisation')} that can see "
                   f"{name}'s data now is listed in ICE's 287(g) sheets held here.")
    else:
        status = Counter(g.ice_287g for g in partners)
        out.append(f"{_n(len(partners))} of the {_plural(len(grantees), 'agency', 'agencies')} "
                   f"that can see {name}'s data have 287(g) agreements with ICE: "
                   + ", ".join(f"{n} {k}" for k, n in sorted(status.items()))
                   + " on the newest sheets held. Each row gives the model, status, signed date "
                   "and the sheet version it comes from.")
    old = [g for g in older if g.ice_287g]
    if old:
        out.append(f"{_plural(len(old), 'organisation')} named only in older lists also "
                   f"{'has' if len(old) == 1 else 'have'} 287(g) agreements (not counted).")
    return out


def _exposure_statements(a: dict[str, Any], newest: dict[str, Any] | None,
                         grantees: list[Grantee], older: list[Grantee], sources: Sources,
                         lists: list[dict[str, Any]]) -> list[str]:
    name = a["name"]
    out = []
    others = [g for g in grantees if not g.in_newest_own]
    if newest and others:
        out.append(f"{_plural(len(others), 'organisation is', 'organisations are')} listed as able "
                   f"to see {name}'s data only by other sources (other agencies' lists or "
                   f"another of its own sources), not in its own list of "
                   f"{_day(newest['captured_at'])}; each row names its source.")
    elif not newest and grantees:
        out.append(f"These {_plural(len(grantees), 'organisation')} are named in other agencies' "
                   f"lists; each row names its source.")
    for lst in [x for x in lists if x["direction"] == "outbound" and x is not newest]:
        if newest and lst["source_kind"] != newest["source_kind"] and \
                lst["captured_at"] == max(y["captured_at"] for y in lists
                                          if y["source_kind"] == lst["source_kind"]
                                          and y["direction"] == "outbound"):
            out.append(f"{_list_phrase(lst)} {sources.ref(lst['document_sha256'])} lists "
                       f"{_plural(lst['count'], 'organisation')} that could see its data then.")
    if older:
        out.append(f"{_plural(len(older), 'organisation is', 'organisations are')} named only in "
                   f"older lists and not in the newest one; they are listed separately and not "
                   f"counted above.")
    return out


def _receives_statements(a: dict[str, Any], providers: list[Grantee],
                         groups: list[tuple[str, str, list[Grantee]]]) -> list[str]:
    name = a["name"]
    if not providers:
        return [f"No list in this database names an organisation whose data {name} can see."]
    fed = _count(groups, "federal")
    return [f"The lists in this database name {_plural(len(providers), 'organisation')} whose "
            f"data {name} can see" + (f", {_n(fed)} of them federal" if fed else "") +
            " (from its own 'sharing their data with' lists and other agencies' 'granted "
            "access' lists)."]


# Searches by the agency's users, then searches into its data by others: two indexed lookups
# (searching_agency_id; data_owner_id), never an OR that would read the whole table.
_AGENCY_SEARCHES = """
select {columns} from searches s where s.searching_agency_id = :a{flagged}
union all
select {columns} from searches s where s.data_owner_id = :a and s.searching_agency_id is not :a
{flagged}"""
_FLAGGED = " and (s.federal_searcher = 1 or s.immigration_reason = 1)"


def _searches(conn: sqlite3.Connection, aid: str, name: str, sources: Sources
              ) -> dict[str, Any]:
    """Totals, searches per week, flagged searches and the audit documents, for one agency.

    A big agency has hundreds of thousands of searches, so none of this reads them row by row:
    counts come from ranges of the searching_agency_id index (per week), federal and
    immigration counts from the few flagged rows (a partial index), the documents from the
    index alone. Searches into its data by others (data_owner_id) are few and read as rows."""
    a = {"a": aid}
    # the first and last time and the undated rows: three seeks of the index, no scan
    bounds = _one(conn, """
        select (select min(searched_at) from searches where searching_agency_id = :a) as first,
          (select max(searched_at) from searches where searching_agency_id = :a) as last,
          (select count(*) from searches where searching_agency_id = :a
             and searched_at is null) as undated""", a) or {}
    flagged_own = _rows(conn, "select s.searched_at, s.federal_searcher, s.immigration_reason "
                              "from searches s where s.searching_agency_id = :a" + _FLAGGED, a)
    others = _rows(conn, "select searched_at, federal_searcher, immigration_reason, "
                         "first_document from searches where data_owner_id = :a and "
                         "searching_agency_id is not :a", a)
    weeks: dict[str, dict[str, Any]] = {}

    def week(ts: str | None) -> dict[str, Any] | None:
        monday = _monday((ts or "")[:10])
        if monday is None:
            return None
        return weeks.setdefault(monday, {"week": monday, "n": 0, "federal": 0, "imm": 0})

    first, last = bounds.get("first"), bounds.get("last")
    if first is not None and _monday(first[:10]) is not None \
            and _monday(last[:10]) is not None:
        # one index range per week (SQLite counts a range without reading its rows); every
        # dated row lies between the first and the last week, so the weeks add up to the
        # total with the undated rows
        n = bounds["undated"]
        day, end = date.fromisoformat(_monday(first[:10]) or ""), date.fromisoformat(last[:10])
        # the audit documents listing them come from the same ranges (and the undated rows),
        # so the agency's index entries are read once
        shas: set[str] = set()
        for (docs,) in conn.execute("select group_concat(distinct first_document) from searches "
                                    "where searching_agency_id = ? and searched_at is null",
                                    [aid]):
            shas.update((docs or "").split(","))
        while day <= end:
            nxt = day + timedelta(days=7)
            in_week, docs = conn.execute(
                "select count(*), group_concat(distinct first_document) from searches "
                "where searching_agency_id = ? and searched_at >= ? and searched_at < ?",
                [aid, day.isoformat(), nxt.isoformat()]).fetchone()
            shas.update((docs or "").split(","))
            if in_week:
                weeks[day.isoformat()] = {"week": day.isoformat(), "n": in_week, "federal": 0,
                                          "imm": 0}
            n += in_week
            day = nxt
        own: dict[str, Any] = {"n": n, "first": first, "last": last}
    else:
        own = _one(conn, "select count(*) n, min(searched_at) first, max(searched_at) last "
                         "from searches where searching_agency_id = :a", a) or {}
        first, last = own.get("first"), own.get("last")
        if own.get("n"):
            # searched_at values that are not ISO dates: count the agency's rows one by one
            for (ts,) in conn.execute("select searched_at from searches where "
                                      "searching_agency_id = :a", a):
                if (w := week(ts)) is not None:
                    w["n"] += 1
        shas = {r[0] for r in conn.execute("select distinct first_document from searches "
                                           "where searching_agency_id = :a", a)}
    for r in flagged_own:
        if (w := week(r["searched_at"])) is not None:
            w["federal"] += r["federal_searcher"] or 0
            w["imm"] += r["immigration_reason"] or 0
    for r in others:
        if (w := week(r["searched_at"])) is not None:
            w["n"] += 1
            w["federal"] += r["federal_searcher"] or 0
            w["imm"] += r["immigration_reason"] or 0
    stamps = [t for t in (first, last, *(r["searched_at"] for r in others)) if t is not None]
    total: dict[str, Any] = {
        "n": (own.get("n") or 0) + len(others),
        "first": min(stamps, default=None), "last": max(stamps, default=None),
        "federal": sum((r["federal_searcher"] or 0) for r in flagged_own + others),
        "imm": sum((r["immigration_reason"] or 0) for r in flagged_own + others),
        "own": own.get("n") or 0, "others": len(others)}
    weekly_rows = [weeks[k] for k in sorted(weeks)]
    flagged = _rows(conn, f"""
        select f.searched_at, f.search_id, g.name as searcher, f.org_name, f.federal_searcher,
          f.immigration_reason, f.immigration_terms, f.reason, f.source_row, f.first_document
        from ({_AGENCY_SEARCHES.format(columns="s.*", flagged=_FLAGGED)}) f
        left join agencies g on g.id = f.searching_agency_id
        order by f.searched_at limit 300""", a)
    # the audit documents listing them, oldest capture first
    shas |= {r["first_document"] for r in others}
    docs = [{"d": r[0]} for r in conn.execute(
        "select value from json_each(?) left join fetches f on f.sha256 = value "
        "group by value order by min(f.captured_at), value",
        [json.dumps(sorted(x for x in shas if x))])]
    # searchers with 287(g) agreements: the agency itself (its own count) and those searching
    # into its data (few rows, by the data_owner_id index)
    partners = _rows(conn, """
        select g.name, k.status, k.models, k.last_listed, k.last_document, x.n
        from (select :a as agency_id, :own as n
              union all
              select searching_agency_id, count(*) from searches
              where data_owner_id = :a and searching_agency_id is not :a group by 1) x
        join agency_287g k on k.agency_id = x.agency_id
        join agencies g on g.id = x.agency_id
        where x.n > 0
        order by x.n desc, g.name""", {"a": aid, "own": own.get("n") or 0})
    statements = []
    if not total["n"]:
        statements.append(f"No audit log in this database lists a search by or into {name}.")
    else:
        refs = sources.refs(d["d"] for d in docs)
        statements.append(
            f"Audit logs in this database {refs} list {_plural(total['n'], 'search', 'searches')}"
            f" made by {name}'s users or into its data, from {_day(total['first'])} to "
            f"{_day(total['last'])}.")
        if total["federal"] or total["imm"]:
            statements.append(
                f"{_plural(total['federal'], 'search was', 'searches were')} made by a federal "
                f"agency (resolver) and {_plural(total['imm'], 'search has', 'searches have')} a "
                "reason that matched an immigration-enforcement term; they are listed below with "
                "the term that matched and where in the document they are.")
        else:
            statements.append(
                "None of them was made by an agency the resolver classifies as federal, and no "
                "reason matched an immigration-enforcement term (parsers/reasons.py).")
    if partners:
        n = sum(p["n"] for p in partners)
        statements.append(
            f"{_plural(n, 'of these searches was', 'of these searches were')} made by "
            f"{_plural(len(partners), 'agency', 'agencies')} with 287(g) agreements with ICE: "
            + "; ".join(f"{p['name']} ({_n(p['n'])}; {p['status']}: {p['models']}; ICE sheet "
                        f"of {p['last_listed']} {sources.ref(p['last_document'])})"
                        for p in partners[:20])
            + (f"; and {len(partners) - 20} more" if len(partners) > 20 else "") + ".")
    for f in flagged:
        f["ref"] = sources.ref(f["first_document"])
    return {"total": total, "weekly": weekly_rows, "flagged": flagged,
            "statements": statements, "partners": partners}


def _monday(day: str | None) -> str | None:
    """The Monday of an ISO day ('2025-06-18' -> '2025-06-16'); None when it is not a date."""
    try:
        d = date.fromisoformat(day or "")
    except ValueError:
        return None
    return (d - timedelta(days=d.weekday())).isoformat()


def _change_statements(a: dict[str, Any], changes: list[dict[str, Any]],
                       captures: list[dict[str, Any]], lists: list[dict[str, Any]]) -> list[str]:
    name = a["name"]
    own = [c for c in changes if c["agency_id"] == a["id"]]
    caps = sorted({x["captured_at"] for x in lists if x["source_kind"] == "flock_portal"} |
                  {c["captured_at"] for c in captures})
    out = []
    if len(caps) < 2 and not own:
        out.append(f"This database has {_plural(len(caps), 'capture')} of {name}'s portal, so "
                   "it cannot show changes over time on it.")
    elif not own:
        out.append(f"Between its {_plural(len(caps), 'capture')} ({_day(caps[0])} to "
                   f"{_day(caps[-1])}) the records show no change in its sharing lists, "
                   "retention, camera count or search-audit presence.")
    else:
        kinds = Counter(c["kind"] for c in own)
        parts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(kinds.items()))
        span = f" ({_day(caps[0])} to {_day(caps[-1])})" if caps else ""
        out.append(f"Comparing consecutive captures{span}, the records show {len(own)} "
                   f"change(s) on {name}'s own records: {parts}.")
    others = [c for c in changes if c["agency_id"] != a["id"]]
    if others:
        out.append(f"Other agencies' lists show {_plural(len(others), 'change')} involving "
                   f"{name}.")
    return out


def _rule_findings(a: dict[str, Any], rule: StateRule | None,
                   groups: list[tuple[str, str, list[Grantee]]], newest: dict[str, Any] | None,
                   rules: Sequence[StateRule]) -> tuple[list[dict[str, Any]], list[str]]:
    name = a["name"]
    state = a.get("state")
    people = {key: gs for key, _, gs in groups}
    members = {
        "federal": [g for g in people["federal"] if g.kind == "federal" or g.marked_federal],
        "immigration": [g for gs in people.values() for g in gs if g.immigration],
        "out_of_state": [g for gs in people.values() for g in gs
                         if g.state and state and g.state != state and g.kind != "federal"],
        "private": people["private"],
    }
    if rule is None:
        return [], [_no_rule_statement(state)]
    findings: list[dict[str, Any]] = []
    statements = []
    if newest is None and not any(people.values()):
        return [], [f"No list in this database shows who can see {name}'s data, so its "
                    f"sharing cannot be compared with {rule.citation}."]
    newest_words = _list_phrase(newest)[4:] if newest else ""

    def where(found: list[Grantee]) -> str:
        if not newest:
            return " (all named in other agencies' lists)"
        own = sum(1 for g in found if g.in_newest_own)
        rest = len(found) - own
        return (f" ({_n(own)} in its newest list, the {newest_words}"
                + (f"; {_n(rest)} only in other sources" if rest else "") + ")")

    for group in rule.forbids:
        found = members.get(group, [])
        findings.append({"group": group, "count": len(found), "kind": "forbidden",
                         "names": [g.name for g in found]})
        if found:
            statements.append(
                f"The records show {_group_count(len(found), group)} among those that can see "
                f"{name}'s data{where(found)}. Under {rule.citation} this sharing appears to "
                "conflict with the rule.")
        else:
            statements.append(f"The records show no {GROUP_WORDS[group]} among those that can "
                              f"see {name}'s data" + (f" (newest list: the {newest_words})"
                                                      if newest else "") + ".")
    for group, condition in rule.conditions:
        found = members.get(group, [])
        findings.append({"group": group, "count": len(found), "kind": "condition",
                         "names": [g.name for g in found], "condition": condition})
        if found:
            statements.append(
                f"{_group_count(len(found), group)} can see its data; {rule.citation} requires "
                f"{condition}. These records do not show whether that condition is met: check "
                "it.")
    for group in rule.unknown:
        found = members.get(group, [])
        if found:
            statements.append(
                f"{_group_count(len(found), group)} can see its data. The state table gives "
                f"'unknown' for whether {rule.citation} restricts sharing with them: not a "
                "finding either way.")
    statements.append("This compares what the published lists show with the rule as summarised "
                      "here; it is not a legal finding. Verify against the official text.")
    return findings, statements


def _no_rule_statement(state: str | None) -> str:
    """What data/state_policies.csv (every state) says when it gives no rule on sharing."""
    if not state:
        return ("The agency's state is not known, so no state's rule on sharing plate-reader "
                "data can be applied. That is not a finding that none applies.")
    try:
        from alpr_inventory.resolve.state_policies import load_state_policies

        row = next((p for p in load_state_policies() if p.state == state), None)
    except Exception:  # a broken data file: say so rather than guess
        row = None
    where = STATE_NAMES.get(state, state)
    if row is None:
        return (f"data/state_policies.csv could not be read for {where}, so no rule on sharing "
                "plate-reader data is applied here. That is not a finding that there is none.")
    return (f"data/state_policies.csv (line {row.line}) records no law on sharing plate-reader "
            f"data for {where} (ALPR sharing law: {row.alpr_sharing_law}; federal sharing "
            f"restricted: {row.alpr_federal_sharing_restricted}; out-of-state sharing "
            f"restricted: {row.alpr_out_of_state_restricted}). That is not a finding that the "
            "state has none.")


# ---- charts (inline SVG) --------------------------------------------------------------------
COLORS = {"federal": "#b2182b", "immigration": "#67001f", "ice_287g": "#d6604d",
          "out_of_state": "#ef8a62",
          "in_state": "#4393c3", "private": "#8073ac", "unknown": "#999999",
          "flock_portal": "#2166ac", "peer_dataset": "#92c5de", "records_release": "#5aae61",
          "other": "#bababa"}


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _svg_open(width: int, height: int, title: str, desc: str, cid: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="{cid}-t {cid}-d" '
            f'class="chart" font-family="Helvetica, Arial, sans-serif" font-size="12">'
            f'<title id="{cid}-t">{_esc(title)}</title><desc id="{cid}-d">{_esc(desc)}</desc>')


def _kind_chart(a: dict[str, Any], groups: list[tuple[str, str, list[Grantee]]]) -> Chart:
    counts = [(CHART_LABELS[key], key, len(gs)) for key, _, gs in groups]
    immigration = sum(1 for _, _, gs in groups for g in gs if g.immigration)
    counts.insert(1, ("of which immigration enforcement", "immigration", immigration))
    partners = sum(1 for _, _, gs in groups for g in gs if g.ice_287g)
    counts.append(("287(g) agreement with ICE (any group)", "ice_287g", partners))
    title = f"Who can see {a['name']}'s data, by kind"
    desc = "; ".join(f"{label}: {n}" for label, _, n in counts)
    width, bar_h, gap, left = 640, 22, 8, 220
    height = 30 + len(counts) * (bar_h + gap)
    top = max((n for _, _, n in counts), default=0) or 1
    parts = [_svg_open(width, height, title, desc, "kinds"),
             f'<text x="0" y="16" font-weight="bold">{_esc(title)}</text>']
    for i, (label, key, n) in enumerate(counts):
        y = 28 + i * (bar_h + gap)
        w = int((width - left - 60) * n / top)
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{_esc(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{max(w, 1)}" height="{bar_h}" '
                     f'fill="{COLORS[key]}"><title>{_esc(label)}: {n}</title></rect>')
        parts.append(f'<text x="{left + max(w, 1) + 6}" y="{y + 15}">{_n(n)}</text>')
    parts.append("</svg>")
    return Chart(title, "".join(parts), [(label, _n(n)) for label, _, n in counts])


def _list_size_chart(a: dict[str, Any], lists: list[dict[str, Any]]) -> Chart:
    out = [x for x in lists if x["direction"] == "outbound"]
    title = f"Organisations in {a['name']}'s published lists, by capture"
    data = [(f"{_day(x['captured_at'])} ({SOURCE_KIND_WORDS.get(x['source_kind'], '')})",
             _n(x["count"])) for x in out]
    desc = "; ".join(f"{k}: {v}" for k, v in data) or "no list published"
    width, height, left, bottom = 640, 220, 50, 60
    parts = [_svg_open(width, height, title, desc, "sizes"),
             f'<text x="0" y="16" font-weight="bold">{_esc(title)}</text>']
    if not out:
        parts.append('<text x="20" y="80">No list of organisations that can see its data is in '
                     'this database.</text></svg>')
        return Chart(title, "".join(parts), data)
    top = max(x["count"] for x in out) or 1
    slot = (width - left - 10) / len(out)
    bar = min(60.0, slot * 0.7)
    plot_h = height - bottom - 30
    parts.append(f'<line x1="{left}" y1="{30 + plot_h}" x2="{width - 10}" y2="{30 + plot_h}" '
                 'stroke="#444"/>')
    parts.append(f'<text x="{left - 6}" y="38" text-anchor="end">{_n(top)}</text>')
    for i, x in enumerate(out):
        h = plot_h * x["count"] / top
        cx = left + slot * i + (slot - bar) / 2
        y = 30 + plot_h - h
        parts.append(f'<rect x="{cx:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{max(h, 1):.1f}" '
                     f'fill="{COLORS.get(x["source_kind"], "#666")}"><title>'
                     f'{_esc(_day(x["captured_at"]))}: {x["count"]}</title></rect>')
        parts.append(f'<text x="{cx + bar / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">'
                     f'{_n(x["count"])}</text>')
        parts.append(f'<text x="{cx + bar / 2:.1f}" y="{30 + plot_h + 16}" text-anchor="middle">'
                     f'{_esc(_day(x["captured_at"]))}</text>')
        parts.append(f'<text x="{cx + bar / 2:.1f}" y="{30 + plot_h + 30}" text-anchor="middle" '
                     f'fill="#555">{_esc(SOURCE_KIND_WORDS.get(x["source_kind"], ""))}</text>')
    parts.append("</svg>")
    return Chart(title, "".join(parts), data)


def _search_chart(a: dict[str, Any], searches: dict[str, Any]) -> Chart:
    weeks = _fill_weeks(searches["weekly"])
    title = f"Searches per week in audit logs ({a['name']})"
    fed = sum(w["federal"] for w in weeks)
    imm = sum(w["imm"] for w in weeks)
    desc = (f"{len(weeks)} weeks from {weeks[0]['week']} to {weeks[-1]['week']}; "
            f"{sum(w['n'] for w in weeks)} searches; {fed} by federal agencies and {imm} with "
            "immigration-related reasons, highlighted")
    width, height, left, bottom = 640, 240, 50, 50
    plot_h = height - bottom - 40
    top = max(w["n"] for w in weeks) or 1
    slot = (width - left - 10) / len(weeks)
    parts = [_svg_open(width, height, title, desc, "searches"),
             f'<text x="0" y="16" font-weight="bold">{_esc(title)}</text>',
             f'<rect x="{left}" y="22" width="10" height="10" fill="{COLORS["other"]}"/>'
             f'<text x="{left + 14}" y="31">other searches</text>'
             f'<rect x="{left + 130}" y="22" width="10" height="10" fill="{COLORS["federal"]}"/>'
             f'<text x="{left + 144}" y="31">by a federal agency ({fed})</text>'
             f'<rect x="{left + 320}" y="22" width="10" height="10" '
             f'fill="{COLORS["immigration"]}"/>'
             f'<text x="{left + 334}" y="31">immigration-related reason ({imm})</text>',
             f'<line x1="{left}" y1="{40 + plot_h}" x2="{width - 10}" y2="{40 + plot_h}" '
             'stroke="#444"/>',
             f'<text x="{left - 6}" y="48" text-anchor="end">{_n(top)}</text>']
    every = max(1, len(weeks) // 8)
    for i, w in enumerate(weeks):
        x = left + slot * i
        base = 40 + plot_h
        flagged = w["federal"] + w["imm"]
        segments = [("other", max(w["n"] - flagged, 0)), ("federal", w["federal"]),
                    ("immigration", w["imm"])]
        for key, n in segments:
            if not n:
                continue
            h = plot_h * n / top
            base -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{base:.1f}" width="{max(slot - 2, 1):.1f}" '
                         f'height="{h:.1f}" fill="{COLORS[key]}"><title>week of {w["week"]}: '
                         f'{n} {key}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x:.1f}" y="{40 + plot_h + 16}">{w["week"][5:]}</text>')
    parts.append(f'<text x="{left}" y="{height - 6}" fill="#555">weeks starting Monday, '
                 f'{weeks[0]["week"][:4]}</text></svg>')
    data = [(w["week"], f"{w['n']} ({w['federal']} federal, {w['imm']} immigration)")
            for w in weeks if w["n"]]
    return Chart(title, "".join(parts), data)


def _fill_weeks(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {r["week"]: r for r in rows if r["week"]}
    if not by:
        return []
    start = date.fromisoformat(min(by))
    end = date.fromisoformat(max(by))
    out = []
    while start <= end:
        key = start.isoformat()
        out.append(by.get(key, {"week": key, "n": 0, "federal": 0, "imm": 0}))
        start += timedelta(days=7)
    return out


# ---- HTML -----------------------------------------------------------------------------------
CSS = """
body{font-family:Georgia,'Times New Roman',serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
color:#111;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{font-size:1.25rem;border-bottom:2px solid #333;
margin-top:2rem}h3{font-size:1.05rem;margin-bottom:.3rem}
.meta{color:#444;font-size:.9rem}.lede{font-size:1.08rem;background:#f4f4f4;padding:.6rem 1rem;
border-left:4px solid #b2182b}
table{border-collapse:collapse;width:100%;font-size:.82rem;margin:.4rem 0 1rem}
th,td{border-bottom:1px solid #ccc;padding:.15rem .35rem;text-align:left;vertical-align:top}
table{font-family:Helvetica,Arial,sans-serif;line-height:1.25}
th{background:#eee}tr{page-break-inside:avoid}
sup a{text-decoration:none}.flag{color:#b2182b;font-weight:bold}
.policy{white-space:pre-wrap;font-size:.9rem;background:#fafafa;padding:.3rem .6rem;
border:1px solid #ddd}
.sources li{font-size:.78rem;margin-bottom:.3rem;word-break:break-all;
font-family:Helvetica,Arial,sans-serif;line-height:1.3}
.chart{display:block;margin:1rem 0;max-width:100%;height:auto}
.note{color:#444;font-size:.88rem}
ul.cols{columns:2;column-gap:2rem;font-size:.78rem;font-family:Helvetica,Arial,sans-serif;
padding-left:1rem}ul.cols li{break-inside:avoid}
table.people td:nth-child(1),table.people td:nth-child(2){width:26%}
nav{font-size:.9rem;margin-bottom:1rem}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}nav{display:none}}
"""


_MARKER = re.compile(r"\[\[(\d+)\]\]")


def _cite_html(text: str, anchor: str = "src") -> str:
    """Escape text, then turn [[n]] markers into links to the numbered source."""
    escaped = _esc(text)
    if "[[" not in escaped:
        return escaped
    return _MARKER.sub(f'<sup><a href="#{anchor}-\\1">[\\1]</a></sup>', escaped)


def _cite_text(text: str) -> str:
    return re.sub(r"\[\[(\d+)\]\]", r"[\1]", text)


def _link(url: str, text: str) -> str:
    if url.startswith(("http://", "https://")):
        return f'<a href="{_esc(url)}">{_esc(text)}</a>'
    return _esc(text if text == url else f"{text} ({url})")


def _p(text: str, cls: str = "") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f"<p{klass}>{_cite_html(text)}</p>"


def _grantee_table(people: list[Grantee], federal: bool) -> str:
    if not people:
        return '<p class="note">None in the lists in this database.</p>'
    head = ["Organisation", "Name(s) as published", "Kind", "State", "287(g)"]
    if federal:
        head += ["Component", "Immigration enforcement", "Flock label", "Resolver rule"]
    head += ["Listed in (evidence)"]
    # evidence phrases repeat across hundreds of rows: give each a letter, explained above
    phrases = list(dict.fromkeys(e for g in people for e in g.evidence))
    keys = {e: chr(ord("a") + i) for i, e in enumerate(phrases)} if len(phrases) <= 26 else {}
    legend = ('<p class="note">Listed in: ' + "; ".join(
        f"<b>{k}</b> = {_cite_html(e)}" for e, k in keys.items()) + ".</p>") if keys else ""
    rows = ['<table class="people"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head)
            + "</tr></thead>"
            "<tbody>"]
    for g in people:
        published = "; ".join(g.names)
        cells = [_esc(g.name), _esc(published) if published != g.name else "(same)",
                 _esc(KIND_WORDS.get(g.kind or "", g.kind or "")), _esc(g.state or ""),
                 f'<span class="flag">{_esc(g.ice_287g)}</span> {_cite_html(g.ice_287g_ref)}'
                 if g.ice_287g else ""]
        if federal:
            cells += [_esc(g.component or ""),
                      '<span class="flag">yes</span>' if g.immigration else "no",
                      "[Federal]" if g.marked_federal else "", _esc(g.rule or "")]
        cells += [", ".join(keys[e] for e in g.evidence) if keys else
                  "<br>".join(_cite_html(e) for e in g.evidence)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    rows.append("</tbody></table>")
    return legend + "".join(rows)


def _state_counts(people: list[Grantee]) -> str:
    counts = Counter(g.state for g in people if g.state)
    return ", ".join(f"{s} {n}" for s, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _templates() -> Any:
    """The Jinja2 environment of alpr_inventory/serve/templates: every value is escaped as `_esc`
    escapes it, except what a helper marks as HTML (Markup)."""
    global _TEMPLATES
    if _TEMPLATES is None:
        from jinja2 import Environment, FileSystemLoader
        from markupsafe import Markup

        def html_of(fn: Callable[..., str]) -> Callable[..., Markup]:
            return lambda *args, **kwargs: Markup(fn(*args, **kwargs))

        def captures(items: list[tuple[str, str | None]]) -> Markup:
            caps = ", ".join(f"{_day(c)}{_basis_note(b)}" for c, b in items[:6])
            if len(items) > 6:
                caps += f" and {len(items) - 6} more"
            return Markup(caps)  # dates and fixed notes, as the report has always printed

        env = Environment(
            loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
            autoescape=True, trim_blocks=True, lstrip_blocks=True,
            finalize=lambda v: v if isinstance(v, Markup) else Markup(_esc(v)))
        env.globals.update(
            p=html_of(_p), cite=html_of(_cite_html), link=html_of(_link), svg=Markup,
            grantee_table=html_of(_grantee_table), state_counts=_state_counts,
            plural=_plural, n=html_of(_n), day=_day, basis_note=_basis_note,
            captures=captures, br=Markup("<br>"), camera_statement=_camera_statement,
            kind_words=KIND_WORDS,
            source_kind_words=SOURCE_KIND_WORDS, group_words=GROUP_WORDS,
            direction_words={k: Markup(v) for k, v in DIRECTION_WORDS.items()})
        _TEMPLATES = env
    return _TEMPLATES


_TEMPLATES: Any = None


def render_html(r: Report, nav_html: str = "") -> str:
    """The report as one self-contained HTML document (inline CSS and SVG, no requests),
    from templates/report.html."""
    from markupsafe import Markup

    return _templates().get_template("report.html").render(
        r=r, a=r.agency, css=Markup(CSS), nav_html=Markup(nav_html))


# ---- Markdown -------------------------------------------------------------------------------
def _md(text: str) -> str:
    return _cite_text(str(text)).replace("|", "\\|").replace("\n", " ")


def render_markdown(r: Report) -> str:
    a = r.agency
    out = [f"# Who can see {a['name']}'s plate-reader data", "",
           f"Agency id `{a['id']}`" + (f"; state {a['state']}" if a.get("state") else "") +
           (f"; portal {a['portal_url']}" if a.get("portal_url") else "") +
           f". Report generated {r.generated_at} from database `{r.database}`.", ""]
    out += [_cite_text(s) + "\n" for s in r.lede]
    if r.cameras:
        out += [_camera_statement(r) + (f" Map: {r.camera_map_href}" if r.camera_map_href
                                        else ""), ""]
    out += ["## What its portal says", ""]
    if r.portal:
        out += ["| | |", "|---|---|"] + [f"| {_md(k)} | {_md(v)} |" for k, v in r.portal_facts]
        out.append("")
        for label, text in r.policies:
            out += [f"**{label}**: {_md(text)}", ""]
    else:
        out += [f"This database has no capture of a Flock transparency portal for {a['name']}.",
                ""]
    out += ["## Who can see its data", ""] + [_cite_text(s) + "\n" for s in r.exposure_statements]
    for chart in r.charts:
        out += [f"*{chart.title}*", "", "| | |", "|---|---|"]
        out += [f"| {_md(k)} | {_md(v)} |" for k, v in chart.data] + [""]
    for key, title, people in r.grantee_groups + [("older", "Named only in older lists",
                                                    r.older_only)]:
        if key == "older" and not people:
            continue
        out += [f"### {title} ({len(people)})", ""]
        if not people:
            out += ["None in the lists in this database.", ""]
            continue
        out += ["| Organisation | As published | Kind | State | 287(g) | Listed | Evidence |",
                "|---|---|---|---|---|---|---|"]
        for g in people:
            out.append(f"| {_md(g.name)} | {_md('; '.join(g.names))} | "
                       f"{_md(KIND_WORDS.get(g.kind or '', g.kind or ''))}"
                       f"{' (immigration enforcement)' if g.immigration else ''} | "
                       f"{g.state or ''} | {g.ice_287g or ''} | {_day(g.first_seen)} to "
                       f"{_day(g.last_seen)} | {_md('; '.join(g.evidence))} |")
        out.append("")
    out += [f"## Agencies with 287(g) agreements with ICE that can see its data "
            f"({len(r.partners)})", ""] + [_cite_text(s) + "\n" for s in r.partner_statements]
    if r.partners:
        out += ["| Agency | State | 287(g) status | Agreements | Listed in ICE's sheets |",
                "|---|---|---|---|---|"]
        out += [f"| {_md(g.name)} | {g.state or ''} | {g.ice_287g} | {_md(g.ice_287g_models)} | "
                f"{_md(g.ice_287g_listed)} {_cite_text(g.ice_287g_ref)} |" for g in r.partners]
        out.append("")
    out += ["## Whose data it can see", ""] + [_cite_text(s) + "\n" for s in
                                               r.receives_statements]
    for _, title, people in r.source_groups:
        if people:
            out += [f"- {title}: " + "; ".join(g.name for g in people), ""]
    out += ["## Searches in audit logs", ""] + [_cite_text(s) + "\n" for s in
                                                r.searches["statements"]]
    for f in r.searches["flagged"]:
        out.append(f"- {f['searched_at']}: {f['searcher'] or f['org_name']}; reason "
                   f"'{f['reason']}'; {f['immigration_terms'] or ''} ({f['source_row']} "
                   f"{_cite_text(f['ref'])})")
    out += ["", "## What changed over time", ""] + [_cite_text(s) + "\n" for s in
                                                    r.change_statements]
    for c in r.changes:
        out.append(f"- {_day(c['before_captured_at'])} to {_day(c['after_captured_at'])}, "
                   f"{c['kind'].replace('_', ' ')}: {c['summary']} {_cite_text(c['refs'])}")
    out += ["", "## State rules", ""]
    if r.rule:
        out += [f"**{r.rule.state}: {r.rule.law}** ({r.rule.citation}, {r.rule.url}). "
                f"{r.rule.summary} Sources: " + "; ".join(u for _, u in r.rule.sources)
                + f". Rule row: {r.rule.basis}"
                + (f", as of {r.rule.as_of}." if r.rule.as_of else "."), ""]
    out += [_cite_text(s) + "\n" for s in r.rule_statements]
    out += [f"Rules table: {r.rules_origin}.", "", "## Sources", ""]
    for s in r.sources:
        caps = ", ".join(f"{_day(c)}{_basis_note(b)}" for c, b in s.captures[:6])
        out.append(f"{s.n}. **{s.title}**. {s.url or ''}. Captured {caps}. Archived copy "
                   f"`{s.archive_path or ''}`"
                   + (f" ({s.href})" if s.href else "") + f", SHA-256 `{s.sha256}`.")
    return "\n".join(out) + "\n"


# ---- PDF ------------------------------------------------------------------------------------
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def _chromium() -> str:
    from crawlers.settings import find_chromium

    path = find_chromium()
    if not path:
        raise RuntimeError("PDF needs Chromium: run ./scripts/setup (installs Debian's chromium)"
                           " or set PLAYWRIGHT_CHROMIUM to its path")
    return path


def render_pdf(html_text: str, path: str | Path, title: str = "") -> Path:
    """Print the HTML to PDF with headless Chromium (Playwright; the chromium command line as a
    fallback). Never downloads a browser: uses the system Chromium."""
    path = Path(path)
    footer = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
              f"{_esc(title)} page <span class=\"pageNumber\"></span> of "
              '<span class="totalPages"></span></div>')
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is installed with the project
        return _pdf_command_line(html_text, path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(html_text, wait_until="load")
            page.emulate_media(media="print")
            page.pdf(path=str(path), format="Letter", print_background=True,
                     display_header_footer=True, header_template="<div></div>",
                     footer_template=footer,
                     margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})
        finally:
            browser.close()
    return path


def _pdf_command_line(html_text: str, path: Path) -> Path:  # pragma: no cover
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html_text, encoding="utf-8")
        subprocess.run([_chromium(), "--headless", *CHROMIUM_ARGS, "--no-pdf-header-footer",
                        f"--print-to-pdf={path}", src.as_uri()], check=True,
                       capture_output=True, timeout=120)
    return path
