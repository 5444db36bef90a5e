"""The CLI as a user runs it: parse one file, import saved pages, rebuild, summary."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import subprocess
import sys

from conftest import CORPUS, PORTALS, PORTALS_NEW, capture, fact_dump, run_cli

from alpr_inventory.settings import REPO_ROOT
from alpr_inventory.store.schema import open_db


def test_parse_json_prints_the_fields_of_a_real_capture(tmp_path):
    # Read in the page (bell-ca-pd, 2026-04-11): last updated 2026-04-10T..., retention 30 days,
    # 11 cameras, 506,651 vehicles, 4,346 hotlist hits, 44 searches.
    result = run_cli("parse", str(capture("bell-ca-pd", "2026-04-11")), "--json",
                     db=tmp_path / "unused.db")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["kind"] == "flock_portal" and out["agency_name"] == "Bell CA PD"
    assert (out["retention_days"], out["cameras"], out["vehicles_30d"], out["hotlist_hits_30d"],
            out["searches_30d"]) == (30, 11, 506651, 4346, 44)
    assert out["sharing_inbound"] == [] and "Yuba City CA PD" in out["sharing_outbound"]
    assert out["search_audit"][0]["search_id"] == "4b0c40d8-c691-401f-90b6-cd6cf7dc83bb"
    assert isinstance(out["warnings"], list)
    assert not (tmp_path / "unused.db").exists()


def test_parse_json_says_what_a_block_page_is(tmp_path):
    page = PORTALS_NEW / "blocked_cloudflare_1015_medina-wa-pd_2026-06-24.html"
    out = json.loads(run_cli("parse", str(page), "--json", db=tmp_path / "x.db").stdout)
    assert out["kind"] == "blocked" and out["parse_status"] == "blocked"


def test_import_saved_pages_is_idempotent_and_uses_provenance(tmp_path):
    saved = tmp_path / "saved"
    saved.mkdir()
    # corpus layout <slug>/<date>.html, linked (not copied) into a folder the user imports
    (saved / "orange-ca-pd").symlink_to(PORTALS / "orange-ca-pd", target_is_directory=True)
    (saved / "empty.html").write_bytes(b"")  # constructed bad input: an empty file
    # a page "saved from a browser": Chrome puts a 'saved from url' comment on top
    browser = tmp_path / "browser"
    browser.mkdir()
    woodland = sorted((PORTALS / "woodland-ca-pd").glob("*.html"))[-1]
    (browser / "Woodland Transparency Portal.html").write_bytes(
        b"<!-- saved from url=(0055)https://transparency.flocksafety.com/woodland-ca-pd -->\n"
        + woodland.read_bytes())
    db_path = tmp_path / "imp.db"
    first = run_cli("import", str(saved), db=db_path)
    assert first.returncode == 0, first.stderr
    second = run_cli("import", str(browser), "--captured-at", "2026-05-02", db=db_path)
    assert second.returncode == 0, second.stderr
    db = open_db(str(db_path))
    orange = [r["captured_at"] for r in db.query(
        "select captured_at from portal_snapshots where agency_id = 'orange-ca-pd' "
        "order by captured_at")]
    files = sorted((PORTALS / "orange-ca-pd").glob("*.html"))
    assert orange == [f"{p.stem}T00:00:00Z" for p in files]
    wood = next(db.query("select f.url, f.captured_at, f.captured_at_basis from fetches f join "
                         "documents d using (sha256) where d.agency_id = 'woodland-ca-pd'"))
    assert wood == {"url": "https://transparency.flocksafety.com/woodland-ca-pd",
                    "captured_at": "2026-05-02T00:00:00Z", "captured_at_basis": "given"}
    empty = next(db.query("select parse_status, doc_type from documents where bytes = 0"))
    assert empty == {"parse_status": "empty", "doc_type": "unknown"}

    before = fact_dump(db)
    again = run_cli("import", str(saved), db=db_path)
    assert "(0 new documents, 6 unchanged" in again.stdout
    assert fact_dump(open_db(str(db_path))) == before
    rebuilt = run_cli("reparse", db=db_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    after = fact_dump(open_db(str(db_path)))
    assert after["sharing"] == before["sharing"] and after["searches"] == before["searches"]
    summary = run_cli("summary", db=db_path).stdout
    assert [line.split(":")[1].strip() for line in summary.splitlines()
            if line.strip().startswith("snapshots:")] == ["6"]


def test_document_command_gives_provenance_and_the_original(tmp_path):
    page = capture("bell-ca-pd", "2026-04-11")
    db_path = tmp_path / "doc.db"
    assert run_cli("import", str(page), db=db_path).returncode == 0
    sha = hashlib.sha256(page.read_bytes()).hexdigest()
    out = tmp_path / "original.html"
    result = run_cli("document", sha[:12], "-o", str(out), db=db_path)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["sha256"] == sha and info["doc_type"] == "flock_portal"
    assert info["fetches"][0]["url"] == "https://transparency.flocksafety.com/bell-ca-pd"
    assert info["fetches"][0]["captured_at"] == "2026-04-11T00:00:00Z"
    assert out.read_bytes() == page.read_bytes()
    assert run_cli("document", "ffff", db=db_path).returncode != 0


def test_news_and_observer_dataset_imports_as_dated_peer_evidence(tmp_path):
    edges = CORPUS / "datasets" / "private_eyes" / "agency_access20240426.csv"
    source = "https://github.com/mcclatchy-southeast/private_eyes/blob/main/data/" + edges.name
    db_path = tmp_path / "peer.db"
    result = run_cli("import", str(edges), "--url", source, db=db_path)
    assert result.returncode == 0, result.stderr
    db = open_db(str(db_path))
    doc = next(db.query("select * from documents"))
    assert (doc["doc_type"], doc["layout"], doc["url"]) == (
        "peer_dataset", "news_observer_private_eyes", source)
    # the file has 37,099 edges from 224 source agencies; Sylvania OH PD lists 139
    assert db["sharing_lists"].count == 224
    assert db["sharing"].count == 37099
    sylvania = list(db.query(
        "select s.* from sharing s join agencies o on o.id = s.owner_id "
        "where o.name = 'Sylvania OH PD'"))
    assert len(sylvania) == 139
    assert {r["first_seen"] for r in sylvania} == {"2024-04-26T00:00:00Z"}
    assert {r["source_kind"] for r in sylvania} == {"peer_dataset"}
    assert {r["first_document"] for r in sylvania} == {doc["sha256"]}
    fbi = list(db.query("select g.kind, g.federal_component, count(*) n from sharing s "
                        "join agencies g on g.id = s.grantee_id where s.raw_name = 'FBI' "
                        "group by 1, 2"))
    # 30 rows of the file have external_agency "FBI"
    assert fbi == [{"kind": "federal", "federal_component": "FBI", "n": 30}]
    access = list(db.query("select * from federal_access where federal_grantee_id = ? "
                           "and data_owner = 'Sylvania OH PD'", ["fed-fbi"]))
    assert len(access) <= 1


def test_resolve_prints_csv_for_names_and_files(tmp_path):
    names = tmp_path / "names.txt"  # written for this test: names as a reporter might receive
    names.write_text("Federal Way WA PD\nUnited States Border Control - Grand Forks Sector MN\n")
    result = run_cli("resolve", "FBI", "Bell CA PD", "--file", str(names), db=tmp_path / "x.db")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["name", "agency_id", "canonical_name", "kind", "state",
                             "federal_component", "immigration", "rule"]
    by_name = {r["name"]: r for r in rows}
    assert (by_name["FBI"]["kind"], by_name["FBI"]["federal_component"]) == ("federal", "FBI")
    assert (by_name["Bell CA PD"]["kind"], by_name["Bell CA PD"]["state"]) == ("local_police", "CA")
    assert by_name["Federal Way WA PD"]["kind"] == "local_police"
    assert by_name["Federal Way WA PD"]["federal_component"] == ""
    border = by_name["United States Border Control - Grand Forks Sector MN"]
    assert (border["federal_component"], border["immigration"]) == ("CBP-USBP", "1")
    assert all(r["rule"] for r in rows)


def test_agencies_federal_lists_federal_access_with_evidence(tmp_path):
    edges = CORPUS / "datasets" / "private_eyes" / "agency_access20240426.csv"
    db_path = tmp_path / "fed.db"
    assert run_cli("import", str(edges), db=db_path).returncode == 0
    out = run_cli("agencies", "--federal", "--agency", "Cabot AR PD", db=db_path).stdout
    # read in the file: Cabot AR PD's external agencies include "FBI" and "ATF Louisville KY"
    lines = out.splitlines()
    assert any("Federal Bureau of Investigation" in line for line in lines)
    assert any("Louisville" in line and "(ATF)" in line for line in lines)
    sha = hashlib.sha256(edges.read_bytes()).hexdigest()
    assert all(sha[:12] in line and "2024-04-26" in line for line in lines)


def test_crawl_help_lists_every_spider_with_its_needs_and_limits(tmp_path):
    out = subprocess.run([sys.executable, "-m", "alpr_inventory.cli", "crawl", "--help"],
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    commands = text.split("Commands:")[1]
    for command in ("flock-portals", "ice-287g", "muckrock", "nextrequest", "documentcloud",
                    "legistar", "documents"):
        assert f" {command} " in commands and f" {command} Source:" in text
    # what each needs and how politely it goes, in the words a user acts on
    assert "MUCKROCK_USERNAME and MUCKROCK_PASSWORD" in text
    assert "MuckRock allows 15 requests/minute" in text and "<= 15/min" in text
    assert "LEGISTAR_TOKEN" in text and "'Retry later' answer is throttling" in text
    assert text.count("Needs:") == 7 and text.count("Limits:") == 7
