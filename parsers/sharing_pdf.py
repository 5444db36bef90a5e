"""Flock "Networks Shared With Me / Networks I'm Sharing" reports printed to PDF.

The report we have (Okaloosa County FL SO, Dec 2025, 29 pages, 858 organisations) is a CSV
printed from Excel, like the audit export (see audit_pdf.py for the reading machinery): three
columns, ``Organization Name | Networks Shared With Me | Networks I'm Sharing``, header on
page 1 only, cells bottom-aligned, and the network cells are comma-separated lists that wrap
over several lines.

How wrapped lists are joined (decided from what the file shows, checked on all 68 wrapped lines):

* Networks are separated by commas, never by line breaks: names are joined by "," with no
  space (``SO,Polk County``), and Excel only breaks a line at a space. So the lines of a cell are
  joined first and the result is split on commas; a break between two names is then harmless
  (it sits next to a comma) and a break inside a name becomes the space it was printed at
  (``Polk County FL SO -`` / ``Polk County FL SO Axon`` is one name,
  ``Polk County FL SO - Polk County FL SO Axon``).
* Every wrapped line ends with the printed space it broke at. A line ending at the column edge
  *without* one was broken inside a word and is joined without a space (and reported).
* Names are trimmed and inner runs of spaces become one space (``Hillsborough County FL SO IB ``
  is printed with a trailing space before its comma; ``Sullivan  IL PD`` with two spaces).

An organisation name long enough to wrap would put its first part on a line of its own; such a
line is joined to the next when the next line's first word could not have fitted after it
(Excel's own wrapping rule). No organisation name wraps in the Okaloosa report.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .audit_pdf import (
    Glyph,
    Line,
    Run,
    SheetLayout,
    find_layout,
    group_lines,
    iter_page_glyphs,
    line_cells,
    norm_text,
    sheet_rows,
    text_lines,
)
from .pdf_status import pdf_status
from .pdf_worker import PdfJobError, run_limited

__all__ = ["SharingReport", "SharingRow", "is_sharing_report", "parse_sharing_report",
           "split_networks"]

_ORG = "organization name"
_WITH_ME = "networks shared with me"
_IM_SHARING = "networks i'm sharing"


@dataclass(slots=True)
class SharingRow:
    """One organisation and the networks in each direction, names as printed (trimmed)."""

    org_name: str
    networks_shared_with_me: list[str]
    networks_im_sharing: list[str]
    page: int
    extra: dict[str, str | None] = field(default_factory=dict)  # columns not known here


@dataclass(slots=True)
class SharingReport:
    """All rows in page order; ``status`` is "ok", "not_a_sharing_report", a pdf_status()
    status, or a worker failure ("timeout", "memory", "crashed")."""

    rows: list[SharingRow]
    warnings: list[str]
    columns: list[str] = field(default_factory=list)
    pages: int = 0
    status: str = "ok"


def _label(text: str) -> str:
    return " ".join(text.lower().replace("\u2019", "'").split())


def is_sharing_report(first_page_words_or_text: str | Sequence[Any]) -> bool:
    """True when page 1 has the report's header line: "Organization Name" and at least one of
    the two "Networks ..." column labels (text, pdfplumber word dicts, or strings)."""
    for line in text_lines(first_page_words_or_text):
        text = _label(line)
        if _ORG in text and (_WITH_ME in text or _IM_SHARING in text):
            return True
    return False


def _accept_header(cells: list[str]) -> bool:
    labels = [_label(c) for c in cells]
    return _ORG in labels and (_WITH_ME in labels or _IM_SHARING in labels)


def split_networks(cell: str) -> list[str]:
    """A cell's comma-separated network names, trimmed, empty pieces dropped."""
    return [name for name in (norm_text(p) for p in cell.split(",")) if name]


