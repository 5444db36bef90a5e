"""Flock "Organization Audit" PDF exports: who ran which plate searches, when, and why.

The export we have (Okaloosa County FL SO, Nov-Dec 2025, 809 pages, 7,273 rows) is a CSV opened
in Excel and printed to PDF. That shapes everything here:

* no ruling lines, and the header row is printed on page 1 only;
* cells wrap over several lines and are **bottom-aligned**: a row's single-line cells sit on its
  last line and its wrapped cells stack upward from there (in this file only the Time Frame
  wraps, over six lines), so lines of ``extract_text()`` interleave rows;
* adjacent cells can touch: a right-aligned "Total Devices Searched" ends 2.4 pt before the Time
  Frame's last line starts, and pdfplumber's words glue them into ``17652UTC``.

So the parser works on characters with their boxes, not on words or text lines: characters are
grouped into lines, each line into *runs* of touching characters (the file prints real space
characters, so a cell's text is one run), runs are assigned to the column whose header starts
at or left of the run's start, and lines are assigned to rows around an *anchor* line per row
(the line holding the row's search UUID). Columns are discovered from the header row, so exports
with other columns still parse; unknown columns land in ``AuditRecord.extra``.

Characters come from pdfium (pypdfium2) by default: it gives the same characters and x positions
as pdfplumber (checked on every page of both Okaloosa PDFs: same text, x0 within 0.001 pt, except
that pdfium drops the second of two adjacent spaces, which cannot change a whitespace-normalised
value) at about a tenth of the cost. ``backend="pdfplumber"`` is the reference path; the two
give identical records for all 809 pages (tests compare sample pages; the bench, everything).

Values are whitespace-normalised (runs of spaces become one space, ends trimmed), which is what
joining pdfplumber's words with single spaces gives ("Walmart orc  black malibu" is printed with
two spaces and read with one). A wrapped cell's lines are joined with one space: Excel keeps the
space it broke a line at (every wrapped line in these files ends with one), and a short line
without one is a line break typed into the cell (the Time Frame's "UTC" / "11/14/2025, ..."). Only
a line that ends at the column's right edge without a space was broken inside a word: it is
joined without a space and reported in the warnings.

Note for readers of the Okaloosa export: every row's Org Name is "Okaloosa County FL SO". As
printed, it attributes all 7,273 searches (each across 1 to 6,709 networks) to the sheriff's own
organisation and names no other searching agency.
"""

from __future__ import annotations

import ctypes
import math
import re
import statistics
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple, Protocol, TypeVar

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from parsers.pdf.pdf_status import pdf_status
from parsers.pdf.pdf_worker import JobOutcome, PdfJobError, run_job, run_many

# Recorded with every document this parser reads (Flock 'Organization Audit' PDF exports):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "audit_pdf/1"

__all__ = [
    "AuditExport",
    "AuditRecord",
    "Glyph",
    "Line",
    "Run",
    "SheetLayout",
    "SheetRow",
    "find_layout",
    "group_lines",
    "is_org_audit",
    "iter_page_glyphs",
    "line_cells",
    "norm_text",
    "parse_org_audit",
    "parse_org_audit_pages",
    "read_audit_layout",
    "sheet_rows",
    "text_lines",
]

BACKENDS = ("pdfium", "pdfplumber")

# ---------------------------------------------------------------------------------------------
# Characters, lines, runs: the printed-spreadsheet reader shared with sharing_pdf.py
# ---------------------------------------------------------------------------------------------


class Glyph(NamedTuple):
    """One printed character; points from the top-left corner of the page as displayed."""

    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass(frozen=True, slots=True)
class Run:
    """Touching characters on one line (a cell's text, spaces included)."""

    text: str
    x0: float
    x1: float


@dataclass(slots=True)
class Line:
    """Characters sharing a baseline, split into runs, left to right."""

    top: float
    bottom: float
    runs: list[Run]


