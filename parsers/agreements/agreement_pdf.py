"""Agreement PDFs: 287(g) memoranda of agreement first, and any agreement a user brings.

``parse_agreement(path_or_bytes)`` returns an :class:`Agreement`: what kind of document it is,
the parties, the federal agencies it names, the signature dates (and the effective date when
both parties' dates can be read), the termination terms and the provisions about data, systems
and records. Every value is copied from the document's text layer as it stands (OCR errors
included: "Ellis Countv Sheriffs Office" stays so) with the page it came from; a value the text
layer does not hold is reported as missing, never guessed. Nothing here edits what it reads,
except two things said where they happen: underscores of printed form fields are ignored when a
date is *parsed* (``raw`` keeps them), and glyphs without a Unicode mapping are shown as U+FFFD.

How the text is read (pdfplumber characters, grouped into lines by their vertical centre, a
space where the gap between two characters is over a quarter of the font size: on born-digital
pages this gives pdfplumber's own ``extract_text`` lines), and what each page is classed as:

* ``born_digital`` - text, no page-sized image behind it;
* ``ocr`` - text over a page-sized image, in a file a scanner or OCR tool made (or whose
  producer is unknown): an OCR layer, expect misread words. A page-sized image under the text
  of a file from a document writer (iText, Distiller, Word ...) is a background: born-digital;
* ``duplicated`` - the same characters drawn twice or more at the same place (an OCR layer laid
  over the original text, or a page printed twice into the content stream): duplicates are
  removed (same character, within 1 pt) and the page is read once;
* ``cid`` - over half of the characters are ``(cid:NN)`` codes: the font has no Unicode map, so
  the text cannot be read (the Knox County JEM has five such pages: pdfplumber returns 115k
  characters of ``(cid:NN)`` strings for its 11 pages, which is what made it look "duplicated";
  each page holds one layer);
* ``junk`` - text whose words are not words (a font mapped to the wrong Unicode values): under
  half of the tokens are letters (or digits and punctuation) only, or mostly control codes;
* ``sparse`` - a page-sized image with under 200 characters of text: the scan is not OCR'd and
  the few characters are form-field values or stamps (Loudoun p. 7: "March 26, 2025 / Todd M.
  Lyons", without the labels that would say what they are; the DocuSign envelope id on every
  page of the OC Flock MOU). Reported, not parsed;
* ``none`` - no text at all.

Unmapped glyphs that lie on top of readable ones (the underscores of a filled-in form field,
Freeborn p. 7) are dropped; the others become U+FFFD in the text, and a date next to one is not
trusted (see ``find_dates``). Running headers and footers (page numbers, "Revised 02/15/2025",
the agency name repeated at the foot of every page) are left out of the text that is searched.

Statuses: a ``pdf_status`` verdict (``not_a_pdf``, ``encrypted``, ``truncated``, ``too_large``,
``empty``, ``unreadable``), or after reading every page:

* ``ok`` - every page readable (no unmapped glyphs either), the document type known, the
  parties and the signature block found. Not every value need be readable: a signature date
  that is not is in ``signature_dates`` with ``iso`` None, and in ``missing``;
* ``partial`` - those were found, but some pages (or parts of pages) could not be read, or
  some of those fields were not found; ``warnings`` and ``missing`` say which;
* ``needs_ocr`` - no page (or too little) has a text layer; when ``ocrmypdf`` is installed the
  file is OCR'd into a temporary copy and that is parsed instead, with ``ocr=True``;
* ``cid_glyphs`` / ``unreadable_text`` - the text layer is there but is ``(cid:NN)`` codes / junk;
* ``not_an_agreement`` - readable text in which nothing of an agreement was found;
* ``timeout`` / ``memory`` / ``crashed`` - the isolated parse did not finish.

A 287(g) MOA, in the ICE templates (see corpus/agreements/NOTES.md): the parties sentence on
page 1, the model in a title line (JEM / WSO from mid-2020 / TFM 2025) or only in the file name
(the 2019 WSO; the Texas OAG TFM), the signature block after "By signing this MOA ..." in two
columns ("For the LEA" / "For ICE", or in 2019-2020 ICE on the left with no labels), and the
termination terms in the last numbered section. The effective date is the later of the two
parties' signature dates, and only when both can be read: a handwritten date is usually not in
the OCR layer at all, or is OCR junk ("04/16/2~25~"), and then ``effective_date`` is None.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
from bisect import bisect_right
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pdfplumber

from parsers.flock.audit_pdf import rows_by_centre
from parsers.pdf.pdf_status import ocr_available, pdf_status, run_ocr
from parsers.pdf.pdf_worker import PdfJobError, run_limited

# Recorded with every document this parser reads (agreement PDFs: 287(g) MOAs, DMV agreements, ...):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "agreement_pdf/1"

__all__ = [
    "AGREEMENT_STATUSES",
    "DOC_TYPES",
    "PAGE_LAYERS",
    "Agreement",
    "Char",
    "FederalMention",
    "PageText",
    "Party",
    "Provision",
    "SignatureDate",
    "TextLine",
    "find_dates",
    "line_text",
    "parse_agreement",
    "read_pages",
]

Source = str | os.PathLike[str] | bytes

DOC_TYPES = ("287g_moa", "dmv_agreement", "alpr_sharing_mou", "vendor_contract", "other")
PAGE_LAYERS = ("born_digital", "ocr", "duplicated", "cid", "junk", "sparse", "none")
AGREEMENT_STATUSES = ("ok", "partial", "needs_ocr", "cid_glyphs", "unreadable_text",
                      "not_an_agreement", "not_a_pdf", "encrypted", "truncated", "too_large",
                      "empty", "unreadable", "timeout", "memory", "crashed")
_FATAL_PDF_STATUSES = {"not_a_pdf", "encrypted", "truncated", "too_large", "empty", "unreadable"}
_USABLE = {"born_digital", "ocr", "duplicated"}
_SCAN_COVER = 0.85      # an image covering this share of the page makes it a scan
_SPARSE_CHARS = 200     # a scan with fewer text characters than this is not OCR'd
_CID_RE = re.compile(r"^\(cid:\d+\)$")
_UNREADABLE = "\ufffd"

# ---------------------------------------------------------------------------------------------
# Result types
# ---------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Party:
    """A party to the agreement, as its name is printed (``defined_as``: the short name the
    document gives it, e.g. "PCSO"). ``role``: "federal" (ICE in a 287(g) MOA), "lea" (the
    local or state agency of a 287(g) MOA) or "party" (any other agreement)."""

    name: str
    role: str
    page: int
    evidence: str
    defined_as: str | None = None
    note: str = ""


@dataclass(slots=True)
class FederalMention:
    """A federal agency the text names: ``agency`` is the gazetteer key (ICE, DHS, ERO, HSI,
    CBP, USBP, USCIS, FBI, DOJ, DEA, ATF, USMS), ``names`` the spellings printed."""

    agency: str
    names: list[str]
    pages: list[int]
    count: int


@dataclass(slots=True)
class SignatureDate:
    """One date in the signature block. ``raw`` is the text as printed (form-field underscores
    included); ``iso`` is None when it does not read as a date. ``party``: "ICE" / "LEA" in a
    287(g) MOA, else the name of the party whose name is printed in that signature column, or
    None when the column does not say. ``kind``: "typed" (a date in
    a Date field or beside a signature), "digital_signature" (an Adobe signature stamp's
    "Date: 2020.08.21 ..."), "approval_stamp", or "unreadable" (the Date field holds text that
    is not a date - usually a handwritten date OCR'd as junk)."""

    raw: str
    iso: str | None
    party: str | None
    page: int
    kind: str
    note: str = ""


@dataclass(slots=True)
class Provision:
    """A section (or the sentences of one) that matters here. ``text`` is verbatim from the
    text layer with line breaks turned into spaces; ``page`` is where it starts."""

    heading: str | None
    text: str
    page: int
    topics: list[str] = field(default_factory=list)
    systems: list[str] = field(default_factory=list)
    notice_days: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Agreement:
    """What one agreement PDF says. See the module docstring for statuses and page layers."""

    status: str
    doc_type: str = "other"
    doc_type_evidence: list[str] = field(default_factory=list)
    model: str | None = None
    model_evidence: list[dict[str, Any]] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)
    federal_agencies_named: list[FederalMention] = field(default_factory=list)
    signature_dates: list[SignatureDate] = field(default_factory=list)
    effective_date: str | None = None
    effective_date_basis: str = ""
    termination: list[Provision] = field(default_factory=list)
    data_provisions: list[Provision] = field(default_factory=list)
    text_layer: str = "none"
    page_layers: list[str] = field(default_factory=list)
    pages: int = 0
    ocr: bool = False
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    source_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Reading pages: characters -> lines, and what kind of text layer each page has
# ---------------------------------------------------------------------------------------------


