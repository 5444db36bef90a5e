"""Vigilant "Agency Data Sharing Report" parser.

Facts below were read from the reports themselves: the text layer (pdfplumber) and pages rendered
to PNG with pypdfium2 (Irvine pp. 1, 2, 7, 13, 16; Orange County pp. 1, 2, 5), where rows were
counted by eye.

* Irvine PD (LEARN, "Date Created: 03-02-20", 17 pp., a photocopy with an OCR layer): detections
  shared with 342 agencies - 24 rows on p. 1, 27 on each of pp. 2-6, 12 on p. 7, two names a
  row; received from 310; hot lists shared with 60, received from 28.
* Orange County Sheriff's Department (Motorola VehicleManager, "Date Created: 03-11-25", 9 pp.,
  born-digital; in the corpus as flock/OCIAC_A1-A4_Data_Sharing.pdf): detections shared with
  149 agencies (26 rows on p. 2), received from 138 (a table Agency | City | State), hot lists
  shared with none ("None"), received from 19.
"""

from __future__ import annotations

import collections
import re
from pathlib import Path

import pdfplumber
import pytest
from conftest import CORPUS
from test_agreement_pdf import make_pdf

from alpr_inventory.resolve.resolver import Resolver
from parsers.agreements.vigilant import VigilantReport, parse_vigilant_sharing_report

VIGILANT = CORPUS / "agreements" / "vigilant"
IRVINE = VIGILANT / "vigilant_sharing_2020_irvine-police-department-86954_doc0.pdf"
ORANGE = CORPUS / "agreements" / "flock" / "OCIAC_A1-A4_Data_Sharing.pdf"
DASHBOARDS = sorted(VIGILANT.glob("vigilant_sharing_2020_orange-county-sheriffs-office-*.pdf"))

_CACHE: dict[Path, VigilantReport] = {}


def parsed(path: Path) -> VigilantReport:
    if path not in _CACHE:
        assert path.is_file(), path
        _CACHE[path] = parse_vigilant_sharing_report(path)
    return _CACHE[path]


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver.load()


def federal(report: VigilantReport, kind: str, resolver: Resolver
            ) -> list[tuple[str, int, str | None, bool]]:
    section = report.section(kind)
    assert section is not None
    out = []
    for e in section.entries:
        r = resolver.resolve(e.agency_name)
        if r.kind == "federal":
            out.append((e.name, e.page, r.federal_component, r.immigration))
    return out


# ---------------------------------------------------------------------------------------------
# Irvine PD, 2020 (OCR)
# ---------------------------------------------------------------------------------------------


def test_irvine_owner_and_sections() -> None:
    r = parsed(IRVINE)
    assert (r.status, r.owner, r.pages, r.text_layer, r.date_created) == (
        "ok", "Irvine Police Department", 17, "ocr", "03-02-20")
    assert [(s.kind, s.page, s.columns, len(s.entries)) for s in r.sections] == [
        ("detections_shared", 1, [], 342),
        ("detections_received", 7, [], 310),
        ("hotlists_shared", 13, ["Agency", "Hot List(s)"], 60),
        ("hotlists_received", 16, ["Agency", "Hot List(s)"], 28)]
    assert r.recipients is r.section("detections_shared").entries
    per_page = collections.Counter(e.page for e in r.recipients)
    assert per_page == {1: 48, 2: 54, 3: 54, 4: 54, 5: 54, 6: 54, 7: 24}
    first, last = r.recipients[0], r.recipients[-1]
    assert (first.name, first.page) == ("100th Judicial District Attorney Traffic Enforcement", 1)
    assert (last.name, last.page) == ("Yuma County Sheriffs Office (AZ)", 7)
    # p. 7: the right-hand name wraps onto a second line
    assert "Winnebago County Sheriff (Machesney Park Division)" in [e.name for e in r.recipients]
    assert r.recipients[1].name == "10th Judicial District Drug Task Force"  # row-major order


def test_irvine_recipients_are_in_the_printed_alphabetical_order() -> None:
    """Vigilant prints names alphabetically along the rows; the only pairs out of order are OCR
    misreadings (CBP read "CEP", "Marin" read "Mann", "Fayetteville" read "Fayeffeville") and
    Vigilant's own "Union City Police Department (CA)" before "Union City Police Department"."""
    names = [e.name for e in parsed(IRVINE).recipients]
    out_of_order = [(a, b) for a, b in zip(names, names[1:], strict=False)
                    if a.lower() > b.lower()]
    assert out_of_order == [
        ("CEP - NTC", "Cedar Rapids Police Department"),
        ("Fayette County Sheriffs Office", "Fayeffeville Police Department"),
        ("Marietta Police Department", "Mann County Sheriffs Office"),
        ("Union City Police Department (CA)", "Union City Police Department")]


