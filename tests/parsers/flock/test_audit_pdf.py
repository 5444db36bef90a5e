"""The Organization Audit PDF parser, on the real Okaloosa export and on small built sheets.

Facts asserted about the Okaloosa export were read from the document itself (page text and
renders of pages 1, 255, 570 and 809): 809 pages, 7,273 rows, and every row's Org Name is
"Okaloosa County FL SO": as printed, the export names no searching agency other than the
sheriff's office itself. The row count is checked against independent counts: UUIDs in pdfium's
plain page text (all pages) and UUID-shaped pdfplumber words left of the Org Name column (sample
pages; the bench script counts all pages).
"""

from __future__ import annotations

import collections
import ctypes
import os
import re
import signal
import time
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from conftest import CORPUS

from parsers.flock import audit_pdf
from parsers.flock.audit_pdf import (
    AuditRecord,
    column_texts,
    group_lines,
    is_org_audit,
    iter_page_glyphs,
    parse_org_audit,
    parse_org_audit_pages,
    read_audit_layout,
)
from parsers.pdf.pdf_worker import JobOutcome, PdfJobError, run_job, run_limited, run_many

OKALOOSA = CORPUS / "records" / "okaloosa_fl_so"
AUDIT = OKALOOSA / "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf"
SHARING = OKALOOSA / "Sharing_Agencies.pdf"
EUGENE = CORPUS / "records" / "eugene_or_pd"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COLUMNS = ["ID", "Org Name", "Total Networks Searched", "Total Devices Searched", "Time Frame",
           "Reason", "Search Time", "Search Type", "Moderation"]
SAMPLE_PAGES = [(1, 3), (254, 256), (569, 570), (807, 809)]


# ---------------------------------------------------------------------------------------------
# A builder for small printed-spreadsheet PDFs (text placed like Excel prints it)
# ---------------------------------------------------------------------------------------------


def make_sheet_pdf(path: Path, pages: list[list[tuple[str, float, float]]], *,
                   size: float = 7.0, width: float = 792.0, height: float = 612.0,
                   rotation: int = 0) -> Path:
    """Write a PDF whose pages hold (text, x, top) items in Helvetica, displayed upright.

    ``rotation`` sets the page's /Rotate and draws the text turned the other way, as PrimoPDF
    does for the Okaloosa export (/Rotate 90), so every variant displays the same.
    """
    pdf = pdfium.PdfDocument.new()
    try:
        font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
        for items in pages:
            pw, ph = (height, width) if rotation in (90, 270) else (width, height)
            page = pdf.new_page(pw, ph)
            for text, x, top in items:
                obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(size))
                buf = ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))
                pdfium_c.FPDFText_SetText(obj, ctypes.cast(buf, pdfium_c.FPDF_WIDESTRING))
                base = top + 0.8 * size
                a, b, c, d, e, f = {
                    0: (1, 0, 0, 1, x, height - base),
                    90: (0, 1, -1, 0, base, x),
                    180: (-1, 0, 0, -1, width - x, base),
                    270: (0, -1, 1, 0, height - base, width - x),
                }[rotation]
                pdfium_c.FPDFPageObj_Transform(obj, a, b, c, d, e, f)
                pdfium_c.FPDFPage_InsertObject(page.raw, obj)
            if rotation:
                page.set_rotation(rotation)
            pdfium_c.FPDFPage_GenerateContent(page.raw)
            page.close()
        pdf.save(str(path))
    finally:
        pdf.close()
    return path


# Columns of a "Network Audit"-like export: some known, some not (License Plate, Case #, Filters).
X = {"ID": 30, "Org Name": 170, "License Plate": 260, "Case #": 320, "Reason": 370,
     "Search Time": 478, "Search Type": 600, "Filters": 660}
IDS = ["0b7a3c1e-1111-4aaa-8bbb-000000000001", "0b7a3c1e-1111-4aaa-8bbb-000000000002",
       "0b7a3c1e-1111-4aaa-8bbb-000000000003", "0b7a3c1e-1111-4aaa-8bbb-000000000004",
       "0b7a3c1e-1111-4aaa-8bbb-000000000005"]
