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

from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlparse

import scrapy
from scrapy.http import Response

from crawlers.spiders.base import SourceSpider
from parsers.records.agency_site import (
    DEFAULT_KEYWORDS,
    Link,
    document_links,
    is_document_url,
    is_relevant,
    page_links,
    same_site,
)

ICE_287G_PAGE = "https://www.ice.gov/identify-and-arrest/287g"
__all__ = ["DEFAULT_KEYWORDS", "DocumentsSpider", "Ice287gSpider", "is_document_url"]


class Ice287gSpider(SourceSpider):
    name = "ice_287g"
    source_description = "ICE 287(g) page: participating/pending agencies spreadsheets and MOAs"

    def __init__(self, base_url: str = ICE_287G_PAGE, max_moas: int = 100, **kwargs: Any):
        super().__init__(base_url=base_url, **kwargs)
        self.max_moas = int(max_moas)
        self.moas = 0

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # MOAs already in the archive are not fetched again (sheets are: they change)
        self.seen |= {u for u in self.archived_urls() if u.lower().endswith(".pdf")}
        self.run_seeds = self.shard_seeds([self.base_url])  # fetched on every run (its shard's)
        for seed in self.run_seeds:
            request = self.mark_seed(self.request(seed, self.parse_page), seed)
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
        from parsers.agreements.ice287g import try_287g

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


class DocumentsSpider(SourceSpider):
    """Agency sites: from seed pages, same-site links about ALPR policies, contracts and
    agreements. Every page visited is archived (its links are the provenance of the documents
    it lists). Re-runs ask pages with If-None-Match / If-Modified-Since and go on from the
    archived copy on a 304; a document already archived is never downloaded again."""

    name = "documents"
    source_description = "Agency and state DMV sites: ALPR policies, contracts, agreements"

    def __init__(self, seeds: Iterable[str] = (), keywords: Iterable[str] = DEFAULT_KEYWORDS,
                 max_depth: int = 2, max_documents: int = 200, **kwargs: Any):
        super().__init__(**kwargs)
        self.seeds = [s for s in (seeds.split(",") if isinstance(seeds, str) else seeds) if s]
        if isinstance(keywords, str):  # a Scrapyd job argument: comma-separated
            keywords = keywords.split(",")
        self.keywords = tuple(k.strip().lower() for k in keywords if k.strip())
        self.max_depth = int(max_depth)
        self.max_documents = int(max_documents)
        self.documents = 0
        self.hosts = {urlparse(s).netloc for s in self.seeds}
        self.counts.update(not_modified=0, skipped_archived=0)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.archived = self.archived_urls()
        self.seeds = self.run_seeds = self.with_retries(self.seeds)
        self.hosts = {urlparse(s).netloc for s in self.seeds}
        for seed in self.seeds:
            request = self.mark_seed(self.page_request(seed, 0), seed)
            if request is not None:
                yield request

    def page_request(self, url: str, depth: int) -> scrapy.Request | None:
        return self.request(url, self.parse_page, headers=self.conditional_headers(url),
                            depth=depth)

    def parse_page(self, response: Response) -> Iterable[Any]:
        depth = response.meta.get("depth", 0)
        page_url = (response.meta.get("redirect_urls") or [response.url])[0]
        if response.status == 304:
            self.counts["not_modified"] += 1
            body = self.archived_body(page_url)  # unchanged: go on from the archived copy
            if body is None:
                return
        else:
            yield self.document(response)
            body = response.body
            if response.status != 200:
                return
        if not is_document_url(page_url):
            yield from self.follow(body, page_url, depth)

    def follow(self, body: bytes, page_url: str, depth: int) -> Iterable[Any]:
        for released in document_links(body, page_url, self.keywords):
            url = released.url or ""
            if url in self.archived:
                self.counts["skipped_archived"] += 1
                continue
            if self.documents >= self.max_documents:
                break
            request = self.request(url, self.parse_document)
            if request is not None:
                self.documents += 1
                self.counts["discovered"] += 1
                yield request
        if depth >= self.max_depth:
            return
        for link in page_links(body, page_url):
            if (link.url.startswith(("http://", "https://")) and same_site(link.url, page_url)
                    and urlparse(link.url).netloc in self.hosts
                    and not is_document_url(link.url) and self.relevant(link)):
                request = self.page_request(link.url, depth + 1)
                if request is not None:
                    yield request

    def relevant(self, link: Link) -> bool:
        return is_relevant(link, self.keywords)

    def parse_document(self, response: Response) -> Iterable[Any]:
        yield self.document(response)
