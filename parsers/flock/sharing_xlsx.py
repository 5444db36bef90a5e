"""Flock "Shared Networks" exports as Excel: Organization Name / Networks Shared With Me /
Networks I'm Sharing, the same report as the PDF (parsers/flock/sharing_pdf.py), as a workbook.

Recognised by the header row (anywhere in the first rows of any sheet); cells hold
comma-separated network names. Returns the same SharingReport as the PDF parser, so both load
the same way; a title line above the header (or the sheet's name) is its `title`, and the
workbook's created time its `created` (both date the export: see parsers/document_dates.py).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from parsers.flock.sharing_pdf import SharingReport, SharingRow, split_networks

# Recorded with every document this parser reads (Flock shared-networks workbooks):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "sharing_xlsx/1"

HEADER_ROWS = 10


def _label(value: Any) -> str:
    return " ".join(str(value or "").lower().replace("\u2019", "'").split())


def _iso(value: Any) -> str | None:
    """A workbook's created time (naive datetimes in openpyxl are UTC) as ISO UTC."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_sharing_workbook(body: bytes) -> SharingReport | None:
    """The report if a sheet has its header, else None (not this kind of workbook)."""
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    created = book.properties.created if book.properties else None
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            title = None
            for number, header in enumerate(rows, start=1):
                if number > HEADER_ROWS:
                    break
                labels = [_label(c) for c in header]
                if "organization name" not in labels or not (
                        "networks shared with me" in labels or "networks i'm sharing" in labels):
                    texts = [str(c).strip() for c in header if c not in (None, "")]
                    if len(texts) == 1 and title is None:  # a title line above the header
                        title = texts[0]
                    continue
                org = labels.index("organization name")
                with_me = labels.index("networks shared with me") if (
                    "networks shared with me" in labels) else None
                sharing = labels.index("networks i'm sharing") if (
                    "networks i'm sharing" in labels) else None
                report = SharingReport([], [], [str(c or "") for c in header], 0, "ok",
                                       title=title or sheet.title,
                                       created=_iso(created))
                blank = 0
                for row_number, row in enumerate(rows, start=number + 1):
                    name = str(row[org] or "").strip() if org < len(row) else ""
                    if not name:
                        blank += any(c not in (None, "") for c in row)
                        continue

                    def cell(i: int | None, row: tuple[Any, ...] = row) -> str:
                        return str(row[i] or "") if i is not None and i < len(row) else ""

                    report.rows.append(SharingRow(
                        name, split_networks(cell(with_me)), split_networks(cell(sharing)),
                        page=row_number, extra={"sheet": sheet.title}))
                if blank:
                    report.warnings.append(f"{blank} row(s) with networks but no organisation")
                return report
    finally:
        book.close()
    return None
