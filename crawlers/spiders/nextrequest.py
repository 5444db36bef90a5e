"""NextRequest records portals: requests matching the terms, and the documents released on them.

Per tenant (``oaklandca`` -> https://oaklandca.nextrequest.com, or a portal URL for a custom
domain): the first search is asked without following redirects, because a tenant that does not
exist answers 302 to civicplus.com; such a tenant is counted, logged and skipped. Then each
term's search is paged (``page_number``) until every listed request was seen. For the requests
that mention the tracked terms, ``/client/request_documents`` lists the released files, and each
file not yet archived is downloaded from ``<tenant>/documents/<id>/download`` (a redirect to
presigned S3, followed here so the fetch keeps the download address as its url).

Incremental: each request's state and due date are remembered when all of its documents were
fetched (or answered 403/404). A re-run lists the searches again (cheap) but asks for the
documents of a request only when it is new, its state or due date changed, or it is not closed
(open requests get documents while open). A file already archived is never downloaded again.

No browser User-Agent is faked: a 403 on a download is recorded (not_public) and left for the
user to fetch by hand. An HTTP-200 "Retry later" answer is throttling: the retry middleware
backs off (``is_throttle_answer``); if it persists it is counted and not archived as the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response

from crawlers.items import DocumentItem
from crawlers.spiders.base import SourceSpider
from parsers.records import RecordsRequest, match_terms
from parsers.records.nextrequest import (
    documents_url,
    is_throttle_body,
    parse_response,
    redact_requester,
    requests_url,
    tenant_name,
)

DEFAULT_TENANT_URL = "https://{tenant}.nextrequest.com"
DEFAULT_TERMS = ("flock", "license plate reader", "ALPR", "Nlets", "DMV", "287(g)",
                 "data sharing")
MAX_REDIRECTS = 5
CLOSED_STATES = ("closed", "completed")


@dataclass
class Tenant:
    name: str
    base: str  # scheme://host[/prefix], no trailing slash


@dataclass
class RequestWork:
    """What is still outstanding for one request's documents; its state is remembered only
    when nothing failed, so an interrupted request is asked again next run."""

    scope: str
    state_value: str
    outstanding: int = 0
    failed: bool = False


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def _without_query(url: str) -> str:
    """A presigned S3 address without its signature (useless after ~1000 s anyway)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def is_closed(status: str | None) -> bool:
    return (status or "").strip().lower().startswith(CLOSED_STATES)


