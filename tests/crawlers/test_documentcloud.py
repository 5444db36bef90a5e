"""DocumentCloud: the search parser (pure) and the spider against a local API (never the live
site). Every search answer served here is built from the real result quoted in
corpus/apis/records_portals/documentcloud_shapes.json; the variations are constructed and say
so (a "_constructed" key in each answer and result)."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from api_server import Answer, ApiServer, Hit
from conftest import CORPUS, run_cli

from alpr_inventory.store.schema import open_db
from crawlers.spiders.documentcloud import search_query, solr_datetime
from parsers.records.documentcloud import parse_response
from parsers.records.records_apis import parse_api_response

SHAPES = json.loads((CORPUS / "apis" / "records_portals" / "documentcloud_shapes.json")
                    .read_text())
SAMPLE = SHAPES["result_sample"]  # the real result (id 7273472, Chatham County Sheriff)
POLICY = CORPUS / "records" / "eugene_or_pd" / "eugene_or_pd_Policy-1204.pdf"
SAMPLE_TERMS = ["flock", "license plate reader", "plate reader"]  # in the sample's title
LIVE_SEARCH = "https://api.www.documentcloud.org/api/documents/search/?q=flock&per_page=25"
# constructed: the full text DocumentCloud serves at <asset_url>documents/<id>/<slug>.txt
TEXT = b"Open Records Request (constructed test text)\nFlock Safety license plate readers\n"
CURSOR = "cD0yMDE5LTA1LTAx"  # constructed cursor token for the second page
NEWEST = "2025-06-02T12:00:00.25Z"  # the newest updated_at listed (on page 2)
S3_DENIED = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
             "<Message>Access Denied</Message></Error>")  # constructed, S3's 403 shape
S3_MISSING = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
              "<Message>The specified key does not exist.</Message></Error>")  # constructed


def variant(asset_url: str | None = None, **changes: object) -> dict:
    """The real sample result, changed as given; the asset URL points at the local server so
    nothing is ever fetched from the live site."""
    result = copy.deepcopy(SAMPLE)
    result.update(changes)
    if asset_url is not None:
        result["asset_url"] = asset_url
        changes["asset_url"] = asset_url
    if changes:
        result["_constructed"] = "variation of the real sample: " + ", ".join(sorted(changes))
    return result


def search_pages(base: str) -> tuple[dict, dict]:
    """Two pages of a search for 'flock' (DRF cursor style), results of every kind."""
    s3 = f"{base}/s3/"
    page1 = {
        "_constructed": "search answer around the real sample result, shape of the docs",
        "count": 5,
        "next": f"{base}/api/documents/search/?q=flock&per_page=25&order=created_at"
                f"&expand=organization&version=2.0&cursor={CURSOR}",
        "previous": None,
        "escaped": False,
        "results": [
            variant(s3),  # the real result: public, success -> PDF and text downloaded
            variant(s3, id="9000001", access="private", slug="Flock-Camera-Locations",
                    title="Flock camera locations (draft)", updated_at="2023-03-01T10:00:00Z",
                    related_article=None),
            variant(s3, id="9000002", status="deleted", slug="LPR-Sharing-Agreement",
                    title="LPR data sharing agreement", updated_at="2022-08-15T09:00:00Z"),
            variant(s3, id="9000003", slug="Flock-Audit-Log", title="Flock audit log",
                    updated_at="2024-02-10T08:30:00.5Z"),  # its PDF now answers 403
        ],
    }
    page2 = {
        "_constructed": "second page reached through the cursor in page 1's next",
        "count": 5,
        "next": None,
        "previous": None,
        "escaped": False,
        "results": [
            # created long ago, updated last: the newest updated_at is on the last page
            variant(s3, id="9000004", status="readable", slug="ALPR-Policy-2019",
                    title="ALPR policy 2019", created_at="2019-05-01T00:00:00Z",
                    updated_at=NEWEST, related_article=None,
                    organization={"id": 7, "name": "Example Newsroom", "slug": "example"}),
        ],
    }
    return page1, page2


def serve_documentcloud(api: ApiServer) -> None:
    page1, page2 = search_pages(api.url)
    throttled = Answer(429, {"detail": "Request was throttled. Expected available in 0 "
                                       "seconds."}, {"Retry-After": "0"})  # constructed
    api.add("GET", r"/api/documents/search/", [throttled, Answer(200, page1)])
    api.add("GET", r"/api/documents/search/", Answer(200, page2), query={"cursor": CURSOR})
    pdf = Answer(200, POLICY.read_bytes(), {"Content-Type": "application/pdf"})
    api.add("GET", rf"/s3/documents/7273472/{SAMPLE['slug']}\.pdf", pdf)
    api.add("GET", rf"/s3/documents/7273472/{SAMPLE['slug']}\.txt",
            Answer(200, TEXT, {"Content-Type": "text/plain; charset=utf-8"}))
    denied = Answer(403, S3_DENIED, {"Content-Type": "application/xml"})
    api.add("GET", r"/s3/documents/9000003/Flock-Audit-Log\.(pdf|txt)", denied)
    api.add("GET", r"/s3/documents/9000004/ALPR-Policy-2019\.(pdf|txt)",
            Answer(404, S3_MISSING, {"Content-Type": "application/xml"}))


def crawl(api: ApiServer, db_path, *extra: str):
    out = run_cli("crawl", "documentcloud", "--term", "flock", "--base-url", f"{api.url}/api/",
                  "--log-level", "WARNING", *extra, db=db_path)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def searches(hits: list[Hit]) -> list[Hit]:
    return [h for h in hits if h.path == "/api/documents/search/"]


# ---- the spider -----------------------------------------------------------------------------
def test_spider_downloads_public_documents_records_the_rest_and_reruns_incrementally(tmp_path):
    db_path = tmp_path / "dc.db"
    with ApiServer() as api:
        serve_documentcloud(api)
        crawl(api, db_path)
        first_run = list(api.hits)
        db = open_db(str(db_path))

        # pagination: page 1 (throttled once, then data) and page 2 through the cursor
        asked = searches(first_run)
        assert [h.query.get("cursor") for h in asked] == [None, None, [CURSOR]]
        assert asked[0].query == {"q": ["flock"], "per_page": ["25"], "order": ["created_at"],
                                  "expand": ["organization"], "version": ["2.0"]}
        # only the public, processed results' assets were asked for
        assets = sorted(h.path for h in first_run if h.path.startswith("/s3/"))
        assert assets == sorted([
            f"/s3/documents/7273472/{SAMPLE['slug']}.pdf",
            f"/s3/documents/7273472/{SAMPLE['slug']}.txt",
            "/s3/documents/9000003/Flock-Audit-Log.pdf",
            "/s3/documents/9000003/Flock-Audit-Log.txt",
            "/s3/documents/9000004/ALPR-Policy-2019.pdf",
            "/s3/documents/9000004/ALPR-Policy-2019.txt"])

        rows = {r["id"].rsplit(":", 1)[1]: r for r in db.query(
            "select * from released_documents where source = 'documentcloud'")}
        assert set(rows) == {"7273472", "9000001", "9000002", "9000003", "9000004"}
        status = {k: (r["access"], r["download_status"]) for k, r in rows.items()}
        assert status == {"7273472": ("public", "downloaded"),
                          "9000001": ("private", "not_downloaded"),
                          "9000002": ("deleted", "not_downloaded"),
                          "9000003": ("public", "not_public"),
                          "9000004": ("public", "missing")}
        real = rows["7273472"]
        assert real["sha256"] == hashlib.sha256(POLICY.read_bytes()).hexdigest()
        assert real["url"] == f"{api.url}/s3/documents/7273472/{SAMPLE['slug']}.pdf"
        assert real["parent_id"] == SAMPLE["related_article"]
        assert real["relevant"] == 1
        assert json.loads(real["matched_terms"]) == SAMPLE_TERMS

        files = {r["file_id"]: r for r in db["released_files"].rows}
        extra = json.loads(files["7273472"]["extra"])
        assert extra["muckrock_request"] == SAMPLE["related_article"]
        assert extra["source"] == "Chatham County Sheriff"
        assert extra["organization"] == "MuckRock Staff"
        assert extra["file_hash"] == SAMPLE["file_hash"]
        assert extra["text_url"] == f"{api.url}/s3/documents/7273472/{SAMPLE['slug']}.txt"
        assert files["7273472"]["published_at"] == "2020-10-20T15:05:21.644Z"
        assert json.loads(files["9000002"]["extra"])["status"] == "deleted"
        assert files["9000001"]["parent_id"] == "documentcloud:9000001"
        assert "muckrock_request" not in json.loads(files["9000004"]["extra"])

        # both assets of the public document are archived; the text with its own fetch
        text_fetch = next(db.query(
            "select f.http_status, d.bytes, t.method, t.text from fetches f join documents d on "
            "d.sha256 = f.sha256 join document_texts t on t.sha256 = f.sha256 "
            "where f.url like '%7273472%.txt'"))
        assert text_fetch == {"http_status": 200, "bytes": len(TEXT), "method": "plain",
                              "text": TEXT.decode().strip()}
        assert real["document_type"] == "alpr_policy"  # Eugene's ALPR policy, by content
        api_docs = list(db.query("select doc_type, parse_status from documents where url like "
                                 "'%/api/documents/search/%'"))
        assert api_docs == [{"doc_type": "records_api", "parse_status": "ok"}] * 2
        run = next(db.query("select * from runs order by id desc limit 1"))
        details = json.loads(run["details"])
        assert (details["not_public"], details["missing"], details["downloaded"],
                details["not_listed_public"], details["deleted"]) == (2, 2, 1, 1, 1)
        state = next(db.query("select scope, key, value from crawl_state"))
        assert state == {"scope": "flock", "key": "updated_since", "value": NEWEST}
        documents_before = db["documents"].count

        # a second run: asks with the remembered date, downloads nothing, stores nothing new
        crawl(api, db_path)
        second_run = api.hits[len(first_run):]
    db = open_db(str(db_path))
    asked = searches(second_run)
    assert asked[0].query["updated_at"] == [f"[{NEWEST} TO *]"]
    # page 1 is wholly older than the cursor (the test server ignores the filter): no page 2
    assert [h.query.get("cursor") for h in asked] == [None]
    assert not [h for h in second_run if h.path.startswith("/s3/")]
    assert db["documents"].count == documents_before
    details = json.loads(next(db.query("select details from runs order by id desc limit 1"))
                         ["details"])
    assert details["older_than_cursor"] == 4 and details["downloaded"] == 0


def test_spider_since_max_documents_and_full_rerun(tmp_path):
    db_path = tmp_path / "dc.db"
    with ApiServer() as api:
        serve_documentcloud(api)
        crawl(api, db_path, "--max-documents", "1", "--since", "2020-01-01")
        first_run = list(api.hits)
        db = open_db(str(db_path))
        assert searches(first_run)[0].query["updated_at"] == ["[2020-01-01T00:00:00Z TO *]"]
        assert {h.path for h in first_run if h.path.startswith("/s3/")} == {
            f"/s3/documents/7273472/{SAMPLE['slug']}.pdf",
            f"/s3/documents/7273472/{SAMPLE['slug']}.txt"}
        # the listing was cut: no page 2, and no cursor that would skip unfetched documents
        assert [h.query.get("cursor") for h in searches(first_run)] == [None, None]
        assert db["crawl_state"].count == 0
        details = json.loads(next(db.query("select details from runs"))["details"])
        assert details["over_limit"] == 1

        # --full asks for everything again, but archived PDFs and texts are not downloaded
        # again; the documents that were over the limit are
        crawl(api, db_path, "--full")
        second_run = api.hits[len(first_run):]
    assert "updated_at" not in searches(second_run)[0].query
    assert {h.path for h in second_run if h.path.startswith("/s3/")} == {
        "/s3/documents/9000003/Flock-Audit-Log.pdf", "/s3/documents/9000003/Flock-Audit-Log.txt",
        "/s3/documents/9000004/ALPR-Policy-2019.pdf", "/s3/documents/9000004/ALPR-Policy-2019.txt"}
    details = json.loads(next(db.query("select details from runs order by id desc limit 1"))
                         ["details"])
    assert details["skipped_archived"] == 2 and details["over_limit"] == 0


# ---- the parser -----------------------------------------------------------------------------
def test_parse_search_page_reads_the_real_result():
    body = json.dumps({"_constructed": "wrapper around the real sample", "count": 1,
                       "next": LIVE_SEARCH + "&cursor=abc", "previous": None,
                       "results": [SAMPLE]}).encode()
    page = parse_response(body, LIVE_SEARCH)
    assert page is not None and (page.source, page.kind, page.total) == ("documentcloud",
                                                                         "search", 1)
    assert page.next_url == LIVE_SEARCH + "&cursor=abc"
    [f] = page.files
    assert f.key == "documentcloud:documentcloud:7273472"
    assert f.url == ("https://s3.documentcloud.org/documents/7273472/"
                     "ORA-Request-Flock-Safety-Automated-License-Plate.pdf")
    assert (f.parent_kind, f.parent_id) == ("search", SAMPLE["related_article"])
    assert (f.title, f.file_type, f.published_at, f.access) == (
        SAMPLE["title"], "pdf", "2020-10-20T15:05:21.644Z", "public")
    assert f.relevant and f.matched_terms == SAMPLE_TERMS
    assert f.extra["text_url"] == f.url[:-4] + ".txt"
    assert f.extra["muckrock_request"] == SAMPLE["related_article"]
    assert f.extra["page_count"] == 2 and f.extra["updated_at"] == SAMPLE["updated_at"]
    assert f.extra["canonical_url"] == SAMPLE["canonical_url"]
    # the dispatcher finds it too
    assert parse_api_response(body, LIVE_SEARCH).files[0].file_id == "7273472"


def test_parse_keeps_access_and_status_of_gone_documents():
    gone = variant(status="nofile", access="organization", organization=125,
                   related_article="https://example.org/story", description="no ALPR words",
                   title="Minutes")
    body = json.dumps({"count": 1, "next": None, "previous": None, "results": [gone]}).encode()
    [f] = parse_response(body, "https://api.www.documentcloud.org/api/documents/").files
    assert f.access == "nofile"
    assert f.extra["access"] == "organization" and f.extra["status"] == "nofile"
    assert "organization" not in f.extra and f.extra["organization_id"] == 125
    assert f.parent_id == "https://example.org/story" and "muckrock_request" not in f.extra
    assert f.matched_terms == ["alpr"]  # from the description


def test_parse_detail_and_throttle_answers():
    detail = parse_response(json.dumps(SAMPLE).encode(),
                            "https://api.www.documentcloud.org/api/documents/7273472/")
    assert detail is not None and [f.file_id for f in detail.files] == ["7273472"]
    throttled = parse_response(b'{"detail": "Request was throttled. Expected available in '
                               b'120 seconds."}', LIVE_SEARCH)
    assert throttled is not None and throttled.throttled and not throttled.files


@pytest.mark.parametrize("body, url", [
    # MuckRock-like list (constructed) on another API's path
    (b'{"next": null, "previous": null, "results": [{"id": 1, "title": "Flock"}]}',
     "https://www.muckrock.com/api_v2/requests/"),
    # the search path but not documents (constructed)
    (b'{"next": null, "previous": null, "results": [{"id": 1, "title": "Flock"}]}',
     LIVE_SEARCH),
    # a DocumentCloud result at a path that is not the documents API
    (json.dumps({"next": None, "results": [SAMPLE]}).encode(),
     "http://127.0.0.1:8000/client/documents"),
    (b"<html>Just a moment...</html>", LIVE_SEARCH),
    (b'{"detail": "Not found."}', LIVE_SEARCH),
    (json.dumps(SAMPLE).encode(), "https://api.www.documentcloud.org/api/documents/1/"),
])
def test_parse_answers_none_for_other_json(body, url):
    assert parse_response(body, url) is None


def test_query_helpers():
    assert search_query("flock") == "flock"
    assert search_query("license plate reader") == '"license plate reader"'
    assert search_query("287(g)") == '"287(g)"'
    from datetime import UTC, datetime
    assert solr_datetime(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00Z"
    assert solr_datetime(datetime(2021, 1, 13, 1, 8, 49, 712000, tzinfo=UTC)) == \
        "2021-01-13T01:08:49.712Z"
