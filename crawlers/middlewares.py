"""Polite retries: back off on 429/503, honour Retry-After, never hammer a server that said no.

Scrapy's own RetryMiddleware retries at once. This subclass waits: it raises the download
slot's delay to the server's Retry-After (seconds or HTTP date) or to an exponential backoff
(RETRY_BACKOFF_BASE * 2**attempt, capped at RETRY_BACKOFF_MAX) before the retry goes out, so
every later request to that host slows down too. AutoThrottle never lowers a delay on an error
response, so the slowdown holds until the server answers normally again.

A spider may also say that an HTTP-200 answer is a throttling page
(`is_throttle_answer(response)`, e.g. NextRequest's "Retry later"): it is retried the same way.
Download errors that Scrapy retries (timeouts, lost connections) back off the same way too.
The retry never goes out before the server's Retry-After, whatever the jitter on the host's
delay (a Retry-After beyond RETRY_BACKOFF_MAX is not retried in the run at all: the answer is
recorded, and the next run asks again), and the log says the wait that really applied.

The other middlewares here make every failure nameable (crawlers/failures.py): a redirect back
into its own chain is refused as a loop before the duplicate filter can drop it silently, a body
that does not decompress is a decode error (not an anonymous OSError), and `SeedMiddleware`
marks every request and document with the seed it serves, for the run's accounting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlparse

from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.defer import Deferred
from w3lib.url import canonicalize_url, safe_url_string

from crawlers.failures import BodyDecodeError, BodyTooLarge, RedirectLoop
from crawlers.items import DocumentItem

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

    async def process_request(self, request: Request, spider: Any = None) -> None:
        """Hold a retry until the server's Retry-After (or the backoff) has passed: the host's
        delay alone may be shortened by its jitter."""
        not_before = request.meta.get("retry_not_before")
        if not_before is not None:
            remaining = not_before - time.monotonic()
            if remaining > 0:
                await asyncio.sleep(remaining)

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Request | Response:
        self._log_real_wait(request, response)
        if request.meta.get("dont_retry", False):
            return response
        spider = spider or self.crawler.spider
        throttle_answer = getattr(spider, "is_throttle_answer", None)
        throttled = response.status == 200 and throttle_answer is not None and bool(
            throttle_answer(response))  # e.g. NextRequest's HTTP-200 "Retry later" body
        if response.status not in self.retry_http_codes and not throttled:
            return response
        attempt = request.meta.get("retry_times", 0)
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is not None and asked > self.backoff_max:
            # never earlier than the server asked: this run gives up, the next one asks again
            log.info("HTTP %s from %s asks for %.0f s (Retry-After), more than "
                     "RETRY_BACKOFF_MAX (%.0f s): not retried in this run", response.status,
                     request.url, asked, self.backoff_max)
            return response
        wait = asked if asked is not None else self.backoff_base * (2**attempt)
        wait = min(wait, self.backoff_max)
        cause = "throttled (HTTP 200 answer)" if throttled else response_status_message(
            response.status)
        retry = get_retry_request(
            request, spider=spider, reason=cause,
            max_retry_times=request.meta.get("max_retry_times", self.max_retry_times),
            priority_adjust=self.priority_adjust,
        )
        if retry is None:
            return response  # retries exhausted: the spider records what the server sent
        return self._schedule(request, retry, wait, f"HTTP {response.status}", asked)

    def process_exception(self, request: Request, exception: Exception,
                          spider: Any = None) -> Request | Response | None:
        retry = super().process_exception(request, exception)
        if not isinstance(retry, Request):
            return retry
        attempt = request.meta.get("retry_times", 0)
        wait = min(self.backoff_base * (2**attempt), self.backoff_max)
        return self._schedule(request, retry, wait, type(exception).__name__, None)

    def _schedule(self, request: Request, retry: Request, wait: float, cause: str,
                  asked: float | None) -> Request:
        host_delay = self._slow_down(request, wait)
        now = time.monotonic()
        retry.meta["retry_not_before"] = now + wait
        retry.meta["retry_cause"] = (cause, now)
        why = f"Retry-After {asked:g} s" if asked is not None else f"backoff {wait:g} s"
        if host_delay is not None and host_delay > wait:
            why += f"; this host's delay is {host_delay:.1f} s"
        log.info("%s from %s: retry %d of %d in at least %.1f s (%s)", cause, request.url,
                 retry.meta.get("retry_times", 1),
                 request.meta.get("max_retry_times", self.max_retry_times),
                 max(wait, host_delay or 0.0), why)
        return retry

    def _log_real_wait(self, request: Request, response: Response) -> None:
        """Say how long a retry really waited: from the answer that caused it to the moment
        this retry was sent (its answer's arrival less the download time)."""
        cause = request.meta.pop("retry_cause", None)
        if not cause:
            return
        what, since = cause
        sent = time.monotonic() - float(request.meta.get("download_latency") or 0.0)
        log.info("retry %d of %s was sent %.1f s after the %s; it answered HTTP %s",
                 request.meta.get("retry_times", 1), request.url, max(0.0, sent - since), what,
                 response.status)

    def _slow_down(self, request: Request, wait: float) -> float | None:
        """Raise the host's delay to `wait`; returns the host's delay now (None: no slot)."""
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        if downloader is None:
            return None
        key = request.meta.get("download_slot") or urlparse(request.url).hostname
        slot = downloader.slots.get(key)
        if slot is None:
            return None
        slot.delay = max(slot.delay, wait)
        return float(slot.delay)


REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class RedirectLoopMiddleware:
    """Refuse a redirect back to an address already in its chain (a slug redirecting to
    itself, or A -> B -> A). Without this the duplicate filter drops the second visit and the
    seed vanishes without a word. Runs just before Scrapy's RedirectMiddleware, with its rules
    for which answers are redirects."""

    def __init__(self, crawler: Any):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedirectLoopMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Response:
        location = response.headers.get("Location")
        if (not location or response.status not in REDIRECT_STATUSES
                or request.method not in ("GET", "HEAD")
                or request.meta.get("dont_redirect", False)
                or response.status in request.meta.get("handle_httpstatus_list", ())
                or request.meta.get("handle_httpstatus_all", False)):
            return response
        target = urljoin(request.url, safe_url_string(location))
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if canonicalize_url(target) in {canonicalize_url(u) for u in chain}:
            raise RedirectLoop("redirect loop: " + " -> ".join([*chain, target]))
        return response


class CheckedDecompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's decompression, with its failures named: a body that does not decode is a
    BodyDecodeError (Scrapy lets the gzip/zlib/brotli error through as it is), one that
    decompresses past DOWNLOAD_MAXSIZE is BodyTooLarge."""

    def process_response(self, request: Request, response: Response,
                         spider: Any = None) -> Request | Response:
        encoding = b", ".join(response.headers.getlist("Content-Encoding")).decode("latin-1")
        try:
            return super().process_response(request, response)
        except IgnoreRequest as exc:
            if "DOWNLOAD_MAXSIZE" in str(exc):
                raise BodyTooLarge(str(exc)) from exc
            raise
        except Exception as exc:  # gzip.BadGzipFile, zlib.error, EOFError, brotli.error, ...
            raise BodyDecodeError(
                f"Content-Encoding {encoding or '?'}: the body ({len(response.body)} bytes) "
                f"does not decode ({type(exc).__name__}: {exc})") from exc


class SharedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every waiting request given the parsed file.

    In Scrapy 2.19 the requests that reach a host while its robots.txt is still downloading
    all await the same Deferred through `Deferred.asFuture`, which hands the result to the
    first of them and None ("no robots.txt") to the others: they went out unchecked. Here each
    waiter gets its own relay of the result (tests/crawlers/test_crawl_failures.py shows eight
    refused seeds at once, none asked).
    """

    async def robot_parser(self, request: Request) -> Any:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            relay: Deferred[Any] = Deferred()

            def pass_on(result: Any) -> Any:
                relay.callback(result)
                return result  # the next waiter gets it too

            pending.addCallback(pass_on)
            return await maybe_deferred_to_future(relay)
        return await super().robot_parser(request)


class SeedMiddleware(BaseSpiderMiddleware):
    """Every request followed from an answer serves the same seed as that answer, and every
    document carries its seed: the pipeline accounts for each seed of the run with them.
    A spider marks only its seeds' own requests (SeedAccounting.mark_seed)."""

    def get_processed_request(self, request: Request, response: Response | None
                              ) -> Request | None:
        if response is not None and "crawl_seed" not in request.meta:
            seed = response.meta.get("crawl_seed")
            if seed is not None:
                request.meta["crawl_seed"] = seed
                request.meta["crawl_kind"] = "followed"
        return request

    def get_processed_item(self, item: Any, response: Response | None) -> Any:
        if isinstance(item, DocumentItem) and response is not None and item.seed is None:
            item.seed = response.meta.get("crawl_seed")
            item.seed_kind = response.meta.get("crawl_kind") or "followed"
            item.attempts = response.meta.get("retry_times", 0) + 1
        return item