def _page_text(textpage: Any, count: int) -> str | None:
    """All characters of a text page in one call: one UTF-16 unit per character index, or None
    when that does not hold (characters outside the BMP), so the caller asks per character."""
    buffer = ctypes.create_string_buffer(2 * (count + 1))
    written = pdfium_c.FPDFText_GetText(textpage, 0, count,
                                        ctypes.cast(buffer, ctypes.POINTER(ctypes.c_ushort)))
    text = buffer.raw[: 2 * max(0, written - 1)].decode("utf-16-le", "surrogatepass")
    return text if len(text) == count else None


def _pdfium_glyphs(page: pdfium.PdfPage) -> list[Glyph]:
    """Characters of a page from pdfium's text page, in pdfplumber's coordinate frame.

    Loose boxes are used because their left/right edges are the glyph origin and advance, as in
    pdfminer (tight boxes hug the ink). Characters pdfium generates (spaces and line breaks it
    infers from gaps) are skipped: pdfplumber does not see them. Coordinates are relative to
    the MediaBox's corner, turned by the page's /Rotate, as pdfminer does.
    """
    rotation = page.get_rotation() % 360
    mx0, my0, mx1, my1 = page.get_mediabox()
    textpage = page.get_textpage()
    try:
        raw = textpage.raw
        count = pdfium_c.FPDFText_CountChars(raw)
        text = _page_text(raw, count)
        if text is None:
            codes = [pdfium_c.FPDFText_GetUnicode(raw, i) for i in range(count)]
            text_list = [chr(c) if c else "\ufffd" for c in codes]
        else:
            text_list = list(text)
        rect = pdfium_c.FS_RECTF()
        get_box = pdfium_c.FPDFText_GetLooseCharBox
        is_generated = pdfium_c.FPDFText_IsGenerated
        boxes: list[tuple[str, float, float, float, float]] = []
        for i, ch in enumerate(text_list):
            # Only whitespace can be generated; asking for every character would cost 2x.
            if (ch in " \r\n" and is_generated(raw, i) == 1) or not get_box(raw, i, rect):
                continue
            boxes.append((ch if ch != "\x00" else "\ufffd", rect.left, rect.right, rect.bottom,
                          rect.top))
    finally:
        textpage.close()
    make = Glyph._make
    if rotation == 90:
        return [make((c, b - my0, t - my0, left - mx0, r - mx0)) for c, left, r, b, t in boxes]
    if rotation == 180:
        return [make((c, mx1 - r, mx1 - left, b - my0, t - my0)) for c, left, r, b, t in boxes]
    if rotation == 270:
        return [make((c, my1 - t, my1 - b, mx1 - r, mx1 - left)) for c, left, r, b, t in boxes]
    return [make((c, left - mx0, r - mx0, my1 - t, my1 - b)) for c, left, r, b, t in boxes]


def _plumber_glyphs(page: Any) -> list[Glyph]:
    return [Glyph(c["text"], float(c["x0"]), float(c["x1"]), float(c["top"]),
                  float(c["bottom"])) for c in page.chars]


