"""DocumentCloud: public documents matching the terms, with their PDFs and full text.

For each term the spider asks the documents search
(`{base}documents/search/?q=...&per_page=25&order=created_at&expand=organization&version=2.0`),
follows `next` (cursor pagination) and archives every answer. Each public, processed result
(access public, status success or readable) not already archived has its PDF and its text
(`<asset_url>documents/<id>/<slug>.pdf` and `.txt`) downloaded; the other results are only
recorded from the listing (the parser keeps access and status). A PDF that now answers 403 or
404 is recorded by its fetch (released_documents: not_public / missing).

Incremental: the newest `updated_at` seen for a term is remembered once that term's listing
was walked to its end; the next run asks only for documents updated since then with
DocumentCloud's range filter (`updated_at=[<date> TO *]`, also accepted inside `q`). The
search cannot sort by updated_at (only score, created_at, page_count, title, source, id), so
the spider sorts by creation date and, as a guard against a server that ignored the filter,
stops paging a term when a whole page is older than the cursor.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urljoin

import scrapy
from scrapy.http import Response

from crawlers.spiders.base import SourceSpider
from parsers.records.documentcloud import GONE_STATUSES, is_downloadable
from parsers.records.documentcloud import parse_response as parse_documentcloud

DEFAULT_BASE = "https://api.www.documentcloud.org/api/"
PER_PAGE = 25  # the most an anonymous search returns per page
CURSOR_KEY = "updated_since"


def instant(value: str | None) -> datetime | None:
    """An ISO date or date-time as an aware datetime (dates are midnight UTC)."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def solr_datetime(when: datetime) -> str:
    """The only date form DocumentCloud's search accepts: YYYY-MM-DDThh:mm:ss[.f]Z (UTC)."""
    when = when.astimezone(UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond:06d}".rstrip("0")
    return text + "Z"


def search_query(term: str) -> str:
    """A term as DocumentCloud query text: phrases and terms with Lucene specials quoted,
    so "license plate reader" is one phrase and "287(g)" is not a syntax error."""
    term = term.strip().replace('"', "")
    if any(c in term for c in ' ()[]{}:^~*?!+-&|/\\'):
        return f'"{term}"'
    return term


