"""ICE 287(g) sheets, on two small workbooks this test writes with openpyxl (no corpus).

They follow the shape of the sheets in corpus/agreements/287g/sheets/ (header STATE, LAW
ENFORCEMENT AGENCY, TYPE, COUNTY, SUPPORT TYPE, then SIGNED and MOA on the participating sheet;
SIGNED as a date cell, MOA as a "link" cell with a hyperlink or the text "link pending"; the
date in ICE's file name). The agencies, dates and links are made up.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from parsers.agreements.ice287g import (
    PARSER_VERSION,
    agreement_history,
    parse_287g_sheet,
)
from parsers.router import interpret

pytestmark = pytest.mark.no_corpus

HEADER = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE"]
MOA_URL = "https://example.org/287g/fixture-county-al-so-jem.pdf"  # made up
PENDING = "20250601_080000__pendingAgencies05302025am.xlsx"
PARTICIPATING = "20250620_153000__participatingAgencies06202025pm.xlsx"


def _write(path: Path, header: list[str], rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(header)
    for row in rows:
        ws.append(row)
    if "MOA" in header:
        for cells in ws.iter_rows(min_row=2):
            moa = cells[header.index("MOA")]
            if moa.value == "link":
                moa.hyperlink = MOA_URL
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def sheets(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sheets_287g")
    pending = _write(folder / PENDING, HEADER, [
        ["ALABAMA", "Fixture County Sheriff's Office", "County", "Fixture County",
         "Jail Enforcement Model"],
        ["FLORIDA", "Fixture Beach Police Department", "Municipality", "Fixture County",
         "Task Force Model"],
    ])
    participating = _write(folder / PARTICIPATING, [*HEADER, "SIGNED", "MOA"], [
        ["ALABAMA", "Fixture County Sheriff's Office", "County", "Fixture County",
         "Jail Enforcement Model", datetime(2025, 6, 12), "link"],
        ["ALABAMA", "Fixture County Sheriff's Office", "County", "Fixture County",
         "Warrant Service Officer", datetime(2025, 6, 12), "link pending"],
        [None] * 7,  # a blank row, counted
        ["TEXAS", "Fixture Springs Police Department", "Municipality", "Fixture County",
         "Task Force Model", "6/3/2025", "link pending"],
    ])
    return {"pending": pending, "participating": participating}


def test_participating_sheet(sheets) -> None:
    sheet = parse_287g_sheet(sheets["participating"])
    assert (sheet.kind, sheet.sheet_date, sheet.edition) == ("participating", "2025-06-20", "pm")
    assert sheet.sheet_date_basis.startswith("file name: ICE publication date 06202025pm")
    assert sheet.retrieved_at == "2025-06-20T15:30:00"
    assert (sheet.header_row, sheet.blank_rows, sheet.lost_rows) == (1, 1, 0)
    assert [(r.state_code, r.agency, r.model, r.signed) for r in sheet.rows] == [
        ("AL", "Fixture County Sheriff's Office", "JEM", "2025-06-12"),
        ("AL", "Fixture County Sheriff's Office", "WSO", "2025-06-12"),
        ("TX", "Fixture Springs Police Department", "TFM", "2025-06-03"),
    ]
    assert [r.row_number for r in sheet.rows] == [2, 3, 5]
    assert sheet.rows[2].signed_raw == "6/3/2025"  # a text date, read and kept as published
    assert (sheet.rows[0].moa_text, sheet.rows[0].moa_url) == ("link", MOA_URL)
    assert (sheet.rows[1].moa_text, sheet.rows[1].moa_url) == ("link pending", None)


def test_pending_sheet(sheets) -> None:
    sheet = parse_287g_sheet(sheets["pending"])
    assert (sheet.kind, sheet.sheet_date, sheet.edition) == ("pending", "2025-05-30", "am")
    assert sheet.columns == HEADER
    assert [(r.state_code, r.model, r.signed) for r in sheet.rows] == [
        ("AL", "JEM", None), ("FL", "TFM", None)]


def test_history_pending_then_participating(sheets) -> None:
    histories = {(h.state, h.agency, h.model): h for h in agreement_history(
        [parse_287g_sheet(sheets["participating"]), parse_287g_sheet(sheets["pending"])])}
    jem = histories[("AL", "Fixture County Sheriff's Office", "JEM")]
    assert (jem.first_pending, jem.became_participating, jem.on_newest_participating) == (
        "2025-05-30", "2025-06-20", True)
    assert [u.value for u in jem.moa_urls] == [MOA_URL]
    # pending on the only pending sheet, never participating
    beach = histories[("FL", "Fixture Beach Police Department", "TFM")]
    assert (beach.pending_since, beach.first_participating) == ("2025-05-30", None)
    assert len(histories) == 4


def test_the_router_reads_the_workbook_as_a_287g_sheet(sheets) -> None:
    path = sheets["participating"]
    result = interpret(path.read_bytes(), name=path.name)
    assert (result.verdict.kind, result.parser) == ("ice_287g_sheet", PARSER_VERSION)
    assert result.sheet_287g is not None and len(result.sheet_287g.rows) == 3
