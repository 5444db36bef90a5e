"""Vigilant Solutions LEARN / VehicleManager "Agency Data Sharing Report" PDFs.

The report lists, for one agency, who it shares plate-reader detections with and whom it
receives them from, and the same for hot lists. Two reports are in the corpus and both were read
page by page for this parser:

* Irvine PD, LEARN, created 03-02-20, 17 pages: a photocopy with an OCR text layer (Xerox);
* Orange County Sheriff's Department, VehicleManager, created 03-11-25, 9 pages, born-digital
  (iText) - filed in the corpus as ``flock/OCIAC_A1-A4_Data_Sharing.pdf``.

Layout: a page header (the LEARN logo, "Agency", "Data Sharing Report"), a footer ("Date
Created: 03-02-20 ... Page 2 of 17"), and up to four sections, each opened by a sentence:

* ``detections_shared``: "The <owner> Agency is Sharing its Detection data with the following
  Agencies:" then agency names in two left-aligned columns, filled row by row (alphabetical
  left, right, left, right ...); pdfplumber's text interleaves the columns, so each character is
  assigned to a column by its x position (a long left name can run into the right column with no
  space: "...Office (CA)Riverside County ..." in the OC report);
* ``detections_received``: "... is receiving Detection data from the following Agencies:" -
  two name columns (Irvine) or a table "Agency | City | State" with centred cells (OC);
* ``hotlists_shared`` / ``hotlists_received``: a table "Agency: | Hot List(s):" (or "None").

A name too long for its column wraps onto a shorter line below it ("Winnebago County Sheriff
(Machesney" / "Park Division)"): a line closer to the previous one than 3/4 of the usual row
pitch continues the cells above it, joined with a space.

Names are given as the text layer has them. In the Irvine report that is OCR: "CBP - NTC" is
printed on page 2 but its text layer says "CEP - NTC" (the resolver cannot know that is CBP),
words are glued ("DistrictAttorney") and letters misread ("DeKaIb"). Such a report gets
``text_layer="ocr"`` and a warning, and names whose short capitalised words are one letter away
from a federal acronym (CEP/CBP) are listed in the warnings for a person to check - the names
themselves are never changed. A leading "Inactive" (the OC report prints it before some agency
names) is kept in ``name`` and also given in ``marker``, with the rest in ``agency_name``.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from parsers.agreements.agreement_pdf import Char, PageText, TextLine, line_text, read_pages
from parsers.pdf.pdf_status import pdf_status
from parsers.pdf.pdf_worker import PdfJobError, run_limited

# Recorded with every document this parser reads (Vigilant 'Agency Data Sharing Report' PDFs):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "vigilant/1"

__all__ = ["SECTION_KINDS", "VigilantEntry", "VigilantReport", "VigilantSection",
           "parse_vigilant_sharing_report"]

SECTION_KINDS = ("detections_shared", "detections_received", "hotlists_shared",
                 "hotlists_received", "other")
_FATAL = {"not_a_pdf", "encrypted", "truncated", "too_large", "empty", "unreadable"}


@dataclass(slots=True)
class VigilantEntry:
    """One agency in a section: ``name`` as printed (wrapped lines joined with a space)."""

    name: str
    page: int
    agency_name: str = ""     # name without a leading status word ("Inactive")
    marker: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # other columns: hot lists, city, state


@dataclass(slots=True)
class VigilantSection:
    kind: str
    header: str               # the opening sentence as printed
    page: int
    columns: list[str] = field(default_factory=list)  # table header labels, if any
    entries: list[VigilantEntry] = field(default_factory=list)
    printed_none: bool = False  # the section says "None"


@dataclass(slots=True)
class VigilantReport:
    """``status``: "ok", "not_a_sharing_report", "needs_ocr", "cid_glyphs", a pdf_status()
    status, or a worker failure ("timeout", "memory", "crashed")."""

    owner: str | None
    recipients: list[VigilantEntry]
    status: str
    warnings: list[str]
    sections: list[VigilantSection] = field(default_factory=list)
    pages: int = 0
    text_layer: str = "none"
    title: str | None = None
    date_created: str | None = None  # as printed in the footer ("03-02-20")

    def section(self, kind: str) -> VigilantSection | None:
        return next((s for s in self.sections if s.kind == kind), None)


# The opening sentences, with optional spaces between words (the OCR glues them: "The Irvine
# Police DepartmentAgency is Sharing its Detection data withthe followingAgencies:").
_SECTION_RE = re.compile(
    r"^\s*The\s+(?P<owner>.+?)\s*Agency\s*is\s*(?P<verb>sharing|receiving)\s*(?P<what>.*?)\s*"
    r"(?:with|from)\s*the\s*following\s*Agencies\s*:?\s*$", re.I)
_KIND = (
    ("detections_shared", "sharing", re.compile(r"^(?:its\s*)?Detection\s*data$", re.I)),
    ("detections_received", "receiving", re.compile(r"^Detection\s*data$", re.I)),
    ("hotlists_shared", "sharing", re.compile(r"^Hot\s*-?\s*List\s*records$", re.I)),
    ("hotlists_received", "receiving", re.compile(r"^Shared\s*Hot\s*-?\s*List\s*records$", re.I)),
)
_SUBTITLES = {"detectionsshared", "detectionsreceived", "hotlistsharing", "hotlistreceived",
              "hotlistsreceived"}
_FOOTER = re.compile(r"Date\s*Created|Page\s*\d+\s*of\s*\S+", re.I)
_DATE_CREATED = re.compile(r"Date\s*Created\s*:\s*(?P<d>\d{1,2}-\d{1,2}-\d{2,4})", re.I)
_TITLE = re.compile(r"Sharing\s*Report", re.I)
_NOISE = re.compile(r"^[\W_]{1,4}$")
# Short all-capital words in names one letter away from these are flagged in OCR'd reports.
_FEDERAL_ACRONYMS = ("CBP", "HSI", "ICE", "DHS", "ERO", "FBI", "DEA", "ATF", "USBP", "USMS")
_KNOWN_ACRONYMS = frozenset(
    "CBP HSI ICE DHS ERO FBI DEA ATF USBP USMS NTC DPS DOJ DOT DOC CHP CSU UCI LAX ALEA ALPR IRS "
    "CAL DA PD SO SD PAL OIG NPS BIA BLM TVA VA".split())


class _Line:
    """A body line: its characters, text and vertical extent."""

    __slots__ = ("chars", "text", "top", "bottom", "page")

    def __init__(self, ln: TextLine) -> None:
        self.chars = ln.chars
        self.text = ln.text
        self.top, self.bottom, self.page = ln.top, ln.bottom, ln.page


def _cells(chars: list[Char], gap: float) -> list[list[Char]]:
    """Split a line's characters where the horizontal gap exceeds ``gap`` points."""
    visible = sorted((c for c in chars if not c.text.isspace()), key=lambda c: c.x0)
    out: list[list[Char]] = []
    for c in visible:
        if out and c.x0 - out[-1][-1].x1 <= gap:
            out[-1].append(c)
        else:
            out.append([c])
    return out


