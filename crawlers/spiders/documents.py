"""Document spiders: follow links on a site to the documents that matter, and hand them on.

`ice_287g`: ICE's 287(g) page: every run downloads the participating and pending agencies
spreadsheets it links to (and, up to --max-moas, the signed MOA PDFs those sheets link to).
`documents`: a generic crawler for agency and state DMV sites: from seed URLs it follows
same-site links whose text or file name points to ALPR policies, Flock contracts, data-sharing
or DMV agreements, 287(g) MOAs, and downloads those documents.

Like every spider here they only fetch: each response becomes a DocumentItem for the archive
pipeline, which recognises the document by its content.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import scrapy
from scrapy.http import Response

from alpr_inventory.ingest import Fetched, utc_now
from crawlers.items import DocumentItem
from crawlers.spiders.flock_portals import HANDLED_STATUSES

ICE_287G_PAGE = "https://www.ice.gov/identify-and-arrest/287g"
DOCUMENT_SUFFIXES = (".pdf", ".xlsx", ".xls", ".csv", ".docx", ".doc")
DEFAULT_KEYWORDS = (
    "alpr", "license plate", "plate reader", "flock", "lpr", "data sharing", "data-sharing",
    "sharing agreement", "memorandum of understanding", "mou", "moa", "287(g)", "287g",
    "dmv", "driver", "nlets", "interagency agreement", "data access", "audit",
)


def is_document_url(url: str) -> bool:
    return urlparse(url).path.lower().endswith(DOCUMENT_SUFFIXES)


class _DocumentSpider(scrapy.Spider):
    """Shared fetching: every response is handed on as a document, pages are followed."""

    def __init__(self, base_url: str = "", browser: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        self.base_url = base_url
        self.browser = bool(browser)
        self.seen: set[str] = set()
        self.counts = {"pages": 0, "portals": 0, "blocked": 0, "not_found": 0, "errors": 0,
                       "discovered": 0}

    def request(self, url: str, callback: Any, **meta: Any) -> scrapy.Request | None:
        if url in self.seen:
            return None
        self.seen.add(url)
        meta["handle_httpstatus_list"] = HANDLED_STATUSES
        if self.browser:
            meta["playwright"] = True
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta)

    def document(self, response: Response) -> DocumentItem:
        self.counts["pages"] += 1
        if response.status == 404:
            self.counts["not_found"] += 1
        elif response.status in (403, 429, 503):
            self.counts["blocked"] += 1
        now = utc_now()
        headers = {k.decode("latin-1").lower(): b", ".join(v).decode("latin-1")
                   for k, v in response.headers.items()}
        return DocumentItem(Fetched(
            body=response.body, url=response.url, fetched_from=response.url, source=self.name,
            fetched_at=now, captured_at=now, captured_at_basis="fetch",
            http_status=response.status, content_type=headers.get("content-type"),
            headers=headers))

    def links(self, response: Response) -> Iterable[tuple[str, str]]:
        """(absolute URL, link text) for every link on an HTML page."""
        if b"<" not in response.body[:2048]:
            return []
        out = []
        for a in response.css("a[href]"):
            href = a.attrib.get("href", "").strip()
            if href and not href.startswith(("mailto:", "javascript:", "#")):
                out.append((urljoin(response.url, href),
                            " ".join(a.css("::text").getall()).strip()))
        return out

    def on_error(self, failure: Any) -> None:
        self.counts["errors"] += 1
        self.logger.error("request failed: %s (%s)", failure.request.url, failure.value)


class Ice287gSpider(_DocumentSpider):
    name = "ice_287g"
    source_description = "ICE 287(g) page: participating/pending agencies spreadsheets and MOAs"

    def __init__(self, base_url: str = ICE_287G_PAGE, max_moas: int = 100, **kwargs: Any):
        super().__init__(base_url=base_url, **kwargs)
        self.max_moas = int(max_moas)
        self.moas = 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # MOAs already in the archive are not fetched again (sheets are: they change)
        db_path = self.settings.get("ALPR_DB")
        if db_path and Path(db_path).exists():
            with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
                self.seen |= {row[0] for row in conn.execute(
                    "select url from fetches where lower(url) like '%.pdf'")}
        request = self.request(self.base_url, self.parse_page)
        if request is not None:
            yield request

    def parse_page(self, response: Response) -> Iterable[Any]:
        yield self.document(response)
        for url, text in self.links(response):
            low = (url + " " + text).lower()
            if urlparse(url).path.lower().endswith((".xlsx", ".xls")) and (
                    "participating" in low or "pending" in low or "287" in low):
                request = self.request(url, self.parse_sheet)
                if request is not None:
                    self.counts["discovered"] += 1
                    yield request

    def parse_sheet(self, response: Response) -> Iterable[Any]:
        item = self.document(response)
        yield item
        if self.moas >= self.max_moas or response.status != 200:
            return
        from alpr_inventory.agreements import try_287g

        sheet = try_287g(response.body, urlparse(response.url).path)
        for row in sheet.rows if sheet else []:
            if self.moas >= self.max_moas:
                return
            # only MOAs on the page's own site (ice.gov serves them): nothing else is fetched
            if (row.moa_url and is_document_url(row.moa_url)
                    and urlparse(row.moa_url).netloc == urlparse(self.base_url).netloc):
                request = self.request(row.moa_url, self.parse_document)
                if request is not None:
                    self.moas += 1
                    yield request

    def parse_document(self, response: Response) -> Iterable[Any]:
        yield self.document(response)


class DocumentsSpider(_DocumentSpider):
    name = "documents"
    source_description = "Agency and state DMV sites: ALPR policies, contracts, agreements"

    def __init__(self, seeds: Iterable[str] = (), keywords: Iterable[str] = DEFAULT_KEYWORDS,
                 max_depth: int = 2, max_documents: int = 200, **kwargs: Any):
        super().__init__(**kwargs)
        self.seeds = [s for s in (seeds.split(",") if isinstance(seeds, str) else seeds) if s]
        self.keywords = tuple(k.lower() for k in keywords)
        self.max_depth = int(max_depth)
        self.max_documents = int(max_documents)
        self.documents = 0
        self.hosts = {urlparse(s).netloc for s in self.seeds}

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for seed in self.seeds:
            request = self.request(seed, self.parse_page, depth=0)
            if request is not None:
                yield request

    def relevant(self, url: str, text: str) -> bool:
        haystack = re.sub(r"[_\-+%20]+", " ", (urlparse(url).path + " " + text).lower())
        return any(k in haystack for k in self.keywords)

    def parse_page(self, response: Response) -> Iterable[Any]:
        depth = response.meta.get("depth", 0)
        if depth == 0 or not response.headers.get("Content-Type", b"").startswith(b"text/html"):
            yield self.document(response)  # seeds are evidence of where documents were listed
        for url, text in self.links(response):
            if urlparse(url).netloc not in self.hosts or not self.relevant(url, text):
                continue
            if is_document_url(url):
                if self.documents < self.max_documents:
                    request = self.request(url, self.parse_document)
                    if request is not None:
                        self.documents += 1
                        self.counts["discovered"] += 1
                        yield request
            elif depth < self.max_depth:
                request = self.request(url, self.parse_page, depth=depth + 1)
                if request is not None:
                    yield request

    def parse_document(self, response: Response) -> Iterable[Any]:
        yield self.document(response)
