"""The Flock page parsers on the project's own hand-made pages (tests/fixtures/flock/): every
layout, a block page and a not-found page, read with no corpus at all.

The pages are made up in the structure of the real captures (tests/fixtures/README.md); every
value asserted here is what the fixture file says.
"""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from parsers.flock.audit_csv import parse_search_audit_csv
from parsers.flock.pagekind import classify_page
from parsers.flock.portal import PARSER_VERSION, parse_portal
from parsers.names import federal_marker, status_markers
from parsers.router import interpret

pytestmark = pytest.mark.no_corpus

FLOCK = FIXTURES / "flock"


def page(name: str):
    return parse_portal((FLOCK / name).read_bytes())


@pytest.mark.parametrize(("name", "kind", "layout"), [
    ("portal_classic.html", "flock_portal", "classic"),
    ("portal_transitional.html", "flock_portal", "transitional"),
    ("portal_new.html", "flock_portal", "new"),
    ("blocked_cloudflare_1015.html", "blocked", None),
    ("not_found.html", "not_found", None),
])
def test_each_page_is_recognised(name: str, kind: str, layout: str | None) -> None:
    verdict = classify_page((FLOCK / name).read_bytes())
    assert (verdict.kind, verdict.layout) == (kind, layout), verdict.reason


def test_a_rate_limit_page_says_why_and_the_router_parses_no_portal_from_it() -> None:
    body = (FLOCK / "blocked_cloudflare_1015.html").read_bytes()
    assert "1015" in classify_page(body).reason
    # served as HTTP 200 it is still a block page, not an empty portal
    result = interpret(body, name="fixture-bay-ca-pd.html")
    assert (result.parse_status, result.page, result.parser) == ("blocked", None, "pagekind/1")


def test_classic_page() -> None:
    p = page("portal_classic.html")
    assert (p.layout, p.agency_name, p.last_updated, p.status) == (
        "classic", "Fixture Bay CA PD", "2026-04-02T14:05:42.502Z", "ok")
    assert (p.retention_days, p.retention_raw, p.cameras) == (30, "30 days", 12)
    assert (p.vehicles_30d, p.hotlist_hits_30d, p.searches_30d) == (48120, 57, 1204)
    assert p.metrics_raw["vehicles_30d"] == "48,120"
    assert p.hotlists == ["California SVS", "NCMEC Amber Alert"]
    assert p.detected == "License Plates, Vehicles"
    assert sorted(p.policies) == ["acceptable_use", "access_policy", "hotlist_policy",
                                  "prohibited_uses"]
    # one comma-separated string: 5 organisations, names trimmed, the raw ones as published
    assert p.sharing_outbound == ["Fixture Harbor CA PD", "Fixture County CA SO",
                                  "Fixture Heights CA PD",
                                  "[Federal] US Postal Inspection Service",
                                  "Old Fixture CA PD [Inactive]"]
    assert p.sharing_outbound_raw[0] == " Fixture Harbor CA PD"
    assert p.sharing_outbound_raw[2] == "Fixture Heights CA PD "
    assert p.sharing_inbound == []
    assert [n for n in p.sharing_outbound if federal_marker(n)] == [
        "[Federal] US Postal Inspection Service"]
    assert status_markers(p.sharing_outbound[4]) == ["[Inactive]"]
    assert p.additional_info[0]["links"][0]["href"] == (
        "https://example.org/fixture-bay-alpr-policy.pdf")
    assert p.unknown_labels == [] and p.warnings == []


def test_classic_page_embeds_the_fixture_audit_exactly() -> None:
    p = page("portal_classic.html")
    assert (p.search_audit_present, p.search_audit_filename) == (True, "search_audit.csv")
    _, rows, _ = parse_search_audit_csv(
        (FLOCK / "search_audit_2026.csv").read_text(encoding="utf-8"))
    assert p.search_audit == rows and len(rows) == 4


def test_transitional_page() -> None:
    p = page("portal_transitional.html")
    assert (p.layout, p.agency_name, p.last_updated) == (
        "transitional", "Fixture Springs CA PD", "2026-04-29T17:10:59.552Z")
    assert (p.retention_days, p.cameras) == (14, 5)
    # "Data Unavailable" is kept as published, gives no number, and marks the page partial
    assert p.searches_30d is None and p.metrics_raw["searches_30d"] == "Data Unavailable"
    assert p.status == "partial"
    assert p.self_check["metrics_not_numbers"] == [
        "'Searches in the last 30 days' = 'Data Unavailable'"]
    # the label is the agency's own words; Flock's fixed subtitle says it is outbound sharing.
    # Names come from data-tp-full-value (entities decoded), not from the cut visible text.
    assert p.sharing_outbound_label == "External Organizations with Access (made-up wording)"
    assert p.sharing_outbound == ["Fixture Harbor CA PD", "Fixture Fish & Wildlife (CA)",
                                  "[Federal] Fixture National Park PD", "Fixture Valley WA SO"]
    assert p.self_check["organisation_cells"] == p.self_check["names"] == 4
    assert p.search_audit_filename == "public_search_audit.csv"
    assert [r.search_id[-3:] for r in p.search_audit] == ["001", "002"]


def test_new_layout_page() -> None:
    p = page("portal_new.html")
    assert (p.layout, p.agency_name, p.last_updated, p.status) == (
        "new", "Fixture Valley WA SO", "2026-10-04T13:05:42.502Z", "ok")
    assert (p.retention_days, p.cameras, p.vehicles_30d, p.searches_30d,
            p.hotlist_hits_30d) == (90, 103, 825993, 416, 10364)
    assert p.hotlists == ["NCIC", "Washington State Patrol"]
    # two-column table, odd count: the placeholder cell is no organisation
    assert p.sharing_outbound == ["Fixture Bay CA PD", "Fixture County WA SO",
                                  "Fixture Harbor WA PD",
                                  "[Federal] US Postal Inspection Service",
                                  "Fixture Heights WA PD"]
    # the inbound table has no entry type: its subtitle gives the direction
    assert p.sharing_inbound == ["Fixture Springs CA PD", "Fixture County WA SO"]
    assert p.sharing_inbound_label == "Receiving Network Data From"
    assert p.search_audit_columns == ["id", "userId", "searchDate", "networkCount", "reason",
                                      "caseNumber", "offenseType"]
    first = p.search_audit[0]
    assert (first.searched_at, first.network_count, first.reason, first.case_number,
            first.offense_type) == ("2026-09-28T17:04:05.123Z", 412, "stolen vehicle, armed",
                                    "26-1001", "Motor Vehicle Theft/Stolen")
    assert p.search_audit[1].reason is None
    assert sorted(p.policies) == ["acceptable_use", "hotlist_policy"]


@pytest.mark.parametrize(("name", "status"), [
    ("portal_classic.html", "ok"), ("portal_transitional.html", "partial"),
    ("portal_new.html", "ok")])
def test_the_router_names_the_portal_parser(name: str, status: str) -> None:
    result = interpret((FLOCK / name).read_bytes(), name=name)
    assert (result.verdict.kind, result.parse_status, result.parser) == (
        "flock_portal", status, PARSER_VERSION)
    assert result.page is not None and result.page.agency_name.startswith("Fixture ")
