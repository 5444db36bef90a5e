"""NextRequest: the client-API parser (pure) and the spider against a local ApiServer.

The two request records and the first document are the real portal records quoted in
corpus/apis/records_portals/nextrequest_shapes.json (read in place). Everything else the server
answers is CONSTRUCTED from those shapes and says so (a "_constructed" key, or a comment).
"""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from pathlib import Path

import pytest
from api_server import Answer, ApiServer
from conftest import CORPUS, run_cli

from alpr_inventory.settings import archive_dir_for
from alpr_inventory.store.schema import open_db
from parsers.records.nextrequest import (
    download_url,
    is_throttle_body,
    parse_response,
    redact_requester,
    tenant_base,
    tenant_name,
)
from parsers.records.records_apis import parse_api_response

SHAPES = json.loads((CORPUS / "apis" / "records_portals" / "nextrequest_shapes.json").read_text())
REAL_REQUESTS = SHAPES["request_list_sample"]["requests"]  # 26-7542 and 25-1834, real
REAL_DOCUMENTS = SHAPES["request_documents_sample"]  # 1 of 2 documents of 26-7542, real
POLICY = CORPUS / "records" / "eugene_or_pd" / "eugene_or_pd_Policy-1204.pdf"
SHARING_CSV = CORPUS / "records" / "eugene_or_pd" / "EPD-2025-4987_sharing_list.csv"
CIVICPLUS = "https://www.civicplus.com/foia-request-management/requester-direction"
REQUESTER = "Constructed Requester Name"
REQUESTER_EMAIL = "constructed.requester@example.org"
OAKLAND = "https://oaklandca.nextrequest.com"


def constructed_request(pretty_id: str, state: str, text: str, **more) -> dict:
    """A request entry in the shape of request_list_sample (CONSTRUCTED)."""
    return {"_constructed": True, "request_date": "08/01/2026", "staff_cost": "0.0",
            "visibility": "Published", "id": pretty_id, "request_state": state,
            "department_names": "Police Department", "due_date": "08/31/2026",
            "poc_name": None, "request_path": f"/requests/{pretty_id}", "requester_name": None,
            "request_text": text, **more}


def constructed_document(doc_id: int, pretty_id: str, title: str, visibility: str = "Public",
                         file_type: str = "pdf") -> dict:
    """A document entry in the shape of request_documents_sample (CONSTRUCTED)."""
    doc = copy.deepcopy(REAL_DOCUMENTS["documents"][0])
    doc.update({"_constructed": True, "id": doc_id, "title": title, "visibility": visibility,
                "file_extension": file_type, "upload_date": "Uploaded: 08/02/2026",
                "asset_url": f"//nextrequestdev.s3.amazonaws.com/oaklandca/{pretty_id}/"
                             f"constructed-{doc_id}.{file_type}"})
    doc["document_scan"] = {**doc["document_scan"], "document_id": doc_id,
                            "pretty_id": pretty_id, "title": title, "file_type": file_type,
                            "visibility": visibility.lower(),
                            "document_path": f"/documents/{doc_id}",
                            "upload_date": "2026-08-02T10:00:00.000-07:00"}
    return doc


def document_list(docs: list[dict], total: int | None = None) -> dict:
    total = len(docs) if total is None else total
    return {"_constructed": True, "total_documents_count": total,
            "current_documents_count": total, "all_documents_count": total,
            "no_folder_documents_count": total, "documents_state_timestamp": 1787245333,
            "documents": docs}


# ---- the parser (pure) ----------------------------------------------------------------------
def test_request_list_of_a_nextrequest_host():
    body = json.dumps(SHAPES["request_list_sample"]).encode()
    page = parse_response(body, f"{OAKLAND}/client/requests?search_term=flock&page_number=1")
    assert page is not None and page.kind == "requests" and page.total == 116110
    first, second = page.requests
    assert (first.source, first.portal, first.request_id) == ("nextrequest", "oaklandca",
                                                              "26-7542")
    assert first.key == "nextrequest:oaklandca:26-7542"
    assert first.status == "Closed" and first.agency == "Police Department"
    assert first.submitted_at == "2026-07-07" and first.visibility == "Published"
    assert first.url == f"{OAKLAND}/requests/26-7542"
    assert first.request_text.startswith("Any invoices, purchase orders")
    # published fields kept; the staff point of contact is a public employee, as published
    assert first.extra == {"due_date": "2026-08-24", "staff_cost": "0.0",
                           "poc_name": "Alisha Banda"}
    assert first.title is None  # NextRequest publishes no title
    # the second real record has no request_path: its page is still known
    assert second.url == f"{OAKLAND}/requests/25-1834" and second.submitted_at == "2025-02-16"


