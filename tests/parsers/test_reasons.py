"""The immigration-reason classifier: explainable flags, no false alarms on real reasons."""

from __future__ import annotations

import csv
import glob

import pytest
from conftest import CORPUS

from parsers.flock.portal import parse_portal
from parsers.reasons import classify_reason

# Real reasons read in the corpus's audits (portal audits and Eugene's log) that contain
# "ice", "border", "removal" and similar letters but have nothing to do with immigration.
REAL_NEGATIVES = [
    "Justice", "Criminal Justice", "VICE INVESTIGATION", "Accomplice", "CALL FOR SERVICE",
    "Call service", "impersonating a police officer", "resisting officers", "OFFICER SAFETY BOL",
    "suspect vehicle in search for DA's office", "hotplate removal", "MARSHALL 417 VEH",
    "Locate fugitive of justice.", "officer safety from chpd", "Investigation MERCED POLICE",
    "PC 484 license plate",
    # from FORMAT.md: federal task forces and DHS assists are not, by themselves, immigration
    "FBI SAFE ST TF", "DHS AOD", "US Marshall assist",
]
# Constructed (no real immigration reason appears in the corpus's audits): the forms reporters
# describe in published audits, including misspellings.
CONSTRUCTED_POSITIVES = {
    "ICE ERO assist": "ICE",
    "assist ice hsi": "HSI",
    "HSI case 24-117": "HSI",
    "Homeland Security Investigations request": "Homeland Security Investigations",
    "immigation hold": "immigration",
    "IMMIGRATION": "immigration",
    "deportation": "deport",
    "Border Patrl request": "Border Patrol",
    "USBP": "Border Patrol",
    "CBP lookout": "CBP",
    "removal order": "removal proceedings / order",
    "I.C.E. detainer": "ICE",
    "287g": "287(g)",
}


@pytest.mark.parametrize("reason", REAL_NEGATIVES + ["ice cream truck", "ICE cream truck",
                                                     "black ice crash", "ice storm", "police"])
def test_does_not_fire(reason):
    assert classify_reason(reason).immigration is False


@pytest.mark.parametrize(("reason", "term"), sorted(CONSTRUCTED_POSITIVES.items()))
def test_fires_and_says_which_term(reason, term):
    flag = classify_reason(reason)
    assert flag.immigration and term in flag.terms
    assert all(match and match.lower() in reason.lower() for match in flag.matches)


def test_no_real_reason_in_the_corpus_fires():
    reasons = set()
    for path in glob.glob(str(CORPUS / "flock" / "audit" / "eugene_or_pd" / "*.csv")):
        with open(path, newline="") as fh:
            reasons |= {row["reason"] for row in csv.DictReader(fh)}
    for path in glob.glob(str(CORPUS / "flock" / "portals" / "*" / "*.html")):
        with open(path, "rb") as fh:
            reasons |= {r.reason for r in parse_portal(fh.read()).search_audit if r.reason}
    assert len(reasons) > 3000
    assert [r for r in reasons if classify_reason(r).immigration] == []
