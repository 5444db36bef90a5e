"""parse_portal on real classic captures, constructed newer-layout pages, and the whole corpus.

Every value asserted for a real capture was read from the capture itself (label/value pairs
pulled out of the raw HTML with a plain regex, the data: link decoded by hand, sharing strings
split on ", " and counted), not copied from the parser's output.
"""

from __future__ import annotations

import collections

import pytest

from parsers.flock.portal import PARSER_VERSION, classify_label, parse_portal, split_org_list
from parsers.names import federal_marker, status_markers

try:
    from tests.portal_pages import (
        LARGE_PAGE_FILLER,
        NEW_AUDIT_CSV,
        NEW_INBOUND_CONSTRUCTED,
        NEW_LAST_UPDATED,
        NEW_OUTBOUND_CONSTRUCTED,
        NEW_OUTBOUND_REAL,
        classic,
        classic_captures,
        filler_names,
        intermediate_page,
        new_layout_page,
    )
except ImportError:  # tests/ is on sys.path
    from portal_pages import (  # type: ignore[no-redef]
        LARGE_PAGE_FILLER,
        NEW_AUDIT_CSV,
        NEW_INBOUND_CONSTRUCTED,
        NEW_LAST_UPDATED,
        NEW_OUTBOUND_CONSTRUCTED,
        NEW_OUTBOUND_REAL,
        classic,
        classic_captures,
        filler_names,
        intermediate_page,
        new_layout_page,
    )

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus

BERKELEY = "University of California, Berkeley"


def test_parser_version() -> None:
    assert PARSER_VERSION == "flock_portal/2"


# ---- Classic captures: one agency in full ------------------------------------------------------
def test_bell_ca_pd_2026_04_11() -> None:
    page = parse_portal(classic("bell-ca-pd", "2026-04-11"))
    assert page.layout == "classic"
    assert page.agency_name == "Bell CA PD"
    assert page.last_updated == "2026-04-10T14:05:42.502Z"
    assert page.overview.startswith("Bell CA PD uses Flock Safety technology")
    assert page.detected == "License Plates, Vehicles"
    assert page.not_detected == "Facial recognition, People, Gender, Race"
    assert page.policies == {
        "acceptable_use": "Data is used for law enforcement purposes only. Data is owned by "
                          "Bell CA PD and is never sold to 3rd parties.",
        "prohibited_uses": "Immigration enforcement, traffic enforcement, harassment or "
                           "intimidation, usage based solely on a protected class (i.e. race, "
                           "sex, religion), Personal use.",
        "access_policy": "All system access requires a valid reason and is stored indefinitely.",
        "hotlist_policy": "Hotlist hits are required to be human verified prior to action.",
    }
    assert (page.retention_days, page.retention_raw) == (30, "30 days")
    assert page.cameras == 11
    assert page.camera_counts == {"Number of LPR and other cameras": 11}
    assert page.vehicles_30d == 506651
    assert page.hotlist_hits_30d == 4346
    assert page.searches_30d == 44
    assert page.metrics_raw["vehicles_30d"] == "506,651"
    assert page.hotlists == ["California SVS", "NCMEC Amber Alert"]
    # 364 comma-separated pieces, one of them the "Berkeley" of "University of California,
    # Berkeley" -> 363 organisations.
    out = page.sharing_outbound
    assert len(out) == 363 == len(page.sharing_outbound_raw)
    assert page.sharing_outbound_label == "Organizations granted access to Bell CA PD data"
    assert out[0] == "San Jose State University CA"
    assert page.sharing_outbound_raw[0] == " San Jose State University CA"  # leading space
    assert out[-1] == "Yuba County Sheriffs Office"
    assert BERKELEY in out and "Berkeley" not in out and "University of California" not in out
    assert "Burlingame  CA PD" in out  # inner double space kept as published
    assert "California Department of Fish & Wildlife (CA)" in out  # &amp; decoded
    i = out.index("Bishop CA PD")
    assert page.sharing_outbound_raw[i] == "Bishop CA PD "  # its own trailing space
    assert page.sharing_inbound == [] and page.sharing_inbound_label is None
    assert page.additional_info == [
        {"label": "Recent Success Story", "text": "", "links": []},
        {"label": "Additional Info", "text": "", "links": []},
    ]
    assert page.search_audit_present
    assert page.search_audit_columns == ["id", "userId", "searchDate", "networkCount", "reason"]
    assert len(page.search_audit) == 44
    first, last = page.search_audit[0], page.search_audit[-1]
    assert (first.search_id, first.user_id, first.searched_at, first.network_count,
            first.reason) == ("4b0c40d8-c691-401f-90b6-cd6cf7dc83bb", "***",
                              "2026-03-12T08:26:53.735Z", 1, None)
    assert (last.search_id, last.searched_at, last.network_count, last.reason) == (
        "16ccce44-1334-4da3-80c7-cd018bc0fc48", "2026-04-08T19:39:25.741Z", 1,
        "Assist other agency")
    assert page.unknown_labels == [] and page.warnings == []
    assert len(page.cards) == 16
    assert page.to_json_dict()["kind"] == "flock_portal"


