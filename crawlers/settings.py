"""Scrapy settings: polite by default. `crawl_settings()` adapts them to where we crawl.

Live crawling of transparency.flocksafety.com is slow on purpose (one request at a time, a
delay of about ten seconds, AutoThrottle, backoff on 429). Crawling a local replay server on
127.0.0.1 drops the delays, because nobody is there to be burdened.
"""

from __future__ import annotations

import os
import shutil
from typing import Any
from urllib.parse import urlparse

from crawlers.registry import limits_for


def user_agent(contact: str) -> str:
    """An honest User-Agent: the tool, its purpose, and how a site operator reaches the operator.

    `contact` is the person running the crawl (an email or URL): given with --contact or
    ALPR_CONTACT, and required for any crawl of a live site.
    """
    return f"alpr-inventory/0.1 (public-records research tool; contact: {contact})"


BOT_NAME = "alpr_inventory"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

USER_AGENT = user_agent("not configured")  # crawl_settings() sets the operator's contact
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 2
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 10.0
DOWNLOAD_DELAY_JITTER = 0.5  # +-50 %, so requests do not tick like a clock
DOWNLOAD_TIMEOUT = 60
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 10.0
AUTOTHROTTLE_MAX_DELAY = 600.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 0.5
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
RETRY_BACKOFF_BASE = 30.0
RETRY_BACKOFF_MAX = 900.0
# a request given up on is recorded in crawl_failures and logged by the errback, with its reason
RETRY_GIVE_UP_LOG_LEVEL = "INFO"
BLOCK_STOP_AFTER = 5  # consecutive block pages before the crawl stops and says so
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
    "crawlers.middlewares.SharedRobotsTxtMiddleware": 100,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.PoliteRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.httpcompression.HttpCompressionMiddleware": None,
    "crawlers.middlewares.CheckedDecompressionMiddleware": 590,
    "crawlers.middlewares.RedirectLoopMiddleware": 610,  # sees redirects before Scrapy's (600)
}
SPIDER_MIDDLEWARES = {"crawlers.middlewares.SeedMiddleware": 850}
# a Scrapyd job: settings from its spider arguments (node_dir, contact, pacing); before
# AutoThrottle (0), which reads them
EXTENSIONS = {"crawlers.jobs.JobSettings": -100}
# The store's side of a crawl, named by import path so the crawlers never import it: the
# pipeline that hands every document and failure to the store, and what spiders may know
# about earlier runs (crawlers/memory.py). Another application sets its own.
ITEM_PIPELINES = {"alpr_inventory.load.crawl_pipeline.ArchivePipeline": 300}
CRAWL_MEMORY = "alpr_inventory.store.crawl_memory.DatabaseMemory"
COOKIES_ENABLED = False
# No control port of any kind: no telnet console, and not Scrapy's remote-control HTTP server
# (on by default since Scrapy 2.16; it runs Python sent to it, behind a token in a job file).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_MAXSIZE = 32 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")


def find_chromium() -> str | None:
    """The system Chromium scrapy-playwright drives (PLAYWRIGHT_CHROMIUM overrides)."""
    override = os.environ.get("PLAYWRIGHT_CHROMIUM")
    if override:
        return override if shutil.which(override) else None
    for path in CHROMIUM_CANDIDATES:
        if shutil.which(path):
            return path
    return shutil.which("chromium") or shutil.which("chromium-browser")


def is_loopback(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def crawl_settings(base_url: str, browser: bool, db_path: str, log_level: str = "INFO",
                   contact: str | None = None, spider: str | None = None,
                   timeout: float | None = None, max_size_mb: float | None = None,
                   ) -> dict[str, Any]:
    """Settings overrides for one crawl: the database, local-vs-live pacing (each spider's
    limits from crawlers/registry.py), browser mode, the User-Agent naming whom to contact
    (required for live sites), and the download timeout and size limit when given."""
    if not contact:
        if not is_loopback(base_url):
            raise RuntimeError(
                "crawling a live site needs a contact for its operators: pass --contact "
                "EMAIL_OR_URL or set ALPR_CONTACT (it goes into the User-Agent)")
        contact = "local replay on 127.0.0.1"
    out: dict[str, Any] = {"ALPR_DB": db_path, "LOG_LEVEL": log_level,
                           "USER_AGENT": user_agent(contact), "ALPR_CRAWL_CONFIGURED": True}
    if spider and not is_loopback(base_url):
        limits = limits_for(spider)
        out.update(DOWNLOAD_DELAY=limits.delay_s, AUTOTHROTTLE_START_DELAY=limits.delay_s,
                   CONCURRENT_REQUESTS_PER_DOMAIN=limits.concurrency)
    if is_loopback(base_url):
        # a local replay: no delays, an immediate retry unless the server sends Retry-After
        out.update(DOWNLOAD_DELAY=0.0, DOWNLOAD_DELAY_JITTER=0.0, AUTOTHROTTLE_START_DELAY=0.0,
                   AUTOTHROTTLE_TARGET_CONCURRENCY=8.0, CONCURRENT_REQUESTS=8,
                   CONCURRENT_REQUESTS_PER_DOMAIN=8, RETRY_TIMES=1, RETRY_BACKOFF_BASE=0.0,
                   RETRY_BACKOFF_MAX=5.0, DOWNLOAD_TIMEOUT=30)
    if timeout is not None:
        if timeout <= 0:
            raise RuntimeError(f"--timeout must be more than 0 seconds, not {timeout:g}")
        out["DOWNLOAD_TIMEOUT"] = timeout
    if max_size_mb is not None:
        if max_size_mb <= 0:
            raise RuntimeError(f"--max-size must be more than 0 MB, not {max_size_mb:g}")
        out["DOWNLOAD_MAXSIZE"] = int(max_size_mb * 1024 * 1024)
        out["DOWNLOAD_WARNSIZE"] = min(DOWNLOAD_WARNSIZE, out["DOWNLOAD_MAXSIZE"] // 2)
    if browser:
        chromium = find_chromium()
        if chromium is None:
            raise RuntimeError(
                "browser mode needs Chromium: run ./scripts/setup (installs Debian's chromium) "
                "or set PLAYWRIGHT_CHROMIUM to its path")
        out.update(
            DOWNLOAD_HANDLERS={
                "http": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
                "https": "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler",
            },
            PLAYWRIGHT_BROWSER_TYPE="chromium",
            PLAYWRIGHT_LAUNCH_OPTIONS={
                "executable_path": chromium,
                "headless": True,
                "args": ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync"],
            },
            PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT=60_000,
            PLAYWRIGHT_MAX_CONTEXTS=1,
            PLAYWRIGHT_MAX_PAGES_PER_CONTEXT=1,
        )
    return out
