"""Flock Safety transparency portal pages -> `PortalPage`, names and numbers as published.

Four layouts are read (see flock/FORMAT.md, portals_transitional/README.md and
portals_new/FORMAT_NEW.md in the corpus), each described by a small `Layout` below, not by code:

* ``classic`` (<= Apr 2026): bold ``<p>`` label + ``<div>`` value cards in ``#policies``,
  ``#usage``, ``#additionalInfo``; sharing is one comma-separated string.
* ``intermediate`` (Jun 2026): the same cards with an optional subtitle ``<p>`` and a marker
  ``div`` beside the value; h1 is ``{Agency}<br>Transparency Portal``.
* ``transitional`` (29-30 Apr 2026): the intermediate cards inside ``data-tp-root``, with the
  sharing list as a table of ``data-tp-full-value`` cells, one organisation per cell.
* ``new`` (Aug 2026 on): cards keyed by ``data-tp-entry-type``, label and subtitle in
  ``.tpEntryHeader``, sharing tables of ``data-tp-full-value`` cells.

A `Layout` says where a card's label, subtitle and value are, where the organisation cells are,
and which keys (``data-tp-entry-type``), subtitles (Flock's fixed grey lines) and labels mean
what. One extraction (`_extract`) reads every layout through its description, so the next
layout change is a new `Layout`, not a new parser. Labels are agency-editable, so they go
through a normalisation table built from every label in the 536 classic captures; a subtitle or
an entry-type key, when the layout has one, decides first. A card that nothing recognises is
kept in ``cards``, listed in ``unknown_labels`` and warned about; nothing is dropped silently.

Every page is checked against itself: the organisation cells on the page must all be accounted
for by names read (or re-joined, see `rejoin_split_names`) and every metric must be a number;
otherwise ``PortalPage.status`` is ``partial`` and a warning says what did not add up.
"""

from __future__ import annotations

import csv
import functools
import gc
import operator
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import compress
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from lxml import etree

from parsers import datafiles
from parsers.flock.audit_csv import decode_data_uri, parse_search_audit_csv
from parsers.flock.pagekind import classify_page, decode_body
from parsers.model import Card, PortalPage

__all__ = [
    "LAYOUTS",
    "PARSER_VERSION",
    "Layout",
    "PortalParseError",
    "classify_label",
    "classify_subtitle",
    "known_splits",
    "parse_number",
    "parse_portal",
    "rejoin_split_names",
    "split_org_list",
]

# Recorded with every document this parser reads (documents.parser_version). 2: the
# transitional layout, declarative layouts, the self-check (status "partial"), names split by
# the renderer re-joined.
PARSER_VERSION = "flock_portal/2"

SPLITS_FILE = datafiles.DATA_DIR / "portal_name_splits.csv"
_HTML_PARSER = etree.HTMLParser()  # the parser lxml.html uses, without its element classes

class PortalParseError(Exception):
    """The page cannot be read as a portal.

    status: ``not_a_portal`` (block page, not-found page, unknown or truncated page) or
    ``layout_changed`` (it looks like a portal but no portal structure could be found).
    """

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --------------------------------------------------------------------------------------------
# Label normalisation (classic and intermediate layouts).
#
# Built from a survey of every card label in the 536 classic captures (7,890 cards, 300+
# distinct label strings once the agency name varies). Labels are compared after casefolding,
# collapsing whitespace, trimming, and dropping a trailing ':'; "{Agency}" parts are wildcards.
# Keys: detected, not_detected, policy:<field>, policy_other, retention, retention_other,
# cameras_total, cameras_lpr, hotlists, vehicles_30d, hotlist_hits_30d, searches_30d,
# sharing_out, sharing_in, search_audit.
# --------------------------------------------------------------------------------------------
_LABEL_TABLE: list[tuple[str, re.Pattern[str]]] = [
    (key, re.compile(pattern))
    for key, pattern in [
        ("detected", r"^what(?:'|’)?s detected$"),
        # "What Flock Does Not Do or Detect" is the Jun-Oct 2026 wording (FORMAT.md 3).
        ("not_detected", r"^what(?:'|’)?s not detected$|^what flock does not do or detect$"),
        ("policy:acceptable_use", r"^acceptable use policy$"),
        ("policy:prohibited_uses", r"^prohibited uses?(?: policy)?$"),
        # "Access, Audit, and Seach Policy" [sic] is a real 2026 label.
        ("policy:access_policy", r"^access policy$|^access, audit,? and sea?r?ch policy$"),
        ("policy:hotlist_policy", r"^hotlist policy$"),
        # Policy-like cards agencies added to #policies (all seen in the corpus).
        ("policy_other", r"^(?:restrictions on deployment|sb ?54: california values act"
                         r"|sharing with partners|sharing restrictions|sharing policy"
                         r"|community safeguards|system access policy)$"),
        ("retention_other", r"^live feed data retention(?: \((?:in )?days\))?$"),
        # "Data retention (in days)", "Data Retention (days)", "Data retention",
        # "Flock Data retention (in days)", "Data Retention for Flock Devices", "Data Retention".
        # "Data retention-30 days" (buckeye-az-pd 2026-04-29: the value in the label).
        ("retention", r"^(?:flock )?data retention(?: for flock devices)?(?: \((?:in )?days\))?"
                      r"(?: ?- ?\d+ days?)?$"),
        # "Number of LPR and other cameras" (total), "Total Cameras" (2026), "Number of Owned
        # Cameras" (Flock's numberOfOwnedCameras = total).
        ("cameras_total", r"^(?:number of lpr and other cameras|total cameras"
                          r"|number of owned cameras)$"),
        # "Number of Owned LPR Cameras": buckeye-az-pd 2026-04-29 (transitional), in #policies
        ("cameras_lpr", r"^(?:number of (?:active |owned )?lpr cameras|lpr cameras)$"),
        ("hotlists", r"^hotlists alerted on\b"),
        # "Vehicles detected...", "Unique vehicles detected...", "Distinct Vehicles (No
        # Duplicates) detected ...", "Unique Vehicles Detected" (2026).
        ("vehicles_30d", r"^(?:(?:unique|distinct) )?vehicles(?: \(no duplicates\))? detected"
                         r"(?: in the last 30 days)?$"),
        ("hotlist_hits_30d", r"^hotlist hits in the last 30 days$|^number of hotlist hits$"),
        # "Searches in the last 30 days", "Livermore PD searches in the last 30 days",
        # "Number of Searches" (2026).
        ("searches_30d", r"^(?:.+ )?searches in the last 30 days$|^number of searches$"),
        ("sharing_in", r"^organi[sz]ations sharing their data with\b"
                       r"|^receiving network data from$"),
        # "Organizations granted access to {Agency} data" (also "...data- NONE"), "External
        # agencies who have access", "Approved NCRIC Share With", "Agencies NCRIC Shares With",
        # "Only Agencies With External Access", "External Organizations with Access. <free
        # text>", "External organizations with access - None", "Access to external
        # organizations", "Sharing Network Data With" (2026), "None: ... does not share ...".
        ("sharing_out", r"^organi[sz]ations granted access to .+ data\b"
                        r"|^external (?:agencies|organi[sz]ations) (?:who have|with) access\b"
                        r"|^approved .+ shares? with$|^agencies .+ shares? with$"
                        r"|^only agencies with external access$"
                        r"|^access to external (?:agencies|organi[sz]ations)$"
                        r"|^sharing network data with$"
                        # free text in the heading: "None: Alameda does not share with outside
                        # agencies" (FORMAT.md; not in the 536 captures)
                        r"|^none\b.*\bshare"),
        ("search_audit", r"^(?:public )?search audit$"),
    ]
]
_POLICY_FIELDS = {
    "policy:acceptable_use": "acceptable_use",
    "policy:prohibited_uses": "prohibited_uses",
    "policy:access_policy": "access_policy",
    "policy:hotlist_policy": "hotlist_policy",
}
# Keys that carry data wherever they appear; anything else in an Additional Info section is
# additional info.
_DATA_KEYS = {"retention", "retention_other", "cameras_total", "cameras_lpr", "hotlists",
              "vehicles_30d", "hotlist_hits_30d", "searches_30d", "sharing_in", "sharing_out",
              "search_audit"}
