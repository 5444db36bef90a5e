"""Archive -> classify -> parse -> load, on real captures. Facts checked by reading the pages."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse

from conftest import PORTALS_NEW, capture, fact_dump, fetched_from_file

from alpr_inventory.load.ingest import Fetched, utc_now

EL_CAJON = "-el-cajon-pd-ca"


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(store, *paths):
    results = [store.ingest(fetched_from_file(p)) for p in paths]
    store.finish()
    return results


def interval(db, owner, raw_name):
    return list(db.query(
        "select * from sharing where owner_id = ? and raw_name = ? order by first_seen",
        [owner, raw_name]))


def test_el_cajon_sharing_history_across_three_captures(store):
    # Read in the pages: "College Place WA PD" is listed on 2026-04-15 only; "Las Vegas Metro NV
    # PD" on 04-15 and 04-22, replaced on 04-29 by "Las Vegas Metro Police Department - NV".
    days = ["2026-04-15", "2026-04-22", "2026-04-29"]
    paths = [capture(EL_CAJON, d) for d in days]
    results = load(store, *paths)
    owner = results[0].agency_id
    assert {r.agency_id for r in results} == {owner}
    assert store.db["agencies"].get(owner)["name"] == "El Cajon CA PD"
    assert store.db["agencies"].get(owner)["flock_slug"] == EL_CAJON

    (college,) = interval(store.db, owner, "College Place WA PD")
    assert (college["first_seen"], college["last_seen"], college["gone_by"]) == (
        "2026-04-15T00:00:00Z", "2026-04-15T00:00:00Z", "2026-04-22T00:00:00Z")
    assert college["current"] == 0 and college["captures"] == 1
    assert college["first_document"] == sha(paths[0])
    assert college["gone_document"] == sha(paths[1])
    assert college["direction"] == "outbound"

    (old,) = interval(store.db, owner, "Las Vegas Metro NV PD")
    assert (old["first_seen"], old["last_seen"], old["gone_by"], old["captures"]) == (
        "2026-04-15T00:00:00Z", "2026-04-22T00:00:00Z", "2026-04-29T00:00:00Z", 2)
    assert old["last_document"] == sha(paths[1])
    (new,) = interval(store.db, owner, "Las Vegas Metro Police Department - NV")
    assert (new["first_seen"], new["gone_by"], new["current"]) == ("2026-04-29T00:00:00Z", None, 1)

    snaps = list(store.db.query(
        "select captured_at, outbound_count, last_updated from portal_snapshots "
        "where agency_id = ? order by captured_at", [owner]))
    # 685, 684, 684 comma-separated pieces, one name being "University of California, Berkeley"
    assert [(s["outbound_count"], s["last_updated"]) for s in snaps] == [
        (684, "2026-04-14T10:09:22.344Z"), (683, "2026-04-21T10:10:59.011Z"),
        (683, "2026-04-28T10:11:51.720Z")]


def test_load_order_does_not_change_history(store, tmp_path):
    days = ["2026-04-29", "2026-04-15", "2026-04-22"]
    load(store, *[capture(EL_CAJON, d) for d in days])
    (college,) = interval(store.db, "el-cajon-ca-pd", "College Place WA PD")
    assert college["gone_by"] == "2026-04-22T00:00:00Z"


def test_name_that_disappears_and_returns_gets_two_intervals(store):
    # Burbank: "Demo" is listed on 03-28 and 04-04 and gone on 04-11; "Test Demo 1234" is listed
    # through 04-11 and gone on 04-18.
    days = ["2026-03-28", "2026-04-04", "2026-04-11", "2026-04-18", "2026-04-25"]
    load(store, *[capture("burbank-ca-pd", d) for d in days])
    (demo,) = interval(store.db, "burbank-ca-pd", "Demo")
    assert (demo["last_seen"], demo["gone_by"]) == ("2026-04-04T00:00:00Z", "2026-04-11T00:00:00Z")
    (test_demo,) = interval(store.db, "burbank-ca-pd", "Test Demo 1234")
    assert test_demo["gone_by"] == "2026-04-18T00:00:00Z" and test_demo["captures"] == 3
    # now replay a capture where "Demo" was listed as a later date: a second interval opens
    store.ingest(fetched_from_file(capture("burbank-ca-pd", "2026-03-28"),
                                   captured_at="2026-05-01T00:00:00Z"))
    store.finish()
    rows = interval(store.db, "burbank-ca-pd", "Demo")
    assert [(r["first_seen"], r["current"]) for r in rows] == [
        ("2026-03-28T00:00:00Z", 0), ("2026-05-01T00:00:00Z", 1)]


def test_flock_federal_marker_direction_is_kept_straight(store):
    # Read in the page: Beaumont CA PD's 2026-04-25 capture lists "[Federal] Loma Linda
    # Healthcare System CA Veterans Affairs PD" under "Organizations sharing their data with
    # Beaumont CA PD" - the federal body shares ITS data with Beaumont, not the other way round.
    (result,) = load(store, capture("beaumont-ca-pd", "2026-04-25"))
    name = "[Federal] Loma Linda Healthcare System CA Veterans Affairs PD"
    (row,) = list(store.db.query("select * from sharing where raw_name = ?", [name]))
    assert row["direction"] == "inbound"
    assert row["grantee_id"] == result.agency_id == "beaumont-ca-pd"
    assert (row["owner_marked_federal"], row["grantee_marked_federal"]) == (1, 0)
    assert store.db["agencies"].get(row["owner_id"])["flock_marked_federal"] == 1
    assert not list(store.db.query("select 1 from sharing where grantee_marked_federal = 1"))


def test_federal_grantee_on_new_layout_page_is_flagged(store, tmp_path):
    # Constructed page around the real El Cajon excerpt; its constructed rows include
    # "[Federal] US Postal Inspection Service" in the outbound ("Sharing Network Data With") table.
    from portal_pages import build_new_layout_page

    page = tmp_path / "constructed_new_layout_el_cajon.html"
    page.write_text(build_new_layout_page(), encoding="utf-8")
    result = store.ingest(fetched_from_file(page, "2026-10-05T00:00:00Z", "-el-cajon-pd-ca"))
    store.finish()
    assert result.parse_status in ("ok", "ok_with_warnings")
    rows = list(store.db.query("select * from sharing where grantee_marked_federal = 1"))
    assert [(r["raw_name"], r["direction"], r["owner_id"]) for r in rows] == [
        ("[Federal] US Postal Inspection Service", "outbound", result.agency_id)]


def _audit_ids(path) -> list[str]:
    """Independent read of the embedded audit CSV with the standard library, for comparison."""
    html = path.read_text(encoding="utf-8")
    href = re.search(r'href="data:text/csv;charset=utf-8,([^"]*)"', html).group(1)
    text = urllib.parse.unquote(href.replace("&amp;", "&"))
    import csv
    import io
    return [row["id"] for row in csv.DictReader(io.StringIO(text))]


def test_search_audit_rows_dedupe_across_overlapping_captures(store):
    a, b = capture("bell-ca-pd", "2026-04-04"), capture("bell-ca-pd", "2026-04-11")
    load(store, a, b)
    ids_a, ids_b = _audit_ids(a), _audit_ids(b)
    assert set(ids_a) & set(ids_b), "the two captures' 30-day windows overlap"
    assert store.db["searches"].count == len(set(ids_a) | set(ids_b))
    # read in the 2026-04-11 page: its first audit row
    row = store.db["searches"].get("4b0c40d8-c691-401f-90b6-cd6cf7dc83bb")
    assert row["searched_at"] == "2026-03-12T08:26:53.735Z"
    assert row["user_id"] == "***" and row["network_count"] == 1
    assert row["searching_agency_id"] == "bell-ca-pd"
    shared = next(iter(set(ids_a) & set(ids_b)))
    both = store.db["searches"].get(shared)
    assert (both["first_seen"], both["last_seen"]) == (
        "2026-04-04T00:00:00Z", "2026-04-11T00:00:00Z")
    assert (both["first_document"], both["last_document"]) == (sha(a), sha(b))


def test_same_bytes_twice_is_one_document_two_fetches(store):
    path = capture("bell-ca-pd", "2026-04-11")
    first = store.ingest(fetched_from_file(path, captured_at="2026-04-11T00:00:00Z"))
    second = store.ingest(fetched_from_file(path, captured_at="2026-04-12T00:00:00Z"))
    assert first.new_document and not second.new_document
    assert store.db["documents"].count == 1 and store.db["fetches"].count == 2
    files = [p for p in store.archive.root.rglob("*") if p.is_file()]
    assert [p.name for p in files] == [sha(path)]
    assert store.archive.get(sha(path)) == path.read_bytes()
    doc = store.db["documents"].get(sha(path))
    assert doc["archive_path"] == store.archive.relative_path(sha(path))
    assert doc["parser_version"] and doc["doc_type"] == "flock_portal"
    # the very same fetch again adds nothing
    third = store.ingest(fetched_from_file(path, captured_at="2026-04-12T00:00:00Z"))
    assert not third.new_fetch and store.db["fetches"].count == 2


def test_block_and_not_found_pages_are_recorded_never_parsed(store):
    blocked = PORTALS_NEW / "blocked_cloudflare_1015_medina-wa-pd_2026-06-24.html"
    missing = PORTALS_NEW / "not_found_clark-county-wa-so_2026-10.html"
    r1 = store.ingest(fetched_from_file(blocked, "2026-06-24T00:00:00Z", "medina-wa-pd", 429))
    r2 = store.ingest(fetched_from_file(missing, "2026-10-05T00:00:00Z", "clark-county-wa-so", 404))
    assert (r1.doc_type, r1.parse_status) == ("blocked", "blocked")
    assert (r2.doc_type, r2.parse_status) == ("not_found", "not_found")
    assert store.db["portal_snapshots"].count == 0 and store.db["agencies"].count == 0
    doc = store.db["documents"].get(r1.sha256)
    assert "1015" in doc["parse_error"] or "rate" in doc["parse_error"].lower()
    # a rate-limit page served with HTTP 200 is still a block page
    r3 = store.ingest(fetched_from_file(blocked, "2026-06-25T00:00:00Z", "medina-wa-pd", 200))
    assert r3.parse_status == "blocked"


def test_truncated_capture_is_recorded_as_truncated(store, tmp_path):
    whole = capture("bell-ca-pd", "2026-04-11").read_bytes()
    cut = tmp_path / "truncated_bell-ca-pd.html"  # constructed: a real capture cut in half
    cut.write_bytes(whole[: len(whole) // 2])
    result = store.ingest(fetched_from_file(cut, "2026-04-11T00:00:00Z", "bell-ca-pd"))
    assert (result.doc_type, result.parse_status) == ("truncated", "truncated")
    assert store.db["portal_snapshots"].count == 0 and store.db["searches"].count == 0


def test_constructed_challenge_page_is_blocked(store):
    # Constructed (not a real capture): the shape of Cloudflare's managed challenge page.
    body = (b"<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>"
            b"<script src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1'></script>"
            b"</body></html>")
    result = store.ingest(Fetched(body=body, url="https://transparency.flocksafety.com/x",
                                  source="test", fetched_at=utc_now(), captured_at=utc_now(),
                                  captured_at_basis="fetch", http_status=403,
                                  headers={"cf-mitigated": "challenge"}))
    assert result.parse_status == "blocked"


def test_rebuild_and_reparse_change_nothing(store):
    paths = [capture(EL_CAJON, "2026-04-15"), capture(EL_CAJON, "2026-04-22"),
             capture("bell-ca-pd", "2026-04-11"), capture("beaumont-ca-pd", "2026-04-25")]
    load(store, *paths)
    before = fact_dump(store.db)
    load(store, *paths)  # the same files again
    assert fact_dump(store.db) == before
    stats = store.reparse_all()
    assert stats["ok"] + stats["ok_with_warnings"] == 4
    after = fact_dump(store.db)
    assert after["sharing"] == before["sharing"]
    assert after["portal_snapshots"] == before["portal_snapshots"]
    assert after["searches"] == before["searches"]


def test_snapshot_keeps_what_the_page_says(store):
    # bell-ca-pd 2026-04-11, read in the page: retention "30 days", 11 cameras,
    # 506,651 vehicles, 4,346 hotlist hits, 44 searches, hotlists "California SVS, NCMEC Amber
    # Alert", prohibited uses start "Immigration enforcement".
    (result,) = load(store, capture("bell-ca-pd", "2026-04-11"))
    snap = store.db["portal_snapshots"].get(result.snapshot_id)
    assert (snap["retention_days"], snap["cameras"], snap["vehicles_30d"],
            snap["hotlist_hits_30d"], snap["searches_30d"]) == (30, 11, 506651, 4346, 44)
    assert json.loads(snap["hotlists"]) == ["California SVS", "NCMEC Amber Alert"]
    assert snap["prohibited_uses"].startswith("Immigration enforcement, traffic enforcement")
    (listed,) = list(store.db.query(
        "select names, label, source_kind from sharing_lists where document_sha256 = ? "
        "and direction = 'outbound'", [result.sha256]))
    assert listed["label"] == "Organizations granted access to Bell CA PD data"
    assert listed["source_kind"] == "flock_portal"
    outbound = json.loads(listed["names"])
    assert "University of California, Berkeley" in outbound
    assert outbound[-1] == "Yuba County Sheriffs Office"
    assert snap["search_audit_present"] == 1
    hits = list(store.db.query(
        "select p.agency_name from portal_snapshots_fts join portal_snapshots p "
        "on p.rowid = portal_snapshots_fts.rowid where portal_snapshots_fts match 'immigration'"))
    assert hits == [{"agency_name": "Bell CA PD"}]
