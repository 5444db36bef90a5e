"""Whose export, and when: imports are dated by the document (or say they are dated by the
import), saved pages find their portal from the name they show, and a Shared Networks export is
attributed to the agency whose networks it shares.

Facts read in the corpus:
* records/okaloosa_fl_so/Sharing_Agencies.pdf: PDF metadata Title
  "SharedNetworks_2025_December_29.csv", CreationDate D:20251229151025-06'00'; every row that
  shares a network shares "Okaloosa County FL SO".
* flock/portals/calistoga-ca-pd/2026-04-25.html: "Last Updated" shows
  title="2026-04-24T13:28:15.772Z"; the page's agency name is "Calistoga CA PD".
* flock/portals/bell-ca-pd/2026-04-11.html: "Last Updated" 2026-04-10T14:05:42.502Z.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import CORPUS, capture, run_cli

from alpr_inventory.store.schema import open_db
from parsers.document_dates import last_date_in_text, pdf_date
from parsers.flock.sharing_pdf import SharingReport, SharingRow, report_owner

OKALOOSA_SHARING = CORPUS / "records" / "okaloosa_fl_so" / "Sharing_Agencies.pdf"
SHERIFF_NETWORKS = ["Orange County CA SD", "City of Dana Point CA (OCSD)",
                    "City of Yorba Linda CA (OCSD)", "City of Lake Forest CA (OCSD)"]


def sheriff_export(path: Path, title: str | None, sharing: list[list[str]]) -> Path:
    """A Flock "Shared Networks" workbook made for this test (no sheriff with contract-city
    networks has one in the corpus), in the structure of the real Okaloosa County FL SO report:
    one row per organisation, its own networks under "Networks Shared With Me", the exporting
    agency's networks it receives under "Networks I'm Sharing", names comma-joined."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(["Organization Name", "Networks Shared With Me", "Networks I'm Sharing"])
    orgs = ["Anaheim CA PD", "Irvine CA PD", "Huntington Beach CA PD", "Tustin CA PD",
            "Placer County CA SO", "Riverside County CA SO"]
    for org, shared in zip(orgs, sharing, strict=False):
        sheet.append([org, f"{org},{org} (LR)", ",".join(shared)])
    sheet.append(["Long Beach CA PD", "Long Beach CA PD", ""])  # shares only with the sheriff
    book.save(path)
    return path


def test_report_owner_rules():
    def report(*sharing: list[str]) -> SharingReport:
        return SharingReport([SharingRow(f"Org {i} CA PD", [], s, 1)
                              for i, s in enumerate(sharing)], [])

    owner, why = report_owner(report(SHERIFF_NETWORKS[:2], SHERIFF_NETWORKS[1:], ["Orange "
                                                                                  "County CA SD"]))
    assert owner == "Orange County CA SD"
    assert "its own and 3 more" in why
    # a tag nothing in the report is named for: whose it is cannot be told
    assert report_owner(report(SHERIFF_NETWORKS[1:]))[0] is None
    # networks of two agencies
    owner, why = report_owner(report(["Orange County CA SD"], ["Anaheim CA PD"]))
    assert owner is None and "more than one agency" in why
    # a product network of the agency's own ("Polk County FL SO (LR)") is its network
    assert report_owner(report(["Polk County FL SO", "Polk County FL SO (LR)"]))[0] == \
        "Polk County FL SO"


def test_sheriff_shared_networks_export_is_the_sheriffs_and_dated_by_itself(tmp_path):
    path = sheriff_export(tmp_path / "shared_networks.xlsx", "SharedNetworks_2025_December_29",
                          [SHERIFF_NETWORKS[:2], SHERIFF_NETWORKS[1:3], [SHERIFF_NETWORKS[3]],
                           SHERIFF_NETWORKS, [SHERIFF_NETWORKS[0]], SHERIFF_NETWORKS[2:]])
    db_path = tmp_path / "x.db"
    out = run_cli("import", str(path), db=db_path)
    assert out.returncode == 0, out.stderr
    assert "dated from the document (its title 'SharedNetworks_2025_December_29', " \
           "2025-12-29)" in out.stdout
    db = open_db(str(db_path))
    lists = {r["direction"]: r for r in db["sharing_lists"].rows}
    assert {r["list_agency_id"] for r in lists.values()} == {"orange-county-ca-so"}
    assert lists["outbound"]["captured_at"] == "2025-12-29T00:00:00Z"
    assert len(json.loads(lists["outbound"]["names"])) == 6  # Long Beach receives nothing
    (fetch,) = db.query("select captured_at_basis, captured_at_source from fetches")
    assert fetch == {"captured_at_basis": "document",
                     "captured_at_source": "its title 'SharedNetworks_2025_December_29'"}


