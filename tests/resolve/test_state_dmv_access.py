"""data/policy_sources.csv, data/state_dmv_access.csv, data/state_policy_events.csv.

Facts asserted here were read in the public pages the rows cite (stored copies, search corpus
"pages"), each named in a comment. Malformed files are generated from copies of the real ones.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from conftest import CORPUS

from alpr_inventory.resolve.state_dmv_access import (
    ACCESS_COLUMNS,
    ACCESS_FILE,
    DATA_DIR,
    EVENTS_FILE,
    POLICIES_FILE,
    REQUIRED_CELLS,
    SOURCES_FILE,
    iso_date_bounds,
    load_access,
    load_events,
    load_policy_data,
    load_sources,
    main,
)
from alpr_inventory.resolve.state_policies import STATES, StatePolicyError

LETTER_STATES = ("AZ", "CA", "CO", "CT", "DE", "HI", "KS", "KY", "ME", "MD", "MI", "NJ", "NM",
                 "NC", "PA", "RI", "WI")  # the 17 states among the 19 governors (voz.us list)


@pytest.fixture(scope="module")
def data():
    return load_policy_data()


def test_real_files_validate_and_cover_every_state(data):
    assert {a.state for a in data.access} == STATES
    cells = {(a.state, a.component, a.channel) for a in data.access}
    for st in STATES:
        for comp, chan in REQUIRED_CELLS:
            assert (st, comp, chan) in cells, (st, comp, chan)
    assert main([]) == 0


def test_every_claim_has_a_source_and_a_date(data):
    # the rule the issue asks for, over the real data (the loader enforces it; this says so)
    for a in data.access:
        if a.access == "unknown":
            assert not a.since and not a.until, a
            continue
        assert a.source_ids and all(s in data.sources for s in a.source_ids), a
        assert iso_date_bounds(a.as_of), a
    for e in data.events:
        assert e.source_ids and all(s in data.sources for s in e.source_ids), e
        assert iso_date_bounds(e.date), e
    for s in data.sources.values():
        assert s.date == "undated" or iso_date_bounds(s.date), s


def test_washington_ice_blocked_in_nlets_while_cbp_keeps_access(data):
    # seattlephi.com/?p=165780 (reporting the UWCHR report of 2026-01-08): ICE's Nlets access
    # to DOL data was blocked on the morning of November 19 after the Governor's office directed
    # it as early as November 7; dailyfly.com 2026-01-08: "The researchers say U.S. Customs and
    # Border Protection still has access to the data, but the state argues that's necessary..."
    ice = data.current("WA", "ICE", "nlets")
    assert (ice.access, ice.since, ice.as_of, ice.basis) == ("no", "2025-11-19", "2026-01-08",
                                                            "secondary")
    assert {"seattlephi-uwchr-2026-01", "dailyfly-2026-01-08"} <= set(ice.source_ids)
    assert "November 18" in ice.notes  # Jalopnik's other date is kept, not hidden
    cbp = data.current("WA", "CBP", "nlets")
    assert (cbp.access, cbp.as_of, cbp.basis) == ("yes", "2026-01-08", "reported")
    assert "dailyfly-2026-01-08" in cbp.source_ids
    assert "Canadian border and airports" in cbp.notes
    assert data.current("WA", "HSI", "nlets").access == "unknown"  # no source names HSI
    src = data.sources["dailyfly-2026-01-08"]
    assert src.url.startswith("https://www.dailyfly.com/2026/01/08/") and src.date == "2026-01-08"


def test_washington_dol_cut_hsi_from_daps_in_august_2025(data):
    # redcensor.com/?p=79487 and the Seattle Times copy on arcamaxmails.com: DOL cancelled
    # DAPS access on Wednesday, August 27, under its agreement with HSI
    hsi = data.current("WA", "HSI", "direct_dmv")
    assert (hsi.access, hsi.since) == ("no", "2025-08-27")
    block = [e for e in data.events_for("WA") if e.date == "2025-08-27"]
    assert [e.kind for e in block] == ["block"] and block[0].components == ("HSI",)
    # theurbanist.org 2026-01-12: 2,671,776 federal queries of DOL data in the first 11 months
    (queries,) = [e for e in data.events_for("WA") if e.count == 2671776]
    assert (queries.period_start, queries.period_end) == ("2025-01-01", "2025-11-30")


def test_the_letters_of_2025_11_12_and_the_nlets_counts_they_cite(data):
    # pubt.io copy of the Wyden release (11/12/2025): "over 290 million queries for ... DMV
    # data, 292,114 of which were from ICE and 605,116 were from Homeland Security
    # Investigations" in the year prior to October 1, 2025
    national = {e.id: e for e in data.events_for("US")}
    letters = national["us-2025-11-12-letters"]
    assert (letters.date, letters.kind, letters.channel) == ("2025-11-12", "letter", "nlets")
    assert "wyden-release-2025-11-12" in letters.source_ids and "19" in letters.summary
    counts = {e.components: e for e in national.values() if e.kind == "count"
              and e.period_end == "2025-10-01"}
    assert counts[("ICE",)].count == 292114 and counts[("ICE",)].count_bound == "exact"
    assert counts[("HSI",)].count == 605116
    assert (counts[()].count, counts[()].count_bound) == (290000000, "at_least")
    assert {e.period_start for e in counts.values()} == {"2024-10-01"}
    # voz.us 2025-11-13 lists the governors of these 17 states (plus the USVI and Guam)
    for st in LETTER_STATES:
        row = data.current(st, "ICE", "nlets")
        assert (row.access, row.as_of) == ("yes", "2025-11-12"), st
        assert any(e.kind == "letter" and e.date == "2025-11-12" for e in data.events_for(st)), st
    for st in ("IL", "MA", "MN", "NY"):  # "as Illinois, New York, Massachusetts, Minnesota..."
        assert data.current(st, "ICE", "nlets").access == "no", st
    assert data.current("OR", "ICE", "nlets").access == "yes"  # "in the process of doing"


def test_texas_is_unknown_where_unknown(data):
    rows = data.access_for("TX")
    assert {(a.component, a.channel) for a in rows} == set(REQUIRED_CELLS)
    assert {(a.access, a.basis) for a in rows} == {("unknown", "not_found")}
    assert all(not a.source_ids for a in rows)
    assert data.events_for("TX") == []


def test_second_hand_claims_are_marked_and_name_their_primary(data):
    for a in data.access:
        if a.basis == "secondary":
            assert "primary" in a.notes.lower() or "read" in a.notes.lower(), a
    for s in data.sources.values():
        if s.kind == "secondary":
            assert s.notes, s
    # Jalopnik's list of states (AR, ID, MT...) has no named primary: kept as an event only
    for st in ("AR", "ID", "MT"):
        assert data.current(st, "ICE", "nlets").basis == "unverified"
        assert [e.basis for e in data.events_for(st)] == ["secondary"]


def test_every_source_is_used_and_corpus_sources_exist(data):
    used = {s for a in data.access for s in a.source_ids}
    used |= {s for e in data.events for s in e.source_ids}
    used |= {sid for sid, s in data.sources.items()
             for p in data.policies for ref in p.sources if ref.ref == s.url}
    assert set(data.sources) == used, set(data.sources) - used
    for s in data.sources.values():
        if s.url.startswith("corpus:"):
            path, section = s.url.removeprefix("corpus:").split("#", 1)
            assert section in (CORPUS / path).read_text(encoding="utf-8"), s.id


def test_iso_dates_of_every_precision():
    assert iso_date_bounds("2025") == (iso_date_bounds("2025-01-01")[0],
                                       iso_date_bounds("2025-12-31")[1])
    assert iso_date_bounds("2024-02")[1].day == 29
    for bad in ("2025-13", "2025-02-30", "11/19/2025", "2025-1-5", "by 2025-11-12", ""):
        assert iso_date_bounds(bad) is None, bad


# ---- generated bad files ------------------------------------------------------------------
def _copy(tmp_path: Path) -> Path:
    for name in (SOURCES_FILE, ACCESS_FILE, EVENTS_FILE, POLICIES_FILE):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    return tmp_path


def _edit_row(path: Path, match, change) -> int:
    """Apply ``change`` to the first record for which ``match`` is true; its line number."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    n = next(i for i, r in enumerate(rows) if i and match(r))
    rows[n] = change(list(rows[n]))
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return n + 1  # no value in these files spans lines


