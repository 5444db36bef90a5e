"""Archive pipeline (the store's side of a crawl, named in crawlers/settings.py ITEM_PIPELINES):
every document item goes through `Store.ingest`, every failed request into
`crawl_failures`, and the run is recorded with totals that add up (seeds = fetched + failed)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request, Response

from alpr_inventory.load.ingest import Fetched, Store
from alpr_inventory.settings import archive_dir_for, default_db_path
from alpr_inventory.store.archive import Archive
from alpr_inventory.store.schema import open_db
from crawlers.failures import OWN_KINDS, SeedLedger, answer_failure, request_key
from crawlers.items import CrawlFailure, DocumentItem

log = logging.getLogger(__name__)


class ArchivePipeline:
    """Stores each fetched document (bytes, fetch, facts) and each failure, keeps the `runs`
    row current, and accounts for every seed when the spider closes."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.db_path = crawler.settings.get("ALPR_DB") or str(default_db_path())
        self.store: Store | None = None
        self.run_id: int | None = None
        self.new_documents = 0
        self.parse_errors = 0
        self.ledger = SeedLedger()
        self.retry_codes = [int(c) for c in crawler.settings.getlist("RETRY_HTTP_CODES")]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.request_dropped, signal=signals.request_dropped)
        crawler.signals.connect(pipeline.spider_error, signal=signals.spider_error)
        return pipeline

    def open_spider(self, spider: Any = None) -> None:
        spider = spider or self.crawler.spider
        db = open_db(self.db_path)
        self.store = Store(db, Archive(archive_dir_for(self.db_path)))
        args = {"seeds": len(getattr(spider, "seeds", [])), "state": getattr(spider, "state", None),
                "discover_depth": getattr(spider, "discover_depth", None)}
        if getattr(spider, "shard", None):  # crawl --shard / the job argument shard=I/N
            args["shard"] = str(spider.shard)
        self.run_id = self.store.start_run(
            spider.name, args, getattr(spider, "base_url", None),
            "browser" if getattr(spider, "browser", False) else "http")
        spider.run_id = self.run_id

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, CrawlFailure):
            self.record(item)
            return item
        if not isinstance(item, DocumentItem) or self.store is None:
            return item
        fetched = Fetched(**{f.name: getattr(item.fetched, f.name)  # the crawler's record
                             for f in dataclasses.fields(item.fetched)})
        result = self.store.ingest(fetched, self.run_id, item.page)
        self.new_documents += int(result.new_document)
        failed = ("error", "layout_changed") + (
            ("not_a_portal",) if self.crawler.spider.name == "flock_portals" else ())
        if result.parse_status in failed:
            self.parse_errors += 1
            log.warning("%s: %s", fetched.url, result.parse_status)
        failure = answer_failure(fetched.http_status, result.doc_type, self.retry_codes)
        if failure is None:
            self.ledger.record_fetch(item.seed, [fetched.url, fetched.fetched_from])
            return item
        reason, detail = failure
        if item.attempts > 1:
            detail += f" ({item.attempts} attempts)"
        log.warning("%s failed (%s): %s; the answer is archived, recorded in crawl_failures, "
                    "crawled again next run", fetched.fetched_from or fetched.url, reason, detail)
        self.record(CrawlFailure(url=fetched.fetched_from or fetched.url, reason=reason,
                                 detail=detail, seed=item.seed, seed_kind=item.seed_kind,
                                 http_status=fetched.http_status, attempts=item.attempts))
        return item

    def record(self, failure: CrawlFailure) -> None:
        if self.store is None:
            return
        self.store.record_failure(self.run_id, self.crawler.spider.name, failure.url,
                                  failure.reason, failure.detail, failure.seed,
                                  failure.seed_kind, failure.http_status, failure.attempts)
        self.ledger.record_failure(failure.seed, failure.seed_kind, failure.reason)

    def request_dropped(self, request: Request, spider: Any = None) -> None:
        """The scheduler's duplicate filter dropped a request: a seed's own is recorded."""
        seed, kind = request_key(request.meta)
        if kind not in OWN_KINDS:
            return  # a capture or a file asked twice: the first request stands for both
        chain = [*request.meta.get("redirect_urls", []), request.url]
        log.warning("%s dropped by the duplicate filter (seed %s, via %s); recorded in "
                    "crawl_failures", request.url, seed, " -> ".join(chain))
        self.record(CrawlFailure(
            url=request.url, reason="duplicate", seed=seed, seed_kind=kind, attempts=0,
            detail="dropped by the duplicate filter: already asked in this run (via "
            + " -> ".join(chain) + ")"))

    def spider_error(self, failure: Any, response: Response, spider: Any = None) -> None:
        """A callback raised: the seed it served is recorded as failed (the log has the
        traceback)."""
        seed, kind = request_key(response.meta)
        self.record(CrawlFailure(
            url=response.url, reason="spider_error", seed=seed, seed_kind=kind,
            http_status=response.status,
            detail=f"{type(failure.value).__name__}: {failure.value}"[:500]))

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.store is None or self.run_id is None:
            return
        self.store.finish()
        seeds = list(getattr(spider, "run_seeds", None) or [])
        seed_url = getattr(spider, "seed_url", None)
        for seed in self.ledger.unanswered(seeds):
            self.record(CrawlFailure(
                url=(seed_url(seed) if seed_url else None) or "", reason="not_reached",
                seed=seed, seed_kind="seed", attempts=0,
                detail=f"the crawl ended ({reason}) before this seed was answered"))
        resolved = self.store.resolve_failures(spider.name, self.run_id,
                                               self.ledger.resolved_keys(), self.ledger.ok_urls)
        totals = self.ledger.totals(seeds)
        counts = dict(getattr(spider, "counts", {}))
        counts["errors"] = counts.get("errors", 0) + self.parse_errors
        counts["documents"] = self.new_documents
        counts.update(totals)
        if resolved:
            counts["failures_resolved"] = resolved
        if totals["failures"] or totals["seeds"]:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.ledger.by_reason.items()))
            log.info("%d seeds: %d fetched, %d failed; %d failures recorded%s; %d earlier "
                     "failures answered", totals["seeds"], totals["seeds_fetched"],
                     totals["seeds_failed"], totals["failures"],
                     f" ({reasons})" if reasons else "", resolved)
        status = "finished" if reason == "finished" else ("blocked" if reason == "blocked"
                                                          else "failed")
        self.store.finish_run(self.run_id, status, reason, counts)
        if status == "finished":  # a cursor only moves when the whole run got through
            self.store.save_crawl_state(spider.name, getattr(spider, "pending_state", {}),
                                        self.run_id)
        self.store.close()  # the parser workers and the database
        self.store = None