_METRIC_FIELDS = {"vehicles_30d", "hotlist_hits_30d", "searches_30d"}

def _norm_label(label: str) -> str:
    text = " ".join(label.split()).casefold().rstrip(":").strip()
    return text.replace("’", "'")


@functools.lru_cache(maxsize=8192)  # labels repeat from page to page
def classify_label(label: str) -> str | None:
    """Normalised key for a card label (see _LABEL_TABLE), or None when unknown."""
    norm = _norm_label(label)
    for key, pattern in _LABEL_TABLE:
        if pattern.search(norm):
            return key
    return None


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------
_NUMBER_RE = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\s*days?)?$", re.I)


def parse_number(text: str) -> int | None:
    """'795,054' -> 795054, '30 days' -> 30; anything else ('Data Unavailable',
    '-Infinity days', '') -> None."""
    m = _NUMBER_RE.match(text.strip())
    return int(m.group(1).replace(",", "")) if m else None


# Comma-split rule for classic sharing strings. Flock joins the organisation names with ", ",
# and a few names themselves contain a comma. A piece after a comma is glued back onto the
# previous name when it cannot be an organisation on its own:
#   1. a legal-form suffix alone ("LLC", "Inc.", ...): "CA - Topgolf USA El Segundo, LLC",
#      "Extended Stay America (ESA) Management, LLC";
#   2. a numbered subdivision that also breaks the list's alphabetical order ("District #12 (CA)"
#      after "Westfield Park Recreation and Parkways");
#   3. a bare place name (<= 3 capitalised words, no agency-type word, no state code) that
#      breaks the alphabetical order, after a name of the form "... of <Place>" with no
#      agency-type word ("University of California, Berkeley": "Berkeley" would sort before
#      "University...").
# How this was checked on the 536 classic captures (throwaway survey scripts, not committed):
#   a. all 963 distinct comma pieces of all sharing strings were listed; the ~60 without an
#      agency-type word were read in context. Only "Berkeley", "LLC" (two names) and
#      "District #12 (CA)" continue the previous name; "NCRIC", "Cal Fire", "Old", "Demo",
#      "Delete", "DNU", "Decommissioned Org", "FedEx Corporation" ... are organisations.
#   b. Flock sorts these lists. After gluing, comparing every name with its predecessor
#      (trimmed, casefolded) leaves only two kinds of order break: the list-initial
#      " San Jose State University CA" (sorted first by its leading space) and "[DEACTIVATED] -
#      demo" before "1800 Block S Orange Grove (CA)" (brackets before digits). Before gluing,
#      "Berkeley", "District #12 (CA)" and the name after each ", LLC" broke the order too.
#   c. The rule glues exactly four names, 437 times: "University of California, Berkeley"
#      (426), "CA - Topgolf USA El Segundo, LLC" (5), "Westfield Park Recreation and Parkways,
#      District #12 (CA)" (5), "Extended Stay America (ESA) Management, LLC" (1);
#      tests/parsers/flock/test_portal_parser.py::test_sweep_all_classic_captures pins these counts.
_LEGAL_SUFFIX_RE = re.compile(
    r"^(?:llc|l\.l\.c\.|inc\.?|incorporated|ltd\.?|limited|corp\.?|co\.|lp|l\.p\.|llp|pllc"
    r"|p\.c\.|plc)$", re.I)
_LEGAL_SUFFIX_MAX = len("incorporated")  # the longest word _LEGAL_SUFFIX_RE matches
# every ASCII text _LEGAL_SUFFIX_RE matches, lower-cased
_LEGAL_WORDS = frozenset({"llc", "l.l.c.", "inc", "inc.", "incorporated", "ltd", "ltd.", "limited",
                          "corp", "corp.", "co.", "lp", "l.p.", "llp", "pllc", "p.c.", "plc"})
_SUBUNIT_RE = re.compile(
    r"^(?:district|division|unit|station|precinct|zone|area|region|sector|beat|ward|post)"
    r"\s*(?:#|no\.?)?\s*\d+\b", re.I)
# agency-type words (any case) or a two-letter upper-case state/type code ("CA", "PD")
_AGENCY_WORD_RE = re.compile(
    r"\b(?:(?i:pd|so|sd|da|dps|fd|police|sheriff(?:'s|s)?|department|dept|office|patrol|task"
    r"|force|marshals?|agency|authority|district|campus|county|city|town|bureau|division"
    r"|unit|center|centre|network)|[A-Z]{2})\b")
_PLACE_RE = re.compile(r"^[A-Z][a-z'.]+(?: [A-Z][a-z'.]+){0,2}$")
_OF_PLACE_RE = re.compile(r"\bof(?: [A-Z][A-Za-z'.]+)+$")