def test_tenant_naming():
    assert tenant_name(f"{OAKLAND}/client/requests") == "oaklandca"
    assert tenant_name("https://pra.sandiegocounty.gov/client/requests") == \
        "pra.sandiegocounty.gov"
    assert tenant_name("http://127.0.0.1:8123/lacity/client/requests") == "lacity"
    assert tenant_base("http://127.0.0.1:8123/lacity/client/request_documents?x=1") == \
        "http://127.0.0.1:8123/lacity"
    assert tenant_base("https://pra.sandiegocounty.gov/requests/1") is None
    page = parse_response(json.dumps({"total_count": 1, "requests": [REAL_REQUESTS[1]]}).encode(),
                          "https://pra.sandiegocounty.gov/client/requests?search_term=flock")
    assert page.requests[0].portal == "pra.sandiegocounty.gov"
    assert page.requests[0].url == "https://pra.sandiegocounty.gov/requests/25-1834"


def test_request_documents_of_the_real_sample():
    body = json.dumps(REAL_DOCUMENTS).encode()
    page = parse_response(body, f"{OAKLAND}/client/request_documents?request_id=26-7542"
                                "&page_number=1")
    assert page.kind == "request_documents" and page.total == 2 and len(page.files) == 1
    f = page.files[0]
    assert (f.source, f.portal, f.parent_kind) == ("nextrequest", "oaklandca", "request")
    assert f.parent_id == "nextrequest:oaklandca:26-7542"  # the pretty id, not 5669311
    assert f.file_id == "66770337" and f.key == "nextrequest:oaklandca:66770337"
    assert f.url == f"{OAKLAND}/documents/66770337/download" == download_url(OAKLAND, 66770337)
    assert f.title == "Records Determination Form - 26-7542.pdf" and f.file_type == "pdf"
    assert f.published_at == "2026-07-09T20:10:17.738-07:00"
    assert f.access == "public" and f.relevant is False and f.matched_terms == []
    assert f.extra["asset_url"].startswith("//nextrequestdev.s3.amazonaws.com/oaklandca/")
    assert f.extra["review_state"] == "Unprocessed"
    assert f.extra["request_internal_id"] == 5669311
    # a title about the terms makes the file relevant on its own; the listing date is a day
    doc = constructed_document(1, "26-7542", "Flock Safety invoice.pdf")
    del doc["document_scan"]
    page = parse_response(json.dumps(document_list([doc])).encode(),
                          f"{OAKLAND}/client/request_documents?request_id=26-7542")
    assert page.files[0].relevant and page.files[0].matched_terms == ["flock"]
    assert page.files[0].published_at == "2026-08-02"
    assert page.files[0].parent_id == "nextrequest:oaklandca:26-7542"  # from the query


def test_detail_and_tenant_wide_index():
    detail = {"_constructed": True, "id": "26-7542", "request_state": "Closed",
              "request_text": "Flock Safety camera invoices", "request_date": "07/07/2026"}
    page = parse_response(json.dumps(detail).encode(), f"{OAKLAND}/client/requests/26-7542")
    assert page.kind == "request" and page.requests[0].request_id == "26-7542"
    assert parse_response(json.dumps(detail).encode(),
                          f"{OAKLAND}/client/requests/26-7542/timeline") is None
    index = {"_constructed": True, "documents": [
        {"id": 9, "title": "ALPR audit.pdf", "created_at": "07/09/2026", "visibility": "Public"}]}
    page = parse_response(json.dumps(index).encode(),
                          f"{OAKLAND}/client/documents?page=1&sort_field=created_at")
    f = page.files[0]
    assert page.kind == "documents" and f.parent_kind == "page"
    assert f.parent_id == f"{OAKLAND}/client/documents" and f.published_at == "2026-07-09"
    assert f.url == f"{OAKLAND}/documents/9/download" and f.matched_terms == ["alpr"]


