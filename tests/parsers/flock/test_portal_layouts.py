"""The 2026 portal layouts on real pages, and sharing history across the layout changes.

Real pages: the nine transitional captures of 29-30 April 2026 (flock/portals_transitional/,
byte-exact) and the two complete new-layout pages (flock/portals_new/<slug>/, REBUILT copies:
their structure was checked, counts, names and numbers may be asserted, see SOURCES.md there).
Every value asserted here was read in the page itself: numbers and labels with grep on the raw
HTML, organisation cells by counting ``data-tp-full-value`` attributes, audit rows by decoding
the ``data:`` link with ``urllib.parse.unquote`` by hand; the history facts by comparing the
last classic capture with the transitional one (grep for each name that differs).
Pages changed by a test are marked CONSTRUCTED where they are changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS, PORTALS, fetched_from_file, run_cli
from independent_portal import read_page

from alpr_inventory.demo.replay import ReplayCorpus, ReplayServer
from alpr_inventory.load.ingest import INGEST_VERSION, interpret
from alpr_inventory.store.schema import open_db
from parsers.flock.portal import (
    LAYOUTS,
    PARSER_VERSION,
    SPLITS_FILE,
    known_splits,
    parse_portal,
    rejoin_split_names,
)
from parsers.model import PortalPage

TRANSITIONAL = CORPUS / "flock" / "portals_transitional"
NEW = CORPUS / "flock" / "portals_new"
BERKELEY = "University of California, Berkeley"
BERKELEY_PD = "University of California, Berkeley PD"

# (slug, date, layout): every complete 2026 page of the corpus
PAGES_2026 = [
    ("buckeye-az-pd", "2026-04-29", "transitional"),
    ("citrus-heights-ca-pd", "2026-04-30", "transitional"),
    ("city-of-lemoore-ca", "2026-04-30", "transitional"),
    ("rio-vista-ca-pd", "2026-04-30", "transitional"),
    ("san-francisco-ca-pd", "2026-04-30", "transitional"),
    ("santa-paula-ca-pd", "2026-04-29", "transitional"),
    ("santa-rosa-ca-pd", "2026-04-30", "transitional"),
    ("seaside-ca-pd", "2026-04-30", "transitional"),
    ("sequoias-community-college-district-ca-pd", "2026-04-30", "transitional"),
    ("-el-cajon-pd-ca", "2026-09-13", "new"),
    ("santa-clara-ca-pd", "2026-08-03", "new"),
]
# the seven agencies with classic captures a week before their transitional one:
# (slug, last classic capture, transitional capture, organisations on each)
CROSSING = [
    ("citrus-heights-ca-pd", "2026-04-23", "2026-04-30", 353, 353),
    ("city-of-lemoore-ca", "2026-04-23", "2026-04-30", 282, 283),
    ("rio-vista-ca-pd", "2026-04-23", "2026-04-30", 358, 358),
    ("santa-paula-ca-pd", "2026-04-22", "2026-04-29", 55, 55),
    ("santa-rosa-ca-pd", "2026-04-23", "2026-04-30", 315, 315),
    ("seaside-ca-pd", "2026-04-23", "2026-04-30", 350, 350),
    ("sequoias-community-college-district-ca-pd", "2026-04-23", "2026-04-30", 318, 318),
]


def page_path(slug: str, day: str) -> Path:
    for folder in (TRANSITIONAL, NEW, PORTALS):
        path = folder / slug / f"{day}.html"
        if path.is_file():
            return path
    raise AssertionError(f"no capture {slug}/{day}")


def parsed(slug: str, day: str) -> PortalPage:
    return parse_portal(page_path(slug, day).read_bytes())


def as_cells(page: PortalPage, names: list[str]) -> list[str]:
    """The names with every re-joined name expanded back into the cells it was read from."""
    joined = {r["name"]: r["cells"] for r in page.name_repairs}
    return [cell for n in names for cell in joined.get(n, [n])]


# ---- every real 2026 page ---------------------------------------------------------------------
@pytest.mark.parametrize(("slug", "day", "layout"), PAGES_2026)
def test_every_2026_page_is_read_whole(slug: str, day: str, layout: str) -> None:
    body = page_path(slug, day).read_bytes()
    interp = interpret(body)
    page = interp.page
    assert page is not None and interp.parse_status == "ok", interp.warnings
    assert page.layout == layout and page.status == "ok"
    assert page.warnings == [] and page.unknown_labels == []
    # self-check: every organisation cell on the page is behind a name read
    cells = read_page(body)["cells"]
    check = page.self_check
    assert check["organisation_cells"] == len(cells)
    assert check["names"] + check["cells_rejoined"] == len(cells)
    assert check["names"] == len(page.sharing_outbound) + len(page.sharing_inbound)
    assert check["metrics_not_numbers"] == []


@pytest.mark.parametrize(("slug", "day", "layout"), PAGES_2026)
def test_2026_pages_agree_with_an_independent_reading(slug: str, day: str, layout: str) -> None:
    """Field by field against tests/independent_portal.py (html.parser, not lxml; Flock's
    subtitles as anchors, not the layout descriptions): numbers, lists, audit rows."""
    body = page_path(slug, day).read_bytes()
    page = parse_portal(body)
    other = read_page(body)
    for field in ("retention_days", "cameras", "vehicles_30d", "hotlist_hits_30d",
                  "searches_30d"):
        assert getattr(page, field) == other.get(field), field
    assert page.hotlists == other.get("hotlists", [])
    assert as_cells(page, page.sharing_outbound + page.sharing_inbound) == other["cells"]
    rows = [(r.search_id, r.searched_at, r.network_count, r.reason or r.offense_type)
            for r in page.search_audit]
    assert rows == other.get("audit", [])


def test_transitional_layout_in_detail() -> None:
    # santa-paula-ca-pd 2026-04-29: h1 "Santa Paula CA PD<br>Transparency Portal"; usage cards
    # each with a grey subtitle; 55 cells from "Alhambra CA PD" to "Whittier CA PD"
    page = parsed("santa-paula-ca-pd", "2026-04-29")
    assert (page.agency_name, page.last_updated) == ("Santa Paula CA PD",
                                                     "2026-04-29T11:19:47.653Z")
    assert (page.retention_days, page.cameras, page.vehicles_30d, page.hotlist_hits_30d,
            page.searches_30d) == (30, 12, 112475, 295, 24)
    assert page.hotlists == ["California SVS", "NCMEC Amber Alert"]
    assert page.sharing_outbound_label == "Organizations granted access to Santa Paula CA PD data"
    assert len(page.sharing_outbound) == 55
    assert page.sharing_outbound[:2] == ["Alhambra CA PD", "Arcadia CA PD"]
    assert page.sharing_outbound[-1] == "Whittier CA PD"
    card = next(c for c in page.cards if c.key == "vehicles_30d")
    assert (card.label, card.subtitle) == ("Unique vehicles detected in the last 30 days",
                                           "Number of unique plate reads over the last 30 days.")
    assert page.additional_info[0]["label"] == "ALPR Policy"
    assert page.additional_info[0]["links"][0]["href"].startswith("https://www.spcity.org/")
    assert not page.search_audit_present

    # santa-rosa-ca-pd: "University of California" + "Berkeley" are two adjacent cells
    page = parsed("santa-rosa-ca-pd", "2026-04-30")
    assert BERKELEY in page.sharing_outbound
    assert "Berkeley" not in page.sharing_outbound
    assert "University of California" not in page.sharing_outbound
    assert "Berkeley CA PD" in page.sharing_outbound  # the city's police, a cell of its own
    assert page.name_repairs == [{"cells": ["University of California", "Berkeley"],
                                  "name": BERKELEY,
                                  "rule": "data/portal_name_splits.csv:2"}]
    assert "Burlingame  CA PD" in page.sharing_outbound  # two spaces, as published
    assert "California Department of Fish & Wildlife (CA)" in page.sharing_outbound  # &amp;


def test_transitional_label_variants_and_a_page_without_a_list() -> None:
    # buckeye-az-pd: no sharing card at all; "Data retention-30 days" (the value in the label);
    # "Number of Owned LPR Cameras" = 59 among the policies, without subtitle
    page = parsed("buckeye-az-pd", "2026-04-29")
    assert page.sharing_outbound == [] and page.sharing_outbound_label is None
    assert page.self_check["organisation_cells"] == 0
    assert page.retention_days == 30 and page.retention_periods == {"Data retention-30 days": 30}
    assert page.camera_counts == {"Number of Owned LPR Cameras": 59} and page.cameras == 59
    assert (page.searches_30d, page.vehicles_30d, page.hotlist_hits_30d) == (350, None, None)
    assert page.hotlists == ["NCIC", "NCMEC Amber Alert"]

    # citrus-heights-ca-pd: the card is titled "Sharing Network Data With", its subtitle
    # "Organizations granted access to Citrus Heights CA PD data."; "Total Cameras" 142
    page = parsed("citrus-heights-ca-pd", "2026-04-30")
    assert page.sharing_outbound_label == "Sharing Network Data With"
    assert len(page.sharing_outbound) == 353 and page.cameras == 142
    assert (page.hotlist_hits_30d, page.searches_30d) == (19327, 547)  # "Number of ..." labels

    # rio-vista-ca-pd: the agency wrote a paragraph into the card title
    page = parsed("rio-vista-ca-pd", "2026-04-30")
    assert page.sharing_outbound_label.startswith(
        "External Organizations with Access. The City of Rio Vista will not sell, share")
    assert len(page.sharing_outbound) == 358

    # san-francisco-ca-pd: retention 365 days, 507 cameras, no usage metrics after the list
    page = parsed("san-francisco-ca-pd", "2026-04-30")
    assert (page.retention_days, page.cameras, page.searches_30d) == (365, 507, None)
    assert len(page.sharing_outbound) == 321 and "hotlist_policy" not in page.policies


def test_transitional_audit_links() -> None:
    # city-of-lemoore-ca: 103 rows (= "Searches in the last 30 days" 103), first
    # c5800b99-... 2026-03-30T04:08:00.745Z networkCount 1, empty reason; last b75e6321-...
    page = parsed("city-of-lemoore-ca", "2026-04-30")
    assert page.search_audit_filename == "public_search_audit.csv"
    assert page.search_audit_columns == ["id", "userId", "searchDate", "networkCount", "reason"]
    assert len(page.search_audit) == 103 == page.searches_30d
    first, last = page.search_audit[0], page.search_audit[-1]
    assert (first.search_id, first.user_id, first.searched_at, first.network_count,
            first.reason) == ("c5800b99-d7b0-41d2-9bc9-28d402258dcb", "***",
                              "2026-03-30T04:08:00.745Z", 1, None)
    assert last.search_id == "b75e6321-7d17-402f-a12d-5946c16a6787"
    # rio-vista-ca-pd: 20 rows, the last with reason "MP"
    page = parsed("rio-vista-ca-pd", "2026-04-30")
    assert len(page.search_audit) == 20 and page.search_audit[-1].reason == "MP"


def test_new_layout_pages_keep_berkeley_whole() -> None:
    # REBUILT copies (SOURCES.md). The renderer shows "University of California" and
    # "Berkeley PD" as two adjacent cells; the organisation is one.
    for slug, day, names in (("-el-cajon-pd-ca", "2026-09-13", 658),
                             ("santa-clara-ca-pd", "2026-08-03", 351)):
        page = parsed(slug, day)
        out = page.sharing_outbound
        assert len(out) == names
        assert out.count(BERKELEY_PD) == 1
        assert "Berkeley PD" not in out and "University of California" not in out
    assert "Berkeley CA PD" in parsed("santa-clara-ca-pd", "2026-08-03").sharing_outbound
    el_cajon = parsed("-el-cajon-pd-ca", "2026-09-13")
    assert el_cajon.agency_name == "El Cajon CA PD"
    assert "Flagstaff AZ PD [Inactive]" in el_cajon.sharing_outbound  # kept as published
    assert [i["label"] for i in el_cajon.additional_info] == ["Success Story"] * 5
    clara = parsed("santa-clara-ca-pd", "2026-08-03")
    assert "Burlingame  CA PD" in clara.sharing_outbound
    # the audit without a userId column, offenseType instead of reason: 1,257 rows
    assert clara.search_audit_columns == ["id", "searchDate", "networkCount", "offenseType"]
    assert len(clara.search_audit) == 1257 == clara.searches_30d
    first = clara.search_audit[0]
    assert (first.search_id, first.user_id, first.searched_at, first.network_count,
            first.offense_type) == ("2a3071f6-1784-4e5c-a6e6-2f13b83fd1e0", None,
                                    "2026-07-03T00:51:07.777Z", 695,
                                    "Destruction/Damage/Vandalism of Property")


# ---- the self-check -----------------------------------------------------------------------------
def santa_paula() -> str:
    return page_path("santa-paula-ca-pd", "2026-04-29").read_text(encoding="utf-8")


def test_cells_under_an_unknown_card_make_the_page_partial() -> None:
    # CONSTRUCTED from the real page: the sharing card's title and subtitle renamed
    html = (santa_paula()
            .replace(">Organizations granted access to Santa Paula CA PD data<", ">Partners<")
            .replace(">Organizations granted access to Santa Paula CA PD data.<",
                     ">Our partners.<"))
    page = parse_portal(html)
    assert page.status == "partial" and page.sharing_outbound == []
    assert page.unknown_labels == ["Partners"]
    assert ("self-check: the page holds 55 organisation cells but 0 names were read (0 cells "
            "re-joined into longer names): 55 under the unrecognised card 'Partners'"
            in page.warnings)
    interp = interpret(html.encode())
    assert interp.parse_status == "partial"
    assert interp.parse_error.startswith("self-check: the page holds 55")


def test_a_metric_that_is_not_a_number_makes_the_page_partial() -> None:
    # CONSTRUCTED from the real page: "24" searches replaced by "Data Unavailable"
    html = santa_paula()
    marker = "Total user search sessions over the last 30 days."
    at = html.index(marker)
    tail = html[at:].replace(">24<", ">Data Unavailable<", 1)
    page = parse_portal(html[:at] + tail)
    assert page.status == "partial" and page.searches_30d is None
    assert page.metrics_raw["searches_30d"] == "Data Unavailable"
    assert page.self_check["metrics_not_numbers"] == [
        "'Searches in the last 30 days' = 'Data Unavailable'"]
    assert len(page.sharing_outbound) == 55  # what was read is kept


def test_classic_pages_with_an_unavailable_metric_are_partial() -> None:
    # foothilldeanza-ca-pd 2026-04-15: "Hotlist hits in the last 30 days" = "Data Unavailable"
    page = parse_portal((PORTALS / "foothilldeanza-ca-pd" / "2026-04-15.html").read_bytes())
    assert page.status == "partial" and page.hotlist_hits_30d is None
    bell = parse_portal((PORTALS / "bell-ca-pd" / "2026-04-11.html").read_bytes())
    assert bell.status == "ok"
    assert bell.self_check == {"organisation_cells": 363, "names": 363, "cells_rejoined": 0,
                               "metrics_not_numbers": []}


# ---- names split by the renderer --------------------------------------------------------------
def test_known_splits_come_from_the_data_file() -> None:
    splits = known_splits()
    assert splits[("University of California", "Berkeley")] == (BERKELEY, 2)
    assert splits[("University of California", "Berkeley PD")] == (BERKELEY_PD, 3)
    assert SPLITS_FILE.name == "portal_name_splits.csv"
    # CONSTRUCTED cell lists: the three other comma names of the classic corpus, split as the
    # renderer splits Berkeley; pieces compared with whitespace collapsed, kept as published
    names, repairs, warnings = rejoin_split_names([
        "Bakersfield CA PD", "CA - Topgolf USA El Segundo", "LLC", "Westfield Park Recreation"
        " and  Parkways", "District #12 (CA)", "Extended Stay America (ESA) Management", "LLC"])
    assert names == ["Bakersfield CA PD", "CA - Topgolf USA El Segundo, LLC",
                     "Westfield Park Recreation and Parkways, District #12 (CA)",
                     "Extended Stay America (ESA) Management, LLC"]
    assert [r["cells"] for r in repairs][1] == ["Westfield Park Recreation and  Parkways",
                                                "District #12 (CA)"]
    assert warnings == []
    # CONSTRUCTED: a legal form alone ends the name before it even when the name is not in the
    # data file (the classic comma rule does the same)
    names, repairs, warnings = rejoin_split_names(["Acme Towing XX", "Inc.", "Zeta XX PD"])
    assert names == ["Acme Towing XX, Inc.", "Zeta XX PD"] and warnings == []
    assert repairs == [{"cells": ["Acme Towing XX", "Inc."], "name": "Acme Towing XX, Inc.",
                        "rule": "a legal form alone continues the name before it"}]


def test_a_cell_that_looks_like_half_a_name_is_kept_and_warned_about() -> None:
    # CONSTRUCTED from the real page: the "Berkeley" cell renamed "Oakland" (not a known split)
    html = (page_path("santa-rosa-ca-pd", "2026-04-30").read_text(encoding="utf-8")
            .replace('data-tp-full-value="Berkeley"', 'data-tp-full-value="Oakland"'))
    page = parse_portal(html)
    assert "University of California" in page.sharing_outbound
    assert "Oakland" in page.sharing_outbound
    assert page.status == "ok"  # every cell is a name: nothing is lost, a person should look
    assert any(w.startswith("cells 'University of California' and 'Oakland' look like one "
                            "name split at a comma") for w in page.warnings)


def test_inbound_table_and_markup_variants() -> None:
    # CONSTRUCTED from the real page: the sharing card relabelled as an inbound list, entities
    # and a non-breaking space in the markup, one name with spaces at its ends
    html = (santa_paula()
            .replace(">Organizations granted access to Santa Paula CA PD data<",
                     ">Organizations sharing their data with Santa Paula CA PD<")
            .replace(">Organizations granted access to Santa Paula CA PD data.<",
                     ">Organizations sharing their data with Santa Paula CA PD.<")
            .replace(">Hotlists Alerted On<", ">Hotlists&nbsp;Alerted On<")
            .replace(">What's Detected<", ">What&#39;s Detected<")
            .replace('data-tp-full-value="Azusa CA PD"', 'data-tp-full-value=" Azusa&#32;CA PD "'))
    page = parse_portal(html)
    assert page.sharing_outbound == [] and len(page.sharing_inbound) == 55
    assert page.sharing_inbound_label == "Organizations sharing their data with Santa Paula CA PD"
    assert "Azusa CA PD" in page.sharing_inbound
    assert page.sharing_inbound_raw[page.sharing_inbound.index("Azusa CA PD")] == " Azusa CA PD "
    assert page.hotlists == ["California SVS", "NCMEC Amber Alert"]
    assert page.detected == "License Plates, Vehicles"
    assert page.status == "ok" and page.unknown_labels == []


def test_layouts_are_data() -> None:
    assert set(LAYOUTS) == {"classic", "intermediate", "transitional", "new"}
    new = LAYOUTS["new"]
    assert new.key_attr == "data-tp-entry-type" and new.keys["orgsWithAccess"] == "sharing"
    assert LAYOUTS["classic"].cells is None and LAYOUTS["transitional"].uses_subtitles


# ---- history across the layout change ---------------------------------------------------------
def load_all(store, slugs: list[str]) -> None:
    for slug in slugs:
        for folder in (PORTALS, TRANSITIONAL, NEW):
            for path in sorted((folder / slug).glob("*.html")):
                store.ingest(fetched_from_file(path))
    store.finish()


def test_sharing_history_continues_across_the_layout_change(store) -> None:
    load_all(store, [c[0] for c in CROSSING])
    db = store.db
    for slug, before, after, n_before, n_after in CROSSING:
        owner = db.execute("select id from agencies where flock_slug = ?", [slug]).fetchone()[0]
        counts = dict(db.execute(
            "select substr(captured_at, 1, 10), outbound_count from portal_snapshots "
            "where agency_id = ?", [owner]).fetchall())
        assert (counts[before], counts[after]) == (n_before, n_after), slug
        layouts = {r[0] for r in db.execute(
            "select layout from portal_snapshots where agency_id = ? and captured_at >= ?",
            [owner, after])}
        assert layouts == {"transitional"}
        # the only change of any list across the change of layout
        changes = db.execute(
            "select kind, raw_name from changes where agency_id = ? and before_captured_at "
            "like ? || '%' and after_captured_at like ? || '%' and kind like '%grantee%'",
            [owner, before, after]).fetchall()
        expected = [("grantee_added", "Ontario CA PD")] if slug == "city-of-lemoore-ca" else []
        assert changes == expected, slug
        # every interval open on the last classic capture is still open after the change
        broken = db.execute(
            "select raw_name from sharing where list_agency_id = ? and last_seen like ? || '%'",
            [owner, before]).fetchall()
        assert broken == [], slug
        # Berkeley: read from a comma string before, from two cells after; one interval
        if slug != "santa-paula-ca-pd":
            (row,) = list(db.query("select * from sharing where list_agency_id = ? and "
                                   "raw_name = ?", [owner, BERKELEY]))
            assert row["current"] == 1 and row["last_seen"].startswith(after)
            assert row["first_seen"] < before
        assert not db.execute("select 1 from sharing where list_agency_id = ? and raw_name in "
                              "('Berkeley', 'University of California')", [owner]).fetchall()


def test_el_cajon_from_classic_to_the_new_layout(store) -> None:
    # classic 2026-04-29 lists "University of California, Berkeley" (683 names); the new page
    # of 2026-09-13 lists "University of California, Berkeley PD" (cells "University of
    # California" + "Berkeley PD") among 658: a name that really differs.
    load_all(store, ["-el-cajon-pd-ca"])
    db = store.db
    owner = db.execute("select id from agencies where flock_slug = '-el-cajon-pd-ca'").fetchone()[0]
    old = next(db.query("select * from sharing where list_agency_id = ? and raw_name = ?",
                        [owner, BERKELEY]))
    assert (old["last_seen"][:10], old["gone_by"][:10]) == ("2026-04-29", "2026-09-13")
    new = next(db.query("select * from sharing where list_agency_id = ? and raw_name = ?",
                        [owner, BERKELEY_PD]))
    assert (new["first_seen"][:10], new["current"]) == ("2026-09-13", 1)
    assert not db.execute("select 1 from sharing where raw_name = 'Berkeley PD'").fetchall()
    # names on both pages keep one interval from April to September
    (burbank,) = list(db.query("select * from sharing where list_agency_id = ? and raw_name = "
                               "'Burbank CA PD'", [owner]))
    assert (burbank["first_seen"][:10], burbank["last_seen"][:10]) == ("2026-04-15",
                                                                       "2026-09-13")
    layouts = [r[0] for r in db.execute("select layout from portal_snapshots where agency_id = ? "
                                        "order by captured_at", [owner])]
    assert layouts == ["classic", "classic", "classic", "new"]
    # real changes over those four and a half months (grep of both pages): "Bishop CA PD",
    # "Fargo ND PD" and "Burlingame  CA PD" are gone, "San Leandro CA PD" and "Santa Clara
    # County CA SO" are new
    changes = {(r[0], r[1]) for r in db.execute(
        "select kind, raw_name from changes where agency_id = ? and after_captured_at like "
        "'2026-09-13%'", [owner])}
    assert {("grantee_removed", "Bishop CA PD"), ("grantee_removed", "Fargo ND PD"),
            ("grantee_removed", "Burlingame  CA PD"), ("grantee_added", "San Leandro CA PD"),
            ("grantee_added", "Santa Clara County CA SO"), ("grantee_removed", BERKELEY),
            ("grantee_added", BERKELEY_PD)} <= changes


def test_documents_name_the_parser_version(store) -> None:
    load_all(store, ["buckeye-az-pd"])
    (doc,) = list(store.db.query("select layout, parse_status, parser_version, ingest_version "
                                 "from documents"))
    # the parser that really read it, and apart from it the version of the whole reading
    assert doc == {"layout": "transitional", "parse_status": "ok",
                   "parser_version": PARSER_VERSION, "ingest_version": INGEST_VERSION}
    assert PARSER_VERSION == "flock_portal/2"


# ---- the replay serves every layout as one timeline -------------------------------------------
@pytest.fixture
def layouts_root(tmp_path: Path) -> Path:
    """Links (nothing copied) to classic, transitional and new captures of three agencies."""
    root = tmp_path / "replay"
    for folder, slugs in (("portals", ["city-of-lemoore-ca", "-el-cajon-pd-ca"]),
                          ("portals_transitional", ["city-of-lemoore-ca"]),
                          ("portals_new", ["-el-cajon-pd-ca", "santa-clara-ca-pd"])):
        (root / folder).mkdir(parents=True)
        for slug in slugs:
            (root / folder / slug).symlink_to(CORPUS / "flock" / folder / slug,
                                              target_is_directory=True)
    return root


def test_replay_merges_the_layout_folders(layouts_root: Path) -> None:
    corpus = ReplayCorpus.from_dir(layouts_root)
    assert list(corpus.captures["city-of-lemoore-ca"]) == [
        "2026-04-02", "2026-04-09", "2026-04-16", "2026-04-23", "2026-04-30"]
    assert list(corpus.captures["-el-cajon-pd-ca"]) == [
        "2026-04-15", "2026-04-22", "2026-04-29", "2026-09-13"]
    assert list(corpus.captures["santa-clara-ca-pd"]) == ["2026-08-03"]
    import urllib.request

    with ReplayServer(corpus) as server:
        with urllib.request.urlopen(server.base_url + "city-of-lemoore-ca") as response:
            assert response.url.endswith("/city-of-lemoore-ca/2026-04-30")
            assert response.headers["Memento-Datetime"] == "Thu, 30 Apr 2026 00:00:00 GMT"
            assert response.headers["Link"].count('rel="memento"') == 5


def test_crawl_of_the_replay_shows_the_history(layouts_root: Path, tmp_path: Path) -> None:
    corpus = ReplayCorpus.from_dir(layouts_root)
    db_path = tmp_path / "crawl.db"
    with ReplayServer(corpus) as server:
        result = run_cli("crawl", "flock-portals", "--base-url", server.base_url,
                         "--log-level", "WARNING", "--discover-depth", "0", "--",
                         "city-of-lemoore-ca", "-el-cajon-pd-ca", "santa-clara-ca-pd",
                         db=db_path)
    assert result.returncode == 0, result.stderr[-3000:]
    db = open_db(str(db_path))
    layouts = {(r["agency_id"], r["captured_at"][:10]): r["layout"]
               for r in db["portal_snapshots"].rows}
    assert len(layouts) == 10
    assert layouts[("lemoore-ca", "2026-04-30")] == "transitional"
    assert layouts[("el-cajon-ca-pd", "2026-09-13")] == "new"
    assert db.execute("select captured_at_basis from fetches where url like '%santa-clara%'"
                      ).fetchone()[0] == "memento"
    added = db.execute("select raw_name, after_captured_at from changes where agency_id = "
                       "'lemoore-ca' and kind = 'grantee_added' and after_captured_at like "
                       "'2026-04-30%'").fetchall()
    assert added == [("Ontario CA PD", "2026-04-30T00:00:00Z")]
    statuses = {r[0] for r in db.execute("select parse_status from documents")}
    assert statuses == {"ok"}
    out = json.loads(run_cli("parse", str(page_path("city-of-lemoore-ca", "2026-04-30")),
                             "--json", db=tmp_path / "unused.db").stdout)
    assert out["layout"] == "transitional" and len(out["sharing_outbound"]) == 283


def test_a_spacing_difference_does_not_break_an_interval(store) -> None:
    # CONSTRUCTED lists (the corpus's own spelling never changes: "Burlingame  CA PD" has two
    # spaces in every capture): a name published with one space, then two, is one interval
    owner = store.ensure_agency("Example XX PD", "0" * 64)
    for day, name in (("2026-05-01", "Burlingame CA PD"), ("2026-05-08", "Burlingame  CA PD"),
                      ("2026-05-15", "Burlingame\u00a0CA PD")):
        store.add_sharing_list(owner, "outbound", [name], day * 4, f"{day}T00:00:00Z",
                               "flock_portal", "constructed")
    store.finish()
    (row,) = list(store.db.query("select * from sharing where list_agency_id = ?", [owner]))
    assert (row["raw_name"], row["captures"], row["current"]) == ("Burlingame CA PD", 3, 1)
    assert row["last_seen"] == "2026-05-15T00:00:00Z"
    assert not list(store.db.query("select * from changes where agency_id = ? and kind like "
                                   "'grantee%'", [owner]))