def iter_page_glyphs(path: str | Path, first_page: int, last_page: int,
                     backend: str = "pdfium") -> Iterator[tuple[int, list[Glyph]]]:
    """Yield (1-based page number, characters) for a page range, closing each page when done."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose from {BACKENDS}")
    if backend == "pdfplumber":
        counter = pdfium.PdfDocument(str(path))  # cheap; pdfplumber wants explicit pages
        try:
            count = len(counter)
        finally:
            counter.close()
        wanted = list(range(max(1, first_page), min(last_page, count) + 1))
        if not wanted:
            return
        with pdfplumber.open(path, pages=wanted) as pdf:
            for page in pdf.pages:
                try:
                    glyphs = _plumber_glyphs(page)
                finally:
                    page.close()
                yield page.page_number, glyphs
        return
    doc = pdfium.PdfDocument(str(path))
    try:
        for number in range(first_page, min(last_page, len(doc)) + 1):
            page = doc[number - 1]
            try:
                glyphs = _pdfium_glyphs(page)
            finally:
                page.close()
            yield number, glyphs
    finally:
        doc.close()


def _fix_surrogates(text: str) -> str:
    if any("\ud800" <= ch <= "\udfff" for ch in text):
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


_X0 = itemgetter(1)


def _twice_centre(g: Glyph) -> float:
    return g.top + g.bottom


class _Boxed(Protocol):
    top: float
    bottom: float


B = TypeVar("B", bound=_Boxed)


def rows_by_centre(items: Sequence[B], heights_from: Sequence[B] | None = None) -> list[list[B]]:
    """Characters on one printed line: grouped by vertical centre, within half the median
    character height (shared by every position-based PDF reader here)."""
    ordered = sorted(items, key=lambda g: g.top + g.bottom)
    heights = [g.bottom - g.top for g in (heights_from or ordered) if g.bottom > g.top]
    tolerance = 0.5 * (statistics.median(heights) if heights else 1.0)
    groups: list[list[B]] = [[ordered[0]]]
    centre = (ordered[0].top + ordered[0].bottom) / 2
    for g in ordered[1:]:
        mid = (g.top + g.bottom) / 2
        if mid - centre > tolerance:
            groups.append([g])
            centre = mid
        else:
            groups[-1].append(g)
    return groups


def group_lines(glyphs: Sequence[Glyph], join_gap: float = 0.5) -> list[Line]:
    """Group characters into lines (by vertical centre) and each line into runs.

    Characters join a run when they touch (gap <= ``join_gap`` pt; kerning gives small negative
    gaps), or when the gap follows a space and is at most one space wide (pdfium drops the second
    of two adjacent spaces; without this the run would split there).
    """
    if not glyphs:
        return []
    groups = rows_by_centre(glyphs)
    lines: list[Line] = []
    for group in groups:
        group.sort(key=_X0)
        runs: list[Run] = []
        start, x1, prev = 0, group[0].x1, group[0]
        for k in range(1, len(group)):
            g = group[k]
            gap = g.x0 - x1
            if gap > join_gap and not (prev.text.isspace()
                                       and gap <= 1.2 * (prev.x1 - prev.x0) + join_gap):
                runs.append(Run(_fix_surrogates("".join([c.text for c in group[start:k]])),
                                group[start].x0, x1))
                start, x1 = k, g.x1
            elif g.x1 > x1:
                x1 = g.x1
            prev = g
        runs.append(Run(_fix_surrogates("".join([c.text for c in group[start:]])),
                        group[start].x0, x1))
        lines.append(Line(min(g.top for g in group), max(g.bottom for g in group), runs))
    return lines


def norm_text(text: str) -> str:
    """Runs of whitespace -> one space, ends trimmed (what pdfplumber words joined by ' ' give)."""
    return " ".join(text.split())


@dataclass(frozen=True, slots=True)
class SheetLayout:
    """Columns of a printed spreadsheet, read from its header row.

    ``lefts`` are where each column's text starts (the header cell's first character, which in
    these files is where the data cells start too); a run belongs to the last column whose left
    edge, less ``slack`` points, is at or left of the run's start.
    """

    columns: tuple[str, ...]
    lefts: tuple[float, ...]
    header_page: int
    header_bottom: float
    slack: float = 1.5

    def column_at(self, x: float) -> int:
        return max(0, bisect_right(self.lefts, x + self.slack) - 1)


def find_layout(lines: Sequence[Line], page: int,
                accept: Callable[[list[str]], bool]) -> SheetLayout | None:
    """The first line whose cells ``accept`` approves is the header (its bottom line, if wrapped).

    Lines directly above it whose runs all start at a column's left edge are the upper lines of
    wrapped header cells (Excel bottom-aligns the header row too) and are prefixed to the names.
    """
    for index, line in enumerate(lines):
        cells = [(norm_text(r.text), r.x0) for r in line.runs if norm_text(r.text)]
        if not cells or not accept([c for c, _ in cells]):
            continue
        names = [c for c, _ in cells]
        lefts = [x for _, x in cells]
        height = line.bottom - line.top
        below = line
        for above in reversed(lines[:index]):
            if below.top - above.bottom > 0.6 * height:
                break
            parts = [(norm_text(r.text), r.x0) for r in above.runs if norm_text(r.text)]
            slots = [min(range(len(lefts)), key=lambda k, x=x: abs(lefts[k] - x))
                     for _, x in parts]
            if not parts or any(abs(lefts[k] - x) > 2.0 for k, (_, x) in zip(slots, parts,
                                                                             strict=True)):
                break
            for k, (text, _) in zip(slots, parts, strict=True):
                names[k] = f"{text} {names[k]}"
            below = above
        return SheetLayout(tuple(names), tuple(lefts), page, line.bottom)
    return None


@dataclass(slots=True)
class SheetRow:
    """One spreadsheet row: each column's text (normalised; "" when blank) and where it was."""

    page: int
    cells: list[str]
    top: float
    broken_words: list[int] = field(default_factory=list)  # columns joined mid-word


