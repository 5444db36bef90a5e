"""Slug candidates and Flock's name markers, checked against the real portal directories."""

from __future__ import annotations

import html
import re

import pytest

from parsers.names import federal_marker, slug_candidates, slugify, status_markers, strip_markers

try:
    from tests.portal_pages import corpus_path
except ImportError:  # tests/ is on sys.path
    from portal_pages import corpus_path  # type: ignore[no-redef]

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus

H1_RE = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)


def test_slug_rule_examples() -> None:
    assert slug_candidates("Bell CA PD") == ["bell-ca-pd", "bell-pd-ca"]
    assert slug_candidates("Bell CA PD", variants=False) == ["bell-ca-pd"]
    # a hyphen is punctuation (dropped); whitespace left around a dropped '-' collapses
    assert slug_candidates("Foothill-DeAnza CA PD")[0] == "foothilldeanza-ca-pd"
    assert slug_candidates("CA - Napa Valley College Campus")[0] == "ca-napa-valley-college-campus"
    assert slugify("California Department of Fish & Wildlife (CA)") == (
        "california-department-of-fish-wildlife-ca")
    # edge spaces survive as dashes: the dashed form first, the trimmed one always present
    assert slug_candidates(" El Cajon PD CA", variants=False) == ["-el-cajon-pd-ca",
                                                                 "el-cajon-pd-ca"]
    assert slug_candidates("Olympia WA PD ", variants=False) == ["olympia-wa-pd-",
                                                                "olympia-wa-pd"]
    assert slug_candidates(" San Jose State University CA")[:2] == [
        "-san-jose-state-university-ca", "san-jose-state-university-ca"]
    # status and federal markers are removed before slugging (and do not make edge dashes)
    assert slug_candidates("Santa Cruz CA PD (deactivated)")[0] == "santa-cruz-ca-pd"
    assert slug_candidates("[Federal] US Postal Inspection Service", variants=False) == [
        "us-postal-inspection-service"]
    assert slug_candidates("Frankenmuth MI PD - New Business", variants=False) == [
        "frankenmuth-mi-pd"]
    # lower-priority variants: word order, SO/SD, the marker kept (seen in peer data)
    assert "riverside-county-ca-sd" in slug_candidates("Riverside County CA SO")
    assert slug_candidates("[Federal] Loma Linda Healthcare System CA Veterans Affairs PD") == [
        "loma-linda-healthcare-system-ca-veterans-affairs-pd",
        "federal-loma-linda-healthcare-system-ca-veterans-affairs-pd",
    ]
    assert slug_candidates("") == [] and slug_candidates("[Inactive]") == []


def test_markers() -> None:
    assert federal_marker("[Federal] US Postal Inspection Service")
    assert federal_marker("Lake Mead NV NRA [federal]")
    assert federal_marker("(Federal) Something")
    assert not federal_marker("Federal Way WA PD")  # a city, not Flock's marker
    assert not federal_marker("FBI")
    assert not federal_marker("US Postal Inspection Service")
    assert status_markers("College Place WA PD [Inactive]") == ["[Inactive]"]
    assert status_markers("Naval Criminal Investigative Service [Federal] [INACTIVE]") == [
        "[INACTIVE]"]
    assert status_markers("Frankenmuth MI PD - New Business") == ["- New Business"]
    assert status_markers("FBI [turned off]") == ["[turned off]"]
    assert status_markers("Iberia MO PD (deactivated)") == ["(deactivated)"]
    assert status_markers("[DEACTIVATED] - demo") == ["[DEACTIVATED]"]
    assert status_markers("San Bernardino County CA Human Services [Law Enforcement]") == []
    assert status_markers("Dublin CA PD (ACSO)") == []
    assert strip_markers("[Federal] Indiana HIDTA [Inactive]") == "Indiana HIDTA"


def test_slug_candidates_hit_rate_on_the_classic_corpus() -> None:
    """Each portal directory is the real slug of the agency named in its own h1."""
    root = corpus_path("flock", "portals")
    dirs = sorted(p for p in root.iterdir() if p.is_dir())
    assert len(dirs) == 145
    first_hits, any_hits, misses = 0, 0, {}
    for d in dirs:
        latest = sorted(d.glob("*.html"))[-1]
        name = html.unescape(H1_RE.search(latest.read_text(encoding="utf-8")).group(1))
        candidates = slug_candidates(name)
        first_hits += candidates[0] == d.name
        any_hits += d.name in candidates
        if d.name not in candidates:
            misses[d.name] = name
    assert (first_hits, any_hits) == (141, 142)
    # Not derivable from the current name: renamed agencies and an old word order.
    assert misses == {
        "-el-cajon-pd-ca": "El Cajon CA PD",
        "los-gatos-ca-pd": "Town of Los Gatos CA",
        "monte-sereno-ca-pd": "City of Monte Sereno CA",
    }
