"""Decide whether a PDF can be parsed at all, before any parser touches it.

Records releases arrive as anything: an HTML error page saved as ``.pdf``, a download cut off
half way, a password-protected file, a scan without a text layer, or a text layer of ``(cid:NN)``
codes. A table parser fed any of these returns nothing, and "no rows" would read as "no
searches". So each file gets a status first, with a reason a person can act on.

The check is cheap on purpose: it reads the first and last few KB of the bytes, lets pdfium open
the document (which reads the cross-reference table and the page tree, not the pages), and
looks at the text layer of a few sampled pages only (first, middle, last). The ``(cid:NN)`` test
runs pdfminer (through pdfplumber) on one sampled page, because ``(cid:NN)`` is what pdfminer
produces for glyphs without a Unicode mapping.

Statuses: ``ok``, ``empty``, ``not_a_pdf``, ``encrypted``, ``truncated``, ``too_large``,
``needs_ocr``, ``cid_glyphs``, and ``unreadable`` (the file could not be read: missing, no
permission).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from parsers.pdf.pdf_worker import die_with_parent

# Recorded with every document this parser reads (PDFs that cannot be read):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "pdf_status/1"

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PAGES",
    "PdfCheck",
    "STATUSES",
    "describe_bytes",
    "ocr_available",
    "pdf_status",
    "run_ocr",
]

STATUSES = ("ok", "empty", "not_a_pdf", "encrypted", "truncated", "too_large", "needs_ocr",
            "cid_glyphs", "unreadable")
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_MAX_PAGES = 20_000
_HEAD = 1024  # the PDF header may follow some junk, but within the first 1 KB (PDF 1.7 annex H)
_TAIL = 4096  # writers may append a little after %%EOF
_CID_RE = re.compile(r"^\(cid:\d+\)$")
_STARTXREF_RE = re.compile(rb"startxref\s+(\d+)\s*%%EOF", re.S)
_XREF_AT_RE = re.compile(rb"\s*(?:xref\b|\d+\s+\d+\s+obj\b)")
_TITLE_RE = re.compile(rb"<title[^>]*>(.*?)</title", re.I | re.S)
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (or a .docx/.xlsx, which are ZIP files)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"\xd0\xcf\x11\xe0", "an OLE2 file (legacy .doc/.xls/.msg)"),
    (b"{\\rtf", "an RTF document"),
    (b"%!PS", "a PostScript file"),
)


@dataclass(frozen=True, slots=True)
class PdfCheck:
    """The verdict on one file: ``status`` (see STATUSES), why, and the page count if known."""

    status: str
    reason: str
    pages: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def describe_bytes(head: bytes) -> str:
    """Say what non-PDF bytes look like, so the record says "an HTML page", not just "bad"."""
    data = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    stripped = data.lstrip()
    lower = stripped[:512].lower()
    if lower.startswith((b"<!doctype html", b"<html")) or b"<html" in lower or b"<head" in lower:
        match = _TITLE_RE.search(data)
        if match:
            title = " ".join(match.group(1).decode("utf-8", "replace").split())[:80]
            return f"an HTML page (title {title!r})"
        return "an HTML page"
    if lower.startswith(b"<?xml"):
        return "an XML document"
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    if stripped[:1] in (b"{", b"["):
        return "JSON or other text data"
    if not stripped:
        return "only whitespace"
    sample = stripped[:200]
    if all(b in b"\t\r\n" or 32 <= b < 127 or b >= 128 for b in sample):
        text = sample.decode("utf-8", "replace")
        if "\ufffd" not in text:
            return f"plain text starting {' '.join(text.split())[:40]!r}"
    return f"unrecognised binary data (first bytes {data[:8].hex()})"


def _read_ends(source: str | os.PathLike[str] | bytes, size: int) -> tuple[bytes, bytes]:
    """The first and the last few KB: enough to judge the header and the trailer."""
    if isinstance(source, bytes):
        return source[:_HEAD], source[-_TAIL:]
    with open(source, "rb") as fh:
        head = fh.read(_HEAD)
        fh.seek(max(0, size - _TAIL))
        tail = fh.read(_TAIL)
    return head, tail


def _bytes_at(source: str | os.PathLike[str] | bytes, offset: int, n: int = 32) -> bytes:
    if isinstance(source, bytes):
        return source[offset:offset + n]
    with open(source, "rb") as fh:
        fh.seek(offset)
        return fh.read(n)


def _open_error(exc: pdfium.PdfiumError) -> PdfCheck:
    code = getattr(exc, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return PdfCheck("encrypted", "the document is encrypted and needs a password")
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return PdfCheck("encrypted", "the document uses an unsupported security handler")
    if code == pdfium_c.FPDF_ERR_FILE:
        return PdfCheck("unreadable", f"the file could not be opened ({exc})")
    return PdfCheck("truncated", f"the document structure is broken and cannot be opened ({exc})")


def _sample_indices(pages: int, sample: int) -> list[int]:
    if pages <= sample:
        return list(range(pages))
    picks = {0, pages - 1}
    for k in range(1, max(1, sample - 1)):
        picks.add(round(k * (pages - 1) / (sample - 1)))
    return sorted(picks)[: max(sample, 2)]


def _page_text_stats(doc: pdfium.PdfDocument, index: int) -> tuple[int, int, int]:
    """(visible text characters, characters pdfium could not map to Unicode, image objects)."""
    page = doc[index]
    try:
        images = sum(1 for obj in page.get_objects(max_depth=2)
                     if obj.type == pdfium_c.FPDF_PAGEOBJ_IMAGE)
        textpage = page.get_textpage()
        try:
            chars = unmapped = 0
            for i in range(textpage.count_chars()):
                if pdfium_c.FPDFText_IsGenerated(textpage, i) == 1:
                    continue
                code = pdfium_c.FPDFText_GetUnicode(textpage, i)
                if code in (0, 0xFFFD) or pdfium_c.FPDFText_HasUnicodeMapError(textpage, i) == 1:
                    unmapped += 1
                    chars += 1
                elif not chr(code).isspace():
                    chars += 1
        finally:
            textpage.close()
    finally:
        page.close()
    return chars, unmapped, images


def _cid_share(source: str | os.PathLike[str] | bytes, index: int) -> float:
    """Share of the characters pdfminer renders as ``(cid:NN)`` on one page (0.0 - 1.0)."""
    target = io.BytesIO(source) if isinstance(source, bytes) else source
    with pdfplumber.open(target, pages=[index + 1]) as pdf:
        page = pdf.pages[0]
        try:
            chars = [c["text"] for c in page.chars if not c["text"].isspace()]
        finally:
            page.close()
    if not chars:
        return 0.0
    return sum(1 for t in chars if _CID_RE.match(t)) / len(chars)


def pdf_status(source: str | os.PathLike[str] | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES,
               max_pages: int = DEFAULT_MAX_PAGES, sample: int = 3) -> PdfCheck:
    """Classify a file (path or bytes) without parsing the whole document; never raises."""
    try:
        size = len(source) if isinstance(source, bytes) else os.stat(source).st_size
    except OSError as exc:
        return PdfCheck("unreadable", f"cannot read the file: {exc.strerror or exc}")
    if size == 0:
        return PdfCheck("empty", "the file is zero bytes long")
    if size > max_bytes:
        return PdfCheck("too_large", f"{size:,} bytes is over the {max_bytes:,}-byte limit")
    try:
        head, tail = _read_ends(source, size)
    except OSError as exc:
        return PdfCheck("unreadable", f"cannot read the file: {exc.strerror or exc}")
    if b"%PDF-" not in head:
        return PdfCheck("not_a_pdf", f"no %PDF- header; the bytes look like {describe_bytes(head)}")
    if b"%%EOF" not in tail:
        return PdfCheck("truncated", f"no %%EOF marker in the last {_TAIL // 1024} KB of "
                                     f"{size:,} bytes: the file looks cut short")
    notes: list[str] = []
    matches = list(_STARTXREF_RE.finditer(tail))
    match = matches[-1] if matches else None
    if match is None:
        notes.append("no startxref before the final %%EOF")
    else:
        offset = int(match.group(1))
        if offset >= size:
            return PdfCheck("truncated", f"startxref points at byte {offset:,}, past the end of "
                                         f"the {size:,}-byte file: the file looks cut short")
        if not _XREF_AT_RE.match(_bytes_at(source, offset)):
            notes.append("startxref does not point at a cross-reference table (pdfium repaired it)")
    try:
        doc = pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        return _open_error(exc)
    except Exception as exc:  # noqa: BLE001 - any failure to open is a verdict, not a crash
        return PdfCheck("truncated", f"cannot be opened: {type(exc).__name__}: {exc}")
    try:
        pages = len(doc)
        if pdfium_c.FPDF_GetSecurityHandlerRevision(doc) != -1:
            notes.append("encrypted with an empty user password (readable)")
        if pages == 0:
            return PdfCheck("truncated", "the document has no pages", 0)
        if pages > max_pages:
            return PdfCheck("too_large", f"{pages:,} pages is over the {max_pages:,}-page limit",
                            pages)
        picks = _sample_indices(pages, sample)
        stats = {i: _page_text_stats(doc, i) for i in picks}
    except Exception as exc:  # noqa: BLE001
        return PdfCheck("truncated", f"pages cannot be read: {type(exc).__name__}: {exc}")
    finally:
        doc.close()
    listed = ", ".join(str(i + 1) for i in picks)
    with_text = [i for i in picks if stats[i][0] > 0]
    if not with_text:
        images = sum(s[2] for s in stats.values())
        what = (f"{images} image object(s) on them: a scan" if images
                else "no images either: blank, or text drawn as shapes")
        return PdfCheck("needs_ocr", f"no text layer on sampled page(s) {listed} ({what})", pages)
    chars = sum(stats[i][0] for i in with_text)
    unmapped = sum(stats[i][1] for i in with_text)
    if unmapped / chars > 0.5:
        return PdfCheck("cid_glyphs", f"{unmapped} of {chars} characters on sampled page(s) "
                                      f"{listed} have no Unicode mapping (pdfminer shows them as "
                                      "(cid:NN))", pages)
    try:
        share = _cid_share(source, with_text[0])
    except Exception as exc:  # noqa: BLE001
        return PdfCheck("truncated", f"page {with_text[0] + 1} cannot be read by pdfminer: "
                                     f"{type(exc).__name__}: {exc}", pages)
    if share > 0.5:
        return PdfCheck("cid_glyphs", f"{share:.0%} of the characters on page {with_text[0] + 1} "
                                      "are (cid:NN) codes: the fonts have no Unicode mapping",
                        pages)
    without = [i + 1 for i in picks if i not in with_text]
    if without:
        notes.append(f"sampled page(s) {', '.join(map(str, without))} have no text layer")
    reason = f"{pages} page(s); text layer on sampled page(s) {listed}"
    return PdfCheck("ok", "; ".join([reason, *notes]), pages)


def ocr_available() -> bool:
    """True when ``ocrmypdf`` is on PATH (it is an optional system tool, not a dependency)."""
    return shutil.which("ocrmypdf") is not None


def run_ocr(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
            timeout_s: float = 1800, language: str | None = None) -> bool:
    """Add a text layer to ``src`` with ocrmypdf, writing ``dst``; False when it cannot.

    False means: ocrmypdf is not installed, it failed, or it timed out. ``--skip-text`` leaves
    pages that already have text alone. The OCR'd text is machine-read: callers should record
    that values came from OCR.
    """
    exe = shutil.which("ocrmypdf")
    if exe is None:
        return False
    cmd = [exe, "--skip-text", "--output-type", "pdf"]
    if language:
        cmd += ["-l", language]
    cmd += [str(src), str(dst)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False,
                              preexec_fn=die_with_parent)  # dies with the worker running it
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and Path(dst).is_file() and Path(dst).stat().st_size > 0