def test_irvine_count_against_pdfplumber_words() -> None:
    """Independent of the parser: in pdfplumber's words on pp. 1-7 between the page header and
    footer, above the "Detections Received" heading, count the cells: a line's first word, and
    the first word at or right of x = 320 pt after one left of it (the right column starts at
    328-330 pt), less the lines that continue a wrapped name (under 18 pt below the line
    before; rows are 25 pt apart)."""
    cells = 0
    with pdfplumber.open(IRVINE, pages=list(range(1, 8))) as pdf:
        for page in pdf.pages:
            words = [w for w in page.extract_words() if w["top"] > 70
                     and re.search(r"\w", w["text"])]
            stop = next((w["top"] for w in words if w["text"] == "Received"), 1e9)
            words = sorted((w for w in words if w["top"] < stop - 5), key=lambda w: w["top"])
            lines: list[list[dict]] = []
            for w in words:
                if lines and w["top"] - lines[-1][0]["top"] <= 5:
                    lines[-1].append(w)
                else:
                    lines.append([w])
            prev_top = None
            for row in lines:
                row.sort(key=lambda w: w["x0"])
                text = " ".join(w["text"] for w in row)
                top, wrapped = row[0]["top"], prev_top is not None and row[0]["top"] - prev_top < 18
                prev_top = top
                if text.startswith(("The Irvine", "Date Created")) or wrapped or \
                        text == "Detections Shared":
                    continue
                cells += 1 + sum(1 for a, b in zip(row, row[1:], strict=False)
                                 if a["x0"] < 320 <= b["x0"])
            page.close()
    assert cells == 342


def test_irvine_federal_recipients(resolver: Resolver) -> None:
    r = parsed(IRVINE)
    assert federal(r, "detections_shared", resolver) == [
        ("ATF National Account", 1, "ATF", False),
        ("DHS - HSI (Newark NJ)", 2, "ICE-HSI", True),
        ("Federal Bureau of Investigation", 3, "FBI", False),
        ("San Diego Sector Border Patrol (CA)", 6, "CBP-USBP", True),
        ("United States Forest Service CA", 6, "USFS", False)]
    # p. 2 prints "CBP - NTC"; the OCR layer says "CEP": kept as read, flagged for a person
    names = [e.name for e in r.recipients]
    assert "CEP - NTC" in names and "CBP - NTC" not in names
    assert resolver.resolve("CEP - NTC").kind != "federal"
    assert any("'CEP - NTC'" in w and "CBP" in w for w in r.warnings)
    assert any("OCR" in w for w in r.warnings)
    # the received list has it read correctly (p. 12)
    assert ("CBP - NTC", 12, "CBP", True) in federal(r, "detections_received", resolver)


def test_irvine_hot_lists() -> None:
    r = parsed(IRVINE)
    received = r.section("hotlists_received").entries
    assert (received[0].name, received[0].extra) == ("Beaumont Police Department",
                                                     {"Hot List(s)": "Haze Template"})
    # "HSI MASTER" is the name of a hot list Montgomery PD shares, not an agency
    montgomery = next(e for e in received if e.extra["Hot List(s)"] == "HSI MASTER")
    assert (montgomery.name, montgomery.page) == ("Montgomery Police Department", 16)
    wrapped = received[21]  # both cells wrap: "... Department" / "(CA)"
    assert (wrapped.name, wrapped.extra["Hot List(s)"], wrapped.page) == (
        "San Joaquin County Sheriffs Department (CA)",
        "LEARN_San Joaquin County Sheriffs Department (CA)", 16)
    assert [e.page for e in received].count(17) == 6


# ---------------------------------------------------------------------------------------------
# Orange County Sheriff's Department, 2025 (born-digital)
# ---------------------------------------------------------------------------------------------


def test_orange_county_report() -> None:
    r = parsed(ORANGE)
    assert (r.status, r.owner, r.pages, r.text_layer, r.date_created) == (
        "ok", "Orange County Sheriffs Department", 9, "born_digital", "03-11-25")
    assert [(s.kind, s.page, s.columns, len(s.entries), s.printed_none) for s in r.sections] == [
        ("detections_shared", 1, [], 149, False),
        ("detections_received", 4, ["Agency", "City", "State"], 138, False),
        ("hotlists_shared", 8, ["Agency", "Hot List(s)"], 0, True),
        ("hotlists_received", 8, ["Agency", "Hot List(s)"], 19, False)]
    assert r.warnings == []
    names = [e.name for e in r.recipients]
    assert names == sorted(names, key=str.lower)  # strictly alphabetical, as printed
    assert collections.Counter(e.page for e in r.recipients)[2] == 52
    # a left name running into the right column with no space between them (p. 3)
    assert "Riverside County District Attorneys Office (CA)" in names
    assert "Riverside County Sheriffs Department (CA)" in names
    # wrapped onto a second line (p. 2)
    assert "Los Angeles County District Attorneys Office (CA)" in names
    inactive = [e for e in r.recipients if e.marker == "Inactive"]
    assert len(inactive) == 13
    assert ("Inactive Orange County Sheriff", "Orange County Sheriff") in [
        (e.name, e.agency_name) for e in inactive]