# ---- Sharing lists that change between captures ---------------------------------------------
@pytest.mark.parametrize(("slug", "before", "after", "counts", "added", "removed"), [
    ("bakersfield-ca-pd", "2026-03-28", "2026-04-04", (361, 362),
     {"Blythe CA PD", "San Bernardino County CA Human Services [Law Enforcement]"},
     {"Union Pacific Railroad PD"}),
    ("east-palo-alto-ca-pd", "2026-04-18", "2026-04-28", (307, 304),
     {"Grover Beach CA PD"},
     {"El Cajon CA PD", "Milpitas CA PD", "Palm Springs CA PD", "San Gabriel CA PD"}),
    # a rename: same count, one name replaced
    ("-el-cajon-pd-ca", "2026-04-22", "2026-04-29", (683, 683),
     {"Las Vegas Metro Police Department - NV"}, {"Las Vegas Metro NV PD"}),
    ("-el-cajon-pd-ca", "2026-04-15", "2026-04-22", (684, 683), set(), {"College Place WA PD"}),
])
def test_sharing_changes_between_captures(slug: str, before: str, after: str,
                                          counts: tuple[int, int], added: set[str],
                                          removed: set[str]) -> None:
    a = parse_portal(classic(slug, before)).sharing_outbound
    b = parse_portal(classic(slug, after)).sharing_outbound
    assert (len(a), len(b)) == counts
    assert set(b) - set(a) == added
    assert set(a) - set(b) == removed


# ---- Label variants ---------------------------------------------------------------------------
def test_two_camera_cards_and_federal_marked_inbound_name() -> None:
    page = parse_portal(classic("orange-ca-pd", "2026-04-21"))
    assert page.camera_counts == {"Number of LPR cameras": 44,
                                  "Number of LPR and other cameras": 140}
    assert page.cameras == 140  # the "LPR and other cameras" (total) card
    assert page.vehicles_30d == 1364017  # "Unique vehicles detected in the last 30 days"
    assert (page.hotlist_hits_30d, page.searches_30d) == (11778, 692)
    assert len(page.sharing_outbound) == 292 and len(page.sharing_inbound) == 306
    assert page.sharing_inbound_label == "Organizations sharing their data with Orange CA PD"
    fed = "[Federal] Loma Linda Healthcare System CA Veterans Affairs PD"
    assert page.sharing_inbound[1] == fed and federal_marker(fed)
    assert not any(federal_marker(n) for n in page.sharing_outbound)
    assert not page.search_audit_present
    assert page.additional_info == [{
        "label": "Full ALPR Policy",
        "text": "Please reference Orange PD's website for the full ALPR policy.",
        "links": []}]


