"""Plates typed into audit free text never reach the database, parse --json or Datasette.

Facts read in the corpus files themselves (every distinct reason of both Eugene files was read:
164 of them), see the comments.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest
from conftest import CORPUS, capture, run_cli

from alpr_inventory.store.plates import load_or_create_key, plate_hasher
from alpr_inventory.store.schema import open_db
from parsers.flock.portal import parse_portal
from parsers.plate_tokens import mask_plates, plate_spans

EUGENE = CORPUS / "flock" / "audit" / "eugene_or_pd"
# Every plate in the reasons of EPDSearchAuditLogs.csv and EPDSearchAuditLogs.2025-08.csv, read
# one by one: 11 in Flock's alert form ("Other image search from alerts page associated with
# Alert: Stolen Plate 795ASV - 2025-06-22T17:41:56.783Z"; "Stolen Vehicle MIMSY" is a vanity
# plate), and two typed alone as the reason ("419DHN", "589hpm").
EUGENE_PLATES = {"391NCQ", "404PTK", "108HPH", "431QFC", "211PHL", "795ASV", "41HP587",
                 "857PDN", "E287021", "MIMSY", "ZKB670", "419DHN", "589hpm"}


def eugene_reasons() -> set[str]:
    reasons = set()
    for path in EUGENE.glob("*.csv"):
        reasons |= {r["reason"] for r in csv.DictReader(io.StringIO(
            path.read_text(encoding="utf-8-sig")))}
    return reasons


def test_every_plate_in_the_eugene_reasons_is_found_and_nothing_else():
    reasons = eugene_reasons()
    assert len(reasons) == 165 and "" in reasons  # 164 reasons, and rows without one
    found = {}
    for reason in reasons:
        for start, end in plate_spans(reason):
            found.setdefault(reason[start:end], reason)
    assert set(found) == EUGENE_PLATES
    # case numbers, dates, times, typos and words stay as they are
    for kept in ("2508068", "2514277", "Investigation, 2510494", "satg+burg+251402",
                 "Feld9ony Person Crime", "ST2.", "More Like This: ST2", "DUII / Reckless",
                 "UUVwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww",
                 "investigation+linn+co", "wanted subject from NV", "HIT & RUN"):
        assert kept in reasons and mask_plates(kept) == (kept, 0)
    masked, n = mask_plates("Other image search from alerts page associated with Alert: "
                            "Stolen Plate 795ASV - 2025-06-22T17:41:56.783Z")
    assert n == 1 and masked == ("Other image search from alerts page associated with Alert: "
                                 "Stolen Plate [plate] - 2025-06-22T17:41:56.783Z")


@pytest.mark.parametrize(("slug", "day", "column", "value", "plate"), [
    # values as published in the embedded audits of real captures
    ("reedley-ca-pd", "2026-04-08", "reason", "9PBL366", True),
    ("stockton-ca-pd", "2026-04-25", "reason", "7mns054", True),
    ("chula-vista-ca-pd", "2026-03-28", "case_number", "9jcn790", True),
    ("chula-vista-ca-pd", "2026-03-28", "case_number", "CVL19436", False),
    ("chula-vista-ca-pd", "2026-03-28", "case_number", "L028347", False),
    ("buena-park-ca-pd", "2026-04-21", "reason", "925VEH PGR", False),
    ("south-gate-ca-pd", "2026-04-23", "reason", "647bpc", False),
    ("east-palo-alto-ca-pd", "2026-04-03", "reason", "10851VC", False),
])
def test_plates_in_portal_audits_and_codes_that_are_not(slug, day, column, value, plate):
    page = parse_portal(capture(slug, day).read_bytes())
    assert value in {getattr(r, column) for r in page.search_audit}
    assert mask_plates(value) == (("[plate]", 1) if plate else (value, 0))


def test_okaloosa_case_number_in_a_reason_is_left_alone():
    # Okaloosa's audit PDF, page 67, a reason: "24-15880"
    assert mask_plates("24-15880") == ("24-15880", 0)
    assert mask_plates("Case 24-15880 on 2025-11-14 at 09:53 AM UTC")[1] == 0


def test_keyed_token_is_the_plate_hash_and_masking_twice_changes_nothing(tmp_path):
    hash_plate = plate_hasher(load_or_create_key(tmp_path))
    once, n = mask_plates("419DHN", hash_plate)
    assert n == 1 and once == f"[plate:{hash_plate('419DHN')}]"
    assert mask_plates(once, hash_plate) == (once, 0)
    # the same plate typed in lower case is the same plate (plate_hash normalises case)
    assert mask_plates("419dhn", hash_plate)[0] == once


def test_imported_eugene_logs_keep_no_plate_anywhere(tmp_path):
    db_path = tmp_path / "eugene.db"
    out = run_cli("import", str(EUGENE), "--agency", "Eugene OR PD", db=db_path)
    assert out.returncode == 0, out.stderr
    # 18 rows of the current file and 17 of the August one name a plate in their reason
    assert "plates in free text (reasons, case numbers): 35 stored as keyed tokens" in out.stdout
    db = open_db(str(db_path))
    masked = {r["url"].rsplit("/", 1)[-1]: r["masked_plates"] for r in db.query(
        "select url, masked_plates from documents")}
    assert masked == {"EPDSearchAuditLogs.csv": 18, "EPDSearchAuditLogs.2025-08.csv": 17}
    hash_plate = plate_hasher(load_or_create_key(tmp_path))
    # the alert search of 2025-06-22 names 795ASV: the reason keeps the plate's keyed hash
    (row,) = list(db.query("select reason from searches where reason like '%Stolen Plate%' "
                           "and reason like '%2025-06-22T17:41%'"))
    assert f"[plate:{hash_plate('795ASV')}]" in row["reason"]
    assert not list(db.query("select rowid from searches_fts where searches_fts match "
                             "'795ASV'"))
    db.close()
    dump = subprocess.run(["sqlite3", str(db_path), ".dump"], capture_output=True, text=True,
                          check=True).stdout
    assert "Stolen Plate" in dump
    for plate in EUGENE_PLATES:  # (hashes are lower-case hex: no upper-case letter in them)
        assert plate not in dump and plate.upper() not in dump


def test_parse_json_shows_no_plate():
    result = run_cli("parse", str(EUGENE / "EPDSearchAuditLogs.csv"), "--json", "--full",
                     db=CORPUS / "unused.db")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["audit"]["rows"]  # an audit export's rows, all 4294
    assert sum("[plate]" in (r["reason"] or "") for r in rows) == 18
    for plate in EUGENE_PLATES:
        assert plate not in result.stdout


def test_a_database_from_before_is_masked_when_opened(tmp_path):
    """An inventory built before plates in free text were masked (schema 1): opening it masks
    what is stored, with the installation's key."""
    db_path = tmp_path / "old.db"
    assert run_cli("import", str(EUGENE / "EPDSearchAuditLogs.2025-08.csv"), "--agency",
                   "Eugene OR PD", db=db_path).returncode == 0
    db = open_db(str(db_path))
    # made to look like a schema-1 database that stored the plate as published
    db.execute("update searches set reason = 'Alert: Stolen Plate 795ASV - "
               "2025-06-22T17:41:56.783Z' where reason like '%795ASV%' or reason like "
               "'%Stolen Plate%2025-06-22T17:41%'")
    db.execute("update searches set case_number = '419DHN' where rowid = 1")
    db.conn.commit()
    db.execute("pragma user_version = 1")
    db.execute("pragma application_id = 0")
    db.close()
    db = open_db(str(db_path))
    hash_plate = plate_hasher(load_or_create_key(tmp_path))
    assert db.execute("select count(*) from searches where reason like '%795ASV%' or "
                      "case_number = '419DHN'").fetchone()[0] == 0
    assert db.execute("select count(*) from searches where case_number = ?",
                      [f"[plate:{hash_plate('419DHN')}]"]).fetchone()[0] == 1
