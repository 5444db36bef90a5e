"""Sharing the inventory: the published bundle served offline, the Datasette pages a reporter
reads (landing page, answers, evidence links, map), reports without file:// links, and the
--json/--csv answers.

One small database for the whole module (built once by `alpr-inventory import`): Okaloosa
County FL SO's released sharing report (records/okaloosa_fl_so/Sharing_Agencies.pdf), Bell CA
PD's 2026-04-11 portal capture, and the OpenStreetMap camera exports of DC and Oregon
(apis/osm_deflock/alpr-sync-usa_gh-pages).

Facts read in the documents themselves:
- Sharing_Agencies.pdf: three rows marked [Federal] have "Okaloosa County FL SO" under
  "Networks I'm Sharing": "[Federal] US GSA Office of Inspector General" (page 14),
  "[Federal] Wright Patterson OH Air Force Base" and "[Federal] US Postal Inspection Service"
  (page 26).
- District_of_Columbia.json: 17 features; operators: none on 14, "The Home Depot" on 2,
  "DC Metropolitan Police Department" on 1 (node 12875971813 at 38.9564491, -76.9990758,
  direction "45;225"); meta license "ODbL 1.0", generated_at 2025-10-04T09:29:44.855Z.
- Oregon.json: 220 features, 136 without operator, 30 with "Sutherlin Police Department".
- index.json: 51 states; California's export "usa/California.json" has 6011 nodes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import CORPUS, capture, run_cli

from alpr_inventory.serve.datasette_pages import content_type_for, file_name_for, shown_url
from alpr_inventory.serve.publish import PublishError, build_bundle, publish_command
from alpr_inventory.settings import REPO_ROOT
from crawlers.settings import find_chromium
from parsers.records.osm_cameras import parse_osm_cameras

ARTIFACTS = REPO_ROOT / "test-artifacts"
SHARING_PDF = CORPUS / "records" / "okaloosa_fl_so" / "Sharing_Agencies.pdf"
OSM = CORPUS / "apis" / "osm_deflock" / "alpr-sync-usa_gh-pages"
BELL = capture("bell-ca-pd", "2026-04-11")
FEDERAL_OKALOOSA = {"GSA Office of Inspector General", "U.S. Postal Inspection Service (USPIS)",
                    "U.S. Department of Defense / military installation - Wright Patterson (OH)"}
FILE_ADDRESS = re.compile(rb"file:///?\w")
needs_chromium = pytest.mark.skipif(
    not find_chromium() and os.environ.get("ALPR_REQUIRE_BROWSER") != "1",
    reason="Chromium not installed (./scripts/setup installs it)")


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("inventory") / "inventory.db"
    done = run_cli("import", str(SHARING_PDF), str(BELL), str(OSM / "District_of_Columbia.json"),
                   str(OSM / "Oregon.json"), db=db, timeout=300)
    assert done.returncode == 0, done.stderr
    return db


@pytest.fixture(scope="module")
def bundle(built, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("published") / "bundle"
    done = run_cli("publish", str(out), db=built, timeout=300)
    assert done.returncode == 0, done.stderr
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(bundle):
    """The bundle served as a reporter would: its own start.sh, offline, on 127.0.0.1."""
    port = _free_port()
    env = {**os.environ, "DATASETTE": str(Path(sys.executable).with_name("datasette")),
           "PORT": str(port)}
    proc = subprocess.Popen(["sh", str(bundle / "start.sh")], env=env, cwd="/",
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the bundle did not serve: "
                                       + proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


# ---- the camera export ------------------------------------------------------------------------
def test_osm_camera_export_is_read_with_its_licence():
    dc = parse_osm_cameras((OSM / "District_of_Columbia.json").read_bytes())
    assert len(dc.cameras) == 17 and dc.license == "ODbL 1.0"
    assert dc.generated_at == "2025-10-04T09:29:44.855Z" and dc.state_name == "District of Columbia"
    first = next(c for c in dc.cameras if c.osm_id == 12875971813)
    assert (first.latitude, first.longitude, first.direction, first.operator, first.state) == (
        38.9564491, -76.9990758, "45;225", "DC Metropolitan Police Department", "DC")
    assert sum(1 for c in dc.cameras if c.operator is None) == 14
    oregon = parse_osm_cameras((OSM / "Oregon.json").read_bytes())
    assert len(oregon.cameras) == 220
    assert sum(1 for c in oregon.cameras if c.operator is None) == 136
    # the snapshot's index.json lists the state exports (California: 6011 nodes), no cameras
    index = parse_osm_cameras((OSM / "index.json").read_bytes())
    assert index.cameras == [] and len(index.index) == 51
    assert {"state": "California", "file": "usa/California.json", "count": 6011} in index.index
    assert parse_osm_cameras(BELL.read_bytes()) is None
    # made here: a node without a position is skipped and said, never placed at (0, 0)
    made = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": []},
         "properties": {"id": 1, "tags": {"surveillance:type": "ALPR"}}}]}
    broken = parse_osm_cameras(json.dumps(made).encode())
    assert broken.cameras == [] and broken.warnings == [
        "1 feature(s) skipped: no point position or no OSM id"]


def test_cameras_are_loaded_with_the_operator_rule(built):
    import sqlite3

    conn = sqlite3.connect(built)
    rows = {r[0]: r[1:] for r in conn.execute(
        "select osm_id, operator_agency_id, operator_kind, operator_rule, latitude, state, "
        "snapshot_at from cameras where state = 'DC'")}
    assert len(rows) == 17
    agency, kind, rule, lat, state, when = rows[12875971813]
    assert (agency, kind, lat, state, when) == ("metropolitan-dc-pd", "local_police",
                                                38.9564491, "DC", "2025-10-04T09:29:44.855Z")
    assert rule.startswith("resolver: 'DC Metropolitan Police Department' -> metropolitan-dc-pd")
    shops = [r for r in rows.values() if r[1] == "private"]
    assert len(shops) == 2 and all(r[0] is None and r[2].startswith("not an agency") for r in shops)
    # Oregon's "Sutherlin Police Department" gives no state: the Oregon export places it
    (n, agency, rule), = conn.execute(
        "select count(*), operator_agency_id, operator_rule from cameras "
        "where operator = 'Sutherlin Police Department' group by 2, 3")
    assert (n, agency) == (30, "sutherlin-or-pd") and rule.startswith("osm_state:OR:")
    doc = conn.execute("select d.doc_type, d.parser_version, f.captured_at_basis from documents d "
                       "join fetches f using (sha256) where d.sha256 = ?",
                       [sha_of(OSM / "District_of_Columbia.json")]).fetchone()
    assert doc[0] == "osm_cameras" and doc[1].startswith("osm_cameras/1") and doc[2] == "document"


# ---- the bundle -------------------------------------------------------------------------------
def test_bundle_holds_everything_and_no_file_address(bundle, built):
    for name in ("inventory.db", "metadata.json", "settings.json", "start.sh",
                 "requirements.txt", "README.txt", "plugins/alpr_inventory_plugin.py"):
        assert (bundle / name).is_file(), name
    assert (bundle / "plugins" / "alpr_inventory_src" / "alpr_inventory" / "serve" /
            "datasette_plugin.py").is_file()
    assert not list((bundle / "plugins").rglob("plate_hash.key"))
    # every archived document is there, byte for byte
    for path in (SHARING_PDF, BELL, OSM / "Oregon.json"):
        digest = sha_of(path)
        assert (bundle / "archive" / digest[:2] / digest[2:4] / digest).read_bytes() == \
            path.read_bytes()
    # the built database knows where the PDF was imported from; the bundle only its name
    assert FILE_ADDRESS.search(built.read_bytes())
    for name in ("inventory.db", "metadata.json", "README.txt", "start.sh"):
        assert not FILE_ADDRESS.search((bundle / name).read_bytes()), name
    import sqlite3

    conn = sqlite3.connect(bundle / "inventory.db")
    assert conn.execute("select url from documents where sha256 = ?",
                        [sha_of(SHARING_PDF)]).fetchone()[0] == \
        "imported file Sharing_Agencies.pdf"
    assert conn.execute("pragma journal_mode").fetchone()[0] == "delete"
    meta = json.loads((bundle / "metadata.json").read_text())
    assert meta["databases"]["inventory"]["tables"]["cameras"]["license"] == "ODbL 1.0"
    assert "datasette-block-robots==1.1.1" in (bundle / "requirements.txt").read_text()


def test_bundle_with_archive_base_url_links_there(built, tmp_path):
    out = build_bundle(built, tmp_path / "b", archive_base_url="https://files.example.org/a")
    assert not (tmp_path / "b" / "archive").exists()
    meta = json.loads(out.metadata.read_text())
    assert meta["plugins"]["alpr-inventory"]["archive_base_url"] == "https://files.example.org/a/"
    with pytest.raises(PublishError, match="http"):
        build_bundle(built, tmp_path / "c", archive_base_url="file:///tmp/archive")


def test_publish_commands_hand_over_to_datasette(bundle):
    fly = publish_command(bundle, "fly", name="alpr-inv")
    assert fly[:3] == ["datasette", "publish", "fly"] and fly[fly.index("--app") + 1] == "alpr-inv"
    assert str(bundle / "inventory.db") in fly and "--plugins-dir" in fly
    installs = [fly[i + 1] for i, a in enumerate(fly) if a == "--install"]
    assert {"datasette-block-robots==1.1.1", "datasette-search-all==1.1.4",
            "datasette-cluster-map==0.18.2"} <= set(installs)
    assert f"archive:{bundle / 'archive'}" in fly
    cloudrun = publish_command(bundle, "cloudrun", name="svc", allow_robots=True)
    assert cloudrun[cloudrun.index("--service") + 1] == "svc"
    assert not any(a.startswith("datasette-block-robots") for a in cloudrun)
    assert publish_command(bundle, "package")[:2] == ["datasette", "package"]
    shown = run_cli("publish", str(bundle), "--to", "cloudrun", "--dry-run", "--name", "svc",
                    db=bundle.parent.parent / "nothing.db")
    assert shown.returncode != 0 and "no database" in shown.stderr


def test_report_with_base_url_has_no_file_links(built, tmp_path):
    base = "https://files.example.org/archive/"
    digest = sha_of(SHARING_PDF)
    for fmt in ("html", "md"):
        out = tmp_path / f"okaloosa.{fmt}"
        done = run_cli("report", "Okaloosa County FL SO", "--format", fmt, "-o", str(out),
                       "--archive-base-url", base, db=built)
        assert done.returncode == 0, done.stderr
        text = out.read_text(encoding="utf-8")
        assert "file://" not in text
        assert f"{base}{digest[:2]}/{digest[2:4]}/{digest}" in text
        assert "imported file Sharing_Agencies.pdf" in text


# ---- the bundle served ------------------------------------------------------------------------
def test_served_bundle_answers_the_canned_questions(served):
    status, _, body = get(served + "/inventory/federal_access_for_agency.json?"
                          "agency=Okaloosa+County+FL+SO&_shape=array")
    assert status == 200
    assert {r["federal_grantee"] for r in json.loads(body)} == FEDERAL_OKALOOSA
    status, _, body = get(served + "/inventory/who_can_see.json?agency=okaloosa&_shape=array")
    rows = json.loads(body)
    assert status == 200 and rows[0]["page_note"] == "page 1: more rows follow, ask page 2"
    page = 1
    while rows[-1]["page_note"] != f"page {page}: last page":  # paged: schema.PAGE_SIZE rows
        page += 1
        _, _, body = get(served + f"/inventory/who_can_see.json?agency=okaloosa&page={page}"
                         "&_shape=array")
        rows += json.loads(body)
        assert page < 50
    assert rows[0]["rows_total"] == len(rows) > 200
    assert FEDERAL_OKALOOSA <= {r["can_see_data"] for r in rows}
    status, _, body = get(served + "/robots.txt")
    assert status == 200 and b"Disallow: /" in body
    status, _, body = get(served + "/inventory/cameras.json?state=DC&_shape=array&_size=100")
    assert status == 200 and len(json.loads(body)) == 17


def test_every_evidence_link_on_an_agency_answer_returns_the_original(served):
    status, _, page = get(served + "/-/ask?agency=Okaloosa")
    assert status == 200
    html = page.decode()
    for name in FEDERAL_OKALOOSA:
        assert name in html.replace("&#39;", "'")
    links = set(re.findall(r'<a class="alpr-doc" href="([^"]+)"', html))
    assert links == {f"/-/archive/{sha_of(SHARING_PDF)}"}
    for link in links:
        status, headers, body = get(served + link)
        assert status == 200 and hashlib.sha256(body).hexdigest() == link.rsplit("/", 1)[1]
        assert headers["content-type"] == "application/pdf"
        assert headers["content-disposition"].startswith(
            'inline; filename="Sharing_Agencies.pdf"')
    # a portal page is served as HTML, sandboxed, under its portal's name
    status, headers, _ = get(served + f"/-/archive/{sha_of(BELL)}")
    assert headers["content-type"].startswith("text/html")
    assert headers["content-security-policy"].startswith("sandbox")
    assert 'filename="bell-ca-pd.html"' in headers["content-disposition"]
    status, _, _ = get(served + "/-/ask?agency=No+Such+Agency+Anywhere")
    assert status == 404


def test_evidence_and_json_cells_render_as_links_and_lists(served):
    _, _, body = get(served + "/inventory/federal_access")
    html = body.decode()
    digest = sha_of(SHARING_PDF)
    assert f'<a class="alpr-doc" href="/-/archive/{digest}"' in html
    assert f'["{digest}"]' not in html
    _, _, body = get(served + "/inventory/portal_snapshots")
    assert '<ul class="alpr-json">' in body.decode()
    # the landing page asks the questions and lists the canned queries as questions
    _, _, body = get(served + "/")
    landing = body.decode()
    assert 'name="agency"' in landing and 'name="state"' in landing and "/-/search" in landing
    assert "Who can see agency X&#39;s data (and since when)" in landing
    assert "OpenStreetMap contributors" in landing


def test_urls_that_die_with_the_demo_are_said_for_what_they_are():
    assert "local replay server" in shown_url("http://127.0.0.1:53211/medina-wa-pd")
    assert "imported file x.pdf" in shown_url("file:///home/me/x.pdf")
    assert shown_url("https://transparency.flocksafety.com/bell-ca-pd") is None


def test_archived_documents_get_their_real_type_and_a_name():
    pdf = SHARING_PDF.read_bytes()
    assert content_type_for(pdf, None, None) == "application/pdf"
    assert content_type_for(pdf, "application/octet-stream", None) == "application/pdf"
    assert file_name_for("https://transparency.flocksafety.com/bell-ca-pd", "ab" * 32,
                         "text/html; charset=utf-8") == "bell-ca-pd.html"
    assert content_type_for(BELL.read_bytes(), None, None).startswith("text/html")
    assert file_name_for(None, "ab" * 32, "application/pdf") == "abababababab.pdf"


# ---- --json and --csv -------------------------------------------------------------------------
def test_answers_as_json_lines_and_csv(built):
    done = run_cli("agencies", "--federal", "--agency", "Okaloosa", "--json", db=built)
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["federal_grantee"] for r in rows} == FEDERAL_OKALOOSA
    assert all(r["evidence_documents"] == [sha_of(SHARING_PDF)] for r in rows)
    done = run_cli("agencies", "--state", "FL", "--csv", db=built)
    lines = done.stdout.splitlines()
    assert lines[0].startswith("data_owner_id,data_owner,owner_state,grantees,federal")
    okaloosa = next(line for line in lines if line.startswith("okaloosa-county-fl-so,"))
    assert okaloosa.split(",")[4] == "3"  # three federal bodies
    done = run_cli("state", "FL", "--json", db=built)
    sections = [json.loads(line)["section"] for line in done.stdout.splitlines()]
    assert sections[0] == "policy" and sections.count("federal_access") == 3
    done = run_cli("summary", "--csv", db=built)
    assert done.stdout.splitlines()[0] == "what,count"
    both = run_cli("links", "--json", db=built)
    assert both.returncode == 0


# ---- as a person uses it ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser():
    if not find_chromium():
        pytest.fail("Chromium missing: ./scripts/setup installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    from alpr_inventory.serve.report import CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS)
        yield b
        b.close()


@needs_chromium
def test_a_reporter_asks_follows_the_evidence_and_opens_the_map(served, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(30_000)
    page.goto(served + "/")
    page.screenshot(path=str(ARTIFACTS / "publish-landing.png"))
    assert page.locator("h1").inner_text() == "Who can see an agency's plate-reader data?"
    assert page.get_by_text("Who can see agency X's data (and since when)").is_visible()
    # ask for an agency by part of its name
    page.fill("#agency", "Okaloosa County")
    page.get_by_role("button", name="Who can see its data?").click()
    page.wait_for_load_state()
    page.screenshot(path=str(ARTIFACTS / "publish-agency-answer.png"), full_page=True)
    assert page.locator("h1").inner_text() == "Okaloosa County FL SO"
    for name in FEDERAL_OKALOOSA:
        assert page.get_by_text(name, exact=True).is_visible()
    assert page.get_by_role("link", name="Exposure report").is_visible()
    # follow an evidence link: the PDF itself, with its content type
    link = page.locator("a.alpr-doc").first
    href = link.get_attribute("href")
    resp = page.request.get(served + href)
    assert resp.status == 200 and resp.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(resp.body()).hexdigest() == sha_of(SHARING_PDF)
    pdf_page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        with pdf_page.expect_response(lambda r: "/-/archive/" in r.url) as seen:
            try:
                pdf_page.goto(served + href)
            except Exception:  # headless Chromium may hand a PDF to its downloader
                pass
        assert seen.value.headers["content-type"] == "application/pdf"
        # it opens in the browser: Chromium's PDF viewer (an extension frame) shows it, rather
        # than a download of a nameless file
        deadline = time.monotonic() + 20
        while not any(f.url.startswith("chrome-extension://") for f in pdf_page.frames) and \
                time.monotonic() < deadline:
            pdf_page.wait_for_timeout(200)
        assert any(f.url.startswith("chrome-extension://") and f.url.endswith("/index.html")
                   for f in pdf_page.frames)
        pdf_page.wait_for_timeout(2500)  # the viewer draws the first page (for the screenshot)
        pdf_page.screenshot(path=str(ARTIFACTS / "publish-evidence-pdf.png"))
    finally:
        pdf_page.close()
    # the exposure report from the answer
    page.get_by_role("link", name="Exposure report").click()
    page.wait_for_load_state()
    assert "Okaloosa County FL SO" in page.locator("h1").inner_text()
    # the camera map: markers drawn offline (tiles cannot load here)
    page.goto(served + "/inventory/cameras?state=DC")
    page.wait_for_selector(".leaflet-marker-icon", state="attached")
    page.screenshot(path=str(ARTIFACTS / "publish-camera-map.png"))
    assert page.locator(".leaflet-marker-icon").count() >= 1
    assert page.locator("#map, .leaflet-container").first.is_visible()
    # the column descriptions are folded away, the rows on the first screen
    details = page.locator("details.alpr-columns")
    assert details.count() == 1 and details.get_attribute("open") is None
    assert page.locator("table.rows-and-columns").is_visible()
    # search across every table from the landing page
    page.goto(served + "/")
    page.fill("input[name=q]", "Sutherlin")
    page.get_by_role("button", name="Search all tables").click()
    page.wait_for_selector("text=Sutherlin Police Department")
    page.screenshot(path=str(ARTIFACTS / "publish-search-all.png"))
    assert page.get_by_text("Sutherlin Police Department").first.is_visible()
    # a canned answer readable at 1,400 px: no sideways scrolling
    page.goto(served + "/inventory/federal_access_for_agency?agency=okaloosa")
    page.screenshot(path=str(ARTIFACTS / "publish-canned-federal-access.png"))
    cell = page.locator("td.col-federal_grantee", has_text="U.S. Postal Inspection Service")
    assert cell.is_visible()
    box = cell.bounding_box()  # on the first screen, in a column wide enough for words
    assert box["x"] + box["width"] <= 1400 and box["width"] >= 70
    assert page.locator("td.col-current_basis").first.bounding_box()["width"] >= 150
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    page.close()


def test_parse_prints_the_cameras(tmp_path):
    done = run_cli("parse", str(OSM / "District_of_Columbia.json"), "--json",
                   db=tmp_path / "unused.db")
    out = json.loads(done.stdout)
    assert (out["kind"], out["parse_status"]) == ("osm_cameras", "ok")
    assert out["cameras"]["license"] == "ODbL 1.0"
    assert out["cameras"]["cameras"][0]["osm_id"] == 12875971813  # the file's first feature
