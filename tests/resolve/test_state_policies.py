"""data/state_policies.csv and its loader.

The expected values are what the corpus reference notes say (reference/STATE_LAWS.md,
reference/DMV_NLETS_NOTES.md) and the public pages they cite: the Wyden/Espaillat letters of
12 November 2025 (IL, MA, MN, NY block ICE via Nlets; WA after contact; OR in progress; CA, CO,
MD, MI, NJ, AZ, WI among the 19 recipients), NY VTL 201(12) (Green Light), CO SB21-131
(C.R.S. 24-74-101..105), OR ORS 180.805 / 181A.820-.829, CA Civ. Code 1798.90.5-.55 with AG
bulletin 2023-DLE-06, IL 625 ILCS 5/2-130 (HB 3326), WA RCW 43.17.425.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import CORPUS

from alpr_inventory.resolve.state_policies import (
    COLUMNS,
    DEFAULT_PATH,
    STATES,
    StatePolicyError,
    load_state_policies,
    policies_by_state,
)

LETTERS = "https://pubt.io/view/4D7AD966B0207EEEDAF24C9918948AA95580375E"


@pytest.fixture(scope="module")
def by_state():
    return policies_by_state(load_state_policies())


def test_file_validates_with_one_row_per_state_and_dc():
    policies = load_state_policies()
    assert len(policies) == 51
    assert {p.state for p in policies} == STATES
    assert DEFAULT_PATH.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)


def test_nlets_blocks_from_the_november_2025_letters(by_state):
    for st in ("IL", "MA", "MN", "NY", "WA"):
        p = by_state[st]
        assert p.nlets_ice_hsi_dmv_blocked == "yes", st
        # WA: the state's own statement dates its block 2025-11-19 (data/state_dmv_access.csv)
        assert p.nlets_blocked_since == ("2025-11" if st == "WA" else "by 2025-11-12"), st
        assert LETTERS in p.sources_for("nlets"), st
        assert "HSI" in p.notes, st  # the letters say ICE; HSI is not stated
    oregon = by_state["OR"]
    assert oregon.nlets_ice_hsi_dmv_blocked == "no" and oregon.as_of == "2025-11-12"
    assert "currently doing" in oregon.notes and "in progress" in oregon.notes
    for st in ("CA", "CO", "MD", "MI", "NJ", "AZ", "WI"):
        assert by_state[st].nlets_ice_hsi_dmv_blocked == "no", st
        assert by_state[st].as_of == "2025-11-12", st
    wa = by_state["WA"]
    assert "CBP keeps access" in wa.notes and wa.as_of == "2026-01-08"


def test_dmv_laws(by_state):
    ny = by_state["NY"]
    assert "Green Light" in ny.dmv_law
    assert ny.dmv_law_citation.startswith("N.Y. Veh. & Traf. Law § 201(12)")
    assert "https://www.nysenate.gov/legislation/bills/2023/A2325" in ny.sources_for("dmv")
    assert "primarily enforces immigration law" in ny.notes
    co = by_state["CO"]
    assert co.dmv_law.startswith("SB21-131") and co.dmv_law_citation == (
        "C.R.S. 24-74-101 to 24-74-105")
    assert "https://leg.colorado.gov/bills/SB21-131" in co.sources_for("dmv")
    assert by_state["OR"].dmv_law_citation == "ORS 180.805; ORS 181A.820-181A.829"
    assert by_state["WA"].dmv_law_citation.startswith("RCW 43.17.425")
    assert "not DMV-specific" in by_state["WA"].notes
    for st in ("CA", "IL", "MA"):  # statute text not in the corpus
        assert by_state[st].dmv_law == "unknown", st
    # Minn. Stat. 171.12 subd. 11 as printed in S.F. 100 (revisor.mn.gov, posted 2025-01-14):
    # immigration status data are private and 'must not' be shared outside the licensing division
    mn = by_state["MN"]
    assert mn.dmv_law_citation == "Minn. Stat. 171.12 subd. 11"
    assert "must not share or disseminate" in mn.notes
    assert any("revisor.mn.gov" in r for r in mn.sources_for("dmv"))


def test_alpr_laws(by_state):
    ca = by_state["CA"]
    assert ca.alpr_sharing_citation == "Cal. Civ. Code 1798.90.5-1798.90.55"
    assert ca.alpr_federal_sharing_restricted == "yes"
    assert ca.alpr_out_of_state_restricted == "yes"
    assert "https://oag.ca.gov/system/files/media/2023-dle-06.pdf" in ca.sources_for("alpr")
    assert "2023-DLE-06" in ca.notes
    il = by_state["IL"]
    assert il.alpr_sharing_citation == "625 ILCS 5/2-130"
    assert il.alpr_out_of_state_restricted == "yes"
    assert il.alpr_federal_sharing_restricted == "unknown"  # the sources do not say
    assert by_state["FL"].alpr_sharing_citation.startswith("Fla. Stat. 316.0777")
    assert by_state["FL"].alpr_federal_sharing_restricted == "unknown"


def test_unknown_rows_make_no_claims(by_state):
    tx = by_state["TX"]
    assert tx.nlets_ice_hsi_dmv_blocked == "unknown" and tx.dmv_law == "unknown"
    assert tx.sources == () and tx.as_of == "unknown"


def test_corpus_references_name_real_files_and_sections():
    for p in load_state_policies():
        for s in p.sources:
            if s.is_url:
                continue
            path, section = s.ref.removeprefix("corpus:").split("#", 1)
            text = (CORPUS / path).read_text(encoding="utf-8")
            assert section in text, (p.state, s.ref)


def _copy(tmp_path: Path) -> tuple[Path, list[str]]:
    dst = tmp_path / "state_policies.csv"
    shutil.copy(DEFAULT_PATH, dst)
    return dst, dst.read_text(encoding="utf-8").splitlines(keepends=True)


def _line_of(lines: list[str], state: str) -> int:
    return next(i for i, ln in enumerate(lines, start=1) if ln.startswith(state + ","))


@pytest.mark.parametrize(("state", "edit", "message"), [
    ("IL", lambda ln: ln.replace("IL,yes,", "IL,maybe,", 1),
     "nlets_ice_hsi_dmv_blocked must be one of yes/no/partial/unknown, found 'maybe'"),
    ("CA", lambda ln: ln.replace("CA,", "Ca,", 1), "state must be a two-letter capital code"),
    ("CA", lambda ln: ln[: ln.index('"nlets: ')] + '"nlets: ' + LETTERS + '",2025-11-12\n',
     "are not unknown but no 'alpr: ...' source is given"),
    ("NY", lambda ln: ln.replace("by 2025-11-12", "since last year", 1),
     "nlets_blocked_since must be unknown, n/a"),
    ("TX", lambda ln: "TX,unknown,unknown\n", "3 fields, expected 12"),
    ("MN", lambda ln: ln.replace("https://pubt.io", "pubt.io", 1),
     "the reference must be an http(s) URL"),
    ("AK", lambda ln: ln.replace("AK,unknown,", "AL,unknown,", 1),
     "state AL already on line 2"),
])
def test_malformed_line_is_reported_with_its_line_number(tmp_path, state, edit, message):
    path, lines = _copy(tmp_path)
    n = _line_of(lines, state)
    lines[n - 1] = edit(lines[n - 1])
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(StatePolicyError) as exc:
        load_state_policies(path)
    assert f"{path}:{n}: " in str(exc.value)
    assert message in str(exc.value)


def test_missing_state_and_bad_header(tmp_path):
    path, lines = _copy(tmp_path)
    n = _line_of(lines, "WY")
    path.write_text("".join(lines[: n - 1] + lines[n:]), encoding="utf-8")
    with pytest.raises(StatePolicyError, match="no row for WY"):
        load_state_policies(path)
    path.write_text("state,value\nAL,yes\n", encoding="utf-8")
    with pytest.raises(StatePolicyError, match=r":1: header must be"):
        load_state_policies(path)