def _column_starts(lines: list[_Line], gap: float) -> list[float]:
    """Left edges of the columns after the first in a left-aligned list: x positions where
    cells that follow a wide gap keep starting (a cluster holding at least 60 % of the lines
    that have such a cell; centred cells start all over the place and make none)."""
    starts: list[float] = []
    multi = 0
    for ln in lines:
        cells = _cells(ln.chars, gap)
        later = [cell[0].x0 for cell in cells[1:]]
        if later:
            multi += 1
        starts.extend(later)
    if not starts:
        return []
    starts.sort()
    clusters: list[list[float]] = [[starts[0]]]
    for x in starts[1:]:
        if x - clusters[-1][0] <= 4.0:
            clusters[-1].append(x)
        else:
            clusters.append([x])
    return [min(c) for c in clusters if len(c) >= max(2, 0.6 * multi)]


def _split_at(chars: list[Char], bounds: list[float]) -> list[str]:
    """Characters -> one text per column, columns starting at ``bounds`` (x0 >= bound)."""
    parts: list[list[Char]] = [[] for _ in range(len(bounds) + 1)]
    for c in chars:
        col = sum(1 for b in bounds if c.x0 >= b)
        parts[col].append(c)
    return [line_text(p) for p in parts]


def _nearest(cells: list[list[Char]], centres: list[float]) -> list[str]:
    """Cells -> one text per header column, each cell to the column with the nearest centre."""
    out: list[list[str]] = [[] for _ in centres]
    for cell in cells:
        mid = (cell[0].x0 + cell[-1].x1) / 2
        k = min(range(len(centres)), key=lambda i: abs(centres[i] - mid))
        out[k].append(line_text(cell))
    return [" ".join(t) for t in out]


def _header_labels(ln: _Line, gap: float) -> tuple[list[str], list[float]] | None:
    """A table header ("Agency: Hot List(s):" / "Agency City State"): labels and centres."""
    squashed = re.sub(r"[^a-z]", "", ln.text.lower())
    if squashed not in ("agencyhotlists", "agencycitystate"):
        return None
    cells = _cells(ln.chars, gap)
    labels = [line_text(c).rstrip(":").strip() for c in cells]
    centres = [(c[0].x0 + c[-1].x1) / 2 for c in cells]
    if squashed == "agencycitystate" and len(labels) != 3:
        labels, centres = ["Agency", "City", "State"], centres[:3]
    if squashed == "agencyhotlists" and len(labels) != 2:
        return None
    return labels, centres