def _continues_previous(prev: str, piece: str) -> bool:
    cur = piece.strip()
    before = prev.strip()
    if not cur or not before:
        return False
    if _LEGAL_SUFFIX_RE.match(cur):
        return True
    out_of_order = cur.casefold() < before.casefold()
    if out_of_order and _SUBUNIT_RE.match(cur):
        return True
    return bool(
        out_of_order
        and _PLACE_RE.match(cur)
        and not _AGENCY_WORD_RE.search(cur)
        and "," not in before
        and _OF_PLACE_RE.search(before) is not None
        and not _AGENCY_WORD_RE.search(before)
    )


def split_org_list(value: str) -> tuple[list[str], list[str]]:
    """Split a classic comma-separated sharing string.

    Returns (names, raw_names): names trimmed at the ends only (inner text such as
    "Burlingame  CA PD" unchanged); raw_names keep each name's own edge spaces (Flock's ", "
    separator removed), which slug_candidates needs. Empty pieces are dropped.
    """
    pieces = value.split(",")
    n = len(pieces)
    stripped = list(map(str.strip, pieces))
    # A piece is glued onto the name before it only where _continues_previous says so. With
    # the previous piece standing alone, that needs a piece out of alphabetical order or a
    # legal suffix: only those are asked (a list has hundreds of names, the corpus thousands
    # of lists), plus the piece after each glued one (its predecessor is then longer). For
    # ASCII text lower() is casefold() and a set lookup is _LEGAL_SUFFIX_RE. (map/compress:
    # the per-piece work stays in C.)
    plain = value.isascii()
    folded = list(map(str.lower if plain else str.casefold, stripped))
    ask_set = set(compress(range(1, n), map(operator.lt, folded[1:], folded[:-1])))
    if plain:
        ask_set.update(compress(range(n), map(_LEGAL_WORDS.__contains__, folded)))
    else:
        ask_set.update(i for i, cur in enumerate(stripped)
                       if len(cur) <= _LEGAL_SUFFIX_MAX and _LEGAL_SUFFIX_RE.match(cur))
    ask_set.discard(0)
    ask = sorted(ask_set)
    # each piece without the one space of Flock's ", " separator (every ", " is a separator)
    own = value.replace(", ", ",").split(",")
    start_of: dict[int, int] = {}  # glued piece -> first piece of its name
    k = 0
    while k < len(ask):
        i = ask[k]
        k += 1
        start = start_of.get(i - 1, i - 1)
        previous = own[start] + "".join("," + pieces[j] for j in range(start + 1, i))
        if _continues_previous(previous, pieces[i]):
            start_of[i] = start
            if i + 1 < n and (k == len(ask) or ask[k] != i + 1):
                ask.insert(k, i + 1)
    merged, names = own, stripped
    if start_of:  # glue each piece onto its name, then drop it (in place, from the end)
        for i in sorted(start_of):
            merged[start_of[i]] += "," + pieces[i]
        for start in set(start_of.values()):
            names[start] = merged[start].strip()
        for i in sorted(start_of, reverse=True):
            del merged[i], names[i]
    return list(filter(None, names)), list(compress(merged, names))


def _split_simple_list(value: str) -> list[str]:
    """Hotlist sources: 'California SVS, NCMEC Amber Alert' -> two names."""
    return [p.strip() for p in re.split(r",|\n", value) if p.strip()]



# Flock's own grey line under a card (transitional and newer layouts). Flock writes these, not
# the agency, so they say what a card holds even when the agency rewrote its label ("Data
# retention-30 days", "External Organizations with Access. The City of Rio Vista will not
# sell, ..."). Every line below is copied from the real pages in portals_transitional/ and
# portals_new/ (the last of them from FORMAT.md's layout-B notes); compared like labels.
_SUBTITLE_TABLE: list[tuple[str, re.Pattern[str]]] = [
    (key, re.compile(pattern))
    for key, pattern in [
        ("retention", r"^the number of days data is retained\.?$"),
        ("cameras_total", r"^number of lpr and other cameras\.?$"),
        ("cameras_lpr", r"^number of lpr cameras(?: only)?\.?$"),
        ("hotlists", r"^national and statewide hotlist sources\.?$"),
        ("vehicles_30d", r"^number of unique plate reads over the last 30 days\.?$"),
        ("hotlist_hits_30d", r"^total hotlist hits over the last 30 days\.?$"),
        ("searches_30d", r"^total user search sessions over the last 30 days\.?$"),
        ("sharing_out", r"^organi[sz]ations granted access to .+ data\.?$"),
        ("sharing_in", r"^organi[sz]ations sharing their data with .+$"),
        ("search_audit", r"^download to view searches performed over the last 30 days\.?$"),
    ]
]


@functools.lru_cache(maxsize=1024)
def classify_subtitle(subtitle: str | None) -> str | None:
    """Normalised key for one of Flock's fixed card subtitles, or None."""
    if not subtitle:
        return None
    norm = _norm_label(subtitle)
    for key, pattern in _SUBTITLE_TABLE:
        if pattern.search(norm):
            return key
    return None


# --------------------------------------------------------------------------------------------
# Layouts: where things are. One extraction (_extract) reads them all.
# --------------------------------------------------------------------------------------------
# a card label's style, spaces removed (Layout.label_style)
_BOLD_STYLE = re.compile(r"font-weight:(?:700|600|bold)")


@dataclass(frozen=True)
class CellCensus:
    total: int  # organisation cells on the page
    text_only: bool  # some cell has no full-name attribute
    placeholders: bool  # the page has filler cells


NO_CELLS = CellCensus(0, False, False)


