"""Why a request of a crawl failed, in one word, and how a run's seeds add up.

Every seed of a crawl ends as a fetch (with its HTTP status) or as a recorded failure
(`crawl_failures`). This module only decides words and sums (no Scrapy engine, no database):
`classify_failure` turns a download error into a reason and a sentence, `answer_failure` says
when an answer that did arrive still counts as a failure (a 5xx or 429 after the retries, a
block page, a page cut short), and `SeedLedger` keeps the run's accounting so that
seeds = fetched + failed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from scrapy.exceptions import IgnoreRequest

# reason -> what it means (the schema documents the same words)
REASONS: dict[str, str] = {
    "redirect_loop": "a redirect back to an address already in the chain (or to itself)",
    "too_many_redirects": "more redirects than REDIRECT_MAX_TIMES",
    "timeout": "no complete answer within the download timeout (after the retries)",
    "too_large": "body over the download size limit (declared, counted, or decompressed)",
    "truncated": "the body was cut short (connection closed early, or a page with no end)",
    "decode_error": "a Content-Encoding body (gzip, deflate, br, zstd) that does not decode",
    "robots": "refused by the site's robots.txt (not requested)",
    "dns": "the host name does not resolve",
    "connection": "connection refused, reset or lost, or TLS failed",
    "http_error": "a server error (5xx, 408) after the retries",
    "rate_limited": "HTTP 429 after the retries",
    "blocked": "a block page (Cloudflare challenge or rate-limit page)",
    "duplicate": "dropped by the duplicate filter (its address was already asked in the run)",
    "not_reached": "the crawl ended (blocked, stopped, limits) before the seed was answered",
    "spider_error": "the spider failed on the answer (a bug: see the log)",
    "ignored": "another refusal by a downloader middleware",
    "error": "any other download error",
}
# request kinds whose failure is the seed's (or discovered portal's) own; the rest are followed
OWN_KINDS = ("seed", "discovered")


class CrawlRefusal(IgnoreRequest):
    """A request given up on purpose, with its reason word (an IgnoreRequest: Scrapy does not
    log it as an error; the errback records it)."""

    reason = "ignored"


class RedirectLoop(CrawlRefusal):
    reason = "redirect_loop"


class BodyTooLarge(CrawlRefusal):
    reason = "too_large"


class BodyDecodeError(CrawlRefusal):
    reason = "decode_error"


def _names(exc: BaseException) -> set[str]:
    """Class names of an exception and of the exceptions it wraps (Twisted wraps reasons)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    for inner in getattr(exc, "reasons", None) or []:  # twisted ResponseFailed
        value = getattr(inner, "value", inner)
        names |= {cls.__name__ for cls in type(value).__mro__}
    cause = exc.__cause__ or exc.__context__
    if cause is not None and cause is not exc:
        names |= {cls.__name__ for cls in type(cause).__mro__}
    return names


def classify_failure(exc: BaseException, max_size: int | None = None,
                     timeout: float | None = None) -> tuple[str, str]:
    """(reason, detail) for a download error. The detail is never empty."""
    text = str(exc).strip()
    names = _names(exc)
    if isinstance(exc, CrawlRefusal):
        return exc.reason, text or exc.reason.replace("_", " ")
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in text:
            return "robots", "forbidden by robots.txt"
        if "max redirections" in text:
            return "too_many_redirects", text
        if "DOWNLOAD_MAXSIZE" in text:
            return "too_large", text
        return "ignored", text or "ignored by a downloader middleware"
    if names & {"DownloadTimeoutError", "TimeoutError", "TCPTimedOutError"}:
        return "timeout", text or (f"no answer within {timeout:g} s" if timeout else
                                   "timed out")
    if "DownloadCancelledError" in names or "CancelledError" in names:
        if text:
            return "too_large", text
        limit = f" ({max_size} bytes)" if max_size else ""
        return "too_large", (f"the body passed DOWNLOAD_MAXSIZE{limit} while downloading "
                             "(the server sent no Content-Length); download cancelled")
    if names & {"ResponseDataLossError", "_DataLoss", "PotentialDataLoss"}:
        return "truncated", text or "the connection closed before the whole body arrived"
    if names & {"CannotResolveHostError", "DNSLookupError"}:
        return "dns", text or "the host name does not resolve"
    if names & {"DownloadConnectionRefusedError", "ConnectionRefusedError", "ConnectError",
                "ConnectionDone", "ConnectionLost", "ConnectionResetError",
                "ResponseNeverReceived", "DownloadFailedError", "TunnelError", "SSLError",
                "ConnectingCancelledError"}:
        return "connection", text or type(exc).__name__
    return "error", f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def answer_failure(status: int | None, doc_type: str | None,
                   retry_codes: Iterable[int]) -> tuple[str, str] | None:
    """When an answer that arrived is still a failure of the request: (reason, detail)."""
    if status == 429:
        return "rate_limited", "HTTP 429 after the retries"
    if doc_type == "blocked":
        return "blocked", f"block page (HTTP {status})"
    if status is not None and (status >= 500 or status in set(retry_codes)):
        return "http_error", f"HTTP {status} after the retries"
    if doc_type == "truncated":
        return "truncated", "page cut short (no end of document)"
    return None


@dataclass
class SeedLedger:
    """What happened to each seed (and discovered portal) of one run.

    A seed counts as failed when its own request failed (or was never answered); otherwise as
    fetched. Failures of requests followed from a seed (a capture, a file) are counted apart.
    """

    own_failed: dict[str, str] = field(default_factory=dict)  # key -> first reason
    fetched: set[str] = field(default_factory=set)  # keys with a stored, non-failed answer
    ok_urls: set[str] = field(default_factory=set)  # addresses answered without failure
    failures: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)

    def record_failure(self, key: str | None, kind: str, reason: str) -> None:
        self.failures += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1
        if key is not None and kind in OWN_KINDS:
            self.own_failed.setdefault(key, reason)

    def record_fetch(self, key: str | None, urls: Iterable[str | None]) -> None:
        if key is not None:
            self.fetched.add(key)
        self.ok_urls.update(u for u in urls if u)

    def unanswered(self, seeds: Iterable[str]) -> list[str]:
        """Seeds with neither a fetch nor a failure of their own: not reached."""
        return [s for s in dict.fromkeys(seeds)
                if s not in self.own_failed and s not in self.fetched]

    def totals(self, seeds: Iterable[str]) -> dict[str, int]:
        seeds = list(dict.fromkeys(seeds))
        failed = sum(1 for s in seeds if s in self.own_failed)
        return {"seeds": len(seeds), "seeds_failed": failed,
                "seeds_fetched": len(seeds) - failed, "failures": self.failures}

    def resolved_keys(self) -> set[str]:
        """Keys fetched in this run without a failure of their own request."""
        return self.fetched - set(self.own_failed)


def request_key(meta: dict[str, Any]) -> tuple[str | None, str]:
    """(seed key, kind) a request carries: kind seed/discovered for the seed's own request,
    followed for anything fetched from its answers."""
    return meta.get("crawl_seed"), meta.get("crawl_kind") or "followed"
