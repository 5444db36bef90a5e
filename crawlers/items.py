"""What the spiders yield: a fetched document (plus the parse the spider already did), or a
request that failed (the archive pipeline records both, and accounts for every seed)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from parsers.model import PortalPage


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FetchedDocument:
    """One answer as the spider saw it (the pipeline hands it to the store as a fetch)."""

    body: bytes
    url: str  # the address the source lists (the portal), before redirects
    source: str  # the spider
    fetched_at: str
    captured_at: str
    captured_at_basis: str  # fetch | memento
    fetched_from: str | None = None  # where the bytes came from (after redirects)
    http_status: int | None = None
    content_type: str | None = None
    requested_slug: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class DocumentItem:
    fetched: FetchedDocument
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
