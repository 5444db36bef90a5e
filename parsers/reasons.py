"""Does a search reason point to immigration enforcement? Explainable, term by term.

Reasons are free text typed by officers ("211PC", "FBI SAFE ST TF", "DHS AOD"). A reason is
flagged when one of the terms below matches as a whole word (case-insensitive unless marked),
and the result names the term that fired, so a reporter can check every flag. Terms that would
fire on ordinary words are written to avoid them: "ICE" only as its own word and not before
"cream"/"storm"/"rink"/..., never inside "police", "office", "justice", "service" or "vice".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

# (label, pattern). Labels are what a reporter sees; patterns are anchored on word boundaries.
TERMS: tuple[tuple[str, str], ...] = (
    ("ICE",
     r"(?<![\w.])I\.?C\.?E\.?(?!\w)(?!\s*(?:cream|storm|rink|skat|machine|chest|box|cold))"),
    ("ice next to an immigration word",
     r"\bice\b(?=[\s/,-]*(?:ero|hsi|agent|detain|hold|warrant|removal|officer|task))"),
    ("ICE ERO", r"\bERO\b"),
    ("HSI", r"\bHSI\b"),
    ("Homeland Security Investigations", r"\bhomeland\s+security\s+invest\w*"),
    ("immigration", r"\bimm?[iy]gr?a[tc]?i?on\w*|\bimmigra\w*|\bimigra\w*"),
    ("deport", r"\bdep[o0]rt\w*"),
    ("removal proceedings / order", r"\bremoval\s+(?:order|proceeding|operation|case)\w*"),
    ("CBP", r"\bCBP\b"),
    ("Customs and Border Protection", r"\bcustoms\s+(?:and|&)\s+border\b"),
    ("Border Patrol", r"\bborder\s*pat[ro]{1,2}l\w*|\bUSBP\b"),
    ("alien / illegal / undocumented",
     r"\b(?:illegal\s+alien|undocumented|illegal\s+immigrant)\w*"),
    ("287(g)", r"\b287\s*\(?g\)?"),
    ("USCIS", r"\bUSCIS\b"),
)
_CASE_SENSITIVE = {"ICE"}  # "ice" is an English word; the upper-case acronym is not
_COMPILED = [
    (label, re.compile(pattern, 0 if label in _CASE_SENSITIVE else re.IGNORECASE))
    for label, pattern in TERMS
]


@dataclass(frozen=True)
class ReasonFlag:
    immigration: bool
    terms: tuple[str, ...]  # labels of the terms that fired
    matches: tuple[str, ...]  # the text each term matched, as typed


@lru_cache(maxsize=65536)  # reasons repeat a lot ("investigation", "stolen vehicle")
def classify_reason(reason: str | None) -> ReasonFlag:
    """Flag a reason that points to immigration enforcement, saying which terms fired."""
    if not reason:
        return ReasonFlag(False, (), ())
    terms, matches = [], []
    for label, pattern in _COMPILED:
        m = pattern.search(reason)
        if m:
            terms.append(label)
            matches.append(m.group(0))
    return ReasonFlag(bool(terms), tuple(terms), tuple(matches))