def test_live_feed_retention_and_duplicate_camera_cards() -> None:
    page = parse_portal(classic("mill-valley-ca-pd", "2026-04-20"))
    assert page.retention_days == 30
    assert page.retention_periods == {"Data retention (in days)": 30,
                                      "Live Feed Data retention (in days)": 3}
    assert page.camera_counts == {"Number of LPR cameras": 6,
                                  "Number of LPR and other cameras": 6}
    assert page.cameras == 6
    assert page.sharing_outbound == ["Belvedere CA PD", "Central Marin CA PD",
                                     "Marin County CA DA", "Marin County CA SO",
                                     "Palo Alto CA PD", "Sausalito CA PD"]
    assert (page.vehicles_30d, page.hotlist_hits_30d, page.searches_30d) == (177367, 244, 24)
    policy = "https://www.cityofmillvalley.gov/DocumentCenter/View/11509/MVPD-ALPR-Policy-462"
    assert page.additional_info[0] == {"label": "MVPD ALPR Policy:", "text": policy,
                                       "links": [{"href": policy, "text": policy}]}
    assert len(page.additional_info) == 2
    assert not page.search_audit_present and page.warnings == []


def test_camera_card_in_policies_and_no_sharing_card() -> None:
    page = parse_portal(classic("alameda-county-ca-so", "2026-04-10"))
    assert page.agency_name == "Alameda County CA SO"
    assert page.camera_counts == {"Number of LPR Cameras": 93} and page.cameras == 93
    assert page.retention_days == 365
    assert (page.vehicles_30d, page.hotlist_hits_30d, page.searches_30d) == (868751, 29314, 1626)
    assert page.not_detected == ("Facial recognition, People, Gender, Race, Personal "
                                 "identifying information.")
    assert page.sharing_outbound == [] and page.sharing_outbound_label is None
    url = "https://public.powerdms.com/ACSO3/documents/3084"
    assert page.additional_info == [{
        "label": "ACSO Policy: GO 5.42 - Automated License Plate Recognition (ALPR) System",
        "text": url, "links": [{"href": url, "text": url}]}]
    assert page.warnings == []


def test_ncric_labels() -> None:
    page = parse_portal(classic("ncric", "2026-04-10"))
    assert page.agency_name == "NCRIC"
    assert page.last_updated == "2026-04-10T09:18:38.979Z"
    assert page.detected == "Vehicles, License Plates"
    assert set(page.policies) == {"Restrictions on Deployment", "Sharing with Partners",
                                  "Sharing Restrictions"}
    assert page.policies["Sharing with Partners"].startswith("NCRIC may only share")
    assert page.retention_days == 30  # "Data Retention for Flock Devices"
    assert page.camera_counts == {"Number of Owned Cameras": 24} and page.cameras == 24
    assert page.vehicles_30d == 720318  # "Vehicles Detected in the Last 30 Days"
    assert page.searches_30d == 2991  # "Searches in the Last 30 Days"
    assert page.hotlist_hits_30d is None and page.hotlists == []  # no such cards
    assert page.sharing_outbound_label == "Agencies NCRIC Shares With"
    assert len(page.sharing_outbound) == 319  # 320 pieces, "Berkeley" glued back
    assert BERKELEY in page.sharing_outbound
    assert page.additional_info == [{"label": "Link to NCRIC's ALPR Policy", "text": "(TBD)",
                                     "links": []}]
    assert page.unknown_labels == [] and page.warnings == []


def test_oakland_owned_cameras_and_large_audit() -> None:
    page = parse_portal(classic("oakland-ca-pd", "2026-04-14"))
    assert page.camera_counts == {"Number of Owned Cameras": 293}  # label has a trailing space
    assert page.retention_days == 30  # "Data Retention (days)"
    assert page.hotlists == ["California SVS", "NCMEC Amber Alert", "Custom Hot Lists"]
    assert (page.vehicles_30d, page.hotlist_hits_30d, page.searches_30d) == (
        1487817, 74577, 2276)
    assert page.sharing_outbound == [] and page.sharing_outbound_label is None
    assert len(page.search_audit) == 2276
    first = page.search_audit[0]
    assert (first.search_id, first.searched_at, first.network_count, first.reason) == (
        "825e08d3-8d4c-4cab-ac06-0522ce3ce607", "2026-03-14T00:00:15.499Z", 342, "245(a)(2)PC")
    assert page.search_audit[-1].reason == "211PC"
    url = "https://public.powerdms.com/OAKLAND/documents/3622083"
    assert page.additional_info[0]["links"] == [{"href": url, "text": url}]


