"""What every document and records-portal spider shares: fetch, hand on, remember, be polite.

A spider here only fetches. Each response becomes a `DocumentItem`; the archive pipeline
recognises the document by its content and loads its facts. What a spider needs to know about
earlier runs (files already archived, the newest date it saw, ETags) it reads from the database
at start, read-only; what it wants remembered (`remember`) is written by the pipeline only when
the run finishes, so a crashed run never moves the cursor past what it did not fetch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import scrapy
from scrapy.http import Response

from alpr_inventory.ingest import Fetched, utc_now
from crawlers.items import DocumentItem

# statuses a spider sees itself (the others are retried or dropped by Scrapy)
HANDLED_STATUSES = [301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 410, 429, 500, 502, 503, 504]


def response_headers(response: Response) -> dict[str, str]:
    return {k.decode("latin-1").lower(): b", ".join(v).decode("latin-1")
            for k, v in response.headers.items()}


class SourceSpider(scrapy.Spider):
    """Base for the document spiders: request bookkeeping, documents, incremental state."""

    source_description = ""

    def __init__(self, base_url: str = "", browser: bool = False, full: bool = False,
                 **kwargs: Any):
        super().__init__(**kwargs)
        self.base_url = base_url
        self.browser = bool(browser)
        self.full = bool(full) and str(full).lower() not in ("0", "false", "no")
        self.seen: set[str] = set()
        self.pending_state: dict[tuple[str, str], str] = {}
        self.counts = {"pages": 0, "portals": 0, "blocked": 0, "not_found": 0, "errors": 0,
                       "discovered": 0}

    # ---- requests ---------------------------------------------------------------------
    def request(self, url: str, callback: Any, *, dedupe: bool = True,
                headers: dict[str, str] | None = None, method: str = "GET",
                body: bytes | str | None = None, follow_redirects: bool = True,
                **meta: Any) -> scrapy.Request | None:
        """A request (None when this run already asked for the URL). Every status reaches the
        callback, so a 404 or 403 is recorded, not dropped."""
        if dedupe:
            if url in self.seen:
                return None
            self.seen.add(url)
        if follow_redirects:  # RedirectMiddleware passes on any status listed here
            meta["handle_httpstatus_list"] = [s for s in HANDLED_STATUSES
                                              if s not in (301, 302, 303, 307, 308)]
        else:
            meta["handle_httpstatus_list"] = HANDLED_STATUSES
            meta["dont_redirect"] = True
        if self.browser:
            meta["playwright"] = True
        return scrapy.Request(url, callback=callback, errback=self.on_error, meta=meta,
                              headers=headers, method=method, body=body, dont_filter=True)

    def document(self, response: Response, url: str | None = None) -> DocumentItem:
        """The response as a document. `url` is the address the source lists (the fetch's url);
        where the bytes actually came from (after redirects) is kept as fetched_from."""
        self.counts["pages"] += 1
        if response.status in (404, 410):
            self.counts["not_found"] += 1
        elif response.status in (401, 403, 429, 503):
            self.counts["blocked"] += 1
        now = utc_now()
        headers = response_headers(response)
        first = (response.meta.get("redirect_urls") or [response.url])[0]
        return DocumentItem(Fetched(
            body=response.body, url=url or first, fetched_from=response.url, source=self.name,
            fetched_at=now, captured_at=now, captured_at_basis="fetch",
            http_status=response.status, content_type=headers.get("content-type"),
            headers=headers))

    def file_outcome(self, response: Response, downloaded_key: str = "downloaded") -> str:
        """Count a released file's download by what the server said: downloaded, not_public
        (401/403: taken down or private), missing (404/410) or failed (anything else: worth
        asking again next run). The same words as released_documents.download_status."""
        status = response.status
        outcome = ("downloaded" if 200 <= status < 300 else "not_public" if status in (401, 403)
                   else "missing" if status in (404, 410) else "failed")
        key = downloaded_key if outcome == "downloaded" else outcome
        self.counts[key] = self.counts.get(key, 0) + 1
        return outcome

    def links(self, response: Response) -> Iterable[tuple[str, str]]:
        """(absolute URL, link text) for every link on an HTML page."""
        if b"<" not in response.body[:2048]:
            return []
        out = []
        for a in response.css("a[href]"):
            href = a.attrib.get("href", "").strip()
            if href and not href.startswith(("mailto:", "javascript:", "#")):
                out.append((urljoin(response.url, href),
                            " ".join(a.css("::text").getall()).strip()))
        return out

    def on_error(self, failure: Any) -> None:
        self.counts["errors"] += 1
        self.logger.error("request failed: %s (%s)", failure.request.url, failure.value)

    # ---- what earlier runs left -------------------------------------------------------
    def _db(self) -> sqlite3.Connection | None:
        db_path = self.settings.get("ALPR_DB") if hasattr(self, "settings") else None
        if not db_path or not Path(db_path).exists():
            return None
        return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)

    def archived_urls(self, like: str | None = None) -> set[str]:
        """URLs already fetched with a 2xx answer: their files are never downloaded again."""
        conn = self._db()
        if conn is None:
            return set()
        with closing(conn):
            sql = "select distinct url from fetches where http_status between 200 and 299"
            args: list[Any] = []
            if like:
                sql += " and url like ?"
                args.append(like)
            return {row[0] for row in conn.execute(sql, args)}

    def state(self, scope: str, key: str) -> str | None:
        """A value remembered by the last finished run (None with --full or on a first run)."""
        if self.full:
            return None
        conn = self._db()
        if conn is None:
            return None
        with closing(conn):
            row = conn.execute("select value from crawl_state where spider = ? and scope = ? "
                               "and key = ?", [self.name, scope, key]).fetchone()
        return row[0] if row else None

    def remember(self, scope: str, key: str, value: str, newest: bool = True) -> None:
        """Keep a value for the next run (written when this run finishes). With newest=True
        the larger of the values given in this run wins (ISO dates compare as text)."""
        old = self.pending_state.get((scope, key))
        if newest and old is not None and old >= value:
            return
        self.pending_state[(scope, key)] = value

    def archived_body(self, url: str) -> bytes | None:
        """The bytes of the newest 2xx fetch of the URL (to go on from a 304 answer)."""
        conn = self._db()
        if conn is None:
            return None
        with closing(conn):
            row = conn.execute("select sha256 from fetches where url = ? and http_status "
                               "between 200 and 299 order by id desc limit 1", [url]).fetchone()
        if not row:
            return None
        from alpr_inventory.archive import Archive
        from alpr_inventory.settings import archive_dir_for

        try:
            return Archive(archive_dir_for(self.settings.get("ALPR_DB"))).get(row[0])
        except (OSError, ValueError):
            return None

    def conditional_headers(self, url: str) -> dict[str, str]:
        """If-None-Match / If-Modified-Since from the newest fetch of the URL (none with --full)."""
        if self.full:
            return {}
        conn = self._db()
        if conn is None:
            return {}
        with closing(conn):
            row = conn.execute("select etag, last_modified from fetches where url = ? and "
                               "http_status = 200 order by id desc limit 1", [url]).fetchone()
        headers = {}
        if row and row[0]:
            headers["If-None-Match"] = row[0]
        if row and row[1]:
            headers["If-Modified-Since"] = row[1]
        return headers
