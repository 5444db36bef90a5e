"""Facts about the organisation resolver (alpr_inventory/resolve/resolver.py +
data/resolver/*.csv)."""

from __future__ import annotations

import csv
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest

from alpr_inventory.resolve.resolver import (
    DEFAULT_DATA_DIR,
    KINDS,
    Resolver,
    ResolverDataError,
    default_resolver,
)
from alpr_inventory.settings import corpus_dir

REPO = Path(__file__).resolve().parents[2]
REFERENCE = corpus_dir() / "reference" / "FEDERAL_AGENCY_ALIASES.md"


@pytest.fixture(scope="module")
def resolver() -> Resolver:
    return Resolver.load()


def _eval_module():
    spec = importlib.util.spec_from_file_location("eval_resolver",
                                                  REPO / "scripts" / "eval_resolver.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- traps: not federal

ISSUE_TRAPS = [
    "Federal Way WA PD",
    "Marshalltown IA PD",
    "Peachtree Corners GA Marshal's Office",
    "MS Office of Homeland Security",
    "RCATF CA PD",
]

# The "False-positive traps" of reference/FEDERAL_AGENCY_ALIASES.md, verbatim.
REFERENCE_TRAPS = [
    "Federal Way WA PD",
    "Federal Heights CO PD",
    "Bureau Co. IL SO",
    "MS Office of Homeland Security",
    "Peachtree Corners GA Marshal's Office",
    "Cave Creek AZ Marshal's Office",
    "Oolitic Marshals Office",
    "Santa Clara TX Marshall's Office",
    "ALDOI/ AL State Fire Marshal's Office",
    "Marshall County AL SO",
    "Marshalltown IA PD",
    "RCATF CA PD",
    "TX Board of Criminal Justice - Inspector General",
    "Georgia Department of Veterans Affairs",
]
# Listed as a trap by the reference, but resolved as federal on purpose: flock/FORMAT.md quotes
# Flock's own "[Federal] Indiana Dunes National Park IN PD" and the park is an NPS unit.
REFERENCE_TRAP_OVERRIDDEN = "Indiana Dunes National Park IN PD"

MORE_TRAPS = [  # real names from the corpus that naive matchers get wrong
    "Justice IL PD", "Rice Lake WI PD", "Priceville AL PD", "Sparks Police Department - NV",
    "Tompkins County NY Sheriff's Office", "Colville WA Tribal Police",
    "Michigan State Police", "WI Department of Justice", "Wisconsin State Capitol Police (WI)",
    "Quapaw Nation OK Marshals Service", "Corinth City Marshal", "Marshall Canyon Estates (CA)",
    "OH - U.S.23 Major Crimes Task Force", "FedEx Air Carrier PD", "FedEx Corporation",
    "National City CA PD", "Fort Bragg CA PD", "Eustis FL PD", "Marine City MI PD",
    "CA DOJ Bureau of Firearms (CA)", "LA Port Police", "Georgia Bureau of Investigation",
    "New York State Park Police", "State Capitol CT PD", "Fish and Wildlife Commission FL PD",
    "San Bernardino County CA Human Services [Law Enforcement]", "CA - Topgolf USA El Segundo, LLC",
    "Orange County (CA) Auto Theft Task Force", "Metro East Auto Theft (IL)",
]


@pytest.mark.parametrize("name", ISSUE_TRAPS + REFERENCE_TRAPS + MORE_TRAPS)
def test_trap_is_not_federal(resolver, name):
    res = resolver.resolve(name)
    assert not res.federal, res
    assert res.kind != "federal"
    assert res.federal_component is None
    assert res.immigration is False


def test_reference_trap_list_is_covered():
    """Every quoted name of the reference's trap section is tested above."""
    text = REFERENCE.read_text(encoding="utf-8")
    section = text.split("## False-positive traps", 1)[1].split("Flock status suffixes", 1)[0]
    quoted = re.findall(r'"([^"]+)"', section)
    assert quoted, "trap section not found"
    assert set(quoted) == set(REFERENCE_TRAPS) | {REFERENCE_TRAP_OVERRIDDEN}


def test_reference_trap_overridden_on_purpose(resolver):
    res = resolver.resolve(REFERENCE_TRAP_OVERRIDDEN)
    assert (res.kind, res.federal_component, res.immigration) == ("federal", "NPS", False)


def test_trap_kinds(resolver):
    assert resolver.resolve("Federal Way WA PD").kind == "local_police"
    assert resolver.resolve("Marshalltown IA PD").kind == "local_police"
    assert resolver.resolve("Peachtree Corners GA Marshal's Office").kind == "local_police"
    assert resolver.resolve("MS Office of Homeland Security").kind == "state"
    assert resolver.resolve("RCATF CA PD").kind == "task_force"
    assert resolver.resolve("Georgia Department of Veterans Affairs").kind == "state"
    assert resolver.resolve("Quapaw Nation OK Marshals Service").kind == "tribal"
    assert resolver.resolve("Bureau Co. IL SO").kind == "sheriff"


def test_hidta_is_multi_agency_even_when_flock_says_federal(resolver):
    for name in ("[Federal] Indiana HIDTA", "Indiana HIDTA", "Midwest HIDTA",
                 "HIDTA Central Valley California"):
        res = resolver.resolve(name)
        assert (res.kind, res.federal, res.immigration) == ("task_force", False, False), res
        assert res.rule.startswith("trap:traps.csv:")
    marked = resolver.resolve("[Federal] Indiana HIDTA")
    assert marked.flock_marked_federal is True
    assert marked.markers == ("[Federal]",)
    assert "overrides Flock [Federal] marker" in marked.rule
    assert marked.state == "IN"


# --------------------------------------------------------------------------- federal examples

FEDERAL = [
    # name, component, immigration, state
    ("[Federal] US Postal Inspection Service", "USPIS", False, None),
    ("(Federal) US Postal Inspection Service", "USPIS", False, None),
    ("(Federal) Wright-Patterson OH Air Force Base", "DOD", False, "OH"),
    ("ATF Nashville TN", "ATF", False, "TN"),
    ("ATF Louisville KY [inactive]", "ATF", False, "KY"),
    ("United States Border Control - Grand Forks Sector MN", "CBP-USBP", True, "MN"),
    ("U.S. Border Patrol", "CBP-USBP", True, None),
    ("San Diego Sector Border Patrol (CA)", "CBP-USBP", True, "CA"),
    ("FBI [turned off]", "FBI", False, None),
    ("Federal Bureau of Investigation", "FBI", False, None),
    ("Tennessee Valley Authority Police", "TVA", False, None),
    ("Homeland Security Investigations [Federal] [Inactive]", "ICE-HSI", True, None),
    ("DHS HSI (Newark NJ)", "ICE-HSI", True, "NJ"),
    ("Immigration and Customs Enforcement (ICE)", "ICE", True, None),
    ("Customs and Border Protection", "CBP", True, None),
    ("CBP NTC", "CBP", True, None),
    ("U.S. Customs and Immigration Service", "USCIS", True, None),
    ("Naval Criminal Investigative Service [Federal] [Inactive]", "NCIS", False, None),
    ("Loma Linda Healthcare System CA Veterans Affairs PD [Federal]", "VA", False, "CA"),
    ("Roudebush Medical Center Veterans Affairs IN PD", "VA", False, "IN"),
    ("US - GSA Office of Inspector General [Federal]", "GSA-OIG", False, None),
    ("USMS (Inactive)", "USMS", False, None),
    ("Lake Mead NV NRA [Federal]", "NPS", False, "NV"),
    ("National Park Service TN [deactivated]", "NPS", False, "TN"),
    ("Fort Eustis VA US Army", "DOD", False, "VA"),
    ("Langley VA Air Force Base [Federal]", "DOD", False, "VA"),
    ("United States Forest Service CA", "USFS", False, "CA"),
    ("IRS Criminal Investigations", "IRS-CI", False, None),
]


@pytest.mark.parametrize("name,component,immigration,state", FEDERAL)
def test_federal_examples(resolver, name, component, immigration, state):
    res = resolver.resolve(name)
    assert res.kind == "federal" and res.federal, res
    assert res.federal_component == component
    assert res.immigration is immigration
    assert res.state == state
    assert res.status == "resolved"
    assert res.rule.startswith("alias:federal_aliases.csv:")
    assert res.agency_id.startswith(f"fed-{component.lower()}")


def test_issue_federal_ids(resolver):
    assert resolver.resolve("United States Border Control - Grand Forks Sector MN").agency_id \
        == "fed-cbp-usbp-grand-forks-sector"
    assert resolver.resolve("FBI [turned off]").agency_id == "fed-fbi"
    assert resolver.resolve("[Federal] US Postal Inspection Service").agency_id == "fed-uspis"


def test_immigration_decisions(resolver):
    """ICE/ERO/HSI/CBP/Border Patrol and (decided) USCIS and generic DHS are immigration bodies;
    other DHS components and non-DHS agencies are not."""
    yes = ["ICE ERO Atlanta", "HSI - Houston", "US Immigration and Customs Enforcement",
           "CBP Office of Field Operations - San Ysidro", "CBP Air and Marine Operations",
           "US Border Patrol - El Paso Sector", "U.S. Citizenship and Immigration Services",
           "Department of Homeland Security"]
    no = ["United States Secret Service", "US Coast Guard Investigative Service",
          "Transportation Security Administration", "Federal Protective Service", "FBI",
          "USMS", "DEA Atlanta Division", "US Postal Inspection Service"]
    for name in yes:
        res = resolver.resolve(name)
        assert res.federal and res.immigration, res
    for name in no:
        res = resolver.resolve(name)
        assert res.federal and not res.immigration, res
    comps = resolver.components
    assert {c for c, v in comps.items() if v.immigration} == {
        "DHS", "ICE", "ICE-ERO", "ICE-HSI", "CBP", "CBP-USBP", "CBP-OFO", "CBP-AMO", "USCIS",
        "DHS-INS"}


def test_federal_never_a_guess(resolver):
    """Federal only through an alias row or Flock's own marker; the rule says which."""
    marked = resolver.resolve("[Federal] Some Unknown Office")
    assert marked.federal and marked.federal_component == "UNSPECIFIED"
    assert marked.rule.startswith("flock_marker:") and not marked.immigration
    for name in ("Federal Office of Something", "Homeland Security", "Border City PD",
                 "Marshal", "United States Something", "Customs"):
        assert not resolver.resolve(name).federal, name


def test_rule_points_at_the_deciding_row(resolver):
    res = resolver.resolve("ATF Nashville TN")
    file, line = re.match(r"alias:([\w.]+):(\d+)", res.rule).groups()
    rows = list(csv.reader((DEFAULT_DATA_DIR / file).open(encoding="utf-8")))
    assert rows[int(line) - 1][2] == "ATF"
    kind = resolver.resolve("Bell CA PD")
    assert re.fullmatch(r"kind:kind_rules\.csv:\d+:PD", kind.rule)


# --------------------------------------------------------------------------- ids, markers, states

@pytest.mark.parametrize("a,b,expected", [
    ("Gwinnett County GA SO", "Gwinnett County Sheriff's Office (GA)", "gwinnett-county-ga-so"),
    ("Arlington PD (WA)", "Arlington WA PD", "arlington-wa-pd"),
    ("Colton CA PD ", "Colton CA PD", "colton-ca-pd"),
    ("Sparks NV PD", "Sparks Police Department - NV", "sparks-nv-pd"),
    ("Rockford MI DPS", "Rockford Dept of Public Safety MI", "rockford-mi-dps"),
    ("Bureau Co. IL SO", "Bureau County IL SO", "bureau-county-il-so"),
    ("CO - Fort Collins PD", "Fort Collins CO PD", "fort-collins-co-pd"),
    ("Port St. Joe FL PD", "Port Saint Joe FL PD", "port-saint-joe-fl-pd"),
    ("Los Angeles County CA SD", "Los Angeles County CA Sheriff's Department",
     "los-angeles-county-ca-so"),
    ("Polk County FL SO (LR)", "Polk County FL SO", "polk-county-fl-so"),
    ("Langley VA US Air Force", "Langley VA Air Force Base [Federal]", "fed-dod-langley"),
    ("Roudebush Medical Center IN Veterans Affairs PD [Federal]",
     "Roudebush Medical Center Veterans Affairs IN PD", "fed-va-roudebush-medical-center"),
    ("US - GSA Inspector General", "[Federal] US GSA Office of Inspector General",
     "fed-gsa-oig"),
    ("Chattahoochee River N.R.A. - Law Enforcement", "National Park Service Chattahoochee River",
     "fed-nps-chattahoochee-river"),
])
def test_variants_share_an_id(resolver, a, b, expected):
    assert resolver.resolve(a).agency_id == expected
    assert resolver.resolve(b).agency_id == expected


def test_state_code_typed_in_title_case_before_the_designator(resolver):
    # "Crestview Fl PD" in The News & Observer's agency_access20240426.csv, "Crestview FL PD" in
    # Okaloosa County FL SO's sharing report: one agency, in Florida
    a, b = resolver.resolve("Crestview Fl PD"), resolver.resolve("Crestview FL PD")
    assert (a.agency_id, a.state, a.canonical_name) == ("crestview-fl-pd", "FL", "Crestview FL PD")
    assert (b.agency_id, b.state) == (a.agency_id, a.state)
    # only right before the designator, and never an abbreviation: "Co" is County, not Colorado
    assert resolver.resolve("Marion Co SO").state is None
    assert resolver.resolve("Lake In The Hills PD").state is None


def test_canonical_name_and_state(resolver):
    res = resolver.resolve("Gwinnett County Sheriff's Office (GA)")
    assert (res.canonical_name, res.state, res.kind) == ("Gwinnett County GA SO", "GA", "sheriff")
    assert resolver.resolve("Colton CA PD ").name == "Colton CA PD"
    assert resolver.resolve("Bell Police Department").state is None  # no guessing
    assert resolver.resolve("Tallapoosa County AL SD").state == "AL"
    assert resolver.resolve("South Dakota Division of Criminal Investigation SD").state == "SD"
    assert resolver.resolve("Kansas City MO PD").state == "MO"
    assert resolver.resolve("Missouri City Police Department").state is None
    assert resolver.resolve("Georgia Bureau of Investigation").state == "GA"


@pytest.mark.parametrize("raw,name,markers,flock", [
    ("FBI [turned off]", "FBI", ("[turned off]",), False),
    ("Homeland Security Investigations [Federal] [Inactive]", "Homeland Security Investigations",
     ("[Federal]", "[Inactive]"), True),
    ("[Federal] US Postal Inspection Service", "US Postal Inspection Service", ("[Federal]",),
     True),
    ("(Federal) Wright-Patterson OH Air Force Base", "Wright-Patterson OH Air Force Base",
     ("(Federal)",), True),
    ("ATF Louisville KY [inactive]", "ATF Louisville KY", ("[inactive]",), False),
    ("Flagstaff AZ PD [INACTIVE]", "Flagstaff AZ PD", ("[INACTIVE]",), False),
    ("USMS (Inactive)", "USMS", ("(Inactive)",), False),
    ("National Park Service TN [deactivated]", "National Park Service TN", ("[deactivated]",),
     False),
    ("Cabarrus County NC SO - old", "Cabarrus County NC SO", ("- old",), False),
    ("Acme CA PD - New Business", "Acme CA PD", ("- New Business",), False),
    ("(revoked MOU) - former AZ - AZDCS", "AZ - AZDCS", ("(revoked MOU) - former",), False),
    ("DONT USE - Appalachian State University Police Campus PD",
     "Appalachian State University Police Campus PD", ("DONT USE -",), False),
    ("Santa Cruz CA PD (deactivated)", "Santa Cruz CA PD", ("(deactivated)",), False),
])
def test_markers_stripped_and_kept(resolver, raw, name, markers, flock):
    res = resolver.resolve(raw)
    assert res.raw_name == raw
    assert res.name == name
    assert res.markers == markers
    assert res.flock_marked_federal is flock


@pytest.mark.parametrize("name", ["Bella Vista (CA)", "Miraleste Hills", "SOSINK", "Ramsey NJ",
                                  "DO NOT USE", "", "   "])
def test_unresolved_stays_unresolved(resolver, name):
    res = resolver.resolve(name)
    assert (res.kind, res.status) == ("unresolved", "unresolved"), res
    assert res.agency_id
    assert not res.federal and res.federal_component is None
    assert res.rule.startswith("unresolved:") or "unresolved:" in res.rule


def test_kinds(resolver):
    expect = {
        "Bell CA PD": "local_police", "Gwinnett County GA SO": "sheriff",
        "Michigan State Police": "state", "California Highway Patrol": "state",
        "Texas Department of Public Safety": "state", "Buford GA Department of Public Safety":
        "local_police", "Kennesaw State University GA PD": "university",
        "College Park GA PD": "local_police", "Colville WA Tribal Police": "tribal",
        "Santa Rosa Band of Cahuilla Indians CA": "tribal", "Paul Bunyan Task Force MN":
        "task_force", "Cobb County GA DA": "other", "El Macero HOA (CA)": "private",
        "Home Depot Corporation": "private", "Pueblo CO PD": "local_police",
    }
    for name, kind in expect.items():
        assert resolver.resolve(name).kind == kind, name


def test_resolution_shape(resolver):
    names = [r["name"] for r in csv.DictReader((DEFAULT_DATA_DIR / "eval_names.csv").open())]
    for res in resolver.resolve_many(names):
        assert res.kind in KINDS
        assert res.status == ("unresolved" if res.kind == "unresolved" else "resolved")
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", res.agency_id), res
        if not res.name:  # nothing left after the markers ("DO NOT USE"): an id of its own
            assert res.agency_id.startswith("unnamed-") and res.kind == "unresolved"
        assert (res.federal_component is not None) == res.federal
        assert res.rule
        assert res.immigration is False or res.federal
    assert resolver.resolve("FBI") is resolver.resolve("FBI")  # cached
    assert default_resolver() is default_resolver()


def test_resolve_many_in_bulk(resolver):
    # generated names; the speed of the same call is measured by scripts/bench_steps.py
    names = [f"Town {i} CA PD" if i % 3 else f"Agency {i} County SO ({'GA' if i % 2 else 'TX'})"
             for i in range(20_000)]
    results = Resolver.load().resolve_many(names)
    assert len(results) == len(names)
    assert (results[1].kind, results[1].state) == ("local_police", "CA")
    assert (results[3].kind, results[3].state) == ("sheriff", "GA")


# --------------------------------------------------------------------------- evaluation set

def test_eval_thresholds():
    ev = _eval_module()
    report = ev.evaluate()
    assert len(report.rows) >= 400
    for split in ("dev", "holdout", "all"):
        fed = report.by_split[split].federal
        assert fed.precision >= 0.99, (split, fed)
        assert fed.recall >= 0.95, (split, fed)
        assert report.by_split[split].component_accuracy >= 0.95
    assert report.passed
    groups = {r.group for r in report.rows}
    assert {"federal", "trap", "ordinary"} <= groups
    assert sum(r.federal for r in report.rows) >= 40


def test_eval_names_come_from_the_corpus():
    corpus = corpus_dir()
    for row in csv.DictReader((DEFAULT_DATA_DIR / "eval_names.csv").open(encoding="utf-8")):
        assert (corpus / row["source"]).is_file(), row


def test_eval_rejects_bad_labels(tmp_path):
    ev = _eval_module()
    bad = tmp_path / "labels.csv"
    bad.write_text("name,source,kind,state,federal,federal_component,immigration,notes\n"
                   "FBI,x,federal,,1,FBI,0,\n"
                   "Bell CA PD,x,police,CA,0,,0,\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"labels\.csv:3: kind 'police'"):
        ev.load_labelled(bad)


def test_eval_main_exit_status(tmp_path, capsys):
    ev = _eval_module()
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,source,kind,state,federal,federal_component,immigration,notes\n"
                     "Federal Way WA PD,x,federal,WA,1,FBI,0,mislabelled on purpose\n",
                     encoding="utf-8")
    assert ev.main(["--csv", str(wrong)]) == 1
    assert "FAIL" in capsys.readouterr().out
    assert ev.main([]) == 0


# --------------------------------------------------------------------------- malformed data

def _copy_data(tmp_path: Path) -> Path:
    target = tmp_path / "resolver"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def _append(path: Path, line: str) -> int:
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):
        text += "\n"
    path.write_text(text + line + "\n", encoding="utf-8")
    return text.count("\n") + 1