PLATES = ["ABC1234", "XYZ987", "LMN456"]


def synthetic_audit(path: Path, rotation: int = 0) -> Path:
    header = [(name, x, 50.0) for name, x in X.items()]
    page1 = header + [
        # Row 1, bottom-aligned: Org Name and Reason wrap (each upper line ends with a space).
        ("Federal Bureau of ", X["Org Name"], 59), ("suspect vehicle ", X["Reason"], 59),
        (IDS[0], X["ID"], 68), ("Investigation", X["Org Name"], 68),
        (PLATES[0], X["License Plate"], 68), ("2025-001", X["Case #"], 68),
        ("westbound I-10", X["Reason"], 68), ("11/14/2025, 09:53:36 AM UTC", X["Search Time"], 68),
        ("lookup", X["Search Type"], 68), ("color: red", X["Filters"], 68),
        # Row 2: one line.
        (IDS[1], X["ID"], 77), ("Okaloosa County FL SO", X["Org Name"], 77),
        (PLATES[1], X["License Plate"], 77), ("bolo", X["Reason"], 77),
        ("11/14/2025, 10:27:32 PM UTC", X["Search Time"], 77), ("search", X["Search Type"], 77),
        # Row 3: a word too long for the Reason column, broken at the column edge (no space).
        ("ABCDEFGHIJKLMNOPQRSTUV", X["Reason"], 86),
        (IDS[2], X["ID"], 95), ("Okaloosa County FL SO", X["Org Name"], 95),
        ("WX", X["Reason"], 95), ("12/06/2025, 06:14:54 PM UTC", X["Search Time"], 95),
        ("lookup", X["Search Type"], 95),
        # A footer far below the table.
        ("Page 1 of 2", 380, 580),
    ]
    page2 = [
        # Row 4 (no header on page 2): a reason over three lines.
        ("multi line ", X["Reason"], 50), ("reason here ", X["Reason"], 59),
        (IDS[3], X["ID"], 68), ("Okaloosa County FL SO", X["Org Name"], 68),
        (PLATES[2], X["License Plate"], 68), ("done", X["Reason"], 68),
        ("12/07/2025, 12:00:00 AM UTC", X["Search Time"], 68), ("lookup", X["Search Type"], 68),
        # Row 5: a Search Time without a UTC label.
        (IDS[4], X["ID"], 77), ("Okaloosa County FL SO", X["Org Name"], 77),
        ("12/07/2025, 01:00:00 AM", X["Search Time"], 77), ("lookup", X["Search Type"], 77),
    ]
    return make_sheet_pdf(path, [page1, page2], rotation=rotation)


# ---------------------------------------------------------------------------------------------
# The real export
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def full_export() -> dict:
    seen: list[tuple[int, int]] = []
    export = parse_org_audit(AUDIT, workers=2, progress=lambda done, total: seen.append(
        (done, total)))
    return {"export": export, "progress": seen}


def _pdfium_uuid_counts(path: Path) -> dict[int, int]:
    """Independent count: UUIDs in pdfium's plain text of each page (no columns, no rows)."""
    doc = pdfium.PdfDocument(str(path))
    counts = {}
    try:
        for i in range(len(doc)):
            page = doc[i]
            textpage = page.get_textpage()
            counts[i + 1] = len(UUID.findall(textpage.get_text_range()))
            textpage.close()
            page.close()
    finally:
        doc.close()
    return counts


