"""Every spider, what it crawls, what it needs and how politely: one table, no Scrapy imports.

`alpr-inventory crawl --help` is built from this table (so help never loads Scrapy), and each
spider reads its live-site limits from here (`crawl_settings` applies them to live hosts and
drops them for a local replay on 127.0.0.1).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass


@dataclass(frozen=True)
class PoliteLimits:
    """Pacing for a live site: the tightest of the site's published limit and ours."""

    delay_s: float  # seconds between requests to one host (AutoThrottle may raise it)
    concurrency: int = 1  # requests in flight per host
    note: str = ""  # the site's own published limit, in words

    def describe(self) -> str:
        per_min = 60.0 / self.delay_s if self.delay_s else float("inf")
        rate = f"<= {per_min:.0f}/min" if per_min >= 1 else f"<= {per_min * 60:.0f}/hour"
        text = f"{self.concurrency} at a time, >= {self.delay_s:g} s apart ({rate})"
        return f"{text}; {self.note}" if self.note else text


@dataclass(frozen=True)
class SpiderInfo:
    command: str  # `alpr-inventory crawl <command>`
    name: str  # Scrapy spider name (runs.command)
    spider: str  # module:Class
    source: str  # what it crawls
    needs: str  # credentials or inputs
    limits: PoliteLimits


COMMON = ("robots.txt obeyed, AutoThrottle, backoff on 429/503 honouring Retry-After")

SPIDERS: tuple[SpiderInfo, ...] = (
    SpiderInfo(
        "flock-portals", "flock_portals", "crawlers.spiders.flock_portals:FlockPortalsSpider",
        "Flock transparency portals (transparency.flocksafety.com/<slug>); live mode through "
        "the system Chromium because Cloudflare challenges plain HTTP clients.",
        "nothing (no token); slugs or a seed file",
        PoliteLimits(10.0, 1, "stops after 5 block pages in a row")),
    SpiderInfo(
        "ice-287g", "ice_287g", "crawlers.spiders.documents:Ice287gSpider",
        "ICE's 287(g) page: participating and pending agencies spreadsheets (every run) and the "
        "signed MOA PDFs not yet archived.",
        "nothing",
        PoliteLimits(10.0, 1)),
    SpiderInfo(
        "muckrock", "muckrock", "crawlers.spiders.muckrock:MuckRockSpider",
        "MuckRock API v2: requests matching ALPR / Flock / Nlets / DMV / 287(g) terms, their "
        "communications and released files.",
        "MUCKROCK_USERNAME and MUCKROCK_PASSWORD for a token (optional: public requests are "
        "read without one); the token is refreshed when it expires",
        PoliteLimits(4.0, 1, "MuckRock allows 15 requests/minute")),
    SpiderInfo(
        "nextrequest", "nextrequest", "crawlers.spiders.nextrequest:NextRequestSpider",
        "NextRequest records portals (<tenant>.nextrequest.com or a custom domain): requests "
        "matching the terms and their released documents.",
        "tenant names (oaklandca, lacity, ...) or portal URLs",
        PoliteLimits(6.0, 1, "an HTTP-200 'Retry later' answer is throttling: backed off")),
    SpiderInfo(
        "documentcloud", "documentcloud", "crawlers.spiders.documentcloud:DocumentCloudSpider",
        "DocumentCloud search API: public documents matching the terms, their PDFs and text.",
        "nothing (anonymous search)",
        PoliteLimits(120.0, 1, "anonymous use is limited to about 30 calls/hour")),
    SpiderInfo(
        "legistar", "legistar", "crawlers.spiders.legistar:LegistarSpider",
        "Legistar Web API (webapi.legistar.com/v1/<client>): council matters and agenda items "
        "about Flock, plate readers, 287(g), Nlets or data sharing, attachments and votes.",
        "client names (sanjose, ...; --clients-file reads the corpus's list of 208 "
        "clients); LEGISTAR_TOKEN for clients that need one",
        PoliteLimits(2.0, 1, "no published limit; 1000 rows per page")),
    SpiderInfo(
        "documents", "documents", "crawlers.spiders.documents:DocumentsSpider",
        "Agency and state DMV sites from seed URLs: same-site links about ALPR policies, Flock "
        "contracts, data-sharing / DMV agreements and 287(g) MOAs; downloads the documents.",
        "seed URLs",
        PoliteLimits(10.0, 1, "bounded by --max-depth and --max-documents")),
)
BY_NAME = {s.name: s for s in SPIDERS}


def limits_for(spider_name: str) -> PoliteLimits:
    info = BY_NAME.get(spider_name)
    return info.limits if info else PoliteLimits(10.0, 1)


def crawl_help() -> str:
    """The spider table as `crawl --help` shows it."""
    lines = ["Run a spider. Every response is archived; facts go into the database.", "",
             "\b", "Spiders:"]
    for s in SPIDERS:
        lines.append(f"  {s.command}")
        for label, text in (("Source:", s.source), ("Needs: ", s.needs),
                            ("Limits:", s.limits.describe())):
            lines += textwrap.wrap(text, 76, initial_indent=f"    {label} ",
                                   subsequent_indent=" " * 12)
    lines += ["", f"Every spider: {COMMON}; an honest User-Agent with your --contact (or "
              "ALPR_CONTACT), required for live sites. Re-runs are incremental: only what "
              "changed since the last finished run is asked for, and a file already archived "
              "is never downloaded again (--full ignores the remembered dates, not the archive). "
              "Every seed ends as a fetch or a row in crawl_failures (why: timeout, "
              "redirect_loop, too_large, robots, ...); the next run crawls the failed seeds "
              "again (--no-retry: it does not)."]
    return "\n".join(lines)