def line_cells(line: Line, layout: SheetLayout) -> dict[int, tuple[str, float]]:
    """Raw text and right edge per column on one line. Runs of one column farther apart than
    3 pt get a space (pdfplumber's word tolerance); closer ones are glued (kerning, no space)."""
    cells: dict[int, list[Run]] = {}
    for run in line.runs:
        cells.setdefault(layout.column_at(run.x0), []).append(run)
    out: dict[int, tuple[str, float]] = {}
    for col, runs in cells.items():
        text = runs[0].text
        for prev, run in zip(runs, runs[1:], strict=False):
            text += (" " if run.x0 - prev.x1 > 3.0 else "") + run.text
        if text.strip():
            out[col] = (text, runs[-1].x1)
    return out


def sheet_rows(lines: Sequence[Line], layout: SheetLayout, page: int,
               is_anchor: Callable[[dict[int, str]], bool],
               warnings: list[str]) -> list[SheetRow]:
    """Assign a page's lines to rows around anchor lines (one per row) and join wrapped cells.

    A cell's lines are joined with one space, except after a line broken inside a word (see
    below), which is glued and flagged in ``SheetRow.broken_words``. A line that ends short of
    the column edge without a space is a line break typed into the cell (the Time Frame's
    "... UTC" / "11/14/2025, ..."): a space. Rows are bottom-aligned in the exports seen
    (wrapped text sits above the anchor line); a page
    whose text continues below its last anchor and not above its first is read as top-aligned.
    Text separated from the table by a gap of over 2.5 lines (page headers or footers) and lines
    that belong to no row are left out and reported in ``warnings``.
    """
    body = [ln for ln in lines if not (page == layout.header_page
                                       and ln.bottom <= layout.header_bottom + 0.5)]
    per_line = [line_cells(ln, layout) for ln in body]
    # A header printed again on a later page (Excel "rows to repeat at top"): drop it and above.
    texts_per_line = [{c: t for c, (t, _) in cells.items()} for cells in per_line]
    for i, texts in enumerate(texts_per_line):
        if [norm_text(texts.get(k, "")) for k in range(len(layout.columns))] == \
                list(layout.columns):
            body, per_line = body[i + 1:], per_line[i + 1:]
            texts_per_line = texts_per_line[i + 1:]
            break
    anchors = [i for i, texts in enumerate(texts_per_line) if is_anchor(texts)]
    if not anchors:
        if body:
            warnings.append(f"page {page}: {len(body)} line(s) of text but no table rows")
        return []
    pitch = statistics.median([b.top - a.top for a, b in zip(body, body[1:], strict=False)]
                              or [body[0].bottom - body[0].top])
    first, last = anchors[0], anchors[-1]
    start, stop = first, last + 1
    while start > 0 and body[start].top - body[start - 1].top <= 2.5 * pitch:
        start -= 1
    while stop < len(body) and body[stop].top - body[stop - 1].top <= 2.5 * pitch:
        stop += 1
    outside = start + (len(body) - stop)
    if outside:
        warnings.append(f"page {page}: {outside} line(s) outside the table left out")
    above, below = first > start, stop - 1 > last
    bottom_aligned = not (below and not above)
    groups: list[list[int]] = []
    if bottom_aligned:
        prev = start - 1
        for a in anchors:
            groups.append(list(range(prev + 1, a + 1)))
            prev = a
        orphans = list(range(last + 1, stop))
    else:
        for n, a in enumerate(anchors):
            end = anchors[n + 1] if n + 1 < len(anchors) else stop
            groups.append(list(range(a, end)))
        orphans = list(range(start, first))
    if orphans:
        cols = sorted({layout.columns[c] for i in orphans for c in per_line[i]})
        where = "below the last row" if bottom_aligned else "above the first row"
        warnings.append(f"page {page}: {len(orphans)} line(s) {where} could not be assigned to a "
                        f"row (columns: {', '.join(cols)})")
    # Does this page's printer keep the space it broke a line at? (Evidence for joining.)
    keeps_break_spaces = any(
        per_line[i][c][0][-1:].isspace()
        for group in groups for n, i in enumerate(group[:-1])
        for c in per_line[i] if any(c in per_line[j] for j in group[n + 1:]))
    # About one character's width: the line pitch is the same for both backends (glyph
    # heights are not: pdfium's boxes use the font ascent, pdfminer's the font size).
    em = 0.8 * pitch
    rights = [*(left - layout.slack for left in layout.lefts[1:]), math.inf]
    rows: list[SheetRow] = []
    for group in groups:
        texts: dict[int, str] = {}
        mid_word: dict[int, bool] = {}
        row = SheetRow(page, [], body[group[-1] if bottom_aligned else group[0]].top)
        for i in group:
            for col, (raw, x1) in per_line[i].items():
                piece = norm_text(raw)
                if col not in texts:
                    texts[col] = piece
                elif mid_word[col]:
                    texts[col] += piece
                    row.broken_words.append(col)
                else:
                    texts[col] += " " + piece
                # A line that ends without the printed break space, at the column's right edge,
                # on a page whose other breaks keep their space, was broken inside a word.
                mid_word[col] = (keeps_break_spaces and not raw[-1:].isspace()
                                 and x1 >= rights[col] - em)
        row.cells = [texts.get(k, "") for k in range(len(layout.columns))]
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# The Organization Audit
# ---------------------------------------------------------------------------------------------