def test_first_row_on_page_one() -> None:
    records, warnings = parse_org_audit_pages(AUDIT, 1, 1)
    assert warnings == []
    assert len(records) == 8  # page 1: the header and 8 rows
    first = records[0]
    assert first == AuditRecord(
        search_id="23d55b89-42eb-4f5c-9281-f5e8bf4864be", org_name="Okaloosa County FL SO",
        networks_searched=840, devices_searched=17652,  # printed touching "UTC": "17652UTC"
        time_frame_start="2025-11-13T22:00:17Z", time_frame_end="2025-11-14T10:00:17Z",
        time_frame_raw="11/13/2025, 10:00:17 PM UTC 11/14/2025, 10:00:17 AM UTC",
        reason="bolo", searched_at="2025-11-14T09:53:36Z",
        searched_at_raw="11/14/2025, 09:53:36 AM UTC", search_type="lookup", moderation=None,
        page=1, extra={})
    sixth = records[5]
    assert (sixth.search_id, sixth.networks_searched, sixth.devices_searched, sixth.reason,
            sixth.searched_at) == ("0c8a8776-2441-4812-ba5e-fdfa89c08f56", 6601, 96316, "bowen",
                                   "2025-11-14T12:13:45Z")
    assert records[6].searched_at == "2025-11-14T00:37:55Z"  # "12:37:55 AM" is 00:37


def test_rows_on_middle_pages() -> None:
    records, warnings = parse_org_audit_pages(AUDIT, 255, 255)
    assert warnings == [] and len(records) == 9
    training = records[0]
    assert training.search_id == "1a6458f9-70cc-4fc4-96c5-bfd5051f31a5"
    assert (training.networks_searched, training.devices_searched) == (1, 104)
    assert training.time_frame_raw == "11/21/2025, 07:30:33 AM UTC 11/22/2025, 07:30:33 AM UTC"
    assert training.reason == "training"  # printed "training " (trailing space trimmed)
    assert (training.searched_at, training.search_type, training.moderation) == (
        "2025-11-22T07:20:19Z", "freeform", "allow")
    convoy = records[2]
    assert (convoy.search_id, convoy.networks_searched, convoy.devices_searched,
            convoy.search_type, convoy.moderation) == (
        "57dbeeea-b2c7-4c4d-9631-60528190c354", 839, 17734, "convoy", None)
    assert records[3].reason == "missing person"

    records, _ = parse_org_audit_pages(AUDIT, 570, 570)
    walmart = records[0]
    assert walmart.search_id == "1e1dbaab-0923-49d2-82db-cbbb2be68e8b"
    # Printed with two spaces after "orc"; values are whitespace-normalised.
    assert walmart.reason == "Walmart orc black malibu"
    assert (walmart.searched_at, walmart.search_type) == ("2025-12-01T21:16:59Z", "search")


def test_last_row_on_last_page() -> None:
    records, warnings = parse_org_audit_pages(AUDIT, 809, 809)
    assert warnings == [] and len(records) == 2
    last = records[-1]
    assert last.search_id == "65059934-19d2-4a9d-8552-cd4edb164b72"
    assert (last.networks_searched, last.devices_searched) == (1095, 21428)
    assert (last.time_frame_start, last.time_frame_end) == ("2025-12-05T18:30:43Z",
                                                            "2025-12-06T18:30:43Z")
    assert (last.reason, last.searched_at_raw, last.search_type, last.page) == (
        "BOLO", "12/06/2025, 06:14:54 PM UTC", "lookup", 809)


def test_full_parse(full_export: dict) -> None:
    export = full_export["export"]
    assert export.status == "ok" and export.warnings == []
    assert export.pages == 809 and export.columns == COLUMNS
    assert len(export.records) == 7273
    # Independent count, every page: UUIDs in pdfium's plain page text.
    expected = _pdfium_uuid_counts(AUDIT)
    assert sum(expected.values()) == 7273
    assert collections.Counter(r.page for r in export.records) == collections.Counter(expected)
    ids = [r.search_id for r in export.records]
    assert len(set(ids)) == len(ids)
    assert [r.page for r in export.records] == sorted(r.page for r in export.records)
    assert export.records[0].search_id == "23d55b89-42eb-4f5c-9281-f5e8bf4864be"
    assert export.records[-1].search_id == "65059934-19d2-4a9d-8552-cd4edb164b72"
    # The only searching organisation in this export is the sheriff's office itself.
    assert {r.org_name for r in export.records} == {"Okaloosa County FL SO"}
    assert all(r.searched_at and r.time_frame_start and r.time_frame_end
               and r.networks_searched and r.devices_searched for r in export.records)
    assert {r.search_type for r in export.records} >= {"lookup", "search", "freeform", "convoy"}
    assert {r.moderation for r in export.records} == {None, "allow", "block", "warn"}
    assert full_export["progress"][-1] == (809, 809)
    assert max(export.worker_peak_rss_mb) < 1024


