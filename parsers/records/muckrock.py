"""MuckRock API v2 answers (requests/, communications/, files/) as records.

MuckRock's v2 API (https://www.muckrock.com/api_v2/) is Django REST Framework: a listing is
``{count, next, previous, results}``, a detail (``requests/<id>/``) is one object. A request
names its agency by id only and carries no jurisdiction, so its page for a human
(``/foi/<jurisdiction>-<jid>/<slug>-<id>/``) cannot be built from the answer: `url` stays empty
and the slug, tracking id and embargo status go into `extra`.

Files hang off communications, and a ``files/?communication=<id>`` answer does not say which
request the communication belongs to (MuckRock's serializer leaves the link out). The spider
knows it, because it asked ``communications/?foia=<id>`` first, so it writes it into the URL it
records as a fragment: ``files/?communication=501&page_size=50#foia=101``. A fragment is never
sent to the server; it only says where the spider came from, and it is archived with the
fetch, so a reparse reads the same parent. Without it a file's parent is its communication
(``parent_kind="communication"``). The spider only asks about requests whose title or text
matched the tracked terms, so a file listed in an answer about one request is relevant.

Requester identity (the ``user`` id, collaborator ids) is never kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

from parsers.records import RecordsPage, RecordsRequest, ReleasedFile, match_terms

# Recorded with every document this parser reads (MuckRock API answers):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "muckrock/1"

SOURCE = "muckrock"
PORTAL = "www.muckrock.com"  # the API answers for this one site, whatever host served a replay
_ENDPOINT = re.compile(r"/api_v2/(requests|communications|files)(?:/(\d+))?/?$")
_REQUEST_KEYS = ("requested_docs", "embargo_status", "datetime_updated", "datetime_submitted")
_REQUEST_EXTRA = ("slug", "tracking_id", "embargo_status", "price", "tags", "edited_boilerplate")


@dataclass
class Communication:
    """What the spider needs from one communication: which files to ask about."""

    comm_id: int
    foia: int | None
    file_ids: list[int] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)  # objects, when embedded
    files_listed: bool = True  # False: the answer has no `files` key, so ask files/ anyway

    @property
    def has_files(self) -> bool:
        return bool(self.file_ids or self.files) or not self.files_listed


def request_key(foia_id: int | str) -> str:
    """The records_requests id of a MuckRock request (RecordsRequest.key)."""
    return f"{SOURCE}:{PORTAL}:{foia_id}"


def communication_key(comm_id: int | str) -> str:
    return f"{SOURCE}:{PORTAL}:communication:{comm_id}"


def parse_datetime(value: str | None) -> datetime | None:
    """An API date-time (or a bare date) as an aware UTC datetime; naive means UTC."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text[:10])
        except ValueError:
            return None
        when = datetime(day.year, day.month, day.day)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def endpoint(url: str) -> tuple[str, int | None] | None:
    """("requests" | "communications" | "files", detail id or None) for an API v2 URL."""
    match = _ENDPOINT.search(urlsplit(url).path)
    if match is None:
        return None
    return match.group(1), int(match.group(2)) if match.group(2) else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _query_int(url: str, name: str, fragment: bool = False) -> int | None:
    parts = urlsplit(url)
    values = parse_qs(parts.fragment if fragment else parts.query).get(name)
    return _int(values[0]) if values else None


def _is_request(item: Any) -> bool:
    return isinstance(item, dict) and _int(item.get("id")) is not None and "title" in item and (
        any(k in item for k in _REQUEST_KEYS))


def _is_communication(item: Any) -> bool:
    return isinstance(item, dict) and _int(item.get("id")) is not None and "foia" in item and (
        "communication" in item or "subject" in item)


def _is_file(item: Any) -> bool:
    return isinstance(item, dict) and _int(item.get("id")) is not None and "ffile" in item


_SHAPES = {"requests": _is_request, "communications": _is_communication, "files": _is_file}