# Header name (lower case, single spaces) -> AuditRecord field.
KNOWN_COLUMNS: dict[str, str] = {
    "id": "search_id",
    "org name": "org_name",
    "total networks searched": "networks_searched",
    "total devices searched": "devices_searched",
    "time frame": "time_frame",
    "reason": "reason",
    "search time": "searched_at",
    "search type": "search_type",
    "moderation": "moderation",
}
# Labels that mark an audit header line (the FOIA "Network Audit" variant has some of the latter).
_AUDIT_LABELS = ("total networks searched", "total devices searched", "time frame", "reason",
                 "search time", "search type", "moderation", "license plate", "case #",
                 "camera count", "text prompt", "filters")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_DT_RE = re.compile(
    r"(?P<mo>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4}),?\s+(?P<h>\d{1,2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2}))?(?:\s*(?P<ampm>[AP]M))?(?:\s+(?P<tz>UTC|GMT|Z)\b)?", re.I)
_INT_RE = re.compile(r"^\d{1,3}(?:,\d{3})+$|^\d+$")


@dataclass(slots=True)
class AuditRecord:
    """One plate search (one row of the audit export), as printed.

    ``*_raw`` keep the printed text; the ISO fields are None when the printed value has no
    explicit UTC label or cannot be read (a warning says which). ``extra`` holds columns this
    parser does not know, keyed by snake_case header ("License Plate" -> ``license_plate``,
    which callers must hash and never log).
    """

    search_id: str | None
    org_name: str | None
    networks_searched: int | None
    devices_searched: int | None
    time_frame_start: str | None
    time_frame_end: str | None
    time_frame_raw: str | None
    reason: str | None
    searched_at: str | None
    searched_at_raw: str | None
    search_type: str | None
    moderation: str | None
    page: int
    extra: dict[str, str | None] = field(default_factory=dict)


