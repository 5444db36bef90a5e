"""Polite retries: back off on 429/503, honour Retry-After, never hammer a server that said no.

Scrapy's own RetryMiddleware retries at once. This subclass waits: it raises the download
slot's delay to the server's Retry-After (seconds or HTTP date) or to an exponential backoff
(RETRY_BACKOFF_BASE * 2**attempt, capped at RETRY_BACKOFF_MAX) before the retry goes out, so
every later request to that host slows down too. AutoThrottle never lowers a delay on an error
response, so the slowdown holds until the server answers normally again.

A spider may also say that an HTTP-200 answer is a throttling page
(`is_throttle_answer(response)`, e.g. NextRequest's "Retry later"): it is retried the same way.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlparse

from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.http import Request, Response
from scrapy.utils.response import response_status_message

log = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class PoliteRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: Any):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("RETRY_BACKOFF_BASE", 30.0)
        self.backoff_max = settings.getfloat("RETRY_BACKOFF_MAX", 900.0)
        self.crawler: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> PoliteRetryMiddleware:
        middleware = cls(crawler.settings)
        middleware.crawler = crawler
        return middleware

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Request | Response:
        if request.meta.get("dont_retry", False):
            return response
        spider = spider or self.crawler.spider
        throttle_answer = getattr(spider, "is_throttle_answer", None)
        throttled = response.status == 200 and throttle_answer is not None and bool(
            throttle_answer(response))  # e.g. NextRequest's HTTP-200 "Retry later" body
        if response.status not in self.retry_http_codes and not throttled:
            return response
        attempt = request.meta.get("retry_times", 0)
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None:
            wait = self.backoff_base * (2**attempt)
        wait = min(wait, self.backoff_max)
        retry = get_retry_request(
            request, spider=spider,
            reason="throttled (HTTP 200 answer)" if throttled
            else response_status_message(response.status),
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=self.priority_adjust,
        )
        if retry is None:
            return response  # retries exhausted: the spider records what the server sent
        self._slow_down(request, wait)
        log.info("HTTP %s from %s: waiting %.1fs before retry %d", response.status,
                 request.url, wait, attempt + 1)
        return retry

    def _slow_down(self, request: Request, wait: float) -> None:
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        if downloader is None:
            return
        key = request.meta.get("download_slot") or urlparse(request.url).hostname
        slot = downloader.slots.get(key)
        if slot is not None:
            slot.delay = max(slot.delay, wait)
