"""What every document and records-portal spider shares: fetch, hand on, remember, be polite.

A spider here only fetches. Each response becomes a `DocumentItem`; the archive pipeline
recognises the document by its content and loads its facts. What a spider needs to know about
earlier runs (files already archived, the newest date it saw, ETags) it asks its `memory`
(crawlers/memory.py: the store's read-only view, named by the CRAWL_MEMORY setting); what it
wants remembered (`remember`) is written by the pipeline only when the run finishes, so a
crashed run never moves the cursor past what it did not fetch.

Every seed is accounted for (`SeedAccounting`, shared with the portal spider): a spider marks
its seeds' own requests, `SeedMiddleware` carries the seed to everything fetched from them, and
a request that fails becomes a `CrawlFailure` item in the errback. The pipeline records it in
`crawl_failures`, and the next run crawls the seeds that failed again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response

from crawlers.failures import classify_failure, request_key
from crawlers.items import CrawlFailure, DocumentItem, FetchedDocument, utc_now
from crawlers.memory import CrawlMemory, memory_from_settings
from crawlers.shards import host_of, parse_shard, split

# statuses a spider sees itself (the others are retried or dropped by Scrapy)
HANDLED_STATUSES = [301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 410, 429, 500, 502, 503, 504]


def as_flag(value: Any) -> bool:
    """A yes/no spider argument: a Scrapyd job passes every argument as text ('false', '0')."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def response_headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1").lower(): b", ".join(v).decode("latin-1")
            for k, v in response.headers.items()}


class SeedAccounting:
    """Which seed each request serves, and a recorded failure for every request that fails.

    A spider sets `run_seeds` (what this run was asked to crawl, plus `with_retries`: the
    seeds an earlier run failed on) and marks each seed's own request with `mark_seed`.
    `on_error` is every request's errback: it names the failure (crawlers/failures.py), logs it
    at a level that fits (a robots.txt refusal is INFO, not an error) and yields a
    CrawlFailure item for the pipeline.
    """

    name: str
    counts: dict[str, int]
    logger: logging.LoggerAdapter
    retry_failed: bool = True  # False (crawl --no-retry): do not add earlier failed seeds
    run_seeds: list[str] = []  # noqa: RUF012 (each spider sets its own list)
    shard: str | None = None  # spider argument shard=I/N: only the seeds whose host is I's


    def mark_seed(self, request: scrapy.Request | None, seed: str,
                  kind: str = "seed") -> scrapy.Request | None:
        """Mark a seed's own request (kind seed, or discovered for a portal found on the way)."""
        if request is not None:
            request.meta["crawl_seed"] = seed
            request.meta["crawl_kind"] = kind
        return request

    def seed_url(self, seed: str) -> str | None:
        """The address a seed's own request asks (for a seed never asked); None if unknown."""
        return seed if seed.startswith(("http://", "https://")) else None

    def seed_host(self, seed: str) -> str:
        """The host a seed is crawled on (crawlers/shards.py): its address's, else the
        spider's base URL's (a search term, an API client name)."""
        return host_of(self.seed_url(seed) or "") or host_of(getattr(self, "base_url", "") or "")

    def shard_seeds(self, seeds: Iterable[str]) -> list[str]:
        """The seeds of this run's shard (all of them without shard=I/N)."""
        seeds = list(seeds)
        shard = parse_shard(self.shard)
        kept = split(seeds, shard, self.seed_host)
        if shard is not None and len(kept) != len(seeds):
            self.logger.info("shard %s: %d of %d seed(s) here, the others are other shards'",
                             shard, len(kept), len(seeds))
        return kept

    def with_retries(self, seeds: Iterable[str]) -> list[str]:
        """The seeds given, then those an earlier run failed on that are not among them (with
        shard=I/N, only the seeds of that shard)."""
        seeds = self.shard_seeds(dict.fromkeys(seeds))
        if not self.retry_failed:
            return seeds
        given = set(seeds)
        retried = [s for s in self.shard_seeds(self.failed_seeds()) if s not in given]
        if retried:
            shown = ", ".join(retried[:10]) + (f", ... ({len(retried)})" if len(retried) > 10
                                               else "")
            self.logger.info("crawling again %d seed(s) that failed in earlier runs "
                             "(crawl_failures): %s", len(retried), shown)
        return seeds + retried

    def failed_seeds(self) -> list[str]:
        """Seeds (and discovered portals) of this spider with a failure no later run answered,
        oldest failure first."""
        return self.memory.failed_seeds(self.name)

    @property
    def memory(self) -> CrawlMemory:
        """What earlier runs left (crawlers/memory.py), as the crawl's settings name it."""
        if getattr(self, "_memory", None) is None:
            self._memory = memory_from_settings(getattr(self, "settings", None))
        return self._memory

    def on_error(self, failure: Any) -> list[CrawlFailure]:
        """Errback of every request: the failure, named and recorded (returned as an item)."""
        request = failure.request
        settings = getattr(self, "settings", None)
        reason, detail = classify_failure(
            failure.value,
            request.meta.get("download_maxsize",
                             settings.getint("DOWNLOAD_MAXSIZE") if settings else None),
            request.meta.get("download_timeout",
                             settings.getfloat("DOWNLOAD_TIMEOUT") if settings else None))
        seed, kind = request_key(request.meta)
        sent = reason not in ("robots", "duplicate")
        if sent:
            self.counts["errors"] = self.counts.get("errors", 0) + 1
        where = f" (seed {seed})" if seed is not None and seed != request.url else ""
        if reason == "robots":
            self.logger.info("robots.txt forbids %s%s: not fetched, recorded in crawl_failures",
                             request.url, where)
        else:
            self.logger.log(logging.ERROR if reason == "error" else logging.WARNING,
                            "%s failed (%s): %s%s; recorded in crawl_failures, crawled again "
                            "next run", request.url, reason, detail, where)
        return [CrawlFailure(url=request.url, reason=reason, detail=detail, seed=seed,
                             seed_kind=kind,
                             attempts=request.meta.get("retry_times", 0) + 1 if sent else 0)]

    def failed_answer(self, response: Response, reason: str, detail: str) -> CrawlFailure:
        """An answer that arrived but is a failure the spider recognises itself (e.g. an
        HTTP-200 'Retry later' page after the retries), as an item for crawl_failures."""
        seed, kind = request_key(response.meta)
        return CrawlFailure(url=response.url, reason=reason, detail=detail, seed=seed,
                            seed_kind=kind, http_status=response.status,
                            attempts=response.meta.get("retry_times", 0) + 1)