@dataclass(slots=True)
class AuditExport:
    """A whole export: rows in page order, the header as printed, and what went wrong.

    ``status`` is "ok" (every page parsed; row-level problems are in ``warnings``), "partial"
    (some page ranges failed: see warnings), "failed" (all failed), "not_an_audit" (no audit
    header on page 1), or a pdf_status() status when the file could not be read at all.
    ``worker_peak_rss_mb`` is each child's peak RSS (the page-1 header job, then each chunk).
    """

    records: list[AuditRecord]
    columns: list[str]
    pages: int
    warnings: list[str]
    status: str
    worker_peak_rss_mb: list[float] = field(default_factory=list)


def _label(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def text_lines(words_or_text: str | Sequence[Any]) -> list[str]:
    """Text lines from a string, from pdfplumber word dicts (grouped by ``top``), or strings."""
    if isinstance(words_or_text, str):
        return words_or_text.splitlines()
    items = list(words_or_text)
    if all(isinstance(w, str) for w in items):
        return [" ".join(items)] if items else []
    rows: list[tuple[float, list[tuple[float, str]]]] = []
    for w in sorted(items, key=lambda w: (float(w["top"]), float(w["x0"]))):
        if rows and abs(float(w["top"]) - rows[-1][0]) <= 3:
            rows[-1][1].append((float(w["x0"]), str(w["text"])))
        else:
            rows.append((float(w["top"]), [(float(w["x0"]), str(w["text"]))]))
    return [" ".join(t for _, t in sorted(parts)) for _, parts in rows]


def _header_score(text: str) -> int:
    return sum(1 for label in _AUDIT_LABELS if label in text)


def is_org_audit(first_page_words_or_text: str | Sequence[Any]) -> bool:
    """True when page 1 carries the audit's header row (by content, never by file name).

    Accepts the page's text, pdfplumber word dicts, or a list of strings. The header is one
    printed line holding "Org Name" and at least three other audit column labels, so a letter
    that mentions an "Organization Audit" or a policy about license plates does not qualify.
    """
    for line in text_lines(first_page_words_or_text):
        text = _label(line)
        if re.search(r"\borg name\b", text) and _header_score(text) >= 3:
            return True
    return False


def _accept_audit_header(cells: list[str]) -> bool:
    labels = [_label(c) for c in cells]
    anchor = "id" in labels or "search time" in labels
    return anchor and "org name" in labels and sum(1 for c in labels if c in _AUDIT_LABELS) >= 2


def read_audit_layout(path: str | Path, backend: str = "pdfium") -> SheetLayout | None:
    """The audit's columns, from the header row on page 1 (None when there is none)."""
    for number, glyphs in list(iter_page_glyphs(path, 1, 1, backend)):
        return find_layout(group_lines(glyphs), number, _accept_audit_header)
    return None


def _extra_keys(columns: Sequence[str]) -> list[str | None]:
    """Per column: None for known columns, else a unique snake_case key for ``extra``."""
    keys: list[str | None] = []
    seen: set[str] = set()
    for name in columns:
        if _label(name) in KNOWN_COLUMNS:
            keys.append(None)
            continue
        key = re.sub(r"[^a-z0-9]+", "_", name.lower().replace("#", " number ")).strip("_")
        key = key or "column"
        base, n = key, 2
        while key in seen:
            key, n = f"{base}_{n}", n + 1
        seen.add(key)
        keys.append(key)
    return keys


def _iso(match: re.Match[str]) -> str | None:
    """ISO-8601 UTC for a printed "MM/DD/YYYY, hh:mm:ss AM UTC"; None without a UTC label."""
    if not match.group("tz"):
        return None
    hour = int(match.group("h"))
    ampm = (match.group("ampm") or "").upper()
    if ampm:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        value = datetime(int(match.group("y")), int(match.group("mo")), int(match.group("d")),
                         hour, int(match.group("mi")), int(match.group("s") or 0))
    except ValueError:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(text: str) -> int | None:
    return int(text.replace(",", "")) if _INT_RE.match(text) else None


def _record(row: SheetRow, layout: SheetLayout, keys: Sequence[str | None],
            warnings: list[str]) -> AuditRecord:
    known: dict[str, str] = {}
    extra: dict[str, str | None] = {}
    for name, key, value in zip(layout.columns, keys, row.cells, strict=True):
        if key is None:
            known[KNOWN_COLUMNS[_label(name)]] = value
        else:
            extra[key] = value or None
    sid = known.get("search_id") or None
    who = f"page {row.page}, search {sid}" if sid else f"page {row.page}, row at y={row.top:.0f}"
    problems: list[str] = []

    def number(field_name: str) -> int | None:
        text = known.get(field_name)
        if not text:
            return None
        value = _int(text)
        if value is None:
            problems.append(f"{field_name} is not a whole number")
        return value

    networks, devices = number("networks_searched"), number("devices_searched")
    searched_raw = known.get("searched_at") or None
    searched_at = None
    if searched_raw:
        m = _DT_RE.fullmatch(searched_raw)
        searched_at = _iso(m) if m else None
        if searched_at is None:
            problems.append("Search Time is not a UTC date and time")
    frame_raw = known.get("time_frame") or None
    start = end = None
    if frame_raw:
        found = list(_DT_RE.finditer(frame_raw))
        if len(found) == 2:
            start, end = _iso(found[0]), _iso(found[1])
        if start is None or end is None:
            problems.append("Time Frame is not two UTC dates and times")
    for col in sorted(set(row.broken_words)):
        name = layout.columns[col]
        shown = "a column" if keys[col] == "license_plate" else name
        problems.append(f"{shown} has a line that ends without a space (joined as one word)")
    if any("\ufffd" in (v or "") for v in row.cells):
        problems.append("text with characters that have no Unicode mapping")
    for problem in problems:
        warnings.append(f"{who}: {problem}")
    return AuditRecord(
        search_id=sid, org_name=known.get("org_name") or None, networks_searched=networks,
        devices_searched=devices, time_frame_start=start, time_frame_end=end,
        time_frame_raw=frame_raw, reason=known.get("reason") or None, searched_at=searched_at,
        searched_at_raw=searched_raw, search_type=known.get("search_type") or None,
        moderation=known.get("moderation") or None, page=row.page, extra=extra)


def _anchor_test(layout: SheetLayout) -> Callable[[dict[int, str]], bool]:
    labels = [_label(c) for c in layout.columns]
    if "id" in labels:
        col, pattern = labels.index("id"), _UUID_RE
    else:
        col, pattern = labels.index("search time"), _DT_RE

    def is_anchor(cells: dict[int, str]) -> bool:
        text = cells.get(col)
        return bool(text) and pattern.fullmatch(norm_text(text)) is not None

    return is_anchor


def parse_org_audit_pages(path: str | Path, first_page: int, last_page: int,
                          layout: SheetLayout | None = None, backend: str = "pdfium",
                          ) -> tuple[list[AuditRecord], list[str]]:
    """Parse pages ``first_page..last_page`` (1-based, inclusive): one worker's chunk.

    Opens the file itself and closes each page when done, so it can run in a child process.
    ``layout`` comes from page 1 (read here when not given, since later pages have no header).
    """
    warnings: list[str] = []
    if layout is None:
        layout = read_audit_layout(path, backend)
        if layout is None:
            return [], ["page 1: no Organization Audit header row (ID, Org Name, ...) found"]
    keys = _extra_keys(layout.columns)
    is_anchor = _anchor_test(layout)
    labels = [_label(c) for c in layout.columns]
    id_col = labels.index("id") if "id" in labels else None
    records: list[AuditRecord] = []
    for number, glyphs in iter_page_glyphs(path, first_page, last_page, backend):
        lines = group_lines(glyphs)
        for row in sheet_rows(lines, layout, number, is_anchor, warnings):
            if id_col is not None and not _UUID_RE.fullmatch(row.cells[id_col]):
                # Text above the anchor in the ID column: keep the row's own (last) UUID.
                warnings.append(f"page {number}: the ID column of the row at y={row.top:.0f} "
                                "holds more than a search ID; the last ID in it was kept")
                row.cells[id_col] = _UUID_RE.findall(row.cells[id_col])[-1]
            records.append(_record(row, layout, keys, warnings))
    return records, warnings


def _default_chunk(pages: int, workers: int) -> int:
    return max(20, math.ceil(pages / max(1, workers * 4)))


def parse_org_audit(path: str | Path, workers: int = 2,
                    progress: Callable[[int, int], None] | None = None, *,
                    timeout_s: float | None = None, memory_mb: float | None = 1024,
                    pages_per_chunk: int | None = None, backend: str = "pdfium",
                    start_method: str | None = None) -> AuditExport:
    """Parse a whole Organization Audit PDF in worker processes; rows come back in page order.

    The file is checked first (pdf_status). Pages are split into chunks run by at most
    ``workers`` child processes at a time, each under ``memory_mb`` of address space and
    ``timeout_s`` seconds (default: 60 s + 2 s per page of the chunk). A chunk that fails is
    reported in ``warnings`` with its page range and the export's status becomes "partial".
    ``progress(pages_done, pages_total)`` is called as chunks finish.
    """
    check = pdf_status(path)
    if not check.ok:
        return AuditExport([], [], check.pages or 0, [check.reason], check.status)
    pages = check.pages or 0

    def limit(n_pages: int) -> float:
        return timeout_s if timeout_s is not None else 60.0 + 2.0 * n_pages

    try:
        head: JobOutcome = run_job(read_audit_layout, path, backend, timeout_s=limit(1),
                                   memory_mb=memory_mb, start_method=start_method)
    except PdfJobError as exc:
        return AuditExport([], [], pages, [f"page 1: {exc.status}: {exc.message}"],
                           "failed")
    layout: SheetLayout | None = head.value
    if layout is None:
        return AuditExport([], [], pages, ["page 1 has no Organization Audit header row "
                                           "(ID, Org Name, ... on one line)"], "not_an_audit")
    size = pages_per_chunk or _default_chunk(pages, workers)
    ranges = [(a, min(pages, a + size - 1)) for a in range(1, pages + 1, size)]
    done = 0

    def on_done(index: int, outcome: JobOutcome | PdfJobError) -> None:
        nonlocal done
        done += ranges[index][1] - ranges[index][0] + 1
        if progress is not None:
            progress(done, pages)

    outcomes = run_many(parse_org_audit_pages,
                        [(str(path), a, b, layout, backend) for a, b in ranges],
                        workers=workers, timeout_s=limit(size), memory_mb=memory_mb,
                        start_method=start_method, on_done=on_done)
    export = AuditExport([], list(layout.columns), pages, [], "ok",
                         [head.peak_rss_mb])
    failed = 0
    for (a, b), outcome in zip(ranges, outcomes, strict=True):
        if isinstance(outcome, PdfJobError):
            failed += 1
            export.warnings.append(f"pages {a}-{b}: {outcome.status}: {outcome.message}; "
                                   "no rows from these pages")
            continue
        records, warnings = outcome.value
        export.records.extend(records)
        export.warnings.extend(warnings)
        export.worker_peak_rss_mb.append(outcome.peak_rss_mb)
    if failed:
        export.status = "failed" if failed == len(ranges) else "partial"
    ids = [r.search_id for r in export.records if r.search_id]
    if len(set(ids)) != len(ids):
        export.warnings.append(f"{len(ids) - len(set(ids))} search ID(s) appear more than once")
    return export


def column_texts(record: AuditRecord, layout_columns: Sequence[str]) -> Mapping[str, str | None]:
    """The record's values keyed by printed column name (for display and comparisons)."""
    keys = _extra_keys(layout_columns)
    out: dict[str, str | None] = {}
    fields = {"search_id": record.search_id, "org_name": record.org_name,
              "networks_searched": record.networks_searched,
              "devices_searched": record.devices_searched, "time_frame": record.time_frame_raw,
              "reason": record.reason, "searched_at": record.searched_at_raw,
              "search_type": record.search_type, "moderation": record.moderation}
    for name, key in zip(layout_columns, keys, strict=True):
        if key is None:
            value = fields[KNOWN_COLUMNS[_label(name)]]
            out[name] = None if value is None else str(value)
        else:
            out[name] = record.extra.get(key)
    return out
