"""Legistar Web API: what one JSON answer about a client's council matters says.

Base ``https://webapi.legistar.com/v1/<client>/`` (the client is the first label of
``<client>.legistar.com``). The answers read here (shapes: corpus/apis/legistar/LEGISTAR_FORMAT.md):

- ``Matters`` (a search, ``$filter`` / ``$top`` / ``$skip``) and ``Matters/<id>``: Matter
  objects -> CouncilMatter;
- ``Matters/<id>/Attachments``: MatterAttachment objects -> ReleasedFile of that matter;
- ``Matters/<id>/Histories``: the matter's actions (the spider reads the meetings from them);
- ``Events``: meetings (the spider reads ids and dates; a legisearch-style dump that nests
  the agenda under each event as ``items`` is read like its EventItems);
- ``Events/<id>/EventItems``: agenda items -> CouncilMatter for items with a matter,
  ReleasedFile for ``EventItemMatterAttachments``, and CouncilVote / ReleasedFile for the
  ``Votes`` / ``Attachments`` the legisearch tool nests under each item (with ``Matter``);
- ``EventItems/<id>/Votes``: Vote objects -> CouncilVote;
- an error envelope ``{"Message": ...}`` on any of these (HTTP 400 for a bad ``$filter``,
  500 for a client that does not exist) -> an empty page that carries the message.

The client is the path segment after ``/v1/`` (so a local replay at
``http://127.0.0.1:PORT/v1/sanjose/...`` reads as ``sanjose``, never as its host).

A Votes or Attachments answer does not say which matter, meeting or topic it belongs to, so
the spider names what it knew when it asked in the URL *fragment* (never sent to the server,
kept in the fetch's url): ``#matter=2025&event=1080&date=2017-09-12&body=City+Council&
action=Adopted&passed=Pass`` for votes, ``#terms=flock,alpr`` for a matter's relevance terms.
Reparsing the archived answer with its url gives the same records.

Matter text fields (MatterText1-5, MatterEXText*) and MatterRequester are not read: San Jose's
MatterText2 holds a staff email address, and records never store people's contact details.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from parsers.records import CouncilMatter, CouncilVote, RecordsPage, ReleasedFile, match_terms

# Recorded with every document this parser reads (Legistar Web API answers):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "legistar/1"

__all__ = [
    "EventRef",
    "ItemRef",
    "api_path",
    "context_fragment",
    "event_item_refs",
    "history_events",
    "matter_url",
    "parse_events",
    "parse_response",
]

SOURCE = "legistar"
PAGE_SIZE = 1000  # the Web API's cap on rows per answer
# /v1/<client>/<endpoint>[/<id>[/<sub>]]: only the endpoints read here
_PATH_RE = re.compile(r"/v1/([^/]+)/(matters|events|eventitems)(?:/(\d+)(?:/([a-z]+))?)?/?$",
                      re.I)
_ENDPOINTS = {
    ("matters", False, None): "matters",
    ("matters", True, None): "matter",
    ("matters", True, "attachments"): "attachments",
    ("matters", True, "histories"): "histories",
    ("events", False, None): "events",
    ("events", True, "eventitems"): "event_items",
    ("eventitems", True, "votes"): "votes",
}
# keys the legisearch tool nests under an EventItem (not API fields of the item)
NESTED_KEYS = ("Matter", "Attachments", "attachments", "Histories", "Votes", "Sponsors",
               "Versions", "RollCalls", "CodeSections")


# ---- where things are ---------------------------------------------------------------------
def api_path(url: str) -> tuple[str, str, int | None] | None:
    """(client, kind, id) for a Legistar Web API URL this module reads, else None.

    kind: matters, matter, attachments, histories, events, event_items, votes."""
    m = _PATH_RE.search(urlsplit(url).path)
    if not m:
        return None
    client, endpoint, ident, sub = unquote(m[1]), m[2].lower(), m[3], (m[4] or "").lower()
    kind = _ENDPOINTS.get((endpoint, ident is not None, sub or None))
    if kind is None or not client:
        return None
    return client.lower(), kind, int(ident) if ident else None


def matter_url(client: str, matter_id: int, guid: str | None) -> str | None:
    """The matter's public page. Legistar's InSite shows a matter at
    LegislationDetail.aspx?ID=<MatterId>&GUID=<MatterGuid> (both are needed), so without the
    GUID there is no page to point to."""
    if not guid:
        return None
    return f"https://{client}.legistar.com/LegislationDetail.aspx?ID={matter_id}&GUID={guid}"


def context_fragment(**values: Any) -> str:
    """What the spider knew when it asked, as a URL fragment (``#matter=..&terms=a,b``)."""
    pairs = []
    for key, value in values.items():
        if value is None or value == "" or value == []:
            continue
        if isinstance(value, (list, tuple, set)):
            value = ",".join(sorted(value))
        pairs.append((key, str(value)))
    return "#" + urlencode(pairs) if pairs else ""


def _context(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).fragment).items() if v}


