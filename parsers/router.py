"""One router from bytes to a tagged result: which parser reads a document, in what order.

`ROUTES` is the whole decision, read top to bottom: each `Route` names the kind it is for, a
cheap recogniser (`recognise(doc) -> bool`), the parser (`read(doc) -> Interpretation | None`;
None when the parser finds the document is not its kind after all, and the next route is
tried) and the version of the module that really reads it. The first route that reads the
document decides, and its parser's version is recorded with the document
(`Interpretation.parser`, stored in `documents.parser_version`), so a change to one parser's
version makes `reparse` read again exactly the documents that parser read.

What the user says on import (`--agency`, `--sharing-list`) is applied by `read_document`
(what a parser worker runs): a declared list skips recognition, an export that does not say
whose it is waits for `--agency` (status needs_agency); the result is then typed by content
(`typed`: parsers/doctype.py) and carries its searchable text. The result is one tagged value:
`Interpretation.record` gives the tag (`RECORD_FIELDS`) and the record, and the store has one
loader per tag. Nothing here touches the database or the network.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from parsers import pdf_documents
from parsers.agreements import agreement_pdf, ice287g, vigilant
from parsers.agreements.agreement_pdf import Agreement
from parsers.agreements.ice287g import Sheet287g, try_287g
from parsers.agreements.vigilant import VigilantReport
from parsers.doctype import classify_document
from parsers.flock import (
    audit_csv,
    audit_pdf,
    audit_xlsx,
    pagekind,
    portal,
    sharing_pdf,
    sharing_xlsx,
)
from parsers.flock.audit_csv import (
    audit_header_fields,
    looks_like_audit_header,
    parse_search_audit_csv,
)
from parsers.flock.audit_xlsx import is_xlsx, parse_audit_workbook
from parsers.flock.pagekind import classify_page
from parsers.flock.portal import PortalParseError, parse_portal
from parsers.flock.sharing_pdf import SharingReport, report_owner
from parsers.flock.sharing_xlsx import parse_sharing_workbook
from parsers.model import DOC_TYPES, PARSE_STATUSES, AuditRow, PageVerdict, PortalPage  # noqa: F401
from parsers.pdf import fulltext, pdf_status
from parsers.pdf.filetypes import check_zip, image_type, is_zip, looks_binary, named_type_mismatch
from parsers.pdf.fulltext import (
    DocumentText,
    docx_text,
    extract_text,
    is_docx,
    looks_like_html,
    looks_like_text,
)
from parsers.pdf.pdf_status import describe_bytes
from parsers.pdf_documents import interpret_pdf, is_pdf
from parsers.records import (
    RecordsPage,
    agency_site,
    osm_cameras,
    page_summary,
    peer_datasets,
    records_apis,
)
from parsers.records.agency_site import parse_page as parse_agency_page
from parsers.records.osm_cameras import OsmCameras, parse_osm_cameras
from parsers.records.peer_datasets import (
    PeerSharing,
    is_news_observer_access,
    parse_name_list,
    parse_news_observer_access,
    sniff_columns,
)
from parsers.records.records_apis import read_api_response
from parsers.text_encoding import decode_text, looks_like_utf16

log = logging.getLogger(__name__)

# Recorded with documents the router itself decides about (empty files, images, archives,
# binary data, tables and JSON of no known kind): raise it when what it recognises changes.
PARSER_VERSION = "router/1"


@dataclass
class AuditTable:
    """Search rows from an audit export (CSV, workbook or PDF), format-independent."""

    fmt: str  # audit_csv | audit_xlsx | org_audit_pdf
    columns: list[str]
    rows: list[AuditRow]
    warnings: list[str]
    csv_text: str | None = None  # audit CSVs are loaded from their text (fast path)
    names_searcher: bool = False  # rows carry the searching organisation's name

    @property
    def row_count(self) -> int:
        return len(self.rows) if self.csv_text is None else max(
            0, self.csv_text.count("\n") - 1 + (not self.csv_text.endswith("\n")))


@dataclass
class Interpretation:
    """What the parsers made of a document: one tagged result (`verdict.kind` says which of
    the optional records is set)."""

    verdict: PageVerdict
    page: PortalPage | None
    parse_status: str
    parse_error: str | None
    warnings: list[str]
    peer: PeerSharing | None = None
    audit: AuditTable | None = None
    names: list[str] | None = None  # a released list of organisations (see --sharing-list)
    sharing_report: SharingReport | None = None  # Flock "Networks Shared With Me" report
    sheet_287g: Sheet287g | None = None  # a version of ICE's 287(g) agencies spreadsheet
    vigilant: VigilantReport | None = None  # Vigilant "Agency Data Sharing Report"
    agreement: Agreement | None = None  # an agreement PDF (287(g) MOA, DMV agreement, ...)
    records: RecordsPage | None = None  # a records-portal / council API response
    encoding: str | None = None  # the text encoding read (text formats: CSV, lists, text)
    cameras: OsmCameras | None = None  # OpenStreetMap ALPR camera nodes (parsers/osm_cameras)
    parser: str | None = None  # the version of the parser that read it, e.g. "audit_csv/1"
    document_type: str | None = None  # what it is by content (parsers/doctype.py), and why
    document_type_evidence: str | None = None

    @property
    def record(self) -> tuple[str, Any] | None:
        """The tag and the record this result holds (the first of RECORD_FIELDS that is set),
        or None when nothing was read that loads facts."""
        for name in RECORD_FIELDS:
            if (value := getattr(self, name)) is not None:
                return name, value
        return None


# the records an Interpretation can hold, in the order the loader looks at them
RECORD_FIELDS = ("names", "records", "cameras", "sharing_report", "vigilant", "agreement",
                 "sheet_287g", "audit", "peer", "page")


@dataclass
class Document:
    """What the router reads: the bytes, and what the fetch and the user say about them."""

    body: bytes
    http_status: int | None = None
    headers: Mapping[str, str] | None = None
    page: PortalPage | None = None  # a portal page the spider already parsed
    hash_plate: Callable[[str], str] | None = None
    bulk: bool = False  # loading: audit CSV rows are mapped in SQL, not parsed here
    name: str | None = None  # the file name (or URL path) it came under
    progress: Callable[[int, int], None] | None = None
    url: str | None = None

    @cached_property
    def columns(self) -> list[str] | None:
        return sniff_columns(self.body)

    @cached_property
    def page_verdict(self) -> PageVerdict:
        return classify_page(self.body, self.http_status, self.headers)

    @property
    def named_pdf(self) -> bool:
        return (self.name or "").lower().endswith(".pdf")


@dataclass(frozen=True)
class Route:
    kind: str
    recognise: Callable[[Document], bool]
    read: Callable[[Document], Interpretation | None]
    version: str


def _result(kind: str, layout: str | None, reason: str | None, status: str,
            error: str | None = None, warnings: list[str] | None = None,
            **records: object) -> Interpretation:
    return Interpretation(PageVerdict(kind, layout, reason), None, status, error,
                          warnings or [], **records)  # type: ignore[arg-type]


# ---- recognisers and parsers, in the order of ROUTES ---------------------------------------
def _is_empty(doc: Document) -> bool:
    status_ok = doc.http_status is None or 200 <= doc.http_status < 300
    return not doc.body.strip() and status_ok and not _header(doc.headers, "cf-mitigated")


def _empty(doc: Document) -> Interpretation:
    # whatever its name: an empty .pdf, .csv or .html is just as empty
    reason = ("the file is zero bytes long" if not doc.body else
              f"only whitespace ({len(doc.body)} bytes)")
    return _result("unknown", None, reason, "empty", reason)


def _by_container(doc: Document) -> Interpretation | None:
    """What the first bytes settle before any parser runs: images, ZIP containers too big to
    open (zip bombs), a name that promises a format the bytes are not, binary data."""
    body, name = doc.body, doc.name
    if doc.named_pdf and not is_pdf(body):
        return None  # the PDF check says what a file named .pdf is instead (not_a_pdf)
    if (mismatch := named_type_mismatch(name, body)) is not None:
        return _result("unknown", None, mismatch, "wrong_type", mismatch)
    if (image := image_type(body[:64])) is not None:
        reason = f"a {image} image, not a recognised document (images are not read)"
        return _result("image", image.lower(), reason, "not_recognised", reason)
    if is_zip(body):
        check = check_zip(body)
        if not check.ok:
            return _result("unknown", "zip", check.reason,
                           "too_large" if "refused" in check.reason else "error", check.reason)
    head = body[:4096]
    if (looks_binary(head) and not is_pdf(body) and not is_zip(body)
            and not head.startswith((b"\xff\xfe", b"\xfe\xff")) and not looks_like_utf16(head)):
        reason = f"{describe_bytes(body[:1024])}: not a recognised document"
        return _result("unknown", None, reason, "not_recognised", reason)
    return None


def _pdf(doc: Document) -> Interpretation:
    """A PDF (or a file named .pdf): checked, recognised by its first page, and read by the
    PDF parser for its kind (parsers/pdf_documents.py says which; each records its version)."""
    if not is_pdf(doc.body):  # named .pdf but is not one: say what it is
        check = pdf_status.pdf_status(doc.body)
        interp = _result(check.status, "pdf", check.reason, check.status, check.reason)
        interp.parser = pdf_status.PARSER_VERSION
        return interp
    result = interpret_pdf(doc.body, doc.hash_plate, doc.progress,
                           Path(doc.name).name if doc.name else None)
    verdict = PageVerdict(result.kind, "pdf", result.reason or f"{result.kind} PDF "
                          f"({result.pages} pages)")
    if result.kind == "audit_export":
        table = AuditTable("org_audit_pdf", result.audit_columns, result.audit_rows,
                           result.warnings, names_searcher=all(
                               r.org_name for r in result.audit_rows))
        return Interpretation(verdict, None, result.status, result.reason, result.warnings,
                              audit=table, parser=result.parser)
    return Interpretation(verdict, None, result.status, result.reason, result.warnings,
                          sharing_report=result.sharing, vigilant=result.vigilant,
                          agreement=result.agreement, parser=result.parser)


def _sheet_287g(doc: Document) -> Interpretation | None:
    if (sheet := try_287g(doc.body, doc.name)) is None:
        return None
    verdict = PageVerdict("ice_287g_sheet", sheet.kind,
                          f"ICE 287(g) {sheet.kind} agencies, {sheet.sheet_date}")
    problems = sheet.warnings + [f"row {u.row_number}: {u.reason}" for u in sheet.unread_rows]
    if not sheet.sheet_date:
        return Interpretation(verdict, None, "needs_date", "the version's date is not in "
                              "the file name: import it with --captured-at", problems)
    return Interpretation(verdict, None, "ok_with_warnings" if problems else "ok", None,
                          problems, sheet_287g=sheet)


def _sharing_workbook(doc: Document) -> Interpretation | None:
    try:
        report = parse_sharing_workbook(doc.body)
    except Exception:  # unreadable workbook: the audit-workbook route reports it
        return None
    if report is None:
        return None
    verdict = PageVerdict("sharing_report", "xlsx",
                          f"Flock shared-networks export ({len(report.rows)} organisations)")
    status = "ok_with_warnings" if report.warnings else "ok"
    return Interpretation(verdict, None, status, None, report.warnings, sharing_report=report)


def _word_document(doc: Document) -> Interpretation:
    """A Word (.docx) document: its text is extracted for search; nothing else reads it."""
    text = docx_text(doc.body)
    if text.status == "ok":
        return _result("word_document", "docx", f"a Word document ({text.chars:,} "
                       "characters of text, indexed for search)", "ok")
    status = {"empty": "empty", "too_large": "too_large"}.get(text.status, "error")
    reason = {"empty": "a Word document without text",
              "too_large": "a Word document too large to unpack (possible zip bomb)"}.get(
        text.status, "a Word file whose text cannot be read (no word/document.xml)")
    return _result("word_document", "docx", reason, status, reason)


def _other_zip(doc: Document) -> Interpretation:
    reason = ("a ZIP archive that is not a workbook or a Word document: unpack it and import "
              "its files")
    return _result("unknown", "zip", reason, "not_recognised", reason)


def _audit_workbook(doc: Document) -> Interpretation:
    try:
        book = parse_audit_workbook(doc.body, doc.hash_plate)
    except Exception as exc:  # a corrupt workbook must not stop an import of many files
        reason = f"unreadable workbook: {exc}"
        return _result("unknown", "xlsx", reason, "error", reason)
    if not book.sheets:
        reason = "workbook without an audit sheet"
        return _result("unknown", "xlsx", reason, "not_recognised", reason, book.warnings)
    table = AuditTable("audit_xlsx", [c for s in book.sheets for c in book.columns[s]],
                       book.rows, book.warnings,
                       names_searcher=all(r.org_name for r in book.rows))
    return audit_interpretation(table)


def _records_api(doc: Document) -> Interpretation | None:
    if (read := read_api_response(doc.body, doc.url)) is None:
        return None
    records, version = read
    verdict = PageVerdict("records_api", records.source, page_summary(records))
    if records.throttled:
        return Interpretation(verdict, None, "blocked", "a 'retry later' answer, not data",
                              records.warnings, parser=version)
    status = "ok_with_warnings" if records.warnings else "ok"
    return Interpretation(verdict, None, status, None, records.warnings, records=records,
                          parser=version)


def _json(doc: Document) -> Interpretation | None:
    """For JSON that no records-API parser took: what it is, in a sentence."""
    body = doc.body
    if body[:64].lstrip()[:1] not in (b"{", b"[") or len(body) > 64 * 1024 * 1024:
        return None
    try:
        json.loads(body)
    except RecursionError:
        what = "JSON nested too deeply to read: not a recognised document"
    except ValueError:
        return None
    else:
        what = "JSON data that is not an answer of a records API this tool reads"
    return _result("json", None, what, "not_recognised", what)


def _is_audit_csv(doc: Document) -> bool:
    return bool(doc.columns) and looks_like_audit_header(doc.columns)


def _audit_csv(doc: Document) -> Interpretation:
    text, encoding = decode_text(doc.body)
    columns = doc.columns or []
    names = "org_name" in audit_header_fields(columns)
    if doc.bulk:  # loading: rows are mapped in SQL, no Python object per row
        table = AuditTable("audit_csv", columns, [], [], text, names)
    else:
        cols, rows, warnings = parse_search_audit_csv(text, doc.hash_plate)
        table = AuditTable("audit_csv", cols, rows, warnings, None, names)
    interp = audit_interpretation(table)
    interp.encoding = encoding
    return interp


def _peer(doc: Document) -> Interpretation:
    peer = parse_news_observer_access(doc.body)
    status = "ok_with_warnings" if peer.warnings else "ok"
    return _result("peer_dataset", peer.dataset, "News & Observer sharing edges", status, None,
                   peer.warnings, peer=peer, encoding=decode_text(doc.body[:65536])[1])


def _page_is(*kinds: str) -> Callable[[Document], bool]:
    return lambda doc: doc.page_verdict.kind in kinds


def _page_status(doc: Document) -> Interpretation:
    """A block page, a 'not found' page or a page cut short: recognised before any portal
    parsing, so it can never become portal data."""
    verdict = doc.page_verdict
    status = "blocked" if verdict.kind == "blocked" else verdict.kind
    return Interpretation(verdict, None, status, verdict.reason, [])


def _agency_page(doc: Document) -> Interpretation | None:
    if (links := parse_agency_page(doc.body, doc.url)) is None:
        return None
    return _result("web_page", None, f"web page linking {len(links.files)} relevant documents",
                   "ok", records=links)


def _is_unknown_table(doc: Document) -> bool:
    return doc.page_verdict.kind == "unknown" and bool(doc.columns) and _looks_tabular(doc.body)


def _table(doc: Document) -> Interpretation:
    return _result("table", "csv", "a CSV that is not an audit export", "not_recognised",
                   "a CSV that is not an audit export: if it is a released sharing list, "
                   "import it with --sharing-list inbound|outbound --agency NAME",
                   encoding=decode_text(doc.body[:65536])[1])


def _is_text(doc: Document) -> bool:
    return (doc.page_verdict.kind == "unknown" and looks_like_text(doc.body)
            and not looks_like_html(doc.body))


def _text(doc: Document) -> Interpretation:
    return _result("text_document", None, "a plain-text document", "ok",
                   encoding=decode_text(doc.body[:65536])[1])


def _is_unknown_bytes(doc: Document) -> bool:
    return doc.page_verdict.kind == "unknown" and not looks_like_html(doc.body)


def _unknown(doc: Document) -> Interpretation:
    reason = f"{describe_bytes(doc.body[:1024])}: not a recognised document"
    return _result("unknown", None, reason, "not_recognised", reason)


def _not_a_portal(doc: Document) -> Interpretation:
    verdict = doc.page_verdict
    return Interpretation(verdict, None, "not_a_portal", verdict.reason, [])


def _portal(doc: Document) -> Interpretation:
    verdict, page = doc.page_verdict, doc.page
    if page is None:
        try:
            page = parse_portal(doc.body)
        except PortalParseError as exc:
            return Interpretation(verdict, None, exc.status, str(exc), [])
        except Exception as exc:  # a parser bug must not kill a run of thousands of pages
            log.exception("parser crashed on a portal page")
            return Interpretation(verdict, None, "error", f"{type(exc).__name__}: {exc}", [])
    warnings = list(page.warnings)
    for label in page.unknown_labels:
        marker = f"layout_changed: unknown card label {label!r}"
        if marker not in warnings:
            warnings.append(marker)
    # a failed self-check (cells not all read, a metric that is not a number): the facts read
    # are loaded, and the document says it was read in part
    status = "partial" if page.status == "partial" else (
        "ok_with_warnings" if warnings else "ok")
    error = next((w for w in warnings if w.startswith("self-check:")), None)
    return Interpretation(verdict, page, status, error, warnings)


def _osm_cameras(doc: Document) -> Interpretation | None:
    """An OpenStreetMap ALPR camera export (GeoJSON, Overpass answer or the snapshot's index)."""
    if (cams := parse_osm_cameras(doc.body)) is None:
        return None
    where = f", {cams.state_name}" if cams.state_name else ""
    layout, reason = "geojson", f"OpenStreetMap ALPR cameras ({len(cams.cameras)} nodes{where})"
    if cams.index:
        listed = sum(int(s["count"] or 0) for s in cams.index)
        layout, reason = "index", (f"index of OpenStreetMap ALPR camera exports: "
                                   f"{len(cams.index)} states, {listed} nodes listed")
    return _result("osm_cameras", layout, reason, "ok_with_warnings" if cams.warnings else "ok",
                   None, cams.warnings, cameras=cams)


def _looks_json(doc: Document) -> bool:
    return doc.body[:64].lstrip()[:1] in (b"{", b"[")


def _always(doc: Document) -> bool:
    return True


ROUTES: tuple[Route, ...] = (
    Route("empty", _is_empty, _empty, PARSER_VERSION),
    Route("container", _always, _by_container, PARSER_VERSION),
    Route("pdf", lambda d: is_pdf(d.body) or d.named_pdf, _pdf, pdf_documents.PARSER_VERSION),
    Route("ice_287g_sheet", lambda d: is_xlsx(d.body), _sheet_287g, ice287g.PARSER_VERSION),
    Route("sharing_report", lambda d: is_xlsx(d.body), _sharing_workbook,
          sharing_xlsx.PARSER_VERSION),
    Route("word_document", lambda d: is_docx(d.body), _word_document, fulltext.PARSER_VERSION),
    Route("zip", lambda d: is_zip(d.body) and not is_xlsx(d.body), _other_zip, PARSER_VERSION),
    Route("audit_export", lambda d: is_xlsx(d.body), _audit_workbook, audit_xlsx.PARSER_VERSION),
    Route("records_api", lambda d: bool(d.url), _records_api, records_apis.PARSER_VERSION),
    Route("osm_cameras", _looks_json, _osm_cameras, osm_cameras.PARSER_VERSION),
    Route("json", _always, _json, PARSER_VERSION),
    Route("audit_export", _is_audit_csv, _audit_csv, audit_csv.PARSER_VERSION),
    Route("peer_dataset", lambda d: is_news_observer_access(d.columns), _peer,
          peer_datasets.PARSER_VERSION),
    Route("blocked", _page_is("blocked", "not_found", "truncated"), _page_status,
          pagekind.PARSER_VERSION),
    Route("web_page", lambda d: d.page_verdict.kind != "flock_portal", _agency_page,
          agency_site.PARSER_VERSION),
    Route("table", _is_unknown_table, _table, PARSER_VERSION),
    Route("text_document", _is_text, _text, fulltext.PARSER_VERSION),
    Route("unknown", _is_unknown_bytes, _unknown, PARSER_VERSION),
    Route("unknown", lambda d: d.page_verdict.kind != "flock_portal", _not_a_portal,
          pagekind.PARSER_VERSION),
    Route("flock_portal", _always, _portal, portal.PARSER_VERSION),
)

# every version a document can be recorded with, by parser name ("audit_csv" -> "audit_csv/1")
PARSER_VERSIONS: dict[str, str] = {
    v.split("/")[0]: v for v in (
        *(r.version for r in ROUTES), *(s.PARSER_VERSION for s in records_apis.SOURCES),
        *(m.PARSER_VERSION for m in (pdf_status, audit_pdf, sharing_pdf, vigilant,
                                     agreement_pdf)))}


def is_current(version: str | None) -> bool:
    """Whether a recorded parser version is the current version of that parser."""
    return bool(version) and PARSER_VERSIONS.get(version.split("/")[0]) == version


def interpret(
    body: bytes,
    http_status: int | None = None,
    headers: Mapping[str, str] | None = None,
    page: PortalPage | None = None,
    hash_plate: Callable[[str], str] | None = None,
    bulk: bool = False,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    url: str | None = None,
) -> Interpretation:
    """Recognise a document by its content and read it with the parser for its kind (the
    first route of `ROUTES` that reads it).

    Plates in audit exports go through ``hash_plate``; without it they are dropped, so nothing
    here ever returns a plate in clear. Block pages and 'not found' pages are recognised before
    any portal parsing, so they can never become portal data.
    """
    doc = Document(body, http_status, headers, page, hash_plate, bulk, name, progress, url)
    for route in ROUTES:
        if route.recognise(doc) and (interp := route.read(doc)) is not None:
            if interp.parser is None:
                interp.parser = route.version
            return interp
    raise AssertionError("the last route reads every document")  # pragma: no cover


def declared_list(body: bytes, direction: str, agency: str | None) -> Interpretation:
    """A file the user declares to be a released sharing list of `agency` (--sharing-list)."""
    verdict = PageVerdict("sharing_list", direction, f"released {direction} sharing list")
    version = peer_datasets.PARSER_VERSION  # parse_name_list reads it
    if direction not in ("inbound", "outbound"):
        return Interpretation(verdict, None, "error", "--sharing-list is inbound or outbound",
                              [], parser=version)
    if not agency:
        return Interpretation(verdict, None, "needs_agency",
                              "a sharing list needs --agency (whose list it is)", [],
                              parser=version)
    names, warnings = parse_name_list(body)
    encoding = decode_text(body[:65536])[1]
    if not names:
        return Interpretation(verdict, None, "empty", "no organisation names found", warnings,
                              encoding=encoding, parser=version)
    status = "ok_with_warnings" if warnings else "ok"
    return Interpretation(verdict, None, status, None, warnings, names=names,
                          encoding=encoding, parser=version)


def require_agency(interp: Interpretation, agency: str | None) -> Interpretation:
    """An audit export whose rows do not name the searching agency, or a sharing export whose
    owner the report does not show, needs the user to say whose it is: refuse to load it
    (status needs_agency) rather than store facts about nobody, or about the wrong agency."""
    if interp.sharing_report is not None and not agency:
        owner, why = report_owner(interp.sharing_report)
        if owner is None:
            return Interpretation(
                interp.verdict, None, "needs_agency",
                f"whose sharing export this is cannot be told from it ({why}): import it "
                "again with --agency 'NAME'", interp.warnings, parser=interp.parser)
        return interp
    if interp.audit is None or agency or interp.audit.names_searcher:
        return interp
    return Interpretation(
        interp.verdict, None, "needs_agency",
        "this audit export does not name the searching agency: import it again with "
        "--agency 'NAME' (the agency whose export it is)", interp.warnings,
        parser=interp.parser)


def audit_interpretation(table: AuditTable) -> Interpretation:
    verdict = PageVerdict("audit_export", table.fmt,
                          f"search audit export ({table.row_count} rows)")
    if not table.row_count:
        return Interpretation(verdict, None, "empty", "audit export without rows",
                              table.warnings, audit=table)
    status = "ok_with_warnings" if table.warnings else "ok"
    return Interpretation(verdict, None, status, None, table.warnings, audit=table)


# kinds whose text is searchable elsewhere (portal snapshots, searches) or is not prose
NO_TEXT_KINDS = frozenset({"flock_portal", "blocked", "not_found", "truncated", "records_api",
                           "peer_dataset", "sharing_list", "ice_287g_sheet"})


def document_text(body: bytes, interp: Interpretation,
                  http_status: int | None = None) -> DocumentText | None:
    """Full text for search: every PDF, and Word, HTML and text documents that are not
    portal pages, API responses or data files. Error pages (HTTP 4xx/5xx) are not indexed.
    Audit exports are not either: their rows are in `searches` (with plates masked), while
    their text would hold the plates and reasons in clear."""
    if http_status is not None and not 200 <= http_status < 300:
        return None
    if interp.audit is not None:
        return None
    if is_pdf(body):
        return extract_text(body)
    if interp.verdict.kind in NO_TEXT_KINDS:
        return None
    return extract_text(body)


def read_document(hash_plate: Callable[[str], str] | None, body: bytes,
                  http_status: int | None, headers: Mapping[str, str] | None,
                  page: PortalPage | None, agency: str | None, sharing_list: str | None,
                  name: str | None, url: str | None,
                  progress: Callable[[int, int], None] | None = None,
                  ) -> tuple[Interpretation, DocumentText | None]:
    """`interpret` plus what the user said on import (--agency, --sharing-list), and the
    document's searchable text: what a parser worker does with one document."""
    if sharing_list:
        interp = declared_list(body, sharing_list, agency)
    else:
        interp = require_agency(interpret(body, http_status, headers, page, hash_plate,
                                          bulk=True, name=name, progress=progress, url=url),
                                agency)
    text = document_text(body, interp, http_status)
    return typed(interp, text), text


def typed(interp: Interpretation, text: DocumentText | None) -> Interpretation:
    """The interpretation with its document type by content (portal page, audit export, ALPR
    policy, 287(g) MOA, ...: parsers/doctype.py) and the evidence that decided."""
    agreement_type = interp.agreement.doc_type if interp.agreement else None
    interp.document_type, interp.document_type_evidence = classify_document(
        interp.verdict.kind, agreement_type, text.text if text else None, interp.parse_status)
    return interp


def _looks_tabular(body: bytes) -> bool:
    """CSV rather than prose: the first lines all split into the same number (>= 2) of fields."""
    lines = [x for x in decode_text(body[:8192])[0].splitlines()[:6] if x.strip()]
    if len(lines) < 2:
        return False
    widths = {len(row) for row in csv.reader(io.StringIO("\n".join(lines[:-1])))}
    return len(widths) == 1 and widths.pop() >= 2


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


__all__ = ["ROUTES", "AuditTable", "Document", "Interpretation", "Route", "declared_list",
           "document_text", "interpret", "is_current", "read_document", "require_agency"]
