"""Flock Safety transparency portals: fetch each portal page and hand it on.

The spider only fetches: every response (portal, block page, 'not found') becomes a document
item for the archive pipeline. Parsing happens once, in `parsers/`; the spider reuses that
parse only to discover further portals from the organisation names in sharing lists.

Replay archives: when a response carries Memento headers (RFC 7089: `Memento-Datetime`,
`Link: <...>; rel="original"` and `rel="memento"` links), the capture time and original URL
come from them and every listed capture is fetched. That is how the offline demo and the tests
crawl dated captures through a local server with the same code path as the live site.

Every seed slug ends as a fetch or a recorded failure (crawl_failures, see SeedAccounting);
the next run crawls the failed ones again (with `failed_only`, only those).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urljoin, urlparse

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from crawlers.items import DocumentItem, FetchedDocument, utc_now
from crawlers.seeds import Seed, guess_state, read_seeds, select_seeds
from crawlers.spiders.base import SeedAccounting, as_flag
from parsers.flock.pagekind import classify_page
from parsers.flock.portal import PortalParseError, parse_portal
from parsers.names import FLOCK_PORTAL_BASE, slug_candidates

LINK_RE = re.compile(r'<([^>]+)>\s*((?:;\s*[a-zA-Z]+="[^"]*"\s*)+)')
PARAM_RE = re.compile(r'([a-zA-Z]+)="([^"]*)"')
HANDLED_STATUSES = [403, 404, 410, 429, 500, 502, 503, 504]


def parse_link_header(value: str) -> list[dict[str, str]]:
    """Split an HTTP Link header into {url, rel, datetime, ...} dicts."""
    links = []
    for url, params in LINK_RE.findall(value or ""):
        entry = {"url": url, **{k.lower(): v for k, v in PARAM_RE.findall(params)}}
        links.append(entry)
    return links


def memento_datetime(value: str | None) -> str | None:
    """RFC 1123 `Memento-Datetime` -> ISO-8601 UTC, or None."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (TypeError, ValueError):
        return None