@pytest.mark.parametrize("file,row,message", [
    ("federal_aliases.csv", r"\bFOO(,,FBI,,test row", "bad regular expression"),
    ("federal_aliases.csv", r"\bFOO\b,,NOT-A-COMPONENT,,test row", "not in federal_components"),
    ("federal_aliases.csv", r"\bFOO\b,,FBI,,", "column 'source' is empty"),
    ("federal_aliases.csv", r"\bFOO\b,x,FBI,,test row", "column 'flags'"),
    ("traps.csv", r"\bFOO\b,i,federal,reason", "kind must be empty or one of"),
    ("traps.csv", r"\bFOO\b,i,,reason,extra", "expected 4 columns"),
    ("kind_rules.csv", r"\bFOO\b,i,federal,foo,source", "federal comes only from"),
    ("kind_rules.csv", r"\b{NOPE}\b,i,other,foo,source", "unknown placeholder {NOPE}"),
    ("federal_components.csv", "FOO,,Foo agency,yes,source", "immigration must be 0 or 1"),
    ("states.csv", "Xx,Nowhere,source", "two capital letters"),
    ("markers.csv", r"\[foo\],i,odd,source", "type must be one of"),
    ("state_exclusions.csv", r"\bFOO\b,,reason", "named group"),
])
def test_malformed_data_file_names_file_and_line(tmp_path, file, row, message):
    data = _copy_data(tmp_path)
    line = _append(data / file, row)
    with pytest.raises(ResolverDataError) as err:
        Resolver.load(data)
    text = str(err.value)
    assert f"{file}:{line}:" in text, text
    assert message in text, text


def test_missing_data_file_and_column(tmp_path):
    data = _copy_data(tmp_path)
    (data / "traps.csv").unlink()
    with pytest.raises(ResolverDataError, match=r"traps\.csv: data file is missing"):
        Resolver.load(data)
    data = _copy_data(tmp_path / "again")
    path = data / "kind_rules.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[0] = "pattern,flags,kind,source"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ResolverDataError, match=r"kind_rules\.csv:1: header is missing .*label"):
        Resolver.load(data)


def test_data_edits_take_effect(tmp_path):
    """A reporter's correction in the CSV changes the answer (and the rule names that row)."""
    data = _copy_data(tmp_path)
    line = _append(data / "traps.csv", r"^FBI\b,,other,test: pretend this FBI is something else")
    # a trap appended at the end loses to nothing else that matches first
    res = Resolver.load(data).resolve("FBI")
    assert res.rule == f"trap:traps.csv:{line}" and not res.federal