def _join_wrapped_org_lines(lines: list[Line], layout: SheetLayout, org_col: int) -> list[Line]:
    """Fold a line holding only the first part of a wrapped organisation name into the next.

    Excel moves a word to the next line only when it does not fit; so a line with nothing but
    an organisation name, directly followed by a line whose organisation name's first word would
    have fitted after it, is a row of its own (the usual case) and is left alone.
    """
    if len(lines) < 2:
        return lines
    pitch = statistics.median(b.top - a.top for a, b in zip(lines, lines[1:], strict=False))
    right = (layout.lefts[org_col + 1] - 2 * layout.slack if org_col + 1 < len(layout.lefts)
             else float("inf"))
    out: list[Line] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        cells = line_cells(line, layout)
        if nxt is not None and set(cells) == {org_col} and nxt.top - line.top <= 1.5 * pitch:
            next_cells = line_cells(nxt, layout)
            if org_col in next_cells:
                text, x1 = cells[org_col]
                runs = [r for r in nxt.runs if layout.column_at(r.x0) == org_col]
                first = runs[0]
                word = first.text.strip().split(" ")[0]
                width = (first.x1 - first.x0) * len(word) / max(1, len(first.text))
                if x1 + width > right:
                    glue = "" if text[-1:].isspace() else " "
                    merged = Run(text + glue + first.text, first.x0, first.x1)
                    rest = [r for r in nxt.runs if r is not first]
                    out.append(Line(nxt.top, nxt.bottom, [merged, *rest]))
                    i += 2
                    continue
        out.append(line)
        i += 1
    return out


def _has_column(col: int) -> Callable[[dict[int, str]], bool]:
    """Anchor test: every row has an organisation name on its last line."""
    return lambda texts: col in texts


def _parse(path: str, backend: str = "pdfium") -> SharingReport:
    """In-process parse (run in a limited child by parse_sharing_report)."""
    pages_iter = iter_page_glyphs(path, 1, 10**9, backend)
    with closing(pages_iter):  # closes the document even when we stop early
        return _parse_pages(pages_iter)


def _parse_pages(pages_iter: Iterator[tuple[int, list[Glyph]]]) -> SharingReport:
    warnings: list[str] = []
    layout: SheetLayout | None = None
    rows: list[SharingRow] = []
    pages = 0
    for number, glyphs in pages_iter:
        pages = number
        lines = group_lines(glyphs)
        if layout is None:
            layout = find_layout(lines, number, _accept_header)
            if layout is None:
                return SharingReport([], [f"page {number} has no sharing report header "
                                          "(Organization Name, Networks ...)"], [], number,
                                     "not_a_sharing_report")
        labels = [_label(c) for c in layout.columns]
        org_col = labels.index(_ORG)
        lines = _join_wrapped_org_lines(lines, layout, org_col)
        has_org = _has_column(org_col)
        for row in sheet_rows(lines, layout, number, has_org, warnings):
            known: dict[str, str] = {}
            extra: dict[str, str | None] = {}
            for label, value in zip(labels, row.cells, strict=True):
                if label in (_ORG, _WITH_ME, _IM_SHARING):
                    known[label] = value
                else:
                    extra[re.sub(r"[^a-z0-9]+", "_", label).strip("_")] = value or None
            org = known[_ORG]
            for col in sorted(set(row.broken_words)):
                warnings.append(f"page {number}, {org}: a line of {layout.columns[col]!r} ends "
                                "at the column edge without a space (joined as one word)")
            item = SharingRow(org, split_networks(known.get(_WITH_ME, "")),
                              split_networks(known.get(_IM_SHARING, "")), number, extra)
            if not item.networks_shared_with_me and not item.networks_im_sharing:
                warnings.append(f"page {number}, {org}: no networks in either direction")
            rows.append(item)
    if layout is None:
        return SharingReport([], ["the document has no pages with text"], [], pages,
                             "not_a_sharing_report")
    return SharingReport(rows, warnings, list(layout.columns), pages, "ok")


def parse_sharing_report(path: str | Path, *, backend: str = "pdfium",
                         timeout_s: float | None = 300, memory_mb: float | None = 1024,
                         isolate: bool = True) -> SharingReport:
    """Parse a sharing report; the file is checked first (pdf_status) and, with ``isolate``,
    parsed in a child process under the time and memory limits. Never raises for bad input:
    the problem is in ``status`` and ``warnings``."""
    check = pdf_status(path)
    if not check.ok:
        return SharingReport([], [check.reason], [], check.pages or 0, check.status)
    if not isolate:
        return _parse(str(path), backend)
    try:
        return run_limited(_parse, str(path), backend, timeout_s=timeout_s, memory_mb=memory_mb)
    except PdfJobError as exc:
        return SharingReport([], [exc.message], [], check.pages or 0, exc.status)
