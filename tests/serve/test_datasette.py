"""Datasette over a database built from real captures: metadata, facets, FTS, canned queries."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from conftest import capture, fetched_from_file
from datasette.app import Datasette

from alpr_inventory.store.schema import PAGE_SIZE, TABLES, datasette_metadata


@pytest.fixture
def datasette(store):
    for slug, day in [("-el-cajon-pd-ca", "2026-04-15"), ("-el-cajon-pd-ca", "2026-04-22"),
                      ("beaumont-ca-pd", "2026-04-25"), ("orange-ca-pd", "2026-04-28"),
                      ("bell-ca-pd", "2026-04-11")]:
        store.ingest(fetched_from_file(capture(slug, day)))
    store.finish()
    path = store.db.conn.execute("pragma database_list").fetchone()[2]
    store.db.close()
    return Datasette([path], metadata=datasette_metadata("inventory"))


def get(ds, path):
    async def go():
        return await ds.client.get(path)
    return asyncio.run(go())


def test_every_table_and_column_is_documented():
    meta = datasette_metadata()["databases"]["inventory"]["tables"]
    for table in TABLES:
        assert meta[table.name]["description"]
        assert all(meta[table.name]["columns"].values())


def test_canned_query_who_can_see_el_cajon(datasette):
    first = get(datasette, "/inventory/who_can_see.json?agency=El+Cajon&_shape=array")
    assert first.status_code == 200
    page1 = first.json()
    # never cut silently: PAGE_SIZE rows a page, the total and whether more follow on every row
    assert len(page1) == PAGE_SIZE
    assert page1[0]["page_note"] == "page 1: more rows follow, ask page 2"
    rows, page = list(page1), 1
    while rows[-1]["page_note"] != f"page {page}: last page":
        page += 1
        more = get(datasette, f"/inventory/who_can_see.json?agency=el+cajon+ca+pd&page={page}"
                   "&_shape=array").json()
        assert 0 < len(more) <= PAGE_SIZE
        rows += more
    assert page > 2 and len(rows) == rows[0]["rows_total"]
    # one row per organisation, whatever the number of sources naming it
    assert len({r["grantee_id"] for r in rows}) == len(rows)
    (college,) = [r for r in rows if r["can_see_data"] == "College Place WA PD"]
    assert (college["first_seen"], college["last_seen"], college["current"]) == (
        "2026-04-15T00:00:00Z", "2026-04-15T00:00:00Z", 0)
    assert college["current_basis"].startswith("history: last listed 2026-04-15")
    # El Cajon's newest own list (2026-04-22 capture) names 683 organisations, two of them one
    # agency ("Arizona Department of Public Safety" and "... [Inactive]"): 682 current rows
    current = [r for r in rows if r["current"]]
    assert len(current) == 682
    assert all(r["current_basis"] == "in its newest own list (portal, 2026-04-22)"
               for r in current)
    # Beaumont's and Orange's portals list "El Cajon CA PD" under "Organizations sharing their
    # data with" them; El Cajon's own list names them too: one row each, every source listed
    beaumont = next(r for r in rows if r["can_see_data"] == "Beaumont CA PD")
    assert "its own portal" in beaumont["sources"]
    assert "Beaumont CA PD's portal 2026-04-25" in beaumont["sources"]


def test_canned_query_shares_with_federal(datasette):
    # In these real classic captures the only [Federal] name shares its own data WITH Beaumont
    # and Orange (inbound), so no federal body can see anyone's data here; the constructed
    # new-layout page adds one that can.
    assert get(datasette, "/inventory/shares_with_federal.json?_shape=array").json() == []


def test_canned_query_lists_a_federal_grantee(store, tmp_path):
    from portal_pages import build_new_layout_page

    page = tmp_path / "constructed_new_layout_el_cajon.html"
    page.write_text(build_new_layout_page(), encoding="utf-8")
    store.ingest(fetched_from_file(page, "2026-10-05T00:00:00Z", "-el-cajon-pd-ca"))
    store.finish()
    path = store.db.conn.execute("pragma database_list").fetchone()[2]
    ds = Datasette([path], metadata=datasette_metadata("inventory"))
    rows = get(ds, "/inventory/shares_with_federal.json?_shape=array").json()
    assert [(r["data_owner"], r["name_as_published"], r["federal_grantee"]) for r in rows] == [
        ("El Cajon CA PD", "[Federal] US Postal Inspection Service",
         "U.S. Postal Inspection Service (USPIS)")]
    access = get(ds, "/inventory/federal_access.json?_shape=array").json()
    assert [(r["data_owner"], r["component"], r["immigration"]) for r in access] == [
        ("El Cajon CA PD", "USPIS", 0)]
    assert json.loads(access[0]["evidence_documents"]) == [
        hashlib.sha256(page.read_bytes()).hexdigest()]


def test_table_pages_show_descriptions_facets_and_search(datasette):
    html = get(datasette, "/inventory/sharing").text
    assert "Who can see whose data, as intervals" in html
    facets = get(datasette, "/inventory/sharing.json?_facet=direction").json()
    by_direction = {r["value"]: r["count"] for r in facets["facet_results"]["direction"]["results"]}
    assert by_direction["outbound"] > by_direction["inbound"] > 0
    found = get(datasette, "/inventory/portal_snapshots.json?_search=immigration&_shape=array")
    assert {r["agency_name"] for r in found.json()} >= {"Bell CA PD"}
    names = get(datasette, "/inventory/agencies.json?_search=Loma+Linda&_shape=array").json()
    assert names and names[0]["flock_marked_federal"] == 1


def test_exposure_canned_query_shows_out_of_state_sharing(datasette):
    rows = get(datasette, "/inventory/exposure.json?state=CA&_shape=array").json()
    by_owner = {r["data_owner"]: r for r in rows}
    # El Cajon's latest list here (2026-04-22) names agencies all over the country
    # ("Acworth GA PD", "Ada County ID SO", ...); Bell's 2026-04-11 list names only
    # California organisations.
    assert by_owner["El Cajon CA PD"]["out_of_state"] > 300
    assert by_owner["Bell CA PD"]["out_of_state"] == 0
    assert by_owner["Bell CA PD"]["federal"] == by_owner["Bell CA PD"]["immigration_bodies"] == 0
    assert by_owner["Bell CA PD"]["grantees"] > 300
