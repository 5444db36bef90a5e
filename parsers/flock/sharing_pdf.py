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

from parsers.flock.audit_pdf import (
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
from parsers.pdf.pdf_status import pdf_status
from parsers.pdf.pdf_worker import PdfJobError, run_limited

# Recorded with every document this parser reads (Flock 'Networks Shared With Me' PDF reports):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "sharing_pdf/1"

__all__ = ["SharingReport", "SharingRow", "is_sharing_report", "parse_sharing_report",
           "report_owner", "split_networks"]

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
    title: str | None = None  # the file's own title (PDF Title, a workbook's title row)
    created: str | None = None  # the file's creation time from its metadata (ISO UTC)


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


# A network named for a contract city of an agency carries that agency's acronym in brackets:
# "City of Dana Point CA (OCSD)" is a network of the Orange County Sheriff's Department. Two to
# eight capitals; product tags ("(LR)", "(Flex)", "(Tech)") are told apart because no network or
# organisation in the report has them as its initials.
_TAG = re.compile(r"^(?P<base>.+?)\s*\((?P<tag>[A-Z][A-Z0-9&]{1,7})\)\s*$")
_STATE_CODE = re.compile(r"^[A-Z]{2}$")
_DESIGNATORS = frozenset({"PD", "SO", "SD", "DPS", "DA", "PS"})


def _initials(name: str) -> str:
    """'Orange County CA SD' -> 'OCSD': first letters of the words, designators (SD, SO, PD,
    DPS) whole, the state code left out."""
    words = [w for w in re.split(r"[\s\-/]+", name) if w]
    out = []
    for i, word in enumerate(words):
        if word in _DESIGNATORS:
            out.append(word)
        elif _STATE_CODE.match(word) and i > 0 and (
                i == len(words) - 1 or words[i + 1] in _DESIGNATORS):
            continue
        elif word.isupper() and len(word) <= 4 and word.isalpha():
            out.append(word)
        elif word[:1].isalpha():
            out.append(word[0].upper())
    return "".join(out)


def report_owner(report: SharingReport) -> tuple[str | None, str]:
    """Whose export it is, from the report itself, and why (or why it cannot be told).

    The agency's own networks are what it shares ("Networks I'm Sharing"). Usually one network
    named for it (Okaloosa County FL SO: "Okaloosa County FL SO" on 506 rows). A sheriff with
    contract cities shares several: its own and "City of Dana Point CA (OCSD)", "City of Yorba
    Linda CA (OCSD)", ...; a network tagged "(OCSD)" belongs to the network or organisation of
    the report whose initials are OCSD ("Orange County CA SD"). The owner is the one agency every
    shared network belongs to, and it must cover at least 90% of the rows that share anything;
    otherwise there is no owner (None, with the reason) and the export needs --agency.
    """
    shared = [n for r in report.rows for n in r.networks_im_sharing]
    if not shared:
        return None, "no row shares a network ('Networks I'm Sharing' is empty)"
    plain = {n for n in shared if not _TAG.match(n)}
    candidates = plain | {r.org_name for r in report.rows}
    by_initials: dict[str, set[str]] = {}
    for name in candidates:
        by_initials.setdefault(_initials(name), set()).add(name)

    def owner_of(network: str) -> str | None:
        m = _TAG.match(network)
        if not m:
            return network
        if m.group("base") in candidates:  # "Polk County FL SO (LR)": a product network
            return m.group("base")
        named = by_initials.get(m.group("tag"), set())
        # prefer a network of the report named for the tag, then an organisation row
        return min(named & plain) if named & plain else (min(named) if len(named) == 1 else None)

    owners: dict[str, int] = {}
    unplaced: set[str] = set()
    for network in set(shared):
        owner = owner_of(network)
        if owner is None:
            unplaced.add(network)
        else:
            owners[owner] = owners.get(owner, 0) + 1
    if unplaced:
        return None, ("networks it shares carry a tag no network or organisation in the report "
                      f"is named for: {', '.join(sorted(unplaced)[:4])}")
    if len(owners) != 1:
        return None, ("the networks it shares belong to more than one agency: "
                      + ", ".join(sorted(owners)[:6]))
    owner = next(iter(owners))
    rows_sharing = [r for r in report.rows if r.networks_im_sharing]
    covered = sum(1 for r in rows_sharing if any(owner_of(n) == owner
                                                   for n in r.networks_im_sharing))
    if covered < 0.9 * len(rows_sharing):
        return None, (f"{owner}'s networks are shared on only {covered} of the "
                      f"{len(rows_sharing)} rows that share any")
    tagged = sorted({n for n in set(shared) if n != owner})
    listed = f"{', '.join(tagged[:3])}{', ...' if len(tagged) > 3 else ''}"
    how = (f"every network it shares is {owner}'s" if not tagged else
           f"every network it shares is {owner}'s: " + (
               f"its own and {len(tagged)} more ({listed})" if owner in plain else
               f"{len(tagged)} networks tagged for it ({listed})"))
    return owner, f"{how}, on {covered} of {len(rows_sharing)} rows"
