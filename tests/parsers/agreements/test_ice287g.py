"""ICE 287(g) participating / pending sheets: parser and history across the 64 versions.

Every fact below was read from the workbooks themselves with openpyxl (cell values, cell
hyperlink targets, worksheet max_row), independently of the parser:

* 64 files (29 participating, 35 pending), one sheet "Sheet1", header on row 1;
* participating 16 May 2025 am: 7 columns, rows 2-572 hold 571 agencies, rows 573-586 are empty;
  participating 18 July 2025 pm: 8 columns (+ ADDENDUM), 832 agencies on rows 2-833, rows
  834-906 empty (73), 603 MOA cell hyperlinks of which 168 are Outlook SafeLinks, 39 rows with an
  ADDENDUM hyperlink (all SafeLinks); pending 15 May am: 92 agencies; pending 18 July pm: 26;
* OK Department of Public Safety, Task Force Model: SIGNED 2025-02-18, MOA hyperlink
  .../OklahomaDeptPublicSafety_TFM_MOA_02.18.25.pdf (row 566 on 18 July pm);
* St. Cloud Police Department (FL) row 311 on 18 July pm: MOA hyperlink
  https://gcc02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.ice.gov%2Fdoclib%2F287gMOA%2FStCloudPoliceDeptFL_TFM_MOA_04142025.pdf&data=...;
  on 16 May it was .../ST_CLOUD_PD_FL_TFM_04.14.25.pdf (row 238);
* Hillsborough County SO (FL) WSO row 165 on 18 July pm: MOA
  .../hIllsboroughCountySherrifsOffice_WSO_MOA_03122025.pdf, ADDENDUM (SafeLinks) ->
  .../hIllsboroughCountySherrifsOffice_WSO_MOA_06102025.pdf;
* SIGNED typed wrong on 18 July pm: Campbell County SO (VA) row 785 '05/082025' (text);
  Tooele County SO (UT) WSO row 775 '7/72025' (text); Grundy County SO (TN) row 639 the date
  cell 5025-07-07;
* 16 May am rows 454, 501, 504 (Aransas, Montgomery, Nueces County SO, TX): MOA text
  "link | addendum" (no-break spaces), no hyperlink; row 264 University of Florida PD: the MOA
  URL typed as the text, with the same hyperlink;
* "UTAHJ" for Weber County SO on 7 July am (row 723); "AlABAMA" on pending 6 June am row 3;
  Grafton County SO (NH) has no TYPE on 14 July am (row 264);
* Forsyth County SO (GA) WSO: not on the 19 May am participating sheet, on 19 May pm (row 287);
* Jackson County SO (MN): JEM and WSO rows on 9 July pm (rows 452-453), only WSO on 11 July am;
* Walworth County SO (WI) WSO: pending (6 June am row 77) ... participating 7 July am (row 762,
  SIGNED 2025-06-12, MOA .../WalworthCoSheriffsOfficeWI_WSO_MOA_06122025.pdf), gone on 7 July pm;
* Grundy County SO (TN) WSO: on every pending sheet 3 June am - 7 July pm, participating from
  9 July am.
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from conftest import CORPUS

from alpr_inventory.resolve.resolver import default_resolver
from parsers.agreements.ice287g import (
    History287g,
    Ice287gError,
    Sheet287g,
    agreement_history,
    agreement_key,
    normalize_agency,
    parse_287g_sheet,
    parse_signed,
    sheet_date_from_name,
    unwrap_safelinks,
)

SHEETS = CORPUS / "agreements" / "287g" / "sheets"
FIRST_PART = "20250519_024922__participatingAgencies05162025am.xlsx"
LAST_PART = "20250719_151637__participatingAgencies07182025pm.xlsx"
FIRST_PEND = "20250519_024922__pendingAgencies05152025am.xlsx"
LAST_PEND = "20250719_151637__pendingAgencies07182025pm.xlsx"
ICE = "https://www.ice.gov/doclib/287gMOA/"


@pytest.fixture(scope="module")
def sheets() -> dict[str, Sheet287g]:
    files = sorted(SHEETS.glob("*.xlsx"))
    assert len(files) == 64
    return {f.name: parse_287g_sheet(f) for f in files}


@pytest.fixture(scope="module")
def history(sheets) -> list[History287g]:
    return agreement_history(sheets.values(), resolver=default_resolver())


def hist(history: list[History287g], state: str, agency: str, model: str) -> History287g:
    key = agreement_key(state, agency, model)
    found = [h for h in history if h.key == key]
    assert len(found) == 1, key
    return found[0]


def row(sheet: Sheet287g, number: int):
    found = [r for r in sheet.rows if r.row_number == number]
    assert len(found) == 1, number
    return found[0]


# -- the sweep ----------------------------------------------------------------------------


def test_every_version_parses_with_no_lost_rows(sheets):
    kinds = {"participating": 0, "pending": 0}
    for name, s in sheets.items():
        assert s.lost_rows == 0, name
        assert s.unread_rows == [], name  # the corpus has no unreadable row
        assert s.header_row == 1 and s.worksheet == "Sheet1", name
        # kind is read from the content; the file name agrees for every version
        assert s.kind == sheet_date_from_name(name)["kind"], name
        assert s.kind_basis.startswith("columns:"), name
        assert not any("file name says" in w for w in s.warnings), name
        assert s.sheet_date == sheet_date_from_name(name)["date"], name
        assert s.sheet_date_basis.startswith("file name: ICE publication date"), name
        kinds[s.kind] += 1
        for r in s.rows:
            assert r.agency and r.state_code and r.model, (name, r.row_number)
            # nothing is dropped: every published cell is kept
            assert r.cells.get("LAW ENFORCEMENT AGENCY", "").strip() == r.agency
    assert kinds == {"participating": 29, "pending": 35}


def test_first_and_last_versions(sheets):
    first, last = sheets[FIRST_PART], sheets[LAST_PART]
    assert first.kind == "participating" and first.sheet_date == "2025-05-16"
    assert first.edition == "am" and first.retrieved_at == "2025-05-19T02:49:22"
    assert first.columns == ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY",
                             "SUPPORT TYPE", "SIGNED", "MOA"]
    assert len(first.rows) == 571
    assert first.blank_rows == 14 and first.blank_row_numbers == list(range(573, 587))
    assert first.last_row == 586

    assert last.sheet_date == "2025-07-18" and last.edition == "pm"
    assert last.columns[-1] == "ADDENDUM" and len(last.columns) == 8
    assert len(last.rows) == 832
    assert last.blank_rows == 73 and last.blank_row_numbers == list(range(834, 907))
    assert sum(1 for r in last.rows if r.moa_url) == 603
    assert sum(1 for r in last.rows
               if any(f.startswith("moa_safelinks_unwrapped") for f in r.flags)) == 168
    assert sum(1 for r in last.rows if r.addendum_urls) == 39
    assert all("safelinks" not in u for r in last.rows for u in r.addendum_urls + [r.moa_url or ""])

    pend_first, pend_last = sheets[FIRST_PEND], sheets[LAST_PEND]
    assert pend_first.kind == pend_last.kind == "pending"
    assert "no SIGNED or MOA column" in pend_first.kind_basis
    assert pend_first.columns == ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY",
                                  "SUPPORT TYPE"]
    assert len(pend_first.rows) == 92 and pend_first.sheet_date == "2025-05-15"
    assert len(pend_last.rows) == 26
    assert all(r.signed is None and r.moa_url is None for r in pend_last.rows)


# -- single rows ----------------------------------------------------------------------------


def test_named_agency_signed_date_and_moa(sheets):
    r = row(sheets[LAST_PART], 566)
    assert (r.state, r.agency, r.type, r.support_type) == (
        "OKLAHOMA", "Oklahoma Department of Public Safety", "State Agency", "Task Force Model")
    assert r.state_code == "OK" and r.model == "TFM"
    assert r.signed == "2025-02-18" and r.signed_raw == "2025-02-18"
    assert r.moa_text == "link"
    assert r.moa_url == ICE + "OklahomaDeptPublicSafety_TFM_MOA_02.18.25.pdf"
    assert r.moa_url_raw == r.moa_url


def test_safelinks_moa_and_addendum_unwrapped(sheets):
    r = row(sheets[LAST_PART], 311)
    assert r.agency == "St. Cloud Police Department"
    assert r.moa_url == ICE + "StCloudPoliceDeptFL_TFM_MOA_04142025.pdf"
    assert r.moa_url_raw.startswith("https://gcc02.safelinks.protection.outlook.com/?url=https%3A")
    assert "moa_safelinks_unwrapped: Outlook SafeLinks wrapper removed" in r.flags

    h = row(sheets[LAST_PART], 165)
    assert (h.agency, h.model, h.signed) == ("Hillsborough County Sheriff's Office", "WSO",
                                             "2025-02-26")
    assert h.moa_url == ICE + "hIllsboroughCountySherrifsOffice_WSO_MOA_03122025.pdf"
    assert h.addendum_text == "link"
    assert h.addendum_urls == [ICE + "hIllsboroughCountySherrifsOffice_WSO_MOA_06102025.pdf"]
    assert h.addendum_urls_raw[0].startswith("https://gcc02.safelinks.protection.outlook.com/")


def test_unwrap_safelinks():
    inner = ICE + "a b.pdf"
    wrapped = ("https://nam11.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.ice.gov%2F"
               "doclib%2F287gMOA%2Fa%20b.pdf&data=05%7C02%7Cx&reserved=0")
    assert unwrap_safelinks(wrapped) == inner
    twice = ("https://gcc02.safelinks.protection.outlook.com/?url="
             + wrapped.replace("%", "%25").replace("&", "%26").replace("?", "%3F")
             .replace(":", "%3A").replace("/", "%2F") + "&data=1")
    assert unwrap_safelinks(twice) == inner
    assert unwrap_safelinks(ICE + "x.pdf") == ICE + "x.pdf"
    assert unwrap_safelinks("https://evil.example/?url=https://x") == "https://evil.example/?url=https://x"


def test_mistyped_signed_dates_kept_raw_and_flagged(sheets):
    last = sheets[LAST_PART]
    campbell = row(last, 785)
    assert campbell.agency == "Campbell County Sheriff's Office" and campbell.state_code == "VA"
    assert campbell.signed_raw == "05/082025" and campbell.signed == "2025-05-08"
    assert any(f.startswith("signed_repaired: '05/082025' has no '/' before the year")
               for f in campbell.flags)

    tooele = row(last, 775)
    assert (tooele.agency, tooele.model) == ("Tooele County Sheriff's Office", "WSO")
    assert tooele.signed_raw == "7/72025" and tooele.signed == "2025-07-07"
    assert any(f.startswith("signed_repaired") for f in tooele.flags)

    grundy = row(last, 639)
    assert grundy.agency == "Grundy County Sheriff's Office"  # published with a trailing space
    assert grundy.cells["LAW ENFORCEMENT AGENCY"] == "Grundy County Sheriff's Office "
    assert grundy.signed_raw == "5025-07-07" and grundy.signed is None  # never guessed
    assert any(f.startswith("signed_implausible: date cell '5025-07-07' has year 5025")
               for f in grundy.flags)


def test_parse_signed_unit():
    assert parse_signed("7/4/2025")[1:] == ("2025-07-04", ["signed_text: typed as text "
                                                         "'7/4/2025', read as 2025-07-04"])
    raw, iso, flags = parse_signed("TBD")
    assert (raw, iso) == ("TBD", None) and flags[0].startswith("signed_unparsed")
    assert parse_signed(None) == (None, None, [])
    assert parse_signed("13/402025")[1] is None  # month 13: not repaired
    raw, iso, flags = parse_signed("2026-01-02", max_year=2025)
    assert iso is None and flags[0].startswith("signed_implausible")


def test_link_text_without_hyperlink_and_url_typed_in_cell(sheets):
    first = sheets[FIRST_PART]
    for n, county in ((454, "Aransas"), (501, "Montgomery"), (504, "Nueces")):
        r = row(first, n)
        assert r.agency.startswith(county) and r.state_code == "TX" and r.model == "JEM"
        assert r.moa_text == "link\u00a0|\u00a0addendum" and r.moa_url is None
        assert any(f.startswith("moa_no_hyperlink") for f in r.flags)
        assert any(f.startswith("moa_mentions_addendum") for f in r.flags)
    uf = row(first, 264)
    assert uf.agency == "University of Florida Police Department"
    assert uf.moa_url == uf.moa_text == ICE + "UnivFLPDFL_TFM_MOA_041525.pdf"
    assert not any(f.startswith("moa_url_from_text") for f in uf.flags)
    assert uf.county == "#N/A" and any(f.startswith("county_error_value") for f in uf.flags)
    pending = [r for r in first.rows if r.moa_text == "link pending"]
    assert pending and all(r.moa_url is None and not any(f.startswith("moa_") for f in r.flags)
                           for r in pending)


def test_state_typos_and_missing_type(sheets):
    weber = row(sheets["20250707_151710__participatingAgencies07072025am.xlsx"], 723)
    assert weber.state == "UTAHJ" and weber.state_code == "UT"
    assert any(f.startswith("state_repaired: 'UTAHJ' read as UTAH (UT)") for f in weber.flags)
    franklin = row(sheets["20250608_151716__pendingAgencies06062025am.xlsx"], 3)
    assert franklin.state == "AlABAMA" and franklin.state_code == "AL"
    assert franklin.county == "Frankin County"  # as published
    grafton = row(sheets["20250714_151904__participatingAgencies07142025am.xlsx"], 264)
    assert grafton.agency == "Grafton County Sheriff's Office" and grafton.type is None
    assert "type_missing: TYPE cell is empty" in grafton.flags


def test_duplicate_rows_are_kept_and_flagged(sheets):
    s = sheets["20250707_151710__participatingAgencies07072025am.xlsx"]
    a, b = row(s, 295), row(s, 296)
    assert a.agency == b.agency == "St. Cloud Police Department"
    assert (a.signed, b.signed) == ("2025-04-15", "2025-04-14")
    assert a.moa_text == "link pending" and b.moa_url == ICE + (
        "StCloudPoliceDeptFL_TFM_MOA_04142025.pdf")
    assert any(f.startswith("duplicate_key") and "[296]" in f for f in a.flags)


# -- history ----------------------------------------------------------------------------------


def test_agency_appears_between_two_versions(sheets, history):
    key = agreement_key("GA", "Forsyth County Sheriff's Office", "WSO")
    am = sheets["20250519_151802__participatingAgencies05192025am.xlsx"]
    pm = sheets["20250520_151813__participatingAgencies05192025pm.xlsx"]
    assert key not in {r.key for r in am.rows}
    assert [r.row_number for r in pm.rows if r.key == key] == [287]
    h = hist(history, "GA", "Forsyth County Sheriff's Office", "WSO")
    part = [li for li in h.listings if li.kind == "participating"]
    assert part[0].source == pm.source and part[0].row_number == 287
    assert h.first_participating == "2025-05-19" and h.on_newest_participating
    assert not h.left_program


def test_agency_leaves_between_two_versions(history):
    jem = hist(history, "MN", "Jackson County Sheriff's Office", "JEM")
    assert jem.last_participating == "2025-07-09" and jem.left_program
    assert jem.left_program_by == "2025-07-11"
    assert jem.listings[-1].source == "20250710_151854__participatingAgencies07092025pm.xlsx"
    assert jem.listings[-1].row_number == 453
    assert [m.value for m in jem.moa_urls] == [ICE + "JacksonCountySOMN_JEM_MOA_030625.pdf"]
    wso = hist(history, "MN", "Jackson County Sheriff's Office", "WSO")
    assert wso.on_newest_participating and not wso.left_program
    assert jem.agency_id == wso.agency_id == "jackson-county-mn-so"


def test_pending_then_participating(history):
    grundy = hist(history, "TN", "Grundy County Sheriff's Office", "WSO")
    spans = [(s.kind, s.first, s.last, s.sheets) for s in grundy.listed_as]
    assert spans == [("pending", "2025-06-03", "2025-07-07", 16),
                     ("participating", "2025-07-09", "2025-07-18", 9)]
    assert grundy.became_participating == "2025-07-09"
    assert grundy.pending_since is None and not grundy.on_newest_pending
    assert [(s.signed, s.signed_raw) for s in grundy.signed_seen] == [(None, "5025-07-07")]
    assert (grundy.agency_id, grundy.agency_kind) == ("grundy-county-tn-so", "sheriff")
    assert grundy.resolved_name == "Grundy County Sheriff's Office TN"

    walworth = hist(history, "WI", "Walworth County Sheriff's Office", "WSO")
    assert [(s.kind, s.first, s.last) for s in walworth.listed_as] == [
        ("pending", "2025-05-15", "2025-06-10"), ("participating", "2025-06-17", "2025-07-07")]
    assert walworth.left_program and walworth.left_program_by == "2025-07-07"  # the pm version
    assert walworth.listings[-1].source == "20250707_151710__participatingAgencies07072025am.xlsx"
    assert [(s.signed, s.first_seen) for s in walworth.signed_seen] == [("2025-06-12",
                                                                           "2025-06-17")]
    assert [(m.value, m.first_seen) for m in walworth.moa_urls] == [
        (ICE + "WalworthCoSheriffsOfficeWI_WSO_MOA_06122025.pdf", "2025-07-03")]


def test_moa_url_and_signed_changes_over_time(history):
    h = hist(history, "FL", "St. Cloud Police Department", "TFM")
    assert h.names_seen == ["City of St. Cloud Police Department", "St. Cloud Police Department"]
    assert [(m.value, m.first_seen, m.last_seen) for m in h.moa_urls] == [
        (ICE + "ST_CLOUD_PD_FL_TFM_04.14.25.pdf", "2025-05-16", "2025-06-26"),
        (ICE + "StCloudPoliceDeptFL_TFM_MOA_04142025.pdf", "2025-06-27", "2025-07-18")]
    assert [(c.sheet_date, c.before, c.after) for c in h.signed_changes] == [
        ("2025-07-09", ["2025-04-14", "2025-04-15"], ["2025-04-14"])]
    assert h.agency_id == "saint-cloud-fl-pd"
    hb = hist(history, "FL", "Hillsborough County Sheriff's Office", "WSO")
    assert [(a.value, a.first_seen) for a in hb.addendum_urls] == [
        (ICE + "hIllsboroughCountySherrifsOffice_WSO_MOA_06102025.pdf", "2025-07-03")]


def test_currently_pending_and_back_to_pending(history):
    assert sum(1 for h in history if h.on_newest_pending) == 26
    assert sum(1 for h in history if h.on_newest_participating) == 832
    sp = hist(history, "TX", "Southside Place Police Department", "TFM")
    assert [(s.kind, s.first, s.last) for s in sp.listed_as] == [
        ("pending", "2025-06-17", "2025-06-26"), ("participating", "2025-06-27", "2025-07-16"),
        ("pending", "2025-07-18", "2025-07-18")]
    assert sp.pending_since == "2025-07-18" and sp.left_program
    assert sp.left_program_by == "2025-07-18"


def test_renames_are_hinted_not_merged(history):
    old = hist(history, "FL", "Lake Clark Shores Police Department", "TFM")
    new = hist(history, "FL", "Lake Clarke Shores Police Department", "TFM")
    assert old.left_program and not new.left_program
    hint = old.possible_successors[0]
    assert (hint.agency, hint.sheet_date, hint.same_signed) == (
        "Lake Clarke Shores Police Department", "2025-07-09", True)
    assert new.possible_predecessors[0].agency == "Lake Clark Shores Police Department"
    ar = hist(history, "AR", "Arkansas State Police", "TFM")
    assert ar.dropped_from_pending and ar.possible_successors[0].kind == "pending->participating"
    assert ar.possible_successors[0].agency == "Arkansas State Police Department"
    assert ar.possible_successors[0].same_agency_id
    assert not hist(history, "TX", "San Jacinto County Sheriff's Office",
                    "WSO").possible_successors


def test_resolver_gets_the_state(history):
    ok = hist(history, "OK", "Oklahoma Department of Public Safety", "TFM")
    assert ok.resolved_name == "Oklahoma Department of Public Safety OK"
    assert (ok.agency_id, ok.agency_kind) == ("oklahoma-ok-dps", "state")
    assert all(h.resolved_name for h in history)
    assert not any(f.startswith("resolver_state_mismatch") for h in history for f in h.flags)


# -- synthetic layouts -------------------------------------------------------------------------


def _workbook(rows: list[list], links: dict[str, str] | None = None, title: str = "Sheet1"
              ) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    for ref, target in (links or {}).items():
        ws[ref].hyperlink = target
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_header_below_title_unknown_columns_blank_and_unread_rows():
    wrapped = ("https://gcc02.safelinks.protection.outlook.com/?url=https%3A%2F%2Fwww.ice.gov%2F"
               "doclib%2F287gMOA%2FX_TFM.pdf&data=05&reserved=0")
    body = _workbook([
        ["287(g) Participating Agencies"],
        [None],
        ["STATE", "AGENCY", "MODEL", "DATE SIGNED", "MOA LINK", "NOTES"],
        ["TEXAS", "X County Sheriff's Office", "Task Force Model", "7/4/2025", "link", "renewed"],
        [None, "  ", None],
        ["TEXAS"],
        ["FLORIDA", "Y Police Department", "Jail Enforcement Model", None,
         '=HYPERLINK("https://www.ice.gov/doclib/287gMOA/Y.pdf","link")', None, "stray"],
    ], links={"E4": wrapped})
    s = parse_287g_sheet(body, name="participatingAgencies07042025am.xlsx")
    assert s.header_row == 3 and s.preamble == ["287(g) Participating Agencies", ""]
    assert s.kind == "participating" and s.kind_basis.startswith("title above the header")
    assert s.sheet_date == "2025-07-04" and s.edition == "am"
    assert s.columns == ["STATE", "AGENCY", "MODEL", "DATE SIGNED", "MOA LINK", "NOTES"]
    assert s.column_fields["MODEL"] == "support_type"
    assert any("unknown column 'NOTES'" in w for w in s.warnings)
    x, y = s.rows
    assert (x.row_number, x.signed, x.extra) == (4, "2025-07-04", {"NOTES": "renewed"})
    assert x.moa_url == ICE + "X_TFM.pdf" and x.moa_url_raw == wrapped
    assert y.moa_url == ICE + "Y.pdf" and y.moa_text == "link"
    assert y.extra == {"(column G)": "stray"} and y.signed is None
    assert "signed_missing: SIGNED cell is empty" in y.flags
    # row 2 (blank, above the header) is preamble; row 5 (spaces only) is a blank row
    assert s.blank_rows == 1 and s.blank_row_numbers == [5]
    assert [(u.row_number, u.reason, u.cells) for u in s.unread_rows] == [
        (6, "no agency name", {"STATE": "TEXAS"})]
    assert s.lost_rows == 0


def test_kind_from_content_not_file_name_and_date_basis():
    body = _workbook([["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE"],
                      ["OHIO", "Z Police Department", "Municipality", "Z County",
                       "Task Force Model"]])
    s = parse_287g_sheet(body, name="20250801_101010__participatingAgencies07312025pm.xlsx")
    assert s.kind == "pending"
    assert any("file name says 'participating'" in w for w in s.warnings)
    assert s.sheet_date == "2025-07-31" and s.retrieved_at == "2025-08-01T10:10:10"
    s2 = parse_287g_sheet(body, sheet_date="2025-08-02")
    assert (s2.sheet_date, s2.sheet_date_basis, s2.source) == ("2025-08-02", "argument", None)
    assert parse_287g_sheet(body).sheet_date is None
    assert sheet_date_from_name("ParticipatingAgency091826am.xlsx")["date"] == "2026-09-18"
    assert sheet_date_from_name("287gParticipatingAgencies091526pm.xlsx")["kind"] == (
        "participating")
    with pytest.raises(Ice287gError, match="no sheet_date"):
        agreement_history([parse_287g_sheet(body)], resolver=False)
    with pytest.raises(Ice287gError, match="not a readable"):
        parse_287g_sheet(b"not a workbook")


def test_no_header_keeps_every_row():
    body = _workbook([["something else"], [None], ["a", "b"]])
    s = parse_287g_sheet(body, name="pendingAgencies07012025am.xlsx")
    assert s.kind == "pending" and s.kind_basis.startswith("file name")
    assert [u.row_number for u in s.unread_rows] == [1, 3] and s.blank_rows == 1
    assert s.lost_rows == 0


def test_normalize_agency():
    assert normalize_agency("Galveston County Sheriff\u2019s Office ") == normalize_agency(
        "Galveston County Sheriff's Office")
    assert normalize_agency("City of St. Cloud Police Department") == "st cloud police department"
    assert agreement_key("LA", "Arnaudville Police Department, LA", "TFM") == agreement_key(
        "LA", "Arnaudville Police Department", "TFM")