@dataclass(frozen=True)
class CellMarkup:
    """How a 2026 sharing table marks its organisation cells (attribute names).

    A cell is an element carrying ``full_name`` or ``cell``; its name is the first of
    ``name_from`` present (the visible text may be cut with an ellipsis), else its text. The
    empty filler cell of an odd-length two-column table carries ``placeholder`` (transitional
    pages use an aria-hidden div with none of these attributes instead).
    """

    full_name: str = "data-tp-full-value"
    cell: str = "data-tp-access-cell-text"
    placeholder: str = "data-tp-access-placeholder"
    name_from: tuple[str, ...] = ("data-tp-full-value", "title")

    # The XPaths go through the attribute axis (//@name/..): on a 640 KB page of ~1,900
    # elements, that is ten times faster than testing a predicate on every element.
    @functools.cached_property
    def xpaths(self) -> dict[str, etree.XPath]:
        full, cell, ph = self.full_name, self.cell, self.placeholder
        paths = {
            "with_name": f".//@{full}/..",  # from a value: cells with a full name, in order
            "any": f".//@{full}/.. | .//@{cell}/..",  # from a value: every cell (slower union)
            "text_only": f"count(//@{cell}/parent::*[not(@{full})])",  # from the document
            # from the document: cells = full + cell - both (inclusion-exclusion)
            "count": f"count(//@{full}) + count(//@{cell}) - count(//@{full}/parent::*[@{cell}])",
            "placeholders": f"count(//@{ph})",
            "in_placeholder": f"count(//@{ph}/..//@{full}/.. | //@{ph}/..//@{cell}/..)",
            "placeholder_cells": f".//@{ph}/..//@{full}/.. | .//@{ph}/..//@{cell}/..",
        }
        return {k: etree.XPath(v, smart_strings=False) for k, v in paths.items()}

    def census(self, doc: etree._Element) -> CellCensus:
        """The page's cells, counted once: how many (filler cells not counted), whether any
        lacks a full name, whether the page has filler cells at all."""
        xp = self.xpaths
        total = int(xp["count"](doc))
        placeholders = bool(xp["placeholders"](doc))
        if placeholders:
            total -= int(xp["in_placeholder"](doc))
        text_only = bool(total) and bool(xp["text_only"](doc))
        return CellCensus(total, text_only, placeholders)

    def cells_in(self, value: etree._Element, census: CellCensus) -> list[etree._Element]:
        """The organisation cells inside one card's value, in page order."""
        if not census.total:
            return []
        xp = self.xpaths
        cells = xp["any"](value) if census.text_only else xp["with_name"](value)
        if census.placeholders and (filler := set(xp["placeholder_cells"](value))):
            cells = [c for c in cells if c not in filler]
        return cells

    def name(self, cell: etree._Element) -> str:
        for attribute in self.name_from:
            value = cell.get(attribute)
            if value is not None:
                return value
        return _text(cell)


CELLS = CellMarkup()


@dataclass(frozen=True)
class Layout:
    """One portal layout, as data. XPaths are relative to the element named in each comment.

    sections: (what, value, role) tried on a card's ancestors, nearest first: ``what`` is
    ``id``, ``class`` or ``tag``; role is ``policies``, ``usage``, ``additional`` or ``skip``.
    A card that nothing recognises is an unknown card, except in an ``additional`` section,
    where it is additional info, and in ``policies``, where a text card is a policy under its
    own label.
    """

    name: str
    labels: str  # from the document: every card's label element
    subtitle: str | None  # from a label: the grey line under it (None: the layout has none)
    value: str  # from a label: the value element (the first match)
    sections: tuple[tuple[str, str, str], ...]
    h1: str = "//h1"  # from the document: the heading with the agency's name
    card: str | None = None  # from a label: the card element carrying key_attr
    key_attr: str | None = None  # the card's own statement of what it holds
    keys: Mapping[str, str] = field(default_factory=dict)  # key_attr value -> field key
    cells: CellMarkup | None = None  # sharing tables of one cell per organisation
    uses_subtitles: bool = False  # Flock's fixed subtitles (_SUBTITLE_TABLE) say what a card is
    # a label element is kept only if its style matches this (spaces removed), when given
    label_style: re.Pattern[str] | None = None

    @functools.cached_property
    def compiled(self) -> dict[str, etree.XPath]:
        paths = {"labels": self.labels, "subtitle": self.subtitle, "value": self.value,
                 "h1": self.h1, "card": self.card}
        return {k: etree.XPath(v, smart_strings=False) for k, v in paths.items() if v}

    @functools.cached_property
    def section_rules(self) -> tuple[dict[str, tuple[str, str, int]], ...]:
        """(tags, ids, classes): name -> (name, role, rule number), for `_section`."""
        found: dict[str, dict[str, tuple[str, str, int]]] = {"tag": {}, "id": {}, "class": {}}
        for number, (what, value, role) in enumerate(self.sections):
            found[what].setdefault(value, (value, role, number))
        return found["tag"], found["id"], found["class"]


_LABEL_SECTIONS = (
    ("tag", "header", "skip"), ("tag", "footer", "skip"), ("tag", "nav", "skip"),
    ("id", "overview", "skip"), ("id", "policies", "policies"), ("id", "usage", "usage"),
    ("id", "additionalInfo", "additional"), ("id", "additional-info", "additional"),
    ("id", "more-info", "additional"), ("id", "moreInfo", "additional"),
)
# Classic: <p style="font-weight:700">LABEL</p><div>VALUE</div>. The 2026 label layouts add an
# optional non-bold subtitle <p> between them and put a marker div beside the value (it holds
# no text, so the row's text is the value's).
_LABEL_P = "//p[@style]"  # with the bold test (Layout.label_style): faster than in XPath
# (a card's label, subtitle and value are the only children of their box, so the first div
# after the label is its value; a subtitle that is itself bold is another card's label and is
# refused by Layout.label_style)
_SUBTITLE_P = "following-sibling::*[1][self::p]"
_VALUE_DIV = "following-sibling::div[1]"

CLASSIC = Layout(name="classic", labels=_LABEL_P, subtitle=None, value=_VALUE_DIV,
                 sections=_LABEL_SECTIONS, label_style=_BOLD_STYLE)
INTERMEDIATE = Layout(name="intermediate", labels=_LABEL_P, subtitle=_SUBTITLE_P,
                      value=_VALUE_DIV, sections=_LABEL_SECTIONS, cells=CELLS,
                      uses_subtitles=True, label_style=_BOLD_STYLE)
TRANSITIONAL = Layout(name="transitional", labels=_LABEL_P, subtitle=_SUBTITLE_P,
                      value=_VALUE_DIV, sections=_LABEL_SECTIONS, cells=CELLS,
                      uses_subtitles=True, label_style=_BOLD_STYLE)