def _set(col: str, value: str, columns=ACCESS_COLUMNS):
    i = columns.index(col)

    def change(row):
        row[i] = value
        return row
    return change


def _wa_ice_nlets(r):
    return r[:3] == ["WA", "ICE", "nlets"]


@pytest.mark.parametrize(("match", "change", "message"), [
    (_wa_ice_nlets, _set("source_ids", ""), "access is 'no' but no source is given"),
    (_wa_ice_nlets, _set("as_of", ""), "as_of is empty: a claim needs the date"),
    (_wa_ice_nlets, _set("as_of", "2026-13-08"), "as_of must be an ISO date"),
    (_wa_ice_nlets, _set("since", "mid-November"), "since must be an ISO date"),
    (_wa_ice_nlets, _set("access", "blocked"), "access must be one of yes/no/partial/unknown"),
    (_wa_ice_nlets, _set("source_ids", "uw-report"), "source id 'uw-report' is not in"),
    (_wa_ice_nlets, _set("notes", ""), "basis is secondary: say in notes"),
    (_wa_ice_nlets, _set("basis", "not_found"), "basis of a claim must be one of"),
    (_wa_ice_nlets, _set("since", "2026-02-01"), "since 2026-02-01 is after as_of 2026-01-08"),
    (lambda r: r[:3] == ["TX", "ICE", "nlets"], _set("state", "Tx"), "state must be one of"),
    (lambda r: r[:3] == ["TX", "ICE", "nlets"], _set("component", "ERO"),
     "component must be one of"),
    (lambda r: r[:3] == ["TX", "ICE", "nlets"], _set("basis", "primary"),
     "basis of an unknown row must be one of"),
    (lambda r: r[:3] == ["TX", "HSI", "nlets"], _set("component", "ICE"),
     "a second current row (empty until) for TX/ICE/nlets"),
])
def test_bad_access_row_is_reported_with_its_line(tmp_path, match, change, message):
    d = _copy(tmp_path)
    n = _edit_row(d / ACCESS_FILE, match, change)
    with pytest.raises(StatePolicyError) as exc:
        load_policy_data(d)
    assert f"{d / ACCESS_FILE}:{n}: " in str(exc.value) or "no row for TX HSI" in str(exc.value)
    assert message in str(exc.value)