def test_data_unavailable_and_empty_outbound_list() -> None:
    page = parse_portal(classic("foothilldeanza-ca-pd", "2026-04-15"))
    assert page.agency_name == "Foothill-DeAnza CA PD"
    assert page.hotlist_hits_30d is None
    assert page.metrics_raw["hotlist_hits_30d"] == "Data Unavailable"
    assert ("'Hotlist hits in the last 30 days': value 'Data Unavailable' is not a number"
            in page.warnings)
    assert (page.cameras, page.vehicles_30d, page.searches_30d) == (3, 276, 5)
    assert page.sharing_outbound == []
    assert any("lists no organisations" in w for w in page.warnings)
    assert len(page.sharing_inbound) == 247
    assert page.sharing_inbound[:2] == ["San Jose State University CA", "[DEACTIVATED] - demo"]
    assert status_markers(page.sharing_inbound[1]) == ["[DEACTIVATED]"]
    assert len(page.search_audit) == 5


def test_minus_infinity_retention_and_empty_label() -> None:
    page = parse_portal(classic("monte-sereno-ca-pd", "2026-04-25"))
    assert page.agency_name == "City of Monte Sereno CA"
    assert page.retention_days is None
    assert page.retention_raw == "-Infinity days"
    assert "'Data retention (in days)': value '-Infinity days' is not a number" in page.warnings
    assert page.cameras == 0 and page.vehicles_30d == 0 and page.searches_30d == 0
    assert page.hotlists == []
    assert page.hotlist_hits_30d is None
    assert [i["label"] for i in page.additional_info] == ["ALPR POLICY", ""]


def test_free_text_headings() -> None:
    page = parse_portal(classic("san-diego-county-ca-sd", "2026-04-20"))
    assert page.sharing_outbound_label == ("Organizations granted access to San Diego County CA "
                                           "SD data- NONE")
    assert page.sharing_outbound == []
    assert len(page.sharing_inbound) == 283
    assert "Extended Stay America (ESA) Management, LLC" in page.sharing_inbound
    assert page.camera_counts == {"Number of LPR cameras": 129,
                                  "Number of LPR and other cameras": 129}
    assert page.additional_info[0]["text"] == ("Agency ALPR Policy\n"
                                               "https://www.sdsheriff.gov/bureaus/about-us/"
                                               "policies-procedures")

    page = parse_portal(classic("rio-vista-ca-pd", "2026-04-16"))
    assert page.sharing_outbound_label.startswith(
        "External Organizations with Access. The City of Rio Vista will not sell, share, or "
        "transfer ALPR information")
    assert len(page.sharing_outbound) == 358
    assert page.unknown_labels == []


def test_none_sharing_cards() -> None:
    page = parse_portal(classic("san-diego-ca-pd", "2026-04-20"))
    assert page.sharing_outbound == []  # "External organizations with access - None" + "None"
    assert page.sharing_outbound_label == "External organizations with access - None"
    assert ("outbound sharing card 'Access to external organizations' lists no organisations "
            "(value 'None')") in page.warnings
    assert page.camera_counts == {"Number of Owned Cameras": 500}
    assert page.searches_30d is None  # no searches card on this page
    assert page.vehicles_30d == 3186395


@pytest.mark.parametrize(("slug", "date", "field", "value", "label"), [
    ("hayward-ca-pd", "2026-04-11", "hotlists", ["California SVS", "NCMEC Amber Alert"],
     "Hotlists Alerted On (Not Pulling From NCIC)"),
    ("hayward-ca-pd", "2026-04-11", "retention_days", 365, "Data retention (in days)"),
    ("oceanside-ca-pd", "2026-04-14", "vehicles_30d", 604976,
     "Distinct Vehicles (No Duplicates) detected in the last 30 days"),
    ("piedmont-ca-pd", "2026-04-07", "retention_days", 60, "Data retention"),
    ("oroville-ca-pd", "2026-04-14", "retention_days", 30, "Flock Data retention (in days)"),
    ("oroville-ca-pd", "2026-04-14", "vehicles_30d", 158772,
     "Vehicles detected in the last 30 days"),
    ("san-jose-ca-pd", "2026-04-15", "hotlist_hits_30d", 124626,
     "Hotlist hits in the last 30 days"),
])
def test_label_variants(slug: str, date: str, field: str, value: object, label: str) -> None:
    page = parse_portal(classic(slug, date))
    assert getattr(page, field) == value
    assert label in [c.label for c in page.cards]