class _Builder:
    """Collects one section's data lines (per page) and turns them into entries."""

    def __init__(self, section: VigilantSection) -> None:
        self.section = section
        self.lines: list[_Line] = []
        self.header: tuple[list[str], list[float]] | None = None


def _rows(builder: _Builder, gap: float, pitch_default: float, warnings: list[str]
          ) -> list[tuple[int, list[str]]]:
    """(page, cell texts) per row; wrapped lines joined into the row above."""
    lines = builder.lines
    if not lines:
        return []
    header = builder.header
    bounds = _column_starts(lines, gap)
    centred = header is not None and not bounds
    if header is not None and bounds and len(bounds) != len(header[0]) - 1:
        centred = True
    ncols = len(header[0]) if header else len(bounds) + 1
    rows: list[tuple[int, list[str], float]] = []
    by_page: dict[int, list[_Line]] = {}
    for ln in lines:
        by_page.setdefault(ln.page, []).append(ln)
    for page, page_lines in by_page.items():
        diffs = [b.top - a.top for a, b in zip(page_lines, page_lines[1:], strict=False)
                 if b.top > a.top]
        pitch = statistics.median(diffs) if len(diffs) >= 3 else pitch_default
        prev_top: float | None = None
        for ln in page_lines:
            if centred and header:
                texts = _nearest(_cells(ln.chars, gap), header[1])
            else:
                texts = _split_at(ln.chars, [b - 3.0 for b in bounds])
            texts = (texts + [""] * ncols)[:ncols]
            wrapped = prev_top is not None and ln.top - prev_top < 0.75 * pitch and rows
            if wrapped and rows[-1][0] == page:
                last = rows[-1][1]
                for k, t in enumerate(texts):
                    if t:
                        last[k] = f"{last[k]} {t}".strip()
            else:
                rows.append((page, texts, ln.top))
            prev_top = ln.top
    if not header and len(bounds) > 1:
        warnings.append(f"section {builder.section.kind!r}: {len(bounds) + 1} columns found "
                        "where two were expected")
    return [(p, t) for p, t, _ in rows]


def _entry(name: str, page: int, extra: dict[str, str] | None = None) -> VigilantEntry:
    name = " ".join(name.split())
    marker = None
    agency = name
    m = re.match(r"^(Inactive)\s+(?=\S)", name)
    if m:
        marker, agency = m.group(1), name[m.end():]
    return VigilantEntry(name, page, agency, marker, extra or {})


def _near_federal(name: str) -> str | None:
    for token in re.findall(r"\b[A-Z]{3,4}\b", name):
        if token in _KNOWN_ACRONYMS:
            continue
        for acronym in _FEDERAL_ACRONYMS:
            if len(token) == len(acronym) and sum(a != b for a, b in zip(token, acronym,
                                                                          strict=True)) == 1:
                return acronym
    return None


def _classify(verb: str, what: str) -> str:
    what = " ".join(what.split())
    for kind, kind_verb, pattern in _KIND:
        if verb.lower() == kind_verb and pattern.match(what):
            return kind
    return "other"


def _layer(pages: list[PageText]) -> str:
    layers = [p.layer for p in pages]
    usable = [x for x in layers if x in ("born_digital", "ocr", "duplicated", "sparse")]
    if not usable:
        return "none"
    if "cid" in layers:
        return "cid"
    if "duplicated" in layers:
        return "duplicated"
    return "ocr" if usable.count("ocr") * 2 >= len(usable) else "born_digital"