# ---- values -------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _day(value: Any) -> str | None:
    """"2017-09-12T00:00:00" -> "2017-09-12" (Legistar dates carry a midnight time)."""
    text = _text(value)
    return text[:10] if text and re.match(r"\d{4}-\d{2}-\d{2}", text) else None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _file_type(name: str | None, url: str | None) -> str | None:
    for text in (name, urlsplit(url).path if url else None):
        suffix = PurePosixPath(text).suffix.lower().lstrip(".") if text else ""
        if suffix and suffix.isalnum() and len(suffix) <= 5:
            return suffix
    return None


def _terms_of(text: str | None) -> list[str]:
    return [t for t in (text or "").split(",") if t]


# ---- records ------------------------------------------------------------------------------
def _matter(m: dict[str, Any], client: str, terms: list[str]) -> CouncilMatter | None:
    matter_id = _int(m.get("MatterId"))
    if matter_id is None:
        return None
    guid = _text(m.get("MatterGuid"))
    extra = {k: v for k, v in {
        "guid": guid, "enactment_date": _day(m.get("MatterEnactmentDate")),
        "version": _text(m.get("MatterVersion")),
        "restricted": True if m.get("MatterRestrictViewViaWeb") else None,
    }.items() if v is not None}
    return CouncilMatter(
        client=client, matter_id=matter_id, file=_text(m.get("MatterFile")),
        name=_text(m.get("MatterName")), title=_text(m.get("MatterTitle")),
        type=_text(m.get("MatterTypeName")), status=_text(m.get("MatterStatusName")),
        body=_text(m.get("MatterBodyName")), intro_date=_day(m.get("MatterIntroDate")),
        agenda_date=_day(m.get("MatterAgendaDate")), passed_date=_day(m.get("MatterPassedDate")),
        enactment_number=_text(m.get("MatterEnactmentNumber")),
        last_modified=_text(m.get("MatterLastModifiedUtc")),
        url=matter_url(client, matter_id, guid), matched_terms=sorted(set(terms)), extra=extra)


def _attachment(a: dict[str, Any], client: str, matter_id: int, parent_terms: list[str]
                ) -> ReleasedFile | None:
    """A MatterAttachment. It is relevant when its name or its matter (title, name, the names
    of the matter's other attachments, or the terms the spider knew) mentions a term."""
    file_id = _int(a.get("MatterAttachmentId"))
    url = _text(a.get("MatterAttachmentHyperlink"))
    if file_id is None and not url:
        return None
    name = _text(a.get("MatterAttachmentName"))
    file_name = _text(a.get("MatterAttachmentFileName"))
    terms = sorted(set(match_terms(name)) | set(parent_terms))
    shown = a.get("MatterAttachmentShowOnInternetPage")
    extra = {k: v for k, v in {
        "file_name": file_name, "guid": _text(a.get("MatterAttachmentGuid")),
        "is_hyperlink": a.get("MatterAttachmentIsHyperlink") or None,
        "supporting_document": a.get("MatterAttachmentIsSupportingDocument") or None,
        "description": _text(a.get("MatterAttachmentDescription")),
        "matter_version": _text(a.get("MatterAttachmentMatterVersion")),
    }.items() if v is not None}
    return ReleasedFile(
        source=SOURCE, portal=client, parent_kind="matter",
        parent_id=f"{SOURCE}:{client}:{matter_id}",
        file_id=str(file_id) if file_id is not None else str(url), url=url, title=name,
        file_type=_file_type(file_name, url),
        published_at=_text(a.get("MatterAttachmentLastModifiedUtc")),
        # not shown on the client's web site: listed by the API, hidden from the public page
        access=None if shown is None else ("public" if shown else "private"),
        relevant=bool(terms), matched_terms=terms, extra=extra)


