"""Search audits kept or released as Excel workbooks (e.g. Yuba County CA SO's accumulated log).

Workbooks mix an audit sheet with dashboards and pivot tables, so every sheet is checked and
only those whose header row names a search id and a search date are read (the header row may
sit below a title). Cells become text exactly as the audit CSV would have them, then go through
the same row mapping as CSV audits (`parse_audit_records`), so the two formats agree.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from parsers.flock.audit_csv import _column_key, looks_like_audit_header, parse_audit_records
from parsers.model import AuditRow

# Recorded with every document this parser reads (search-audit Excel workbooks):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "audit_xlsx/1"

HEADER_SEARCH_ROWS = 10  # how far down a sheet its header row may be


@dataclass
class AuditWorkbook:
    sheets: list[str] = field(default_factory=list)  # sheets read as audit tables
    columns: dict[str, list[str]] = field(default_factory=dict)  # sheet -> header as published
    rows: list[AuditRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def is_xlsx(body: bytes) -> bool:
    """An Office Open XML workbook is a zip holding xl/workbook.xml."""
    return body[:4] == b"PK\x03\x04" and b"xl/" in body[:65536]


def _cell_text(value: Any, utc: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return text + "Z" if utc and value.tzinfo is None else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header_row(rows: list[tuple[Any, ...]]) -> int | None:
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        names = [str(c).strip() for c in row if c is not None]
        if names and looks_like_audit_header(names):
            return i
    return None


def parse_audit_workbook(source: bytes | str | Path,
                         hash_plate: Callable[[str], str] | None = None) -> AuditWorkbook:
    """Read every audit-shaped sheet of a workbook into AuditRows ("row N" = sheet row)."""
    import openpyxl  # imported here: only workbooks need it

    data = io.BytesIO(source) if isinstance(source, bytes) else source
    book = openpyxl.load_workbook(data, read_only=True, data_only=True)
    result = AuditWorkbook()
    try:
        for sheet in book.worksheets:
            head = [tuple(r) for r in sheet.iter_rows(min_row=1, max_row=HEADER_SEARCH_ROWS,
                                                      values_only=True)]
            at = _header_row(head)
            if at is None:
                continue
            columns = ["" if c is None else str(c).strip() for c in head[at]]
            while columns and not columns[-1]:
                columns.pop()
            utc = [("utc" in _column_key(c) or "zulu" in _column_key(c)) for c in columns]

            def records(sheet: Any = sheet, start: int = at + 2,
                        width: int = len(columns), utc: list[bool] = utc) -> Iterator[list[str]]:
                for row in sheet.iter_rows(min_row=start, values_only=True):
                    yield [_cell_text(v, utc[i]) for i, v in enumerate(row[:width])]

            rows, warnings = parse_audit_records(columns, records(), hash_plate)
            offset = at + 1  # parse_audit_records counts data rows from 1; sheets count rows
            for row in rows:
                n = int(row.source_row.split()[1]) + offset if row.source_row else None
                row.source_row = f"{sheet.title} row {n}"
            result.sheets.append(sheet.title)
            result.columns[sheet.title] = columns
            result.rows.extend(rows)
            result.warnings.extend(f"{sheet.title}: {w}" for w in warnings)
    finally:
        book.close()
    if not result.sheets:
        result.warnings.append("no sheet has an audit header (a search id and a search date)")
    return result
