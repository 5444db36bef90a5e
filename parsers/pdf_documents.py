"""PDF documents: check the file, recognise what it is by its first page, parse in workers.

Glue between the pure PDF parsers (parsers/pdf_status, audit_pdf, sharing_pdf) and the ingest
path. A PDF that cannot be read gets its own status (encrypted, truncated, needs_ocr, ...),
never an empty result. A scanned PDF goes through OCR when ocrmypdf is installed.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2 as pdfium

from parsers.agreements import agreement_pdf
from parsers.agreements import vigilant as vigilant_pdf
from parsers.agreements.agreement_pdf import Agreement, parse_agreement
from parsers.agreements.vigilant import VigilantReport, parse_vigilant_sharing_report
from parsers.document_dates import pdf_date
from parsers.flock import audit_pdf, sharing_pdf
from parsers.flock.audit_pdf import AuditRecord, is_org_audit, parse_org_audit
from parsers.flock.sharing_pdf import SharingReport, is_sharing_report, parse_sharing_report
from parsers.model import AuditRow
from parsers.pdf import pdf_status as pdf_checks
from parsers.pdf.pdf_status import ocr_available, pdf_status, run_ocr

# Recorded with every document this parser reads (PDFs of no kind the PDF parsers know):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "pdf_documents/1"

log = logging.getLogger(__name__)


@dataclass
class PdfResult:
    kind: str  # audit_export | sharing_report | pdf (unrecognised) | a pdf_status status
    status: str  # parse status for the documents table
    reason: str | None = None
    pages: int = 0
    audit_rows: list[AuditRow] = field(default_factory=list)
    audit_columns: list[str] = field(default_factory=list)
    sharing: SharingReport | None = None
    vigilant: VigilantReport | None = None
    agreement: Agreement | None = None
    warnings: list[str] = field(default_factory=list)
    parser: str = PARSER_VERSION  # the version of the parser that read it


def is_pdf(body: bytes) -> bool:
    return body[:1024].lstrip().startswith(b"%PDF")


def _first_page_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        page = doc[0]
        textpage = page.get_textpage()
        try:
            return textpage.get_text_range()
        finally:
            textpage.close()
            page.close()
    finally:
        doc.close()


def _pdf_title_and_created(path: Path) -> tuple[str | None, str | None]:
    """The PDF's own Title and CreationDate (ISO UTC): what dates an export printed to PDF
    (the Okaloosa sharing report's Title is the CSV it printed,
    'SharedNetworks_2025_December_29.csv')."""
    try:
        doc = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError:
        return None, None
    try:
        meta = doc.get_metadata_dict()
    finally:
        doc.close()
    return (meta.get("Title") or "").strip() or None, pdf_date(meta.get("CreationDate"))


def to_audit_row(record: AuditRecord, hash_plate: Callable[[str], str] | None) -> AuditRow:
    """An audit PDF row in the shape every other audit source has; a plate becomes its hash."""
    extra = {k: v for k, v in record.extra.items() if v is not None}
    plate = (extra.pop("license_plate", None) or "").strip()
    for key, value in (("time_frame", record.time_frame_raw),
                       ("time_frame_start", record.time_frame_start),
                       ("time_frame_end", record.time_frame_end),
                       ("moderation", record.moderation)):
        if value:
            extra[key] = value
    case = extra.pop("case_number", None)
    return AuditRow(
        search_id=record.search_id or "", user_id=extra.pop("name", None),
        searched_at=record.searched_at, searched_at_raw=record.searched_at_raw,
        network_count=record.networks_searched, camera_count=record.devices_searched,
        reason=record.reason, case_number=case, offense_type=None, extra=extra,
        org_name=record.org_name, search_type=record.search_type,
        plate_hash=hash_plate(plate) if plate and hash_plate else None,
        source_row=f"page {record.page}")


def interpret_pdf(body: bytes, hash_plate: Callable[[str], str] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  name: str | None = None) -> PdfResult:
    with tempfile.TemporaryDirectory(prefix="alpr-pdf-") as tmp:
        path = Path(tmp) / "document.pdf"
        path.write_bytes(body)
        check = pdf_status(path)
        if check.status == "needs_ocr" and ocr_available():
            ocred = Path(tmp) / "ocr.pdf"
            if run_ocr(path, ocred):
                path, check = ocred, pdf_status(ocred)
        if not check.ok:
            return PdfResult(check.status, check.status, check.reason, check.pages or 0,
                             parser=pdf_checks.PARSER_VERSION)
        first = _first_page_text(path)
        if is_org_audit(first):
            export = parse_org_audit(path, workers=2, progress=progress)
            rows = [to_audit_row(r, hash_plate) for r in export.records if r.search_id]
            status = {"ok": "ok_with_warnings" if export.warnings else "ok",
                      "partial": "partial"}.get(export.status, export.status)
            if not rows and status.startswith("ok"):
                status = "empty"
            return PdfResult("audit_export", status, None if status.startswith("ok") else
                             "; ".join(export.warnings[:3]), export.pages, rows,
                             export.columns, None, export.warnings,
                             parser=audit_pdf.PARSER_VERSION)
        if is_sharing_report(first):
            report = parse_sharing_report(path)
            report.title, report.created = _pdf_title_and_created(path)
            status = "ok_with_warnings" if report.warnings else "ok"
            if report.status != "ok":
                status = report.status
            return PdfResult("sharing_report", status, None if report.status == "ok" else
                             "; ".join(report.warnings[:3]), report.pages, sharing=report,
                             warnings=report.warnings, parser=sharing_pdf.PARSER_VERSION)
        if re.search(r"Data\s*Sharing\s*Report", first, re.I) and re.search(
                r"Agency\s*is\s*(?:Sharing|Receiving)", first, re.I):
            report = parse_vigilant_sharing_report(path)
            if report.status == "ok":
                return PdfResult("vigilant_sharing_report", "ok_with_warnings" if report.warnings
                                 else "ok", None, report.pages, vigilant=report,
                                 warnings=report.warnings, parser=vigilant_pdf.PARSER_VERSION)
        agreement = parse_agreement(path, filename=name)
        if agreement.status != "not_an_agreement":
            status = {"ok": "ok", "partial": "partial"}.get(agreement.status, agreement.status)
            return PdfResult("agreement", status, None if status == "ok" else
                             "; ".join(agreement.warnings[:3]) or agreement.status,
                             agreement.pages, agreement=agreement, warnings=agreement.warnings,
                             parser=agreement_pdf.PARSER_VERSION)
        return PdfResult("pdf", "not_recognised", "a PDF with text that is not a Flock audit "
                         "export, a sharing report or an agreement", check.pages or 0)