def _vote(v: dict[str, Any], client: str, ctx: dict[str, Any]) -> CouncilVote | None:
    vote_id = _int(v.get("VoteId"))
    item_id = _int(v.get("VoteEventItemId")) or _int(ctx.get("event_item"))
    if vote_id is None or item_id is None:
        return None
    return CouncilVote(
        client=client, vote_id=vote_id, event_item_id=item_id,
        matter_id=_int(ctx.get("matter")), event_id=_int(ctx.get("event")),
        event_date=_day(ctx.get("date")), body=_text(ctx.get("body")),
        person=_text(v.get("VotePersonName")), value=_text(v.get("VoteValueName")),
        result=_int(v.get("VoteResult")), action=_text(ctx.get("action")),
        passed=_text(ctx.get("passed")))


def _item_attachments(item: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The attachments listed with an agenda item: the API's EventItemMatterAttachments
    (Attachments=1), else the legisearch tool's nested list. None when neither is there."""
    for key in ("EventItemMatterAttachments", "Attachments"):
        value = item.get(key)
        if isinstance(value, list):
            return [a for a in value if isinstance(a, dict)]
    return None


def _event_items(items: list[Any], client: str, event: dict[str, Any] | None,
                 page: RecordsPage) -> None:
    """Matters, attachments and (nested) votes of one meeting's agenda items."""
    event = event or {}
    matters: dict[int, CouncilMatter] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        matter_id = _int(item.get("EventItemMatterId"))
        if matter_id is None:
            continue
        nested = item.get("Matter") if isinstance(item.get("Matter"), dict) else None
        attachments = _item_attachments(item) or []
        names = [_text(a.get("MatterAttachmentName")) for a in attachments]
        item_title = _text(item.get("EventItemTitle"))
        extra_terms = match_terms(*names)
        if nested:
            extra_terms = sorted(set(extra_terms) | set(match_terms(item_title)))
            matter = _matter(nested, client, extra_terms)
        else:
            guid = _text(item.get("EventItemMatterGuid"))
            matter = CouncilMatter(
                client=client, matter_id=matter_id, file=_text(item.get("EventItemMatterFile")),
                name=_text(item.get("EventItemMatterName")), title=item_title,
                type=_text(item.get("EventItemMatterType")),
                status=_text(item.get("EventItemMatterStatus")),
                url=matter_url(client, matter_id, guid),
                matched_terms=sorted(set(extra_terms)), extra={"guid": guid} if guid else {})
        if matter is None:
            continue
        known = matters.get(matter_id)
        if known is not None:  # one matter twice on an agenda: keep every term found
            known.matched_terms = sorted(set(known.matched_terms) | set(matter.matched_terms))
            matter = known
        else:
            matters[matter_id] = matter
        if event.get("EventInSiteURL"):
            matter.extra.setdefault("meeting_url", event["EventInSiteURL"])
        parent_terms = sorted(set(match_terms(matter.title, matter.name, item_title))
                              | set(matter.matched_terms))
        for a in attachments:
            if (f := _attachment(a, client, matter_id, parent_terms)) is not None:
                page.files.append(f)
        if isinstance(item.get("Attachments"), str) and not attachments:
            # legisearch's own {"name": "url"} map, only when no MatterAttachment is nested
            try:
                pairs = json.loads(item["Attachments"])
            except ValueError:
                pairs = {}
            for name, link in (pairs.items() if isinstance(pairs, dict) else []):
                f = _attachment({"MatterAttachmentName": name, "MatterAttachmentHyperlink": link},
                                client, matter_id, parent_terms)
                if f is not None:
                    page.files.append(f)
        ctx = {"matter": matter_id, "event": item.get("EventItemEventId") or event.get("EventId"),
               "date": event.get("EventDate"), "body": event.get("EventBodyName"),
               "action": item.get("EventItemActionName"),
               "passed": item.get("EventItemPassedFlagName"),
               "event_item": item.get("EventItemId")}
        for v in item.get("Votes") if isinstance(item.get("Votes"), list) else []:
            if isinstance(v, dict) and (vote := _vote(v, client, ctx)) is not None:
                page.votes.append(vote)
    page.matters.extend(matters.values())


# ---- shapes -------------------------------------------------------------------------------
def _rows(data: Any, key: str) -> list[dict[str, Any]] | None:
    """A list answer whose rows all carry `key` (an empty list counts), else None."""
    if not isinstance(data, list):
        return None
    if all(isinstance(row, dict) and key in row for row in data):
        return data
    return None


def _error_message(data: Any) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("Message"), str) and not any(
            k.startswith(("Matter", "Event", "Vote")) for k in data):
        detail = data.get("ExceptionMessage") or data.get("MessageDetail")
        return data["Message"] + (f" ({detail})" if isinstance(detail, str) else "")
    return None


