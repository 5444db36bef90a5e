"""Flock Safety transparency portal pages -> `PortalPage`, names and numbers as published.

Three layouts are handled (see flock/FORMAT.md and portals_new/FORMAT_NEW.md in the corpus):

* ``classic`` (<= Apr 2026): bold ``<p>`` label + ``<div>`` value cards in ``#policies``,
  ``#usage``, ``#additionalInfo``; sharing is one comma-separated string.
* ``intermediate`` (Jun 2026): same cards with ``font-weight:600`` labels, an optional subtitle
  ``<p>`` and a marker ``div`` before the value; h1 is ``{Agency}<br>Transparency Portal``.
* ``new`` (Sep 2026 on): cards keyed by ``data-tp-entry-type``; sharing tables with one
  organisation per ``data-tp-full-value`` cell.

Labels are agency-editable, so classic/intermediate labels go through a normalisation table
built from every label in the 536 classic captures (plus the layout-B labels in FORMAT.md).
A card whose label is not recognised is kept in ``cards``, listed in ``unknown_labels`` and
warned about; nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from lxml import html as lxml_html
from lxml.etree import ParserError

from .audit_csv import decode_data_uri, parse_search_audit_csv
from .model import Card, PortalPage
from .pagekind import classify_page, decode_body

__all__ = [
    "PARSER_VERSION",
    "PortalParseError",
    "classify_label",
    "parse_number",
    "parse_portal",
    "split_org_list",
]

PARSER_VERSION = "flock_portal/1"


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
        ("retention", r"^(?:flock )?data retention(?: for flock devices)?(?: \((?:in )?days\))?$"),
        # "Number of LPR and other cameras" (total), "Total Cameras" (2026), "Number of Owned
        # Cameras" (Flock's numberOfOwnedCameras = total).
        ("cameras_total", r"^(?:number of lpr and other cameras|total cameras"
                          r"|number of owned cameras)$"),
        ("cameras_lpr", r"^(?:number of (?:active )?lpr cameras|lpr cameras)$"),
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

# New layout: data-tp-entry-type -> the same keys (FORMAT_NEW.md, layout C).
_ENTRY_TYPES = {
    "dataRetentionInDays": "retention",
    "numberOfOwnedCameras": "cameras_total",
    "numberOfOwnedLprCameras": "cameras_lpr",
    "plateReadsInLast30Days": "vehicles_30d",
    "searchesInLast30Days": "searches_30d",
    "hotlistSources": "hotlists",
    "plateHitsInLast30Days": "hotlist_hits_30d",
    "orgsWithAccess": "sharing",
    "searchAuditCsv": "search_audit",
}

_ADDITIONAL_SECTIONS = {"additionalinfo", "more-info", "moreinfo", "additional-info"}
_SECTION_IDS = {"policies", "usage", "overview", *_ADDITIONAL_SECTIONS}


def _norm_label(label: str) -> str:
    text = " ".join(label.split()).casefold().rstrip(":").strip()
    return text.replace("’", "'")


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
#      tests/test_portal_parser.py::test_sweep_all_classic_captures pins these counts.
_LEGAL_SUFFIX_RE = re.compile(
    r"^(?:llc|l\.l\.c\.|inc\.?|incorporated|ltd\.?|limited|corp\.?|co\.|lp|l\.p\.|llp|pllc"
    r"|p\.c\.|plc)$", re.I)
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
    merged: list[str] = []
    for i, piece in enumerate(value.split(",")):
        own = piece[1:] if i > 0 and piece.startswith(" ") else piece
        if merged and _continues_previous(merged[-1], piece):
            merged[-1] = merged[-1] + "," + piece
        else:
            merged.append(own)
    raw = [m for m in merged if m.strip()]
    return [m.strip() for m in raw], raw


def _split_simple_list(value: str) -> list[str]:
    """Hotlist sources: 'California SVS, NCMEC Amber Alert' -> two names."""
    return [p.strip() for p in re.split(r",|\n", value) if p.strip()]


# --------------------------------------------------------------------------------------------
# DOM helpers
# --------------------------------------------------------------------------------------------
def _text(el: lxml_html.HtmlElement | None) -> str:
    return el.text_content() if el is not None else ""


def _has_class(el: lxml_html.HtmlElement, name: str) -> bool:
    return name in (el.get("class") or "").split()


def _is_bold_label(el: lxml_html.HtmlElement) -> bool:
    style = (el.get("style") or "").replace(" ", "")
    return "font-weight:700" in style or "font-weight:600" in style or "font-weight:bold" in style


def _links(el: lxml_html.HtmlElement) -> list[dict[str, str]]:
    out = []
    for a in el.iter("a"):
        href = a.get("href")
        if href and not href.startswith("data:"):
            out.append({"href": href, "text": a.text_content().strip()})
    return out


def _in_placeholder(el: lxml_html.HtmlElement, stop: lxml_html.HtmlElement) -> bool:
    """True for the empty filler cell of an odd-length two-column table (and anything in it)."""
    node: lxml_html.HtmlElement | None = el
    while node is not None and node is not stop:
        if node.get("data-tp-access-placeholder") is not None:
            return True
        node = node.getparent()
    return False


@dataclass
class _RawCard:
    section: str | None
    label: str
    subtitle: str | None
    value: lxml_html.HtmlElement | None
    entry_type: str | None = None
    presentation: str | None = None


class _Builder:
    """Collects card values into a PortalPage, with warnings for anything doubtful."""

    def __init__(self, page: PortalPage) -> None:
        self.page = page
        # (key, label, value, text as published)
        self.camera_cards: list[tuple[str, str, int | None, str]] = []

    def warn(self, message: str) -> None:
        if message not in self.page.warnings:
            self.page.warnings.append(message)

    def add_card(self, raw: _RawCard, key: str | None) -> None:
        value = _text(raw.value).strip() if raw.value is not None else ""
        self.page.cards.append(Card(section=raw.section, label=raw.label.strip(), key=key,
                                    value=value, subtitle=raw.subtitle,
                                    entry_type=raw.entry_type))

    def unknown(self, raw: _RawCard, why: str = "unknown card label") -> None:
        label = raw.label.strip()
        self.add_card(raw, None)
        if label not in self.page.unknown_labels:
            self.page.unknown_labels.append(label)
        self.warn(f"{why}: {label!r}" + (f" (data-tp-entry-type={raw.entry_type})"
                                         if raw.entry_type else ""))

    def number(self, raw: _RawCard, field_name: str) -> int | None:
        text = _text(raw.value).strip()
        self.page.metrics_raw.setdefault(field_name, text)
        value = parse_number(text)
        if value is None:
            self.warn(f"{raw.label.strip()!r}: value {text!r} is not a number")
        return value

    def apply(self, raw: _RawCard, key: str) -> None:
        """Store one recognised card."""
        page = self.page
        label = raw.label.strip()
        value_el = raw.value
        text = _text(value_el).strip()
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
            days = self.number(raw, "retention_days")
            page.retention_periods[label] = days
            if page.retention_raw is None:
                page.retention_raw = text
                page.retention_days = days
            else:
                self.warn(f"second retention card {label!r} kept in retention_periods")
        elif key == "retention_other":
            text_value = parse_number(text)
            if text_value is None:
                self.warn(f"{label!r}: value {text!r} is not a number")
            page.retention_periods[label] = text_value
        elif key in ("cameras_total", "cameras_lpr"):
            number = parse_number(text)
            if number is None:
                self.warn(f"{label!r}: value {text!r} is not a number")
            page.camera_counts[label] = number
            self.camera_cards.append((key, label, number, text))
        elif key in _METRIC_FIELDS:
            number = self.number(raw, key)
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
        value_el = raw.value
        cells = [] if value_el is None else [
            el for el in value_el.iter()
            if isinstance(el.tag, str) and el.get("data-tp-full-value") is not None
            and not _in_placeholder(el, value_el)
        ]
        if cells:
            raw_names = [el.get("data-tp-full-value") or "" for el in cells]
            raw_names = [n for n in raw_names if n.strip()]
            names = [n.strip() for n in raw_names]
        elif _NONE_RE.match(_text(value_el).strip()):
            names, raw_names = [], []  # "None": the agency says it shares with nobody
        else:
            names, raw_names = split_org_list(_text(value_el))
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
            shown = _text(value_el).strip()
            self.warn(f"{direction} sharing card {label!r} lists no organisations"
                      + (f" (value {shown!r})" if shown else ""))

    def audit(self, raw: _RawCard) -> None:
        links = [] if raw.value is None else [
            a for a in raw.value.iter("a") if (a.get("href") or "").lower().startswith("data:")
        ]
        if not links:
            self.warn(f"search audit card {raw.label.strip()!r} has no data: link")
            return
        self.load_audit(links[0])

    def load_audit(self, link: lxml_html.HtmlElement) -> None:
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

    def finish(self) -> None:
        page = self.page
        totals = [c for c in self.camera_cards if c[0] == "cameras_total"]
        chosen = totals[0] if totals else (self.camera_cards[0] if self.camera_cards else None)
        if chosen is not None:
            page.cameras = chosen[2]
            page.metrics_raw["cameras"] = chosen[3]
        if len(totals) > 1:
            self.warn(f"{len(totals)} total-camera cards; the first ({totals[0][1]!r}) is used")


def _agency_from_utm(doc: lxml_html.HtmlElement) -> str | None:
    links = doc.xpath("//footer//a[contains(@href, 'utm_source=')]") or doc.xpath(
        "//a[contains(@href, 'utm_source=')]")
    for a in reversed(links):
        values = parse_qs(urlsplit(a.get("href") or "").query).get("utm_source")
        if values and values[0].strip():
            return values[0].strip()
    return None


_TITLE_NAME_RE = re.compile(r"^Flock Safety\s*-\s*(.+?)\s*Transparency Portal$", re.S)


def _agency_from_title(doc: lxml_html.HtmlElement) -> str | None:
    title = doc.find(".//title")
    if title is None:
        return None
    m = _TITLE_NAME_RE.match(" ".join(title.text_content().split()))
    return m.group(1).strip() if m else None


def _h1_name(h1: lxml_html.HtmlElement) -> str:
    """h1 text; for '{Agency}<br>Transparency Portal' only the part before the <br>."""
    if h1.find("br") is not None:
        name = (h1.text or "").strip()
    else:
        name = h1.text_content().strip()
    name = re.sub(r"\s*Transparency Portal$", "", name)
    return name.strip()


def _last_updated(doc: lxml_html.HtmlElement) -> str | None:
    for span in doc.iter("span"):
        title = span.get("title")
        parent = span.getparent()
        if title and parent is not None and "last updated" in (parent.text or "").casefold():
            return title.strip()
    return None


def _set_agency_and_time(doc: lxml_html.HtmlElement, b: _Builder,
                         h1: lxml_html.HtmlElement | None) -> None:
    page = b.page
    sources = []
    if h1 is not None and _h1_name(h1):
        page.agency_name = _h1_name(h1)
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


def _overview(doc: lxml_html.HtmlElement) -> str | None:
    found = doc.xpath("//*[@id='overview']")
    if not found:
        return None
    texts = [p.text_content().strip() for p in found[0].iter("p")]
    joined = "\n\n".join(t for t in texts if t)
    return joined or None


# --------------------------------------------------------------------------------------------
# Classic and intermediate layouts: bold label <p> + value <div>
# --------------------------------------------------------------------------------------------
def _label_cards(root: lxml_html.HtmlElement) -> Iterable[_RawCard]:
    for p in root.iter("p"):
        if not _is_bold_label(p):
            continue
        section = None
        for anc in p.iterancestors():
            anc_id = anc.get("id")
            if anc_id and anc_id.casefold() in _SECTION_IDS:
                section = anc_id
                break
            if anc.tag in ("header", "footer", "nav"):
                section = "__skip__"
                break
        if section in ("__skip__", "overview"):
            continue
        subtitle = None
        value = None
        for sib in p.itersiblings():
            if sib.tag == "p" and value is None and subtitle is None and not _is_bold_label(sib):
                subtitle = sib.text_content().strip()
                continue
            if sib.tag == "div":
                value = sib
            break
        if value is None:
            continue  # a bold paragraph that is not a card label
        # Intermediate layout: value row = marker div[aria-hidden] + value div.
        children = [c for c in value if isinstance(c.tag, str) and c.tag == "div"]
        if children and any(c.get("aria-hidden") for c in children):
            value = children[-1]
        yield _RawCard(section=section, label=p.text_content(), subtitle=subtitle, value=value)


def _looks_numeric(el: lxml_html.HtmlElement | None) -> bool:
    return parse_number(_text(el)) is not None


def _parse_label_layout(doc: lxml_html.HtmlElement, page: PortalPage) -> None:
    b = _Builder(page)
    h1s = doc.xpath("//h1")
    _set_agency_and_time(doc, b, h1s[0] if h1s else None)
    page.overview = _overview(doc)
    roots = doc.xpath("//*[@id='reportContent']") or [doc]
    for raw in _label_cards(roots[0]):
        key = classify_label(raw.label)
        section = (raw.section or "").casefold()
        if section in _ADDITIONAL_SECTIONS and key not in _DATA_KEYS:
            b.apply(raw, "additional_info")
        elif key is not None:
            b.apply(raw, key)
        elif section == "policies" and not _looks_numeric(raw.value):
            # Any other text card in #policies is a policy under its own label (model.py);
            # a bare number there is more likely an unrecognised metric: flag it.
            b.apply(raw, "policy_section")
        else:
            b.unknown(raw)
    _audit_fallback(doc, b)
    b.finish()


def _audit_fallback(doc: lxml_html.HtmlElement, b: _Builder) -> None:
    """An audit link outside a recognised card is still the audit: load it, with a warning."""
    if b.page.search_audit_present:
        return
    for a in doc.xpath("//a[@href]"):
        href = a.get("href") or ""
        if href[:13].lower() == "data:text/csv" or (
            href[:5].lower() == "data:" and "audit" in (a.get("download") or "").lower()
        ):
            b.warn("search audit link found outside a recognised audit card")
            b.load_audit(a)
            return


# --------------------------------------------------------------------------------------------
# New layout: data-tp-entry-type cards
# --------------------------------------------------------------------------------------------
def _new_card(el: lxml_html.HtmlElement) -> _RawCard:
    header = None
    for d in el.iter("div"):
        if _has_class(d, "tpEntryHeader"):
            header = d
            break
    label, subtitle, value = "", None, None
    if header is not None:
        ps = [p for p in header if p.tag == "p"]
        if ps:
            label = ps[0].text_content()
        if len(ps) > 1:
            subtitle = ps[1].text_content().strip()
        row = header.getnext()
        while row is not None and not (isinstance(row.tag, str) and row.tag == "div"):
            row = row.getnext()
        if row is not None:
            kids = [c for c in row if isinstance(c.tag, str) and c.tag == "div"]
            value = kids[-1] if kids else row
    section = None
    for anc in el.iterancestors():
        if anc.get("id"):
            section = anc.get("id")
            break
        if _has_class(anc, "tpDataSummarySurface"):
            section = "data-summary"
            break
    return _RawCard(section=section, label=label, subtitle=subtitle, value=value,
                    entry_type=el.get("data-tp-entry-type"),
                    presentation=el.get("data-tp-presentation"))


_NONE_RE = re.compile(r"^(?:none|n/?a|no one|nobody|not applicable)\.?$", re.I)
_INBOUND_RE = re.compile(r"receiving network data from|sharing their data with", re.I)
_OUTBOUND_RE = re.compile(r"sharing network data with|granted access to", re.I)


def _in_policy_section(el: lxml_html.HtmlElement) -> bool:
    for anc in el.iterancestors():
        if anc.get("id") == "policy-and-trust" or _has_class(anc, "tpPolicySection"):
            return True
    return False


def _parse_new_layout(doc: lxml_html.HtmlElement, page: PortalPage) -> None:
    b = _Builder(page)
    hero = doc.xpath("//*[contains(concat(' ', normalize-space(@class), ' '), ' tpHeroText ')]"
                     "//h1")
    h1s = hero or doc.xpath("//h1")
    _set_agency_and_time(doc, b, h1s[0] if h1s else None)
    page.overview = _overview(doc)
    for el in doc.xpath("//*[@data-tp-presentation]"):
        raw = _new_card(el)
        entry = raw.entry_type
        key = _ENTRY_TYPES.get(entry) if entry else None
        if raw.presentation == "accessTable" or key == "sharing":
            words = f"{raw.label} {raw.subtitle or ''}"
            if _INBOUND_RE.search(words):
                b.apply(raw, "sharing_in")
            elif _OUTBOUND_RE.search(words) or entry == "orgsWithAccess":
                if not _OUTBOUND_RE.search(words):
                    b.warn(f"sharing card {raw.label.strip()!r}: direction taken from "
                           f"data-tp-entry-type={entry}")
                b.apply(raw, "sharing_out")
            else:
                b.unknown(raw, "sharing table with unknown direction")
            continue
        if key is not None:
            b.apply(raw, key)
            continue
        label_key = classify_label(raw.label) if raw.label.strip() else None
        if _in_policy_section(el):
            if label_key in ("detected", "not_detected", "policy_other", *_POLICY_FIELDS):
                b.apply(raw, label_key)  # type: ignore[arg-type]
            else:
                b.apply(raw, "policy_section")
        elif entry:
            if label_key in _DATA_KEYS and label_key not in ("sharing_in", "sharing_out"):
                b.warn(f"unknown data-tp-entry-type={entry}: read by its label "
                       f"{raw.label.strip()!r}")
                b.apply(raw, label_key)  # type: ignore[arg-type]
            else:
                b.unknown(raw, "unknown data-tp-entry-type")
        elif label_key in _DATA_KEYS:
            b.apply(raw, label_key)  # type: ignore[arg-type]
        else:
            b.apply(raw, "additional_info")
    _audit_fallback(doc, b)
    b.finish()


# --------------------------------------------------------------------------------------------
def parse_portal(body: bytes | str) -> PortalPage:
    """Parse a Flock transparency portal page.

    Raises PortalParseError("not_a_portal") for block, not-found, truncated and unknown pages
    (decided by classify_page first) and PortalParseError("layout_changed") when the page looks
    like a portal but has no cards at all.
    """
    text = decode_body(body)
    verdict = classify_page(text)
    if verdict.kind != "flock_portal" or verdict.layout is None:
        raise PortalParseError("not_a_portal", f"{verdict.kind}: {verdict.reason}")
    try:
        doc = lxml_html.document_fromstring(text)
    except (ParserError, ValueError) as exc:
        raise PortalParseError("layout_changed", f"HTML could not be parsed: {exc}") from exc
    page = PortalPage(layout=verdict.layout)
    if verdict.layout == "new":
        _parse_new_layout(doc, page)
    else:
        _parse_label_layout(doc, page)
    if not page.cards:
        raise PortalParseError(
            "layout_changed",
            f"{verdict.layout} portal markers but no cards found "
            f"(agency {page.agency_name!r}): the page structure has changed",
        )
    return page
