"""The answers a reporter reads: one agency across every source, one current answer per
organisation, 287(g) partners joined, and any name finding the agency.

Facts read in the corpus for these tests:
* agreements/vigilant/vigilant_sharing_2020_irvine-police-department-86954_doc0.pdf: the owner
  is printed "Irvine Police Department" (no state); "DHS - HSI (Newark NJ)" and "San Diego
  Sector Border Patrol (CA)" are among the 342 agencies it shares detections with; its
  recipients include both "Brentwood Police Department" and "Brentwood Police Department CA".
* flock/portals/-el-cajon-pd-ca/2026-04-29.html: the list names "Irvine CA PD", "Shasta County
  SO", "Yuba County Sheriffs Office", and 24 agencies that ICE's 2025-07-18 (pm) participating
  sheet lists (checked by hand, sheet row and list name): 22 as "<Place> <ST> PD|SO" (e.g.
  "Brevard County FL SO" = "Brevard County Sheriff's Office", FLORIDA, Task Force Model and
  Warrant Service Officer; "Haywood County TN SO" = WSO, also on the pending sheet), plus
  "OH - Butler County SO" (rows 546-547, OHIO, JEM and TFM) and "Louisiana State Police (LA)"
  (row 442, "Louisiana State Police Department", TFM).
* flock/portals/calistoga-ca-pd/2026-04-25.html: the page shows "Calistoga CA PD"; its
  acceptable-use card says "Data is owned by Calistoga Police Department and is never sold".
* flock/portals/shasta-county-so/2026-04-23.html: the portal's own name is "Shasta County SO".
* flock/portals/auburn-ca-pd/2026-04-25.html: the list names "Yuba County Sheriffs Office".
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import CORPUS, capture, fetched_from_file, run_cli

from alpr_inventory.load.ingest import Fetched, utc_now
from alpr_inventory.serve.report import build_report
from alpr_inventory.store.schema import open_db

IRVINE = CORPUS / "agreements" / "vigilant" / (
    "vigilant_sharing_2020_irvine-police-department-86954_doc0.pdf")
SHEETS = CORPUS / "agreements" / "287g" / "sheets"
NEWEST_287G = [SHEETS / "20250719_151637__participatingAgencies07182025pm.xlsx",
               SHEETS / "20250719_151637__pendingAgencies07182025pm.xlsx"]
YUBA_AUDIT = CORPUS / "flock" / "audit" / "yuba_county_ca_so" / "search_audit_pacific.xlsx"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def file_fetch(path: Path, captured_at: str, agency: str | None = None) -> Fetched:
    return Fetched(body=path.read_bytes(), url=path.resolve().as_uri(), source="test",
                   fetched_at=utc_now(), captured_at=captured_at, captured_at_basis="given",
                   fetched_from=str(path), agency=agency)


# ---- one agency, every source -----------------------------------------------------------------
def test_irvine_vigilant_report_is_irvine_ca_pd_in_report_state_and_exposure(tmp_path):
    db_path = tmp_path / "irvine.db"
    out = run_cli("import", str(capture("-el-cajon-pd-ca", "2026-04-29")), str(IRVINE),
                  db=db_path)
    assert out.returncode == 0, out.stderr
    doc = sha(IRVINE)[:12]
    # the report of "Irvine CA PD" (the name El Cajon's list uses) shows the Vigilant report's
    # immigration-enforcement recipients, with the report as the cited source
    md = run_cli("report", "Irvine CA PD", "--format", "md", "-o", "-", db=db_path)
    assert md.returncode == 0, md.stderr
    text = md.stdout
    assert "ICE Homeland Security Investigations (HSI) - Newark (NJ)" in text
    assert "U.S. Border Patrol (CBP) - San Diego Sector (CA)" in text
    assert "2 immigration-enforcement bodies among them" in text
    assert "Records release: Vigilant agency data sharing report of Irvine CA PD" in text
    assert "its own records release ('Vigilant data sharing report 03-02-20'), 2020-03-02" in text
    # `state CA` names them under California, with the document as evidence
    state = run_cli("state", "CA", db=db_path).stdout
    line = next(x for x in state.splitlines() if "Newark" in x)
    assert line.strip().startswith("Irvine CA PD: ICE Homeland Security Investigations (HSI) - "
                                   "Newark (NJ) [immigration enforcement]") and doc in line
    assert any("San Diego Sector" in x and doc in x for x in state.splitlines())
    # the CA exposure answer counts them
    exposure = run_cli("agencies", "--state", "CA", db=db_path).stdout
    irvine = next(x for x in exposure.splitlines() if x.startswith("Irvine CA PD (CA)"))
    assert "5 federal, 2 immigration" in irvine
    db = open_db(str(db_path))
    rows = list(db.query("select * from agency_exposure where owner_state = 'CA' "
                         "and immigration_bodies > 0"))
    assert [(r["data_owner"], r["immigration_bodies"]) for r in rows] == [("Irvine CA PD", 2)]
    # no separate "Irvine PD" without a state is left behind
    assert not db["agencies"].count_where("id = 'irvine-pd'")


def test_two_names_of_one_list_are_not_merged_into_one_agency(store):
    store.ingest(file_fetch(IRVINE, "2020-03-02T00:00:00Z"))
    store.finish()
    rows = {r["raw_name"]: r for r in store.db.query(
        "select * from agency_links where kind = 'name' and scope_id = 'irvine-ca-pd'")}
    brentwood = rows["Brentwood Police Department"]
    assert brentwood["status"] == "review" and "brentwood-ca-pd with its state" in \
        brentwood["rule"]
    grantees = {r["grantee_id"] for r in store.db.query(
        "select grantee_id from sharing where owner_id = 'irvine-ca-pd'")}
    assert {"brentwood-pd", "brentwood-ca-pd"} <= grantees


def test_portal_and_list_names_without_a_state_are_placed_by_their_documents(store):
    store.ingest(fetched_from_file(capture("shasta-county-so", "2026-04-23")))
    store.ingest(fetched_from_file(capture("auburn-ca-pd", "2026-04-25")))
    store.finish()
    shasta = store.db["agencies"].get("shasta-county-so")
    assert shasta["state"] == "CA"
    assert shasta["state_basis"].startswith("portal_lists_state:CA: its portal's lists name ")
    # nothing yet says that a Yuba County sheriff is known in California: left for review
    (yuba,) = store.db.query("select * from agency_links where raw_name = "
                             "'Yuba County Sheriffs Office' and scope_id = 'auburn-ca-pd'")
    assert yuba["status"] == "review"
    assert "no agency Yuba County CA SO (yuba-county-ca-so) is known in CA" in yuba["rule"]
    # Yuba's own audit export, imported as the user says whose it is ("Yuba County CA SO")
    store.ingest(file_fetch(YUBA_AUDIT, "2026-06-01T00:00:00Z", agency="Yuba County CA SO"))
    store.finish()
    (yuba,) = store.db.query("select * from agency_links where raw_name = "
                             "'Yuba County Sheriffs Office' and scope_id = 'auburn-ca-pd'")
    assert (yuba["status"], yuba["to_id"]) == ("linked", "yuba-county-ca-so")
    assert yuba["rule"].startswith("list_state:CA (grantee): named in a list of auburn-ca-pd (CA)")
    (row,) = store.db.query("select * from data_access where owner_id = 'auburn-ca-pd' and "
                            "grantee_id = 'yuba-county-ca-so'")
    assert row["current"] == 1 and "Yuba County Sheriffs Office" in row["names_as_published"]


def test_linking_does_not_depend_on_loading_order(store, tmp_path):
    from alpr_inventory.load.ingest import Store
    from alpr_inventory.store.archive import Archive

    other = Store(open_db(str(tmp_path / "other.db")), Archive(tmp_path / "other_archive"))
    for s, steps in ((store, ("auburn", "yuba")), (other, ("yuba", "auburn"))):
        for step in steps:
            if step == "auburn":
                s.ingest(fetched_from_file(capture("auburn-ca-pd", "2026-04-25")))
            else:
                s.ingest(file_fetch(YUBA_AUDIT, "2026-06-01T00:00:00Z",
                                    agency="Yuba County CA SO"))
            s.finish()

    def dump(s):
        return sorted(tuple(r.values()) for r in s.db.query(
            "select * from sharing where list_agency_id = 'auburn-ca-pd'"))

    assert dump(store) == dump(other)


def test_owners_the_documents_cannot_place_are_listed_for_review(tmp_path):
    edges = CORPUS / "datasets" / "private_eyes" / "agency_access20240426.csv"
    db_path = tmp_path / "peer.db"
    assert run_cli("import", str(edges), db=db_path).returncode == 0
    out = run_cli("links", "--review", db=db_path)
    assert out.returncode == 0, out.stderr
    # "Flock Safety - Sales" publishes a list in the dataset; its organisations are spread over
    # states (read from the file by the resolver), so no state is given to it
    line = next(x for x in out.stdout.splitlines() if "'Flock Safety - Sales'" in x)
    assert line.startswith("Flock Safety Sales (flock-safety-sales): ")
    assert "owner_unplaced: the organisations it names do not settle a state" in line
    db = open_db(str(db_path))
    assert db.execute("select count(*) from owners_to_review where raw_name = "
                      "'Flock Safety - Sales'").fetchone()[0] == 1


# ---- one current answer, 287(g) partners ------------------------------------------------------
def el_cajon_with_287g(store) -> None:
    for day in ("2026-04-15", "2026-04-29"):
        store.ingest(fetched_from_file(capture("-el-cajon-pd-ca", day)))
    for sheet in NEWEST_287G:
        store.ingest(file_fetch(sheet, "2025-07-18T00:00:00Z"))
    edges = CORPUS / "datasets" / "private_eyes" / "agency_access20240426.csv"
    store.ingest(file_fetch(edges, "2024-04-26T00:00:00Z"))
    store.finish()


def test_el_cajon_one_row_per_grantee_and_current_is_the_newest_list(store):
    el_cajon_with_287g(store)
    rows = list(store.db.query("select * from data_access where owner_id = 'el-cajon-ca-pd'"))
    assert len({r["grantee_id"] for r in rows}) == len(rows)
    (newest,) = store.db.query("select * from owner_lists where owner_id = 'el-cajon-ca-pd'")
    assert (newest["captured_at"], newest["source_kind"], newest["names"]) == (
        "2026-04-29T00:00:00Z", "flock_portal", 683)
    # the newest list's 683 names are 682 organisations ("Arizona Department of Public Safety"
    # and "... [Inactive]"); exactly those are current; the 2024 dataset is history
    names = json.loads(store.db.execute("select names from sharing_lists where id = ?",
                                        [newest["list_id"]]).fetchone()[0])
    listed = {store.db.execute("select agency_id from agency_aliases where alias = ?",
                               [n]).fetchone()[0] for n in names}
    current = {r["grantee_id"] for r in rows if r["current"]}
    assert len(current) == 682 and current <= listed | {
        r["grantee_id"] for r in rows if r["in_newest_own_list"]}
    peer_only = [r for r in rows if r["sources"].startswith("The News & Observer's 'Private "
                                                            "Eyes' peer dataset (2024)")]
    assert peer_only and all(not r["current"] for r in peer_only)
    both = next(r for r in rows if r["grantee_id"] == "beaumont-ca-pd")
    assert both["sources"].index("its own portal") < both["sources"].index("Private Eyes")


def test_el_cajon_report_names_its_287g_partners(store):
    el_cajon_with_287g(store)
    r = build_report(store.db.conn, "El Cajon CA PD")
    names = {g.name: g for g in r.partners}
    assert len(names) == 24
    brevard = names["Brevard County FL SO"]
    assert brevard.ice_287g == "participating"
    assert "TFM (participating" in brevard.ice_287g_models and "WSO" in brevard.ice_287g_models
    assert {"Butler County OH SO", "Louisiana State LA PD", "Haywood County TN SO"} <= set(names)
    lede = " ".join(r.lede)
    assert "24 of the 682 agencies that can see El Cajon CA PD's data have 287(g) agreements " \
           "with ICE" in lede
    assert r.partner_statements[0].startswith("24 of the 682 agencies that can see El Cajon CA "
                                              "PD's data have 287(g) agreements with ICE")
    # the sheet version is the evidence, as a numbered source
    sheet = sha(NEWEST_287G[0])
    assert any(s.sha256 == sheet for s in r.sources)


def test_report_numbers_are_counted_once(store):
    el_cajon_with_287g(store)
    r = build_report(store.db.conn, "El Cajon CA PD")
    chart = dict(r.charts[0].data)
    groups = {key: len(people) for key, _, people in r.grantee_groups}
    assert int(chart["State not known"].replace(",", "")) == groups["unknown"]
    lede = " ".join(r.lede)
    assert f"for {groups['unknown']} the resolver has no state" in lede
    assert f"{groups['out_of_state']} of them are outside California" in lede
    assert int(chart["287(g) agreement with ICE (any group)"]) == len(r.partners) == 24
    # sources are said for what they are
    assert not any("own peer dataset" in e for people in r.grantee_groups for g in people[2]
                   for e in g.evidence)
    peer = [s for s in r.sources if s.doc_type == "peer_dataset"]
    assert peer and peer[0].title.startswith("Peer dataset: The News & Observer's 'Private "
                                             "Eyes' sharing edges, 2024")


# ---- any name finds the agency ----------------------------------------------------------------
def test_every_agency_command_accepts_the_name_the_portal_shows(tmp_path):
    db_path = tmp_path / "names.db"
    out = run_cli("import", str(capture("calistoga-ca-pd", "2026-04-18")),
                  str(capture("calistoga-ca-pd", "2026-04-25")), db=db_path)
    assert out.returncode == 0, out.stderr
    name = "Calistoga Police Department"
    for args in (("report", name, "--format", "md", "-o", "-"),
                 ("changes", "--agency", name),
                 ("agencies", "--agency", name.upper()),
                 ("state", "CA", "--agency", name),
                 ("links", "--agency", name)):
        done = run_cli(*args, db=db_path)
        assert done.returncode == 0, (args, done.stderr)
    report = run_cli("report", name.lower(), "--format", "md", "-o", "-", db=db_path).stdout
    assert report.startswith("# Who can see Calistoga CA PD's plate-reader data")
    agencies = run_cli("agencies", "--agency", "calistoga-ca-pd", db=db_path).stdout
    assert agencies.startswith("Calistoga CA PD (CA): ")


def test_an_unknown_name_is_an_error_with_the_closest_names(tmp_path):
    db_path = tmp_path / "names.db"
    assert run_cli("import", str(capture("calistoga-ca-pd", "2026-04-25")),
                   db=db_path).returncode == 0
    for args in (("agencies", "--agency", "Nowhere PD"), ("changes", "--agency", "Nowhere PD"),
                 ("report", "Calistogo CA PD", "--format", "md", "-o", "-")):
        done = run_cli(*args, db=db_path)
        assert done.returncode == 1 and done.stdout == ""
        assert "no agency named" in done.stderr
    near = run_cli("report", "Calistogo CA PD", db=db_path).stderr
    assert "Closest names: Calistoga CA PD (calistoga-ca-pd)" in near
