"""Search-audit CSVs in both published schemas, on the project's own hand-made files
(tests/fixtures/flock/search_audit_*.csv; made-up searches, no plates), with no corpus."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from parsers.flock.audit_csv import PARSER_VERSION, parse_search_audit_csv
from parsers.reasons import classify_reason
from parsers.router import interpret

pytestmark = pytest.mark.no_corpus

FLOCK = FIXTURES / "flock"


def read(name: str):
    return parse_search_audit_csv((FLOCK / name).read_text(encoding="utf-8"))


def test_2026_schema() -> None:
    columns, rows, warnings = read("search_audit_2026.csv")
    assert columns == ["id", "userId", "searchDate", "networkCount", "reason"]
    assert warnings == []
    assert [r.search_id for r in rows] == [
        f"00000000-f1c7-4000-8000-00000000000{i}" for i in (1, 2, 3, 4)]
    assert {r.user_id for r in rows} == {"***"}
    assert [r.searched_at for r in rows] == [
        "2026-03-30T08:15:00.000Z", "2026-03-31T22:40:12.500Z", "2026-04-01T06:05:59.999Z",
        "2026-04-02T12:00:00.000Z"]
    assert [r.network_count for r in rows] == [342, 1204, 6176, 17]
    assert [r.camera_count for r in rows] == [None] * 4
    # a quoted comma stays inside the reason; an empty reason is None, not ""
    assert [r.reason for r in rows] == ["suspect vehicle", "burglary, residential",
                                        "ICE ERO assist", None]
    assert [r.source_row for r in rows] == ["row 1", "row 2", "row 3", "row 4"]


def test_2025_schema_times_without_zone_are_taken_as_utc_and_said_so() -> None:
    columns, rows, warnings = read("search_audit_2025.csv")
    assert columns == ["id", "userId", "searchDate", "cameraCount", "reason"]
    assert [(r.searched_at_raw, r.searched_at) for r in rows] == [
        ("2025-06-18 00:02:04.789", "2025-06-18T00:02:04.789Z"),
        ("2025-06-18 13:45:00.000", "2025-06-18T13:45:00.000Z"),
        ("2025-06-19 23:59:59.001", "2025-06-19T23:59:59.001Z")]
    assert len(warnings) == 1 and "3 searchDate value(s) without a time zone" in warnings[0]
    assert [r.camera_count for r in rows] == [2510, 2510, 2498]
    assert [r.network_count for r in rows] == [None] * 3
    # pseudonymous user ids are kept exactly as published
    assert rows[0].user_id == rows[2].user_id == "00000000-0000-4000-a000-0000000000aa"


def test_immigration_reasons_are_flagged_term_by_term() -> None:
    flags = {r.reason: classify_reason(r.reason)
             for name in ("search_audit_2026.csv", "search_audit_2025.csv")
             for r in read(name)[1]}
    assert [reason for reason, f in flags.items() if f.immigration] == [
        "ICE ERO assist", "Homeland Security Investigations request"]
    assert "ICE ERO" in flags["ICE ERO assist"].terms
    assert flags["Homeland Security Investigations request"].terms == (
        "Homeland Security Investigations",)


@pytest.mark.parametrize(("name", "status"), [("search_audit_2026.csv", "ok"),
                                              ("search_audit_2025.csv", "ok_with_warnings")])
def test_the_router_reads_them_as_audit_exports(name: str, status: str) -> None:
    result = interpret((FLOCK / name).read_bytes(), name=name)
    assert (result.verdict.kind, result.parse_status, result.parser) == (
        "audit_export", status, PARSER_VERSION)
    assert result.audit is not None and len(result.audit.rows) == {
        "search_audit_2026.csv": 4, "search_audit_2025.csv": 3}[name]
