"""Legistar Web API: the parser (pure), read_clients, and the spider against local servers only.

The San Jose run goes over alpr_inventory.demo.legistar_replay, which answers from the real
legisearch sample in the corpus (read in place). The Flock scenario is CONSTRUCTED: its matters,
meeting, agenda items, attachments and votes are copies of the sample's real objects with ids,
titles and links changed (each carries a "_constructed" key), served by tests/api_server.py.
"""

from __future__ import annotations

import copy
import hashlib
import json
import urllib.request
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from api_server import Answer, ApiServer, Hit
from conftest import CORPUS, run_cli

from alpr_inventory.demo.legistar_replay import FilterError, LegistarReplayServer, filter_rows
from alpr_inventory.store.schema import open_db
from crawlers.spiders.legistar import (
    client_name,
    encode_filter,
    matters_filter,
    read_clients,
    without_token,
)
from parsers.records.legistar import api_path, context_fragment, parse_response
from parsers.records.records_apis import parse_api_response

LEGISTAR = CORPUS / "apis" / "legistar"
SAMPLE_PATH = LEGISTAR / "legisearch_sanjose_events_with_items.json"
SAMPLE = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
EVENT = SAMPLE[0]
MATTER_ITEMS = [i for i in EVENT["items"] if i.get("EventItemMatterId")]
POLICY = CORPUS / "records" / "eugene_or_pd" / "eugene_or_pd_Policy-1204.pdf"
LIVE = "https://webapi.legistar.com/v1/sanjose/"


def sample_item(file: str) -> dict:
    return next(i for i in MATTER_ITEMS if i["EventItemMatterFile"] == file)


# ---- the parser, on the real sample ----------------------------------------------------------
def test_api_path_names_client_kind_and_id_live_and_local():
    assert api_path(LIVE + "Matters?$filter=x&$top=1000") == ("sanjose", "matters", None)
    assert api_path("http://127.0.0.1:5123/v1/sanjose/Events/1080/EventItems?Attachments=1") \
        == ("sanjose", "event_items", 1080)
    assert api_path(LIVE + "Matters/2016/Attachments#terms=flock") == \
        ("sanjose", "attachments", 2016)
    assert api_path(LIVE + "EventItems/32035/Votes") == ("sanjose", "votes", 32035)
    assert api_path(LIVE + "Matters/2016/Histories") == ("sanjose", "histories", 2016)
    assert api_path(LIVE + "Bodies") is None
    assert api_path("https://www.muckrock.com/api_v2/requests/") is None


def test_dump_of_a_meeting_gives_its_matters_files_and_votes():
    """The legisearch dump read as an Events answer: every matter, attachment and vote."""
    page = parse_response(SAMPLE_PATH.read_bytes(), LIVE + "Events")
    assert page is not None and page.kind == "events" and page.total == 1
    assert {m.matter_id for m in page.matters} == {i["EventItemMatterId"] for i in MATTER_ITEMS}
    assert len(page.matters) == 29
    assert len(page.files) == sum(len(i["Attachments"]) for i in MATTER_ITEMS) == 51
    ordinance = next(m for m in page.matters if m.file == "17-069")
    assert (ordinance.matter_id, ordinance.title, ordinance.type, ordinance.status) == (
        2025, "ORDINANCE NO. 29987", "Final Adoption of Ordinance", "Passed")
    assert ordinance.last_modified == "2017-09-12T17:15:13.447"
    assert ordinance.url == ("https://sanjose.legistar.com/LegislationDetail.aspx?ID=2025"
                             "&GUID=81C90AC4-6BC6-41C0-903A-2FAADBBDF71F")
    assert ordinance.extra["meeting_url"] == EVENT["EventInSiteURL"]
    votes = [v for v in page.votes if v.matter_id == 2025]
    assert len(votes) == 11 and {v.value for v in votes} == {"Yes"}
    assert {(v.event_item_id, v.event_id, v.event_date, v.body, v.action, v.passed)
            for v in votes} == {(32035, 1080, "2017-09-12", "City Council", "Adopted", "Pass")}
    assert "Sam Liccardo" in {v.person for v in votes}
    # 17-060 has votes too (item 32040), without any roll-call or passed flag on the item
    assert len([v for v in page.votes if v.matter_id == 2016]) == 11
    sale = [f for f in page.files if f.parent_id == "legistar:sanjose:2016"]
    assert [(f.file_id, f.title, f.url) for f in sale] == [
        ("719", "Agreement", "https://legistar.granicus.com/sanjose/attachments/"
                             "9cf13883-dba5-4bbb-a65e-815cb3602bf5.pdf"),
        ("720", "Resolution", "https://legistar.granicus.com/sanjose/attachments/"
                              "47bf7eda-af30-4714-9219-b9e21bef0886.pdf"),
        ("724", "Memorandum", "https://legistar.granicus.com/sanjose/attachments/"
                              "0f4148da-1f36-4623-8531-af8488671be2.pdf")]
    assert {(f.file_type, f.access, f.relevant) for f in sale} == {("pdf", "public", False)}
    assert not any(f.relevant for f in page.files) and not any(m.matched_terms
                                                              for m in page.matters)
    # San Jose's MatterText2 holds a staff email: no record carries it
    assert "@" not in repr(page)