def test_a_claim_without_source_or_date_fails(tmp_path):
    """The issue's rule, on a generated file: a policy claim lacking a source or a date."""
    d = _copy(tmp_path)
    header = ",".join(ACCESS_COLUMNS)
    (d / ACCESS_FILE).write_text(
        f"{header}\nWA,ICE,nlets,no,2025-11-19,,,primary,,blocked\n", encoding="utf-8")
    with pytest.raises(StatePolicyError) as exc:
        load_access(d / ACCESS_FILE, load_sources(d / SOURCES_FILE))
    text = str(exc.value)
    assert f"{d / ACCESS_FILE}:2: access is 'no' but no source is given" in text
    assert f"{d / ACCESS_FILE}:2: as_of is empty" in text


def test_a_state_without_a_row_fails(tmp_path):
    d = _copy(tmp_path)
    lines = (d / ACCESS_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [ln for ln in lines if not ln.startswith("WY,CBP,direct_dmv,")]
    assert len(kept) == len(lines) - 1
    (d / ACCESS_FILE).write_text("".join(kept), encoding="utf-8")
    with pytest.raises(StatePolicyError, match="no row for WY CBP/direct_dmv"):
        load_policy_data(d)


@pytest.mark.parametrize(("col", "value", "message"), [
    ("source_ids", "", "no source is given: every event needs a source id"),
    ("date", "", "date is empty"),
    ("date", "Nov 2025", "date must be an ISO date"),
    ("state", "USA", "state must be a state, DC or US"),
    ("kind", "news", "kind must be one of"),
    ("count", "292,114", "count must be a whole number"),
    ("count_bound", "", "count_bound must be one of"),
    ("period_start", "2026-01-01", "period_end 2025-10-01 is before period_start 2026-01-01"),
    ("component", "ICE;NSA", "component must be empty or one or more of"),
])
def test_bad_event_is_reported_with_its_line(tmp_path, col, value, message):
    from alpr_inventory.resolve.state_dmv_access import EVENT_COLUMNS

    d = _copy(tmp_path)
    n = _edit_row(d / EVENTS_FILE, lambda r: r[0] == "us-2025-11-12-nlets-ice-queries",
                  _set(col, value, EVENT_COLUMNS))
    with pytest.raises(StatePolicyError) as exc:
        load_events(d / EVENTS_FILE, load_sources(d / SOURCES_FILE))
    assert f"{d / EVENTS_FILE}:{n}: {message}" in str(exc.value)


def test_bad_source_and_cross_file_checks(tmp_path):
    from alpr_inventory.resolve.state_dmv_access import SOURCE_COLUMNS

    d = _copy(tmp_path)
    n = _edit_row(d / SOURCES_FILE, lambda r: r[0] == "dailyfly-2026-01-08",
                  _set("date", "Jan 8, 2026", SOURCE_COLUMNS))
    with pytest.raises(StatePolicyError, match=rf":{n}: date must be an ISO date"):
        load_sources(d / SOURCES_FILE)
    d = _copy(tmp_path)
    # removing a source that state_policies.csv cites, and the events that cite it
    _edit_row(d / SOURCES_FILE, lambda r: r[0] == "voz-2025-11-13",
              _set("id", "voz-renamed", SOURCE_COLUMNS))
    with pytest.raises(StatePolicyError) as exc:
        load_policy_data(d)
    assert "source id 'voz-2025-11-13' is not in policy_sources.csv" in str(exc.value)
    d = _copy(tmp_path)
    _edit_row(d / SOURCES_FILE, lambda r: r[0] == "hoodline-2025-11-13",
              _set("url", "https://hoodline.com/moved", SOURCE_COLUMNS))
    with pytest.raises(StatePolicyError) as exc:
        load_policy_data(d)
    assert "https://hoodline.com/2025/11/congress-members" in str(exc.value)
    assert "is not registered in policy_sources.csv" in str(exc.value)


def test_old_file_must_agree_with_the_access_rows(tmp_path):
    d = _copy(tmp_path)
    _edit_row(d / ACCESS_FILE, lambda r: r[:3] == ["IL", "ICE", "nlets"], _set("access", "yes"))
    with pytest.raises(StatePolicyError) as exc:
        load_policy_data(d)
    assert "nlets_ice_hsi_dmv_blocked is 'yes' but state_dmv_access.csv" in str(exc.value)
    d = _copy(tmp_path)
    _edit_row(d / ACCESS_FILE, _wa_ice_nlets, _set("since", "2025-12-01"))
    with pytest.raises(StatePolicyError, match="nlets_blocked_since '2025-11' disagrees"):
        load_policy_data(d)


def test_missing_file_and_bad_header(tmp_path):
    d = _copy(tmp_path)
    (d / EVENTS_FILE).unlink()
    with pytest.raises(StatePolicyError, match="state_policy_events.csv: cannot read"):
        load_policy_data(d)
    d = _copy(tmp_path)
    (d / SOURCES_FILE).write_text("id,title\nx,y\n", encoding="utf-8")
    with pytest.raises(StatePolicyError, match=r"policy_sources.csv:1: header must be"):
        load_policy_data(d)
    assert main([str(d)]) == 1