def test_requester_is_never_read():
    entry = constructed_request("26-9001", "Open", "ALPR audit logs", requester_name=REQUESTER,
                                requester_email=REQUESTER_EMAIL, requester_phone="555-0100")
    page = parse_response(json.dumps({"total_count": 1, "requests": [entry]}).encode(),
                          f"{OAKLAND}/client/requests?search_term=alpr")
    dumped = json.dumps(asdict(page))
    assert REQUESTER not in dumped and REQUESTER_EMAIL not in dumped and "555-0100" not in dumped
    assert page.requests[0].request_text == "ALPR audit logs"  # the rest is read


def test_redact_requester_before_archiving():
    body = json.dumps({"total_count": 1, "requests": [
        constructed_request("26-9001", "Open", "ALPR", requester_name=REQUESTER)]}).encode()
    clean, count = redact_requester(body)
    assert count == 1 and REQUESTER.encode() not in clean
    assert json.loads(clean)["requests"][0]["request_text"] == "ALPR"
    real = json.dumps(SHAPES["request_list_sample"]).encode()  # requester_name is null there
    assert redact_requester(real) == (real, 0)  # untouched, byte for byte
    assert redact_requester(b"Retry later") == (b"Retry later", 0)


def test_not_nextrequest_answers_are_none():
    lists = json.dumps({"count": 1, "results": [{"id": 1}]}).encode()
    assert parse_response(lists, "https://www.muckrock.com/api_v2/requests/?page=1") is None
    assert parse_response(lists, f"{OAKLAND}/client/requests?search_term=flock") is None
    assert parse_response(lists, "https://api.www.documentcloud.org/api/documents/") is None
    assert parse_response(b"[]", "https://webapi.legistar.com/v1/sanjose/matters") is None
    assert parse_response(b"Retry later", f"{OAKLAND}/client/requests?search_term=x") is None
    assert parse_response(b'{"documents": []}',
                          f"{OAKLAND}/client/request_documents?request_id=1") is None
    assert parse_response(json.dumps(REAL_DOCUMENTS).encode(),
                          f"{OAKLAND}/api/request_documents?request_id=26-7542") is None
    # the dispatcher finds this source for its own answers
    page = parse_api_response(json.dumps(SHAPES["request_list_sample"]).encode(),
                              f"{OAKLAND}/client/requests?search_term=flock&page_number=1")
    assert page is not None and page.source == "nextrequest"


def test_throttle_body():
    assert is_throttle_body(b"Retry later")
    assert is_throttle_body(b"<html><body>Retry later.</body></html>\n")
    assert not is_throttle_body(b'{"message": "Retry later"}')
    assert not is_throttle_body(POLICY.read_bytes())
    assert not is_throttle_body(b"x" * 2000 + b"Retry later")