def test_other_sharing_labels_and_policy_cards() -> None:
    hayward = parse_portal(classic("hayward-ca-pd", "2026-04-11"))
    assert hayward.sharing_outbound_label == "Only Agencies With External Access"
    assert len(hayward.sharing_outbound) == 326
    assert hayward.sharing_outbound[1] == "ACRATT -CA"

    piedmont = parse_portal(classic("piedmont-ca-pd", "2026-04-07"))
    assert piedmont.sharing_outbound_label == "External agencies who have access"
    assert len(piedmont.sharing_outbound) == 150
    assert piedmont.sharing_outbound[-1] == "Whittier CA PD"
    assert len(piedmont.search_audit) == 218  # label "Search Audit"
    assert [i["label"] for i in piedmont.additional_info] == [
        "Success Story", "Full ALPR Policy", "Disclaimer"]
    assert piedmont.additional_info[1]["links"][0]["href"].startswith(
        "https://www.ci.piedmont.ca.us/UserFiles/")

    oceanside = parse_portal(classic("oceanside-ca-pd", "2026-04-14"))
    assert oceanside.policies["SB54: California Values Act"].startswith(
        "No data shall be shared in a manner that contradicts California Senate Bill 54.")
    link_label = ("The Oceanside Police Department Automated License Plate Reader (ALPR) Policy "
                  "is available here:")
    assert oceanside.policies[link_label].startswith("https://www.oceansidepolice.com/")
    assert oceanside.sharing_inbound[0] == "[DEACTIVATED] - demo"
    assert len(oceanside.sharing_inbound) == 271

    san_jose = parse_portal(classic("san-jose-ca-pd", "2026-04-15"))
    assert {"Sharing Policy", "Community Safeguards"} <= set(san_jose.policies)
    assert san_jose.unknown_labels == []


def test_names_with_commas_in_a_real_list() -> None:
    page = parse_portal(classic("baldwin-park-ca-pd", "2026-03-28"))
    inbound = page.sharing_inbound
    assert len(inbound) == 257  # 259 pieces, two of them glued back
    assert "CA - Topgolf USA El Segundo, LLC" in inbound
    name = "Westfield Park Recreation and Parkways, District #12 (CA)"
    assert page.sharing_inbound_raw[inbound.index(name)] == name + " "
    assert "LLC" not in inbound and "District #12 (CA)" not in inbound
    assert len(page.sharing_outbound) == 321


# ---- split_org_list on its own (constructed strings) ------------------------------------------
def test_split_org_list_rule() -> None:
    names, raw = split_org_list(" San Jose State University CA, Alameda CA PD , , NCRIC, "
                                "Oceanside CA PD, Old, Ontario CA PD, University of California, "
                                "Berkeley, Westfield Parkways, District #12 (CA), Zeta Corp, Inc.,"
                                " Zion CA PD")
    assert names == ["San Jose State University CA", "Alameda CA PD", "NCRIC",
                     "Oceanside CA PD", "Old", "Ontario CA PD", BERKELEY,
                     "Westfield Parkways, District #12 (CA)", "Zeta Corp, Inc.", "Zion CA PD"]
    assert raw[0] == " San Jose State University CA" and raw[1] == "Alameda CA PD "
    # an out-of-order place name after an agency name (or after a name that is not
    # "... of <Place>") is a separate organisation
    assert split_org_list("Zephyr County CA SO, Berkeley")[0] == ["Zephyr County CA SO",
                                                                  "Berkeley"]
    assert split_org_list("Zeta Corp, Berkeley")[0] == ["Zeta Corp", "Berkeley"]
    # a numbered unit in alphabetical order is its own organisation
    assert split_org_list("Alpha PD, District 9 Task Force")[0] == ["Alpha PD",
                                                                    "District 9 Task Force"]
    assert split_org_list("") == ([], [])