def test_row_count_against_pdfplumber_words() -> None:
    """Independent of this parser: UUID-shaped pdfplumber words left of the Org Name column."""
    layout = read_audit_layout(AUDIT)
    assert layout is not None
    with pdfplumber.open(AUDIT) as pdf:
        for first, last in SAMPLE_PAGES:
            records, _ = parse_org_audit_pages(AUDIT, first, last, layout)
            words = 0
            for number in range(first, last + 1):
                page = pdf.pages[number - 1]
                words += sum(1 for w in page.extract_words()
                             if w["x0"] < layout.lefts[1] and UUID.fullmatch(w["text"]))
                page.close()
            assert len(records) == words


def test_nothing_lost_or_invented_against_pdfplumber_words() -> None:
    """Every printed character ends up in exactly one value (the header on page 1 aside)."""
    layout = read_audit_layout(AUDIT)
    with pdfplumber.open(AUDIT) as pdf:
        for first, last in SAMPLE_PAGES:
            for number in range(first, last + 1):
                page = pdf.pages[number - 1]
                printed = collections.Counter("".join(w["text"] for w in page.extract_words()))
                page.close()
                records, _ = parse_org_audit_pages(AUDIT, number, number, layout)
                values = [v or "" for r in records for v in column_texts(r, COLUMNS).values()]
                if number == 1:
                    values += COLUMNS
                parsed = collections.Counter("".join(values).replace(" ", ""))
                assert parsed == printed, number


def test_pdfium_and_pdfplumber_backends_agree() -> None:
    """The fast path (pdfium) gives the same records as the pdfplumber path, on sample pages.

    (The whole document was compared too, once: identical; it takes ~16 s with pdfplumber.)
    """
    layout = read_audit_layout(AUDIT, "pdfplumber")
    assert layout is not None and layout.columns == tuple(COLUMNS)
    for first, last in SAMPLE_PAGES:
        fast = parse_org_audit_pages(AUDIT, first, last, backend="pdfium")
        reference = parse_org_audit_pages(AUDIT, first, last, backend="pdfplumber")
        assert fast == reference, (first, last)