def _parse_pages(pages: list[PageText]) -> VigilantReport:
    warnings: list[str] = []
    report = VigilantReport(None, [], "ok", warnings, pages=len(pages), text_layer=_layer(pages))
    # a "sparse" page (little text over a page-sized image) is read too: in a list report it may
    # be a short last page; a warning says the image may hold more than its text layer
    usable = [p for p in pages if p.layer in ("born_digital", "ocr", "duplicated", "sparse")]
    if not usable:
        kinds = {p.layer for p in pages}
        report.status = "cid_glyphs" if kinds == {"cid"} else "needs_ocr"
        warnings.append("no page has a readable text layer")
        return report
    for p in pages:
        if p.layer == "sparse":
            warnings.append(f"page {p.number}: only {p.chars} characters of text over a "
                            "page-sized image: names shown only in the image are not read")
        elif p.layer not in ("born_digital", "ocr", "duplicated"):
            warnings.append(f"page {p.number}: text layer {p.layer!r}; the page was not read")
    heights = [c.bottom - c.top for p in usable for ln in p.lines for c in ln.chars
               if not c.text.isspace() and c.bottom > c.top]
    size = statistics.median(heights) if heights else 10.0
    gap = max(8.0, 0.8 * size)
    builders: list[_Builder] = []
    current: _Builder | None = None
    noise = orphans = 0
    for p in usable:
        title = next((ln for ln in p.lines if ln.top < 0.15 * p.height and
                      _TITLE.search(ln.text)), None)
        if title is not None and report.title is None:
            report.title = " ".join(title.text.split())
        body_top = title.bottom if title is not None else 0.0
        for ln in p.lines:
            if ln.top < body_top or (title is not None and ln is title):
                continue
            if _FOOTER.search(ln.text):
                m = _DATE_CREATED.search(ln.text)
                if m and report.date_created is None:
                    report.date_created = m.group("d")
                continue
            text = " ".join(ln.text.split())
            m = _SECTION_RE.match(text)
            if m:
                owner = " ".join(m.group("owner").split())
                if report.owner is None:
                    report.owner = owner
                elif owner != report.owner:
                    warnings.append(f"page {p.number}: section names another owner {owner!r}")
                kind = _classify(m.group("verb"), m.group("what"))
                current = _Builder(VigilantSection(kind, text, p.number))
                builders.append(current)
                continue
            squashed = re.sub(r"[^a-z]", "", text.lower())
            if squashed in _SUBTITLES:
                continue
            if _NOISE.match(text):
                noise += 1
                continue
            line = _Line(ln)
            if current is None:
                orphans += 1
                continue
            header = _header_labels(line, gap)
            if header is not None:
                current.header = header
                current.section.columns = header[0]
                continue
            if text.lower() == "none" and not current.lines:
                current.section.printed_none = True
                continue
            current.lines.append(line)
    if noise:
        warnings.append(f"{noise} line(s) of stray punctuation (scan specks read by the OCR) "
                        "ignored")
    if orphans:
        warnings.append(f"{orphans} line(s) before the first section sentence ignored")
    if report.owner is None:
        report.status = "not_a_sharing_report"
        first = " | ".join(ln.text for ln in usable[0].lines[:3])
        warnings.insert(0, "no 'The <agency> Agency is Sharing its Detection data with the "
                           f"following Agencies:' sentence; page 1 begins {first!r}")
        return report
    all_lines = [ln for b in builders for ln in b.lines]
    diffs = [b.top - a.top for a, b in zip(all_lines, all_lines[1:], strict=False)
             if b.page == a.page and b.top > a.top]
    pitch_default = statistics.median(diffs) if diffs else 2.5 * size
    for b in builders:
        rows = _rows(b, gap, pitch_default, warnings)
        if b.header:
            labels = b.header[0]
            for page, texts in rows:
                if not texts[0]:
                    warnings.append(f"page {page}: a row of {b.section.kind!r} has no agency "
                                    f"name: {texts!r}")
                    continue
                extra = {lab: t for lab, t in zip(labels[1:], texts[1:], strict=True)}
                b.section.entries.append(_entry(texts[0], page, extra))
        else:
            for page, texts in rows:
                b.section.entries.extend(_entry(t, page) for t in texts if t)
        report.sections.append(b.section)
    shared = report.section("detections_shared")
    if shared is None:
        warnings.append("no 'is Sharing its Detection data' section")
    else:
        report.recipients = shared.entries
    if report.text_layer == "ocr":
        warnings.append("the text layer is OCR of a scanned page: names are as the OCR read them "
                        "(misread letters, glued words); check them against the page images")
        for s in report.sections:
            for e in s.entries:
                near = _near_federal(e.name)
                if near:
                    warnings.append(f"page {e.page}: {e.name!r} has a word one letter away from "
                                    f"{near}: possibly an OCR misreading (not corrected)")
    return report


def _parse(source: str | bytes) -> VigilantReport:
    return _parse_pages(read_pages(source, check_junk=False))


def parse_vigilant_sharing_report(source: str | Path | bytes, *, timeout_s: float | None = 300,
                                  memory_mb: float | None = 2048, isolate: bool = True
                                  ) -> VigilantReport:
    """Parse a Vigilant "Agency Data Sharing Report" (path or bytes). Never raises for bad
    input: problems are in ``status`` and ``warnings``. With ``isolate`` the parse runs in a
    child process under the time and memory limits."""
    src: Any = source if isinstance(source, bytes) else str(source)
    check = pdf_status(src)
    if check.status in _FATAL:
        return VigilantReport(None, [], check.status, [check.reason], pages=check.pages or 0)
    if not isolate:
        return _parse(src)
    try:
        return run_limited(_parse, src, timeout_s=timeout_s, memory_mb=memory_mb)
    except PdfJobError as exc:
        return VigilantReport(None, [], exc.status, [exc.message], pages=check.pages or 0)
