"""Audit exports (CSV, Excel) into searches: dedupe by search id, changes kept, plates hashed."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import stat

from conftest import CORPUS, run_cli

from alpr_inventory.store.schema import open_db

EUGENE = CORPUS / "flock" / "audit" / "eugene_or_pd"
YUBA = CORPUS / "flock" / "audit" / "yuba_county_ca_so"


def ids(path):
    with open(path, newline="") as fh:
        return [row["id"] for row in csv.DictReader(fh)]


def test_audit_without_its_agency_is_refused_with_a_clear_status(tmp_path):
    db_path = tmp_path / "a.db"
    out = run_cli("import", str(EUGENE / "EPDSearchAuditLogs.csv"), db=db_path)
    assert out.returncode == 0 and "needs_agency" in out.stdout and "--agency" in out.stdout
    db = open_db(str(db_path))
    assert db["searches"].count == 0
    assert next(db.query("select parse_status from documents"))["parse_status"] == "needs_agency"


def test_eugene_accumulated_logs_dedupe_and_report_new_known(tmp_path):
    older, current = EUGENE / "EPDSearchAuditLogs.2025-08.csv", EUGENE / "EPDSearchAuditLogs.csv"
    # read in the files: the August 2025 file's 2,783 ids are all in the current file (4,294)
    assert set(ids(older)) <= set(ids(current))
    db_path = tmp_path / "e.db"
    first = run_cli("import", str(older), "--agency", "Eugene OR PD", db=db_path)
    assert "searches: 2783 new, 0 already known, 0 changed" in first.stdout
    second = run_cli("import", str(current), "--agency", "Eugene OR PD", db=db_path)
    assert "searches: 1511 new, 2783 already known, 0 changed" in second.stdout
    again = run_cli("import", str(current), "--agency", "Eugene OR PD", db=db_path)
    # the same file, capture and parser version: not read again
    assert "(0 new documents, 1 unchanged: same bytes and capture" in again.stdout
    db = open_db(str(db_path))
    assert db["searches"].count == 4294
    # the file's first row: "2025-06-18 00:02:04.789" (no time zone) taken as UTC, raw kept;
    # the user id is kept exactly as published
    row = db["searches"].get("5869ce7e-98f2-47e7-a3c2-5e6bff4def4a")
    assert (row["searched_at"], row["searched_at_raw"]) == (
        "2025-06-18T00:02:04.789Z", "2025-06-18 00:02:04.789")
    assert (row["camera_count"], row["reason"]) == (2510, "investigation")
    assert row["user_id"] == "587e52c3-e5b1-494d-bc15-943a853a26f5"
    assert row["searching_agency_id"] == "eugene-or-pd" and row["federal_searcher"] == 0
    assert row["source_row"] == "row 1"
    assert row["first_document"] == hashlib.sha256(older.read_bytes()).hexdigest()
    assert row["last_document"] == hashlib.sha256(current.read_bytes()).hexdigest()


def test_yuba_workbooks_and_a_time_shifted_copy_kept_as_versions(tmp_path):
    db_path = tmp_path / "y.db"
    out = run_cli("import", str(YUBA), "--agency", "Yuba County CA SO", db=db_path)
    assert out.returncode == 0, out.stderr
    # master_audit.xlsx "Sheet1" has 3,257 data rows; search_audit_pacific.xlsx's
    # "Search Audit" sheet repeats 2,060 of those ids with "Search Date (UTC/Zulu)" 8 hours
    # earlier (e.g. 0d467e68...: 2026-02-03T01:12:14.002Z vs 2026-02-02 17:12:14.002)
    assert "searches: 3257 new, 0 already known, 2060 changed" in out.stdout
    db = open_db(str(db_path))
    row = db["searches"].get("0d467e68-708e-4b39-9eb7-83b2b7af3cc2")
    assert row["searched_at"] == "2026-02-03T01:12:14.002Z" and row["versions"] == 2
    (version,) = list(db.query("select content from search_versions where search_id = ?",
                               [row["search_id"]]))
    assert json.loads(version["content"])["searched_at"] == "2026-02-02T17:12:14.002Z"
    assert row["source_row"] == "Sheet1 row 2"


def test_plates_are_stored_only_as_a_keyed_hash(tmp_path):
    # Constructed export in the FOIA "Network Audit" shape (org name, plate, reason): not real.
    plate = "7ABC123"
    for name, search_id in (("constructed_audit_a.csv", "11111111-1111-1111-1111-111111111111"),
                            ("constructed_audit_b.csv", "22222222-2222-2222-2222-222222222222")):
        (tmp_path / name).write_text(
            "Search ID,Org Name,License Plate,Search Date,Reason,Network Count\n"
            f"{search_id},U.S. Border Patrol,{plate if 'a' in name else '7abc 123'},"
            "2026-01-05T10:00:00Z,ICE ERO assist,3\n")
    db_path = tmp_path / "p.db"
    for name in ("constructed_audit_a.csv", "constructed_audit_b.csv"):
        assert run_cli("import", str(tmp_path / name), db=db_path).returncode == 0
    db = open_db(str(db_path))
    rows = list(db.query("select * from searches order by search_id"))
    assert len(rows) == 2 and rows[0]["plate_hash"] == rows[1]["plate_hash"]
    assert rows[0]["plate_hash"].startswith("hmac-sha256:")
    assert rows[0]["federal_searcher"] == 1 and rows[0]["immigration_reason"] == 1
    assert "ICE" in rows[0]["immigration_terms"]
    db.close()
    for path in tmp_path.iterdir():  # not in the database, the archive index, nor any table
        if path.suffix in (".db", ".db-wal") and path.is_file():
            assert b"7ABC123" not in path.read_bytes()
    key = tmp_path / "plate_hash.key"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    parsed = run_cli("parse", str(tmp_path / "constructed_audit_a.csv"), "--json", db=db_path)
    assert plate not in parsed.stdout


def test_released_sharing_list_is_inbound_evidence(tmp_path):
    release = CORPUS / "records" / "eugene_or_pd" / "EPD-2025-4987_sharing_list.csv"
    db_path = tmp_path / "s.db"
    out = run_cli("import", str(release), "--sharing-list", "inbound", "--agency",
                  "Eugene OR PD", "--captured-at", "2025-10-01", db=db_path)
    assert out.returncode == 0, out.stderr
    db = open_db(str(db_path))
    # read in the file: 59 organisations under "Name", e.g. "Home Depot Corporation" and
    # "Houston TX PD"; they share their data with Eugene (the list's title in the corpus README)
    (lst,) = list(db["sharing_lists"].rows)
    assert (lst["direction"], lst["source_kind"], lst["count"]) == (
        "inbound", "records_release", 59)
    rows = {r["raw_name"]: r for r in db["sharing"].rows}
    assert rows["Houston TX PD"]["grantee_id"] == "eugene-or-pd"
    assert db["agencies"].get(rows["Home Depot Corporation"]["owner_id"])["kind"] == "private"
    assert rows["Houston TX PD"]["first_seen"] == "2025-10-01T00:00:00Z"
    rebuilt = run_cli("reparse", db=db_path)
    assert rebuilt.returncode == 0 and open_db(str(db_path))["sharing"].count == 59
