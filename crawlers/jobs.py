"""Crawls started by Scrapyd (or `scrapy crawl`): the job's arguments become its settings.

`alpr-inventory crawl` works out the settings of a crawl itself (crawlers/settings.py,
`crawl_settings`). A Scrapyd job only has the project settings and its spider arguments
(schedule.json: `node_dir=...`, `shard=1/2`, `contact=...`, and the spider's own). This
extension runs after the spider is made and before the settings freeze, and applies the same
`crawl_settings` from those arguments:

* `node_dir=DIR` (or the setting ALPR_NODE_DIR): the node's own folder; the crawl writes its
  database (`DIR/inventory.db`: fetches, runs, failures) and its content-addressed archive
  (`DIR/archive/`) there, for `alpr-inventory merge` to gather;
* `contact=EMAIL_OR_URL` (or the setting or environment variable ALPR_CONTACT): who to reach,
  in the User-Agent; a live site is not crawled without it;
* the pacing of the spider's source (crawlers/registry.py), or none for a local replay.

Settings given to the job (`setting=NAME=VALUE`) win over these. A crawl the CLI configured is
left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scrapy.exceptions import NotConfigured

from crawlers.settings import crawl_settings

# a node's database in its folder, as `alpr-inventory merge` looks for it
# (alpr_inventory/settings.py NODE_DB_NAME: the crawlers do not import the application)
NODE_DB_NAME = "inventory.db"


class JobSettings:
    """Applies `crawl_settings` from a job's spider arguments (see the module docstring)."""

    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> JobSettings:
        settings = crawler.settings
        if settings.getbool("ALPR_CRAWL_CONFIGURED") or settings.frozen:
            raise NotConfigured("configured by alpr-inventory crawl")
        spider = crawler.spider
        node_dir = getattr(spider, "node_dir", None) or settings.get("ALPR_NODE_DIR")
        if node_dir:
            db_path = str(Path(node_dir) / NODE_DB_NAME)
            Path(node_dir).mkdir(parents=True, exist_ok=True)
        else:
            # the application's default (data/inventory.db of the checkout Scrapyd runs from)
            db_path = (settings.get("ALPR_DB") or os.environ.get("ALPR_DB")
                       or str(Path(__file__).resolve().parents[1] / "data" / NODE_DB_NAME))
        where = getattr(spider, "base_url", "") or getattr(spider, "tenant_url", "") or ""
        contact = (getattr(spider, "contact", None) or settings.get("ALPR_CONTACT")
                   or os.environ.get("ALPR_CONTACT"))
        wanted = crawl_settings(where, bool(getattr(spider, "browser", False)), db_path,
                                settings.get("LOG_LEVEL", "INFO"), contact, spider.name)
        if node_dir:
            wanted["ALPR_NODE_DIR"] = str(node_dir)
        for name, value in wanted.items():
            settings.set(name, value, priority="spider")  # a job's own settings still win
        return cls(crawler)
