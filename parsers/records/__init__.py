"""What records portals and council systems say about released documents, as plain records.

The API parsers (muckrock, nextrequest, documentcloud, legistar) each turn one archived API
response (bytes + the URL it was fetched from) into a `RecordsPage`. The spiders call the same
functions to decide what to fetch next, and the store calls them to load the facts, so a
response is read the same way when it is crawled and when it is reparsed from the archive.

`match_terms` says why a request, matter or file is relevant (Flock, ALPR, Nlets, DMV,
287(g), data sharing), naming each term that fired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CouncilMatter",
    "CouncilVote",
    "RecordsPage",
    "RecordsRequest",
    "ReleasedFile",
    "RELEVANCE_TERMS",
    "match_terms",
]


@dataclass
class RecordsRequest:
    """A public-records request on a portal (MuckRock, NextRequest), as the portal lists it."""

    source: str  # muckrock | nextrequest
    portal: str  # host: www.muckrock.com, oaklandca.nextrequest.com, pra.sandiegocounty.gov
    request_id: str  # the portal's own id ("26-7542", "102796")
    title: str | None = None
    request_text: str | None = None
    status: str | None = None  # as the portal says: Closed, processed, done, ...
    agency: str | None = None  # agency or department the request went to, as published
    submitted_at: str | None = None  # ISO date or date-time
    updated_at: str | None = None
    done_at: str | None = None
    url: str | None = None  # the request's page for a human
    visibility: str | None = None  # public / embargo status, when given
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.portal}:{self.request_id}"


@dataclass
class CouncilMatter:
    """A council matter (Legistar): an agenda item's subject, its status and its dates."""

    client: str  # Legistar client slug: sanjose
    matter_id: int
    file: str | None = None  # "17-069"
    name: str | None = None
    title: str | None = None
    type: str | None = None
    status: str | None = None
    body: str | None = None  # the body it is before: City Council, a committee
    intro_date: str | None = None
    agenda_date: str | None = None
    passed_date: str | None = None
    enactment_number: str | None = None
    last_modified: str | None = None  # MatterLastModifiedUtc
    url: str | None = None  # a page for a human (InSite), when known
    # terms found beyond title and name (attachment names, matter text): the loader adds
    # those in title and name itself
    matched_terms: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"legistar:{self.client}:{self.matter_id}"


@dataclass
class CouncilVote:
    """One member's vote on an agenda item (EventItem) about a matter."""

    client: str
    vote_id: int
    event_item_id: int
    matter_id: int | None = None
    event_id: int | None = None
    event_date: str | None = None
    body: str | None = None
    person: str | None = None
    value: str | None = None  # Aye, Nay, Absent, ...
    result: int | None = None
    action: str | None = None  # the item's action name: Approved, Adopted, ...
    passed: str | None = None  # the item's passed flag name: Pass, Fail

    @property
    def key(self) -> str:
        return f"legistar:{self.client}:vote:{self.vote_id}"


@dataclass
class ReleasedFile:
    """A file a portal or council system lists: where to download it and what it belongs to.

    `url` is the address the spider downloads (and the `url` of the resulting fetch), so the
    file's row and its archived bytes join on it.
    """

    source: str  # muckrock | nextrequest | documentcloud | legistar | agency_site
    portal: str  # host or client
    parent_kind: str  # request | matter | event | search (DocumentCloud) | page
    parent_id: str  # key of the parent (RecordsRequest.key, CouncilMatter.key, a page URL)
    file_id: str  # the source's id for the file (or its URL when it has none)
    url: str | None
    title: str | None = None
    file_type: str | None = None  # pdf, xlsx, ... as the source says
    published_at: str | None = None
    access: str | None = None  # public | private | organization | deleted | ... as published
    relevant: bool = False
    matched_terms: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.portal}:{self.file_id}"


@dataclass
class RecordsPage:
    """Everything one API response says, plus what a crawler needs to go on."""

    source: str
    kind: str  # e.g. requests, request_documents, files, search, matters, event_items, votes
    requests: list[RecordsRequest] = field(default_factory=list)
    matters: list[CouncilMatter] = field(default_factory=list)
    votes: list[CouncilVote] = field(default_factory=list)
    files: list[ReleasedFile] = field(default_factory=list)
    total: int | None = None  # total results the API reports, when it does
    next_url: str | None = None  # next page, when the API gives one
    throttled: bool = False  # a "retry later" answer, not data
    warnings: list[str] = field(default_factory=list)


# Each term: (label reported, pattern). Word boundaries keep "flock" out of "flocking" and "lpr"
# out of words; "dmv" alone is too broad for a matter title, so DMV needs a data word nearby.
RELEVANCE_TERMS: tuple[tuple[str, str], ...] = (
    ("flock", r"\bflock(?:\s*safety)?\b(?!ing)"),
    ("license plate reader", r"\blicen[cs]e[\s-]*plate[\s-]*(?:reader|recognition|camera)s?\b"),
    ("alpr", r"\ba\.?l\.?p\.?r\.?s?\b"),
    ("lpr", r"\blprs?\b"),
    ("plate reader", r"\bplate[\s-]*readers?\b"),
    ("287(g)", r"\b287\s*\(?\s*g\s*\)?"),
    ("nlets", r"\bnlets\b"),
    ("dmv data", r"\b(?:dmv|department of motor vehicles|motor vehicle records?)\b"
                 r".{0,60}\b(?:data|records?|access|agreement|information|sharing)\b"),
    ("data sharing", r"\bdata[\s-]*sharing\b|\bshar(?:e|ing)\s+(?:alpr|lpr|plate|camera)"),
    ("vigilant", r"\bvigilant\s+solutions\b|\blearn\s+(?:platform|database)\b"),
    ("ice", r"\b(?:immigration and customs enforcement|ICE detainer)\b"),
)
_COMPILED = tuple((label, re.compile(pattern, re.I | re.S)) for label, pattern in RELEVANCE_TERMS)


def match_terms(*texts: str | None) -> list[str]:
    """The relevance terms found in any of the texts (labels, in RELEVANCE_TERMS order)."""
    haystack = "\n".join(t for t in texts if t)
    if not haystack:
        return []
    return [label for label, rx in _COMPILED if rx.search(haystack)]


def page_summary(page: RecordsPage) -> str:
    """One line on what a records answer lists (the document's title)."""
    parts = [f"{len(v)} {k}" for k, v in (("requests", page.requests),
                                          ("matters", page.matters), ("votes", page.votes),
                                          ("files", page.files)) if v]
    return f"{page.source} {page.kind}: " + (", ".join(parts) or "nothing listed")