def test_matter_attachments_and_votes_answers_with_the_spiders_context():
    item = sample_item("17-060")
    attachments = json.dumps(item["Attachments"]).encode()
    plain = parse_response(attachments, LIVE + "Matters/2016/Attachments")
    assert [f.relevant for f in plain.files] == [False, False, False]
    told = parse_response(attachments, LIVE + "Matters/2016/Attachments"
                          + context_fragment(terms=["flock", "alpr"]))
    assert [(f.relevant, f.matched_terms) for f in told.files] == [(True, ["alpr", "flock"])] * 3
    assert {f.parent_id for f in told.files} == {"legistar:sanjose:2016"}
    ordinance = sample_item("17-069")
    ctx = context_fragment(matter=2025, event=1080, date="2017-09-12", body="City Council",
                           action="Adopted", passed="Pass")
    votes = parse_response(json.dumps(ordinance["Votes"]).encode(),
                           LIVE + "EventItems/32035/Votes" + ctx).votes
    assert len(votes) == 11
    assert {(v.matter_id, v.event_id, v.event_date, v.body, v.passed) for v in votes} == {
        (2025, 1080, "2017-09-12", "City Council", "Pass")}
    bare = parse_response(json.dumps(ordinance["Votes"]).encode(), LIVE + "EventItems/32035/Votes")
    assert {(v.event_item_id, v.matter_id) for v in bare.votes} == {(32035, None)}
    matter = parse_response(json.dumps(ordinance["Matter"]).encode(), LIVE + "Matters/2025")
    assert [(m.file, m.body, m.intro_date) for m in matter.matters] == [
        (ordinance["Matter"]["MatterFile"], ordinance["Matter"]["MatterBodyName"],
         ordinance["Matter"]["MatterIntroDate"][:10])]


def test_error_envelopes_are_recorded_with_their_message():
    body = b'{"Message": "LegistarConnectionString setting is not set up in InSite for client: x"}'
    page = parse_response(body, "https://webapi.legistar.com/v1/x/Matters?$top=1000")
    assert page.kind == "error" and "not set up in InSite" in page.warnings[0]
    assert not (page.matters or page.files or page.votes)


@pytest.mark.parametrize("body,url", [
    (b'{"count": 0, "results": []}', "https://www.muckrock.com/api_v2/requests/"),
    (json.dumps([sample_item("17-069")["Matter"]]).encode(),
     "https://example.org/api/matters"),  # Legistar rows, not a Legistar address
    (b'{"results": [{"id": 1}]}', LIVE + "Matters"),  # a Legistar address, another shape
    (json.dumps(sample_item("17-069")["Votes"]).encode(), LIVE + "Matters"),
    (b"<html>not json</html>", LIVE + "Events"),
])
def test_other_answers_are_not_legistar(body, url):
    assert parse_response(body, url) is None