NEW = Layout(
    name="new",
    # the first <p> of every div.tpEntryHeader (through the attribute axis: fast on 640 KB)
    labels="//@class[contains(concat(' ', normalize-space(.), ' '), ' tpEntryHeader ')]/../p[1]",
    subtitle="following-sibling::p[1]",
    value="../following-sibling::div[1]",
    card="ancestor::*[@data-tp-presentation][1]",
    key_attr="data-tp-entry-type",
    keys={  # FORMAT_NEW.md, layout C; the keys seen on the two complete pages of portals_new/
        "dataRetentionInDays": "retention",
        "numberOfOwnedCameras": "cameras_total",
        "numberOfOwnedLprCameras": "cameras_lpr",
        "plateReadsInLast30Days": "vehicles_30d",
        "searchesInLast30Days": "searches_30d",
        "hotlistSources": "hotlists",
        "plateHitsInLast30Days": "hotlist_hits_30d",
        "orgsWithAccess": "sharing",
        "searchAuditCsv": "search_audit",
    },
    sections=(
        ("tag", "header", "skip"), ("tag", "footer", "skip"), ("tag", "nav", "skip"),
        ("class", "tpDataSummarySurface", "usage"), ("class", "tpAccessPair", "usage"),
        ("id", "policy-and-trust", "policies"), ("class", "tpPolicySection", "policies"),
        # success stories, the news carousel and "Additional Info"
        ("id", "community-impact", "additional"), ("id", "more-info", "additional"),
        ("class", "tpMoreInfoSection", "additional"),
    ),
    cells=CELLS,
    uses_subtitles=True,
)
LAYOUTS: dict[str, Layout] = {lay.name: lay for lay in (CLASSIC, INTERMEDIATE, TRANSITIONAL, NEW)}


