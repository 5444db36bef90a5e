"""Records releases as PDFs through `import`: the audit export, the sharing report, bad files."""

from __future__ import annotations

import json

import pytest
from conftest import CORPUS, fact_dump, run_cli
from test_pdf_status import broken  # noqa: F401 - the fixture of constructed broken PDFs

from alpr_inventory.store.schema import open_db

OKALOOSA = CORPUS / "records" / "okaloosa_fl_so"
AUDIT = OKALOOSA / "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf"
SHARING = OKALOOSA / "Sharing_Agencies.pdf"


@pytest.fixture(scope="module")
def okaloosa_db(tmp_path_factory):
    db_path = tmp_path_factory.mktemp("okaloosa") / "o.db"
    first = run_cli("import", str(AUDIT), str(SHARING), "--captured-at", "2025-12-09",
                    db=db_path)
    assert first.returncode == 0, first.stderr
    return db_path, first.stdout


def test_audit_pdf_rows_become_searches(okaloosa_db):
    db_path, out = okaloosa_db
    assert "searches: 7273 new, 0 already known, 0 changed" in out
    db = open_db(str(db_path))
    # page 1, first row, as printed: 23d55b89-..., Okaloosa County FL SO, 840 networks,
    # 17652 devices, "bolo", 11/14/2025, 09:53:36 AM UTC, lookup
    row = db["searches"].get("23d55b89-42eb-4f5c-9281-f5e8bf4864be")
    assert (row["searching_agency_id"], row["org_name"], row["network_count"],
            row["camera_count"], row["reason"], row["searched_at"], row["search_type"],
            row["source_row"]) == ("okaloosa-county-fl-so", "Okaloosa County FL SO", 840, 17652,
                                   "bolo", "2025-11-14T09:53:36Z", "lookup", "page 1")
    assert json.loads(row["extra"])["time_frame_start"] == "2025-11-13T22:00:17Z"
    assert row["federal_searcher"] == 0


def test_sharing_report_gives_both_directions_and_federal_grantees(okaloosa_db):
    db_path, _ = okaloosa_db
    db = open_db(str(db_path))
    lists = {r["direction"]: r for r in db["sharing_lists"].rows}
    # 858 organisations; 506 with a network in "Networks I'm Sharing" (they can see
    # Okaloosa's data), 655 with one in "Networks Shared With Me"
    assert (lists["outbound"]["count"], lists["inbound"]["count"]) == (506, 655)
    assert lists["outbound"]["list_agency_id"] == "okaloosa-county-fl-so"  # read from the report
    rows = list(db.query("select federal_grantee, component, first_seen from federal_access "
                         "where data_owner_id = 'okaloosa-county-fl-so' order by 1"))
    # page 14: "[Federal] US GSA Office of Inspector General"; page 26: "[Federal] Wright
    # Patterson OH Air Force Base" and "[Federal] US Postal Inspection Service"
    assert sorted(r["component"] for r in rows) == ["DOD", "GSA-OIG", "USPIS"]
    assert {r["first_seen"] for r in rows} == {"2025-12-09T00:00:00Z"}


def test_reimport_adds_nothing(okaloosa_db):
    db_path, _ = okaloosa_db
    before = fact_dump(open_db(str(db_path)))
    again = run_cli("import", str(AUDIT), "--captured-at", "2025-12-09", db=db_path)
    # the 809-page PDF is not parsed again: same bytes, capture and parser version
    assert "(0 new documents, 1 unchanged: same bytes and capture" in again.stdout
    assert "PDF pages parsed" not in again.stderr
    assert fact_dump(open_db(str(db_path))) == before


def test_a_folder_of_broken_files_gets_one_clear_status_each(tmp_path, broken):  # noqa: F811
    folder = next(iter(broken.values())).parent
    (folder / "eugene_policy_scan.pdf").symlink_to(  # a real scan without a text layer
        CORPUS / "records" / "eugene_or_pd" / "EPD-2025-3762_surveillance_inventory.pdf")
    db_path = tmp_path / "broken.db"
    out = run_cli("import", str(folder), db=db_path)
    assert out.returncode == 0, out.stderr
    db = open_db(str(db_path))
    status = {r["url"].rsplit("/", 1)[-1]: r["parse_status"] for r in db.query(
        "select f.url, d.parse_status from fetches f join documents d using (sha256)")}
    assert status == {
        "empty.pdf": "empty", "blocked.pdf": "not_a_pdf", "half.pdf": "truncated",
        "locked.pdf": "encrypted", "scan.pdf": "needs_ocr", "cid.pdf": "cid_glyphs",
        "EPD-2025-3762_surveillance_inventory.pdf": "needs_ocr",  # the link's target
    }
    for line in ("empty.pdf: empty", "locked.pdf: encrypted", "scan.pdf: needs_ocr"):
        assert line in out.stdout
    assert db["searches"].count == 0 and db["sharing"].count == 0


def test_shared_networks_workbook_loads_like_the_pdf(tmp_path):
    import openpyxl

    # Constructed (no such export is in the corpus): a Flock "Shared Networks" workbook in the
    # report's three columns, with a title row above the header.
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Shared Networks - Example County XX SO (constructed)"])
    ws.append(["Organization Name", "Networks Shared With Me", "Networks I'm Sharing"])
    ws.append(["Nearby XX PD", "Nearby XX PD, Nearby XX PD (LR)", "Example County XX SO"])
    ws.append(["[Federal] US Postal Inspection Service", "", "Example County XX SO"])
    ws.append(["Other XX PD", "Other XX PD", ""])
    path = tmp_path / "constructed_shared_networks.xlsx"
    book.save(path)
    db_path = tmp_path / "x.db"
    assert run_cli("import", str(path), "--captured-at", "2026-01-05", db=db_path).returncode == 0
    db = open_db(str(db_path))
    lists = {r["direction"]: json.loads(r["names"]) for r in db["sharing_lists"].rows}
    assert lists == {"outbound": ["Nearby XX PD", "[Federal] US Postal Inspection Service"],
                     "inbound": ["Nearby XX PD", "Other XX PD"]}
    (fed,) = list(db.query("select data_owner, component from federal_access"))
    assert fed == {"data_owner": "Example County XX SO", "component": "USPIS"}