# ---- the spider against a local server ------------------------------------------------
def oakland_portal(api: ApiServer) -> None:
    """Tenant oaklandca (path /oaklandca on the local server) and the missing nosuchtenant."""
    t = "/oaklandca"
    page1 = {"_constructed": "two real records (26-7542, 25-1834) plus constructed ones",
             "total_count": 5, "requests": [
                 REAL_REQUESTS[0], REAL_REQUESTS[1],
                 constructed_request("26-9001", "Open", "All ALPR audit logs and data sharing "
                                     "agreements for 2026.", requester_name=REQUESTER,
                                     requester_email=REQUESTER_EMAIL)]}
    page2 = {"_constructed": True, "total_count": 5, "requests": [
        constructed_request("26-9100", "Closed", "Complaints about geese flocking at Lake "
                            "Merritt."),  # a search hit that is not about the terms
        constructed_request("26-9200", "Closed", "Flock Safety contract amendments.")]}
    api.add("GET", f"{t}/client/requests", Answer(body=page1),
            query={"search_term": "flock", "page_number": "1"})
    api.add("GET", f"{t}/client/requests", Answer(body=page2),
            query={"search_term": "flock", "page_number": "2"})
    # the second term lists 26-7542 again: its documents are asked for once
    api.add("GET", f"{t}/client/requests",
            Answer(body={"_constructed": True, "total_count": 1, "requests": [REAL_REQUESTS[0]]}),
            query={"search_term": "license plate reader", "page_number": "1"})
    # 26-7542: the real first document on page 1 (total 2), a constructed one on page 2
    api.add("GET", f"{t}/client/request_documents", Answer(body=REAL_DOCUMENTS),
            query={"request_id": "26-7542", "page_number": "1"})
    api.add("GET", f"{t}/client/request_documents",
            Answer(body=document_list([constructed_document(
                66770338, "26-7542", "Flock camera replacement invoices.csv", file_type="csv")],
                total=2)),
            query={"request_id": "26-7542", "page_number": "2"})
    api.add("GET", f"{t}/client/request_documents", Answer(body=document_list([
        constructed_document(66770400, "25-1834", "Networks Shared With Me.pdf"),
        constructed_document(66770401, "25-1834", "Flock sharing list.xlsx",
                             file_type="xlsx")])),
        query={"request_id": "25-1834", "page_number": "1"})
    for empty in ("26-9001", "26-9200"):
        api.add("GET", f"{t}/client/request_documents", Answer(body=document_list([])),
                query={"request_id": empty, "page_number": "1"})
    s3 = "/s3/nextrequestdev/oaklandca/26-7542"
    api.add("GET", f"{t}/documents/66770337/download", [
        Answer(200, "Retry later", {"Content-Type": "text/plain"}),  # throttled first
        Answer(302, b"", {"Location": f"{api.url}{s3}/4d06fabf.pdf?X-Amz-Signature=constructed"}),
    ])
    api.add("GET", f"{t}/documents/66770338/download",
            Answer(302, b"", {"Location": f"{s3}/invoices.csv?X-Amz-Signature=constructed"}))
    api.add("GET", f"{s3}/4d06fabf.pdf",
            Answer(body=POLICY.read_bytes(), headers={"Content-Type": "application/pdf"}))
    api.add("GET", f"{s3}/invoices.csv",
            Answer(body=SHARING_CSV.read_bytes(), headers={"Content-Type": "text/csv"}))
    api.add("GET", f"{t}/documents/66770400/download", Answer(404, "Not Found"))
    api.add("GET", f"{t}/documents/66770401/download", Answer(403, "Forbidden"))
    # a tenant that does not exist: NextRequest sends everyone to CivicPlus
    api.add("GET", "/nosuchtenant/.*", Answer(302, b"", {"Location": CIVICPLUS}))


def crawl(api: ApiServer, db: Path, *extra: str):
    out = run_cli("crawl", "nextrequest", "--tenant-url", f"{api.url}/{{tenant}}",
                  "--term", "flock", "--term", "license plate reader", "--log-level", "WARNING",
                  *extra, "oaklandca", "nosuchtenant", db=db)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def doc_listings(api: ApiServer, hits) -> list[str]:
    return sorted(h.query["request_id"][0] + ":" + h.query["page_number"][0] for h in hits
                  if h.path.endswith("/client/request_documents"))


