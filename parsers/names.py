"""Small pure helpers for organisation display names: portal slugs and Flock's name markers.

Flock generates a portal slug from the organisation's display name (flock/FORMAT.md section 5):
lowercase, punctuation dropped, whitespace -> '-', and leading/trailing spaces survive as
dashes (``-el-cajon-pd-ca``). Checked against the 145 slug directories of the classic corpus:
"Foothill-DeAnza CA PD" -> ``foothilldeanza-ca-pd`` (a hyphen is punctuation: dropped, not a
separator) and "CA - Napa Valley College Campus" -> ``ca-napa-valley-college-campus`` (the
whitespace left around a dropped character collapses to one dash), "Santa Cruz CA PD
(deactivated)" -> ``santa-cruz-ca-pd`` (status marker not part of the slug).
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import unquote, urlparse

# where Flock's transparency portals live: <base><slug>
FLOCK_PORTAL_BASE = "https://transparency.flocksafety.com/"

__all__ = ["federal_marker", "match_key", "slug_candidates", "slugify", "status_markers",
           "strip_markers"]

# Flock's own federal label: "[Federal] US Postal Inspection Service", "... PD [Federal]",
# "(Federal)". Nothing else counts here (no guessing from words like "FBI"; that is a separate,
# evidence-based classification elsewhere).
_FEDERAL_RE = re.compile(r"\[\s*federal\s*\]|\(\s*federal\s*\)", re.I)

# Status markers seen in real names (corpus grep over flock/, datasets/): "[Inactive]",
# "[INACTIVE]", "(Inactive)", "[DEACTIVATED]", "(deactivated)", "[turned off]",
# "- New Business". Only these words count: "(CA)", "(ACSO)" or "[Law Enforcement]" are part
# of a name.
_STATUS_WORDS = r"inactive|deactivated|de-activated|decommissioned|disabled|turned\s+off"
_STATUS_RE = re.compile(
    rf"\[\s*(?:{_STATUS_WORDS})\s*\]|\(\s*(?:{_STATUS_WORDS})\s*\)|\s-\s*new\s+business\s*$",
    re.I,
)

_ANY_MARK = rf"\[\s*(?:federal|{_STATUS_WORDS})\s*\]|\(\s*(?:federal|{_STATUS_WORDS})\s*\)"
_MARK_AT_START = re.compile(rf"^\s*(?:{_ANY_MARK})", re.I)
_MARK_AT_END = re.compile(rf"(?:{_ANY_MARK}|-\s*new\s+business)\s*$", re.I)

_STATE_TYPE_RE = re.compile(r"^(?P<head>.+)-(?P<a>[a-z]{2})-(?P<b>pd|so|sd|dps|da|fd|ps)$")
_TYPE_STATE_RE = re.compile(r"^(?P<head>.+)-(?P<a>pd|so|sd|dps|da|fd|ps)-(?P<b>[a-z]{2})$")


def match_key(name: str) -> str:
    """How two published names are compared as the same list entry: whitespace runs (double
    spaces, non-breaking spaces, edge spaces) collapsed. Names are kept as published
    ("Burlingame  CA PD", two spaces, in every capture of the corpus); only matching uses this.
    """
    return " ".join((name or "").split())


def federal_marker(name: str) -> bool:
    """True when Flock itself labels the organisation federal ("[Federal]" or "(Federal)")."""
    return bool(_FEDERAL_RE.search(name or ""))


def status_markers(name: str) -> list[str]:
    """The status markers in a name, as published (e.g. ["[Inactive]"], ["- New Business"])."""
    return [m.group(0).strip() for m in _STATUS_RE.finditer(name or "")]


def strip_markers(name: str) -> str:
    """The name without Flock's status and federal markers, inner text unchanged, ends trimmed."""
    text = _STATUS_RE.sub(" ", name or "")
    text = _FEDERAL_RE.sub(" ", text)
    return text.strip()


def slugify(text: str) -> str:
    """Flock-style slug of ``text`` *as given*: edge whitespace becomes an edge dash."""
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    kept = re.sub(r"[^a-z0-9\s]", "", folded)
    return re.sub(r"\s+", "-", kept)


def _order_variants(slug: str) -> list[str]:
    """Word-order and wording variants Flock slugs show (FORMAT.md 5): '-ca-pd' vs '-pd-ca',
    '-co-' vs '-county-', 'so' vs 'sd'. Lower priority than the literal slug."""
    out: list[str] = []
    m = _STATE_TYPE_RE.match(slug) or _TYPE_STATE_RE.match(slug)
    if m:
        out.append(f"{m.group('head')}-{m.group('b')}-{m.group('a')}")
    for a, b in (("-county-", "-co-"), ("-co-", "-county-")):
        if a in f"-{slug}-":
            out.append(f"-{slug}-".replace(a, b, 1)[1:-1])
    for a, b in (("so", "sd"), ("sd", "so")):
        parts = slug.split("-")
        if a in parts:
            i = len(parts) - 1 - parts[::-1].index(a)
            parts[i] = b
            out.append("-".join(parts))
    return out


def slug_candidates(org_name: str, *, variants: bool = True) -> list[str]:
    """Candidate portal slugs for an organisation display name, most likely first.

    Pass the name as published, with its leading/trailing spaces if it had any (e.g. a
    ``PortalPage.sharing_outbound_raw`` entry): then the dashed form comes first, because Flock
    keeps edge spaces as dashes. The trimmed form is always included (``ingest.name_key`` uses
    the first candidate stripped of dashes). ``variants`` adds the word-order/wording variants
    after the literal forms (each candidate costs the spider one fetch: turn them off to spend
    fewer).
    """
    raw = org_name or ""
    core = strip_markers(raw)
    if not core:
        return []
    trimmed = slugify(core).strip("-")
    if not trimmed:
        return []
    # Edge spaces of the published name; an edge that carries a marker ("[Federal] X") has
    # its space from the marker, not from the name, so it does not count.
    lead = raw[:1].isspace() and not _MARK_AT_START.match(raw)
    trail = raw[-1:].isspace() and not _MARK_AT_END.search(raw)
    out: list[str] = []
    if lead or trail:
        out.append(("-" if lead else "") + trimmed + ("-" if trail else ""))
    out.append(trimmed)
    if variants:
        out.extend(_order_variants(trimmed))
        # Peer data (sm-alpr registry) also lists slugs that keep a marker
        # ("brooklyn-park-mn-pd-inactive", "federal-loma-linda-...") or turn an inner hyphen
        # into a dash ("...urbana-champaign-il-pd"); the classic corpus itself shows neither
        # ("foothilldeanza-ca-pd"), so these come last.
        with_markers = slugify(raw.strip()).strip("-")
        if with_markers != trimmed:
            out.append(with_markers)
        if re.search(r"\w-\w", core):
            out.append(slugify(re.sub(r"(?<=\w)-(?=\w)", " ", core)).strip("-"))
    seen: set[str] = set()
    result = []
    for slug in out:
        if slug and slug not in seen:
            seen.add(slug)
            result.append(slug)
    return result


def slug_from_portal_url(url: str) -> str | None:
    """`https://transparency.flocksafety.com/<slug>` -> slug (percent-decoded); None for a URL
    with no path or one that is not http(s) (an imported file's file:// URI)."""
    if not url.startswith(("http://", "https://")):
        return None
    path = urlparse(url.strip()).path
    slug = unquote(path.rstrip("/").rsplit("/", 1)[-1]) if path.strip("/") else ""
    return slug or None
