"""MuckRock API v2: requests about ALPR / Flock / Nlets / DMV data / 287(g), and their files.

For each search term: ``requests/?search=<term>&ordering=-datetime_updated`` (newest change
first, following DRF's ``next``) until a request is no newer than the cursor (the newest
``datetime_updated`` the last finished run saw for the term, or --since). Each request updated
since then whose title or text matches the tracked terms, and that is public (not embargoed), is
followed: ``communications/?foia=<id>``, then ``files/?communication=<id>`` for communications
with files, then each file's ``ffile`` (unless the archive already holds that URL).

Every API answer is archived; token answers never are (they hold secrets), and neither is a 401
that a fresh token answered. Credentials (MUCKROCK_USERNAME / MUCKROCK_PASSWORD) are optional:
with them the spider asks accounts.muckrock.com for a bearer token (valid five minutes), and on
a 401 refreshes it (or logs in again) and retries that request once. The token only goes to the
API (URLs under --base-url), never to the CDN the files come from.

A term's cursor moves only when everything the run followed for it got an answer: a request
whose communications or files failed (network error, 5xx, exhausted 429 retries), or that
--max-requests left out, keeps the term's cursor where it was, so the next run asks again.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.http import Response

from crawlers.spiders.base import SourceSpider
from parsers.records import RecordsPage, RecordsRequest, ReleasedFile, match_terms
from parsers.records.muckrock import communications, parse_datetime, parse_response

DEFAULT_BASE_URL = "https://www.muckrock.com/api_v2/"
DEFAULT_AUTH_URL = "https://accounts.muckrock.com/api/"
PAGE_SIZE = 50
CURSOR_KEY = "updated_since"
# what a request carries over when it is sent again with a fresh token
CARRIED_META = ("api_url", "term", "foia", "crawl_seed", "crawl_kind")
# answers that asking again would not change: the thing is gone or not ours to see
FINAL_STATUSES = (401, 403, 404, 410)


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _cursor_text(when: datetime) -> str:
    """UTC ISO text: remembered values compare as text (SourceSpider.remember)."""
    return when.astimezone(UTC).isoformat()


class MuckRockSpider(SourceSpider):
    name = "muckrock"
    source_description = "MuckRock API v2: matching requests, communications and released files"

    def __init__(self, base_url: str = DEFAULT_BASE_URL, auth_url: str = DEFAULT_AUTH_URL,
                 terms: Iterable[str] | str = (), since: str | None = None,
                 max_requests: int = 500, **kwargs: Any):
        super().__init__(base_url=_with_slash(base_url or DEFAULT_BASE_URL), **kwargs)
        self.auth_url = _with_slash(auth_url or DEFAULT_AUTH_URL)
        self.terms = [t for t in (terms.split(",") if isinstance(terms, str) else terms) if t]
        self.since = parse_datetime(since) if since else None
        if since and self.since is None:
            raise ValueError(f"--since is not a date: {since!r}")
        self.max_requests = int(max_requests)
        self.username = os.environ.get("MUCKROCK_USERNAME") or None
        self.password = os.environ.get("MUCKROCK_PASSWORD") or None
        self.access_token: str | None = None
        self.refresh_token: str | None = None
        self.token_generation = 0  # bumped on every new token (or on falling back to none)
        self.refreshing = False
        self.waiting: list[tuple[str, Callable[..., Any], dict[str, Any]]] = []
        self.searches_started = False
        self.archived: set[str] = set()
        self.followed: set[int] = set()
        self.failed: set[int] = set()
        self.terms_of: dict[int, set[str]] = {}
        self.newest: dict[str, datetime] = {}
        self.incomplete: set[str] = set()
        for key in ("requests_listed", "followed", "not_relevant", "embargoed", "over_limit",
                    "files_listed", "downloaded", "skipped_archived", "not_public", "missing",
                    "no_file_url", "token_refreshed", "token_expired", "auth_failed"):
            self.counts[key] = 0

    # ---- start, tokens ----------------------------------------------------------------
    @property
    def has_credentials(self) -> bool:
        return bool(self.username and self.password)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.archived = self.archived_urls()
        self.terms = self.run_seeds = self.with_retries(self.terms)
        if self.has_credentials:
            self.logger.info("MuckRock: logging in as %s for a bearer token", self.username)
            yield self.token_request("login")
            return
        self.logger.info("MuckRock: no MUCKROCK_USERNAME / MUCKROCK_PASSWORD, reading public "
                         "requests anonymously")
        for request in self.search_requests():
            yield request

    def token_request(self, kind: str) -> scrapy.Request:
        """POST for a token (login) or a fresh one (refresh). The answer is never archived."""
        if kind == "refresh":
            url, payload = self.auth_url + "refresh/", {"refresh": self.refresh_token}
        else:
            url = self.auth_url + "token/"
            payload = {"username": self.username, "password": self.password}
        request = self.request(url, self.on_token, dedupe=False, method="POST",
                               body=json.dumps(payload),
                               headers={"Content-Type": "application/json",
                                        "Accept": "application/json"},
                               token_kind=kind)
        assert request is not None
        request.errback = self.on_token_error
        return request

    def on_token(self, response: Response) -> Iterable[scrapy.Request]:
        kind = response.meta["token_kind"]
        tokens = None
        if response.status == 200:
            try:
                tokens = json.loads(response.body)
            except ValueError:
                tokens = None
        if isinstance(tokens, dict) and tokens.get("access"):
            self.access_token = str(tokens["access"])
            self.refresh_token = str(tokens.get("refresh") or self.refresh_token or "") or None
            self.token_generation += 1
            if kind == "refresh":
                self.counts["token_refreshed"] += 1
            self.logger.info("MuckRock: %s gave a token", kind)
            yield from self.after_token()
            return
        if kind == "refresh" and self.has_credentials:
            self.logger.info("MuckRock: refresh refused (HTTP %s), logging in again",
                             response.status)
            self.refresh_token = None
            yield self.token_request("login")
            return
        yield from self.give_up_token(f"HTTP {response.status}")

    def on_token_error(self, failure: Any) -> Iterable[scrapy.Request]:
        self.counts["errors"] += 1
        yield from self.give_up_token(type(failure.value).__name__)

    def give_up_token(self, why: str) -> Iterable[scrapy.Request]:
        self.counts["auth_failed"] += 1
        self.logger.error("MuckRock did not issue a token (%s): continuing anonymously, public "
                          "requests only", why)
        self.access_token = self.refresh_token = None
        self.username = self.password = None  # no further login attempts this run
        self.token_generation += 1
        yield from self.after_token()

    def after_token(self) -> Iterable[scrapy.Request]:
        """Start the searches (first token) and send again what waited for a fresh token."""
        self.refreshing = False
        if not self.searches_started:
            yield from self.search_requests()
        waiting, self.waiting = self.waiting, []
        for url, callback, meta in waiting:
            request = self.api_request(url, callback, dedupe=False, auth_retried=True, **meta)
            if request is not None:
                yield request

    def read_answer(self, response: Response) -> tuple[list[Any], RecordsPage | None, bool]:
        """(what to yield first, the parsed page, resent?). A 401 gives the token request to
        send instead (resent); any other answer is archived under the API URL asked, and
        parsed when it is an HTTP 200."""
        if (instead := self.reauthorise(response)) is not None:
            return instead, None, True
        url = response.meta["api_url"]
        page = parse_response(response.body, url) if response.status == 200 else None
        return [self.document(response, url=url)], page, False

    def reauthorise(self, response: Response) -> list[scrapy.Request] | None:
        """What to send instead of handling a 401 (an expired token); None: handle it."""
        if (response.status != 401 or not self.has_credentials
                or response.meta.get("auth_retried")):
            return None
        self.counts["token_expired"] += 1
        again = (response.meta["api_url"], response.request.callback,
                 {k: response.meta[k] for k in CARRIED_META if k in response.meta})
        if response.meta.get("token_generation", -1) < self.token_generation:
            # sent with a token already replaced: send again with the new one
            url, callback, meta = again
            request = self.api_request(url, callback, dedupe=False, auth_retried=True, **meta)
            return [request] if request is not None else []
        self.waiting.append(again)
        if self.refreshing:
            return []
        self.refreshing = True
        self.logger.info("MuckRock: token expired, refreshing it")
        return [self.token_request("refresh" if self.refresh_token else "login")]

    # ---- API requests -----------------------------------------------------------------
    def api_request(self, url: str, callback: Callable[..., Any], dedupe: bool = True,
                    **meta: Any) -> scrapy.Request | None:
        """A GET to the API, with the bearer token when there is one. `url` may carry a
        #fragment (the parent request of a files/ listing): it is recorded, never sent."""
        meta.pop("api_url", None)  # carried over from the answered request: it is `url`
        headers = {"Accept": "application/json"}
        if self.access_token and url.startswith(self.base_url):  # the token stays with the API
            headers["Authorization"] = f"Bearer {self.access_token}"
        return self.request(url, callback, dedupe=dedupe, headers=headers, api_url=url,
                            token_generation=self.token_generation, **meta)

    def search_requests(self) -> Iterable[scrapy.Request]:
        self.searches_started = True
        for term in self.terms:
            query = urlencode({"search": term, "ordering": "-datetime_updated",
                               "page_size": PAGE_SIZE})
            request = self.api_request(f"{self.base_url}requests/?{query}", self.parse_requests,
                                       term=term)
            self.mark_seed(request, term)
            if request is not None:
                yield request

    def cursor(self, term: str) -> datetime | None:
        if self.since is not None:
            return self.since
        return parse_datetime(self.state(term, CURSOR_KEY))

    def parse_requests(self, response: Response) -> Iterable[Any]:
        first, page, resent = self.read_answer(response)
        yield from first
        if resent:
            return
        term = response.meta["term"]
        if page is None:
            self.logger.warning("MuckRock: no requests listing for %r (HTTP %s)", term,
                                response.status)
            self.term_incomplete(term)
            return
        cursor = self.cursor(term)
        older_seen = False
        for found in page.requests:
            self.counts["requests_listed"] += 1
            updated = parse_datetime(found.updated_at)
            if updated is not None and (term not in self.newest or updated > self.newest[term]):
                self.newest[term] = updated
            if cursor is not None and updated is not None and updated <= cursor:
                older_seen = True  # newest first: whatever follows is older still
                continue
            yield from self.follow(found, term)
        if page.next_url and not older_seen:
            request = self.api_request(page.next_url, self.parse_requests, term=term)
            if request is not None:
                yield request
                return
        self.listing_done(term)

    def follow(self, found: RecordsRequest, term: str) -> Iterable[scrapy.Request]:
        foia = int(found.request_id)
        self.terms_of.setdefault(foia, set()).add(term)
        if foia in self.failed:
            self.term_incomplete(term)
        if not match_terms(found.title, found.request_text):
            self.counts["not_relevant"] += 1
            return
        if found.visibility not in (None, "", "public"):
            self.counts["embargoed"] += 1  # not public: neither its letters nor its files
            return
        if foia in self.followed:
            return
        if len(self.followed) >= self.max_requests:
            self.counts["over_limit"] += 1
            self.term_incomplete(term)  # the next run asks again
            return
        self.followed.add(foia)
        self.counts["followed"] += 1
        query = urlencode({"foia": foia, "page_size": PAGE_SIZE})
        request = self.api_request(f"{self.base_url}communications/?{query}",
                                   self.parse_communications, foia=foia)
        if request is not None:
            yield request

    def parse_communications(self, response: Response) -> Iterable[Any]:
        first, page, resent = self.read_answer(response)
        yield from first
        if resent:
            return
        foia = response.meta["foia"]
        if page is None:
            self.follow_failed(foia, response)
            return
        for file in page.files:  # file objects embedded in a communication (not v2's ids)
            yield from self.download(file, foia)
        for comm in communications(response.body):
            if comm.files or not comm.has_files:
                continue
            query = urlencode({"communication": comm.comm_id, "page_size": PAGE_SIZE})
            request = self.api_request(f"{self.base_url}files/?{query}#foia={foia}",
                                       self.parse_files, foia=foia)
            if request is not None:
                yield request
        if page.next_url:
            request = self.api_request(page.next_url, self.parse_communications, foia=foia)
            if request is not None:
                yield request

    def parse_files(self, response: Response) -> Iterable[Any]:
        first, page, resent = self.read_answer(response)
        yield from first
        if resent:
            return
        foia = response.meta["foia"]
        if page is None:
            self.follow_failed(foia, response)
            return
        for file in page.files:
            self.counts["files_listed"] += 1
            yield from self.download(file, foia)
        if page.next_url:
            request = self.api_request(f"{page.next_url}#foia={foia}", self.parse_files,
                                       foia=foia)
            if request is not None:
                yield request

    # ---- files ------------------------------------------------------------------------
    def download(self, file: ReleasedFile, foia: int) -> Iterable[scrapy.Request]:
        if not file.url:
            self.counts["no_file_url"] += 1
            return
        if file.url in self.archived:
            self.counts["skipped_archived"] += 1
            return
        # no token: files come from MuckRock's CDN, and only public requests are followed
        request = self.request(file.url, self.parse_file, file_url=file.url, foia=foia)
        if request is not None:
            yield request

    def parse_file(self, response: Response) -> Iterable[Any]:
        # the url the files/ answer listed, so the released_files row joins this fetch
        yield self.document(response, url=response.meta["file_url"])
        if self.file_outcome(response) == "failed":
            self.follow_failed(response.meta["foia"], response)

    # ---- what the next run starts from ------------------------------------------------
    def listing_done(self, term: str) -> None:
        if term not in self.incomplete and term in self.newest:
            self.remember(term, CURSOR_KEY, _cursor_text(self.newest[term]))

    def term_incomplete(self, term: str) -> None:
        self.incomplete.add(term)
        self.pending_state.pop((term, CURSOR_KEY), None)

    def follow_failed(self, foia: int, response: Response) -> None:
        """A request's communications or files did not come. A final answer (gone, not
        allowed) is only logged; anything else keeps the request's terms' cursors, so the
        next run asks again."""
        where = response.meta.get("api_url", response.url)
        if response.status in FINAL_STATUSES:
            self.logger.warning("MuckRock: HTTP %s for %s (request %s)", response.status,
                                where, foia)
            return
        self.logger.warning("MuckRock: HTTP %s for %s (request %s): asked again next run",
                            response.status, where, foia)
        self.failed.add(foia)
        for term in self.terms_of.get(foia, ()):
            self.term_incomplete(term)

    def on_error(self, failure: Any) -> list[Any]:
        recorded = super().on_error(failure)
        foia = failure.request.meta.get("foia")
        term = failure.request.meta.get("term")
        if foia is not None:
            self.failed.add(foia)
            for scope in self.terms_of.get(foia, ()):
                self.term_incomplete(scope)
        if term is not None:
            self.term_incomplete(term)
        return recorded