def test_spider_pages_downloads_and_reruns_without_refetching(tmp_path):
    db_path = tmp_path / "nr.db"
    with ApiServer() as api:
        oakland_portal(api)
        crawl(api, db_path)
        db = open_db(str(db_path))
        run = next(db.query("select * from runs order by id desc limit 1"))
        details = json.loads(run["details"] or "{}")
        assert run["status"] == "finished"
        assert details["missing_tenants"] == 1 and details["tenants"] == 1
        assert details["throttled"] == 0  # the retry got through

        # both search pages were read; the second term's duplicate asked nothing new
        listing = sorted((h.query["search_term"][0], h.query["page_number"][0])
                         for h in api.hits if h.path == "/oaklandca/client/requests")
        assert listing == [("flock", "1"), ("flock", "2"), ("license plate reader", "1")]
        # documents listed for the requests about the terms only, 26-7542 on two pages
        assert doc_listings(api, api.hits) == ["25-1834:1", "26-7542:1", "26-7542:2",
                                               "26-9001:1", "26-9200:1"]

        requests = {r["request_id"]: r for r in db.query(
            "select * from records_requests where source = 'nextrequest'")}
        assert set(requests) == {"26-7542", "25-1834", "26-9001", "26-9100", "26-9200"}
        assert {r["portal"] for r in requests.values()} == {"oaklandca"}
        first = requests["26-7542"]
        assert (first["status"], first["agency"], first["submitted_at"]) == (
            "Closed", "Police Department", "2026-07-07")
        assert first["url"] == f"{api.url}/oaklandca/requests/26-7542"
        assert json.loads(first["matched_terms"]) == ["flock"]
        assert json.loads(first["extra"])["due_date"] == "2026-08-24"
        assert json.loads(requests["26-9100"]["matched_terms"] or "[]") == []

        # the throttled download was retried and arrived; 404 missing; 403 not public
        assert len(api.requested(r"^/oaklandca/documents/66770337/download$")) == 2
        assert len(api.requested(r"^/s3/.*4d06fabf\.pdf$")) == 1
        released = {r["id"].rsplit(":", 1)[1]: r for r in db.query(
            "select * from released_documents where source = 'nextrequest'")}
        assert {k: r["download_status"] for k, r in released.items()} == {
            "66770337": "downloaded", "66770338": "downloaded", "66770400": "missing",
            "66770401": "not_public"}
        pdf = released["66770337"]
        assert pdf["url"] == f"{api.url}/oaklandca/documents/66770337/download"
        assert pdf["parent_id"] == "nextrequest:oaklandca:26-7542"
        assert pdf["parent_url"] == f"{api.url}/oaklandca/requests/26-7542"
        assert pdf["access"] == "public" and pdf["http_status"] == 200
        assert pdf["sha256"] == next(db.query(
            "select sha256 from documents where bytes = ?", [POLICY.stat().st_size]))["sha256"]
        fetch = next(db.query("select * from fetches where url = ?", [pdf["url"]]))
        assert fetch["fetched_from"].endswith("/4d06fabf.pdf")  # no presigned signature kept
        assert released["66770338"]["relevant"] == 1  # "Flock ..." in its title

        # every API answer is a records_api document; the missing tenant is only evidence
        api_docs = list(db.query("select d.doc_type, f.url from fetches f join documents d "
                                 "on d.sha256 = f.sha256 where f.url like '%/client/%'"))
        assert api_docs and {d["doc_type"] for d in api_docs if "oaklandca" in d["url"]} == {
            "records_api"}
        missing = list(db.query("select * from fetches where url like '%nosuchtenant%'"))
        assert [m["http_status"] for m in missing] == [302]
        for table in ("records_requests", "released_files"):
            assert db.execute(f"select count(*) from {table} where portal = 'nosuchtenant'"
                              ).fetchone()[0] == 0
        assert not api.requested(r"^/nosuchtenant/client/request_documents")

        # the requester's name and email are nowhere: not in a table, not in the archive
        for table in ("records_requests", "released_files", "documents", "fetches"):
            dump = json.dumps(list(db[table].rows))
            assert REQUESTER not in dump and REQUESTER_EMAIL not in dump
        archived = [p.read_bytes() for p in archive_dir_for(db_path).rglob("*") if p.is_file()]
        assert archived and not any(REQUESTER.encode() in b or REQUESTER_EMAIL.encode() in b
                                    for b in archived)

        documents_before = db["documents"].count
        fetches_before = db["fetches"].count
        db.close()

        # ---- a second run against the unchanged server -----------------------------------
        before = len(api.hits)
        crawl(api, db_path)
        again = api.hits[before:]
        assert not [h for h in again if "/download" in h.path or h.path.startswith("/s3/")]
        # the searches are listed again; documents only for the request still open
        assert any(h.path == "/oaklandca/client/requests" for h in again)
        assert doc_listings(api, again) == ["26-9001:1"]
        db = open_db(str(db_path))
        assert db["documents"].count == documents_before  # nothing new stored
        assert db["fetches"].count > fetches_before  # the listings were fetched again
        run = next(db.query("select * from runs order by id desc limit 1"))
        assert run["status"] == "finished" and run["documents"] == 0
        assert json.loads(run["details"])["skipped_unchanged"] == 3
        db.close()

        # ---- --full asks for every document list again, downloads no archived file ------
        before = len(api.hits)
        crawl(api, db_path, "--full")
        again = api.hits[before:]
        assert doc_listings(api, again) == ["25-1834:1", "26-7542:1", "26-7542:2",
                                            "26-9001:1", "26-9200:1"]
        downloads = sorted(h.path for h in again if h.path.endswith("/download"))
        assert downloads == ["/oaklandca/documents/66770400/download",
                             "/oaklandca/documents/66770401/download"]  # never archived


