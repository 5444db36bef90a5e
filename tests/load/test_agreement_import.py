"""Agreement PDFs and Vigilant sharing reports through `import`."""

from __future__ import annotations

import hashlib
import json

from conftest import CORPUS, run_cli

from alpr_inventory.store.schema import open_db

IRVINE = CORPUS / "agreements" / "vigilant" / (
    "vigilant_sharing_2020_irvine-police-department-86954_doc0.pdf")
TX_OAG = CORPUS / "agreements" / "287g" / "moa" / "TexasOfficeAttorneyGeneral_TFM_MOA_01.30.25.pdf"
VADOC = CORPUS / "agreements" / "287g" / "moa" / "VADOC_JEM_MOA_022825.pdf"


def test_vigilant_report_gives_dated_federal_and_immigration_grantees(tmp_path):
    db_path = tmp_path / "v.db"
    assert run_cli("import", str(IRVINE), db=db_path).returncode == 0
    db = open_db(str(db_path))
    # page 1 footer "Date Created: 03-02-20"; detections shared with 342 agencies, among
    # them "DHS - HSI (Newark NJ)" and "San Diego Sector Border Patrol (CA)" (read in the PDF)
    lists = {r["direction"]: r for r in db["sharing_lists"].rows}
    assert (lists["outbound"]["count"], lists["inbound"]["count"]) == (342, 310)
    # The report names its owner "Irvine Police Department" (no state); the organisations it
    # names are mostly in California (49 agencies in CA by the resolver, next TX 9), so it is
    # read as Irvine CA PD, with the rule recorded (never the Kentucky Irvine, never a guess)
    rows = {r["component"]: r for r in db.query(
        "select * from federal_access where data_owner_id = 'irvine-ca-pd'")}
    assert rows["ICE-HSI"]["immigration"] == 1 and rows["CBP-USBP"]["immigration"] == 1
    assert rows["ICE-HSI"]["first_seen"] == "2020-03-02T00:00:00Z"
    assert {rows[c]["owner_state"] for c in rows} == {"CA"}
    sha = hashlib.sha256(IRVINE.read_bytes()).hexdigest()
    assert json.loads(rows["CBP-USBP"]["evidence_documents"]) == [sha]
    (link,) = db.query("select * from agency_links where kind = 'owner'")
    assert (link["raw_name"], link["from_id"], link["to_id"], link["status"]) == (
        "Irvine Police Department", "irvine-pd", "irvine-ca-pd", "linked")
    assert link["rule"].startswith("owner_state:CA: the document names 49 in CA, next TX 9")
    fetch = next(db.query("select captured_at_basis, captured_at_source from fetches"))
    assert fetch == {"captured_at_basis": "document",
                     "captured_at_source": "its 'Date Created: 03-02-20'"}


def test_agreement_pdfs_are_read_or_say_why_not(tmp_path):
    db_path = tmp_path / "a.db"
    assert run_cli("import", str(TX_OAG), str(VADOC), db=db_path).returncode == 0
    db = open_db(str(db_path))
    docs = {r["document_sha256"]: r for r in db["agreement_documents"].rows}
    tx = docs[hashlib.sha256(TX_OAG.read_bytes()).hexdigest()]
    # signature block: LEA 01/30/2025, ICE 01/31/2025 -> effective on the later one
    assert (tx["doc_type"], tx["model"], tx["effective_date"]) == ("287g_moa", "TFM",
                                                                    "2025-01-31")
    assert "ICE" in {f["agency"] for f in json.loads(tx["federal_agencies_named"])}
    status = {r["url"].rsplit("/", 1)[-1]: r["parse_status"] for r in db.query(
        "select f.url, d.parse_status from fetches f join documents d using (sha256)")}
    assert status[VADOC.name] == "needs_ocr"
    assert hashlib.sha256(VADOC.read_bytes()).hexdigest() not in docs