class SourceSpider(SeedAccounting, scrapy.Spider):
    """Base for the document spiders: request bookkeeping, documents, incremental state."""

    source_description = ""

    def __init__(self, base_url: str = "", browser: bool = False, full: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.base_url = base_url
        self.browser = as_flag(browser)
        self.full = as_flag(full)
        self.seen: set[str] = set()
        self.pending_state: dict[tuple[str, str], str] = {}
        self.counts = {"pages": 0, "portals": 0, "blocked": 0, "not_found": 0, "errors": 0,
                       "discovered": 0}

    # ---- requests ---------------------------------------------------------------------
    def request(self, url: str, callback: Any, *, dedupe: bool = True,
                headers: dict[str, str] | None = None, method: str = "GET",
                body: bytes | str | None = None, follow_redirects: bool = True,
                **meta: Any) -> scrapy.Request | None:
        """A request (None when this run already asked for the URL). Every status reaches the
        callback, so a 404 or 403 is recorded, not dropped."""
        if dedupe:
            if url in self.seen:
                return None
            self.seen.add(url)
        if follow_redirects:  # RedirectMiddleware passes on any status listed here
            meta["handle_httpstatus_list"] = [s for s in HANDLED_STATUSES
                                              if s not in (301, 302, 303, 307, 308)]
        else:
            meta["handle_httpstatus_list"] = HANDLED_STATUSES
            meta["dont_redirect"] = True
        if self.browser:
            meta["playwright"] = True
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta,
                              headers=headers, method=method, body=body, dont_filter=True)

    def document(self, response: Response, url: str | None = None) -> DocumentItem:
        """The response as a document. `url` is the address the source lists (the fetch's url);
        where the bytes actually came from (after redirects) is kept as fetched_from."""
        self.counts["pages"] += 1
        if response.status in (404, 410):
            self.counts["not_found"] += 1
        elif response.status in (401, 403, 429, 503):
            self.counts["blocked"] += 1
        now = utc_now()
        headers = response_headers(response)
        first = (response.meta.get("redirect_urls") or [response.url])[0]
        return DocumentItem(FetchedDocument(
            body=response.body, url=url or first, fetched_from=response.url, source=self.name,
            fetched_at=now, captured_at=now, captured_at_basis="fetch",
            http_status=response.status, content_type=headers.get("content-type"),
            headers=headers))

    def file_outcome(self, response: Response, downloaded_key: str = "downloaded") -> str:
        """Count a released file's download by what the server said: downloaded, not_public
        (401/403: taken down or private), missing (404/410) or failed (anything else: worth
        asking again next run). The same words as released_documents.download_status."""
        status = response.status
        outcome = ("downloaded" if 200 <= status < 300 else "not_public" if status in (401, 403)
                   else "missing" if status in (404, 410) else "failed")
        key = downloaded_key if outcome == "downloaded" else outcome
        self.counts[key] = self.counts.get(key, 0) + 1
        return outcome

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

    # ---- what earlier runs left -------------------------------------------------------
    def archived_urls(self, like: str | None = None) -> set[str]:
        """URLs already fetched with a 2xx answer: their files are never downloaded again."""
        return self.memory.archived_urls(like)

    def state(self, scope: str, key: str) -> str | None:
        """A value remembered by the last finished run (None with --full or on a first run)."""
        if self.full:
            return None
        return self.memory.state(self.name, scope, key)

    def remember(self, scope: str, key: str, value: str, newest: bool = True) -> None:
        """Keep a value for the next run (written when this run finishes). With newest=True
        the larger of the values given in this run wins (ISO dates compare as text)."""
        old = self.pending_state.get((scope, key))
        if newest and old is not None and old >= value:
            return
        self.pending_state[(scope, key)] = value

    def archived_body(self, url: str) -> bytes | None:
        """The bytes of the newest 2xx fetch of the URL (to go on from a 304 answer)."""
        return self.memory.archived_body(url)

    def conditional_headers(self, url: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the newest fetch of the URL (none with --full)."""
        if self.full:
            return {}
        etag, last_modified = self.memory.validators(url)
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return headers