# --------------------------------------------------------------------------------------------
# Names split by Flock's renderer
# --------------------------------------------------------------------------------------------
@functools.cache
def known_splits(path: Path = SPLITS_FILE) -> dict[tuple[str, ...], tuple[str, int]]:
    """data/portal_name_splits.csv: the comma pieces of each known name -> (name, file line).

    Flock's table renderer splits a name containing a comma into one cell per piece, trimmed
    and adjacent ("University of California", "Berkeley PD"). Every row says where the name was
    seen (`source`); rows without one are refused.
    """
    out: dict[tuple[str, ...], tuple[str, int]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            name = (row.get("name") or "").strip()
            if not name or "," not in name or not (row.get("source") or "").strip():
                raise ValueError(f"{path}:{line}: a name with a comma and its source are needed")
            pieces = tuple(_match_piece(p) for p in name.split(","))
            out[pieces] = (name, line)
    return out


def _match_piece(text: str) -> str:
    """Whitespace collapsed: how a piece is compared (not how it is kept)."""
    return " ".join(text.split())


_ODD_SPACE = re.compile(r"\s\s|[^\S ]")  # whitespace _match_piece would change


def rejoin_split_names(cells: list[str]) -> tuple[list[str], list[dict[str, object]], list[str]]:
    """Re-join adjacent cells that are the pieces of a known name (data/portal_name_splits.csv).

    Returns (names, repairs, warnings): a repair records the cells and the name they make, and
    the data row (or the rule) that says so; a cell that is only a legal form ("LLC") is joined
    to the name before it, as the classic comma rule does. A warning names two adjacent cells
    that look like one name cut at a comma (the classic list's comma rule,
    `_continues_previous`) but are not a known split: they are kept as two, for a person to
    check and add to the data file.
    """
    splits = known_splits()
    if not cells:
        return [], [], []
    lengths = sorted({len(k) for k in splits}, reverse=True)
    firsts = {k[0] for k in splits}
    stripped = [c.strip() for c in cells]
    folded = [c.casefold() for c in stripped]
    names: list[str] = []
    repairs: list[dict[str, object]] = []
    warnings: list[str] = []
    repaired_last = False  # names[-1] is the name of repairs[-1]
    i = 0
    while i < len(cells):
        first = stripped[i] if stripped[i] in firsts else (
            _match_piece(cells[i]) if _ODD_SPACE.search(stripped[i]) else None)
        for n in lengths if first in firsts else ():
            pieces = tuple(_match_piece(c) for c in cells[i:i + n])
            found = splits.get(pieces) if len(pieces) == n else None
            if found is not None:
                name, line = found
                names.append(name)
                repairs.append({"cells": cells[i:i + n], "name": name,
                                "rule": f"{SPLITS_FILE.parent.name}/{SPLITS_FILE.name}:{line}"})
                repaired_last = True
                i += n
                break
        else:
            if names and _LEGAL_SUFFIX_RE.match(stripped[i]):
                # a legal form alone ("LLC", "Inc.") is the end of the name before it, as in
                # the classic comma rule: "CA - Topgolf USA El Segundo" + "LLC"
                joined = f"{names[-1]}, {stripped[i]}"
                rule = "a legal form alone continues the name before it"
                if repairs and repairs[-1]["name"] == names[-1] and repaired_last:
                    repairs[-1] = {"cells": [*repairs[-1]["cells"], cells[i]],  # type: ignore[misc]
                                   "name": joined, "rule": f"{repairs[-1]['rule']}; {rule}"}
                else:
                    repairs.append({"cells": [cells[i - 1], cells[i]], "name": joined,
                                    "rule": rule})
                names[-1] = joined
                repaired_last = True
                i += 1
                continue
            repaired_last = False
            # _continues_previous needs a short piece or one out of alphabetical order
            if (names and stripped[i] and (len(stripped[i]) <= _LEGAL_SUFFIX_MAX
                                           or folded[i] < names[-1].casefold())
                    and _continues_previous(names[-1], cells[i])):
                warnings.append(
                    f"cells {names[-1]!r} and {cells[i].strip()!r} look like one name split at "
                    f"a comma by the renderer ({names[-1]}, {cells[i].strip()}?): kept as two; "
                    f"if they are one, add the name to {SPLITS_FILE.parent.name}/"
                    f"{SPLITS_FILE.name}")
            names.append(cells[i].strip())
            i += 1
    return names, repairs, warnings


# --------------------------------------------------------------------------------------------
# DOM helpers
# --------------------------------------------------------------------------------------------
_STRING = etree.XPath("string()", smart_strings=False)  # what lxml.html's text_content() is


def _text(el: etree._Element | None) -> str:
    """All text inside an element (lxml.html's text_content(), on a plain etree element)."""
    return _STRING(el) if el is not None else ""






def _links(el: etree._Element) -> list[dict[str, str]]:
    out = []
    for a in el.iter("a"):
        href = a.get("href")
        if href and not href.startswith("data:"):
            out.append({"href": href, "text": _text(a).strip()})
    return out






@dataclass
class _RawCard:
    section: str | None  # the id (or class) of the section the card sits in
    role: str | None  # what that section is (Layout.sections)
    label: str
    subtitle: str | None
    value: etree._Element | None
    entry_type: str | None = None
    presentation: str | None = None
    cells: list[etree._Element] = field(default_factory=list)
    text: str = ""  # the value's text as published (read once: a list is 10-40 KB of text)


_NONE_RE = re.compile(r"^(?:none|n/?a|no one|nobody|not applicable)\.?$", re.I)
_INBOUND_RE = re.compile(r"receiving network data from|sharing their data with", re.I)
_OUTBOUND_RE = re.compile(r"sharing network data with|granted access to", re.I)


class _Builder:
    """Collects card values into a PortalPage, with warnings for anything doubtful, and the
    counts the page's self-check compares."""

    def __init__(self, page: PortalPage, layout: Layout) -> None:
        self.page = page
        self.layout = layout
        # (key, label, value, text as published)
        self.camera_cards: list[tuple[str, str, int | None, str]] = []
        self.cells_read = 0  # organisation cells behind the names read
        self.pieces_read = 0  # names read from comma-separated lists (classic)
        self.cells_rejoined = 0  # cells merged into a longer name (known splits)
        self.cells_unread: list[tuple[str, int]] = []  # (card label, cells) not read as names
        self.not_numbers: list[str] = []
        self.census = NO_CELLS  # the page's organisation cells (set by _extract)

    def warn(self, message: str) -> None:
        if message not in self.page.warnings:
            self.page.warnings.append(message)

    def add_card(self, raw: _RawCard, key: str | None) -> None:
        value = raw.text.strip()
        self.page.cards.append(Card(section=raw.section, label=raw.label.strip(), key=key,
                                    value=value, subtitle=raw.subtitle,
                                    entry_type=raw.entry_type))

    def unknown(self, raw: _RawCard, why: str = "unknown card label") -> None:
        label = raw.label.strip()
        self.add_card(raw, None)
        if raw.cells:
            self.cells_unread.append((label, len(raw.cells)))
        if label not in self.page.unknown_labels:
            self.page.unknown_labels.append(label)
        self.warn(f"{why}: {label!r}" + (f" (data-tp-entry-type={raw.entry_type})"
                                         if raw.entry_type else ""))

    def number(self, label: str, text: str) -> int | None:
        value = parse_number(text)
        if value is None:
            self.not_numbers.append(f"{label!r} = {text!r}")
            self.warn(f"{label!r}: value {text!r} is not a number")
        return value

    def apply(self, raw: _RawCard, key: str) -> None:
        """Store one recognised card."""
        page = self.page
        label = raw.label.strip()
        value_el = raw.value
        text = raw.text.strip()
        self.add_card(raw, key)
        if key == "detected":
            page.detected = text
        elif key == "not_detected":
            page.not_detected = text
        elif key in _POLICY_FIELDS:
            page.policies[_POLICY_FIELDS[key]] = text
        elif key in ("policy_other", "policy_section"):
            page.policies[label] = text
        elif key == "retention":
            page.metrics_raw.setdefault("retention_days", text)
            days = self.number(label, text)
            page.retention_periods[label] = days
            if page.retention_raw is None:
                page.retention_raw = text
                page.retention_days = days
            else:
                self.warn(f"second retention card {label!r} kept in retention_periods")
        elif key == "retention_other":
            page.retention_periods[label] = self.number(label, text)
        elif key in ("cameras_total", "cameras_lpr"):
            number = self.number(label, text)
            page.camera_counts[label] = number
            self.camera_cards.append((key, label, number, text))
        elif key in _METRIC_FIELDS:
            page.metrics_raw.setdefault(key, text)
            number = self.number(label, text)
            if getattr(page, key) is None:
                setattr(page, key, number)
            else:
                self.warn(f"second {key} card {label!r} ignored (value {text!r})")
        elif key == "hotlists":
            page.hotlists.extend(_split_simple_list(text))
        elif key in ("sharing_out", "sharing_in"):
            self.sharing(raw, "outbound" if key == "sharing_out" else "inbound")
        elif key == "search_audit":
            self.audit(raw)
        elif key == "additional_info":
            page.additional_info.append({
                "label": label,
                "text": text,
                "links": _links(value_el) if value_el is not None else [],
            })

    def sharing(self, raw: _RawCard, direction: str) -> None:
        page = self.page
        label = raw.label.strip()
        if raw.cells:
            published = [self.layout.cells.name(el) for el in raw.cells]  # type: ignore[union-attr]
            raw_names = [n for n in published if n.strip()]
            if len(raw_names) < len(published):
                self.warn(f"{direction} sharing card {label!r}: "
                          f"{len(published) - len(raw_names)} empty organisation cell(s)")
            self.cells_read += len(raw_names)
            names, repairs, warnings = rejoin_split_names(raw_names)
            if repairs:
                raw_names = names  # a re-joined name has no edge spaces of its own
                self.cells_rejoined += sum(len(r["cells"]) - 1 for r in repairs)  # type: ignore[arg-type]
                page.name_repairs.extend(repairs)
            for w in warnings:
                self.warn(w)
        elif _NONE_RE.match(raw.text.strip()):
            names, raw_names = [], []  # "None": the agency says it shares with nobody
        else:
            names, raw_names = split_org_list(raw.text)
            self.pieces_read += len(names)
        if direction == "outbound":
            target, target_raw = page.sharing_outbound, page.sharing_outbound_raw
            if page.sharing_outbound_label is None:
                page.sharing_outbound_label = label
            else:
                self.warn(f"second outbound sharing card {label!r}: its names are added")
        else:
            target, target_raw = page.sharing_inbound, page.sharing_inbound_raw
            if page.sharing_inbound_label is None:
                page.sharing_inbound_label = label
            else:
                self.warn(f"second inbound sharing card {label!r}: its names are added")
        target.extend(names)
        target_raw.extend(raw_names)
        if not names:
            shown = raw.text.strip()
            self.warn(f"{direction} sharing card {label!r} lists no organisations"
                      + (f" (value {shown!r})" if shown else ""))

    def audit(self, raw: _RawCard) -> None:
        links = [] if raw.value is None else [
            a for a in raw.value.iter("a") if (a.get("href") or "")[:5].lower() == "data:"
        ]
        if not links:
            self.warn(f"search audit card {raw.label.strip()!r} has no data: link")
            return
        self.load_audit(links[0])

    def load_audit(self, link: etree._Element) -> None:
        page = self.page
        if page.search_audit_present:
            self.warn("second search audit link ignored")
            return
        try:
            text = decode_data_uri(link.get("href") or "")
        except (ValueError, TypeError) as exc:
            self.warn(f"search audit link unreadable: {exc}")
            return
        columns, rows, warnings = parse_search_audit_csv(text)
        page.search_audit_present = True
        page.search_audit_filename = link.get("download")
        page.search_audit_columns = columns
        page.search_audit = rows
        for w in warnings:
            self.warn(w)

    def finish(self, doc: etree._Element) -> None:
        page = self.page
        totals = [c for c in self.camera_cards if c[0] == "cameras_total"]
        chosen = totals[0] if totals else (self.camera_cards[0] if self.camera_cards else None)
        if chosen is not None:
            page.cameras = chosen[2]
            page.metrics_raw["cameras"] = chosen[3]
        if len(totals) > 1:
            self.warn(f"{len(totals)} total-camera cards; the first ({totals[0][1]!r}) is used")
        self.self_check(doc)

    def self_check(self, doc: etree._Element) -> None:
        """Every organisation cell on the page is behind a name read, every metric is a number:
        otherwise the page is `partial`, with a warning saying what did not add up."""
        page = self.page
        cells = (self.census.total if self.layout.cells is not None else self.cells_read)
        cells += self.pieces_read
        names = len(page.sharing_outbound) + len(page.sharing_inbound)
        page.self_check = {
            "organisation_cells": cells, "names": names,
            "cells_rejoined": self.cells_rejoined,
            "metrics_not_numbers": list(self.not_numbers),
        }
        problems = []
        if cells != names + self.cells_rejoined:
            where = "; ".join(f"{n} under the unrecognised card {label!r}"
                              for label, n in self.cells_unread)
            problems.append(
                f"self-check: the page holds {cells} organisation cells but {names} names were "
                f"read ({self.cells_rejoined} cells re-joined into longer names)"
                + (f": {where}" if where else ""))
        if self.not_numbers:
            problems.append("self-check: metric(s) that are not a number: "
                            + ", ".join(self.not_numbers))
        if problems:
            page.status = "partial"
            for p in problems:
                self.warn(p)


_UTM_LINKS = (etree.XPath("//footer//a[contains(@href, 'utm_source=')]"),
              etree.XPath("//a[contains(@href, 'utm_source=')]"))
# links whose href starts with "data:" in any case (the audit)
_DATA_LINKS = etree.XPath("//a[translate(substring(@href, 1, 5), 'DAT', 'dat') = 'data:']")
_SPANS_WITH_TITLE = etree.XPath("//span[@title]")


_UTM_SOURCE_RE = re.compile(r"[?&]utm_source=([^&#]*)")


def _agency_from_utm(doc: etree._Element) -> str | None:
    links = _UTM_LINKS[0](doc) or _UTM_LINKS[1](doc)
    for a in reversed(links):
        m = _UTM_SOURCE_RE.search(a.get("href") or "")  # the first utm_source, as parse_qs
        value = unquote_plus(m.group(1)).strip() if m else ""
        if value:
            return value
    return None


_TITLE_NAME_RE = re.compile(r"^Flock Safety\s*-\s*(.+?)\s*Transparency Portal$", re.S)


_TITLE = etree.XPath("(//title)[1]")


def _agency_from_title(doc: etree._Element) -> str | None:
    found = _TITLE(doc)
    if not found:
        return None
    m = _TITLE_NAME_RE.match(" ".join(_text(found[0]).split()))
    return m.group(1).strip() if m else None


def _h1_name(h1: etree._Element) -> str:
    """h1 text; for '{Agency}<br>Transparency Portal' only the part before the <br>."""
    if h1.find("br") is not None:
        name = (h1.text or "").strip()
    else:
        name = _text(h1).strip()
    name = re.sub(r"\s*Transparency Portal$", "", name)
    return name.strip()


def _last_updated(doc: etree._Element) -> str | None:
    for span in _SPANS_WITH_TITLE(doc):
        title = span.get("title")
        parent = span.getparent()
        if title and parent is not None and "last updated" in (parent.text or "").casefold():
            return title.strip()
    return None


def _set_agency_and_time(doc: etree._Element, b: _Builder,
                         h1: etree._Element | None) -> None:
    page = b.page
    sources = []
    if h1 is not None and (name := _h1_name(h1)):
        page.agency_name = name
        sources.append("h1")
    utm = _agency_from_utm(doc)
    title = _agency_from_title(doc)
    if page.agency_name is None:
        page.agency_name = utm or title
        if page.agency_name is not None:
            b.warn(f"agency name taken from the {'footer utm_source' if utm else '<title>'}")
    if page.agency_name is None:
        b.warn("no agency name found (no h1, footer utm_source or title)")
    else:
        for what, other in (("footer utm_source", utm), ("<title>", title)):
            if other is not None and other != page.agency_name:
                b.warn(f"agency name {page.agency_name!r} differs from the {what} {other!r}")
    page.last_updated = _last_updated(doc)
    if page.last_updated is None:
        b.warn("no 'Last updated' time found")


_WITH_ID = etree.XPath("//@id/..")  # the few elements with an id (faster than //*[@id='x'])


def _overview(doc: etree._Element) -> str | None:
    found = [el for el in _WITH_ID(doc) if el.get("id") == "overview"]
    if not found:
        return None
    texts = [_text(p).strip() for p in found[0].iter("p")]
    joined = "\n\n".join(t for t in texts if t)
    return joined or None


# --------------------------------------------------------------------------------------------
# The one extraction
# --------------------------------------------------------------------------------------------
def _section(label_el: etree._Element, layout: Layout,
             seen: dict[Any, tuple[str | None, str | None]]) -> tuple[str | None, str | None]:
    """(section id, class or tag, role) of the nearest ancestor the layout names (on one
    element, the rule listed first in Layout.sections). `seen` remembers the answer for every
    ancestor walked, so the cards of one section cost a step or two each."""
    tags, ids, classes = layout.section_rules
    walked = []
    answer: tuple[str | None, str | None] = (None, None)
    for anc in label_el.iterancestors():
        known = seen.get(anc)
        if known is not None:
            answer = known
            break
        walked.append(anc)
        hit = tags.get(anc.tag)
        anc_id = anc.get("id")
        if anc_id is not None and (by_id := ids.get(anc_id)) and (hit is None
                                                                  or by_id[2] < hit[2]):
            hit = by_id
        if classes and (names := anc.get("class")):
            for name in names.split():
                by_class = classes.get(name)
                if by_class and (hit is None or by_class[2] < hit[2]):
                    hit = by_class
        if hit is not None:
            answer = (hit[0], hit[1])
            break
    for anc in walked:
        seen[anc] = answer
    return answer


def _read_card(label_el: etree._Element, layout: Layout,
               sections: dict[Any, tuple[str | None, str | None]],
               census: CellCensus = NO_CELLS) -> _RawCard | None:
    xp = layout.compiled
    values = xp["value"](label_el)
    if not values:
        return None  # a bold paragraph that is not a card label
    section, role = _section(label_el, layout, sections)
    if role == "skip":
        return None
    value = values[0]
    subtitles = xp["subtitle"](label_el) if "subtitle" in xp else []
    if subtitles and layout.label_style is not None and layout.label_style.search(
            (subtitles[0].get("style") or "").replace(" ", "")):
        subtitles = []  # a bold paragraph: another label, not a subtitle
    subtitle = _text(subtitles[0]).strip() if subtitles else None
    entry = presentation = None
    if "card" in xp:
        cards = xp["card"](label_el)
        if not cards:
            return None  # a header outside any card
        entry = cards[0].get(layout.key_attr) if layout.key_attr else None
        presentation = cards[0].get("data-tp-presentation")
    cells = layout.cells.cells_in(value, census) if layout.cells is not None else []
    return _RawCard(section=section, role=role, label=_text(label_el), subtitle=subtitle,
                    value=value, entry_type=entry, presentation=presentation, cells=cells,
                    text=_text(value))


def _sharing_direction(raw: _RawCard, keys: tuple[str | None, ...]) -> str | None:
    for key in keys:
        if key in ("sharing_out", "sharing_in"):
            return key
    words = f"{raw.label} {raw.subtitle or ''}"
    if _INBOUND_RE.search(words):
        return "sharing_in"
    if _OUTBOUND_RE.search(words):
        return "sharing_out"
    return None


def _extract(doc: etree._Element, layout: Layout, page: PortalPage) -> None:
    """Read every card of `layout` into `page` (one label-driven extraction for all layouts).

    What a card is: its entry-type key (new layout), else Flock's fixed subtitle, else its
    label (agency-editable, see _LABEL_TABLE). A card holding organisation cells is a sharing
    list whatever else it says; its direction comes from the same sources.
    """
    b = _Builder(page, layout)
    census = b.census = layout.cells.census(doc) if layout.cells is not None else NO_CELLS
    h1s = layout.compiled["h1"](doc)
    _set_agency_and_time(doc, b, h1s[0] if h1s else None)
    page.overview = _overview(doc)
    sections: dict[Any, tuple[str | None, str | None]] = {}
    bold = layout.label_style
    for label_el in layout.compiled["labels"](doc):
        if bold is not None and not bold.search((label_el.get("style") or "").replace(" ", "")):
            continue
        raw = _read_card(label_el, layout, sections, census)
        if raw is None:
            continue
        by_entry = layout.keys.get(raw.entry_type) if raw.entry_type else None
        by_subtitle = classify_subtitle(raw.subtitle) if layout.uses_subtitles else None
        by_label = classify_label(raw.label) if raw.label.strip() else None
        if (raw.cells or raw.presentation == "accessTable" or by_entry == "sharing"
                or (by_entry is None and (by_subtitle or by_label) in ("sharing_out",
                                                                       "sharing_in"))):
            direction = _sharing_direction(raw, (by_subtitle, by_label))
            if direction is None and by_entry == "sharing":
                b.warn(f"sharing card {raw.label.strip()!r}: direction taken from "
                       f"{layout.key_attr}={raw.entry_type}")
                direction = "sharing_out"
            if direction is None:
                b.unknown(raw, "sharing table with unknown direction")
            else:
                b.apply(raw, direction)
            continue
        key = by_entry or by_subtitle or by_label
        if raw.entry_type and by_entry is None:  # a key this parser does not know yet
            if key in _DATA_KEYS:
                b.warn(f"unknown {layout.key_attr}={raw.entry_type}: read by its "
                       f"{'subtitle' if by_subtitle else 'label'} {raw.label.strip()!r}")
                b.apply(raw, key)
            else:
                b.unknown(raw, f"unknown {layout.key_attr}")
        elif key in _DATA_KEYS:
            b.apply(raw, key)
        elif raw.role == "additional":
            b.apply(raw, "additional_info")
        elif key is not None:
            b.apply(raw, key)
        elif raw.role == "policies" and parse_number(raw.text) is None:
            # Any other text card in a policy section is a policy under its own label
            # (model.py); a bare number there is more likely an unrecognised metric: flag it.
            b.apply(raw, "policy_section")
        else:
            b.unknown(raw)
    _audit_fallback(doc, b)
    b.finish(doc)


def _audit_fallback(doc: etree._Element, b: _Builder) -> None:
    """An audit link outside a recognised card is still the audit: load it, with a warning."""
    if b.page.search_audit_present:
        return
    for a in _DATA_LINKS(doc):
        href = a.get("href") or ""
        if href[:13].lower() == "data:text/csv" or (
            href[:5].lower() == "data:" and "audit" in (a.get("download") or "").lower()
        ):
            b.warn("search audit link found outside a recognised audit card")
            b.load_audit(a)
            return


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while one page is read: a page makes tens of thousands of
    small objects (audit rows, names) and none of them in a cycle, and each collection would
    walk every object alive, more than the reading itself costs."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --------------------------------------------------------------------------------------------
def parse_portal(body: bytes | str) -> PortalPage:
    """Parse a Flock transparency portal page of any known layout (see LAYOUTS).

    Raises PortalParseError("not_a_portal") for block, not-found, truncated and unknown pages
    (decided by classify_page first) and PortalParseError("layout_changed") when the page looks
    like a portal but has no cards at all. A page read with doubts is returned with warnings;
    one whose self-check fails has status "partial".
    """
    text = decode_body(body)
    verdict = classify_page(text)
    if verdict.kind != "flock_portal" or verdict.layout is None:
        raise PortalParseError("not_a_portal", f"{verdict.kind}: {verdict.reason}")
    layout = LAYOUTS.get(verdict.layout)
    if layout is None:
        raise PortalParseError("layout_changed", f"no description of layout {verdict.layout!r}")
    with _gc_paused():
        try:
            # a plain etree tree: lxml.html's element classes call back into Python for every
            # element touched, which costs more than reading the page
            doc = etree.fromstring(text, _HTML_PARSER)
        except (etree.ParseError, ValueError) as exc:
            raise PortalParseError("layout_changed", f"HTML could not be parsed: {exc}") from exc
        if doc is None:
            raise PortalParseError("layout_changed", "HTML could not be parsed: empty document")
        page = PortalPage(layout=verdict.layout)
        _extract(doc, layout, page)
    if not page.cards:
        raise PortalParseError(
            "layout_changed",
            f"{verdict.layout} portal markers but no cards found "
            f"(agency {page.agency_name!r}): the page structure has changed",
        )
    return page