class Char(NamedTuple):
    """One character (``text`` is U+FFFD for an unmapped glyph); points from the page's top."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float


@dataclass(slots=True)
class TextLine:
    page: int
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    chars: list[Char]


@dataclass(slots=True)
class PageText:
    number: int
    width: float
    height: float
    layer: str
    chars: int            # visible characters (after de-duplication), unmapped ones included
    unreadable: int       # unmapped glyphs left in the text (not counting overlays)
    image_cover: float    # share of the page covered by its largest image
    lines: list[TextLine]
    duplicates: int = 0   # characters removed as duplicates


def line_text(chars: list[Char]) -> str:
    """Text of characters on one line: left to right, a space at a space character or where
    the gap exceeds a quarter of the font size (pdfplumber's default for 12 pt type)."""
    out: list[str] = []
    prev: Char | None = None
    for c in sorted(chars, key=lambda ch: ch.x0):
        if c.text.isspace():
            if out and out[-1] != " ":
                out.append(" ")
            continue
        if prev is not None and out and out[-1] != " " and c.x0 - prev.x1 > 0.25 * max(c.size,
                                                                                          1.0):
            out.append(" ")
        out.append(c.text)
        prev = c
    return "".join(out).strip()


def _group_lines(chars: list[Char], page: int) -> list[TextLine]:
    """Characters -> lines by vertical centre (tolerance half the median glyph height)."""
    if not chars:
        return []
    groups = rows_by_centre(chars, [c for c in chars if not c.text.isspace()])
    lines = []
    for group in groups:
        text = line_text(group)
        if not text:
            continue
        visible = [c for c in group if not c.text.isspace()]
        lines.append(TextLine(page, text, min(c.x0 for c in visible), max(c.x1 for c in visible),
                              min(c.top for c in visible), max(c.bottom for c in visible),
                              sorted(group, key=lambda ch: ch.x0)))
    return lines


def _dedupe(chars: list[Char], tolerance: float = 1.0) -> tuple[list[Char], int]:
    """Drop characters drawn again at (nearly) the same place; returns (kept, dropped)."""
    kept: list[Char] = []
    buckets: dict[tuple[str, int, int], list[Char]] = {}
    dropped = 0
    for c in chars:
        if c.text.isspace():
            kept.append(c)
            continue
        bx, by = int(c.x0 // 2), int(c.top // 2)
        duplicate = False
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for other in buckets.get((c.text, bx + dx, by + dy), ()):
                    if abs(other.x0 - c.x0) <= tolerance and abs(other.top - c.top) <= tolerance:
                        duplicate = True
                        break
        if duplicate:
            dropped += 1
            continue
        buckets.setdefault((c.text, bx, by), []).append(c)
        kept.append(c)
    return kept, dropped


def _drop_overlays(chars: list[Char], unmapped: set[int]) -> tuple[list[Char], int]:
    """Unmapped glyphs lying over readable characters of the same line (over half the glyph's
    width, its vertical centre within their height) are drawn marks - the underscores of a
    filled-in form field - not text: drop them. Returns (chars, unmapped glyphs kept)."""
    if not unmapped:
        return chars, 0
    rows: dict[int, list[Char]] = {}
    for i, c in enumerate(chars):
        if i not in unmapped:  # spaces too: a field's underscores run under its spaces
            rows.setdefault(int((c.top + c.bottom) // 8), []).append(c)
    out: list[Char] = []
    kept = 0
    for i, c in enumerate(chars):
        if i not in unmapped:
            out.append(c)
            continue
        width = max(c.x1 - c.x0, 0.1)
        mid = (c.top + c.bottom) / 2
        row = int((c.top + c.bottom) // 8)
        overlay = any(
            min(c.x1, o.x1) - max(c.x0, o.x0) > 0.5 * width and o.top - 2 <= mid <= o.bottom + 2
            for r in (row - 1, row, row + 1) for o in rows.get(r, ()))
        if not overlay:
            out.append(c)
            kept += 1
    return out, kept


_CLEAN_TOKEN = re.compile(r"^[(\"'“‘\[]*(?:[A-Za-z][A-Za-z'’\-]*|[\d$%§#&@/.,:\-]+)"
                          r"[)\"'”’\].,;:!?]*$")


def _looks_like_junk(text: str) -> bool:
    """True when the text layer's "words" are not words (a font mapped to the wrong Unicode
    values): mostly control characters, or under half of the tokens made of letters (or of
    digits and punctuation) only. OCR noise stays well above that; lists of names too."""
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\t")
    if controls > 0.2 * max(1, len(text)):
        return True
    tokens = text.split()
    if len(tokens) < 30:
        return False
    clean = sum(1 for t in tokens if _CLEAN_TOKEN.match(t))
    return clean / len(tokens) < 0.5


def _image_cover(page: Any) -> float:
    area = float(page.width) * float(page.height) or 1.0
    best = 0.0
    for im in page.images:
        x0, x1 = max(0.0, float(im["x0"])), min(float(page.width), float(im["x1"]))
        top, bottom = max(0.0, float(im["top"])), min(float(page.height), float(im["bottom"]))
        if x1 > x0 and bottom > top:
            best = max(best, (x1 - x0) * (bottom - top) / area)
    return best


_SCANNER_PRODUCER = re.compile(
    r"Paper\s*Capture|KONICA|bizhub|Xerox|WorkCentre|AltaLink|RICOH|Canon|iR-ADV|ScanSnap|PFU|"
    r"TOSHIBA|e-STUDIO|SECnvtToPDF|\bOCR|Tesseract|ocrmypdf|ABBYY|FineReader|Kofax|OmniPage|"
    r"Readiris|Sharp|Brother|Epson|Lexmark|Kyocera|scan", re.I)
_DIGITAL_PRODUCER = re.compile(
    r"iText|Distiller|PDFMaker|Microsoft|\bWord\b|LibreOffice|OpenOffice|Skia|Chrom|wkhtmltopdf|"
    r"PDFKit|Crystal\s*Reports|Aspose|PScript|Quartz|Ghostscript|PDFsharp|ReportLab|TCPDF", re.I)


def _scan_kind(producer: str) -> str:
    """What a page-sized image under text means for this file: "ocr" (a scanner or OCR tool
    made it, or nothing says otherwise) or "born_digital" (a document writer placed a
    background image: the OC Sheriff's Vigilant report from iText)."""
    if _SCANNER_PRODUCER.search(producer):
        return "ocr"
    if _DIGITAL_PRODUCER.search(producer):
        return "born_digital"
    return "ocr"


def _read_page(page: Any, check_junk: bool, scan_kind: str = "ocr") -> PageText:
    number = page.page_number
    raw = [Char(c["text"], float(c["x0"]), float(c["x1"]), float(c["top"]), float(c["bottom"]),
                float(c.get("size") or (float(c["bottom"]) - float(c["top"])) or 1.0))
           for c in page.chars]
    cover = _image_cover(page)
    visible_before = sum(1 for c in raw if not c.text.isspace())
    chars, dropped = _dedupe(raw)
    duplicated = visible_before > 0 and dropped >= max(20, 0.25 * visible_before)
    if not duplicated:  # a few coincidences (overprinted bold, accents) are not a layer
        chars, dropped = raw, 0
    unmapped = {i for i, c in enumerate(chars) if _CID_RE.match(c.text)}
    chars, kept_unmapped = _drop_overlays(chars, unmapped)
    chars = [c._replace(text=_UNREADABLE) if _CID_RE.match(c.text) else c for c in chars]
    visible = sum(1 for c in chars if not c.text.isspace())
    lines = _group_lines(chars, number)
    if visible == 0:
        layer = "none"
    elif kept_unmapped > 0.5 * visible:
        layer = "cid"
    elif check_junk and _looks_like_junk("\n".join(ln.text for ln in lines)):
        layer = "junk"
    elif cover >= _SCAN_COVER and visible < _SPARSE_CHARS:  # whoever made the file: DocuSign
        # (PDFKit.NET) stamps an envelope id over uploaded scans
        layer = "sparse"
    elif duplicated:
        layer = "duplicated"
    elif cover >= _SCAN_COVER:
        layer = scan_kind
    else:
        layer = "born_digital"
    return PageText(number, float(page.width), float(page.height), layer, visible,
                    kept_unmapped, cover, lines, dropped)


def read_pages(source: Source, *, check_junk: bool = True) -> list[PageText]:
    """Every page's lines and text-layer class (pdfplumber; pages closed as they are read)."""
    target = io.BytesIO(source) if isinstance(source, bytes) else source
    out: list[PageText] = []
    with pdfplumber.open(target) as pdf:
        meta = pdf.metadata or {}
        scan_kind = _scan_kind(f"{meta.get('Producer', '')} {meta.get('Creator', '')}")
        for page in pdf.pages:
            try:
                out.append(_read_page(page, check_junk, scan_kind))
            finally:
                page.close()
    return out


# ---------------------------------------------------------------------------------------------
# The document's text: lines of the readable pages, with offsets back to pages
# ---------------------------------------------------------------------------------------------


class _Doc:
    """Readable lines joined by newlines; ``flat`` has the newlines as spaces (same offsets)."""

    def __init__(self, lines: list[TextLine]) -> None:
        self.lines = lines
        self.starts: list[int] = []
        pos = 0
        for ln in lines:
            self.starts.append(pos)
            pos += len(ln.text) + 1
        self.text = "\n".join(ln.text for ln in lines)
        self.flat = self.text.replace("\n", " ")

    def line_at(self, offset: int) -> int:
        return max(0, bisect_right(self.starts, offset) - 1)

    def page_at(self, offset: int) -> int:
        return self.lines[self.line_at(offset)].page if self.lines else 0


def _norm(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------------------------

_MONTHS = {m.lower(): i for i, m in enumerate(
    ["January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"], start=1)}
_MONTHS.update({k[:3]: v for k, v in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_MONTH_ALT = ("January|February|March|April|May|June|July|August|September|October|November|"
              "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec")
_DATE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ymd", re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d{2})\.(?P<m>\d{1,2})\.(?P<d>\d{1,2})(?![\d])")),
    ("mdy_name", re.compile(rf"\b(?P<mon>{_MONTH_ALT})\.?\s*(?P<d>\d{{1,2}})(?:st|nd|rd|th)?"
                            r"\s*,?\s*(?P<y>(?:19|20)\d{2})(?!\d)", re.I)),
    ("dmy_name", re.compile(rf"(?<!\d)(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?"
                            rf"(?P<mon>{_MONTH_ALT})\.?,?\s+(?P<y>(?:19|20)\d{{2}})(?!\d)", re.I)),
    ("mdy", re.compile(r"(?<![\d/.\-])(?P<m>\d{1,2})(?P<sep>[/.\-])(?P<d>\d{1,2})(?P=sep)"
                       r"(?P<y>\d{4}|\d{2})(?![\d/.\-]?\d)")),
)


class FoundDate(NamedTuple):
    raw: str
    iso: str | None
    start: int
    end: int
    note: str


def _strip_underscores(text: str) -> tuple[str, list[int]]:
    """Text without underscores, and for each kept character its index in ``text``."""
    kept = [(i, ch) for i, ch in enumerate(text) if ch != "_"]
    return "".join(ch for _, ch in kept), [i for i, _ in kept]


def find_dates(text: str) -> list[FoundDate]:
    """Dates in a piece of text, in order. Form-field underscores are skipped when matching
    (``raw`` keeps them). A numeric date touching an unreadable glyph (U+FFFD) is not trusted
    (the glyph may be a digit): it is returned with ``iso`` None and a note. Two-digit years
    are read as 20YY and noted."""
    clean, index = _strip_underscores(text)
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _DATE_PATTERNS:
        for m in pattern.finditer(clean):
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            start, end = index[m.start()], index[m.end() - 1] + 1
            raw = text[start:end]
            note = ""
            try:
                year = int(m.group("y"))
                if year < 100:
                    year += 2000
                    note = "two-digit year read as 20YY"
                month = _MONTHS[m.group("mon").lower().rstrip(".")] if "mon" in m.groupdict() \
                    and m.group("mon") else int(m.group("m"))
                day = int(m.group("d"))
                iso: str | None = dt.date(year, month, day).isoformat()
                if not 1990 <= year <= 2100:
                    iso, note = None, "year out of range"
            except (ValueError, KeyError):
                iso, note = None, "not a valid calendar date"
            if kind == "mdy":
                before = clean[m.start() - 1:m.start()]
                after = clean[m.end():m.end() + 1]
                if _UNREADABLE in (before, after):
                    iso, note = None, "next to an unreadable glyph (may be a digit)"
            taken.append((m.start(), m.end()))
            found.append(FoundDate(raw, iso, start, end, note))
    found.sort(key=lambda f: f.start)
    return found


# ---------------------------------------------------------------------------------------------
# Gazetteers
# ---------------------------------------------------------------------------------------------

_FEDERAL: tuple[tuple[str, re.Pattern[str]], ...] = tuple((k, re.compile(p)) for k, p in (
    ("ICE", r"\bICE\b|(?i:Immigration\s+(?:and|&)\s+Customs\s+Enforcement)"),
    ("DHS", r"\bDHS\b|(?i:Department\s+of\s+Homeland\s+Security)"),
    ("ERO", r"\bERO\b|(?i:Enforcement\s+and\s+Removal\s+Operations)"),
    ("HSI", r"\bHSI\b|(?i:Homeland\s+Security\s+Investigations)"),
    ("CBP", r"\bCBP\b|(?i:Customs\s+and\s+Border\s+Protection)"),
    ("USBP", r"\bUSBP\b|(?i:Border\s+Patrol)"),
    ("USCIS", r"\bUSCIS\b|(?i:Citizenship\s+and\s+Immigration\s+Services)"),
    ("FBI", r"\bFBI\b|(?i:Federal\s+Bureau\s+of\s+Investigation)"),
    ("DOJ", r"\bDOJ\b|(?i:Department\s+of\s+Justice)"),
    ("DEA", r"\bDEA\b|(?i:Drug\s+Enforcement\s+Administration)"),
    ("ATF", r"\bATF\b|(?i:Bureau\s+of\s+Alcohol,?\s+Tobacco)"),
    ("USMS", r"\bUSMS\b|(?i:(?:U\.\s?S\.|United\s+States)\s+Marshals?\s+Service)"),
))
# "California Department of Justice" is a state body: a capitalised word before "Department of
# Justice" other than these makes it not the federal DOJ.
_FEDERAL_PREFIXES = {"U.S.", "US", "United", "States", "the", "The", "Federal", "federal", "and"}

_SYSTEMS = re.compile(
    r"\bTECS(?:\s+II)?\b|\bNCIC\b|\bNLETS\b|\bIDENT\b|\bEARM\b|\bEID\b|\bIAFIS\b|\bNGI\b|"
    r"\bCLETS\b|\bLEARN\b|\bENFORCE\b|\bSEVIS\b|\bPLX\b|\bLInX\b|\bCJIS\b|\bJWICS\b|\bHSIN\b")

_TOPICS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((k, re.compile(p, re.I)) for k, p in (
    ("database_access", r"databases?|systems? and associated applications|network access|"
                        r"DHS network|Interconnection Security Agreement|\bISA\b|4300A"),
    ("systems_check", r"\bTECS\b|\bNCIC\b|\bNLETS\b|\bIDENT\b|successor system"),
    ("biometrics", r"fingerprint|photograph|biometric"),
    ("records", r"\bA-files?\b|Federal Records Act|disciplinary records|\brecords?\b"),
    ("statistics", r"statistical information|tracking data|statistic"),
    ("release_of_information", r"release of information|releasing any information|"
                               r"public records|disclos"),
    ("privacy", r"Privacy Act|552a|system of records|Privacy Office"),
    ("alpr", r"license plate|\bA?LPR\b|plate reader"),
    ("dmv", r"\bDMV\b|motor vehicle records?|driver'?s?\s+licen[cs]e|Driver'?s Privacy "
            r"Protection Act|\bDPPA\b"),
    ("data", r"\bdata\b"),
))

_DOC_SIGNALS: dict[str, tuple[re.Pattern[str], ...]] = {
    "287g_moa": (re.compile(r"287\s*\(\s*g\s*\)"), re.compile(r"1357\s*\(\s*g\s*\)"),
                 re.compile(r"Memorandum\s+of\s+Agreement", re.I),
                 re.compile(r"Immigration\s+and\s+Customs\s+Enforcement", re.I)),
    "dmv_agreement": (re.compile(r"(?:Department|Bureau|Division|Registry)\s+of\s+Motor\s+"
                                 r"Vehicles|Motor\s+Vehicle\s+(?:Division|Administration|"
                                 r"Commission)|Department\s+of\s+Licensing|\b(?:DMV|BMV|MVD|RMV)"
                                 r"\b|\bNlets\b", re.I),
                      re.compile(r"driver'?s?\s+licen[cs]e|motor\s+vehicle\s+records?", re.I),
                      re.compile(r"Driver'?s\s+Privacy\s+Protection\s+Act|\bDPPA\b", re.I)),
    "alpr_sharing_mou": (re.compile(r"license\s+plate\s+reader|\bA?LPR\b|license\s+plate\s+"
                                    r"recognition", re.I),
                         re.compile(r"\bshar(?:e|ed|ing)\b", re.I),
                         re.compile(r"Memorandum\s+of\s+Understanding|\bMOU\b", re.I)),
    "vendor_contract": (re.compile(r"Master\s+Services?\s+Agreement|Order\s+Form|Statement\s+of"
                                   r"\s+Work|Terms\s+and\s+Conditions|Subscription", re.I),
                        re.compile(r"\b(?:Customer|Vendor|Contractor|Supplier)\b"),
                        re.compile(r"\b(?:Flock\s+(?:Group|Safety)|Vigilant|Motorola|Axon|"
                                   r"Rekor|Genetec|Leonardo|ELSAG)\b", re.I)),
}
_AGREEMENT_WORDS = re.compile(r"\bagreement\b|memorandum\s+of\s+(?:understanding|agreement)|"
                              r"\bMOU\b|\bMOA\b|\bcontract\b", re.I)

# ---------------------------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------------------------

_HEADING = re.compile(r"^(?:(?P<num>[IVXLHD1l]{1,6}|[A-Z]|\d{1,2})[.,]\s+"
                      r"(?P<title>[A-Z][A-Za-z0-9 ,&'’/().\-]{3,})|(?P<app>APPENDIX\s+[A-Z])\b.*)$")
_ANCHOR = re.compile(r"By\s+signing\s+this\s+(?:MOA|MOU|Memorandum|Agreement)|"
                     r"IN\s+WITNESS\s+WHEREOF", re.I)


class _Section(NamedTuple):
    heading: str | None
    page: int
    start: int      # offset into doc.text of the body
    end: int


def _mostly_upper(title: str) -> bool:
    """A heading is in capitals; OCR lowers a few letters ("TERMINATION OF Tms MOA")."""
    letters = [ch for ch in title if ch.isalpha()]
    return len(letters) >= 4 and sum(ch.isupper() for ch in letters) >= 0.8 * len(letters)


def _sections(doc: _Doc) -> list[_Section]:
    heads: list[tuple[int, str]] = []
    for i, ln in enumerate(doc.lines):
        text = ln.text.strip()
        m = _HEADING.match(text)
        if m and (m.group("app") or _mostly_upper(m.group("title"))):
            heads.append((i, text))
    sections = []
    if heads and heads[0][0] > 0:
        sections.append(_Section(None, doc.lines[0].page, 0, doc.starts[heads[0][0]]))
    elif not heads and doc.lines:
        sections.append(_Section(None, doc.lines[0].page, 0, len(doc.text)))
    for k, (i, text) in enumerate(heads):
        body = doc.starts[i] + len(doc.lines[i].text) + 1
        end = doc.starts[heads[k + 1][0]] if k + 1 < len(heads) else len(doc.text)
        sections.append(_Section(text, doc.lines[i].page, min(body, end), end))
    return sections


_SENTENCE_END = re.compile(r"\.[\"”’)]*\s+(?=[A-Z(\u2022•\"“])|\s+(?=[\u2022•]\s)")
_ABBREVIATIONS = frozenset(
    "u.s u.s.c c.f.r pub no nos e.g i.e inc co corp v vs st dr mr ms mrs jr sr sec art para "
    "approx dept gov ft mt op p pp ch cir etc fig".split())


def _sentences(text: str, offset: int) -> list[tuple[int, str]]:
    """Split at a full stop followed by a capital (not after an abbreviation such as "U.S.C.",
    "Pub.", "v." or an initial) and before bullets. Returns (offset, sentence) pairs."""
    out = []
    pos = 0
    for m in _SENTENCE_END.finditer(text):
        if text[m.start()] == ".":
            word = text[max(0, m.start() - 12):m.start()].split()
            last = word[-1].lower().lstrip("(\"“") if word else ""
            if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()) or \
                    re.fullmatch(r"(?:[a-z]\.)+[a-z]", last):
                continue
            cut = m.start() + 1
        else:
            cut = m.start()
        out.append((offset + pos, text[pos:cut]))
        pos = m.end()
    out.append((offset + pos, text[pos:]))
    return [(o, s.strip()) for o, s in out if s.strip()]


def _notice_days(text: str) -> list[int]:
    days = set()
    for sentence in re.split(r"(?<=[.;])\s+", text):
        if not re.search(r"notice|terminat", sentence, re.I):
            continue
        for m in re.finditer(r"(?:\((\d{1,3})\)|(?<![\d.])(\d{1,3}))\s*-?\s*(?:calendar\s+|"
                             r"business\s+)?days?\b", sentence, re.I):
            days.add(int(m.group(1) or m.group(2)))
    return sorted(days)


# ---------------------------------------------------------------------------------------------
# Parties
# ---------------------------------------------------------------------------------------------

_287G_PARTIES = re.compile(  # OCR glues words ("component ofthe"): \s* between most of them
    r"agreement\s*between\s*(?P<fed>(?:U\.\s?S\.|United\s*States)\s*Immigration\s*and\s*"
    r"Customs\s*Enforcement)\s*\((?P<fedabbr>ICE)\)\s*,?\s*a\s*component\s*of\s*the\s*"
    r"Department\s*of\s*Homeland\s*Security\s*\([A-Z]{3}\)\s*,?\s*and\s+(?:the\s+)?"
    r"(?P<lea>.{3,200}?)(?=\s*[,'’\"]*\s*(?:herein\s*after|pursuant\s*to|\(\s*hereinafter))",
    re.S)
_287G_APPENDIX_PARTIES = re.compile(
    r"agreement\s+between\s+ICE\s+and\s+(?:the\s+)?(?P<lea>.{3,150}?)(?=\s*,?\s*hereinafter)",
    re.S)
_GENERIC_PARTIES = re.compile(
    r"(?:by\s+and\s+)?between\s+(?:the\s+)?(?P<a>[A-Z][^;:]{2,160}?)\s*(?:\((?P<aa>[^()]{1,60})"
    r"\))?\s*,?\s+and\s+(?:the\s+)?(?P<b>[A-Z][^;:]{2,160}?)\s*(?:\((?P<ba>[^()]{1,60})\))?"
    r"(?=\s*(?:,|\.|;|\(|\b(?:for|to|whereby|regarding|concerning|pursuant|hereinafter|"
    r"collectively|each|which|that|effective)\b))")
_STATE_CODES = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ "
    "NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI".split())


def _clean_name(name: str) -> tuple[str, str | None, str]:
    """Trim a party name; split off a trailing defined term "(PCSO)" (not a state code) and
    note unreadable glyphs. Returns (name, defined_as, note)."""
    name = _norm(name)
    note = ""
    if _UNREADABLE in name:
        count = name.count(_UNREADABLE)
        readable = _norm(name.replace(_UNREADABLE, " "))
        readable = re.sub(r"[\s,;'’\"(]+$", "", readable)
        note = f"{count} unreadable glyph(s) in the printed name; only the readable part is given"
        name = readable
    name = re.sub(r"[\s,;'’\"]+$", "", name)
    defined = None
    m = re.search(r"\s*\((?P<abbr>[^()]{1,20})\)$", name)
    if m and m.group("abbr").strip().upper() not in _STATE_CODES:
        defined = m.group("abbr").strip()
        name = name[:m.start()].rstrip(" ,")
    return name, defined, note


def _find_parties(doc: _Doc, doc_type: str, warnings: list[str]) -> list[Party]:
    parties: list[Party] = []
    if doc_type == "287g_moa":
        m = _287G_PARTIES.search(doc.flat)
        if m:
            page = doc.page_at(m.start())
            evidence = _norm(m.group(0))
            parties.append(Party(_norm(m.group("fed")), "federal", page, evidence, "ICE"))
            name, defined, note = _clean_name(m.group("lea"))
            parties.append(Party(name, "lea", doc.page_at(m.start("lea")), evidence, defined,
                                 note))
            return parties
        m = _287G_APPENDIX_PARTIES.search(doc.flat)
        if m:
            page = doc.page_at(m.start())
            name, defined, note = _clean_name(m.group("lea"))
            parties.append(Party("ICE", "federal", page, _norm(m.group(0)), None,
                                 "named only as ICE (the opening parties sentence was not read)"))
            parties.append(Party(name, "lea", page, _norm(m.group(0)), defined, note))
            warnings.append(f"parties taken from page {page} (the opening sentence naming them "
                            "was not found)")
        return parties
    limit = next((doc.starts[i] for i, ln in enumerate(doc.lines) if ln.page > 2), len(doc.flat))
    m = _GENERIC_PARTIES.search(doc.flat[:limit])
    if m:
        evidence = _norm(m.group(0))
        for key, abbr in (("a", "aa"), ("b", "ba")):
            name, defined, note = _clean_name(m.group(key))
            if m.group(abbr):
                defined = _norm(m.group(abbr)).strip("\"“”' ")
                defined = re.sub(r"^(?:the\s+|hereinafter\s+(?:referred\s+to\s+as\s+)?)", "",
                                 defined, flags=re.I).strip("\"“”' ")
            parties.append(Party(name, "party", doc.page_at(m.start(key)), evidence, defined,
                                 note))
    return parties


# ---------------------------------------------------------------------------------------------
# Model (287(g))
# ---------------------------------------------------------------------------------------------

_FILE_MODEL = re.compile(r"(?:^|[_\-\s.]|287g)(JEM|WSO|TFM|TF)(?=[_\-\s.]|$)", re.I)
_TITLE_MODELS = ((re.compile(r"Jail\s+Enforcement\s+Model", re.I), "JEM"),
                 (re.compile(r"Warrant\s+Service\s+Officer", re.I), "WSO"),
                 (re.compile(r"Task\s+Force\s+Model", re.I), "TFM"))
_PHRASE_MODELS = ((re.compile(r"Jail\s+Enforcement\s+Model", re.I), "JEM"),
                  (re.compile(r"Warrant\s+Service\s+Officer", re.I), "WSO"),
                  (re.compile(r"only\s+delegated\s+the\s+two\s+authorities", re.I), "WSO"),
                  (re.compile(r"Task\s+Force\s+Model", re.I), "TFM"),
                  (re.compile(r"as\s+task\s+force\s+officers", re.I), "TFM"))


def _find_model(doc: _Doc, filename: str | None, warnings: list[str]
                ) -> tuple[str | None, list[dict[str, Any]]]:
    evidence: list[dict[str, Any]] = []
    file_model = None
    if filename:
        m = _FILE_MODEL.search(Path(filename).stem)
        if m:
            file_model = "TFM" if m.group(1).upper() == "TF" else m.group(1).upper()
            evidence.append({"source": "file_name", "model": file_model, "text": filename,
                             "page": None})
    title_model = None
    for ln in doc.lines[:8]:
        if ln.page > 1:
            break
        if len(ln.text) > 60:
            continue
        for pattern, model in _TITLE_MODELS:
            if pattern.search(ln.text):
                title_model = model
                evidence.append({"source": "title", "model": model, "text": ln.text,
                                 "page": ln.page})
                break
        if title_model:
            break
    phrase_counts: Counter[str] = Counter()
    first: dict[str, tuple[str, int]] = {}
    for pattern, model in _PHRASE_MODELS:
        for m in pattern.finditer(doc.flat):
            phrase_counts[model] += 1
            first.setdefault(model, (_norm(m.group(0)), doc.page_at(m.start())))
    for model, count in phrase_counts.most_common():
        text, page = first[model]
        evidence.append({"source": "phrase", "model": model, "text": text, "page": page,
                         "count": count})
    phrase_model = None
    if phrase_counts:
        ranked = phrase_counts.most_common()
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            phrase_model = ranked[0][0]
    content_model = title_model or phrase_model
    if file_model and content_model and file_model != content_model:
        warnings.append(f"the file name says {file_model} but the text says {content_model}; "
                        "the file name is used")
    return file_model or content_model, evidence


# ---------------------------------------------------------------------------------------------
# Signature block
# ---------------------------------------------------------------------------------------------

_LABEL = re.compile(r"^\s*(?:Date|Signature|Name|Title|Agency|For\s+the\s+LEA|For\s+ICE|By)\b"
                    r"\s*[:;.,]?", re.I)
_DATE_LABEL = re.compile(r"\bDate\s*[:;.]", re.I)
_ICE_SIDE = re.compile(r"For\s+ICE|Customs\s+Enforcement|Immigration\s*(?:and|&)\s*Custom|"
                       r"Enforcement\s+and\s+Removal|Homeland\s+Security", re.I)
_LEA_SIDE = re.compile(r"For\s+the\s+LEA", re.I)
_DIGITAL = re.compile(r"D[il1]g[il1]ta[il1][il1]y\s*s[il1]gned", re.I)
_FOOTER = re.compile(r"^(?:.*\bRevised\s+[\d/]+|\s*\d{1,3}\s*|.*\bPage\s+\d+\s+of\s+\d+)\s*$")
_APPROVED = re.compile(r"\bAPPROVED\b[^\n]{0,20}?(\d{1,2}/\d{1,2}/\d{2,4})")


def _split_x(lines: list[TextLine], width: float) -> float:
    """Where the right-hand signature column starts: the most common start of text that follows
    a wide gap (or starts a line) in the middle of the page; else the page's centre."""
    starts: list[float] = []
    for ln in lines:
        visible = [c for c in ln.chars if not c.text.isspace()]
        for k, c in enumerate(visible):
            gap = c.x0 - visible[k - 1].x1 if k else c.x0
            if (k == 0 or gap > 15) and 0.35 * width < c.x0 < 0.75 * width:
                starts.append(c.x0)
    if not starts:
        return width / 2
    starts.sort()
    clusters: list[list[float]] = [[starts[0]]]
    for x in starts[1:]:
        if x - clusters[-1][0] <= 8:
            clusters[-1].append(x)
        else:
            clusters.append([x])
    best = max(clusters, key=lambda c: (len(c), -c[0]))
    return best[0] - 2


def _column_lines(lines: list[TextLine], split: float) -> tuple[list[TextLine], list[TextLine]]:
    left, right = [], []
    for ln in lines:
        for side, keep in ((left, lambda c: c.x0 < split), (right, lambda c: c.x0 >= split)):
            chars = [c for c in ln.chars if keep(c)]
            text = line_text(chars)
            if text:
                vis = [c for c in chars if not c.text.isspace()] or chars
                side.append(TextLine(ln.page, text, min(c.x0 for c in vis),
                                     max(c.x1 for c in vis), min(c.top for c in vis),
                                     max(c.bottom for c in vis), chars))
    return left, right


def _column_party(lines: list[TextLine]) -> tuple[str | None, bool]:
    """("ICE" | "LEA" | None, decided by an explicit "For ..." label)."""
    text = "\n".join(ln.text for ln in lines).replace(_UNREADABLE, "")
    if re.search(r"For\s+ICE", text, re.I):
        return "ICE", True
    if _LEA_SIDE.search(text):
        return "LEA", True
    if _ICE_SIDE.search(text):
        return "ICE", False
    return None, False


def _column_dates(lines: list[TextLine], party: str | None) -> tuple[list[SignatureDate],
                                                                     str | None]:
    """Dates in one signature column; when none reads, what the Date field holds instead.
    Returns (dates, a 'missing' note or None)."""
    dates: list[SignatureDate] = []
    for i, ln in enumerate(lines):
        if _FOOTER.match(ln.text):
            continue
        for found in find_dates(ln.text):
            context = " ".join(x.text for x in lines[max(0, i - 2):i + 1])
            kind = "typed"
            if re.fullmatch(r"(?:19|20)\d{2}\.\d{1,2}\.\d{1,2}", found.raw) and (
                    _DIGITAL.search(context) or re.search(r"Date:\s*$", ln.text[:found.start])):
                kind = "digital_signature"
            dates.append(SignatureDate(found.raw, found.iso, party, ln.page, kind, found.note))
    if any(d.iso for d in dates):
        return dates, None
    who = party or "unattributed"
    digital = any(_DIGITAL.search(ln.text) for ln in lines)
    label_idx = next((i for i, ln in enumerate(lines) if _DATE_LABEL.search(ln.text)), None)
    if label_idx is None:
        if digital:
            return dates, f"{who} signature date: a digital signature is present but its date " \
                          "could not be read from the text layer"
        return dates, f"{who} signature date: no Date field in the text layer"
    label = lines[label_idx]
    value = _DATE_LABEL.split(label.text, maxsplit=1)[1].strip()
    candidates = [value]
    if label_idx > 0:
        above = lines[label_idx - 1]
        if label.top - above.bottom < 1.5 * (label.bottom - label.top) and \
                not _LABEL.match(above.text) and not _FOOTER.match(above.text):
            candidates.append(above.text)
    raw = next((c for c in candidates if len(re.sub(r"[^A-Za-z0-9]", "", c)) >= 3), None)
    if raw and not dates:
        note = "the Date field holds text that does not read as a date"
        if digital:
            note += " (a digital signature is present; its date stamp is not readable)"
        dates.append(SignatureDate(_norm(raw), None, party, label.page, "unreadable", note))
        return dates, f"{who} signature date: not readable ({_norm(raw)!r})"
    if dates:
        return dates, f"{who} signature date: not readable ({dates[0].raw!r})"
    if digital:
        return dates, f"{who} signature date: a digital signature is present but its date " \
                      "could not be read from the text layer"
    return dates, f"{who} signature date: the Date field is blank in the text layer (a " \
                  "handwritten date is not in it)"


def _ice_lea_columns(left: list[TextLine], right: list[TextLine], page: int,
                     warnings: list[str]) -> tuple[str | None, str | None]:
    """Which 287(g) signature column is ICE's and which the LEA's ("For ICE" / "For the LEA"
    labels first, then ICE's names; the other column is the other party)."""
    (lp, lp_sure), (rp, rp_sure) = _column_party(left), _column_party(right)
    if lp == rp:
        if lp_sure and not rp_sure:
            rp = "LEA" if lp == "ICE" else "ICE"
        elif rp_sure and not lp_sure:
            lp = "LEA" if rp == "ICE" else "ICE"
        else:
            lp = rp = None
            warnings.append(f"page {page}: could not tell which signature column is ICE's")
    if lp is None and rp in ("ICE", "LEA"):
        lp = "LEA" if rp == "ICE" else "ICE"
    if rp is None and lp in ("ICE", "LEA"):
        rp = "LEA" if lp == "ICE" else "ICE"
    return lp, rp


def _named_columns(left: list[TextLine], right: list[TextLine], parties: list[Party]
                   ) -> tuple[str | None, str | None]:
    """Any other agreement: a column is a party's when that party's name is printed in it."""
    def key(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower())

    names = [p.name for p in parties if len(key(p.name)) >= 4]
    found = []
    for lines in (left, right):
        text = key(" ".join(ln.text for ln in lines))
        hits = [n for n in names if key(n) in text]
        found.append(hits[0] if len(hits) == 1 else None)
    lp, rp = found
    if lp == rp:
        return None, None
    if len(names) == 2:
        if lp is None and rp is not None:
            lp = next(n for n in names if n != rp)
        elif rp is None and lp is not None:
            rp = next(n for n in names if n != lp)
    return lp, rp


def _signature_block(doc: _Doc, pages: dict[int, PageText], parties: list[Party],
                     is_287g: bool, warnings: list[str], missing: list[str]
                     ) -> tuple[list[SignatureDate], int | None, int | None]:
    """(dates, page of the block, offset in doc.text where the block starts)."""
    # the last anchor: a sentence quoted earlier in the text would not be the block
    anchors = list(_ANCHOR.finditer(doc.flat))
    m = anchors[-1] if anchors else None
    if m is None:
        missing.append("signature block (no 'By signing this ...' / 'IN WITNESS WHEREOF')")
        return [], None, None
    first = doc.line_at(m.start())
    page = doc.lines[first].page
    # the anchor paragraph ends at the first line ending with a full stop
    start = first
    while start < len(doc.lines) and doc.lines[start].page == page and \
            not doc.lines[start].text.rstrip().endswith("."):
        start += 1
    block = [ln for ln in doc.lines[start + 1:] if ln.page == page]
    block = [ln for ln in block if not re.match(r"^\s*APPENDIX\b", ln.text)]
    height = pages[page].height
    body = [ln for ln in block if ln.top < 0.93 * height and not _FOOTER.match(ln.text)]
    if not body:
        missing.append(f"signature block on page {page}: no text after the signing sentence")
        return [], page, doc.starts[first]
    split = _split_x(body, pages[page].width)
    left, right = _column_lines(body, split)
    if is_287g:
        lp, rp = _ice_lea_columns(left, right, page, warnings)
    else:
        lp, rp = _named_columns(left, right, parties)
    dates: list[SignatureDate] = []
    for lines, party in ((left, lp), (right, rp)):
        found, note = _column_dates(lines, party)
        dates.extend(found)
        if note:
            missing.append(note)
    for approved in _APPROVED.finditer(doc.flat):
        for found in find_dates(approved.group(1)):
            dates.append(SignatureDate(found.raw, found.iso, None, doc.page_at(approved.start()),
                                       "approval_stamp", "an APPROVED stamp, not a signature"))
    return dates, page, doc.starts[first]


def _effective(dates: list[SignatureDate]) -> tuple[str | None, str]:
    by_party: dict[str, list[SignatureDate]] = {}
    for d in dates:
        if d.iso and d.party and d.kind in ("typed", "digital_signature"):
            by_party.setdefault(d.party, []).append(d)
    if len(by_party) < 2:
        return None, ("not determined: the signature dates of both parties could not be read "
                      f"(readable: {', '.join(sorted(by_party)) or 'none'})")
    latest = {p: max(ds, key=lambda d: d.iso or "") for p, ds in by_party.items()}
    chosen = max(latest.values(), key=lambda d: d.iso or "")
    parts = ", ".join(f"{p} {d.iso} (page {d.page}, printed {d.raw!r})"
                      for p, d in sorted(latest.items()))
    return chosen.iso, f"the later of the two signature dates: {parts}"


# ---------------------------------------------------------------------------------------------
# Document-level extraction
# ---------------------------------------------------------------------------------------------


def _doc_type(doc: _Doc) -> tuple[str, list[str]]:
    scores: dict[str, int] = {}
    evidence: dict[str, list[str]] = {}
    head = doc.flat[:20000]
    for kind, patterns in _DOC_SIGNALS.items():
        for pattern in patterns:
            m = pattern.search(head) or pattern.search(doc.flat)
            if m:
                scores[kind] = scores.get(kind, 0) + 1
                evidence.setdefault(kind, []).append(
                    f"{_norm(m.group(0))!r} (page {doc.page_at(m.start())})")
    if scores.get("287g_moa", 0) >= 3 and re.search(r"287\s*\(\s*g\s*\)|1357\s*\(\s*g\s*\)",
                                                     doc.flat):
        return "287g_moa", evidence["287g_moa"]
    if not _AGREEMENT_WORDS.search(doc.flat):
        return "other", []
    # most signals wins; on a tie the more specific kind (DMV before ALPR before vendor)
    order = ("dmv_agreement", "alpr_sharing_mou", "vendor_contract")
    ranked = sorted((k for k in order if scores.get(k, 0) >= 2),
                    key=lambda k: (-scores[k], order.index(k)))
    if ranked:
        return ranked[0], evidence[ranked[0]]
    return "other", []


def _federal_mentions(doc: _Doc) -> list[FederalMention]:
    out = []
    for key, pattern in _FEDERAL:
        names: list[str] = []
        pages: set[int] = set()
        count = 0
        for m in pattern.finditer(doc.flat):
            if key == "DOJ" and not m.group(0).isupper():
                before = doc.flat[max(0, m.start() - 30):m.start()].split()
                if before and before[-1][:1].isupper() and before[-1] not in _FEDERAL_PREFIXES:
                    continue
            count += 1
            pages.add(doc.page_at(m.start()))
            name = _norm(m.group(0))
            if name not in names:
                names.append(name)
        if count:
            out.append(FederalMention(key, names, sorted(pages), count))
    return out


_DATA_HEADINGS = re.compile(r"REPORTING|RELEASE\s+OF\s+INFORMATION|LIABILITY|PRIVACY|RECORDS|"
                            r"\bDATA\b|INFORMATION|SECURITY|SUPERVISION|COSTS|NOMINATION|"
                            r"CONFIDENTIAL|ACCESS|SHARING|AUDIT|RETENTION", re.I)


def _provisions(doc: _Doc, sections: list[_Section], block_start: int | None
                ) -> tuple[list[Provision], list[Provision]]:
    termination: list[Provision] = []
    data: list[Provision] = []
    for sec in sections:
        end = sec.end
        if block_start is not None and sec.start <= block_start < end:
            end = block_start
        body = doc.flat[sec.start:end]
        if sec.heading and re.search(r"TERMINAT|DURATION", sec.heading, re.I):
            text = _norm(body)
            if text:
                termination.append(Provision(sec.heading, text, sec.page,
                                             notice_days=_notice_days(text)))
        kept: list[tuple[int, str]] = []
        topics: list[str] = []
        systems: list[str] = []
        for offset, sentence in _sentences(body, sec.start):
            hit = [k for k, p in _TOPICS if p.search(sentence)]
            if not hit or hit == ["records"] and not (sec.heading and
                                                      _DATA_HEADINGS.search(sec.heading)):
                continue
            kept.append((offset, _norm(sentence)))
            topics.extend(t for t in hit if t not in topics)
            systems.extend(_norm(s) for s in _SYSTEMS.findall(sentence)
                           if _norm(s) not in systems)
        if kept:
            data.append(Provision(sec.heading, " ".join(s for _, s in kept),
                                  doc.page_at(kept[0][0]), topics, systems))
    if not termination:  # no TERMINATION heading: sentences about termination and notice
        for offset, sentence in _sentences(doc.flat[:block_start or len(doc.flat)], 0):
            if re.search(r"terminat", sentence, re.I) and re.search(r"notice", sentence, re.I):
                text = _norm(sentence)
                termination.append(Provision(None, text, doc.page_at(offset),
                                             notice_days=_notice_days(text)))
    return termination, data


def _layer_summary(pages: list[PageText]) -> str:
    classes = [p.layer for p in pages]
    if not any(c in _USABLE or c in ("cid", "junk") for c in classes):
        return "none"
    if "cid" in classes or sum(p.unreadable for p in pages) >= 20:
        return "cid"
    if "duplicated" in classes:
        return "duplicated"
    usable = [c for c in classes if c in _USABLE]
    return "ocr" if usable.count("ocr") * 2 >= len(usable) and usable else "born_digital"


def _page_warnings(pages: list[PageText]) -> list[str]:
    out = []
    for p in pages:
        if p.layer == "none":
            out.append(f"page {p.number}: no text layer (a scan needing OCR)")
        elif p.layer == "sparse":
            sample = " | ".join(ln.text for ln in p.lines)[:160]
            out.append(f"page {p.number}: a scan without OCR; only {p.chars} characters of text "
                       f"(form fields or stamps, not parsed): {sample!r}")
        elif p.layer == "cid":
            out.append(f"page {p.number}: {p.unreadable} of {p.chars} glyphs have no Unicode "
                       "mapping ((cid:NN) codes): the page cannot be read")
        elif p.layer == "junk":
            out.append(f"page {p.number}: the text layer is not readable text (wrong character "
                       "mapping)")
        elif p.unreadable:
            bad = [ln.text for ln in p.lines if _UNREADABLE in ln.text]
            sample = "; ".join(_norm(t)[:60] for t in bad[:3])
            out.append(f"page {p.number}: {p.unreadable} glyph(s) without a Unicode mapping on "
                       f"{len(bad)} line(s), shown as U+FFFD: {sample!r}")
        if p.layer == "duplicated":
            out.append(f"page {p.number}: duplicated text layer; {p.duplicates} repeated "
                       "characters removed")
    return out


_MARGIN_FURNITURE = re.compile(r"^\s*(?:\d{1,3}|Page\s+\d+(?:\s+of\s+\d+)?|-\s*\d+\s*-)\s*$|"
                               r"\bRevised\s+[\d/]+\s*$", re.I)


def _strip_furniture(pages: list[PageText]) -> list[TextLine]:
    """Lines of the readable pages without running headers and footers: a line in the top 6 %
    or bottom 10 % of a page that is a page number / "Revised <date>", or whose text (digits
    ignored) recurs in the margins of at least three pages."""
    def key(ln: TextLine) -> str:
        return re.sub(r"\d+", "#", _norm(ln.text)).lower()

    def in_margin(p: PageText, ln: TextLine) -> bool:
        return ln.bottom < 0.06 * p.height or ln.top > 0.90 * p.height

    seen: Counter[str] = Counter()
    for p in pages:
        seen.update({key(ln) for ln in p.lines if in_margin(p, ln)})
    out = []
    for p in pages:
        for ln in p.lines:
            if in_margin(p, ln) and (_MARGIN_FURNITURE.search(ln.text) or seen[key(ln)] >= 3):
                continue
            out.append(ln)
    return out


def _parse_pages(pages: list[PageText], filename: str | None) -> Agreement:
    result = Agreement(status="ok", pages=len(pages), page_layers=[p.layer for p in pages],
                       text_layer=_layer_summary(pages), source_name=filename)
    result.warnings.extend(_page_warnings(pages))
    usable = [p for p in pages if p.layer in _USABLE]
    unusable = [p for p in pages if p.layer not in _USABLE]
    if not usable:
        classes = Counter(p.layer for p in pages)
        if classes["cid"] and classes["cid"] >= classes["junk"] and not classes["none"] + \
                classes["sparse"]:
            result.status = "cid_glyphs"
        elif classes["junk"] and not classes["none"] + classes["sparse"]:
            result.status = "unreadable_text"
        else:
            result.status = "needs_ocr"
        result.missing.append("everything: no page has a readable text layer")
        return result
    doc = _Doc(_strip_furniture(usable))
    by_number = {p.number: p for p in pages}
    result.doc_type, result.doc_type_evidence = _doc_type(doc)
    if result.doc_type == "287g_moa":
        result.model, result.model_evidence = _find_model(doc, filename, result.warnings)
        if result.model is None:
            result.missing.append("287(g) model (no title line, phrase or file-name token)")
    result.parties = _find_parties(doc, result.doc_type, result.warnings)
    result.federal_agencies_named = _federal_mentions(doc)
    sections = _sections(doc)
    dates, _block_page, block_start = _signature_block(
        doc, by_number, result.parties, result.doc_type == "287g_moa", result.warnings,
        result.missing)
    result.signature_dates = dates
    result.effective_date, result.effective_date_basis = _effective(dates)
    if result.effective_date is None:
        result.missing.append("effective date (" + result.effective_date_basis + ")")
    result.termination, result.data_provisions = _provisions(doc, sections, block_start)
    if not result.parties:
        result.missing.append("parties")
    if not result.termination:
        result.missing.append("termination provisions")
    core = result.doc_type != "other" and bool(result.parties) and block_start is not None
    if not core and result.doc_type == "other" and not result.parties and block_start is None:
        result.status = "needs_ocr" if unusable else "not_an_agreement"
        if unusable:
            result.warnings.append(f"only {len(usable)} of {len(pages)} page(s) have a readable "
                                   "text layer, and no agreement fields were found in them")
    elif not core and unusable and not result.parties:
        # a few readable pages of a scan: not enough to call the parse partial
        result.status = "needs_ocr"
        result.warnings.append(f"only {len(usable)} of {len(pages)} page(s) have a readable "
                               "text layer; the parties were not found in them")
    elif not core or unusable or any(p.unreadable for p in usable):
        result.status = "partial"
    if result.doc_type == "other" and result.status == "ok":
        result.status = "partial"
    return result


def _parse_source(source: Source, filename: str | None) -> Agreement:
    """In-process parse of a readable PDF (run in a limited child by parse_agreement)."""
    return _parse_pages(read_pages(source), filename)


def _source_name(source: Source, filename: str | None) -> str | None:
    if filename:
        return filename
    if isinstance(source, bytes):
        return None
    return Path(source).name


def _with_ocr(source: Source, name: str | None, timeout_s: float | None,
              memory_mb: float | None, isolate: bool, first: Agreement) -> Agreement:
    with tempfile.TemporaryDirectory(prefix="agreement-ocr-") as tmp:
        src = Path(tmp) / "in.pdf"
        if isinstance(source, bytes):
            src.write_bytes(source)
        else:
            src = Path(source)
        dst = Path(tmp) / "ocr.pdf"
        if not run_ocr(src, dst, timeout_s=timeout_s or 1800):
            first.warnings.append("ocrmypdf is installed but could not OCR the file")
            return first
        again = _run(str(dst), name, timeout_s, memory_mb, isolate)
    again.ocr = True
    again.warnings.insert(0, "the text was produced by OCR (ocrmypdf) from page images: every "
                             "value is machine-read and must be checked against the page")
    return again


def _run(source: Source, name: str | None, timeout_s: float | None, memory_mb: float | None,
         isolate: bool) -> Agreement:
    if not isolate:
        return _parse_source(source, name)
    try:
        return run_limited(_parse_source, source, name, timeout_s=timeout_s, memory_mb=memory_mb)
    except PdfJobError as exc:
        return Agreement(status=exc.status, warnings=[exc.message], source_name=name)


def parse_agreement(source: Source, *, filename: str | None = None, ocr: bool | None = None,
                    timeout_s: float | None = 300, memory_mb: float | None = 2048,
                    isolate: bool = True) -> Agreement:
    """Parse an agreement PDF (a path or the bytes). Never raises for bad input.

    ``filename`` names the file when bytes are given (its model token, e.g. ``_TFM_``, is
    evidence). ``ocr``: None = when the result is ``needs_ocr`` and ``ocrmypdf`` is installed,
    OCR the file into a temporary copy and parse that (``ocr=True`` on the result); True = the
    same, also for a ``partial`` result with pages lacking text, and a warning when ocrmypdf is
    not installed; False = never. With ``isolate`` the parse runs in a child process under
    ``timeout_s`` and ``memory_mb``.
    """
    name = _source_name(source, filename)
    check = pdf_status(source)
    if check.status in _FATAL_PDF_STATUSES:
        return Agreement(status=check.status, pages=check.pages or 0, warnings=[check.reason],
                         source_name=name)
    result = _run(source, name, timeout_s, memory_mb, isolate)
    if check.status != "ok":
        result.warnings.append(f"pdf_status: {check.status}: {check.reason}")
    wants_ocr = result.status == "needs_ocr" or (result.status == "partial" and any(
        layer in ("none", "sparse") for layer in result.page_layers) and ocr)
    if wants_ocr and ocr is not False:
        if ocr_available():
            return _with_ocr(source, name, timeout_s, memory_mb, isolate, result)
        if ocr:
            result.warnings.append("OCR was requested but ocrmypdf is not installed")
    return result
