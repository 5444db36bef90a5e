"""What spiders know of earlier runs comes through crawlers.memory.CrawlMemory, implemented by
the store (alpr_inventory.store.crawl_memory) and chosen by the CRAWL_MEMORY setting. The documents
here are generated (a small text file and its fetch headers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy.settings import Settings

from alpr_inventory.load.ingest import Fetched, Store, utc_now
from alpr_inventory.store.archive import Archive
from alpr_inventory.store.crawl_memory import DatabaseMemory
from alpr_inventory.store.schema import open_db
from crawlers.memory import CrawlMemory, NoMemory, memory_from_settings

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus

URL = "https://www.example-city.gov/police/alpr-policy.txt"


def test_the_store_answers_what_spiders_ask(tmp_path: Path) -> None:
    db_path = tmp_path / "inventory.db"
    store = Store(open_db(str(db_path)), Archive(tmp_path / "archive"))
    body = b"Automated license plate reader policy. Data is kept 30 days.\n"
    store.ingest(Fetched(body=body, url=URL, source="documents", fetched_at=utc_now(),
                         captured_at=utc_now(), captured_at_basis="fetch", http_status=200,
                         headers={"etag": '"v1"',
                                  "last-modified": "Tue, 01 Dec 2026 10:00:00 GMT"}))
    store.save_crawl_state("documents", {("site", "www.example-city.gov"): "2026-12-01"}, None)
    store.close()

    settings = Settings({"ALPR_DB": str(db_path),
                         "CRAWL_MEMORY": "alpr_inventory.store.crawl_memory.DatabaseMemory"})
    memory = memory_from_settings(settings)
    assert isinstance(memory, DatabaseMemory) and isinstance(memory, CrawlMemory)
    assert memory.archived_urls() == {URL}
    assert memory.archived_urls("%example-other%") == set()
    assert memory.validators(URL) == ('"v1"', "Tue, 01 Dec 2026 10:00:00 GMT")
    assert memory.archived_body(URL) == body
    assert memory.state("documents", "site", "www.example-city.gov") == "2026-12-01"
    assert memory.urls_with_status([404, 410]) == set()
    assert memory.failed_seeds("documents") == [] and memory.council_matters_read() == set()


def test_without_a_memory_a_spider_starts_from_nothing(tmp_path: Path) -> None:
    assert isinstance(memory_from_settings(Settings({})), NoMemory)
    before_first_run = DatabaseMemory(str(tmp_path / "not-yet.db"))
    assert before_first_run.archived_urls() == set()
    assert before_first_run.validators(URL) == (None, None)