def test_export_whose_owner_cannot_be_told_needs_agency(tmp_path):
    path = sheriff_export(tmp_path / "two_owners.xlsx", None,
                          [["Orange County CA SD"], ["Riverside County CA SO"]])
    db_path = tmp_path / "y.db"
    out = run_cli("import", str(path), db=db_path)
    assert out.returncode == 0
    assert "needs_agency" in out.stdout and "more than one agency" in out.stdout
    db = open_db(str(db_path))
    assert db["sharing_lists"].count == 0
    again = run_cli("import", str(path), "--agency", "Orange County CA SD", db=db_path)
    assert again.returncode == 0
    assert {r["list_agency_id"] for r in db["sharing_lists"].rows} == {"orange-county-ca-so"}


def test_okaloosa_sharing_report_is_dated_by_its_own_title(tmp_path):
    assert last_date_in_text("SharedNetworks_2025_December_29.csv") == "2025-12-29T00:00:00Z"
    assert pdf_date("D:20251229151025-06'00'") == "2025-12-29T21:10:25Z"
    db_path = tmp_path / "o.db"
    out = run_cli("import", str(OKALOOSA_SHARING), db=db_path)
    assert out.returncode == 0, out.stderr
    db = open_db(str(db_path))
    (row,) = db.query("select distinct list_agency_id, captured_at from sharing_lists")
    assert row == {"list_agency_id": "okaloosa-county-fl-so",
                   "captured_at": "2025-12-29T00:00:00Z"}


def test_saved_page_is_dated_by_its_last_updated_and_finds_its_portal(tmp_path):
    db_path = tmp_path / "p.db"
    # the portal is known from an earlier capture (folder layout <slug>/<date>.html)
    assert run_cli("import", str(capture("calistoga-ca-pd", "2026-04-18")),
                   db=db_path).returncode == 0
    # a copy saved from a browser under a name without a date (made here from the real page)
    saved = tmp_path / "Calistoga saved page.html"
    saved.write_bytes(capture("calistoga-ca-pd", "2026-04-25").read_bytes())
    out = run_cli("import", str(saved), db=db_path)
    assert out.returncode == 0, out.stderr
    assert "dated from the document (the page's own 'Last Updated: " \
           "2026-04-24T13:28:15.772Z', 2026-04-24)" in out.stdout
    assert "1 from the agency name the page shows (a portal already known)" in out.stdout
    db = open_db(str(db_path))
    fetch = next(db.query("select * from fetches where fetched_from = ?", [str(saved)]))
    assert fetch["url"] == "https://transparency.flocksafety.com/calistoga-ca-pd"
    assert fetch["url_basis"].startswith("page: the agency name it shows ('Calistoga CA PD')")
    assert (fetch["captured_at"], fetch["captured_at_basis"]) == (
        "2026-04-24T13:28:15Z", "document")
    snaps = [r["captured_at"] for r in db.query(
        "select captured_at from portal_snapshots where agency_id = 'calistoga-ca-pd' "
        "order by captured_at")]
    assert snaps == ["2026-04-18T00:00:00Z", "2026-04-24T13:28:15Z"]


def test_a_page_of_an_unknown_portal_says_to_give_its_url(tmp_path):
    saved = tmp_path / "bell.html"
    saved.write_bytes(capture("bell-ca-pd", "2026-04-11").read_bytes())
    out = run_cli("import", str(saved), db=tmp_path / "b.db")
    assert out.returncode == 0, out.stderr
    assert "1 not known (the page's agency is not a known portal: give --url)" in out.stdout
    assert "2026-04-10T14:05:42.502Z" in out.stdout


def test_a_file_without_any_date_says_it_is_dated_by_the_import(tmp_path):
    listed = tmp_path / "released_list.csv"
    listed.write_text("Name\nAnaheim CA PD\nTustin CA PD\n", encoding="utf-8")  # made here
    db_path = tmp_path / "d.db"
    out = run_cli("import", str(listed), "--sharing-list", "inbound", "--agency",
                  "Irvine CA PD", db=db_path)
    assert out.returncode == 0, out.stderr
    assert "1 dated by the time of the import (the document gives no date)" in out.stdout
    assert f"dated by the time of this import (no date in the file name or the document; " \
           f"re-import with --captured-at to say when it was captured): {listed}" in out.stdout
    (fetch,) = open_db(str(db_path)).query("select captured_at_basis from fetches")
    assert fetch["captured_at_basis"] == "import"