class FlockPortalsSpider(SeedAccounting, scrapy.Spider):
    name = "flock_portals"
    source_description = "Flock Safety transparency portals (transparency.flocksafety.com/<slug>)"

    def __init__(
        self,
        slugs: Iterable[str] = (),
        seeds_file: str | None = None,
        state: str | None = None,
        base_url: str = FLOCK_PORTAL_BASE,
        discover_depth: int = 1,
        max_discovered: int = 2000,
        browser: bool = False,
        follow_mementos: bool = True,
        failed_only: bool = False,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.discover_depth = int(discover_depth)
        self.max_discovered = int(max_discovered)
        self.browser = as_flag(browser)
        self.follow_mementos = as_flag(follow_mementos)
        self.state = state.upper() if state else None
        seeds = [Seed(s) for s in (slugs.split(",") if isinstance(slugs, str) else slugs) if s]
        if seeds_file:
            seeds += read_seeds(seeds_file)
        self.seeds = select_seeds(seeds, self.state)
        self.failed_only = as_flag(failed_only)
        self.queued_slugs: set[str] = set()
        self.counts = {"pages": 0, "portals": 0, "blocked": 0, "not_found": 0, "errors": 0,
                       "discovered": 0}
        self.consecutive_blocks = 0

    # ---- requests ---------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        given = [] if self.failed_only else [s.slug for s in self.seeds]
        if self.failed_only:
            self.retry_failed = True
        slugs = self.with_retries(given)
        known = {s.slug: s for s in self.seeds}
        self.seeds = select_seeds([known.get(slug) or Seed(slug, None, guess_state(None, slug))
                                   for slug in slugs], self.state)
        self.run_seeds = [s.slug for s in self.seeds]
        if not self.seeds:
            self.logger.warning("no seeds: give slugs, --seeds FILE, or a --state with seeds"
                                + (" (no seed failed in earlier runs)" if self.failed_only
                                   else ""))
        for seed in self.seeds:
            request = self.portal_request(seed.slug, depth=0, via="seed")
            if request is not None:
                yield request

    def seed_url(self, seed: str) -> str:
        return self.portal_url(seed)

    def portal_url(self, slug: str) -> str:
        return urljoin(self.base_url, quote(slug, safe="-_.~()'"))

    def portal_request(self, slug: str, depth: int, via: str) -> scrapy.Request | None:
        if slug in self.queued_slugs:
            return None
        self.queued_slugs.add(slug)
        return self._request(self.portal_url(slug), slug, depth, via)

    def _request(self, url: str, slug: str | None, depth: int, via: str) -> scrapy.Request:
        meta: dict[str, Any] = {"slug": slug, "discovery_depth": depth, "via": via,
                                "handle_httpstatus_list": HANDLED_STATUSES}
        if self.browser:
            meta["playwright"] = True
        if slug is not None and via in ("seed", "discovered"):
            meta.update(crawl_seed=slug, crawl_kind=via)  # a capture follows its portal's seed
        return scrapy.Request(url, callback=self.parse, errback=self.on_error, meta=meta)

    # ---- responses --------------------------------------------------------------------
    def parse(self, response: Response, **kwargs: Any) -> Iterable[Any]:
        self.counts["pages"] += 1
        headers = {k.decode("latin-1").lower(): b", ".join(v).decode("latin-1")
                   for k, v in response.headers.items()}
        links = parse_link_header(headers.get("link", ""))
        original = next((link["url"] for link in links
                         if "original" in link.get("rel", "").split()), None)
        captured = memento_datetime(headers.get("memento-datetime"))
        fetched_at = utc_now()
        verdict = classify_page(response.body, response.status, headers)
        page = None
        if verdict.kind == "flock_portal":
            try:
                page = parse_portal(response.body)
            except PortalParseError:
                page = None  # the pipeline records the parse status from the same bytes
        yield DocumentItem(FetchedDocument(
            body=response.body,
            url=original or response.url,
            fetched_from=response.url,
            source=self.name,
            fetched_at=fetched_at,
            captured_at=captured or fetched_at,
            captured_at_basis="memento" if captured else "fetch",
            http_status=response.status,
            content_type=headers.get("content-type"),
            requested_slug=response.meta.get("slug"),
            headers=headers,
        ), page)

        if verdict.kind == "blocked":
            self.counts["blocked"] += 1
            self.consecutive_blocks += 1
            limit = self.settings.getint("BLOCK_STOP_AFTER", 5)
            self.logger.warning("blocked at %s: %s (%d in a row)", response.url, verdict.reason,
                                self.consecutive_blocks)
            if limit and self.consecutive_blocks >= limit:
                raise CloseSpider("blocked")
            return
        self.consecutive_blocks = 0
        if verdict.kind == "not_found":
            self.counts["not_found"] += 1
            return
        if verdict.kind == "flock_portal":
            self.counts["portals"] += 1
        if self.follow_mementos:
            for link in links:
                rels = link.get("rel", "").split()
                if "memento" in rels and _same_host(link["url"], response.url):
                    yield self._request(urljoin(response.url, link["url"]),
                                        response.meta.get("slug"),
                                        response.meta.get("discovery_depth", 0), "memento")
        depth = response.meta.get("discovery_depth", 0)
        if page is not None and depth < self.discover_depth:
            # the raw names keep leading/trailing spaces, which Flock turns into slug dashes
            yield from self.discover(page.sharing_outbound_raw + page.sharing_inbound_raw,
                                     depth + 1)

    def discover(self, names: Iterable[str], depth: int) -> Iterable[scrapy.Request]:
        """Turn organisation names into candidate portal slugs (bounded, deduplicated)."""
        for name in names:
            for slug in slug_candidates(name):
                if self.counts["discovered"] >= self.max_discovered:
                    return
                request = self.portal_request(slug, depth, "discovered")
                if request is not None:
                    self.counts["discovered"] += 1
                    yield request



def _same_host(url: str, other: str) -> bool:
    a, b = urlparse(url), urlparse(other)
    return not a.netloc or (a.netloc == b.netloc)
