"""Decide what a fetched page is before anything tries to read portal data out of it.

A Cloudflare block page or Flock's "Page not found" page must never be parsed as a portal
(it would look like an agency that shares with nobody). This module only looks at the HTTP
status, two headers and a handful of literal markers in the body: no DOM is built, so it stays
fast on 600 KB pages.

Evidence for the markers: flock/FORMAT.md and portals_new/FORMAT_NEW.md in the corpus, the real
Cloudflare 1015 page (blocked_cloudflare_1015_medina-wa-pd_2026-06-24.html) and the real
not-found page (not_found_clark-county-wa-so_2026-10.html), which, note, also loads
``/cdn-cgi/challenge-platform/scripts/precursor/main.js``: ``challenge-platform`` alone does not
mean blocked.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from parsers.model import PageVerdict

# Recorded with every document this parser reads (block, not-found and cut-short pages):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "pagekind/1"

__all__ = ["classify_page", "decode_body"]

_TITLE_RE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.I | re.S)
_H1_RE = re.compile(r"<h1[^>]*>(.*?)</h1\s*>", re.I | re.S)
_TAG_RE = re.compile(r"<[^>]+>")
# "Flock Safety - {Agency} Transparency Portal"; the not-found page has no agency part.
_PORTAL_TITLE_RE = re.compile(r"^Flock Safety\s*-\s*(.*?)\s*Transparency Portal$", re.S)
_RATE_LIMIT_RE = re.compile(r"Error\s*(?:</span>\s*<span[^>]*>\s*)?1015\b|<span>\s*1015\s*</span>",
                            re.I)
_NEW_MARKERS = ('data-tp-entry-type="', "data-tp-entry-type='", 'class="tpEntryHeader"')
# The transitional pages of 29-30 April 2026 (portals_transitional/): cards as in June, inside
# a data-tp-root, the sharing list as a table of cells; no data-tp-entry-type yet.
_TRANSITIONAL_MARKERS = ('data-tp-root="true"', "data-tp-root='true'", "data-tp-access-table=")
_INTERMEDIATE_H1_RE = re.compile(r"<br\s*/?>\s*Transparency Portal\s*$", re.I)


def decode_body(body: bytes | str) -> str:
    """Bytes -> text. Flock and Cloudflare pages are UTF-8; bad bytes must not stop a crawl."""
    if isinstance(body, str):
        return body
    return body.decode("utf-8", errors="replace")


def _title(text: str) -> str | None:
    m = _TITLE_RE.search(text)
    if not m:
        return None
    return " ".join(html.unescape(_TAG_RE.sub("", m.group(1))).split())


def _h1_html(text: str) -> str | None:
    m = _H1_RE.search(text)
    return m.group(1) if m else None


def _visible(fragment: str) -> str:
    return " ".join(html.unescape(_TAG_RE.sub(" ", fragment)).split())


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _portal_layout(text: str, title: str | None) -> tuple[str | None, str]:
    """Return (layout, why) when the body carries a portal's own structure, else (None, why)."""
    agency_title = False
    if title:
        m = _PORTAL_TITLE_RE.match(title)
        agency_title = bool(m and m.group(1).strip())
    # every 2026 page carries data-tp-* attributes: one scan rules all the 2026 markers out on
    # a classic page (each `in` reads the whole 100-600 KB when its marker is absent)
    has_tp = "data-tp-" in text
    if has_tp and any(marker in text for marker in _NEW_MARKERS):
        return "new", "data-tp-entry-type cards"
    has_report = 'id="reportContent"' in text or "id='reportContent'" in text
    if (has_tp and any(marker in text for marker in _TRANSITIONAL_MARKERS)
            and (has_report or agency_title)):
        return "transitional", "data-tp-root without data-tp-entry-type cards"
    h1 = _h1_html(text)
    if h1 is not None and _INTERMEDIATE_H1_RE.search(h1) and (has_report or agency_title):
        return "intermediate", "h1 '{Agency}<br>Transparency Portal'"
    classic_wording = "Last Updated:" in text  # near the top of a classic page
    if not classic_wording and "Last updated:" in text and (has_report or agency_title):
        return "intermediate", "'Last updated:' (June 2026 wording)"
    if classic_wording and (has_report or agency_title) and h1 is not None:
        return "classic", "h1 agency name, 'Last Updated:' and #reportContent"
    return None, ""


def classify_page(
    body: bytes | str,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> PageVerdict:
    """Say whether a page is a Flock portal (and which layout), a block page, a not-found page,
    or unknown. Cheap string checks only; the caller parses portals afterwards."""
    text = decode_body(body)
    mitigated = _header(headers, "cf-mitigated")
    if mitigated:
        return PageVerdict("blocked", None, f"Cloudflare challenge (cf-mitigated: {mitigated})")
    if status == 429:
        return PageVerdict("blocked", None, "Cloudflare rate limit (HTTP 429)")
    if not text.strip():
        if status == 404:
            return PageVerdict("not_found", None, "HTTP 404 with an empty body")
        suffix = f" (HTTP {status})" if status is not None else ""
        return PageVerdict("unknown", None, f"empty body{suffix}")

    title = _title(text)
    # Cloudflare's own pages first: they can never be portal content.
    if title is not None and title.lower().startswith("just a moment"):
        return PageVerdict("blocked", None, "Cloudflare challenge (title 'Just a moment...')")
    cf_error_page = 'id="cf-error-details"' in text or (
        title is not None and "cloudflare" in title.lower()
    )
    layout, why = _portal_layout(text, title)
    if layout is None or cf_error_page:
        if _RATE_LIMIT_RE.search(text) or "You are being rate limited" in text:
            return PageVerdict("blocked", None,
                               "Cloudflare rate limit (Error 1015, 'You are being rate limited')")
    if cf_error_page and layout is None:
        return PageVerdict("blocked", None, f"Cloudflare error page ({title or 'no title'})")
    if status == 404:
        return PageVerdict("not_found", None, "HTTP 404")

    if layout is not None:
        tail = text[-4096:].lower()
        if "</html" not in tail and "</body" not in tail:
            return PageVerdict("truncated", layout,
                               f"truncated Flock portal page ({layout} markers, no end of "
                               "document): refetch")
        return PageVerdict("flock_portal", layout, f"Flock transparency portal, {layout} layout "
                                                   f"({why})")

    h1 = _h1_html(text)
    if h1 is not None and _visible(h1).lower() == "page not found":
        if title is not None and title.startswith("Flock Safety"):
            return PageVerdict("not_found", None,
                               "Flock 'Page not found' page (title without agency, h1 "
                               "'Page not found')")
        return PageVerdict("not_found", None, "h1 'Page not found'")
    if "challenge-platform" in text or "cf-chl" in text or "_cf_chl_opt" in text:
        if status == 403:
            return PageVerdict("blocked", None, "Cloudflare challenge (HTTP 403, challenge script)")
        return PageVerdict("blocked", None,
                           "Cloudflare challenge script with no portal content")
    if status == 403:
        return PageVerdict("blocked", None, "HTTP 403 without portal content")
    if title is not None and _PORTAL_TITLE_RE.match(title):
        return PageVerdict("unknown", None,
                           f"Flock portal title {title!r} but no portal structure")
    suffix = f", HTTP {status}" if status is not None else ""
    return PageVerdict("unknown", None, f"no Flock portal markers (title {title!r}{suffix})")