def test_read_clients_from_the_real_subdomains_file():
    path = LEGISTAR / "legisearch_known_legistar_subdomains.txt"
    lines = path.read_text().splitlines()
    assert lines[0] == "Known Legistar Subdomains" and len(lines) == 220  # header + 219 hosts
    clients = read_clients(path)
    # 219 host lines: 210 distinct <name>.legistar.com, two *.ca.legistar.com hosts (one twice),
    # two CDN hosts (five lines); www and insite2 are Legistar's own sites, not clients
    assert len(clients) == 208 and len(set(clients)) == 208
    assert {"sanjose", "nyc", "sunnyvaleca", "a2gov"} <= set(clients)
    assert not {"www", "insite2", "insite", "known", "fe4", "esquimalt"} & set(clients)
    assert clients[:2] == ["a2gov", "actransit"]  # file order
    assert client_name("https://sanjose.legistar.com/Calendar.aspx") == "sanjose"
    assert client_name("Known Legistar Subdomains") is None


def test_filter_is_encoded_once_and_the_replay_evaluates_it():
    expr = matters_filter(["flock", "O'Brien", "287(g)"], "2025-03-05T12:30:00.5")
    assert expr == ("(substringof('flock',MatterTitle) or substringof('O''Brien',MatterTitle) "
                    "or substringof('287(g)',MatterTitle)) and MatterLastModifiedUtc ge "
                    "datetime'2025-03-05T12:30:00.5'")
    encoded = encode_filter(expr)
    assert "%27" not in encoded and "%25" not in encoded and " " not in encoded
    matters = [i["Matter"] for i in MATTER_ITEMS]
    assert [m["MatterFile"] for m in filter_rows("substringof('ordinance no',MatterTitle)",
                                                 matters)] == ["17-069"]
    assert filter_rows(matters_filter(["ordinance"], "2017-09-12T17:15:13.447"), matters) \
        == [sample_item("17-069")["Matter"]]
    with pytest.raises(FilterError):
        filter_rows("substringof(%27flock%27,MatterTitle)", matters)  # encoded twice
    assert without_token("https://w/v1/nyc/Matters?$top=1&token=abc#terms=x") == \
        "https://w/v1/nyc/Matters?$top=1#terms=x"


# ---- the San Jose sample over the replay ------------------------------------------------------
def test_san_jose_run_over_the_replay_of_the_real_sample(tmp_path):
    db_path = tmp_path / "sanjose.db"
    with LegistarReplayServer() as replay:
        out = run_cli("crawl", "legistar", "sanjose", "--base-url", replay.api_base,
                      "--log-level", "WARNING", db=db_path)
        assert out.returncode == 0, out.stderr[-3000:]
        # the replay serves the item's real votes (not fetched: nothing here is relevant)
        with urllib.request.urlopen(replay.api_base + "sanjose/EventItems/32035/Votes") as r:
            served = r.read()
        hits = dict(replay.hits)
    db = open_db(str(db_path))
    matters = {r["matter_id"]: r for r in db["council_matters"].rows}
    assert set(matters) == {i["EventItemMatterId"] for i in MATTER_ITEMS}
    assert len(matters) == 29
    for item in MATTER_ITEMS:
        row = matters[item["EventItemMatterId"]]
        assert (row["file"], row["title"], row["type"]) == (
            item["EventItemMatterFile"], item["EventItemTitle"].strip(),
            item["EventItemMatterType"])
    assert matters[2025]["title"] == "ORDINANCE NO. 29987" and matters[2025]["file"] == "17-069"
    assert not any(r["relevant"] for r in matters.values())  # 2017: no Flock
    files = {r["id"]: r for r in db.query("select * from released_documents")}
    assert len(files) == sum(len(i["Attachments"]) for i in MATTER_ITEMS) == 51
    assert {r["download_status"] for r in files.values()} == {"not_downloaded"}
    assert not any(r["relevant"] for r in files.values())
    sale = sorted((r["title"], r["url"], r["parent_title"]) for r in files.values()
                  if r["parent_id"] == "legistar:sanjose:2016")
    assert [t for t, _, _ in sale] == ["Agreement", "Memorandum", "Resolution"]
    assert all(u.startswith("https://legistar.granicus.com/sanjose/attachments/")
               for _, u, _ in sale)
    assert sale[0][2].startswith("Sale of a Portion of the Northeasterly Corner")
    fetched = [r["url"] for r in db["fetches"].rows]
    assert len(fetched) == 3 and all("/v1/sanjose/" in u for u in fetched)  # no file asked
    assert {r["doc_type"] for r in db["documents"].rows} == {"records_api"}
    assert db["council_votes"].count == 0
    votes = parse_api_response(served, LIVE + "EventItems/32035/Votes").votes
    assert len(votes) == 11 and {v.value for v in votes} == {"Yes"}
    asked = [unquote(p) for p in hits if p.startswith("/v1/sanjose/Matters?")]
    assert len(asked) == 1 and "substringof('flock',MatterTitle) or " in asked[0]  # decoded once
    assert any(p.startswith("/v1/sanjose/Events/1080/EventItems?") for p in hits)


