"""Plain records the parsers return. No Scrapy, no database: bytes in, these out.

Every parser result carries ``warnings``: things a human should look at (an unknown card label,
a value that did not parse as a number). Warnings never replace data: the raw text is kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# What a document can be (documents.doc_type: the kind of the route of parsers/router.py that
# read it) and how its reading ended (documents.parse_status): the schema's documentation is
# built from these, and tests/test_docs.py checks that the router gives no other value.
DOC_TYPES: dict[str, str] = {
    "flock_portal": "a Flock transparency portal page",
    "blocked": "a block page (Cloudflare challenge or rate limit, HTTP 429): never portal data",
    "not_found": "Flock's 'Page not found' page",
    "truncated": "a portal page cut short (refetch it)",
    "audit_export": "a search-audit export (CSV, Excel workbook or Flock 'Organization Audit' PDF)",
    "sharing_report": "Flock's 'Networks Shared With Me / Networks I'm Sharing' report (PDF or "
                      "workbook)",
    "vigilant_sharing_report": "a Vigilant 'Agency Data Sharing Report' PDF",
    "agreement": "an agreement PDF (287(g) MOA, DMV agreement, data-sharing MOU, contract)",
    "ice_287g_sheet": "a version of ICE's 287(g) participating or pending agencies spreadsheet",
    "peer_dataset": "a peer dataset (The News & Observer's sharing edges)",
    "sharing_list": "a released sharing list (declared with --sharing-list)",
    "records_api": "an answer of a records or council API (MuckRock, NextRequest, "
                   "DocumentCloud, Legistar)",
    "web_page": "an agency web page that links relevant documents",
    "osm_cameras": "an OpenStreetMap ALPR camera export (GeoJSON, Overpass answer or index)",
    "word_document": "a Word document (its text is indexed for search)",
    "text_document": "a plain-text document (its text is indexed for search)",
    "pdf": "a PDF with text that no PDF parser recognises",
    "table": "a CSV that is not an audit export",
    "json": "JSON that is not an answer of a records API read here",
    "image": "an image (images are not read)",
    "unknown": "nothing recognised it (empty, binary, wrong type, unreadable, stopped)",
    **{status: f"a PDF that cannot be read ({status})" for status in (
        "not_a_pdf", "encrypted", "needs_ocr", "cid_glyphs", "too_large", "empty",
        "unreadable")},
}
PARSE_STATUSES: dict[str, str] = {
    "ok": "read in full",
    "ok_with_warnings": "read; parse_warnings says what was odd (an unknown card label shows "
                        "as layout_changed there)",
    "partial": "read in part: a portal page whose self-check failed (organisation cells not all "
               "read, a metric that is not a number) or a PDF of which some pages failed; what "
               "was read is loaded, parse_error says what did not add up",
    "blocked": "a block page or a 'retry later' answer: nothing loaded",
    "not_found": "a 'not found' page",
    "truncated": "cut short: refetch",
    "layout_changed": "no portal structure found on a portal page",
    "not_a_portal": "an HTML page that is not a portal",
    "not_recognised": "an image, a table or a file of no known kind: parse_error says what it is",
    "empty": "no bytes, only whitespace, or no rows or names",
    "wrong_type": "the name says .docx or .xlsx, the bytes are something else",
    "too_large": "over a size, page or unpacked-size limit (a zip bomb is refused here)",
    "timeout": "the parser was stopped at its time limit",
    "out_of_memory": "the parser was stopped at its memory limit",
    "needs_agency": "whose export or list it is is not in it: import it again with --agency",
    "needs_date": "a 287(g) sheet without a date in its file name: import it with --captured-at",
    "needs_ocr": "a scan without a text layer (OCR runs when ocrmypdf is installed)",
    "encrypted": "an encrypted PDF",
    "not_a_pdf": "named .pdf but not a PDF",
    "cid_glyphs": "a PDF whose text is glyph ids, not characters",
    "unreadable": "a PDF that cannot be opened",
    "unreadable_text": "an agreement PDF whose text layer cannot be read",
    "failed": "an audit PDF of which no page could be read",
    "error": "the parser failed (parse_error says how)",
}


@dataclass(frozen=True)
class PageVerdict:
    """What a fetched page is, decided before any portal parsing.

    kind: ``flock_portal`` | ``blocked`` | ``not_found`` | ``truncated`` (portal markers but no
    end of document: refetch) | ``unknown``
    layout: for portals, ``classic`` (<= Apr 2026), ``transitional`` (29-30 Apr 2026: the
    sharing list as a table of cells), ``intermediate`` (Jun 2026) or ``new``
    (data-tp-entry-type cards, Aug 2026 on); otherwise None.
    reason: one human sentence, e.g. "Cloudflare rate limit (Error 1015)".
    """

    kind: str
    layout: str | None
    reason: str


@dataclass
class AuditRow:
    """One row of a portal's embedded public search-audit CSV.

    searched_at is ISO-8601 UTC ("2026-03-12T08:26:53.735Z"); tz-naive source values are taken
    as UTC and the page gets a warning. searched_at_raw keeps the text as published.
    user_id is kept exactly as published ("***", "REDACTED" or a pseudonymous UUID).
    extra holds any column this parser does not know, so nothing is lost.
    """

    search_id: str
    user_id: str | None
    searched_at: str | None
    searched_at_raw: str | None
    network_count: int | None = None
    camera_count: int | None = None
    reason: str | None = None
    case_number: str | None = None
    offense_type: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    org_name: str | None = None  # searching organisation, when the export names it
    search_type: str | None = None
    plate_hash: str | None = None  # keyed hash of a plate column; the plate itself is never kept
    source_row: str | None = None  # "row 12" (CSV/XLSX data row) or "page 3" (PDF)


@dataclass
class Card:
    """A label/value card as it appears on the page, before normalisation (for debugging)."""

    section: str | None
    label: str
    key: str | None  # normalised field name, or data-tp-entry-type, or None when unknown
    value: str
    subtitle: str | None = None  # the grey line under the label (2026 layouts)
    entry_type: str | None = None  # data-tp-entry-type (new layout)


@dataclass
class PortalPage:
    """Everything a Flock transparency portal page says, names kept exactly as published."""

    layout: str
    agency_name: str | None = None
    last_updated: str | None = None  # ISO-8601 from the "Last Updated" span title
    overview: str | None = None
    detected: str | None = None
    not_detected: str | None = None
    # normalised policy name -> text: acceptable_use, prohibited_uses, access_policy,
    # hotlist_policy; any other policy-like card under its label as published
    policies: dict[str, str] = field(default_factory=dict)
    retention_days: int | None = None
    retention_raw: str | None = None
    # label -> days for every retention card (one page also has "Live Feed Data retention")
    retention_periods: dict[str, int | None] = field(default_factory=dict)
    cameras: int | None = None
    camera_counts: dict[str, int | None] = field(default_factory=dict)  # label -> number
    vehicles_30d: int | None = None
    hotlist_hits_30d: int | None = None
    searches_30d: int | None = None
    hotlists: list[str] = field(default_factory=list)
    # field name (retention_days, cameras, vehicles_30d, hotlist_hits_30d, searches_30d) ->
    # the value text exactly as published ("795,054", "Data Unavailable")
    metrics_raw: dict[str, str] = field(default_factory=dict)
    sharing_outbound: list[str] = field(default_factory=list)
    sharing_inbound: list[str] = field(default_factory=list)
    # the same names with their own leading/trailing spaces as published (Flock keeps edge
    # spaces in slugs as dashes: pass these to names.slug_candidates)
    sharing_outbound_raw: list[str] = field(default_factory=list)
    sharing_inbound_raw: list[str] = field(default_factory=list)
    sharing_outbound_label: str | None = None
    sharing_inbound_label: str | None = None
    additional_info: list[dict[str, Any]] = field(default_factory=list)  # {label, text, links}
    search_audit_present: bool = False
    search_audit_filename: str | None = None  # the link's download= name, as published
    search_audit_columns: list[str] = field(default_factory=list)
    search_audit: list[AuditRow] = field(default_factory=list)
    cards: list[Card] = field(default_factory=list)
    unknown_labels: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # "ok", or "partial" when the page's self-check failed: organisation cells on the page not
    # all behind a name read, or a metric that is not a number (the warnings say which)
    status: str = "ok"
    # what the self-check counted: organisation_cells (cells of the sharing tables, or pieces
    # of a classic comma-separated list), names (read, both directions), cells_rejoined,
    # metrics_not_numbers
    self_check: dict[str, Any] = field(default_factory=dict)
    # names the renderer split at a comma and the parser re-joined: {cells, name, rule}
    name_repairs: list[dict[str, Any]] = field(default_factory=list)

    def to_json_dict(self) -> dict[str, Any]:
        """The shape `alpr-inventory parse FILE --json` prints (numbers as numbers, null if
        absent)."""
        out = asdict(self)
        out.pop("cards")
        return {"kind": "flock_portal", **out}
