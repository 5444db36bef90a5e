"""Plain text of a document for full-text search: PDFs, Word files, HTML pages, text files.

PDF text comes from the text layer (pypdfium2) in a child process with a time and memory limit,
pages closed as they are read, so a hostile or huge PDF costs a status, never the run. A scan
without a text layer yields status `empty` (its parse status says needs_ocr). Email addresses
are masked in the searchable text (requesters' addresses appear in released letters); the
original bytes stay in the archive.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from parsers.pdf.filetypes import check_zip, looks_binary
from parsers.pdf.pdf_worker import PdfJobError, run_limited, scratch_dir
from parsers.text_encoding import decode_text, looks_like_utf16

# Recorded with every document this parser reads (Word and plain-text documents (text for search)):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "fulltext/1"

MAX_CHARS = 2_000_000
PDF_TIMEOUT_S = 120.0
PDF_MEMORY_MB = 1024.0
MAX_PDF_BYTES = 200 * 1024 * 1024
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@dataclass
class DocumentText:
    text: str
    chars: int  # before the cut
    pages: int | None
    method: str  # pdf_text_layer | docx | html | plain | none
    status: str  # ok | empty | too_large | timeout | memory | error
    truncated: bool = False


def _tidy(text: str) -> str:
    text = _EMAIL.sub("[email]", text.replace("\x00", ""))
    return _BLANK_LINES.sub("\n\n", _SPACES.sub(" ", text)).strip()


def _result(text: str, pages: int | None, method: str) -> DocumentText:
    raw_cut = len(text) > 2 * MAX_CHARS  # tidying 200 MB of text would take longer than it is worth
    text = _tidy(text[:2 * MAX_CHARS])
    cut = raw_cut or len(text) > MAX_CHARS
    return DocumentText(text[:MAX_CHARS], len(text), pages, method,
                        "ok" if text else "empty", cut)


def _pdf_pages_text(path: str) -> tuple[list[str], int]:
    """Runs in the child: every page's text layer, each page closed when read."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(path)
    try:
        out: list[str] = []
        total = 0
        for index in range(len(doc)):
            page = doc[index]
            try:
                textpage = page.get_textpage()
                try:
                    text = textpage.get_text_range()
                finally:
                    textpage.close()
            finally:
                page.close()
            out.append(text)
            total += len(text)
            if total > MAX_CHARS * 2:  # enough for search: stop reading a giant export
                break
        return out, len(doc)
    finally:
        doc.close()


def pdf_text(body: bytes, timeout_s: float = PDF_TIMEOUT_S,
             memory_mb: float = PDF_MEMORY_MB) -> DocumentText:
    if len(body) > MAX_PDF_BYTES:
        return DocumentText("", 0, None, "pdf_text_layer", "too_large")
    with scratch_dir("text") as tmp:
        path = Path(tmp) / "document.pdf"
        path.write_bytes(body)
        try:
            pages, count = run_limited(_pdf_pages_text, str(path), timeout_s=timeout_s,
                                       memory_mb=memory_mb)
        except PdfJobError as exc:
            status = exc.status if exc.status in ("timeout", "memory") else "error"
            return DocumentText("", 0, None, "pdf_text_layer", status)
    return _result("\n\n".join(pages), count, "pdf_text_layer")


def docx_text(body: bytes) -> DocumentText:
    if not check_zip(body).ok:  # a zip bomb is never inflated
        return DocumentText("", 0, None, "docx", "too_large")
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            xml = zf.read("word/document.xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError):
        return DocumentText("", 0, None, "docx", "error")
    xml = re.sub(r"</w:p>", "\n", xml)
    xml = re.sub(r"<w:tab/>", "\t", xml)
    text = re.sub(r"<[^>]+>", "", xml)
    import html

    return _result(html.unescape(text), None, "docx")


def html_text(body: bytes) -> DocumentText:
    import lxml.html

    try:
        root = lxml.html.fromstring(body)
    except (ValueError, lxml.etree.ParserError):
        return DocumentText("", 0, None, "html", "error")
    for bad in root.xpath("//script|//style|//noscript|//template"):
        bad.drop_tree()
    for block in root.xpath("//p|//div|//li|//tr|//h1|//h2|//h3|//h4|//br|//section"):
        block.tail = "\n" + (block.tail or "")
    return _result(root.text_content(), None, "html")


def is_docx(body: bytes) -> bool:
    return body[:4] == b"PK\x03\x04" and b"word/" in body[:4096]


def looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html")) or b"<html" in head


def looks_like_text(body: bytes) -> bool:
    """Text in an encoding we read (UTF-8, UTF-16 with a BOM, cp1252 / latin-1), not binary."""
    sample = body[:4096]
    if not sample:
        return False
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")) or looks_like_utf16(sample):
        return True
    return not looks_binary(sample)


def extract_text(body: bytes) -> DocumentText | None:
    """The document's text, or None for kinds that are not indexed as text (spreadsheets,
    images, JSON API responses)."""
    if body[:1024].lstrip().startswith(b"%PDF"):
        return pdf_text(body)
    if is_docx(body):
        return docx_text(body)
    if looks_like_html(body):
        return html_text(body)
    head = body[:64].lstrip()
    if head[:1] in (b"{", b"[") or not looks_like_text(body):
        return None
    return _result(decode_text(body[:4 * MAX_CHARS])[0], None, "plain")