# ---- a constructed Flock matter ----------------------------------------------------------------
CLIENT = "flockville"  # constructed client
NEWEST_MATTER = "2025-03-05T12:30:00.5"
EVENT_MODIFIED = "2025-03-06T08:00:00"
PDF_SHA = hashlib.sha256(POLICY.read_bytes()).hexdigest()


def constructed(obj: dict, why: str, **changes: object) -> dict:
    out = copy.deepcopy(obj)
    out.update(changes)
    out["_constructed"] = why
    return out


def flock_world(base: str) -> dict:
    """Matters, a meeting, its agenda, attachments and votes: real objects with new values."""
    matter_t = {k: (None if k.startswith(("MatterText", "MatterEXText")) else v)
                for k, v in sample_item("17-060")["Matter"].items()}
    att_t = sample_item("17-060")["Attachments"][0]
    item_t = sample_item("17-069")
    item_t = {k: v for k, v in item_t.items() if k.startswith("EventItem")}
    vote_t = sample_item("17-069")["Votes"][0]

    def matter(mid: int, file: str, title: str, modified: str) -> dict:
        return constructed(matter_t, "Flock scenario matter", MatterId=mid, MatterFile=file,
                           MatterTitle=title, MatterLastModifiedUtc=modified,
                           MatterGuid=f"00000000-0000-0000-0000-{mid:012d}",
                           MatterBodyName="Police Department",
                           MatterIntroDate="2025-02-20T00:00:00")

    def attachment(aid: int, name: str, path: str, shown: bool = True) -> dict:
        return constructed(att_t, "Flock scenario attachment", MatterAttachmentId=aid,
                           MatterAttachmentName=name, MatterAttachmentHyperlink=f"{base}{path}",
                           MatterAttachmentFileName=path.rsplit("/", 1)[-1],
                           MatterAttachmentShowOnInternetPage=shown)

    fillers = [matter(6000 + n, f"25-F{n:03d}", f"Lease of DMV field office space, site {n}",
                      "2025-01-01T00:00:00") for n in range(999)]
    flock = matter(5001, "25-101", "Agreement with Flock Safety for automated license plate "
                   "reader cameras", "2025-03-04T10:00:00")
    alpr = matter(5002, "25-102", "Amendment to the ALPR data retention policy", NEWEST_MATTER)
    other = matter(5003, "25-103", "Street resurfacing on First Street", "2025-02-01T00:00:00")
    # relevant by its attachment's name only: the search cannot find it, the agenda does
    cameras = matter(5004, "25-104", "Purchase of public safety cameras", "2025-02-02T00:00:00")
    flock_files = [attachment(9001, "Agreement", "/files/flock-agreement.pdf"),
                   attachment(9002, "Staff Report", "/files/staff-report.pdf"),
                   attachment(9003, "Camera Locations", "/files/camera-map.pdf"),
                   attachment(9004, "Pricing (not shown online)", "/files/pricing.pdf",
                              shown=False)]
    event = constructed({k: v for k, v in EVENT.items() if k != "items"}, "Flock scenario meeting",
                        EventId=700, EventDate="2025-03-11T00:00:00",
                        EventLastModifiedUtc=EVENT_MODIFIED, EventInSiteURL=None)
    items = [
        constructed(item_t, "agenda item about the Flock matter", EventItemId=8001,
                    EventItemEventId=700, EventItemMatterId=5001, EventItemMatterFile="25-101",
                    EventItemTitle=flock["MatterTitle"], EventItemActionName="Approved",
                    EventItemPassedFlagName="Pass", EventItemMatterGuid=flock["MatterGuid"],
                    EventItemMatterAttachments=flock_files),
        constructed(item_t, "procedural item", EventItemId=8002, EventItemEventId=700,
                    EventItemMatterId=None, EventItemMatterFile=None, EventItemTitle="Roll Call",
                    EventItemMatterAttachments=[]),
        constructed(item_t, "agenda item about another matter", EventItemId=8003,
                    EventItemEventId=700, EventItemMatterId=5003, EventItemMatterFile="25-103",
                    EventItemTitle=other["MatterTitle"], EventItemMatterAttachments=[
                        attachment(9020, "Memorandum", "/files/resurfacing.pdf")]),
        constructed(item_t, "agenda item whose attachment names Flock", EventItemId=8004,
                    EventItemEventId=700, EventItemMatterId=5004, EventItemMatterFile="25-104",
                    EventItemTitle=cameras["MatterTitle"], EventItemPassedFlagName=None,
                    EventItemActionName=None, EventItemMatterAttachments=[
                        attachment(9030, "Flock Safety quote", "/files/quote.pdf")]),
    ]
    votes = [constructed(vote_t, "vote on the Flock matter", VoteId=70 + n, VoteEventItemId=8001,
                         VotePersonName=name, VoteValueName=value)
             for n, (name, value) in enumerate([("Member A", "Aye"), ("Member B", "Nay"),
                                                ("Member C", "Aye")])]
    history = constructed({"MatterHistoryId": 8001, "MatterHistoryEventId": 700,
                           "MatterHistoryActionDate": "2025-03-11T18:00:00",
                           "MatterHistoryActionBodyName": "City Council"},
                          "history row in the documented shape")
    return {"matters": fillers + [flock, alpr], "flock": flock, "alpr": alpr, "event": event,
            "cameras": cameras,
            "items": items, "votes": votes, "history": history, "flock_files": flock_files,
            "alpr_files": [attachment(9010, "ALPR Policy", "/files/alpr-policy.pdf")]}


