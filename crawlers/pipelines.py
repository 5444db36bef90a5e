"""Archive pipeline: every document item goes through `Store.ingest`, and the run is recorded."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

from alpr_inventory.archive import Archive
from alpr_inventory.ingest import Store
from alpr_inventory.schema import open_db
from alpr_inventory.settings import archive_dir_for, default_db_path
from crawlers.items import DocumentItem

log = logging.getLogger(__name__)


class ArchivePipeline:
    """Stores each fetched document (bytes, fetch, facts) and keeps the `runs` row current."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.db_path = crawler.settings.get("ALPR_DB") or str(default_db_path())
        self.store: Store | None = None
        self.run_id: int | None = None
        self.new_documents = 0
        self.parse_errors = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self, spider: Any = None) -> None:
        spider = spider or self.crawler.spider
        db = open_db(self.db_path)
        self.store = Store(db, Archive(archive_dir_for(self.db_path)))
        args = {"seeds": len(getattr(spider, "seeds", [])), "state": getattr(spider, "state", None),
                "discover_depth": getattr(spider, "discover_depth", None)}
        self.run_id = self.store.start_run(
            spider.name, args, getattr(spider, "base_url", None),
            "browser" if getattr(spider, "browser", False) else "http")
        spider.run_id = self.run_id

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, DocumentItem) or self.store is None:
            return item
        result = self.store.ingest(item.fetched, self.run_id, item.page)
        self.new_documents += int(result.new_document)
        failed = ("error", "layout_changed") + (
            ("not_a_portal",) if self.crawler.spider.name == "flock_portals" else ())
        if result.parse_status in failed:
            self.parse_errors += 1
            log.warning("%s: %s", item.fetched.url, result.parse_status)
        return item

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.store is None or self.run_id is None:
            return
        self.store.finish()
        counts = dict(getattr(spider, "counts", {}))
        counts["errors"] = counts.get("errors", 0) + self.parse_errors
        counts["documents"] = self.new_documents
        status = "finished" if reason == "finished" else ("blocked" if reason == "blocked"
                                                          else "failed")
        self.store.finish_run(self.run_id, status, reason, counts)
        if status == "finished":  # a cursor only moves when the whole run got through
            self.store.save_crawl_state(spider.name, getattr(spider, "pending_state", {}),
                                        self.run_id)
        self.store.close()  # the parser workers and the database
        self.store = None