def test_classify_label_table() -> None:
    assert classify_label("Organizations granted access to Livermore CA PD data") == "sharing_out"
    assert classify_label("Livermore PD searches in the last 30 days") == "searches_30d"
    assert classify_label("Approved NCRIC Share With") == "sharing_out"
    assert classify_label("Organizations sharing their data with X") == "sharing_in"
    assert classify_label("Number of Active LPR cameras") == "cameras_lpr"
    assert classify_label("Unique Vehicles Detected") == "vehicles_30d"
    assert classify_label("Access, Audit, and Seach Policy") == "policy:access_policy"
    assert classify_label("What Flock Does Not Do or Detect") == "not_detected"
    assert classify_label("Sharing with Partners") == "policy_other"
    assert classify_label("None: Alameda does not share with outside agencies") == "sharing_out"
    assert classify_label("Top Offense Types") is None


# ---- Unknown labels are kept and reported ------------------------------------------------------
def test_unknown_usage_label_is_kept_and_warned() -> None:
    body = classic("bell-ca-pd", "2026-04-11").decode()
    changed = body.replace(">Searches in the last 30 days<", ">Lookups this month<")
    page = parse_portal(changed)
    assert page.searches_30d is None
    assert page.unknown_labels == ["Lookups this month"]
    assert "unknown card label: 'Lookups this month'" in page.warnings
    card = next(c for c in page.cards if c.label == "Lookups this month")
    assert (card.key, card.value, card.section) == (None, "44", "usage")


def test_number_in_policies_section_is_flagged() -> None:
    body = classic("alameda-county-ca-so", "2026-04-10").decode()
    page = parse_portal(body.replace(">Number of LPR Cameras<", ">Count of readers<"))
    assert page.unknown_labels == ["Count of readers"]
    assert page.cameras is None


# ---- The whole classic corpus --------------------------------------------------------------
def test_sweep_all_classic_captures() -> None:
    files = classic_captures()
    assert len(files) == 536
    pages = {f"{f.parent.name}/{f.stem}": parse_portal(f.read_bytes()) for f in files}
    assert all(p.layout == "classic" for p in pages.values())
    assert all(p.agency_name and p.last_updated for p in pages.values())
    assert all(p.last_updated.endswith("Z") for p in pages.values())

    # The label table covers every label in the corpus: no capture has an unknown label.
    unknown = {label for p in pages.values() for label in p.unknown_labels}
    assert unknown == set()
    assert sum(1 for p in pages.values() if p.unknown_labels) == 0

    # Non-numeric values: 8 "Data Unavailable" hotlist-hit cards and one "-Infinity days".
    not_numbers = collections.Counter(
        w for p in pages.values() for w in p.warnings if "is not a number" in w)
    assert not_numbers == {
        "'Hotlist hits in the last 30 days': value 'Data Unavailable' is not a number": 8,
        "'Data retention (in days)': value '-Infinity days' is not a number": 1,
    }

    # Audits: 240 captures embed one; its row count always equals the published
    # "Searches in the last 30 days" (an independent cross-check of the CSV parsing).
    audits = {k: p for k, p in pages.items() if p.search_audit_present}
    assert len(audits) == 240
    assert all(len(p.search_audit) == p.searches_30d for p in audits.values())
    assert sum(len(p.search_audit) for p in audits.values()) == 95103
    base = ("id", "userId", "searchDate", "networkCount")
    assert collections.Counter(tuple(p.search_audit_columns) for p in audits.values()) == {
        (*base, "reason"): 198,
        base: 9,
        (*base, "offenseType"): 9,
        (*base, "reason", "caseNumber", "offenseType"): 9,
        (*base, "caseNumber", "offenseType"): 5,
        (*base, "caseNumber"): 5,
        (*base, "reason", "caseNumber"): 5,
    }

    # Names containing a comma, glued back by the split rule: exactly these four.
    with_comma = collections.Counter(
        n for p in pages.values() for n in p.sharing_outbound + p.sharing_inbound if "," in n)
    assert with_comma == {
        BERKELEY: 426,
        "CA - Topgolf USA El Segundo, LLC": 5,
        "Westfield Park Recreation and Parkways, District #12 (CA)": 5,
        "Extended Stay America (ESA) Management, LLC": 1,
    }

    # Flock's [Federal] marker: one organisation, only ever in inbound lists, 13 captures.
    federal = {k for k, p in pages.items() if any(federal_marker(n) for n in p.sharing_inbound)}
    assert federal == {f"beaumont-ca-pd/{d}" for d in ("2026-03-28", "2026-04-04", "2026-04-11",
                                                       "2026-04-18", "2026-04-25")} | {
        f"orange-ca-pd/{d}" for d in ("2026-03-29", "2026-04-07", "2026-04-14", "2026-04-21",
                                      "2026-04-28")} | {
        f"woodland-ca-pd/{d}" for d in ("2026-04-10", "2026-04-18", "2026-04-25")}
    assert not any(federal_marker(n) for p in pages.values() for n in p.sharing_outbound)
    for p in pages.values():
        assert len(p.sharing_outbound) == len(p.sharing_outbound_raw)
        assert [n.strip() for n in p.sharing_outbound_raw] == p.sharing_outbound


