"""The store's side of `crawlers.memory.CrawlMemory`: what spiders know about earlier runs,
read from the inventory database (read-only) and the archive. Named by the crawl settings
(`CRAWL_MEMORY`), so the crawlers never import this package."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

from alpr_inventory.settings import archive_dir_for
from alpr_inventory.store.archive import Archive


class DatabaseMemory:
    """Each question opens the database read-only (nothing before the first run)."""

    def __init__(self, db_path: str | None):
        self.db_path = db_path

    @classmethod
    def from_settings(cls, settings: Any) -> DatabaseMemory:
        return cls(settings.get("ALPR_DB"))

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        if not self.db_path or not Path(self.db_path).exists():
            return []
        with closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)) as conn:
            try:
                return conn.execute(sql, list(args)).fetchall()
            except sqlite3.OperationalError:  # a database from before this table
                return []

    def failed_seeds(self, spider: str) -> list[str]:
        return [r[0] for r in self._rows(
            "select seed from crawl_failures where spider = ? and seed is not null and "
            "resolved_run_id is null group by seed order by min(id)", [spider])]

    def archived_urls(self, like: str | None = None) -> set[str]:
        sql = "select distinct url from fetches where http_status between 200 and 299"
        return {r[0] for r in self._rows(sql + " and url like ?" if like else sql,
                                         [like] if like else [])}

    def urls_with_status(self, statuses: Iterable[int]) -> set[str]:
        codes = list(statuses)
        marks = ", ".join("?" for _ in codes)
        return {r[0] for r in self._rows(
            f"select distinct url from fetches where http_status in ({marks})", codes)}

    def state(self, spider: str, scope: str, key: str) -> str | None:
        rows = self._rows("select value from crawl_state where spider = ? and scope = ? and "
                          "key = ?", [spider, scope, key])
        return rows[0][0] if rows else None

    def validators(self, url: str) -> tuple[str | None, str | None]:
        rows = self._rows("select etag, last_modified from fetches where url = ? and "
                          "http_status = 200 order by id desc limit 1", [url])
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def archived_body(self, url: str) -> bytes | None:
        rows = self._rows("select sha256 from fetches where url = ? and http_status between "
                          "200 and 299 order by id desc limit 1", [url])
        if not rows or not self.db_path:
            return None
        try:
            return Archive(archive_dir_for(self.db_path)).get(rows[0][0])
        except (OSError, ValueError):
            return None

    def council_matters_read(self) -> set[tuple[str, int]]:
        return {(r[0], r[1]) for r in self._rows(
            "select client, matter_id from council_matters where last_modified is not null")}
