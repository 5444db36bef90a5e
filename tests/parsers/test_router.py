"""The router (parsers/router.py) and true parser versions: every document records the version
of the parser that really read it, and `reparse` reads again only what a version change
affects.

Inputs: one real portal capture, one small real 287(g) sheet, the Okaloosa sharing-report PDF
(3 pages) and Lake County's 287(g) MOA, all read in place from the corpus; the audit CSV and
the empty file are generated here (three made-up rows in the Eugene export's columns).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, PORTALS, fetched_from_file

from alpr_inventory.load.ingest import Fetched, Store, utc_now
from alpr_inventory.store.archive import Archive
from alpr_inventory.store.schema import open_db
from parsers import router
from parsers.agreements import agreement_pdf, ice287g
from parsers.flock import audit_csv, portal, sharing_pdf

SHEET = CORPUS / "agreements/287g/sheets/20250519_151802__pendingAgencies05192025am.xlsx"
SHARING_PDF = CORPUS / "records/okaloosa_fl_so/Sharing_Agencies.pdf"
MOA = CORPUS / "agreements/287g/moa/lakeCountySherrifsOffice_TF_MOA_03122025.pdf"
# made up for this test, in the columns of Eugene's export (EPDSearchAuditLogs.2025-08.csv)
AUDIT_CSV = (b'"id","userId","searchDate","cameraCount","reason"\n'
             b'"t-1","u-1","2025-06-18 00:02:04.789",12,"investigation"\n'
             b'"t-2","u-2","2025-06-18 00:09:13.397",12,"stolen vehicle"\n'
             b'"t-3","u-1","2025-06-18 00:10:51.201",3,"missing person"\n')


def _file(path: Path | None, body: bytes | None = None, name: str = "x",
          agency: str | None = None) -> Fetched:
    body = path.read_bytes() if path else body or b""
    where = str(path) if path else f"/generated/{name}"
    return Fetched(body=body, url=f"file://{where}", source="import", fetched_at=utc_now(),
                   captured_at="2025-12-29T00:00:00Z", captured_at_basis="given",
                   fetched_from=where, agency=agency)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("router")
    store = Store(open_db(str(root / "inventory.db")), Archive(root / "archive"))
    page = sorted((PORTALS / "bell-ca-pd").glob("*.html"))[0]
    items = [(fetched_from_file(page), None),
             (_file(None, AUDIT_CSV, "audit.csv", agency="Eugene OR PD"), None),
             (_file(SHARING_PDF, agency="Okaloosa County FL SO"), None),
             (_file(SHEET), None), (_file(MOA), None),
             (_file(None, b"", "empty.csv"), None)]
    for _ in store.ingest_many(items):
        pass
    store.finish()
    yield store
    store.close()


def test_every_document_names_the_parser_that_read_it(loaded: Store) -> None:
    versions = {r["doc_type"]: r["parser_version"] for r in loaded.db.query(
        "select doc_type, parser_version, ingest_version from documents")}
    assert versions == {
        "flock_portal": portal.PARSER_VERSION,  # flock_portal/2
        "audit_export": audit_csv.PARSER_VERSION,
        "sharing_report": sharing_pdf.PARSER_VERSION,
        "ice_287g_sheet": ice287g.PARSER_VERSION,
        "agreement": agreement_pdf.PARSER_VERSION,
        "unknown": router.PARSER_VERSION,  # the empty file: only the recogniser read it
    }
    assert {r[0] for r in loaded.db.execute("select ingest_version from documents")} == {
        "ingest/2"}


def test_reparse_reads_again_only_what_a_version_change_affects(loaded: Store) -> None:
    assert loaded.outdated_documents() == []
    assert loaded.reparse_outdated() == {}
    (sha,) = [r[0] for r in loaded.db.execute(
        "select sha256 from documents where doc_type = 'audit_export'")]
    searches = loaded.db.execute("select count(*) from searches").fetchone()[0]
    # as if audit_csv's version had been raised since this document was read
    loaded.db.execute("update documents set parser_version = 'audit_csv/0' where sha256 = ?",
                      [sha])
    loaded.db.conn.commit()
    assert loaded.outdated_documents() == [sha]
    assert loaded.reparse_outdated() == {"ok": 1}
    assert loaded.outdated_documents() == []
    assert loaded.db.execute("select count(*) from searches").fetchone()[0] == searches
    assert loaded.db.execute("select count(*) from searches where first_document = ?",
                             [sha]).fetchone()[0] == 3  # the three generated rows


def test_routes_are_one_ordered_table() -> None:
    kinds = [r.kind for r in router.ROUTES]
    # block and not-found pages are recognised before anything reads portal data
    assert kinds.index("blocked") < kinds.index("flock_portal") == len(kinds) - 1
    assert all(router.is_current(r.version) for r in router.ROUTES)
    assert not router.is_current("flock_portal/1")