# ---- New layout: constructed page around the real El Cajon excerpt ---------------------------
def test_new_layout_real_values_from_the_excerpt() -> None:
    page = parse_portal(new_layout_page())
    assert page.layout == "new"
    # REAL (inside the excerpt)
    assert (page.retention_days, page.retention_raw) == (30, "30 days")
    assert page.cameras == 103 and page.camera_counts == {"Total Cameras": 103}
    assert page.vehicles_30d == 825993
    assert page.searches_30d == 416
    assert page.hotlist_hits_30d == 10364
    assert page.hotlists == ["California SVS", "NCMEC Amber Alert"]
    assert page.sharing_outbound_label == "Sharing Network Data With"
    assert page.sharing_outbound[:9] == NEW_OUTBOUND_REAL
    assert page.sharing_outbound[:3] == ["Acworth GA PD", "Ada County ID SO",
                                         "Adams County WA SO"]
    entry_types = [c.entry_type for c in page.cards if c.entry_type]
    assert entry_types[:7] == ["dataRetentionInDays", "numberOfOwnedCameras",
                               "plateReadsInLast30Days", "searchesInLast30Days",
                               "hotlistSources", "plateHitsInLast30Days", "orgsWithAccess"]
    card = next(c for c in page.cards if c.entry_type == "searchesInLast30Days")
    assert (card.label, card.subtitle) == ("Number of Searches",
                                           "Total user search sessions over the last 30 days.")
    # CONSTRUCTED (prefix/suffix written by tests/portal_pages.py)
    assert page.agency_name == "El Cajon CA PD"
    assert page.last_updated == NEW_LAST_UPDATED
    assert page.sharing_outbound[9:] == NEW_OUTBOUND_CONSTRUCTED  # placeholder cell skipped
    assert "California Department of Fish & Wildlife (CA)" in page.sharing_outbound  # attribute,
    # not the truncated cell text
    assert "[Federal] US Postal Inspection Service" in page.sharing_outbound
    assert [n for n in page.sharing_outbound if federal_marker(n)] == [
        "[Federal] US Postal Inspection Service"]
    assert page.sharing_inbound == NEW_INBOUND_CONSTRUCTED
    assert page.sharing_inbound_label == "Receiving Network Data From"
    assert page.detected == "License Plates, Vehicles"
    assert set(page.policies) == {"acceptable_use", "prohibited_uses", "access_policy",
                                  "hotlist_policy"}
    assert page.search_audit_present and page.search_audit_filename == "public_search_audit.csv"
    assert page.search_audit_columns == NEW_AUDIT_CSV.split("\n")[0].replace('"', "").split(",")
    assert [r.reason for r in page.search_audit] == ["stolen vehicle, armed", "multi\nline"]
    assert page.search_audit[1].network_count == 6176
    assert page.additional_info == [{
        "label": "ALPR Policy", "text": "Policy 462 (constructed link)",
        "links": [{"href": "https://example.org/constructed-policy.pdf",
                   "text": "Policy 462 (constructed link)"}]}]
    assert page.unknown_labels == [] and page.warnings == []


