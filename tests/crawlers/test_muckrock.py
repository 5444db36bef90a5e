"""MuckRock API v2: the parser on constructed answers, and the spider against a local server.

Every answer here is constructed from MuckRock's own documented examples in
corpus/apis/records_portals/muckrock_api_v2_shapes.json (the serializers' OpenApiExample
values), changed only in ids, titles and dates; each listing says so in a "_constructed" key.
The released file is a real PDF from the corpus (Eugene PD's ALPR policy), served in place.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from api_server import Answer, ApiServer, Hit
from conftest import CORPUS, run_cli

from alpr_inventory.load.ingest import Fetched, utc_now
from alpr_inventory.store.schema import open_db
from parsers.records.muckrock import communications, parse_datetime, parse_response
from parsers.records.records_apis import parse_api_response

SHAPES_PATH = CORPUS / "apis" / "records_portals" / "muckrock_api_v2_shapes.json"
SHAPES = json.loads(SHAPES_PATH.read_text())
NEXTREQUEST = json.loads((CORPUS / "apis" / "records_portals" / "nextrequest_shapes.json")
                         .read_text())
DOCUMENTCLOUD = json.loads((CORPUS / "apis" / "records_portals" / "documentcloud_shapes.json")
                           .read_text())
LEGISTAR_INDEX = CORPUS / "apis" / "legistar" / "python-legistar-scraper_metro_matter_index.json"
POLICY = CORPUS / "records" / "eugene_or_pd" / "eugene_or_pd_Policy-1204.pdf"
CONSTRUCTED = f"constructed for tests from {SHAPES_PATH.name} (MuckRock's documented examples)"
API = "https://www.muckrock.com/api_v2/"


def request_item(**changes: Any) -> dict[str, Any]:
    return {**SHAPES["request_example"], **changes}


def comm_item(**changes: Any) -> dict[str, Any]:
    return {**SHAPES["communication_example"], **changes}


def file_item(**changes: Any) -> dict[str, Any]:
    return {**SHAPES["file_example"], **changes}


def listing(results: list[dict[str, Any]], next_url: str | None = None,
            count: int | None = None) -> dict[str, Any]:
    """A DRF page, as the API v2 sends it (constructed)."""
    return {"_constructed": CONSTRUCTED, "count": len(results) if count is None else count,
            "next": next_url, "previous": None, "results": results}


def body(data: Any) -> bytes:
    return json.dumps(data).encode()


# ---- parser ------------------------------------------------------------------------------
def test_requests_listing_becomes_records_requests():
    page = parse_response(body(listing([request_item()], f"{API}requests/?page=2", count=51)),
                          f"{API}requests/?search=flock&ordering=-datetime_updated")
    assert page is not None and page.source == "muckrock" and page.kind == "requests"
    assert page.total == 51 and page.next_url == f"{API}requests/?page=2"
    (req,) = page.requests
    assert req.key == "muckrock:www.muckrock.com:1"
    assert (req.title, req.request_text, req.status, req.agency) == (
        "Meeting Minutes", "All the meeting minutes for the last 30 days", "processed", "2")
    assert req.submitted_at == "2018-05-20T07:08:48.911320-04:00"
    assert req.updated_at == "2019-02-18T05:00:01.355367-05:00" and req.done_at is None
    assert req.visibility == "public" and req.url is None  # no jurisdiction: no page URL
    assert req.extra == {"slug": "meeting-minutes", "tracking_id": "ABC123-456",
                         "embargo_status": "public", "price": "0.00", "agency_id": 2}
    assert "user" not in req.extra and "edit_collaborators" not in req.extra


def test_request_detail_and_agency_given_as_object():
    page = parse_response(body(request_item(id=7, agency={"id": 3, "name": "Eugene PD"})),
                          "http://127.0.0.1:5000/api_v2/requests/7/")
    assert page is not None and page.kind == "request" and page.total is None
    (req,) = page.requests
    assert req.request_id == "7" and req.agency == "Eugene PD" and req.extra["agency_id"] == 3
    assert req.portal == "www.muckrock.com"  # never the loopback host that served it


def test_files_listing_names_the_request_from_the_fragment():
    url = f"{API}files/?communication=5&page_size=50#foia=72048"
    page = parse_response(body(listing([file_item()])), url)
    assert page is not None and page.kind == "files"
    (f,) = page.files
    assert (f.parent_kind, f.parent_id) == ("request", "muckrock:www.muckrock.com:72048")
    assert f.key == "muckrock:www.muckrock.com:1215939"
    assert f.url == SHAPES["file_example"]["ffile"] and f.file_type == "pdf"
    assert f.title == "PSP FINAL RESPONSE RTK # 2024-1657"
    assert f.published_at == "2024-09-05T14:01:29.268029"
    assert f.extra == {"pages": 11, "doc_id": "25092350-psp-final-response-rtk-2024-1657",
                       "source": "Pennsylvania State Police, Pennsylvania",
                       "communication": 5, "foia": 72048}
    # reached from a request the spider followed because it matched: relevant by its parent
    assert f.relevant is True and f.matched_terms == []


def test_files_listing_without_the_fragment_belongs_to_the_communication():
    items = [file_item(), file_item(id=2, title="Flock audit log", ffile="", access="private")]
    page = parse_response(body(listing(items)), f"{API}files/?communication=5")
    assert page is not None
    plain, flock = page.files
    assert (plain.parent_kind, plain.parent_id) == (
        "communication", "muckrock:www.muckrock.com:communication:5")
    assert plain.relevant is False and "foia" not in plain.extra
    assert flock.relevant is True and flock.matched_terms == ["flock"]
    assert flock.url is None and flock.access == "private"  # ffile "" when there is no file


def test_communications_give_file_ids_to_follow():
    items = [comm_item(files=[11, 12]), comm_item(id=6), {k: v for k, v in comm_item(id=8)
                                                         .items() if k != "files"}]
    raw = body(listing(items))
    page = parse_response(raw, f"{API}communications/?foia=72048")
    assert page is not None and page.kind == "communications" and page.files == []
    first, empty, unlisted = communications(raw)
    assert (first.comm_id, first.foia, first.file_ids, first.has_files) == (5, 72048, [11, 12],
                                                                            True)
    assert empty.has_files is False
    assert unlisted.files_listed is False and unlisted.has_files is True  # ask files/ anyway


def test_communications_with_embedded_file_objects_list_them():
    embedded = comm_item(files=[file_item(title="ALPR sharing list")])
    page = parse_response(body(listing([embedded])), f"{API}communications/?foia=72048")
    assert page is not None
    (f,) = page.files
    assert f.parent_id == "muckrock:www.muckrock.com:72048" and f.extra["communication"] == 5
    assert f.relevant is True and f.matched_terms == ["alpr"]


def test_throttle_answer_is_marked_throttled():
    page = parse_response(b'{"detail": "Request was throttled. Expected available in 4 '
                          b'seconds."}', f"{API}requests/?search=flock")
    assert page is not None and page.throttled and page.requests == []


@pytest.mark.parametrize("raw, url", [
    # NextRequest's request list (its own host and path)
    (body(NEXTREQUEST["request_list_sample"]),
     "https://oaklandca.nextrequest.com/client/requests?search_term=flock"),
    # the same NextRequest body under a MuckRock-like path: not a DRF page
    (body(NEXTREQUEST["request_list_sample"]), f"{API}requests/"),
    # DocumentCloud's DRF envelope on its own path
    (body(listing([DOCUMENTCLOUD["result_sample"]])),
     "https://api.www.documentcloud.org/api/documents/search/?q=flock"),
    # DocumentCloud's documents under a MuckRock path: the items are not requests
    (body(listing([DOCUMENTCLOUD["result_sample"]])), f"{API}requests/"),
    # a Legistar answer, on its path and under a MuckRock path
    (LEGISTAR_INDEX.read_bytes(), "https://webapi.legistar.com/v1/metro/matters/5036/indexes"),
    (LEGISTAR_INDEX.read_bytes(), f"{API}files/"),
    # DRF's error body, and not JSON at all
    (b'{"detail": "Not found."}', f"{API}requests/123/"),
    (b"<html>Server Error</html>", f"{API}requests/"),
])
def test_other_answers_are_not_muckrock(raw, url):
    assert parse_response(raw, url) is None


def test_dispatcher_hands_muckrock_answers_to_this_parser():
    page = parse_api_response(body(listing([request_item()])), f"{API}requests/?search=x")
    assert page is not None and page.source == "muckrock" and len(page.requests) == 1


def test_store_loads_a_listing_and_blocks_a_throttle_answer(store):
    now = utc_now()
    listed = store.ingest(Fetched(
        body=body(listing([request_item(id=5, title="Flock audit")])),
        url=f"{API}requests/?search=flock", source="muckrock", fetched_at=now, captured_at=now,
        captured_at_basis="fetch", http_status=200))
    throttled = store.ingest(Fetched(
        body=b'{"detail": "Request was throttled. Expected available in 4 seconds."}',
        url=f"{API}requests/?search=flock&page=2", source="muckrock", fetched_at=now,
        captured_at=now, captured_at_basis="fetch", http_status=429))
    assert (listed.doc_type, listed.parse_status) == ("records_api", "ok")
    assert (throttled.doc_type, throttled.parse_status) == ("records_api", "blocked")
    (row,) = store.db["records_requests"].rows
    assert row["id"] == "muckrock:www.muckrock.com:5" and row["document_sha256"] == listed.sha256


def test_parse_datetime_compares_across_offsets():
    assert parse_datetime("2019-02-18T05:00:01.355367-05:00").isoformat() == (
        "2019-02-18T10:00:01.355367+00:00")
    assert parse_datetime("2024-09-05T14:01:29.268029").isoformat() == (
        "2024-09-05T14:01:29.268029+00:00")  # naive: UTC
    assert parse_datetime("2025-01-01").isoformat() == "2025-01-01T00:00:00+00:00"
    assert parse_datetime("yesterday") is None and parse_datetime(None) is None


# ---- spider ------------------------------------------------------------------------------
USERNAME, PASSWORD = "reporter", "s3cret-password"
INVALID_TOKEN = {"_constructed": "simplejwt's answer to an expired token",
                 "detail": "Given token not valid for any token type", "code": "token_not_valid"}


def bearer(hit: Hit) -> str | None:
    return hit.headers.get("authorization")


def needs_token(token: str, answer: Answer | list[Answer]):
    """A route that answers 401 unless the request carries `token` (then `answer`, or the
    answers in turn)."""
    answers = answer if isinstance(answer, list) else [answer]
    served = [0]

    def respond(hit: Hit) -> Answer:
        if bearer(hit) != f"Bearer {token}":
            return Answer(401, INVALID_TOKEN, {"WWW-Authenticate": 'Bearer realm="api"'})
        served[0] += 1
        return answers[min(served[0], len(answers)) - 1]

    return respond


def crawl(api: ApiServer, db: Path, *extra: str):
    out = run_cli("crawl", "muckrock", "--base-url", f"{api.url}/api_v2/", "--auth-url",
                  f"{api.url}/accounts/api/", "--log-level", "INFO", *extra, db=db)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def hits(api: ApiServer, path: str, **query: str) -> list[Hit]:
    return [h for h in api.hits if h.path == path
            and all(h.query.get(k, [None])[0] == v for k, v in query.items())]


def serve_muckrock(api: ApiServer) -> dict[str, str]:
    """The constructed MuckRock of the main test; returns the file URLs it lists."""
    base = f"{api.url}/api_v2/"
    cdn = f"{api.url}/cdn/foia_files/2025/06/10/"
    urls = {"policy": cdn + "Policy-1204.pdf", "gone": cdn + "gone.pdf",
            "private": cdn + "private.pdf"}
    api.add("POST", r"/accounts/api/token/", Answer(body={"access": "token-A",
                                                          "refresh": "refresh-1"}))

    def refresh(hit: Hit) -> Answer:
        if json.loads(hit.body or b"{}").get("refresh") == "refresh-1":
            return Answer(body={"access": "token-B", "refresh": "refresh-2"})
        return Answer(401, INVALID_TOKEN)

    api.add("POST", r"/accounts/api/refresh/", refresh)
    r101 = request_item(id=101, title="Flock Safety ALPR data sharing", slug="flock-safety",
                        requested_docs="Audit logs and sharing lists of the Flock license plate "
                        "reader system", agency=7, status="done",
                        datetime_updated="2025-06-10T10:00:00-04:00",
                        datetime_done="2025-06-09T12:00:00-04:00")
    r102 = request_item(id=102, title="Flocking geese in city parks", slug="geese",
                        requested_docs="Bird control contracts", agency=8,
                        datetime_updated="2025-06-01T10:00:00-04:00")
    r103 = request_item(id=103, title="Flock camera contract", slug="flock-contract",
                        requested_docs="The contract with Flock Safety", agency=7,
                        datetime_updated="2025-05-01T10:00:00-04:00")
    r104 = request_item(id=104, title="Plate reader searches", slug="plate-reader",
                        requested_docs="ALPR searches", agency=9, embargo_status="embargo",
                        datetime_updated="2025-04-01T10:00:00-04:00")
    page2 = f"{base}requests/?ordering=-datetime_updated&page=2&page_size=50&search=flock"
    api.add("GET", r"/api_v2/requests/", needs_token("token-B", Answer(
        body=listing([r101, r102], page2, count=4))), query={"search": "flock"})
    throttled = Answer(429, {"detail": "Request was throttled. Expected available in 0 "
                             "seconds."}, {"Retry-After": "0"})
    api.add("GET", r"/api_v2/requests/", needs_token("token-B", [
        throttled, Answer(body=listing([r103, r104], count=4))]),
        query={"search": "flock", "page": "2"})
    api.add("GET", r"/api_v2/requests/", needs_token("token-B", Answer(
        body=listing([r101]))), query={"search": "ALPR"})
    api.add("GET", r"/api_v2/communications/", needs_token("token-B", Answer(body=listing([
        comm_item(id=501, foia=101, files=[9001, 9002, 9003], response=True),
        comm_item(id=502, foia=101, files=[])]))), query={"foia": "101"})
    api.add("GET", r"/api_v2/communications/", needs_token("token-B", Answer(body=listing([
        comm_item(id=503, foia=103, files=[])]))), query={"foia": "103"})
    api.add("GET", r"/api_v2/files/", needs_token("token-B", Answer(body=listing([
        file_item(id=9001, ffile=urls["policy"], title="Eugene PD Policy 1204",
                  source="Eugene Police Department", doc_id="", pages=6),
        file_item(id=9002, ffile=urls["gone"], title="Response letter", doc_id="", pages=1),
        file_item(id=9003, ffile=urls["private"], title="Sharing list", doc_id="",
                  pages=2)]))), query={"communication": "501"})
    api.add("GET", r"/cdn/foia_files/2025/06/10/Policy-1204\.pdf",
            Answer(body=POLICY.read_bytes(), headers={"Content-Type": "application/pdf"}))
    api.add("GET", r"/cdn/foia_files/2025/06/10/gone\.pdf", Answer(
        404, "<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"}))
    api.add("GET", r"/cdn/foia_files/2025/06/10/private\.pdf", Answer(
        403, "<Error><Code>AccessDenied</Code></Error>", {"Content-Type": "application/xml"}))
    return urls


def test_crawl_requests_files_tokens_and_a_second_run(tmp_path, monkeypatch):
    monkeypatch.setenv("MUCKROCK_USERNAME", USERNAME)
    monkeypatch.setenv("MUCKROCK_PASSWORD", PASSWORD)
    db_path = tmp_path / "muckrock.db"
    with ApiServer() as api:
        urls = serve_muckrock(api)
        out = crawl(api, db_path, "--term", "flock", "--term", "ALPR")
        log = out.stdout + out.stderr
        for secret in (PASSWORD, "token-A", "token-B", "refresh-1", "refresh-2"):
            assert secret not in log

        # login, then the first searches with token A: 401, one refresh, sent again with B
        (login,) = hits(api, "/accounts/api/token/")
        assert json.loads(login.body) == {"username": USERNAME, "password": PASSWORD}
        (refresh,) = hits(api, "/accounts/api/refresh/")
        assert json.loads(refresh.body) == {"refresh": "refresh-1"}
        first_page = [h for h in hits(api, "/api_v2/requests/", search="flock")
                      if "page" not in h.query]
        assert [bearer(h) for h in first_page] == ["Bearer token-A", "Bearer token-B"]
        # page 2 through DRF's next: a 429 with Retry-After 0, then the data
        assert len(hits(api, "/api_v2/requests/", page="2")) == 2
        # 101 is listed under both terms but followed once; 102 does not match (geese), 104
        # is embargoed: neither is followed
        assert len(hits(api, "/api_v2/communications/", foia="101")) == 1
        assert len(hits(api, "/api_v2/communications/", foia="103")) == 1
        assert not hits(api, "/api_v2/communications/", foia="102")
        assert not hits(api, "/api_v2/communications/", foia="104")
        assert len(hits(api, "/api_v2/files/")) == 1  # only communication 501 has files
        cdn = [h for h in api.hits if h.path.startswith("/cdn/")]
        assert len(cdn) == 3 and not any(bearer(h) for h in cdn)  # no token to the CDN

        db = open_db(str(db_path))
        requests = {r["request_id"]: r for r in db["records_requests"].rows}
        assert set(requests) == {"101", "102", "103", "104"}
        r101 = requests["101"]
        assert r101["id"] == "muckrock:www.muckrock.com:101" and r101["source"] == "muckrock"
        assert r101["title"] == "Flock Safety ALPR data sharing" and r101["agency"] == "7"
        assert r101["updated_at"] == "2025-06-10T10:00:00-04:00" and r101["status"] == "done"
        assert json.loads(r101["matched_terms"]) == ["flock", "license plate reader", "alpr",
                                                     "plate reader", "data sharing"]
        assert requests["104"]["visibility"] == "embargo"
        assert json.loads(requests["102"]["matched_terms"] or "[]") == []

        released = {r["title"]: r for r in db.query("select * from released_documents")}
        assert set(released) == {"Eugene PD Policy 1204", "Response letter", "Sharing list"}
        policy = released["Eugene PD Policy 1204"]
        assert policy["parent_id"] == "muckrock:www.muckrock.com:101"
        assert policy["parent_title"] == "Flock Safety ALPR data sharing"
        assert policy["url"] == urls["policy"] and policy["relevant"] == 1
        assert policy["download_status"] == "downloaded"
        sha = hashlib.sha256(POLICY.read_bytes()).hexdigest()
        assert policy["sha256"] == sha and db["documents"].get(sha)["sha256"] == sha
        assert released["Response letter"]["download_status"] == "missing"
        assert released["Sharing list"]["download_status"] == "not_public"

        api_docs = list(db.query(
            "select f.url, d.doc_type from fetches f join documents d using (sha256) "
            "where f.url like '%/api_v2/%'"))
        assert len(api_docs) == 6  # 2 + 1 request pages, 2 communications, 1 files
        assert {d["doc_type"] for d in api_docs} == {"records_api"}
        # the files listing is recorded with the request it was reached from (a fragment)
        assert any(d["url"].endswith("communication=501&page_size=50#foia=101")
                   for d in api_docs)
        assert not list(db.query("select 1 from fetches where url like '%/accounts/%'"))
        state = {r["scope"]: r["value"] for r in db.query(
            "select scope, value from crawl_state where spider = 'muckrock'")}
        assert state == {"flock": "2025-06-10T14:00:00+00:00",
                         "ALPR": "2025-06-10T14:00:00+00:00"}
        (run,) = list(db["runs"].rows)
        details = json.loads(run["details"])
        assert run["status"] == "finished"
        assert (details["downloaded"], details["missing"], details["not_public"]) == (1, 1, 1)
        assert (details["followed"], details["embargoed"], details["token_refreshed"]) == (2, 1, 1)
        documents = db["documents"].count

        # a second run: page 1 again, nothing newer on it, so no page 2, no communications,
        # no file, no new document
        before = len(api.hits)
        crawl(api, db_path, "--term", "flock", "--term", "ALPR")
        again = api.hits[before:]
        assert not [h for h in again if h.path.startswith(("/cdn/", "/api_v2/communications",
                                                           "/api_v2/files"))]
        listings = [h for h in again if h.path == "/api_v2/requests/"]
        assert all("page" not in h.query for h in listings)
        assert {h.query["search"][0] for h in listings} == {"flock", "ALPR"}
        db = open_db(str(db_path))
        assert db["documents"].count == documents
        run2 = db["runs"].get(2)
        assert run2["status"] == "finished" and run2["documents"] == 0

        # --full asks everything again, but never downloads an archived file again
        before = len(api.hits)
        crawl(api, db_path, "--term", "flock", "--full")
        again = api.hits[before:]
        assert len([h for h in again if h.path == "/api_v2/requests/" and "page" in h.query]) == 1
        assert len([h for h in again if h.path == "/api_v2/communications/"]) == 2
        assert {h.path.rsplit("/", 1)[1] for h in again if h.path.startswith("/cdn/")} == {
            "gone.pdf", "private.pdf"}  # not held yet: asked again
        db = open_db(str(db_path))
        assert db["documents"].count == documents
        assert json.loads(db["runs"].get(3)["details"])["skipped_archived"] == 1


def test_anonymous_run_and_max_requests(tmp_path, monkeypatch):
    monkeypatch.delenv("MUCKROCK_USERNAME", raising=False)
    monkeypatch.delenv("MUCKROCK_PASSWORD", raising=False)
    db_path = tmp_path / "anon.db"
    with ApiServer() as api:
        found = [request_item(id=201, title="Flock contract", datetime_updated="2025-03-02"),
                 request_item(id=202, title="ALPR policy", datetime_updated="2025-03-01")]
        api.add("GET", r"/api_v2/requests/", Answer(body=listing(found)),
                query={"search": "flock"})
        api.add("GET", r"/api_v2/communications/", Answer(body=listing([])))
        out = crawl(api, db_path, "--term", "flock", "--max-requests", "1")
        assert "anonymously" in out.stdout + out.stderr
        assert not [h for h in api.hits if h.path.startswith("/accounts/")]
        assert not [h for h in api.hits if bearer(h)]
        assert [h.query["foia"] for h in hits(api, "/api_v2/communications/")] == [["201"]]
        db = open_db(str(db_path))
        assert db["records_requests"].count == 2
        # 202 was left out by --max-requests: the term's cursor stays, the next run asks again
        assert not list(db.query("select 1 from crawl_state where spider = 'muckrock'"))
        assert json.loads(db["runs"].get(1)["details"])["over_limit"] == 1


def test_refused_refresh_logs_in_again(tmp_path, monkeypatch):
    monkeypatch.setenv("MUCKROCK_USERNAME", USERNAME)
    monkeypatch.setenv("MUCKROCK_PASSWORD", PASSWORD)
    db_path = tmp_path / "relogin.db"
    with ApiServer() as api:
        api.add("POST", r"/accounts/api/token/", [
            Answer(body={"access": "token-A", "refresh": "refresh-1"}),
            Answer(body={"access": "token-B", "refresh": "refresh-2"})])
        api.add("POST", r"/accounts/api/refresh/", Answer(401, INVALID_TOKEN))
        api.add("GET", r"/api_v2/requests/", needs_token("token-B", Answer(body=listing([]))))
        crawl(api, db_path, "--term", "flock")
        assert len(hits(api, "/accounts/api/token/")) == 2
        assert len(hits(api, "/accounts/api/refresh/")) == 1
        assert [bearer(h) for h in hits(api, "/api_v2/requests/")] == [
            "Bearer token-A", "Bearer token-B"]
        db = open_db(str(db_path))
        # the 401 answered by a fresh token is not archived; the listing is
        fetched = [(r["http_status"], r["url"].split("?")[0].rsplit("/", 2)[-2])
                   for r in db["fetches"].rows]
        assert fetched == [(200, "requests")]
