"""Legistar Web API: council matters about Flock, plate readers, 287(g), Nlets or data sharing.

Per client (``sanjose`` -> ``{base}sanjose/``, base https://webapi.legistar.com/v1/):

1. ``Matters?$filter=substringof('<term>',MatterTitle) or ...`` (plus ``and
   MatterLastModifiedUtc ge datetime'<since>'`` once a date is known), paged by
   ``$top=1000&$skip=k*1000`` until a page has fewer than 1000 rows. This first request is the
   client's probe: a client that does not exist answers HTTP 500 ("LegistarConnectionString
   setting is not set up in InSite for client: X"), one that needs a token 403; either is
   archived, counted (client_errors / needs_token) and the client skipped, without retries
   (a retry's backoff would slow every other client on the same host).
2. ``Events?$filter=EventLastModifiedUtc ge datetime'<since>'`` (paged the same way) and, for
   each meeting, ``Events/<id>/EventItems?AgendaNote=1&MinutesNote=1&Attachments=1``.
3. For each relevant matter (``match_terms`` on its title, name or attachment names):
   ``Matters/<id>`` (details, unless the search or an earlier run read the whole Matter) or,
   for one the search found, ``Matters/<id>/Histories`` and the agendas of its meetings;
   ``Matters/<id>/Attachments`` unless the agenda listed them;
   ``EventItems/<id>/Votes`` for each agenda item about it (every item, not only those with a
   roll-call or passed flag: in the San Jose sample item 32040 has 11 votes and no flag); and
   the relevant attachments' ``MatterAttachmentHyperlink`` (up to --max-attachments per client).

Every answer is archived (a Votes or Attachments request carries what the spider knew, the
matter, meeting and terms, in its URL fragment, which is never sent: see
parsers/records/legistar.py).
An attachment the client does not show on its web site (ShowOnInternetPage false) is listed,
not downloaded. A token (``--token`` / LEGISTAR_TOKEN) is sent as ``?token=`` and cut from the
URLs that are stored.

Incremental: per client the newest MatterLastModifiedUtc of the search (per set of terms) and
the newest EventLastModifiedUtc are remembered, and the next run filters on them (first run:
matters of any date, meetings of the last two years; --since overrides both). A cursor does not
move when an answer of that client failed or an attachment was left out by the limit, so the
next run asks again. Files already archived are never downloaded again; a file that answered
401/403/404/410 in an earlier run is asked again only with --full.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import scrapy
from scrapy.http import Response

from crawlers.spiders.base import HANDLED_STATUSES, SourceSpider
from parsers.records import CouncilMatter, ReleasedFile, match_terms
from parsers.records.legistar import (
    PAGE_SIZE,
    EventRef,
    context_fragment,
    event_item_refs,
    history_events,
    parse_events,
    parse_response,
)

DEFAULT_BASE = "https://webapi.legistar.com/v1/"
FIRST_RUN_DAYS = 730  # meetings changed in the last two years, when nothing is remembered
AGENDA_QUERY = "AgendaNote=1&MinutesNote=1&Attachments=1"
# <name>.legistar.com hosts that are Legistar's own sites, not clients
NOT_CLIENTS = frozenset({"www", "webapi", "insite", "insite2", "api"})
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
_HOST_RE = re.compile(r"([a-z0-9][a-z0-9-]*)\.legistar\.com")
GONE = (401, 403, 404, 410)


def client_name(text: str) -> str | None:
    """`sanjose` for "sanjose", "sanjose.legistar.com" or "https://sanjose.legistar.com/...".

    Other hosts (a CDN name, ``<x>.ca.legistar.com``: no Web API client is known for those)
    and Legistar's own sites (www, insite2) are not clients: None."""
    text = text.strip().lower()
    if "://" in text:
        text = urlsplit(text).hostname or ""
    text = text.split("/", 1)[0]
    if _NAME_RE.fullmatch(text):
        name = text
    elif m := _HOST_RE.fullmatch(text):
        name = m[1]
    else:
        return None
    return None if name in NOT_CLIENTS else name