class DocumentCloudSpider(SourceSpider):
    name = "documentcloud"
    source_description = "DocumentCloud search API: public documents, their PDFs and text"

    def __init__(self, base_url: str = DEFAULT_BASE, terms: Iterable[str] | str = (),
                 since: str | None = None, max_documents: int = 200, **kwargs: Any):
        super().__init__(base_url=base_url or DEFAULT_BASE, **kwargs)
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        if isinstance(terms, str):
            terms = terms.split(",")
        self.terms = [t.strip() for t in terms if t and t.strip()]
        self.since = instant(since) if since else None
        if since and self.since is None:
            raise ValueError(f"--since is not an ISO date: {since!r}")
        self.max_documents = int(max_documents)
        self.downloads = 0  # documents (PDF + text) asked for in this run
        self.archived: set[str] = set()
        # per term: the cursor used, the newest updated_at seen, whether the listing was cut
        self.cursors: dict[str, datetime | None] = {}
        self.remembered: dict[str, datetime | None] = {}
        self.newest: dict[str, tuple[datetime, str]] = {}
        self.cut: set[str] = set()
        self.counts.update({"searches": 0, "listed": 0, "downloaded": 0, "text_downloaded": 0,
                            "skipped_archived": 0, "not_listed_public": 0, "deleted": 0,
                            "not_public": 0, "missing": 0, "throttled": 0,
                            "older_than_cursor": 0, "over_limit": 0})

    # ---- searches ---------------------------------------------------------------------
    def search_url(self, term: str, cursor: datetime | None) -> str:
        params = {"q": search_query(term), "per_page": str(PER_PAGE), "order": "created_at",
                  "expand": "organization", "version": "2.0"}
        if cursor is not None:
            params["updated_at"] = f"[{solr_datetime(cursor)} TO *]"
        return f"{self.base_url}documents/search/?{urlencode(params)}"

    async def start(self) -> AsyncIterator[scrapy.Request]:
        # assets already archived are never downloaded again (also with --full)
        self.archived = self.archived_urls("%/documents/%")
        self.terms = self.run_seeds = self.with_retries(self.terms)
        for term in self.terms:
            remembered = instant(self.state(term, CURSOR_KEY))
            self.remembered[term] = remembered
            self.cursors[term] = self.since or remembered
            request = self.request(self.search_url(term, self.cursors[term]), self.parse_search,
                                   term=term)
            self.mark_seed(request, term)
            if request is not None:
                yield request

    def parse_search(self, response: Response) -> Iterable[Any]:
        term = response.meta["term"]
        yield self.document(response)
        self.counts["searches"] += 1
        page = parse_documentcloud(response.body, response.url)
        if response.status != 200 or page is None or page.throttled:
            # blocked, throttled past the retries, or not the API: this term's listing is
            # incomplete, so its cursor does not move
            if response.status == 429 or (page is not None and page.throttled):
                self.counts["throttled"] += 1
                if response.status != 429:  # a 429 is recorded by the pipeline
                    yield self.failed_answer(response, "rate_limited",
                                             "a throttling answer after the retries")
            self.logger.warning("search for %r answered HTTP %s%s", term, response.status,
                                "" if page else " (not a DocumentCloud answer)")
            self.cut.add(term)
            return
        cursor = self.cursors.get(term)
        current = 0
        for listed in page.files:
            self.counts["listed"] += 1
            updated_text = listed.extra.get("updated_at")
            updated = instant(updated_text)
            if cursor is not None and updated is not None and updated < cursor:
                self.counts["older_than_cursor"] += 1
                continue
            current += 1
            if updated is not None and (term not in self.newest
                                        or updated > self.newest[term][0]):
                self.newest[term] = (updated, updated_text)
            yield from self.fetch_assets(term, listed)
        if page.next_url and (current or not page.files) and term not in self.cut:
            request = self.request(urljoin(response.url, page.next_url), self.parse_search,
                                   term=term)
            if request is not None:
                yield request
                return
        self.finish_term(term)

    def fetch_assets(self, term: str, listed: Any) -> Iterable[scrapy.Request]:
        """The PDF and text of a public document, unless archived or over the limit."""
        status = listed.extra.get("status")
        result = {"access": listed.extra.get("access"), "status": status}
        if not is_downloadable(result):
            self.counts["deleted" if status in GONE_STATUSES else "not_listed_public"] += 1
            return
        urls = [(url, kind) for url, kind in ((listed.url, "pdf"),
                                              (listed.extra.get("text_url"), "txt")) if url]
        wanted = [(url, kind) for url, kind in urls if url not in self.archived]
        self.counts["skipped_archived"] += len(urls) - len(wanted)
        # listed again under another term in this run: already asked for
        wanted = [(url, kind) for url, kind in wanted if url not in self.seen]
        if not wanted:
            return
        if self.downloads >= self.max_documents:
            self.counts["over_limit"] += 1
            self.cut.add(term)  # not fetched: the cursor must not pass this document
            return
        self.downloads += 1
        for url, kind in wanted:
            request = self.request(url, self.parse_asset, listed_url=url, asset=kind,
                                   document_id=listed.file_id)
            if request is not None:
                yield request

    def parse_asset(self, response: Response) -> Iterable[Any]:
        yield self.document(response, url=response.meta["listed_url"])
        kind = response.meta["asset"]
        # not_public: taken down or made private since it was listed
        self.file_outcome(response, "downloaded" if kind == "pdf" else "text_downloaded")
        self.logger.debug("document %s %s: HTTP %s", response.meta["document_id"], kind,
                          response.status)

    def finish_term(self, term: str) -> None:
        """The whole listing of a term was read: remember its newest update for the next run
        (never earlier than what an earlier run remembered)."""
        if term in self.cut or term not in self.newest:
            return
        when, text = self.newest[term]
        before = self.remembered.get(term)
        if before is None or when > before:
            self.remember(term, CURSOR_KEY, text)
