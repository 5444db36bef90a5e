"""Search-audit CSV: header-driven, every column variant in the corpus, nothing dropped."""

from __future__ import annotations

import base64
import csv
import re
from urllib.parse import quote

import pytest

from parsers.flock.audit_csv import decode_data_uri, normalise_search_date, parse_search_audit_csv
from parsers.flock.portal import parse_portal

try:
    from tests.portal_pages import classic, corpus_path, csv_data_uri
except ImportError:  # tests/ is on sys.path
    from portal_pages import classic, corpus_path, csv_data_uri  # type: ignore[no-redef]

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def eugene(name: str) -> str:
    return corpus_path("flock", "audit", "eugene_or_pd", name).read_text(encoding="utf-8")


# ---- Eugene OR PD (2025 schema: cameraCount, raw user UUIDs, tz-naive dates) ----------------
def test_eugene_current_audit() -> None:
    text = eugene("EPDSearchAuditLogs.csv")
    columns, rows, warnings = parse_search_audit_csv(text)
    assert columns == ["id", "userId", "searchDate", "cameraCount", "reason"]
    assert len(rows) == 4294  # 4,295 lines, the last without a newline
    first = rows[0]
    assert first.search_id == "5869ce7e-98f2-47e7-a3c2-5e6bff4def4a"
    assert first.searched_at_raw == "2025-06-18 00:02:04.789"
    assert first.searched_at == "2025-06-18T00:02:04.789Z"
    assert first.camera_count == 2510 and first.network_count is None
    assert first.reason == "investigation"
    # userId is a raw (pseudonymous) operator UUID in 2025: kept exactly as published; the
    # value itself is not written into this repository.
    published_user = next(csv.reader([text.splitlines()[1]]))[1]
    assert first.user_id == published_user and UUID_RE.match(first.user_id)
    assert all(r.user_id and UUID_RE.match(r.user_id) for r in rows)
    last = rows[-1]
    assert (last.search_id, last.searched_at, last.camera_count, last.reason) == (
        "9a9a06f4-9731-4506-ae40-9465942b2c74", "2025-12-02T23:01:50.984Z", 2337,
        "Property Crime")
    # a quoted reason containing a comma
    by_id = {r.search_id: r for r in rows}
    assert by_id["5c73b5b4-e71d-4089-8c89-e2be3d61045f"].reason == "Investigation, 2510494"
    # empty reasons become None (5 rows), e.g.
    assert by_id["1a659a42-6cfd-40a6-9f4c-ecb1b455bc31"].reason is None
    assert sum(1 for r in rows if r.reason is None) == 5
    assert len(by_id) == 4294  # ids are unique
    # one aggregated warning for the tz-naive dates, none per row
    naive = [w for w in warnings if "without a time zone" in w]
    assert len(naive) == 1 and naive[0].startswith("search audit: 4294 searchDate")
    assert warnings == naive


def test_eugene_august_file_is_a_prefix_of_the_current_one() -> None:
    _, aug, _ = parse_search_audit_csv(eugene("EPDSearchAuditLogs.2025-08.csv"))
    _, cur, _ = parse_search_audit_csv(eugene("EPDSearchAuditLogs.csv"))
    assert len(aug) == 2783
    assert aug[-1].search_id == "9164701c-1273-4e85-b482-00f6945afca7"
    assert aug[-1].camera_count == 2815
    assert aug == cur[:2783]
    assert len(cur) - len(aug) == 1511


# ---- Every header variant embedded in the classic captures -----------------------------------
# (slug, date, columns, rows, first row (id, searchDate, networkCount, reason, caseNumber,
# offenseType)), read from the decoded data: links; rows always equal the page's "Searches in
# the last 30 days" in these captures.
AUDIT_VARIANTS = [
    ("ankeny-ia-pd", "2026-04-26", ["id", "userId", "searchDate", "networkCount", "reason"], 338,
     ("b96d43a7-d5cd-402c-bd12-64010e1b2e26", "2026-03-27T04:49:43.707Z", 40, "INVESTIGATION",
      None, None)),
    ("fontana-ca-pd", "2026-03-28", ["id", "userId", "searchDate", "networkCount"], 1314,
     ("11a6c65f-5793-415d-9378-03b02e9b3e67", "2026-02-26T00:03:10.858Z", 767, None, None, None)),
    ("chula-vista-ca-pd", "2026-03-28",
     ["id", "userId", "searchDate", "networkCount", "caseNumber"], 1168,
     ("f4bdaa29-952d-4dde-a62a-25a03e7740f3", "2026-02-25T00:07:29.398Z", 305, None, "L106668",
      None)),
    ("ontario-ca-pd", "2026-03-29",
     ["id", "userId", "searchDate", "networkCount", "offenseType"], 1913,
     ("0ba0f1ae-af56-4bb3-b9fa-94abf20ab1d6", "2026-02-27T00:00:43.144Z", 1129, None, None,
      "Terrorism/Terroristic Threats")),
    ("albany-ca-pd", "2026-03-27",
     ["id", "userId", "searchDate", "networkCount", "caseNumber", "offenseType"], 98,
     ("ab1d0e6a-8655-4012-b2ff-ebc23fe05da9", "2026-02-25T00:05:05.983Z", 1, None, "26-244",
      "Larceny/Theft Offenses")),
    ("pasadena-ca-pd", "2026-03-30",
     ["id", "userId", "searchDate", "networkCount", "reason", "caseNumber"], 558,
     ("937e474f-c7d2-4817-b5bf-5a5606da4988", "2026-02-27T00:22:47.812Z", 403,
      "26-15267 res burg ppd cold", "26-15267 res burg ppd", None)),
    ("lincoln-ca-pd", "2026-03-28",
     ["id", "userId", "searchDate", "networkCount", "reason", "caseNumber", "offenseType"], 152,
     ("a56b1510-2d1b-4374-b224-9760923ad90b", "2026-02-26T02:30:30.294Z", 1, None, "25-1258",
      "Drugs/Narcotics")),
]


