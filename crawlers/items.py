"""What the spiders yield: a fetched document (plus the parse the spider already did), or a
request that failed (the archive pipeline records both, and accounts for every seed)."""

from __future__ import annotations

from dataclasses import dataclass

from alpr_inventory.ingest import Fetched
from parsers.model import PortalPage


@dataclass
class DocumentItem:
    fetched: Fetched
    page: PortalPage | None = None  # reused by the pipeline so a page is parsed once
    seed: str | None = None  # the seed this answer serves (set by SeedMiddleware)
    seed_kind: str = "followed"  # seed / discovered: the seed's own answer; else followed
    attempts: int = 1  # times the request was sent (retries included)


@dataclass
class CrawlFailure:
    """A request that ended without a usable answer (see crawlers/failures.py for reasons)."""

    url: str
    reason: str
    detail: str
    seed: str | None = None
    seed_kind: str = "followed"
    http_status: int | None = None
    attempts: int = 1
