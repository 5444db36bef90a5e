"""`alpr-inventory parse FILE --json` prints what every parser extracted, as a user runs it.

The facts asserted for real documents were verified in those documents by the tests named in
each comment (tests/parsers/flock/test_sharing_pdf.py, test_vigilant.py, test_agreement_pdf.py,
test_ice287g.py, test_audit_import.py); here they check that `parse` shows them.
"""

from __future__ import annotations

import json

from conftest import CORPUS, PORTALS, run_cli

AGREEMENTS = CORPUS / "agreements"


def parse(tmp_path, path, *options: str) -> dict:
    result = run_cli("parse", str(path), "--json", *options, db=tmp_path / "unused.db")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (tmp_path / "unused.db").exists()
    return json.loads(result.stdout)


def test_portal_pages_of_every_layout(tmp_path):
    flock = CORPUS / "flock"
    for path, layout, names in (
        (PORTALS / "santa-paula-ca-pd" / "2026-04-22.html", "classic", 55),
        (flock / "portals_transitional" / "santa-paula-ca-pd" / "2026-04-29.html",
         "transitional", 55),
        (flock / "portals_new" / "santa-clara-ca-pd" / "2026-08-03.html", "new", 351),
    ):
        out = parse(tmp_path, path)
        assert (out["kind"], out["layout"], out["parse_status"]) == ("flock_portal", layout, "ok")
        assert len(out["sharing_outbound"]) == names  # pages are printed in full
        assert out["status"] == "ok" and out["self_check"]["names"] == names
        assert "truncated" not in out
    # santa-clara-ca-pd 2026-08-03 (REBUILT copy): 1,257 audit rows, all printed, and the
    # re-joined name with the cells it came from
    assert len(out["search_audit"]) == 1257
    assert out["name_repairs"][0]["cells"] == ["University of California", "Berkeley PD"]


def test_sharing_report_pdf(tmp_path):
    # Okaloosa's "Sharing_Agencies.pdf": 858 organisations on 29 pages, the first "Polk County
    # FL SO" (tests/parsers/flock/test_sharing_pdf.py)
    out = parse(tmp_path, CORPUS / "records" / "okaloosa_fl_so" / "Sharing_Agencies.pdf")
    assert (out["kind"], out["parse_status"]) == ("sharing_report", "ok")
    report = out["sharing_report"]
    assert report["pages"] == 29 and report["rows"][0]["org_name"] == "Polk County FL SO"
    assert len(report["rows"]) == 20 and out["truncated"] == {"sharing_report.rows": 858}
    full = parse(tmp_path, CORPUS / "records" / "okaloosa_fl_so" / "Sharing_Agencies.pdf",
                 "--full")
    assert len(full["sharing_report"]["rows"]) == 858 and "truncated" not in full


def test_vigilant_report(tmp_path):
    # Irvine PD 2020: owner "Irvine Police Department", 17 pages, created "03-02-20", 342
    # agencies it shares detections with (tests/parsers/agreements/test_vigilant.py)
    out = parse(tmp_path, AGREEMENTS / "vigilant" /
                "vigilant_sharing_2020_irvine-police-department-86954_doc0.pdf")
    report = out["vigilant"]
    assert out["kind"] == "vigilant_sharing_report"
    assert (report["owner"], report["pages"], report["date_created"]) == (
        "Irvine Police Department", 17, "03-02-20")
    assert [s["kind"] for s in report["sections"]] == [
        "detections_shared", "detections_received", "hotlists_shared", "hotlists_received"]
    assert out["truncated"]["vigilant.recipients"] == 342
    assert report["recipients"][0]["name"] == (
        "100th Judicial District Attorney Traffic Enforcement")


def test_agreement_pdf_parties_model_dates_provisions(tmp_path):
    # Texas OAG Task Force MOA: ICE and the Texas Office of Attorney General on p. 1, signed
    # 2025-01-30 (LEA) and 2025-01-31 (ICE) on p. 10
    # (tests/parsers/agreements/test_agreement_pdf.py)
    out = parse(tmp_path, AGREEMENTS / "287g" / "moa" /
                "TexasOfficeAttorneyGeneral_TFM_MOA_01.30.25.pdf")
    assert (out["kind"], out["parse_status"]) == ("agreement", "ok")
    a = out["agreement"]
    assert (a["doc_type"], a["model"], a["pages"]) == ("287g_moa", "TFM", 15)
    assert [(p["role"], p["name"]) for p in a["parties"]] == [
        ("federal", "United States Immigration and Customs Enforcement"),
        ("lea", "Texas Office of Attorney General")]
    assert [(d["party"], d["iso"]) for d in a["signature_dates"]] == [
        ("LEA", "2025-01-30"), ("ICE", "2025-01-31")]
    assert a["effective_date"] == "2025-01-31"
    assert a["termination"] and all("text" in p and "page" in p for p in a["termination"])
    assert isinstance(a["data_provisions"], list)