def parse_response(body: bytes, url: str) -> RecordsPage | None:
    """What a Legistar Web API answer says (None when it is not one: path or shape)."""
    where = api_path(url or "")
    if where is None:
        return None
    client, kind, ident = where
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if (message := _error_message(data)) is not None:
        return RecordsPage(SOURCE, "error", warnings=[f"legistar {client}: {message}"])
    ctx = _context(url)
    terms = _terms_of(ctx.get("terms"))
    page = RecordsPage(SOURCE, kind)
    if kind == "matters":
        rows = _rows(data, "MatterId")
        if rows is None:
            return None
        page.matters = [m for r in rows if (m := _matter(r, client, terms)) is not None]
        page.total = len(rows)
    elif kind == "matter":
        if not (isinstance(data, dict) and "MatterId" in data):
            return None
        page.matters = [m for m in [_matter(data, client, terms)] if m is not None]
    elif kind == "attachments":
        rows = _rows(data, "MatterAttachmentId")
        if rows is None:
            return None
        names = [_text(r.get("MatterAttachmentName")) for r in rows]
        parent_terms = sorted(set(terms) | set(match_terms(*names)))
        page.files = [f for r in rows
                      if (f := _attachment(r, client, ident or 0, parent_terms)) is not None]
        page.total = len(rows)
    elif kind == "histories":
        rows = _rows(data, "MatterHistoryId")
        if rows is None:
            return None
        page.total = len(rows)
    elif kind == "events":
        rows = _rows(data, "EventId")
        if rows is None:
            return None
        for event in rows:
            items = event.get("items") or event.get("EventItems")
            if isinstance(items, list) and items:
                _event_items(items, client, event, page)
        page.total = len(rows)
    elif kind == "event_items":
        rows = _rows(data, "EventItemId")
        if rows is None:
            return None
        _event_items(rows, client, {"EventId": ident}, page)
        page.total = len(rows)
    elif kind == "votes":
        rows = _rows(data, "VoteId")
        if rows is None:
            return None
        ctx.setdefault("event_item", str(ident))
        page.votes = [v for r in rows if (v := _vote(r, client, ctx)) is not None]
        page.total = len(rows)
    return page


# ---- what the spider reads to go on -------------------------------------------------------
@dataclass
class EventRef:
    """A meeting, as the spider needs it: which agenda to ask for, and its cursor date."""

    event_id: int
    date: str | None
    body: str | None
    last_modified: str | None


@dataclass
class ItemRef:
    """An agenda item about a matter: where its votes are asked for, and their context."""

    event_item_id: int
    event_id: int | None
    matter_id: int
    action: str | None
    passed: str | None
    roll_call: bool
    lists_attachments: bool  # the answer carried EventItemMatterAttachments (Attachments=1)


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def parse_events(body: bytes) -> list[EventRef]:
    rows = _rows(_load(body), "EventId") or []
    return [EventRef(e, _day(r.get("EventDate")), _text(r.get("EventBodyName")),
                     _text(r.get("EventLastModifiedUtc")))
            for r in rows if (e := _int(r.get("EventId"))) is not None]


def event_item_refs(body: bytes) -> list[ItemRef]:
    rows = _rows(_load(body), "EventItemId") or []
    out = []
    for r in rows:
        item_id, matter_id = _int(r.get("EventItemId")), _int(r.get("EventItemMatterId"))
        if item_id is None or matter_id is None:
            continue
        out.append(ItemRef(item_id, _int(r.get("EventItemEventId")), matter_id,
                           _text(r.get("EventItemActionName")),
                           _text(r.get("EventItemPassedFlagName")),
                           bool(r.get("EventItemRollCallFlag")),
                           isinstance(r.get("EventItemMatterAttachments"), list)))
    return out


def history_events(body: bytes) -> list[EventRef]:
    """The meetings a matter went to (MatterHistoryEventId), dated by the action."""
    rows = _rows(_load(body), "MatterHistoryId") or []
    seen: dict[int, EventRef] = {}
    for r in rows:
        event_id = _int(r.get("MatterHistoryEventId"))
        if event_id is not None and event_id not in seen:
            seen[event_id] = EventRef(event_id, _day(r.get("MatterHistoryActionDate")),
                                      _text(r.get("MatterHistoryActionBodyName")), None)
    return list(seen.values())