def read_clients(path: Path) -> list[str]:
    """Client names from a file of hosts or names, one per line, in file order without
    repeats; blank lines, ``#`` comments, a header line and non-client hosts are skipped."""
    out: list[str] = []
    for line in Path(path).read_text(encoding="utf-8-sig").splitlines():
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        name = client_name(text)
        if name and name not in out:
            out.append(name)
    return out


def odata_string(text: str) -> str:
    """An OData string literal: quotes around, a quote inside doubled."""
    return "'" + text.replace("'", "''") + "'"


def matters_filter(terms: Iterable[str], since: str | None) -> str:
    expr = " or ".join(f"substringof({odata_string(t)},MatterTitle)" for t in terms)
    if since:
        expr = f"({expr}) and MatterLastModifiedUtc ge datetime'{since}'"
    return expr


def events_filter(since: str) -> str:
    return f"EventLastModifiedUtc ge datetime'{since}'"


def encode_filter(expr: str) -> str:
    """$filter encoded once: spaces and specials as %XX, quotes and parentheses as they are
    (a pre-encoded %27 reaching the server is an ODataException)."""
    return quote(expr, safe="()',:")


def without_token(url: str) -> str:
    """The URL with its token parameter cut (what is stored in fetches)."""
    parts = urlsplit(url)
    if "token=" not in parts.query:
        return url
    query = "&".join(p for p in parts.query.split("&") if not p.startswith("token="))
    return urlunsplit(parts._replace(query=query))


def matter_terms(m: CouncilMatter) -> list[str]:
    """Why a matter is relevant: terms in its title or name, and those found elsewhere."""
    return sorted(set(match_terms(m.title, m.name)) | set(m.matched_terms))


@dataclass
class ClientRun:
    """One client in this run: cursors, downloads, and which cursors must not move."""

    name: str
    matters_since: str | None
    events_since: str
    downloads: int = 0
    cut: set[str] = field(default_factory=set)


