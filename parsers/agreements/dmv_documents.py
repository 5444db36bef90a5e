"""What a DMV agreement or Nlets document says about who can query a state's DMV data.

A records release that arrives after the state data files were written (a DMV memorandum of
understanding with DHS, an Nlets policy or user agreement) is imported like any document and
classified ``dmv_agreement`` (parsers/doctype.py, parsers/agreements/agreement_pdf.py). This
module reads its text for what the state brief shows beside the curated status: which states it
concerns (each with the words that name it), whether it is about Nlets or the DMV's own access,
which federal components it names, its parties and the dates printed in it. Values are copied from
the text; nothing is inferred beyond the words quoted in ``state_basis``. Pure: text in, facts out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers.agreements.agreement_pdf import find_dates

__all__ = ["DmvDocumentFacts", "STATE_CODES", "read_dmv_document"]

STATE_CODES = {
    "Alabama": "AL", "Alaska": "AK", "Arizona": "AZ", "Arkansas": "AR", "California": "CA",
    "Colorado": "CO", "Connecticut": "CT", "Delaware": "DE", "District of Columbia": "DC",
    "Florida": "FL", "Georgia": "GA", "Hawaii": "HI", "Idaho": "ID", "Illinois": "IL",
    "Indiana": "IN", "Iowa": "IA", "Kansas": "KS", "Kentucky": "KY", "Louisiana": "LA",
    "Maine": "ME", "Maryland": "MD", "Massachusetts": "MA", "Michigan": "MI",
    "Minnesota": "MN", "Mississippi": "MS", "Missouri": "MO", "Montana": "MT",
    "Nebraska": "NE", "Nevada": "NV", "New Hampshire": "NH", "New Jersey": "NJ",
    "New Mexico": "NM", "New York": "NY", "North Carolina": "NC", "North Dakota": "ND",
    "Ohio": "OH", "Oklahoma": "OK", "Oregon": "OR", "Pennsylvania": "PA",
    "Rhode Island": "RI", "South Carolina": "SC", "South Dakota": "SD", "Tennessee": "TN",
    "Texas": "TX", "Utah": "UT", "Vermont": "VT", "Virginia": "VA", "Washington": "WA",
    "West Virginia": "WV", "Wisconsin": "WI", "Wyoming": "WY",
}
_NAMES = "|".join(sorted((re.escape(n) for n in STATE_CODES), key=len, reverse=True))
# a state named as the DMV's state or a party: "Washington State Department of Licensing",
# "State of Oregon", "California Department of Motor Vehicles", "Texas DPS"
_STATE_PHRASE = re.compile(
    rf"(?<![A-Za-z])(?:State\s+of\s+(?P<a>{_NAMES})\b|(?P<b>{_NAMES})(?:\s+State)?\s+"
    r"(?:Department\s+of\s+(?:Motor\s+Vehicles|Licensing|Public\s+Safety|Transportation|"
    r"Revenue)|Motor\s+Vehicle\s+(?:Division|Administration|Commission)|DMV|DPS|DOL|BMV|MVD|"
    r"RMV|State\s+Patrol|Highway\s+Patrol))")
_NLETS = re.compile(r"\bNlets\b|National\s+Law\s+Enforcement\s+Telecommunications?\s+System|"
                    r"International\s+Justice\s+and\s+Public\s+Safety\s+(?:Information\s+"
                    r"Sharing\s+)?Network", re.I)
_COMPONENTS = (
    ("ICE_ERO", re.compile(r"Enforcement\s+and\s+Removal\s+Operations|\bERO\b")),
    ("HSI", re.compile(r"Homeland\s+Security\s+Investigations|\bHSI\b")),
    ("ICE", re.compile(r"Immigration\s+and\s+Customs\s+Enforcement|\bICE\b")),
    ("USBP", re.compile(r"(?:U\.?\s?S\.?\s+)?Border\s+Patrol\b|\bUSBP\b")),
    ("CBP", re.compile(r"Customs\s+and\s+Border\s+Protection|\bCBP\b")),
    ("USCIS", re.compile(r"Citizenship\s+and\s+Immigration\s+Services|\bUSCIS\b")),
    ("DHS", re.compile(r"Department\s+of\s+Homeland\s+Security|\bDHS\b")),
)
_PARTIES = re.compile(r"(?:between|by\s+and\s+between)\s+(?:the\s+)?(?P<a>[A-Z][^,;\n]{3,120}?)"
                      r"\s*(?:\([^)]{1,40}\)\s*)?,?\s+and\s+(?:the\s+)?"
                      r"(?P<b>[A-Z][^,;\n(]{3,120}?)(?=\s*(?:[,;(]|\.\s|$))")


@dataclass
class DmvDocumentFacts:
    states: list[str] = field(default_factory=list)  # two-letter codes, in order of mention
    state_basis: dict[str, str] = field(default_factory=dict)  # code -> the words naming it
    channel: str = "direct_dmv"  # nlets when the text names Nlets
    components: list[str] = field(default_factory=list)  # ICE, HSI, CBP, ... as named
    parties: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # ISO dates printed, in order of mention

    @property
    def kind_words(self) -> str:
        return ("Nlets document (policy, agreement or query data)" if self.channel == "nlets"
                else "DMV data-access agreement")


def read_dmv_document(text: str) -> DmvDocumentFacts:
    """States, channel, components, parties and dates a DMV/Nlets document's text gives."""
    facts = DmvDocumentFacts()
    flat = " ".join((text or "").split())
    for m in _STATE_PHRASE.finditer(flat):
        code = STATE_CODES[m["a"] or m["b"]]
        if code not in facts.states:
            facts.states.append(code)
            facts.state_basis[code] = f"'{m.group(0)}'"
    if _NLETS.search(flat):
        facts.channel = "nlets"
    facts.components = [c for c, rx in _COMPONENTS if rx.search(flat)]
    if m := _PARTIES.search(flat[:5000]):
        facts.parties = [m["a"].strip(), m["b"].strip()]
    for found in find_dates(flat[:20000]):
        if found.iso and found.iso not in facts.dates:
            facts.dates.append(found.iso)
    return facts
