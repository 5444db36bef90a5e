"""Shards: split one crawl's seeds over several machines so that each host has one crawler.

Politeness is per host (AutoThrottle, delays, robots.txt, 429 backoff all live in one Scrapy
process), so a seed list is split by host, never by seed: shard `I/N` crawls the seeds whose
host hashes to I. Every seed lands in exactly one shard, and every seed of a host lands in the
same one, on every machine (SHA-256 of the lower-cased host name, not Python's `hash()`, which
changes from process to process). The Flock portals all live on transparency.flocksafety.com:
all of them go to one shard, which keeps the one-request-at-a-time pacing; sources spread over
many hosts (records portals, agency sites) spread over the shards.

The host is the name without the port, as Scrapy's download slots count it (two ports of one
machine are one host). A seed that is not an address (a search term, an API client name) belongs
to the host of the spider's base URL. Requests a spider follows from a seed stay with the seed's
shard wherever they go (a released file on a CDN is fetched by the node that crawled its portal).

No Scrapy imports: the CLI and the tests use this without loading Scrapy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (1-based: 1/2 and 2/2 are the two halves)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def holds(self, host: str) -> bool:
        return shard_of(host, self.count) == self.index


def parse_shard(value: str | Shard | None) -> Shard | None:
    """'I/N' -> Shard(I, N); None or '' -> None (no sharding). ValueError says what is wrong."""
    if value is None or isinstance(value, Shard):
        return value
    text = str(value).strip()
    if not text:
        return None
    index, sep, count = text.partition("/")
    if not sep or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError(f"a shard is written I/N (e.g. 1/3, the first of three), not {text!r}")
    shard = Shard(int(index), int(count))
    if not 1 <= shard.index <= shard.count:
        raise ValueError(f"shard {text}: I must be between 1 and N")
    return shard


def host_of(url: str) -> str:
    """The host name of an address, lower-case, without port or user (empty if none)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def shard_of(host: str, count: int) -> int:
    """Which of `count` shards (1-based) crawls `host`: the same answer on every machine."""
    digest = hashlib.sha256(host.lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def split(items: Iterable[T], shard: Shard | None, host: Callable[[T], str]) -> list[T]:
    """The items of this shard, in their order (all of them without a shard)."""
    items = list(items)
    if shard is None:
        return items
    return [item for item in items if shard.holds(host(item))]
