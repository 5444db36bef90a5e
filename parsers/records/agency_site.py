"""Links on an agency's web page that lead to ALPR policies, contracts and agreements.

Pure: HTML bytes and the page's URL in, `ReleasedFile` rows (parent = the page) and candidate
pages out. The `documents` spider follows what this finds; the store loads the same rows from
the archived page, so a page saved from a browser and imported gives the same links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlparse

from parsers.records import RecordsPage, ReleasedFile, match_terms

# Recorded with every document this parser reads (agency web pages that link documents):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "agency_site/1"

DOCUMENT_SUFFIXES = (".pdf", ".xlsx", ".xls", ".csv", ".docx", ".doc")
# link words that point to the documents this project wants (wider than match_terms: a
# policy manual or an MOU index is worth opening even when it does not say "ALPR")
DEFAULT_KEYWORDS = (
    "alpr", "license plate", "plate reader", "flock", "lpr", "data sharing", "data-sharing",
    "sharing agreement", "memorandum of understanding", "mou", "moa", "287(g)", "287g",
    "dmv", "driver", "nlets", "interagency agreement", "data access", "audit",
)
_HREF = re.compile(
    rb"<a\b[^>]*?\bhref\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))[^>]*>(.*?)</a\s*>", re.I | re.S)
_TAG = re.compile(rb"<[^>]+>")


@dataclass(frozen=True)
class Link:
    url: str
    text: str


def is_document_url(url: str) -> bool:
    return urlparse(url).path.lower().endswith(DOCUMENT_SUFFIXES)


def page_links(body: bytes, page_url: str) -> list[Link]:
    """Every <a href> on the page as (absolute URL without fragment, visible text)."""
    import html

    out: list[Link] = []
    for m in _HREF.finditer(body):
        raw = (m.group(1) or m.group(2) or m.group(3) or b"").decode("utf-8", "replace").strip()
        if not raw or raw.startswith(("mailto:", "javascript:", "#", "tel:")):
            continue
        url = urljoin(page_url, html.unescape(raw)).split("#", 1)[0]
        text = " ".join(html.unescape(_TAG.sub(b" ", m.group(4)).decode("utf-8", "replace"))
                        .split())
        out.append(Link(url, text))
    return out


def link_words(link: Link) -> str:
    """Link text plus the file name, with separators as spaces ("ALPR_Policy-1204.pdf")."""
    name = unquote(urlparse(link.url).path.rsplit("/", 1)[-1])
    return re.sub(r"[_\-+.]+", " ", f"{link.text} {name}").lower()


def is_relevant(link: Link, keywords: tuple[str, ...] = DEFAULT_KEYWORDS) -> bool:
    words = link_words(link)
    return any(re.search(rf"(?<![a-z]){re.escape(k)}(?![a-z])", words) for k in keywords)


def same_site(url: str, page_url: str) -> bool:
    return urlparse(url).netloc == urlparse(page_url).netloc


def document_links(body: bytes, page_url: str,
                   keywords: tuple[str, ...] = DEFAULT_KEYWORDS) -> list[ReleasedFile]:
    """Relevant document files linked from the page on the same site, as released files."""
    host = urlparse(page_url).netloc
    seen: set[str] = set()
    out: list[ReleasedFile] = []
    for link in page_links(body, page_url):
        if (link.url in seen or not is_document_url(link.url) or not same_site(link.url, page_url)
                or not is_relevant(link, keywords)):
            continue
        seen.add(link.url)
        suffix = urlparse(link.url).path.rsplit(".", 1)[-1].lower()
        out.append(ReleasedFile(
            source="agency_site", portal=host, parent_kind="page", parent_id=page_url,
            file_id=link.url, url=link.url, title=link.text or None, file_type=suffix,
            relevant=True, matched_terms=match_terms(link_words(link)) or ["keyword"]))
    return out


def parse_page(body: bytes, page_url: str | None) -> RecordsPage | None:
    """The page's relevant document links, or None when it links to none (or is not HTML)."""
    if not page_url or not page_url.startswith(("http://", "https://")):
        return None
    if b"<a" not in body[:2_000_000].lower():
        return None
    files = document_links(body, page_url)
    return RecordsPage("agency_site", "page", files=files) if files else None