def test_glyphs_match_pdfplumber_chars_on_real_pages() -> None:
    for backend_pages in ((AUDIT, 1), (AUDIT, 570), (SHARING, 1), (SHARING, 24)):
        path, number = backend_pages
        (_, fast), = iter_page_glyphs(path, number, number, "pdfium")
        (_, reference), = iter_page_glyphs(path, number, number, "pdfplumber")
        a = sorted((g.text, round(g.x0, 1)) for g in fast if not g.text.isspace())
        b = sorted((g.text, round(g.x0, 1)) for g in reference if not g.text.isspace())
        assert len(a) == len(b)
        assert all(p[0] == q[0] and abs(p[1] - q[1]) <= 0.11 for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_glyph_coordinates_with_page_rotation(tmp_path: Path, rotation: int) -> None:
    path = synthetic_audit(tmp_path / f"rot{rotation}.pdf", rotation)
    (_, fast), = iter_page_glyphs(path, 1, 1, "pdfium")
    (_, reference), = iter_page_glyphs(path, 1, 1, "pdfplumber")
    assert [g.text for g in fast] == [g.text for g in reference]
    for g, h in zip(fast, reference, strict=True):
        # Helvetica is not embedded here: pdfium measures its substitute font (up to 0.11 pt
        # off for "/"); with the embedded fonts of the real exports x0 agrees within 0.001 pt.
        assert abs(g.x0 - h.x0) < 0.25 and abs(g.x1 - h.x1) < 0.25
        assert abs(g.top - h.top) < 2.0  # pdfium's box uses the font ascent, pdfminer the size
    records, _ = parse_org_audit_pages(path, 1, 2)
    assert [r.search_id for r in records] == IDS


def test_is_org_audit_by_content() -> None:
    with pdfplumber.open(AUDIT, pages=[1]) as pdf:
        page = pdf.pages[0]
        text, words = page.extract_text(), page.extract_words()
        page.close()
    assert is_org_audit(text) and is_org_audit(words)
    assert is_org_audit(["ID", "Org Name", "Total Networks Searched", "Time Frame", "Reason",
                         "Search Time"])
    others = [SHARING, EUGENE / "EPD-2025-3891_cost_estimate.pdf",
              EUGENE / "eugene_or_pd_Policy-1204.pdf"]
    for path in others:  # the fee estimate asks for an "Organization Audit in Flock"
        with pdfplumber.open(path, pages=[1]) as pdf:
            page = pdf.pages[0]
            assert not is_org_audit(page.extract_text()), path.name
            assert not is_org_audit(page.extract_words()), path.name
            page.close()
    assert not is_org_audit("")


def test_non_audit_pdfs_get_a_status(tmp_path: Path) -> None:
    sharing = parse_org_audit(SHARING)
    assert sharing.status == "not_an_audit" and sharing.records == []
    assert parse_org_audit(EUGENE / "EPD-2025-3762_surveillance_inventory.pdf").status == \
        "needs_ocr"
    assert parse_org_audit_pages(SHARING, 1, 2)[0] == []


# ---------------------------------------------------------------------------------------------
# Built sheets: other columns, wrapped cells, plates
# ---------------------------------------------------------------------------------------------


def test_other_columns_and_wrapped_cells(tmp_path: Path) -> None:
    path = synthetic_audit(tmp_path / "network_audit.pdf")
    export = parse_org_audit(path, workers=2, pages_per_chunk=1)
    assert export.status == "ok"
    assert export.columns == list(X)
    assert [r.search_id for r in export.records] == IDS
    one, two, three, four, five = export.records
    assert one.org_name == "Federal Bureau of Investigation"
    assert one.reason == "suspect vehicle westbound I-10"
    assert one.extra == {"license_plate": PLATES[0], "case_number": "2025-001",
                         "filters": "color: red"}
    assert (one.networks_searched, one.time_frame_raw, one.moderation) == (None, None, None)
    assert two.extra == {"license_plate": PLATES[1], "case_number": None, "filters": None}
    assert two.searched_at == "2025-11-14T22:27:32Z"
    assert three.reason == "ABCDEFGHIJKLMNOPQRSTUVWX"  # broken inside the word: no space
    assert four.reason == "multi line reason here done" and four.page == 2
    assert four.searched_at == "2025-12-07T00:00:00Z"
    assert five.searched_at is None and five.searched_at_raw == "12/07/2025, 01:00:00 AM"
    text = "\n".join(export.warnings)
    assert f"page 1, search {IDS[2]}: Reason has a line that ends without a space" in text
    assert f"page 2, search {IDS[4]}: Search Time is not a UTC date and time" in text
    assert "page 1: 1 line(s) outside the table left out" in text
    assert not any(plate in text for plate in PLATES)  # plates are never logged


def test_plates_only_in_extra(tmp_path: Path) -> None:
    path = synthetic_audit(tmp_path / "network_audit.pdf")
    records, warnings = parse_org_audit_pages(path, 1, 2)
    for record in records:
        for name in ("search_id", "org_name", "reason", "searched_at_raw", "search_type",
                     "time_frame_raw", "moderation"):
            assert getattr(record, name) not in PLATES
    assert [r.extra["license_plate"] for r in records] == [*PLATES[:2], None, PLATES[2], None]


def test_top_aligned_rows(tmp_path: Path) -> None:
    header = [(name, x, 50.0) for name, x in X.items()]
    rows = [
        (IDS[0], X["ID"], 59), ("Okaloosa County FL SO", X["Org Name"], 59),
        ("first ", X["Reason"], 59), ("11/14/2025, 09:53:36 AM UTC", X["Search Time"], 59),
        ("second", X["Reason"], 68),
        (IDS[1], X["ID"], 77), ("Okaloosa County FL SO", X["Org Name"], 77),
        ("bolo ", X["Reason"], 77), ("again", X["Reason"], 86),
    ]
    path = make_sheet_pdf(tmp_path / "top.pdf", [header + rows])
    records, warnings = parse_org_audit_pages(path, 1, 1)
    assert warnings == []
    assert [r.reason for r in records] == ["first second", "bolo again"]


def test_chunk_failure_is_partial_not_silent(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that dies costs its pages, is reported, and the rest still parse."""
    path = synthetic_audit(tmp_path / "two_pages.pdf")
    real = audit_pdf.iter_page_glyphs

    def dies_on_page_two(p, first, last, backend="pdfium"):
        if first == 2:
            signal.raise_signal(signal.SIGKILL)
        return real(p, first, last, backend)

    monkeypatch.setattr(audit_pdf, "iter_page_glyphs", dies_on_page_two)
    export = parse_org_audit(path, workers=2, pages_per_chunk=1, start_method="fork")
    assert export.status == "partial"
    assert [r.search_id for r in export.records] == IDS[:3]
    assert any(w.startswith("pages 2-2: crashed:") and "SIGKILL" in w for w in export.warnings)


def test_parse_with_spawn_start_method(tmp_path: Path) -> None:
    path = synthetic_audit(tmp_path / "spawned.pdf")
    spawned = parse_org_audit(path, workers=2, pages_per_chunk=1, start_method="spawn")
    assert spawned.status == "ok"
    assert spawned.records == parse_org_audit_pages(path, 1, 2)[0]


def test_group_lines_bridges_a_dropped_double_space() -> None:
    """pdfium drops the second of two spaces; the run must not split there."""
    g = audit_pdf.Glyph
    glyphs = [g("a", 0, 5, 0, 7), g(" ", 5, 7, 0, 7), g("b", 9, 14, 0, 7)]
    (line,) = group_lines(glyphs)
    assert [r.text for r in line.runs] == ["a b"]


# ---------------------------------------------------------------------------------------------
# The worker limits
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_run_limited_statuses(method: str) -> None:
    assert run_limited(sum, [1, 2, 3], timeout_s=30, memory_mb=512, start_method=method) == 6
    outcome = run_job(sum, [1, 2], timeout_s=30, memory_mb=None, start_method=method)
    assert isinstance(outcome, JobOutcome) and outcome.value == 3 and outcome.peak_rss_mb > 0
    cases = [
        ((time.sleep, 10), {"timeout_s": 0.5, "memory_mb": None}, "timeout", "0.5 s"),
        ((bytearray, 2 * 1024**3), {"timeout_s": 30, "memory_mb": 256}, "memory", "256 MB"),
        # (SIGKILL rather than os.abort: pytest's faulthandler would print a dump for SIGABRT.)
        ((signal.raise_signal, signal.SIGKILL), {"timeout_s": 30, "memory_mb": None}, "crashed",
         "SIGKILL"),
        ((int, "x"), {"timeout_s": 30, "memory_mb": None}, "crashed", "ValueError"),
        ((os._exit, 3), {"timeout_s": 30, "memory_mb": None}, "crashed", "code 3"),
    ]
    for call, limits, status, words in cases:
        with pytest.raises(PdfJobError) as caught:
            run_limited(*call, start_method=method, **limits)
        assert caught.value.status == status and words in caught.value.message


def test_run_many_keeps_order_and_isolates_failures() -> None:
    finished: list[int] = []
    outcomes = run_many(time.sleep, [(0.3,), (5,), (0.1,), (0.2,)], workers=2, timeout_s=1.5,
                        memory_mb=None, on_done=lambda i, o: finished.append(i))
    assert [type(o).__name__ for o in outcomes] == ["JobOutcome", "PdfJobError", "JobOutcome",
                                                    "JobOutcome"]
    assert outcomes[1].status == "timeout"
    assert sorted(finished) == [0, 1, 2, 3] and finished[-1] == 1