def test_orange_county_federal(resolver: Resolver) -> None:
    r = parsed(ORANGE)
    assert federal(r, "detections_shared", resolver) == [
        ("Inactive United States Forest Service CA", 2, "USFS", False),
        ("IRS Criminal Investigations", 2, "IRS-CI", False)]
    received = r.section("detections_received").entries
    patrol = next(e for e in received if "Border Patrol" in e.name)
    assert (patrol.name, patrol.page, patrol.extra) == (
        "San Diego Sector Border Patrol (CA)", 5, {"City": "Chula Vista", "State": "CA"})
    assert federal(r, "detections_received", resolver) == [
        ("San Diego Sector Border Patrol (CA)", 5, "CBP-USBP", True)]
    assert all(e.extra["State"] for e in received)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem[-4:])
def test_dashboard_reports_are_not_sharing_reports(path: Path) -> None:
    """The four 2018-2019 OC Sheriff files are "Dashboard Detection / Hit Ratio Report"s."""
    r = parsed(path)
    assert r.status == "not_a_sharing_report" and r.owner is None and r.recipients == []
    assert "Dashboard" in r.warnings[0]


# ---------------------------------------------------------------------------------------------
# Built reports and broken files
# ---------------------------------------------------------------------------------------------


def _report_pages() -> list[list[tuple[str, float, float]]]:
    header = [("Agency", 270, 20), ("Data Sharing Report", 240, 40)]
    p1 = header + [
        ("Detections Shared", 250, 80),
        ("The Sample Police Department Agency is Sharing its Detection data with the following "
         "Agencies:", 60, 110),
        ("Alpha Police Department", 70, 140), ("Bravo County Sheriff (with a very", 300, 140),
        ("long name)", 300, 152),
        ("Charlie Police Department", 70, 170), ("CBP - NTC", 300, 170),
        ("Delta County District Attorneys Office (CA)", 70, 200), ("Echo PD", 300, 200),
        ("Date Created: 01-02-25 VehicleManager Agency Data Sharing Report Page 1 of 2", 40, 760),
    ]
    p2 = header + [
        ("Inactive Foxtrot Police Department", 70, 80),
        ("Hot List Sharing", 250, 120),
        ("The Sample Police Department Agency is sharing Hot List records with the following "
         "Agencies:", 60, 150),
        ("Agency:", 50, 175), ("Hot List(s):", 300, 175), ("None", 270, 200),
        ("Date Created: 01-02-25 VehicleManager Agency Data Sharing Report Page 2 of 2", 40, 760),
    ]
    return [p1, p2]


def test_built_report(tmp_path: Path, resolver: Resolver) -> None:
    path = make_pdf(tmp_path / "report.pdf", _report_pages(), size=10)
    r = parse_vigilant_sharing_report(path, isolate=False)
    assert (r.status, r.owner, r.date_created, r.text_layer) == (
        "ok", "Sample Police Department", "01-02-25", "born_digital")
    assert [(e.name, e.page) for e in r.recipients] == [
        ("Alpha Police Department", 1), ("Bravo County Sheriff (with a very long name)", 1),
        ("Charlie Police Department", 1), ("CBP - NTC", 1),
        ("Delta County District Attorneys Office (CA)", 1), ("Echo PD", 1),
        ("Inactive Foxtrot Police Department", 2)]
    assert r.recipients[-1].agency_name == "Foxtrot Police Department"
    assert resolver.resolve(r.recipients[3].agency_name).federal_component == "CBP"
    hot = r.section("hotlists_shared")
    assert hot is not None and hot.printed_none and hot.entries == []
    assert r.warnings == []


def test_broken_inputs(tmp_path: Path) -> None:
    assert parse_vigilant_sharing_report(b"%PDF-1.7\n1 0 obj").status == "truncated"
    html = parse_vigilant_sharing_report(b"<html><head><title>404</title></head></html>")
    assert html.status == "not_a_pdf" and html.recipients == []
    scan = make_pdf(tmp_path / "scan.pdf", [[]], image=True)
    r = parse_vigilant_sharing_report(scan)
    assert r.status == "needs_ocr" and r.owner is None
    other = make_pdf(tmp_path / "letter.pdf", [[("Dear Sir,", 72, 72), ("Thank you.", 72, 90)]])
    r = parse_vigilant_sharing_report(other, isolate=False)
    assert r.status == "not_a_sharing_report"