def _agency(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("name") or (str(value["id"]) if value.get("id") is not None else None)
    if value is None or value == "":
        return None
    return str(value)


def to_request(item: dict[str, Any]) -> RecordsRequest:
    extra = {k: item[k] for k in _REQUEST_EXTRA if item.get(k) not in (None, "", [])}
    agency = item.get("agency")
    if isinstance(agency, dict) and agency.get("id") is not None:
        extra["agency_id"] = agency["id"]
    elif _int(agency) is not None:
        extra["agency_id"] = _int(agency)
    return RecordsRequest(
        source=SOURCE, portal=PORTAL, request_id=str(item["id"]), title=item.get("title"),
        request_text=item.get("requested_docs"), status=item.get("status"),
        agency=_agency(agency), submitted_at=item.get("datetime_submitted"),
        updated_at=item.get("datetime_updated"), done_at=item.get("datetime_done"),
        url=None, visibility=item.get("embargo_status"), extra=extra)


def _file_type(url: str | None) -> str | None:
    if not url:
        return None
    suffix = PurePosixPath(urlsplit(url).path).suffix.lstrip(".").lower()
    return suffix or None


def to_file(item: dict[str, Any], parent_kind: str, parent_id: str, *,
            from_request: bool, communication: int | None = None,
            foia: int | None = None) -> ReleasedFile:
    """A file object (files/ answer, or embedded in a communication) as a ReleasedFile."""
    url = item.get("ffile") or None
    terms = match_terms(item.get("title"), item.get("description"))
    extra = {k: item[k] for k in ("pages", "doc_id", "source", "description")
             if item.get(k) not in (None, "")}
    if communication is not None:
        extra["communication"] = communication
    if foia is not None:
        extra["foia"] = foia
    return ReleasedFile(
        source=SOURCE, portal=PORTAL, parent_kind=parent_kind, parent_id=parent_id,
        file_id=str(item["id"]), url=url, title=item.get("title"), file_type=_file_type(url),
        published_at=item.get("datetime") or item.get("date"),
        access=item.get("access") if isinstance(item.get("access"), str) else None,
        relevant=bool(terms) or from_request, matched_terms=terms, extra=extra)


def _communication(item: dict[str, Any]) -> Communication:
    files = item.get("files")
    listed = isinstance(files, list)
    objects = [f for f in files if _is_file(f)] if listed else []
    ids = [i for f in files if (i := _int(f)) is not None] if listed else []
    return Communication(_int(item["id"]) or 0, _int(item.get("foia")), ids, objects, listed)


def _load(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _items(data: Any, detail: bool) -> tuple[list[Any], int | None, str | None] | None:
    """(items, count, next) of a DRF listing or detail; None when it is neither."""
    if detail:
        return ([data], None, None) if isinstance(data, dict) else None
    if isinstance(data, list):  # pagination switched off
        return data, len(data), None
    if isinstance(data, dict) and isinstance(data.get("results"), list) and "count" in data:
        count = data["count"] if isinstance(data["count"], int) else None
        nxt = data.get("next") if isinstance(data.get("next"), str) else None
        return data["results"], count, nxt
    return None


def communications(body: bytes) -> list[Communication]:
    """The communications of a communications/ answer (empty when it is not one)."""
    data = _load(body)
    found = _items(data, False) or _items(data, True)  # a listing, or one communication
    if found is None:
        return []
    return [_communication(i) for i in found[0] if _is_communication(i)]


def _is_throttle(data: Any) -> bool:
    detail = data.get("detail") if isinstance(data, dict) else None
    return isinstance(detail, str) and "throttled" in detail.lower()


def parse_response(body: bytes, url: str) -> RecordsPage | None:
    """A RecordsPage for a MuckRock API v2 requests / communications / files answer, else None.

    Recognised by the URL path (``/api_v2/<endpoint>/``) and by the DRF shape of the items;
    anything else (other APIs, error bodies such as ``{"detail": "Not found."}``) is None.
    """
    where = endpoint(url or "")
    if where is None:
        return None
    name, detail_id = where
    data = _load(body)
    if data is None:
        return None
    kind = name if detail_id is None else name.rstrip("s")
    if _is_throttle(data):  # DRF's 429 text: "Request was throttled. Expected available in ..."
        return RecordsPage(source=SOURCE, kind=kind, throttled=True,
                           warnings=[str(data["detail"])])
    found = _items(data, detail_id is not None)
    if found is None:
        return None
    items, total, next_url = found
    shape = _SHAPES[name]
    good = [i for i in items if shape(i)]
    if items and not good:
        return None  # a listing of something else under a similar path
    page = RecordsPage(source=SOURCE, kind=kind, total=total, next_url=next_url)
    if len(good) < len(items):
        page.warnings.append(f"{len(items) - len(good)} of {len(items)} {name} items lack the "
                             "expected fields (skipped)")
    if name == "requests":
        page.requests = [to_request(i) for i in good]
    elif name == "communications":
        asked_about = _query_int(url, "foia")  # communications/?foia=<id>: the spider's question
        for comm in map(_communication, good):
            for item in comm.files:  # only when the answer embeds file objects (v2 gives ids)
                if comm.foia is None:
                    page.files.append(to_file(item, "communication", communication_key(
                        comm.comm_id), from_request=False, communication=comm.comm_id))
                else:
                    page.files.append(to_file(
                        item, "request", request_key(comm.foia), communication=comm.comm_id,
                        from_request=asked_about == comm.foia, foia=comm.foia))
    else:
        comm_id = _query_int(url, "communication")
        foia = _query_int(url, "foia", fragment=True)
        for item in good:
            if foia is not None:
                page.files.append(to_file(item, "request", request_key(foia), from_request=True,
                                          communication=comm_id, foia=foia))
            elif comm_id is not None:
                page.files.append(to_file(item, "communication", communication_key(comm_id),
                                          from_request=False, communication=comm_id))
            else:
                page.files.append(to_file(item, "listing", f"{SOURCE}:{PORTAL}:files",
                                          from_request=False))
    return page
