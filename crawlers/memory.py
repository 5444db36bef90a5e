"""What a spider may know about earlier runs, through one small interface.

Spiders only fetch; they never open the database. What they need from earlier runs (URLs
already archived, seeds that failed, cursors remembered by the last finished run, ETags, the
archived bytes to go on from after a 304) comes through a `CrawlMemory`. Which implementation
is used is a setting (`CRAWL_MEMORY`, an import path, like `ITEM_PIPELINES`): the store's
(`alpr_inventory.store.crawl_memory.DatabaseMemory`) for real crawls, `NoMemory` (a first run)
when none is configured, so the crawlers never import the application package.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class CrawlMemory(Protocol):
    def failed_seeds(self, spider: str) -> list[str]:
        """Seeds of this spider with a failure no later run answered, oldest first."""
        ...

    def archived_urls(self, like: str | None = None) -> set[str]:
        """URLs fetched with a 2xx answer (optionally only those matching a LIKE pattern)."""
        ...

    def urls_with_status(self, statuses: Iterable[int]) -> set[str]:
        """URLs whose fetch answered with one of these HTTP statuses."""
        ...

    def state(self, spider: str, scope: str, key: str) -> str | None:
        """A value the last finished run of this spider remembered (a cursor, a date)."""
        ...

    def validators(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) of the newest 200 answer from the URL."""
        ...

    def archived_body(self, url: str) -> bytes | None:
        """The bytes of the newest 2xx answer from the URL (to go on from a 304)."""
        ...

    def council_matters_read(self) -> set[tuple[str, int]]:
        """(client, matter id) of Legistar matters whose whole record an earlier run read."""
        ...


class NoMemory:
    """A first run: nothing archived, nothing failed, nothing remembered."""

    def failed_seeds(self, spider: str) -> list[str]:
        return []

    def archived_urls(self, like: str | None = None) -> set[str]:
        return set()

    def urls_with_status(self, statuses: Iterable[int]) -> set[str]:
        return set()

    def state(self, spider: str, scope: str, key: str) -> str | None:
        return None

    def validators(self, url: str) -> tuple[str | None, str | None]:
        return None, None

    def archived_body(self, url: str) -> bytes | None:
        return None

    def council_matters_read(self) -> set[tuple[str, int]]:
        return set()


def memory_from_settings(settings: Any) -> CrawlMemory:
    """The memory the crawl's settings name (`CRAWL_MEMORY`: an import path of a class
    built from the settings), else NoMemory."""
    path = settings.get("CRAWL_MEMORY") if settings is not None else None
    if not path:
        return NoMemory()
    from scrapy.utils.misc import load_object

    return load_object(path).from_settings(settings)
