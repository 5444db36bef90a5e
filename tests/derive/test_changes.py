"""The change history: what appears and disappears between real captures, with both as evidence.

Facts read in the corpus captures (and recomputed below from the parser, independently of the
changes module): El Cajon CA PD's list "Organizations granted access to El Cajon CA PD data"
names "College Place WA PD" on 2026-04-15 but not on 2026-04-22, and "Las Vegas Metro NV PD" on
2026-04-22 is "Las Vegas Metro Police Department - NV" on 2026-04-29; Burbank CA PD's list drops
"Demo" on 2026-04-11 and "Test Demo 1234" on 2026-04-18.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import capture, fetched_from_file, run_cli

from alpr_inventory.derive.changes import feed_path_for, query_changes
from alpr_inventory.store.schema import open_db
from parsers.flock.portal import parse_portal

EL_CAJON = "-el-cajon-pd-ca"
EL_CAJON_DAYS = ("2026-04-15", "2026-04-22", "2026-04-29")
BURBANK_DAYS = ("2026-03-28", "2026-04-04", "2026-04-11", "2026-04-18", "2026-04-25")
ATOM = "{http://www.w3.org/2005/Atom}"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load(store, slug: str, days: tuple[str, ...]) -> list[Path]:
    paths = [capture(slug, day) for day in days]
    for path in paths:
        store.ingest(fetched_from_file(path))
    store.finish()
    return paths


def list_changes(store, agency_id: str) -> list[dict]:
    return [r for r in query_changes(store.db, agency_ids=[agency_id])
            if r["agency_id"] == agency_id and r["direction"]]


def names_in(path: Path) -> set[str]:
    return {n.strip() for n in parse_portal(path.read_bytes()).sharing_outbound}


def test_changes_are_exactly_the_names_that_appear_and_disappear(store):
    paths = load(store, EL_CAJON, EL_CAJON_DAYS)
    rows = list_changes(store, "el-cajon-ca-pd")
    for before, after in zip(paths, paths[1:], strict=False):
        step = [r for r in rows if r["after_document"] == sha(after)]
        assert {r["before_document"] for r in step} <= {sha(before)}
        gone, came = names_in(before) - names_in(after), names_in(after) - names_in(before)
        # every name that disappears is a removal or the old name of a renamed grantee, every
        # name that appears is an addition or the new name: nothing more, nothing less
        assert {n for r in step if r["kind"] in ("grantee_removed", "grantee_renamed")
                for n in (r["old_value"] or "").split("; ") if n} == gone
        assert {n for r in step if r["kind"] in ("grantee_added", "grantee_renamed")
                for n in (r["new_value"] or "").split("; ") if n} == came
    by_kind = {(r["kind"], r["before_captured_at"][:10], r["after_captured_at"][:10]): r
               for r in rows}
    assert set(by_kind) == {("grantee_removed", "2026-04-15", "2026-04-22"),
                            ("grantee_renamed", "2026-04-22", "2026-04-29")}
    removed = by_kind[("grantee_removed", "2026-04-15", "2026-04-22")]
    assert (removed["raw_name"], removed["counterpart_id"], removed["federal"]) == (
        "College Place WA PD", "college-place-wa-pd", 0)
    assert (removed["before_document"], removed["after_document"]) == (
        sha(paths[0]), sha(paths[1]))
    assert removed["before_url"] == removed["after_url"] == (
        "https://transparency.flocksafety.com/-el-cajon-pd-ca")
    assert "2026-04-15" in removed["summary"] and "2026-04-22" in removed["summary"]
    renamed = by_kind[("grantee_renamed", "2026-04-22", "2026-04-29")]
    assert (renamed["old_value"], renamed["new_value"], renamed["counterpart_id"]) == (
        "Las Vegas Metro NV PD", "Las Vegas Metro Police Department - NV",
        "las-vegas-metro-nv-pd")
    # the first capture has no "before": none of its 684 names is an addition
    assert not [r for r in rows if r["after_captured_at"].startswith("2026-04-15")]
    # retention (30 days) and cameras (102) are the same in all three captures
    assert not [r for r in query_changes(store.db, agency_ids=["el-cajon-ca-pd"])
                if r["kind"] in ("retention_changed", "cameras_changed")]


def test_burbank_demo_accounts_leave_on_the_dates_they_disappear(store):
    paths = load(store, "burbank-ca-pd", BURBANK_DAYS)
    rows = list_changes(store, "burbank-ca-pd")
    got = sorted((r["kind"], r["raw_name"], r["before_captured_at"][:10],
                  r["after_captured_at"][:10]) for r in rows)
    assert got == [("grantee_removed", "Demo", "2026-04-04", "2026-04-11"),
                   ("grantee_removed", "Test Demo 1234", "2026-04-11", "2026-04-18")]
    # checked against the pages themselves: nothing else comes or goes in five captures
    for before, after in zip(paths, paths[1:], strict=False):
        expected = names_in(before) ^ names_in(after)
        assert expected == {r["raw_name"] for r in rows if r["after_document"] == sha(after)}


def test_a_capture_that_does_not_publish_the_list_removes_nobody(store, tmp_path):
    # CONSTRUCTED: the real 2026-04-22 capture with its "Organizations granted access" card cut
    # out (as if the card failed to render); everything else on the page is real.
    real = capture(EL_CAJON, "2026-04-22").read_text(encoding="utf-8")
    card = re.compile(r'<p[^>]*>Organizations granted access to El Cajon CA PD data</p>'
                      r'<div[^>]*>[^<]*</div>')
    assert len(card.findall(real)) == 1
    folder = tmp_path / "constructed" / EL_CAJON
    folder.mkdir(parents=True)
    no_card = folder / "2026-04-22.html"
    no_card.write_text(card.sub("", real), encoding="utf-8")
    assert parse_portal(no_card.read_bytes()).sharing_outbound == []
    first, last = capture(EL_CAJON, "2026-04-15"), capture(EL_CAJON, "2026-04-29")
    for path in (first, no_card, last):
        store.ingest(fetched_from_file(path, slug=EL_CAJON))
    store.finish()
    rows = list_changes(store, "el-cajon-ca-pd")
    # nothing is claimed about the capture without the list; the comparison skips over it
    assert {r["after_captured_at"][:10] for r in rows} == {"2026-04-29"}
    assert {r["before_captured_at"][:10] for r in rows} == {"2026-04-15"}
    assert {r["skipped_captures"] for r in rows} == {1}
    assert sorted((r["kind"], r["raw_name"]) for r in rows) == [
        ("grantee_removed", "College Place WA PD"),
        ("grantee_renamed", "Las Vegas Metro Police Department - NV")]
    assert all("did not publish the list" in r["summary"] for r in rows)


def test_federal_grantee_added_is_flagged(store, tmp_path):
    from portal_pages import build_new_layout_page

    # the real 2026-04-29 classic capture, then the CONSTRUCTED new-layout page around the real
    # Oct 2026 excerpt, whose outbound table names "[Federal] US Postal Inspection Service"
    store.ingest(fetched_from_file(capture(EL_CAJON, "2026-04-29")))
    page = tmp_path / "constructed_new_layout_el_cajon.html"
    page.write_text(build_new_layout_page(), encoding="utf-8")
    store.ingest(fetched_from_file(page, "2026-10-05T00:00:00Z", EL_CAJON))
    store.finish()
    federal = query_changes(store.db, agency_ids=["el-cajon-ca-pd"], federal_only=True)
    assert [(r["kind"], r["raw_name"], r["counterpart_id"], r["federal"], r["immigration"])
            for r in federal] == [("federal_grantee_added", "[Federal] US Postal Inspection "
                                   "Service", "fed-uspis", 1, 0)]
    assert federal[0]["after_document"] == sha(page)
    assert "The organisation is federal." in federal[0]["summary"]


def test_atom_feed_is_written_beside_the_database_on_every_build(store):
    paths = load(store, EL_CAJON, EL_CAJON_DAYS)
    db_file = store.db.execute("pragma database_list").fetchone()[2]
    feed = feed_path_for(db_file)
    assert feed == Path(db_file).with_name("inventory.changes.atom") and feed.exists()
    root = ET.parse(feed).getroot()
    assert root.tag == f"{ATOM}feed" and root.find(f"{ATOM}updated").text == (
        "2026-04-29T00:00:00Z")
    entries = {e.find(f"{ATOM}updated").text: e for e in root.iter(f"{ATOM}entry")}
    assert sorted(entries) == ["2026-04-22T00:00:00Z", "2026-04-29T00:00:00Z"]
    first = entries["2026-04-22T00:00:00Z"]
    assert "El Cajon CA PD" in first.find(f"{ATOM}title").text
    content = first.find(f"{ATOM}content").text
    assert "College Place WA PD" in content
    assert sha(paths[0]) in content and sha(paths[1]) in content  # both captures as evidence
    assert first.find(f"{ATOM}link").get("href") == (
        "https://transparency.flocksafety.com/-el-cajon-pd-ca")
    ids = [e.find(f"{ATOM}id").text for e in root.iter(f"{ATOM}entry")]
    assert len(set(ids)) == len(ids)


def test_reparse_rebuilds_the_same_changes(store):
    load(store, "burbank-ca-pd", BURBANK_DAYS[1:4])
    before = sorted(tuple(r.values()) for r in store.db["changes"].rows)
    assert before
    store.reparse_all()
    assert sorted(tuple(r.values()) for r in store.db["changes"].rows) == before


def test_changes_command(tmp_path):
    db_path = tmp_path / "cli.db"
    files = [str(capture(EL_CAJON, day)) for day in EL_CAJON_DAYS]
    assert run_cli("import", *files, db=db_path).returncode == 0
    assert (tmp_path / "cli.changes.atom").exists()
    out = run_cli("changes", "--agency", "El Cajon CA PD", db=db_path)
    assert out.returncode == 0, out.stderr
    assert "College Place WA PD" in out.stdout and "grantee_removed" in out.stdout
    assert "Las Vegas Metro Police Department - NV" in out.stdout
    assert "2 change(s)" in out.stderr
    since = run_cli("changes", "--since", "2026-04-23", "--json", db=db_path)
    rows = [__import__("json").loads(line) for line in since.stdout.splitlines()]
    assert [(r["kind"], r["after_captured_at"]) for r in rows] == [
        ("grantee_renamed", "2026-04-29T00:00:00Z")]
    federal = run_cli("changes", "--federal-only", db=db_path)
    assert federal.returncode == 0 and federal.stdout == "" and "0 change(s)" in federal.stderr
    atom = tmp_path / "el-cajon.atom"
    assert run_cli("changes", "--agency", "el-cajon-ca-pd", "--atom", str(atom),
                   db=db_path).returncode == 0
    assert len(list(ET.parse(atom).getroot().iter(f"{ATOM}entry"))) == 2
    missing = run_cli("changes", "--agency", "No Such Agency XYZ", db=db_path)
    assert missing.returncode != 0 and "no agency named" in missing.stderr
    assert open_db(str(db_path))["changes"].count == 2


def test_retention_and_camera_changes_between_portal_captures(store):
    # read in the pages: San Jose CA PD gives retention "365 days" and 475 cameras on 2026-03-30,
    # "30 days" and 474 cameras on 2026-04-08; San Bruno CA PD gives 61 cameras on 2026-04-10
    # and 69 on 2026-04-18 (its retention does not change)
    jose = load(store, "san-jose-ca-pd", ("2026-03-30", "2026-04-08"))
    bruno = load(store, "san-bruno-ca-pd", ("2026-04-10", "2026-04-18"))
    pages = [parse_portal(p.read_bytes()) for p in jose + bruno]
    assert [p.retention_days for p in pages[:2]] == [365, 30]
    assert [p.cameras for p in pages] == [475, 474, 61, 69]
    rows = {(r["agency_id"], r["kind"]): r for r in query_changes(store.db)
            if r["kind"] in ("retention_changed", "cameras_changed")}
    assert set(rows) == {("san-jose-ca-pd", "retention_changed"),
                         ("san-jose-ca-pd", "cameras_changed"),
                         ("san-bruno-ca-pd", "cameras_changed")}
    jose_row = rows[("san-jose-ca-pd", "retention_changed")]
    assert (jose_row["old_value"], jose_row["new_value"]) == ("365", "30")
    assert (jose_row["before_document"], jose_row["after_document"]) == tuple(map(sha, jose))
    assert "'365 days' in the 2026-03-30 capture and '30 days' in the 2026-04-08" in \
        jose_row["summary"]
    bruno_row = rows[("san-bruno-ca-pd", "cameras_changed")]
    assert (bruno_row["old_value"], bruno_row["new_value"]) == ("61", "69")
