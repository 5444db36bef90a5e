"""The "Networks Shared With Me / Networks I'm Sharing" PDF parser.

Facts below were read from Sharing_Agencies.pdf itself (page text, word positions): 29 pages,
858 organisations; 303 rows have networks in both directions, 352 only "shared with me", 203
only "I'm sharing" (counted from which columns each printed line has text in).
"""

from __future__ import annotations

import collections
from pathlib import Path

import pdfplumber
from conftest import CORPUS
from test_audit_pdf import make_sheet_pdf

from parsers.flock.sharing_pdf import (
    SharingRow,
    is_sharing_report,
    parse_sharing_report,
    split_networks,
)

OKALOOSA = CORPUS / "records" / "okaloosa_fl_so"
SHARING = OKALOOSA / "Sharing_Agencies.pdf"
AUDIT = OKALOOSA / "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf"
EUGENE = CORPUS / "records" / "eugene_or_pd"
OKALOOSA_SO = ["Okaloosa County FL SO"]


def _by_org(rows: list[SharingRow]) -> dict[str, SharingRow]:
    return {row.org_name: row for row in rows}


def test_whole_report() -> None:
    report = parse_sharing_report(SHARING)
    assert report.status == "ok" and report.warnings == []
    assert report.pages == 29
    assert report.columns == ["Organization Name", "Networks Shared With Me",
                              "Networks I'm Sharing"]
    assert len(report.rows) == 858
    assert len({r.org_name for r in report.rows}) == 858
    directions = collections.Counter((bool(r.networks_shared_with_me),
                                      bool(r.networks_im_sharing)) for r in report.rows)
    assert directions == {(True, True): 303, (True, False): 352, (False, True): 203}
    assert {tuple(r.networks_im_sharing) for r in report.rows} == {(), tuple(OKALOOSA_SO)}
    assert report.rows[0].org_name == "Polk County FL SO"
    assert report.rows[-1] == SharingRow("Nashville Intl Airport TN PD", [], OKALOOSA_SO, 29)


def test_organisation_count_against_pdfplumber_words() -> None:
    """Independent of the parser: printed lines with text in the Organization Name column."""
    lines = 0
    with pdfplumber.open(SHARING) as pdf:
        for page in pdf.pages:
            tops = sorted({round(w["top"]) for w in page.extract_words() if w["x0"] < 270})
            lines += len(tops)
            page.close()
    assert lines - 1 == 858  # less the header line


def test_rows_in_both_directions() -> None:
    rows = _by_org(parse_sharing_report(SHARING).rows)
    assert rows["Holmes County FL SO"] == SharingRow(
        "Holmes County FL SO", ["Holmes County FL SO"], OKALOOSA_SO, 1)
    # Wrapped over two lines; "Polk County FL SO -" / "Axon" is one name broken at a space.
    assert rows["Polk County FL SO"].networks_shared_with_me == [
        "Polk County FL SO", "Polk County FL SO (LR)", "Polk County FL SO - Axon",
        "Polk County FL SO (Tech)"]
    assert rows["Polk County FL SO"].networks_im_sharing == OKALOOSA_SO
    # "IB ,Hillsborough": a name printed with a trailing space before its comma.
    assert rows["Hillsborough County FL SO"].networks_shared_with_me == [
        "Hillsborough County FL SO (Flex)", "Hillsborough County Pierce Garage IB",
        "Hillsborough County FL SO"]
    brookhaven = rows["Brookhaven GA PD"]
    assert brookhaven.networks_shared_with_me == [
        "Brookhaven Parks Ashford Forest (GA)", "Brookhaven Condor Demo",
        "Brookhaven GA Parks (Condors)", "Brookhaven Parks (GA)", "Brookhaven GA PD (Condor)",
        "Brookhaven GA PD (LR)", "Brookhaven GA PD (Falcon)"]
    assert brookhaven.networks_im_sharing == []
    assert rows["Orange Beach AL PD"] == SharingRow(
        "Orange Beach AL PD", ["Orange Beach AL PD"], [], 1)