def test_persistent_throttling_and_max_documents_resume_next_run(tmp_path):
    db_path = tmp_path / "nr.db"
    t = "/oaklandca"
    with ApiServer() as api:
        # constructed: a tenant that ignores page_number answers page 1 to every page
        api.add("GET", f"{t}/client/requests", Answer(body={
            "_constructed": True, "total_count": 3, "requests": [REAL_REQUESTS[1]]}))
        api.add("GET", f"{t}/client/request_documents", Answer(body=document_list([
            constructed_document(1001, "25-1834", "Throttled.pdf"),
            constructed_document(1002, "25-1834", "Second.pdf"),
            constructed_document(1003, "25-1834", "Third.pdf")])),
            query={"request_id": "25-1834", "page_number": "1"})
        # constructed: this download never stops saying "Retry later"
        api.add("GET", f"{t}/documents/1001/download",
                Answer(200, "Retry later", {"Content-Type": "text/plain"}))
        for doc_id in (1002, 1003):
            api.add("GET", f"{t}/documents/{doc_id}/download",
                    Answer(body=POLICY.read_bytes(), headers={"Content-Type": "application/pdf"}))

        def run() -> dict:
            out = run_cli("crawl", "nextrequest", "--tenant-url", f"{api.url}/{{tenant}}",
                          "--term", "flock", "--max-documents", "2", "--log-level", "ERROR",
                          "oaklandca", db=db_path)
            assert out.returncode == 0, out.stderr[-3000:]
            db = open_db(str(db_path))
            try:
                details = json.loads(next(db.query(
                    "select details from runs order by id desc limit 1"))["details"])
                status = {r["title"]: r["download_status"] for r in db.query(
                    "select title, download_status from released_documents")}
                throttled_fetches = db.execute(
                    "select count(*) from fetches where url like '%/1001/download'").fetchone()[0]
            finally:
                db.close()
            return {"details": details, "status": status, "throttled_fetches": throttled_fetches}

        first = run()
        assert first["details"]["throttled"] == 1 and first["details"]["max_documents_reached"] == 1
        assert first["status"] == {"Throttled.pdf": "not_downloaded",
                                   "Second.pdf": "downloaded", "Third.pdf": "not_downloaded"}
        assert first["throttled_fetches"] == 0  # a "Retry later" body is never the file
        assert len(api.requested(r"/1001/download$")) == 2  # asked, retried once (local)
        assert len(api.requested(r"/1003/download$")) == 0
        # page 2 repeated page 1: the search stopped there instead of paging on to page 3
        assert [h.query["page_number"] for h in api.requested(r"/client/requests$")] == [
            ["1"], ["2"]]

        # the request's state was not remembered: the next run lists its documents again and
        # fetches what is still missing, never what it holds
        second = run()
        assert len(api.requested(r"/client/request_documents$")) == 2
        assert len(api.requested(r"/1002/download$")) == 1
        assert len(api.requested(r"/1003/download$")) == 1
        assert second["status"]["Third.pdf"] == "downloaded"
        assert second["status"]["Throttled.pdf"] == "not_downloaded"


@pytest.mark.parametrize("tenant, base", [
    ("oaklandca", "https://oaklandca.nextrequest.com"),
    ("https://pra.sandiegocounty.gov/", "https://pra.sandiegocounty.gov"),
])
def test_spider_tenant_addresses(tenant, base):
    from crawlers.spiders.nextrequest import NextRequestSpider

    spider = NextRequestSpider(tenants=[tenant], terms=["flock"],
                               tenant_url="https://{tenant}.nextrequest.com")
    assert spider.tenants[0].base == base
    assert spider.tenants[0].name == tenant_name(f"{base}/client/requests")