def serve_flock_world(api: ApiServer) -> dict:
    world = flock_world(api.url)
    v1 = f"/v1/{CLIENT}"

    def matters(hit: Hit) -> Answer:  # the search: filter applied, 1000 rows a page
        rows = filter_rows(hit.query["$filter"][0], world["matters"])
        skip, top = int(hit.query["$skip"][0]), int(hit.query["$top"][0])
        return Answer(200, rows[skip:skip + top])

    def events(hit: Hit) -> Answer:
        return Answer(200, filter_rows(hit.query["$filter"][0], [world["event"]]))

    api.add("GET", f"{v1}/Matters", matters)
    api.add("GET", f"{v1}/Events", events)
    api.add("GET", f"{v1}/Events/700/EventItems", Answer(200, world["items"]))
    api.add("GET", f"{v1}/Matters/5001", Answer(200, world["flock"]))
    api.add("GET", f"{v1}/Matters/5001/Attachments", Answer(200, world["flock_files"]))
    api.add("GET", f"{v1}/Matters/5001/Histories", Answer(200, [world["history"]]))
    api.add("GET", f"{v1}/Matters/5002/Attachments", Answer(200, world["alpr_files"]))
    api.add("GET", f"{v1}/Matters/5002/Histories", Answer(200, []))
    api.add("GET", f"{v1}/Matters/5004", Answer(200, world["cameras"]))
    api.add("GET", f"{v1}/EventItems/8004/Votes", Answer(200, []))
    api.add("GET", f"{v1}/EventItems/8001/Votes",  # throttled once, then the votes
            [Answer(429, {"Message": "constructed throttle"}, {"Retry-After": "0"}),
             Answer(200, world["votes"])])
    api.add("GET", r"/v1/nosuchcity/.*", Answer(500, {
        "Message": "LegistarConnectionString setting is not set up in InSite for client: "
                   "nosuchcity"}))
    api.add("GET", r"/v1/tokencity/.*", Answer(403, {"Message": "constructed: token required"}))
    api.add("GET", r"/v1/badfilter/Matters", Answer(400, {
        "Message": "constructed: The query specified in the URI is not valid."}))
    api.add("GET", r"/v1/badfilter/Events", Answer(200, []))
    pdf = Answer(200, POLICY.read_bytes(), {"Content-Type": "application/pdf"})
    api.add("GET", "/files/flock-agreement.pdf", pdf)
    api.add("GET", "/files/alpr-policy.pdf", pdf)
    api.add("GET", "/files/quote.pdf", pdf)
    api.add("GET", "/files/staff-report.pdf", Answer(404, "<html>Not Found</html>"))
    api.add("GET", "/files/camera-map.pdf", Answer(403, "<html>Forbidden</html>"))
    for path in ("/files/pricing.pdf", "/files/resurfacing.pdf"):
        api.add("GET", path, pdf)  # never asked: not shown online / not relevant
    return world