def test_federal_rows() -> None:
    rows = _by_org(parse_sharing_report(SHARING).rows)
    assert rows["[Federal] US GSA Office of Inspector General"] == SharingRow(
        "[Federal] US GSA Office of Inspector General", ["US - GSA Office of Inspector General"],
        OKALOOSA_SO, 14)
    assert rows["[Federal] US Postal Inspection Service"] == SharingRow(
        "[Federal] US Postal Inspection Service", [], OKALOOSA_SO, 26)
    assert rows["[Federal] Wright Patterson OH Air Force Base"].networks_im_sharing == OKALOOSA_SO
    federal = sorted(name for name in rows if name.startswith("[Federal]"))
    assert len(federal) >= 3


def test_names_trimmed_and_spaces_normalised() -> None:
    rows = _by_org(parse_sharing_report(SHARING).rows)
    assert "Dougherty County GA PD" in rows  # printed with a trailing space
    assert "Sullivan IL PD" in rows  # printed "Sullivan  IL PD" (two spaces)
    assert rows["Okaloosa County FL SO"] == SharingRow(
        "Okaloosa County FL SO", [], OKALOOSA_SO, 29)
    for row in rows.values():
        for name in [row.org_name, *row.networks_shared_with_me, *row.networks_im_sharing]:
            assert name == name.strip() and "  " not in name and "," not in name


def test_backends_and_isolation_agree() -> None:
    fast = parse_sharing_report(SHARING)
    assert parse_sharing_report(SHARING, backend="pdfplumber") == fast
    assert parse_sharing_report(SHARING, isolate=False) == fast


def test_is_sharing_report_by_content() -> None:
    with pdfplumber.open(SHARING, pages=[1]) as pdf:
        page = pdf.pages[0]
        assert is_sharing_report(page.extract_text())
        assert is_sharing_report(page.extract_words())
        page.close()
    for path in (AUDIT, EUGENE / "EPD-2025-3891_cost_estimate.pdf",
                 EUGENE / "eugene_or_pd_Policy-1204.pdf"):
        with pdfplumber.open(path, pages=[1]) as pdf:
            page = pdf.pages[0]
            assert not is_sharing_report(page.extract_text()), path.name
            page.close()
    assert is_sharing_report(["Organization Name", "Networks I\u2019m Sharing"])


def test_not_a_sharing_report() -> None:
    audit = parse_sharing_report(AUDIT)
    assert audit.status == "not_a_sharing_report" and audit.rows == []
    scan = parse_sharing_report(EUGENE / "EPD-2025-3762_surveillance_inventory.pdf")
    assert scan.status == "needs_ocr"


def test_split_networks() -> None:
    assert split_networks("A PD,B  SO ,, C (LR) ") == ["A PD", "B SO", "C (LR)"]
    assert split_networks("") == []


def test_wrapped_organisation_name_and_wrapped_network_names(tmp_path: Path) -> None:
    org1 = "Georgia Southwestern State University Campus Police Department and Public "
    header = [("Organization Name", 20, 50), ("Networks Shared With Me", 280, 50),
              ("Networks I'm Sharing", 585, 50)]
    rows = [
        # The organisation name wraps: "Safety Office" could not fit after line 1.
        (org1, 20, 59),
        ("Safety Office", 20, 68), ("GSW PD,GSW PD (Flex)", 280, 68),
        ("Okaloosa County FL SO", 585, 68),
        # A network name broken at a space, and a break right after a comma.
        ("Alpha PD,Beta County ", 280, 77), ("SO,Gamma PD, ", 280, 86),
        ("Alpha PD", 20, 95), ("Delta PD", 280, 95),
        # A short line of its own is its own row (the next word would have fitted after it).
        ("Short Org", 20, 104),
        ("Epsilon PD", 20, 113), ("Epsilon PD", 280, 113),
    ]
    path = make_sheet_pdf(tmp_path / "sharing.pdf", [header + rows])
    report = parse_sharing_report(path)
    assert report.status == "ok"
    assert report.rows == [
        SharingRow(org1.strip() + " Safety Office", ["GSW PD", "GSW PD (Flex)"], OKALOOSA_SO, 1),
        SharingRow("Alpha PD", ["Alpha PD", "Beta County SO", "Gamma PD", "Delta PD"], [], 1),
        SharingRow("Short Org", [], [], 1),
        SharingRow("Epsilon PD", ["Epsilon PD"], [], 1),
    ]
    assert report.warnings == ["page 1, Short Org: no networks in either direction"]
