"""The ice_287g and documents spiders against a local static server (never the live sites)."""

from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import openpyxl
import pytest
from conftest import CORPUS, run_cli

from alpr_inventory.store.schema import open_db

SHEETS = CORPUS / "agreements" / "287g" / "sheets"
MOA = CORPUS / "agreements" / "287g" / "moa" / "HamiltonCoIN_JEM_MOA_03.03.2025.pdf"
POLICY = CORPUS / "records" / "eugene_or_pd" / "eugene_or_pd_Policy-1204.pdf"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path):
    """A static site on 127.0.0.1 serving tmp_path/www (files linked from the corpus)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_ice_287g_spider_downloads_the_sheets_and_moas(site, tmp_path):
    root, base = site
    real = sorted(SHEETS.glob("*participatingAgencies07182025pm.xlsx"))[-1]
    (root / "participatingAgencies07182025pm.xlsx").symlink_to(real)
    pending = sorted(SHEETS.glob("*pendingAgencies07182025pm.xlsx"))[-1]
    (root / "pendingAgencies07182025pm.xlsx").symlink_to(pending)
    (root / "moa").mkdir()
    (root / "moa" / MOA.name).symlink_to(MOA)
    # constructed: a one-row sheet whose MOA link points at the local server
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED",
               "MOA"])
    ws.append(["INDIANA", "Hamilton County Sheriff's Office", "County", "Hamilton County",
               "Jail Enforcement Model", "2025-03-03", "link"])
    ws["G2"].hyperlink = f"{base}moa/{MOA.name}"
    book.save(root / "participatingAgencies07192025am.xlsx")
    # constructed: the page listing the sheets, in the shape of ICE's 287(g) page
    (root / "287g.html").write_text(
        "<html><body><h1>287(g) (constructed test page)</h1>"
        "<a href='participatingAgencies07182025pm.xlsx'>Participating agencies</a>"
        "<a href='pendingAgencies07182025pm.xlsx'>Pending agencies</a>"
        "<a href='participatingAgencies07192025am.xlsx'>Participating agencies (newer)</a>"
        "<a href='/other.html'>Something else</a></body></html>")
    db_path = tmp_path / "ice.db"
    out = run_cli("crawl", "ice-287g", "--base-url", f"{base}287g.html", "--max-moas", "1",
                  "--log-level", "WARNING", db=db_path)
    assert out.returncode == 0, out.stderr[-2000:]
    db = open_db(str(db_path))
    kinds = sorted(r["doc_type"] for r in db["documents"].rows)
    assert kinds.count("ice_287g_sheet") == 3 and len(kinds) == 5  # page, 3 sheets, 1 MOA
    moa = next(db.query("select * from fetches where url like '%/moa/%'"))
    assert moa["http_status"] == 200
    # a second run fetches the sheets again but not the MOA it already holds
    again = run_cli("crawl", "ice-287g", "--base-url", f"{base}287g.html", "--log-level",
                    "WARNING", db=db_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert open_db(str(db_path)).execute(
        "select count(*) from fetches where url like '%/moa/%'").fetchone()[0] == 1
    hamilton = next(db.query("select * from agreements where agency = "
                             "'Hamilton County Sheriff''s Office' and model = 'JEM'"))
    assert hamilton["last_listed"] == "2025-07-19" and hamilton["signed"] == "2025-03-03"
    assert db["agreements"].count > 800  # the real 18 July sheet: 832 participating rows


def test_documents_spider_follows_relevant_links_on_one_site(site, tmp_path):
    root, base = site
    (root / "docs").mkdir()
    (root / "docs" / "alpr-policy-1204.pdf").symlink_to(POLICY)
    (root / "docs" / "dmv-data-access-agreement.pdf").symlink_to(MOA)
    (root / "docs" / "budget.pdf").symlink_to(POLICY)
    # constructed pages of an agency site
    (root / "index.html").write_text(
        "<html><body><a href='docs/alpr-policy-1204.pdf'>ALPR Policy</a>"
        "<a href='sharing.html'>Data sharing agreements</a>"
        "<a href='minutes.html'>Council minutes</a>"
        "<a href='docs/budget.pdf'>Budget 2026</a>"
        "<a href='https://example.org/flock.pdf'>Flock (elsewhere)</a></body></html>")
    (root / "sharing.html").write_text(
        "<html><body><a href='docs/dmv-data-access-agreement.pdf'>DMV agreement</a>"
        "</body></html>")
    (root / "minutes.html").write_text("<html><body>minutes</body></html>")
    db_path = tmp_path / "docs.db"
    out = run_cli("crawl", "documents", "--log-level", "WARNING", "--", f"{base}index.html",
                  db=db_path)
    assert out.returncode == 0, out.stderr[-2000:]
    db = open_db(str(db_path))
    urls = {r["url"].replace(base, "") for r in db["fetches"].rows}
    # pages visited are archived (they list the documents); budget, minutes, elsewhere are not
    assert urls == {"index.html", "sharing.html", "docs/alpr-policy-1204.pdf",
                    "docs/dmv-data-access-agreement.pdf"}
    # provenance: each document joins the page that listed it, with the link text
    listed = {r["url"].replace(base, ""): r for r in db.query(
        "select * from released_documents where source = 'agency_site'")}
    assert set(listed) == {"docs/alpr-policy-1204.pdf", "docs/dmv-data-access-agreement.pdf"}
    policy = listed["docs/alpr-policy-1204.pdf"]
    assert policy["parent_id"] == f"{base}index.html" and policy["title"] == "ALPR Policy"
    assert policy["download_status"] == "downloaded"
    # classified by content: Eugene's Policy 1204 is an ALPR policy, the linked MOA a 287(g) MOA
    assert policy["document_type"] == "alpr_policy"
    assert listed["docs/dmv-data-access-agreement.pdf"]["document_type"] == "287g_moa"
    # the policy's text is searchable
    hits = list(db.query("select d.url from document_texts_fts f join document_texts t on "
                         "t.rowid = f.rowid join fetches d on d.sha256 = t.sha256 "
                         "where document_texts_fts match 'retention'"))
    assert f"{base}docs/alpr-policy-1204.pdf" in {h["url"] for h in hits}

    # a re-run: pages answer 304 (If-Modified-Since), documents are not downloaded again
    before = db["documents"].count
    again = run_cli("crawl", "documents", "--log-level", "WARNING", "--", f"{base}index.html",
                    db=db_path)
    assert again.returncode == 0, again.stderr[-2000:]
    db = open_db(str(db_path))
    assert db["documents"].count == before
    assert db.execute("select count(*) from fetches where url like '%.pdf'").fetchone()[0] == 2
    run = db.execute("select details from runs order by id desc limit 1").fetchone()[0]
    details = json.loads(run)
    assert details["not_modified"] == 2 and details["skipped_archived"] == 2