@pytest.mark.parametrize(("slug", "date", "columns", "count", "first"), AUDIT_VARIANTS,
                         ids=[v[0] for v in AUDIT_VARIANTS])
def test_embedded_audit_variants(slug: str, date: str, columns: list[str], count: int,
                                 first: tuple) -> None:
    page = parse_portal(classic(slug, date))
    assert page.search_audit_present
    assert page.search_audit_filename == "search_audit.csv"
    assert page.search_audit_columns == columns
    assert len(page.search_audit) == count == page.searches_30d
    row = page.search_audit[0]
    assert (row.search_id, row.searched_at, row.network_count, row.reason, row.case_number,
            row.offense_type) == first
    assert row.user_id == "***"
    assert row.searched_at_raw == row.searched_at  # already UTC with Z
    assert not [w for w in page.warnings if w.startswith("search audit")]


def test_header_only_audit() -> None:
    # Santa Clara County CA SO on 2026-04-24: "Searches in the last 30 days" 0, audit = header
    page = parse_portal(classic("santa-clara-county-ca-so", "2026-04-24"))
    assert page.searches_30d == 0
    assert page.search_audit_present
    assert page.search_audit_columns == ["id", "userId", "searchDate", "networkCount", "reason"]
    assert page.search_audit == []


# ---- Schema discovery and edge cases (constructed CSV text) ----------------------------------
def test_any_order_unknown_columns_quotes_and_newlines() -> None:
    text = ('"reason","searchDate","id","networkCount","agencyNote","userId"\r\n'
            '"stolen car, armed","2026-04-01T10:00:00.000Z","a-1","1,204","note ""x""","***"\r\n'
            '"multi\nline reason","2026-04-01T11:00:00Z","a-2","","","REDACTED"\r\n'
            '"","2026-04-01T12:00:00.5+02:00","","3","",""\r\n'
            '"","","","","",""\r\n'
            '\r\n')
    columns, rows, warnings = parse_search_audit_csv(text)
    assert columns == ["reason", "searchDate", "id", "networkCount", "agencyNote", "userId"]
    assert [r.search_id for r in rows] == ["a-1", "a-2"]
    assert rows[0].reason == "stolen car, armed"
    assert rows[0].network_count == 1204
    assert rows[0].extra == {"agencyNote": 'note "x"'}
    assert rows[1].reason == "multi\nline reason"
    assert rows[1].network_count is None and rows[1].user_id == "REDACTED"
    assert rows[1].extra == {"agencyNote": ""}
    assert rows[1].searched_at == "2026-04-01T11:00:00Z"
    assert "search audit: 1 row(s) without an id skipped" in warnings


def test_dates() -> None:
    assert normalise_search_date("2026-03-12T08:26:53.735Z") == ("2026-03-12T08:26:53.735Z",
                                                                 False)
    assert normalise_search_date("2025-06-18 00:02:04.789") == ("2025-06-18T00:02:04.789Z", True)
    assert normalise_search_date("2026-04-01T12:00:00.500+02:00") == (
        "2026-04-01T10:00:00.500Z", False)
    assert normalise_search_date("yesterday") == (None, False)
    _, rows, warnings = parse_search_audit_csv('id,searchDate\nx,yesterday\n')
    assert rows[0].searched_at is None and rows[0].searched_at_raw == "yesterday"
    assert any("unparsable searchDate" in w for w in warnings)


def test_non_numeric_count_is_kept_raw() -> None:
    _, rows, warnings = parse_search_audit_csv('"id","networkCount"\n"a","lots"\n')
    assert rows[0].network_count is None
    assert rows[0].extra == {"network_count_raw": "lots"}
    assert any("non-numeric count" in w for w in warnings)


def test_empty_and_headerless() -> None:
    assert parse_search_audit_csv("") == ([], [], ["search audit CSV is empty (no header)"])
    columns, rows, warnings = parse_search_audit_csv("\ufeffuserId,reason\n***,x\n")
    assert columns == ["userId", "reason"] and rows == []
    assert any("no 'id' column" in w for w in warnings)
    assert any("1 row(s) without an id skipped" in w for w in warnings)


def test_decode_data_uri_percent_encoded_and_base64() -> None:
    text = '"id","reason"\n"a","50% of cars + trucks, é"\n'
    assert decode_data_uri(csv_data_uri(text)) == text
    # '+' is a literal plus, not a space (not form encoding)
    assert decode_data_uri("data:text/csv;charset=utf-8,a+b%2Cc") == "a+b,c"
    b64 = base64.b64encode(text.encode()).decode()
    assert decode_data_uri(f"data:text/csv;charset=utf-8;base64,{b64}") == text
    assert decode_data_uri(f"data:text/csv;base64,{quote(b64)}") == text
    latin = "data:text/csv;charset=iso-8859-1," + quote("caf\xe9".encode("latin-1"))
    assert decode_data_uri(latin) == "café"
    with pytest.raises(ValueError):
        decode_data_uri("https://example.org/audit.csv")
