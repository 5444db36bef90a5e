"""The exposure report, read as a person reads it: HTML in headless Chromium, the PDF's pages,
the report page inside Datasette. Screenshots go to test-artifacts/ (gitignored).

Facts checked, read in the corpus: El Cajon CA PD's 2026-04-29 portal capture lists 683
organisations that can see its data, hundreds of them outside California, none federal;
Okaloosa County FL SO's sharing report (records/okaloosa_fl_so/Sharing_Agencies.pdf) lets three
federal bodies see its data (GSA OIG, Wright-Patterson AFB, USPIS); San Diego CA PD's 2026-04-20
capture publishes "External organizations with access - None"; Alexandria VA PD's 2026-04-26
capture publishes no such list at all.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import CORPUS, REPO_ROOT, capture, fetched_from_file, run_cli

from alpr_inventory.load.ingest import Fetched, utc_now
from alpr_inventory.serve.report import (
    STATE_RULES,
    AgencyNotFound,
    build_report,
    find_agency,
    render_html,
    render_markdown,
    state_rules,
)
from crawlers.settings import find_chromium

ARTIFACTS = REPO_ROOT / "test-artifacts"
EL_CAJON = "-el-cajon-pd-ca"
OKALOOSA_SHARING = CORPUS / "records" / "okaloosa_fl_so" / "Sharing_Agencies.pdf"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
needs_chromium = pytest.mark.skipif(
    not find_chromium() and os.environ.get("ALPR_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (./scripts/setup installs it)")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def el_cajon(store) -> list[Path]:
    paths = [capture(EL_CAJON, d) for d in ("2026-04-15", "2026-04-22", "2026-04-29")]
    for path in paths:
        store.ingest(fetched_from_file(path))
    store.finish()
    return paths


def okaloosa(store) -> None:
    body = OKALOOSA_SHARING.read_bytes()
    # the release's audit file name gives its period (to 2025-12-08): the date given on import
    store.ingest(Fetched(body=body, url=OKALOOSA_SHARING.resolve().as_uri(), source="test",
                         fetched_at=utc_now(), captured_at="2025-12-08T00:00:00Z",
                         captured_at_basis="given", fetched_from=str(OKALOOSA_SHARING)))
    store.finish()


def db_file(store) -> Path:
    return Path(store.db.execute("pragma database_list").fetchone()[2])


@pytest.fixture(scope="module")
def browser():
    if not find_chromium():
        pytest.fail("Chromium missing: ./scripts/setup installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


# ---- what the report says -------------------------------------------------------------------
def test_el_cajon_report_states_dated_facts_with_sources(store):
    paths = el_cajon(store)
    r = build_report(store.db.conn, "El Cajon CA PD")
    lede = " ".join(r.lede)
    assert re.search(r"The 2026-04-29 capture of its portal \[\[\d+\]\] lists 683 organisations "
                     r"that can see El Cajon CA PD's data", lede)
    assert "None of them is a federal body" in lede
    groups = {key: people for key, _, people in r.grantee_groups}
    assert groups["federal"] == []
    # hundreds of out-of-state grantees (Acworth GA PD, Ada County ID SO, ...), each from the list
    assert len(groups["out_of_state"]) > 300
    assert {"Acworth GA PD", "Ada County ID SO"} <= {g.name for g in groups["out_of_state"]}
    assert f"{len(groups['out_of_state'])} of them are outside California" in lede
    # California's rule, cited, and the apparent conflict said as such
    assert r.rule is not None and r.rule.state == "CA" and "1798.90" in r.rule.citation
    conflicts = [s for s in r.rule_statements if "appears to conflict" in s]
    assert len(conflicts) == 1 and "out-of-state organisations" in conflicts[0]
    assert "it is not a legal finding" in " ".join(r.rule_statements)
    # what changed: College Place WA PD gone on 2026-04-22, Las Vegas Metro renamed on 04-29
    kinds = {(c["kind"], c["raw_name"]) for c in r.changes}
    assert ("grantee_removed", "College Place WA PD") in kinds
    assert ("grantee_renamed", "Las Vegas Metro Police Department - NV") in kinds
    # the three captures are sources 1-3, oldest first, with URL, capture date and hash
    assert [(s.sha256, s.captures[0][0]) for s in r.sources[:3]] == [
        (sha(p), f"{p.stem}T00:00:00Z") for p in paths]
    assert r.sources[2].url == "https://transparency.flocksafety.com/-el-cajon-pd-ca"
    facts = dict(r.portal_facts)
    assert (facts["Data retention"], facts["Cameras"].split()[0]) == ("30 days", "102")
    assert any(label == "Prohibited uses" and "Immigration enforcement" in text
               for label, text in r.policies)
    assert len(r.charts) >= 2 and all(c.svg.startswith("<svg") for c in r.charts)


def test_okaloosa_report_lists_the_three_federal_bodies_first(store):
    okaloosa(store)
    r = build_report(store.db.conn, "Okaloosa County FL SO")
    assert [key for key, _, _ in r.grantee_groups][:2] == ["federal", "out_of_state"]
    federal = {key: people for key, _, people in r.grantee_groups}["federal"]
    assert sorted((g.component, g.names[0]) for g in federal) == [
        ("DOD", "[Federal] Wright Patterson OH Air Force Base"),
        ("GSA-OIG", "[Federal] US GSA Office of Inspector General"),
        ("USPIS", "[Federal] US Postal Inspection Service")]
    assert all(g.marked_federal and not g.immigration for g in federal)
    lede = " ".join(r.lede)
    assert "dated 2025-12-08 (date given on import)" in lede
    assert "3 of them are federal bodies" in lede and "None is an immigration" in lede
    html = render_html(r)
    # federal bodies come before every other group in the document
    assert html.index("GSA Office of Inspector General") < html.index("Out-of-state organisations")
    assert sha(OKALOOSA_SHARING) in html


def test_a_report_for_an_agency_with_no_sharing_says_so(store):
    store.ingest(fetched_from_file(capture("san-diego-ca-pd", "2026-04-20")))
    store.ingest(fetched_from_file(capture("alexandria-va-pd", "2026-04-26")))
    store.finish()
    empty = build_report(store.db.conn, "San Diego CA PD")
    assert re.fullmatch(
        r"The 2026-04-20 capture of its portal \[\[1\]\] lists no organisations that can see San "
        r"Diego CA PD's data under the heading 'External organizations with access - None': it "
        r"publishes the list empty\.", empty.lede[0])
    assert all(not people for _, _, people in empty.grantee_groups)
    none = build_report(store.db.conn, "alexandria-va-pd")
    assert none.lede[0].startswith("No document in this database publishes Alexandria VA PD's "
                                   "own list of organisations that can see its data.")
    assert "That does not show that none can" in none.lede[0]
    # data/state_policies.csv line 48: Virginia, every column 'unknown'; the report says what
    # that file records for the state, never a list of the states some table happens to cover
    assert none.rule_statements[0].startswith(
        "data/state_policies.csv (line 48) records no law on sharing plate-reader data for "
        "Virginia (ALPR sharing law: unknown;")
    assert "That is not a finding that the state has none." in none.rule_statements[0]
    assert "No list in this database names an organisation whose data" in \
        none.receives_statements[0]


def test_flagged_searches_are_listed_and_highlighted(store, tmp_path):
    # CONSTRUCTED audit export (Eugene's 2025 column layout), written for this test: the corpus
    # has no immigration-related reason, so two rows here carry one.
    audit = tmp_path / "constructed_audit_2025-09-10.csv"
    audit.write_text(
        '"id","userId","searchDate","cameraCount","reason"\n'
        '"c0000000-0000-4000-8000-000000000001","***","2025-09-01 10:00:00.000",12,"theft"\n'
        '"c0000000-0000-4000-8000-000000000002","***","2025-09-02 11:00:00.000",12,'
        '"assist ICE ERO"\n'
        '"c0000000-0000-4000-8000-000000000003","***","2025-09-09 12:00:00.000",12,'
        '"HSI case 22"\n'
        '"c0000000-0000-4000-8000-000000000004","***","2025-09-10 13:00:00.000",12,'
        '"ice cream truck"\n', encoding="utf-8")
    store.ingest(Fetched(body=audit.read_bytes(), url=audit.as_uri(), source="test",
                         fetched_at=utc_now(), captured_at="2025-09-10T00:00:00Z",
                         captured_at_basis="filename", fetched_from=str(audit),
                         agency="Eugene OR PD"))
    store.finish()
    r = build_report(store.db.conn, "Eugene OR PD")
    assert r.searches["total"]["n"] == 4 and r.searches["total"]["imm"] == 2
    assert [f["reason"] for f in r.searches["flagged"]] == ["assist ICE ERO", "HSI case 22"]
    assert "4 searches" in r.searches["statements"][0]
    chart = r.charts[-1]
    assert chart.title.startswith("Searches per week")
    assert "immigration-related reason (2)" in chart.svg
    html = render_html(r)
    assert "assist ICE ERO" in html and "ice cream truck" not in html


def test_names_from_documents_are_escaped(store):
    # CONSTRUCTED released list: a hostile organisation name must stay text in the report
    store.add_sharing_list("el-cajon-ca-pd", "outbound", ["<script>alert(1)</script> PD"],
                           "0" * 64, "2026-05-01T00:00:00Z", "records_release", "constructed")
    store.db["agencies"].insert({"id": "el-cajon-ca-pd", "name": "El Cajon CA PD",
                                 "state": "CA", "kind": "local_police"}, pk="id", ignore=True)
    store.finish()
    html = render_html(build_report(store.db.conn, "el-cajon-ca-pd"))
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; PD" in html


def test_find_agency_by_name_id_or_slug(store):
    el_cajon(store)
    conn = store.db.conn
    assert {find_agency(conn, x)["id"] for x in
            ("El Cajon CA PD", "el-cajon-ca-pd", EL_CAJON, "el cajon ca pd")} == {"el-cajon-ca-pd"}
    with pytest.raises(AgencyNotFound) as many:
        find_agency(conn, "Beaumont")  # El Cajon's list names Beaumont CA PD and Beaumont TX PD
    assert {aid for aid, _ in many.value.candidates} >= {"beaumont-ca-pd", "beaumont-tx-pd"}
    with pytest.raises(AgencyNotFound):
        find_agency(conn, "No Such Agency XYZ")


def test_state_rules_come_from_the_state_policy_table_when_it_loads(monkeypatch):
    rules, origin = state_rules()
    by_state = {r.state: r for r in rules}
    assert {"CA", "IL", "WA"} <= set(by_state)
    assert {"federal", "out_of_state"} <= set(by_state["CA"].forbids)
    assert "immigration" in by_state["IL"].forbids
    assert [g for g, _ in by_state["IL"].conditions] == ["out_of_state"]  # a declaration
    assert "RCW 43.17.425" in by_state["WA"].citation
    try:
        import alpr_inventory.resolve.state_policies  # noqa: F401
    except ImportError:
        assert origin.startswith("the table in alpr_inventory/serve/report.py")
    else:
        assert origin.startswith("data/state_policies.csv")
    # as if not there
    monkeypatch.setitem(sys.modules, "alpr_inventory.resolve.state_policies", None)
    assert state_rules()[0] == STATE_RULES


# ---- as a person uses it ----------------------------------------------------------------------
@needs_chromium
def test_html_report_in_chromium(store, tmp_path, browser):
    el_cajon(store)
    out = tmp_path / "el-cajon.html"
    result = run_cli("report", "El Cajon CA PD", "--output", str(out), db=db_file(store))
    assert result.returncode == 0, result.stderr
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    requests: list[str] = []
    page.on("request", lambda req: requests.append(req.url))
    page.goto(out.as_uri())
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-el-cajon.png"))
    page.screenshot(path=str(ARTIFACTS / "report-el-cajon-full.png"), full_page=True)
    assert page.locator("h1").inner_text() == "Who can see El Cajon CA PD's plate-reader data"
    lede = page.locator(".lede").inner_text()
    assert "The 2026-04-29 capture of its portal [3] lists 683 organisations" in lede
    headings = page.locator("h3").all_inner_texts()
    order = [h.split(" (")[0] for h in headings if "organisations" in h or "bodies" in h]
    assert order[:4] == ["Federal and immigration-enforcement bodies",
                         "Out-of-state organisations", "In-state organisations",
                         "Private organisations"]
    assert page.locator("svg.chart").count() >= 2
    assert page.get_by_text("Who can see El Cajon CA PD's data, by kind").count() >= 1
    assert page.get_by_text("College Place WA PD", exact=False).count() >= 1
    # source [3] is the 2026-04-29 capture, with its hash and a working link to the archive
    source = page.locator("#src-3").inner_text()
    assert sha(capture(EL_CAJON, "2026-04-29")) in source and "2026-04-29" in source
    href = page.locator("#src-3 a", has_text="archived copy").get_attribute("href")
    # relative to the report, never a file:// address of the machine that wrote it
    assert not href.startswith("file:") and not href.startswith("/")
    assert (out.parent / href).resolve().read_bytes() == \
        capture(EL_CAJON, "2026-04-29").read_bytes()
    assert "file://" not in out.read_text(encoding="utf-8")
    # self-contained: nothing but the file itself was requested
    assert requests == [out.as_uri()]
    page.close()


@needs_chromium
def test_pdf_report_pages_and_text(store, tmp_path):
    import pdfplumber

    okaloosa(store)
    out = tmp_path / "okaloosa.pdf"
    result = run_cli("report", "Okaloosa County FL SO", "--format", "pdf", "-o", str(out),
                     db=db_file(store))
    assert result.returncode == 0, result.stderr
    with pdfplumber.open(out) as pdf:
        pages = [p.extract_text() or "" for p in pdf.pages]
    total = len(pages)
    assert total >= 5  # 506 organisations that can see its data, 656 whose data it can see
    assert all(f"page {i} of {total}" in text for i, text in enumerate(pages, 1))
    first = re.sub(r"\s+", " ", pages[0])
    assert "Who can see Okaloosa County FL SO's plate-reader data" in first
    assert "lists 506 organisations that can see Okaloosa County FL SO's data" in first
    assert "3 of them are federal bodies" in first
    text = re.sub(r"\s+", " ", " ".join(pages))
    assert "U.S. Postal Inspection Service (USPIS)" in text
    assert "Federal and immigration-enforcement bodies (3)" in text
    assert "Sources" in text and "Rules table" in text


def test_markdown_report_to_stdout(store):
    el_cajon(store)
    result = run_cli("report", "el-cajon-ca-pd", "--format", "md", "-o", "-", db=db_file(store))
    assert result.returncode == 0, result.stderr
    md = result.stdout
    assert md.startswith("# Who can see El Cajon CA PD's plate-reader data")
    assert "## Sources" in md and "[3]" in md and "College Place WA PD" in md
    assert render_markdown(build_report(store.db.conn, "el-cajon-ca-pd")).splitlines()[0] == \
        md.splitlines()[0]
    missing = run_cli("report", "No Such Agency XYZ", db=db_file(store))
    assert missing.returncode != 0 and "no agency named" in missing.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(store):
    """`alpr-inventory serve` on a database of El Cajon's three captures."""
    el_cajon(store)
    path = db_file(store)
    store.db.close()
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "alpr_inventory.cli", "serve", "--db", str(path), "--port",
         str(port)], cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(proc.stdout.read().decode())
                time.sleep(0.1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the serve command and the Datasette it started
        proc.wait(timeout=10)


@needs_chromium
def test_datasette_agency_page_links_to_the_report(served, browser):
    page = browser.new_page(viewport={"width": 1200, "height": 1300})
    page.goto(served + "/inventory/agencies/el-cajon-ca-pd")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "datasette-agency-el-cajon.png"))
    link = page.locator("a.alpr-report").first
    assert link.inner_text() == "exposure report"
    link.click()
    page.wait_for_load_state()
    assert page.url == served + "/-/report/el-cajon-ca-pd"
    page.screenshot(path=str(ARTIFACTS / "datasette-report-el-cajon.png"))
    assert page.locator("h1").inner_text() == "Who can see El Cajon CA PD's plate-reader data"
    assert "lists 683 organisations" in page.locator(".lede").inner_text()
    assert page.locator("svg.chart").count() >= 2
    # the archive link serves the original bytes, sandboxed
    href = page.locator("#src-3 a", has_text="archived copy").get_attribute("href")
    with urllib.request.urlopen(served + href) as resp:
        assert resp.read() == capture(EL_CAJON, "2026-04-29").read_bytes()
        assert resp.headers["Content-Security-Policy"].startswith("sandbox")
    # the agencies table links each name to its report too
    page.goto(served + "/inventory/agencies?_search=El+Cajon")
    assert page.locator("a.alpr-report").count() >= 1
    # and the changes table is there, with its canned query
    page.goto(served + "/inventory/recent_changes?agency=El+Cajon&since=&federal=")
    assert page.get_by_text("College Place WA PD").count() >= 1
    page.close()
