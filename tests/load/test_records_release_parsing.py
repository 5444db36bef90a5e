"""Released files that turn out to be sharing reports or audit exports become rows.

A NextRequest portal (local ApiServer; the request and document entries are CONSTRUCTED in the
shapes of corpus/apis/records_portals/nextrequest_shapes.json) releases Okaloosa County FL SO's
two real Flock reports from corpus/records/okaloosa_fl_so (served in place, not copied). The
spider only downloads them; the store recognises each by its content, classifies it and loads it.
"""

from __future__ import annotations

import asyncio

from api_server import Answer, ApiServer
from conftest import CORPUS, run_cli

from alpr_inventory.store.schema import open_db

OKALOOSA = CORPUS / "records" / "okaloosa_fl_so"
SHARING_PDF = OKALOOSA / "Sharing_Agencies.pdf"
AUDIT_PDF = OKALOOSA / "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf"


def _document(doc_id: int, title: str) -> dict:
    return {"_constructed": True, "request_id": 1, "id": doc_id, "title": title,
            "review_state": "Processed", "link": False, "file_extension": "pdf",
            "visibility": "Public", "upload_date": "Uploaded: 12/09/2025",
            "document_scan": {"id": None, "document_id": doc_id, "pretty_id": "25-900",
                              "title": title, "file_type": "pdf", "visibility": "public",
                              "document_path": f"/documents/{doc_id}",
                              "upload_date": "2025-12-09T10:00:00.000-08:00"}}


def test_released_flock_reports_are_classified_and_parsed_into_rows(tmp_path):
    with ApiServer() as api:
        t = "/okaloosa"
        api.add("GET", f"{t}/client/requests", Answer(body={
            "_constructed": True, "total_count": 1, "requests": [{
                "_constructed": True, "request_date": "11/20/2025", "id": "25-900",
                "request_state": "Closed", "department_names": "Sheriff's Office",
                "request_path": "/requests/25-900", "visibility": "Published",
                "request_text": "Flock Organization Audit and the Flock list of networks "
                                "shared with the Sheriff's Office"}]}))
        api.add("GET", f"{t}/client/request_documents", Answer(body={
            "_constructed": True, "total_documents_count": 2,
            "documents": [_document(501, "Sharing Agencies.pdf"),
                          _document(502, "Audit 2025-11-01 to 2025-12-08.pdf")]}))
        api.add("GET", f"{t}/documents/501/download", Answer(
            body=SHARING_PDF.read_bytes(), headers={"Content-Type": "application/pdf"}))
        api.add("GET", f"{t}/documents/502/download", Answer(
            body=AUDIT_PDF.read_bytes(), headers={"Content-Type": "application/pdf"}))
        db_path = tmp_path / "release.db"
        out = run_cli("crawl", "nextrequest", "okaloosa", "--term", "flock", "--tenant-url",
                      f"{api.url}/{{tenant}}", "--log-level", "WARNING", db=db_path)
        assert out.returncode == 0, out.stderr[-3000:]

    db = open_db(str(db_path))
    files = {r["title"]: r for r in db.query("select * from released_documents")}
    sharing, audit = files["Sharing Agencies.pdf"], files["Audit 2025-11-01 to 2025-12-08.pdf"]
    # provenance: each file is tied to the request it was released under
    assert sharing["parent_id"] == audit["parent_id"] == "nextrequest:okaloosa:25-900"
    assert sharing["download_status"] == audit["download_status"] == "downloaded"
    # classified by content, not by title
    assert (sharing["document_type"], audit["document_type"]) == ("sharing_list", "audit_export")
    # the sharing report: both directions, 858 organisations; 506 can see Okaloosa's data,
    # among them the US Postal Inspection Service (read in the report)
    lists = {r["direction"]: r for r in db.query(
        "select direction, json_array_length(names) n from sharing_lists "
        "where document_sha256 = ?", [sharing["sha256"]])}
    assert lists["outbound"]["n"] == 506 and lists["inbound"]["n"] == 655
    federal = {r["federal_grantee"] for r in db.query(
        "select federal_grantee from federal_access where data_owner like 'Okaloosa%'")}
    assert any("Postal Inspection" in name for name in federal)
    # the audit export: one search per audit row, with its evidence document
    assert db.execute("select count(*) from searches where first_document = ?",
                      [audit["sha256"]]).fetchone()[0] == 7273
    db.close()

    # what a reporter opens in Datasette: the canned queries over released documents and text
    from datasette.app import Datasette

    from alpr_inventory.store.schema import datasette_metadata

    ds = Datasette([str(db_path)], metadata=datasette_metadata(db_path.stem))

    async def rows(query: str, **params: str) -> list[dict]:
        response = await ds.client.get(f"/{db_path.stem}/{query}.json",
                                       params={"_shape": "array", **params})
        assert response.status_code == 200, response.text
        return response.json()

    released = asyncio.run(rows("released_about_alpr"))
    # relevant through the request ("Flock Organization Audit ..."), not through the titles
    assert {r["title"] for r in released} == {"Sharing Agencies.pdf",
                                              "Audit 2025-11-01 to 2025-12-08.pdf"}
    assert {r["parent_url"] for r in released} == {f"{api.url}/okaloosa/requests/25-900"}
    found = asyncio.run(rows("search_document_text", text='"Postal Inspection"'))
    assert [r["sha256"] for r in found] == [sharing["sha256"]]
    assert "[Federal] US [Postal Inspection] Service" in found[0]["excerpt"]

    # everything above is rebuilt from the archive alone, row for row
    def dump() -> dict[str, list[tuple]]:
        d = open_db(str(db_path))
        out = {t: sorted(tuple(r.values()) for r in d[t].rows) for t in (
            "records_requests", "released_files", "sharing_lists", "document_texts")}
        out["documents"] = sorted((r["sha256"], r["document_type"], r["parse_status"])
                                  for r in d["documents"].rows)
        out["searches"] = [d.execute("select count(*) from searches").fetchone()]
        d.close()
        return out

    before = dump()
    assert run_cli("reparse", db=db_path).returncode == 0
    assert dump() == before