def test_287g_sheet(tmp_path):
    # participating sheet of 2025-07-18 pm: 832 rows, 8 columns ending "ADDENDUM", 73 blank
    # rows (tests/parsers/agreements/test_ice287g.py)
    out = parse(tmp_path, AGREEMENTS / "287g" / "sheets" /
                "20250719_151637__participatingAgencies07182025pm.xlsx")
    sheet = out["sheet_287g"]
    assert (out["kind"], out["layout"]) == ("ice_287g_sheet", "participating")
    assert (sheet["sheet_date"], sheet["edition"], sheet["columns"][-1]) == (
        "2025-07-18", "pm", "ADDENDUM")
    assert out["truncated"]["sheet_287g.rows"] == 832 and sheet["lost_rows"] == 0


def test_audit_exports_never_show_plates(tmp_path):
    # Constructed export in the FOIA "Network Audit" shape (as in tests/load/test_audit_import.py)
    path = tmp_path / "constructed_audit.csv"
    path.write_text("Search ID,Org Name,License Plate,Search Date,Reason,Network Count\n"
                    "11111111-1111-1111-1111-111111111111,U.S. Border Patrol,7ABC123,"
                    "2026-01-05T10:00:00Z,ICE ERO assist,3\n")
    result = run_cli("parse", str(path), "--json", db=tmp_path / "unused.db")
    assert "7ABC123" not in result.stdout
    out = json.loads(result.stdout)
    (row,) = out["audit"]["rows"]
    assert (row["org_name"], row["reason"], row["network_count"], row["plate_hash"]) == (
        "U.S. Border Patrol", "ICE ERO assist", 3, None)
    assert any("plate value(s) dropped" in w for w in out["warnings"])
    # Yuba County's workbook (tests/load/test_audit_import.py): 2,060 rows in "Search Audit"
    out = parse(tmp_path, CORPUS / "flock" / "audit" / "yuba_county_ca_so" /
                "search_audit_pacific.xlsx")
    assert (out["layout"], out["audit"]["row_count"]) == ("audit_xlsx", 2060)
    assert out["audit"]["rows"][0]["search_id"] == "0d467e68-708e-4b39-9eb7-83b2b7af3cc2"


def test_released_sharing_list(tmp_path):
    # Eugene's released list: 59 organisations (tests/load/test_audit_import.py)
    out = parse(tmp_path, CORPUS / "records" / "eugene_or_pd" / "EPD-2025-4987_sharing_list.csv",
                "--sharing-list", "inbound", "--agency", "Eugene OR PD", "--full")
    assert (out["kind"], out["layout"]) == ("sharing_list", "inbound")
    assert len(out["names"]) == 59 and "Houston TX PD" in out["names"]


def test_sharing_workbook(tmp_path):
    import openpyxl

    # Constructed (no such export is in the corpus), as in tests/load/test_pdf_import.py: a Flock
    # "Shared Networks" workbook with a title row above the header
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Shared Networks - Example County XX SO (constructed)"])
    ws.append(["Organization Name", "Networks Shared With Me", "Networks I'm Sharing"])
    ws.append(["Nearby XX PD", "Nearby XX PD, Nearby XX PD (LR)", "Example County XX SO"])
    ws.append(["[Federal] US Postal Inspection Service", "", "Example County XX SO"])
    path = tmp_path / "constructed_shared_networks.xlsx"
    book.save(path)
    out = parse(tmp_path, path)
    assert (out["kind"], out["layout"]) == ("sharing_report", "xlsx")
    rows = out["sharing_report"]["rows"]
    assert [r["org_name"] for r in rows] == ["Nearby XX PD",
                                             "[Federal] US Postal Inspection Service"]
    assert rows[0]["networks_shared_with_me"] == ["Nearby XX PD", "Nearby XX PD (LR)"]
    assert rows[1]["networks_im_sharing"] == ["Example County XX SO"]
