"""The audit-CSV fast path (values mapped in SQL) gives exactly what the Python parser gives."""

from __future__ import annotations

import glob

import lxml.html
import pytest
from conftest import CORPUS, PORTALS

from alpr_inventory.archive import Archive
from alpr_inventory.ingest import Store
from alpr_inventory.schema import open_db
from parsers.audit_csv import decode_data_uri, parse_search_audit_csv

# Constructed (not from the corpus): the odd values real exports could hold.
ODD_CSV = (
    '"id","userId","searchDate","networkCount","reason","caseNumber","offenseType","extra col"\n'
    '"a1","***","2026-03-12T08:26:53.735Z","1","suspect vehicle","","",""\n'
    '"a2","","2026-03-12 08:26:53.7","1,234","ICE ERO assist","24-1","Larceny","x"\n'
    '"a3","u","2026-03-12T01:26:53-07:00","not a number","",""\n'
    '"","u","2026-03-12T08:26:53.735Z","3","no id","","",""\n'
    '"a1","***","2026-03-13T08:26:53.735Z","1","suspect vehicle","","",""\n'
    '\n'
    '"a4","u","garbage date"," 7 ","black ice crash","","","",""\n'
)


# Constructed: values the SQL fast path maps itself (no ragged rows, numeric counts).
ODD_DATES_CSV = (
    '"id","userId","searchDate","cameraCount","reason","Région"\n'
    '"b1","***","2026-03-12T08:26:53.735Z","12","investigation","Sud-Est é"\n'
    '\n'
    '"b2","","2026-03-12 08:26:53.7","","ICE ERO assist",""\n'
    '"b3","u","2026-03-12T01:26:53-07:00","3","",""\n'
    '"","u","2026-03-12T08:26:53.735Z","3","no id",""\n'
    '"b1","***","2026-03-13 08:26:53.735","12","investigation","Sud-Est é"\n'
    '"b4","u","garbage date","7","black ice crash",""\n'
)


def load_both(tmp_path, text, name):
    out = []
    for mode in ("fast", "python"):
        store = Store(open_db(str(tmp_path / f"{name}-{mode}.db")),
                      Archive(tmp_path / f"{name}-archive"))
        with store.db.atomic():
            if mode == "fast":
                counts = store._load_searches([], "d" * 64, "2026-04-01T00:00:00Z",
                                              "some-agency", csv_text=text)
            else:
                _, rows, _ = parse_search_audit_csv(text, store.hash_plate)
                counts = store._load_searches(rows, "d" * 64, "2026-04-01T00:00:00Z",
                                              "some-agency")
        table = sorted(tuple(r.items()) for r in store.db["searches"].rows)
        versions = sorted(tuple(r.items()) for r in store.db["search_versions"].rows)
        out.append((counts, table, versions))
        store.db.close()
    return out


def test_odd_values_agree(tmp_path):
    (fast, python) = load_both(tmp_path, ODD_CSV, "odd")
    assert fast == python
    counts, rows, versions = fast
    assert counts == {"new": 4, "known": 0, "changed": 1}
    by_id = {dict(r)["search_id"]: dict(r) for r in rows}
    assert by_id["a2"]["searched_at"] == "2026-03-12T08:26:53.7Z"
    assert by_id["a2"]["network_count"] == 1234 and by_id["a2"]["immigration_reason"] == 1
    assert by_id["a3"]["searched_at"] == "2026-03-12T08:26:53Z"
    assert by_id["a3"]["network_count"] is None
    assert by_id["a4"]["searched_at"] is None and by_id["a4"]["immigration_reason"] == 0
    assert by_id["a1"]["versions"] == 2 and len(versions) == 1


def test_sql_mapped_values_agree(tmp_path):
    (fast, python) = load_both(tmp_path, ODD_DATES_CSV, "dates")
    assert fast == python
    counts, rows, versions = fast
    assert counts == {"new": 4, "known": 0, "changed": 1}
    by_id = {dict(r)["search_id"]: dict(r) for r in rows}
    assert by_id["b2"]["searched_at"] == "2026-03-12T08:26:53.7Z"
    assert by_id["b3"]["searched_at"] == "2026-03-12T08:26:53Z"
    assert by_id["b4"]["searched_at"] is None and by_id["b4"]["camera_count"] == 7
    assert by_id["b1"]["extra"] == '{"Région":"Sud-Est é"}'
    assert by_id["b2"]["source_row"] == "row 3"  # the blank line counts, as in the parser
    assert by_id["b2"]["immigration_reason"] == 1


@pytest.mark.parametrize("path", sorted(glob.glob(
    str(CORPUS / "flock" / "audit" / "eugene_or_pd" / "*.csv"))))
def test_real_eugene_logs_agree(tmp_path, path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    fast, python = load_both(tmp_path, text, "eugene")
    assert fast == python and fast[0]["new"] > 2000


def test_real_embedded_portal_audits_agree(tmp_path):
    pages = sorted(PORTALS.glob("*/*.html"))[::25]
    checked = 0
    for page in pages:
        tree = lxml.html.fromstring(page.read_bytes())
        links = tree.xpath("//a[starts-with(@href, 'data:text/csv')]/@href")
        if not links:
            continue
        fast, python = load_both(tmp_path, decode_data_uri(links[0]), f"p{checked}")
        assert fast == python, page
        checked += 1
    assert checked >= 5