def crawl(api: ApiServer, db_path: Path):
    return run_cli("crawl", "legistar", CLIENT, "nosuchcity", "tokencity", "badfilter",
                   "--base-url",
                   f"{api.url}/v1/", "--token", "constructed-token", "--log-level", "WARNING",
                   db=db_path)


def test_flock_matter_files_votes_paging_errors_and_incremental_rerun(tmp_path):
    db_path = tmp_path / "flock.db"
    with ApiServer() as api:
        serve_flock_world(api)
        out = crawl(api, db_path)
        assert out.returncode == 0, out.stderr[-3000:]
        first_hits = list(api.hits)
        out2 = crawl(api, db_path)
        assert out2.returncode == 0, out2.stderr[-3000:]
        second_hits = api.hits[len(first_hits):]
    db = open_db(str(db_path))
    runs = list(db.query("select * from runs order by id"))
    assert [r["status"] for r in runs] == ["finished", "finished"]
    details = json.loads(runs[0]["details"])
    assert (details["client_errors"], details["needs_token"], details["bad_requests"],
            details["clients"]) == (1, 1, 1, 2)

    # paging: a full page of 1000 rows, then $skip=1000 (1 row), and no third page
    searches = [h for h in first_hits if h.path == f"/v1/{CLIENT}/Matters"]
    assert [h.query["$skip"][0] for h in searches] == ["0", "1000"]
    search = searches[0].query["$filter"][0]  # decoded once by the server
    assert "substringof('flock',MatterTitle)" in search and "%" not in search
    assert "MatterLastModifiedUtc" not in search  # first run: matters of any date
    two_years = (date.today() - timedelta(days=730)).isoformat()
    events = [h for h in first_hits if h.path == f"/v1/{CLIENT}/Events"]
    assert events[0].query["$filter"][0] == f"EventLastModifiedUtc ge datetime'{two_years}'"
    # the token is sent with every API request, and stored nowhere
    assert all(h.query.get("token") == ["constructed-token"] for h in first_hits
               if h.path.startswith("/v1/"))
    assert not any("constructed-token" in r["url"] + r["fetched_from"] for r in db["fetches"].rows)
    # wrong client: one 500, archived, no more requests for it; token client: one 403
    assert [h.path for h in first_hits if "nosuchcity" in h.path] == ["/v1/nosuchcity/Matters"]
    assert [h.path for h in first_hits if "tokencity" in h.path] == ["/v1/tokencity/Matters"]
    statuses = {r["url"].split("/v1/")[1].split("?")[0]: r["http_status"]
                for r in db["fetches"].rows if "/v1/" in r["url"]}
    assert statuses["nosuchcity/Matters"] == 500 and statuses["tokencity/Matters"] == 403
    # a 400 on the search is recorded with its message, and the meetings are still asked
    assert statuses["badfilter/Matters"] == 400 and statuses["badfilter/Events"] == 200
    bad = next(db.query("select d.parse_status, d.parse_warnings from documents d join fetches f "
                        "on f.sha256 = d.sha256 where f.url like '%/badfilter/Matters%'"))
    assert "not valid" in bad["parse_warnings"]

    matters = {r["matter_id"]: r for r in db["council_matters"].rows}
    assert len(matters) == 999 + 4  # both search pages and the agenda's other matters
    flock = matters[5001]
    assert flock["relevant"] == 1 and flock["file"] == "25-101"
    assert set(json.loads(flock["matched_terms"])) >= {"flock", "license plate reader"}
    assert (flock["body"], flock["intro_date"]) == ("Police Department", "2025-02-20")
    assert matters[5002]["relevant"] == 1 and matters[5003]["relevant"] == 0
    assert matters[6000]["relevant"] == 0  # "DMV field office": found by the search only
    cameras = matters[5004]  # relevant by its attachment, details asked with that context
    assert (cameras["relevant"], json.loads(cameras["matched_terms"])) == (1, ["flock"])
    assert (cameras["body"], cameras["last_modified"]) == ("Police Department",
                                                         "2025-02-02T00:00:00")
    assert [h.path for h in first_hits if h.path.startswith(f"/v1/{CLIENT}/Matters/500")
            and h.path.count("/") == 4] == [f"/v1/{CLIENT}/Matters/5004"]  # 5001/2: searched

    files = {r["id"].rsplit(":", 1)[1]: r for r in db.query("select * from released_documents")}
    assert files["9001"]["download_status"] == "downloaded" and files["9001"]["sha256"] == PDF_SHA
    assert files["9010"]["download_status"] == "downloaded"
    assert files["9030"]["download_status"] == "downloaded"
    assert files["9002"]["download_status"] == "missing"
    assert files["9003"]["download_status"] == "not_public"
    assert (files["9004"]["download_status"], files["9004"]["access"]) == (
        "not_downloaded", "private")
    assert (files["9020"]["download_status"], files["9020"]["relevant"]) == ("not_downloaded", 0)
    assert files["9001"]["parent_title"].startswith("Agreement with Flock Safety")
    assert {files[k]["relevant"] for k in ("9001", "9002", "9003", "9004", "9010")} == {1}

    votes = list(db.query("select * from council_votes order by person"))
    assert [(v["person"], v["value"]) for v in votes] == [
        ("Member A", "Aye"), ("Member B", "Nay"), ("Member C", "Aye")]
    assert {(v["matter_key"], v["event_id"], v["event_date"], v["body"], v["action"],
             v["passed"]) for v in votes} == {
        (f"legistar:{CLIENT}:5001", 700, "2025-03-11", "City Council", "Approved", "Pass")}
    assert len([h for h in first_hits if h.path.endswith("/8001/Votes")]) == 2  # 429, retried
    api_docs = db.execute("select distinct d.doc_type from documents d join fetches f on "
                          "f.sha256 = d.sha256 where f.url like '%/v1/%' "
                          "and f.http_status = 200").fetchall()
    assert api_docs == [("records_api",)]
    state = {r["key"]: r["value"] for r in db["crawl_state"].rows if r["scope"] == CLIENT}
    assert state["events_since"] == EVENT_MODIFIED
    assert next(v for k, v in state.items() if k.startswith("matters_since")) == NEWEST_MATTER
    assert {(r["scope"], r["key"]) for r in db["crawl_state"].rows if r["scope"] != CLIENT} \
        == {("badfilter", "events_since")}  # no cursor for clients that did not answer

    # the re-run: remembered dates in the filters, no file again, no new document
    assert runs[1]["documents"] == 0
    assert not [h for h in second_hits if h.path.startswith("/files/")]
    assert len([h for h in first_hits if h.path.startswith("/files/")]) == 5
    assert not [h for h in second_hits if h.path == f"/v1/{CLIENT}/Matters/5004"]
    search2 = [h for h in second_hits if h.path == f"/v1/{CLIENT}/Matters"]
    assert [h.query["$skip"][0] for h in search2] == ["0"]
    assert search2[0].query["$filter"][0].endswith(
        f"and MatterLastModifiedUtc ge datetime'{NEWEST_MATTER}'")
    events2 = [h for h in second_hits if h.path == f"/v1/{CLIENT}/Events"]
    assert events2[0].query["$filter"][0] == f"EventLastModifiedUtc ge datetime'{EVENT_MODIFIED}'"
    details2 = json.loads(runs[1]["details"])
    assert details2["skipped_archived"] >= 3 and details2["skipped_failed_before"] == 2
    assert Counter(r["url"] for r in db["fetches"].rows if "/files/" in r["url"]) == Counter({
        f"{api.url}/files/{n}": 1 for n in ("flock-agreement.pdf", "alpr-policy.pdf",
                                            "quote.pdf", "staff-report.pdf", "camera-map.pdf")})