class NextRequestSpider(SourceSpider):
    """Search each tenant for the terms; list and download the released documents."""

    name = "nextrequest"
    source_description = "NextRequest records portals"

    def __init__(self, tenants: Any = (), terms: Any = (), tenant_url: str = "",
                 max_documents: int | str = 500, max_pages: int | str = 200, **kwargs: Any):
        super().__init__(**kwargs)
        self.tenant_url = tenant_url or self.base_url or DEFAULT_TENANT_URL
        self.tenants = [self._tenant(t) for t in _as_list(tenants)]
        self.terms = _as_list(terms) or list(DEFAULT_TERMS)
        self.max_documents = int(max_documents)
        self.max_pages = int(max_pages)
        self.archived: set[str] = set()
        self.listed: Counter[tuple[str, str]] = Counter()  # (tenant, term) -> requests seen
        self.last_ids: dict[tuple[str, str], tuple[str, ...]] = {}  # ids on the last page
        self.docs_listed: Counter[str] = Counter()  # request scope -> documents seen
        self.downloads: Counter[str] = Counter()  # tenant -> downloads asked this run
        self.considered: set[str] = set()  # request scopes already handled this run
        self.work: dict[str, RequestWork] = {}
        self.counts.update(tenants=0, missing_tenants=0, requests=0, skipped_not_relevant=0,
                           skipped_unchanged=0, document_listings=0, documents_listed=0,
                           downloaded=0, skipped_archived=0, not_public=0, missing=0,
                           throttled=0, max_documents_reached=0, redacted_fields=0)

    def _tenant(self, value: str) -> Tenant:
        if value.startswith(("http://", "https://")):
            base = value.rstrip("/")
        else:
            base = self.tenant_url.format(tenant=value).rstrip("/")
        return Tenant(tenant_name(f"{base}/client/") or value, base)

    # ---- throttling: the retry middleware asks this ----------------------------------------
    def is_throttle_answer(self, response: Response) -> bool:
        return response.status == 200 and is_throttle_body(response.body)

    # ---- start: probe each tenant ----------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.archived = self.archived_urls("%/documents/%/download")
        ours = set(self.shard_seeds(t.base for t in self.tenants))  # shard=I/N: its hosts
        self.tenants = [t for t in self.tenants if t.base in ours]
        given = [t.base for t in self.tenants]
        self.tenants += [self._tenant(base) for base in self.with_retries(given)
                         if base not in given]
        self.run_seeds = [t.base for t in self.tenants]
        for tenant in self.tenants:
            if not self.terms:
                break
            url = requests_url(tenant.base, self.terms[0], 1)
            request = self.request(url, self.on_probe, follow_redirects=False,
                                   nr_tenant=tenant, nr_term=self.terms[0], nr_page=1,
                                   nr_url=url, nr_hops=0)
            self.mark_seed(request, tenant.base)
            if request is not None:
                yield request

    def on_probe(self, response: Response) -> list[Any]:
        """The tenant's first search: a redirect off the tenant means no such tenant."""
        tenant: Tenant = response.meta["nr_tenant"]
        if 300 <= response.status < 400:
            location = response.headers.get("Location", b"").decode("latin-1")
            target = urljoin(response.url, location) if location else ""
            if target.startswith(tenant.base + "/") and response.meta["nr_hops"] < MAX_REDIRECTS:
                return [self._follow(response, target, self.on_probe)]
            self.counts["missing_tenants"] += 1
            self.logger.warning("NextRequest tenant %r does not exist: %s answers HTTP %s to "
                                "%s; skipped", tenant.name, tenant.base, response.status,
                                target or "nowhere")
            return [self.document(response, url=response.meta["nr_url"])]  # the evidence
        out = self.on_listing(response)
        if response.status == 200 and parse_response(response.body,
                                                      response.meta["nr_url"]) is not None:
            self.counts["tenants"] += 1
            for term in self.terms[1:]:
                url = requests_url(tenant.base, term, 1)
                out.append(self.request(url, self.on_listing, follow_redirects=False,
                                        nr_tenant=tenant, nr_term=term, nr_page=1, nr_url=url,
                                        nr_hops=0))
        else:
            self.logger.warning("NextRequest tenant %r: no request list at %s (HTTP %s); "
                                "skipped", tenant.name, response.meta["nr_url"],
                                response.status)
        return [x for x in out if x is not None]

    def _follow(self, response: Response, target: str, callback: Any) -> scrapy.Request | None:
        """Follow a redirect by hand, keeping the address first asked for (nr_url)."""
        meta = {k: v for k, v in response.meta.items() if k.startswith("nr_")}
        meta["nr_hops"] = meta.get("nr_hops", 0) + 1
        return self.request(target, callback, dedupe=False, follow_redirects=False, **meta)

    # ---- request lists -----------------------------------------------------------------
    def _api_document(self, response: Response) -> DocumentItem:
        """An API answer for the archive, without requester names or contact details."""
        item = self.document(response, url=response.meta["nr_url"])
        body, redacted = redact_requester(item.fetched.body)
        if redacted:
            self.counts["redacted_fields"] += redacted
            item.fetched.body = body
        return item

    def _throttled(self, response: Response) -> bool:
        if not self.is_throttle_answer(response):
            return False
        self.counts["throttled"] += 1
        self.logger.warning("still 'Retry later' after retries: %s (not archived; the next run "
                            "asks again)", response.meta.get("nr_url", response.url))
        return True

    def on_listing(self, response: Response) -> list[Any]:
        tenant: Tenant = response.meta["nr_tenant"]
        term, page_number, url = (response.meta["nr_term"], response.meta["nr_page"],
                                  response.meta["nr_url"])
        if 300 <= response.status < 400:  # inside a tenant that answered before: follow
            location = response.headers.get("Location", b"").decode("latin-1")
            if location and response.meta["nr_hops"] < MAX_REDIRECTS:
                return [r for r in [self._follow(response, urljoin(response.url, location),
                                                 self.on_listing)] if r is not None]
        if self._throttled(response):
            return [self.failed_answer(response, "rate_limited",
                                        "still 'Retry later' (HTTP 200) after the retries")]
        out: list[Any] = [self._api_document(response)]
        page = parse_response(response.body, url) if response.status == 200 else None
        if page is None:
            self.logger.warning("%s: HTTP %s, not a NextRequest request list", url,
                                response.status)
            return out
        ids = tuple(r.request_id for r in page.requests)
        if page_number > 1 and ids and ids == self.last_ids.get((tenant.name, term)):
            self.logger.warning("%s: page %d of the search for %r repeats page %d (the tenant "
                                "ignores page_number?); stopped", tenant.name, page_number,
                                term, page_number - 1)
            return out
        self.last_ids[(tenant.name, term)] = ids
        self.counts["requests"] += len(page.requests)
        self.listed[(tenant.name, term)] += len(page.requests)
        if (page.requests and page.total is not None
                and self.listed[(tenant.name, term)] < page.total):
            if page_number < self.max_pages:
                next_url = requests_url(tenant.base, term, page_number + 1)
                out.append(self.request(next_url, self.on_listing, follow_redirects=False,
                                        nr_tenant=tenant, nr_term=term,
                                        nr_page=page_number + 1, nr_url=next_url, nr_hops=0))
            else:
                self.logger.warning("%s: stopped at page %d of the search for %r (%d of %d "
                                    "requests listed)", tenant.name, page_number, term,
                                    self.listed[(tenant.name, term)], page.total)
        for record in page.requests:
            out.append(self.consider(tenant, record))
        return [x for x in out if x is not None]

    def consider(self, tenant: Tenant, record: RecordsRequest) -> scrapy.Request | None:
        """Ask for a request's documents when it is about the terms and new or changed."""
        scope = f"{tenant.name}:{record.request_id}"
        if scope in self.considered:
            return None
        self.considered.add(scope)
        if not match_terms(record.title, record.request_text):
            self.counts["skipped_not_relevant"] += 1
            return None
        state_value = f"{record.status or ''}|{record.extra.get('due_date') or ''}"
        if is_closed(record.status) and self.state(scope, "state") == state_value:
            self.counts["skipped_unchanged"] += 1
            return None
        self.work[scope] = RequestWork(scope, state_value, outstanding=1)
        request = self._documents_request(tenant, record.request_id, 1, scope)
        if request is None:  # this run asked already (cannot happen twice for one scope)
            del self.work[scope]
        return request

    def _documents_request(self, tenant: Tenant, request_id: str, page_number: int,
                           scope: str) -> scrapy.Request | None:
        url = documents_url(tenant.base, request_id, page_number)
        return self.request(url, self.on_documents, follow_redirects=False, nr_tenant=tenant,
                            nr_request=request_id, nr_page=page_number, nr_url=url, nr_hops=0,
                            nr_work=scope)

    # ---- released documents ---------------------------------------------------------------
    def on_documents(self, response: Response) -> list[Any]:
        work = self.work[response.meta["nr_work"]]
        try:
            return self._documents(response, work)
        finally:
            self._done(work)

    def _documents(self, response: Response, work: RequestWork) -> list[Any]:
        tenant: Tenant = response.meta["nr_tenant"]
        url, request_id = response.meta["nr_url"], response.meta["nr_request"]
        if self._throttled(response):
            work.failed = True
            return [self.failed_answer(response, "rate_limited",
                                       "still 'Retry later' (HTTP 200) after the retries")]
        out: list[Any] = [self._api_document(response)]
        page = parse_response(response.body, url) if response.status == 200 else None
        if page is None:
            work.failed = True
            self.logger.warning("%s: HTTP %s, not a NextRequest document list", url,
                                response.status)
            return out
        self.counts["document_listings"] += 1
        self.counts["documents_listed"] += len(page.files)
        self.docs_listed[work.scope] += len(page.files)
        if page.files and page.total is not None and self.docs_listed[work.scope] < page.total:
            nxt = self._documents_request(tenant, request_id, response.meta["nr_page"] + 1,
                                          work.scope)
            if nxt is not None:
                work.outstanding += 1
                out.append(nxt)
        for released in page.files:
            if not released.url or released.url in self.archived:
                self.counts["skipped_archived"] += 1
                continue
            if self.downloads[tenant.name] >= self.max_documents:
                if self.counts["max_documents_reached"] == 0:
                    self.logger.warning("%s: --max-documents %d reached; the rest waits for "
                                        "the next run", tenant.name, self.max_documents)
                self.counts["max_documents_reached"] += 1
                work.failed = True
                continue
            download = self.request(released.url, self.on_download, follow_redirects=False,
                                    nr_tenant=tenant, nr_url=released.url, nr_hops=0,
                                    nr_work=work.scope)
            if download is not None:
                self.downloads[tenant.name] += 1
                work.outstanding += 1
                out.append(download)
        return out

    def on_download(self, response: Response) -> list[Any]:
        work = self.work[response.meta["nr_work"]]
        url = response.meta["nr_url"]
        if 300 <= response.status < 400:
            location = response.headers.get("Location", b"").decode("latin-1")
            if location and response.meta["nr_hops"] < MAX_REDIRECTS:
                follow = self._follow(response, urljoin(response.url, location),
                                      self.on_download)
                if follow is not None:
                    return [follow]  # the work stays outstanding until the file arrives
        try:
            return self._download(response, work, url)
        finally:
            self._done(work)

    def _download(self, response: Response, work: RequestWork, url: str) -> list[Any]:
        if self._throttled(response):
            work.failed = True
            return [self.failed_answer(response, "rate_limited",
                                       "still 'Retry later' (HTTP 200) after the retries")]
        item = self.document(response, url=url)
        item.fetched.fetched_from = _without_query(response.url)
        outcome = self.file_outcome(response)
        if outcome == "downloaded":
            self.archived.add(url)
        elif outcome == "not_public":
            self.logger.warning("%s: HTTP %s, not public to this client (no browser "
                                "User-Agent is faked); download it by hand", url,
                                response.status)
        elif outcome == "failed":
            work.failed = True  # 3xx loop, 429 or 5xx after retries: ask again next run
        return [item]

    def _done(self, work: RequestWork) -> None:
        work.outstanding -= 1
        if work.outstanding == 0 and not work.failed:
            self.remember(work.scope, "state", work.state_value, newest=False)

    def on_error(self, failure: Any) -> list[Any]:
        scope = failure.request.meta.get("nr_work")
        if scope in self.work:
            self.work[scope].failed = True
            self._done(self.work[scope])
        return super().on_error(failure)