class LegistarSpider(SourceSpider):
    name = "legistar"
    source_description = "Legistar Web API: council matters, agenda items, attachments, votes"

    def __init__(self, base_url: str = DEFAULT_BASE, clients: Iterable[str] | str = (),
                 terms: Iterable[str] | str = (), since: str | None = None,
                 max_attachments: int = 200, token: str | None = None, **kwargs: Any):
        super().__init__(base_url=base_url or DEFAULT_BASE, **kwargs)
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        if isinstance(clients, str):
            clients = clients.split(",")
        if isinstance(terms, str):
            terms = terms.split(",")
        self.clients = [c for c in (client_name(c) for c in clients if c) if c]
        self.terms = [t.strip() for t in terms if t and t.strip()]
        if since and not re.fullmatch(r"\d{4}-\d{2}-\d{2}(T[\d:.]+)?", since.strip()):
            raise ValueError(f"--since is not an ISO date: {since!r}")
        self.since = since.strip() if since else None
        self.max_attachments = int(max_attachments)
        self.token = token or None
        self.matters_key = "matters_since:" + "|".join(sorted({t.lower() for t in self.terms}))
        self.runs: dict[str, ClientRun] = {}
        self.archived: set[str] = set()
        self.failed_before: set[str] = set()
        self.attachments_listed: set[tuple[str, int]] = set()
        # matters whose whole Matter object is known (this run's search or an earlier run)
        self.full_matters: set[tuple[str, int]] = set()
        self.answering: set[str] = set()  # clients whose first listing answered 200
        self.counts.update({"clients": 0, "client_errors": 0, "needs_token": 0,
                            "bad_requests": 0, "server_errors": 0, "throttled": 0,
                            "matters_listed": 0, "relevant_matters": 0, "events": 0,
                            "agendas": 0, "downloaded": 0, "missing": 0, "not_public": 0,
                            "skipped_archived": 0, "skipped_failed_before": 0,
                            "not_shown_online": 0, "over_limit": 0})

    # ---- addresses ----------------------------------------------------------------------
    def api_url(self, client: str, path: str, query: str = "", context: str = "") -> str:
        if self.token:
            query = f"{query}&token={quote(self.token, safe='')}" if query else \
                f"token={quote(self.token, safe='')}"
        return f"{self.base_url}{quote(client)}/{path}" + (f"?{query}" if query else "") + context

    def matters_url(self, run: ClientRun, skip: int) -> str:
        expr = encode_filter(matters_filter(self.terms, run.matters_since))
        return self.api_url(run.name, "Matters", f"$filter={expr}&$top={PAGE_SIZE}&$skip={skip}")

    def events_url(self, run: ClientRun, skip: int) -> str:
        expr = encode_filter(events_filter(run.events_since))
        return self.api_url(run.name, "Events", f"$filter={expr}&$top={PAGE_SIZE}&$skip={skip}")

    def ask(self, url: str, callback: Any, run: ClientRun, **meta: Any) -> scrapy.Request | None:
        """An API request; a 400 (a $filter the server refuses, with a JSON Message) reaches the
        callback too, to be archived and counted."""
        request = self.request(url, callback, client=run.name, asked=url, **meta)
        if request is not None:
            request.meta["handle_httpstatus_list"] = [*HANDLED_STATUSES, 400]
        return request

    # ---- state --------------------------------------------------------------------------
    def _remember(self, run: ClientRun, what: str, value: str | None) -> None:
        if value and what not in run.cut:
            self.remember(run.name, self.matters_key if what == "matters" else "events_since",
                          value)

    def _cut(self, run: ClientRun, *whats: str) -> None:
        """Something of this client was not fetched: its cursors stay where they were."""
        for what in whats or ("matters", "events"):
            run.cut.add(what)
            key = self.matters_key if what == "matters" else "events_since"
            self.pending_state.pop((run.name, key), None)

    def _files_that_failed(self) -> set[str]:
        return set() if self.full else self.memory.urls_with_status(GONE)

    def _matters_read_before(self) -> set[tuple[str, int]]:
        """Matters whose whole Matter object an earlier run read (it has a modified date):
        their details are not asked again (a change shows in the search or on an agenda)."""
        return set() if self.full else self.memory.council_matters_read()

    # ---- flow ---------------------------------------------------------------------------
    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.archived = self.archived_urls()
        self.failed_before = self._files_that_failed()
        self.full_matters = self._matters_read_before()
        two_years = (date.today() - timedelta(days=FIRST_RUN_DAYS)).isoformat()
        self.clients = self.run_seeds = self.with_retries(self.clients)
        for client in self.clients:
            if client in self.runs:
                continue
            run = ClientRun(client, self.since or self.state(client, self.matters_key),
                            self.since or self.state(client, "events_since") or two_years)
            self.runs[client] = run
            if self.terms:
                request = self.ask(self.matters_url(run, 0), self.parse_matters, run, skip=0,
                                   probe=True, dont_retry=True)
            else:
                request = self.ask(self.events_url(run, 0), self.parse_event_list, run, skip=0,
                                   probe=True, dont_retry=True)
            self.mark_seed(request, client)
            if request is not None:
                yield request

    def archive(self, response: Response) -> Any:
        """The answer as a document, stored under the URL asked (without the token)."""
        item = self.document(response, url=without_token(response.meta["asked"]))
        item.fetched.fetched_from = without_token(response.url)
        return item

    def failed(self, response: Response, run: ClientRun, what: str,
               cursors: tuple[str, ...] = ("matters", "events")) -> bool:
        """Record a non-200 answer and hold back the cursors it affects; True when the client
        is skipped (its probe failed)."""
        page = parse_response(response.body, response.meta["asked"])
        message = "; ".join(page.warnings) if page and page.warnings else ""
        status = response.status
        probe = bool(response.meta.get("probe"))
        if status == 400:
            self.counts["bad_requests"] += 1
        elif status in (401, 403):
            self.counts["needs_token"] += 1
        elif status == 429:
            self.counts["throttled"] += 1
        elif status >= 500:
            self.counts["server_errors"] += 1
        self._cut(run, *cursors)
        if probe and (status in (401, 403, 429) or status >= 500):
            if status >= 500:
                self.counts["client_errors"] += 1
            self.logger.warning("client %s skipped: %s answered HTTP %s %s", run.name, what,
                                status, message)
            return True
        self.logger.warning("client %s: %s answered HTTP %s %s", run.name, what, status, message)
        return False

    def parse_matters(self, response: Response) -> Iterable[Any]:
        run = self.runs[response.meta["client"]]
        skip = response.meta["skip"]
        yield self.archive(response)
        if response.status != 200:
            if self.failed(response, run, "Matters search", ("matters",)):
                return
        else:
            page = parse_response(response.body, response.meta["asked"])
            matters = page.matters if page else []
            if skip == 0:
                self.answered(run)
                self._remember(run, "matters", run.matters_since)
            self.counts["matters_listed"] += len(matters)
            for m in matters:
                self._remember(run, "matters", m.last_modified)
                self.full_matters.add((run.name, m.matter_id))
                if matter_terms(m):
                    self.counts["relevant_matters"] += 1
                    yield from self.follow_found_matter(run, m)
            if page is not None and page.total == PAGE_SIZE:
                request = self.ask(self.matters_url(run, skip + PAGE_SIZE), self.parse_matters,
                                   run, skip=skip + PAGE_SIZE)
                if request is not None:
                    yield request
        if skip == 0:
            yield from self.start_events(run)

    def answered(self, run: ClientRun) -> None:
        if run.name not in self.answering:
            self.answering.add(run.name)
            self.counts["clients"] = self.counts["portals"] = len(self.answering)

    def start_events(self, run: ClientRun) -> Iterable[scrapy.Request]:
        self._remember(run, "events", run.events_since)
        request = self.ask(self.events_url(run, 0), self.parse_event_list, run, skip=0)
        if request is not None:
            yield request

    def parse_event_list(self, response: Response) -> Iterable[Any]:
        run = self.runs[response.meta["client"]]
        skip = response.meta["skip"]
        yield self.archive(response)
        if response.status != 200:
            self.failed(response, run, "Events", ("events",))
            return
        if skip == 0:
            self.answered(run)
            self._remember(run, "events", run.events_since)
        events = parse_events(response.body)
        self.counts["events"] += len(events)
        for event in events:
            self._remember(run, "events", event.last_modified)
            request = self.agenda_request(run, event)
            if request is not None:
                yield request
        if len(events) == PAGE_SIZE:
            request = self.ask(self.events_url(run, skip + PAGE_SIZE), self.parse_event_list,
                               run, skip=skip + PAGE_SIZE)
            if request is not None:
                yield request

    def agenda_request(self, run: ClientRun, event: EventRef) -> scrapy.Request | None:
        url = self.api_url(run.name, f"Events/{event.event_id}/EventItems", AGENDA_QUERY)
        return self.ask(url, self.parse_agenda, run, event=asdict(event))

    def parse_agenda(self, response: Response) -> Iterable[Any]:
        run = self.runs[response.meta["client"]]
        event = response.meta["event"]
        yield self.archive(response)
        if response.status != 200:
            self.failed(response, run, f"agenda of meeting {event['event_id']}")
            return
        self.counts["agendas"] += 1
        page = parse_response(response.body, response.meta["asked"])
        if page is None:
            return
        relevant = {m.matter_id: matter_terms(m) for m in page.matters if matter_terms(m)}
        refs = [r for r in event_item_refs(response.body) if r.matter_id in relevant]
        for matter_id, terms in relevant.items():
            self.counts["relevant_matters"] += 1
            listed = any(r.lists_attachments for r in refs if r.matter_id == matter_id)
            key = f"legistar:{run.name}:{matter_id}"
            if listed:
                self.attachments_listed.add((run.name, matter_id))
                yield from self.download(run, [f for f in page.files if f.parent_id == key])
            else:
                yield from self.ask_attachments(run, matter_id, terms)
            if (run.name, matter_id) in self.full_matters:
                continue  # the whole Matter was read already (this run's search, or before)
            request = self.ask(self.api_url(run.name, f"Matters/{matter_id}",
                                            context=context_fragment(terms=terms)),
                               self.parse_api, run, what=f"matter {matter_id}")
            if request is not None:
                yield request
        for ref in refs:
            context = context_fragment(
                matter=ref.matter_id, event=ref.event_id or event["event_id"],
                date=event.get("date"), body=event.get("body"), action=ref.action,
                passed=ref.passed)
            request = self.ask(self.api_url(run.name, f"EventItems/{ref.event_item_id}/Votes",
                                            context=context),
                               self.parse_api, run, what=f"votes on item {ref.event_item_id}")
            if request is not None:
                yield request

    def follow_found_matter(self, run: ClientRun, m: CouncilMatter) -> Iterable[Any]:
        """A relevant matter from the search: its attachments, and the meetings it went to
        (their agendas give the votes), found in its history."""
        if (run.name, m.matter_id) not in self.attachments_listed:
            yield from self.ask_attachments(run, m.matter_id, matter_terms(m))
        request = self.ask(self.api_url(run.name, f"Matters/{m.matter_id}/Histories"),
                           self.parse_histories, run)
        if request is not None:
            yield request

    def ask_attachments(self, run: ClientRun, matter_id: int,
                        terms: list[str]) -> Iterable[scrapy.Request]:
        url = self.api_url(run.name, f"Matters/{matter_id}/Attachments",
                           context=context_fragment(terms=terms))
        request = self.ask(url, self.parse_attachments, run)
        if request is not None:
            yield request

    def parse_histories(self, response: Response) -> Iterable[Any]:
        run = self.runs[response.meta["client"]]
        yield self.archive(response)
        if response.status != 200:
            self.failed(response, run, "matter history")
            return
        for event in history_events(response.body):
            request = self.agenda_request(run, event)
            if request is not None:
                yield request

    def parse_attachments(self, response: Response) -> Iterable[Any]:
        run = self.runs[response.meta["client"]]
        yield self.archive(response)
        if response.status != 200:
            self.failed(response, run, "matter attachments")
            return
        page = parse_response(response.body, response.meta["asked"])
        if page is not None:
            yield from self.download(run, page.files)

    def parse_api(self, response: Response) -> Iterable[Any]:
        """A matter's details or an item's votes: archived, the store reads them."""
        run = self.runs[response.meta["client"]]
        yield self.archive(response)
        if response.status != 200:
            self.failed(response, run, response.meta.get("what", "answer"))

    # ---- files --------------------------------------------------------------------------
    def download(self, run: ClientRun, files: list[ReleasedFile]) -> Iterable[scrapy.Request]:
        for f in files:
            if not f.relevant or not f.url:
                continue
            if f.access == "private":
                self.counts["not_shown_online"] += 1
                continue
            if f.url in self.archived:
                self.counts["skipped_archived"] += 1
                continue
            if f.url in self.failed_before:
                self.counts["skipped_failed_before"] += 1
                continue
            if f.url in self.seen:
                continue
            if run.downloads >= self.max_attachments:
                self.counts["over_limit"] += 1
                self._cut(run)  # not fetched: the next run must see this matter again
                continue
            request = self.request(f.url, self.parse_file, client=run.name, listed_url=f.url)
            if request is not None:
                run.downloads += 1
                yield request

    def parse_file(self, response: Response) -> Iterable[Any]:
        item = self.document(response, url=response.meta["listed_url"])
        yield item
        if self.file_outcome(response) == "failed":
            self.counts["errors"] += 1
            self._cut(self.runs[response.meta["client"]])

    def on_error(self, failure: Any) -> list[Any]:
        recorded = super().on_error(failure)
        client = failure.request.meta.get("client")
        if client in self.runs:
            self._cut(self.runs[client])
        return recorded