def test_new_layout_agency_name_fallbacks() -> None:
    page = parse_portal(new_layout_page(hero=False))
    assert page.agency_name == "El Cajon CA PD"
    assert page.warnings == ["agency name taken from the footer utm_source"]
    assert page.last_updated == NEW_LAST_UPDATED
    page = parse_portal(new_layout_page(hero=False, footer=False))
    assert page.agency_name == "El Cajon CA PD"
    assert page.warnings == ["agency name taken from the <title>"]


def test_new_layout_inbound_table_with_an_unknown_entry_type() -> None:
    page = parse_portal(new_layout_page(inbound_entry_type="orgsSharingWithAgency", audit=False))
    assert page.sharing_inbound == NEW_INBOUND_CONSTRUCTED
    assert not page.search_audit_present
    assert page.warnings == []


def test_new_layout_unknown_entry_type_is_reported() -> None:
    html = new_layout_page().replace('data-tp-entry-type="plateHitsInLast30Days"',
                                     'data-tp-entry-type="cameraAlertActivity"')
    page = parse_portal(html)
    # the label still says what it is, so the value is read and the change is reported
    assert page.hotlist_hits_30d == 10364
    assert any("unknown data-tp-entry-type=cameraAlertActivity" in w for w in page.warnings)
    # a new label: Flock's own subtitle (real, in the excerpt) still says what it is
    html = html.replace(">Number of Hotlist Hits<", ">Camera Alert Activity<")
    page = parse_portal(html)
    assert page.hotlist_hits_30d == 10364
    assert any("read by its subtitle 'Camera Alert Activity'" in w for w in page.warnings)
    # neither key, label nor subtitle known: kept, reported, not read
    html = html.replace("Total hotlist hits over the last 30 days.", "Alerts by source.")
    page = parse_portal(html)
    assert page.hotlist_hits_30d is None
    assert page.unknown_labels == ["Camera Alert Activity"]


def test_new_layout_635_kb_page_is_fast() -> None:
    html = new_layout_page(filler_orgs=LARGE_PAGE_FILLER)
    assert len(html) > 635_000
    page = parse_portal(html.encode())
    assert len(page.sharing_outbound) == 9 + len(NEW_OUTBOUND_CONSTRUCTED) + LARGE_PAGE_FILLER
    assert page.sharing_outbound[-1] == filler_names(LARGE_PAGE_FILLER)[-1]


# ---- Intermediate layout (June 2026): entirely constructed ----------------------------------
def test_intermediate_layout() -> None:
    page = parse_portal(intermediate_page())
    assert page.layout == "intermediate"
    assert page.agency_name == "College Place WA PD"  # "<br>Transparency Portal" stripped
    assert page.last_updated == "2026-06-24T08:14:34.086Z"
    assert page.retention_days == 30
    assert page.cameras == 12 and page.camera_counts == {"Total Cameras": 12}
    assert page.hotlists == ["NCIC", "NCMEC Amber Alert"]
    assert (page.vehicles_30d, page.hotlist_hits_30d, page.searches_30d) == (48120, 57, 1204)
    assert page.sharing_outbound == ["Walla Walla County WA SO", "Walla Walla WA PD",
                                     "[Federal] US Postal Inspection Service"]
    assert page.policies["hotlist_policy"] == "CONSTRUCTED hotlist policy."
    assert len(page.search_audit) == 1 and page.search_audit[0].network_count == 342
    card = next(c for c in page.cards if c.label == "Data Retention")
    assert card.subtitle == "The number of days data is retained."
    assert page.warnings == [] and page.unknown_labels == []
