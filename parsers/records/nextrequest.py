"""NextRequest records portals: what one JSON answer of a tenant's client API says.

A tenant lives at https://<tenant>.nextrequest.com or on a custom domain
(https://pra.sandiegocounty.gov). Its browser client reads JSON from:

- ``/client/requests?search_term=<q>&page_number=N``: ``{total_count, requests[]}``;
- ``/client/requests/<pretty id>``: one request;
- ``/client/request_documents?request_id=<pretty id>&page_number=N``:
  ``{total_documents_count, documents[]}``, 25 per page;
- ``/client/documents?page=N``: the tenant-wide document index ``{documents[]}``.

Files are downloaded from ``<tenant base>/documents/<document id>/download`` (a redirect to a
presigned S3 address); that address is the ReleasedFile's url, so the row joins its fetch.

The tenant is named by the URL the spider asked for: the first label of a
``*.nextrequest.com`` host, else a path segment before ``/client/`` (how tests lay tenants out
on one local server), else the host (a custom domain). Requester names, emails, phone numbers
and addresses are never read into records (``redact_requester`` also strips them from a body
before it is archived). Shapes: corpus/apis/records_portals/nextrequest_shapes.json.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit, urlunsplit

from parsers.records import RecordsPage, RecordsRequest, ReleasedFile, match_terms

# Recorded with every document this parser reads (NextRequest answers):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "nextrequest/1"

__all__ = [
    "documents_url",
    "download_url",
    "is_private_field",
    "is_throttle_body",
    "parse_response",
    "redact_requester",
    "requests_url",
    "tenant_base",
    "tenant_name",
]

SOURCE = "nextrequest"
_CLIENT = "/client/"
_DETAIL_RE = re.compile(r"/client/requests/([^/]+)/?")
# keys that name or reach the person who asked (or anyone else's contact details)
_PRIVATE_KEY_RE = re.compile(r"requester|email|phone|address", re.I)
_US_DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_RE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")
_THROTTLE_RE = re.compile(rb"retry\s+later", re.I)
THROTTLE_BODY_MAX = 1024  # a "Retry later" answer is a line of text, never a document


def is_private_field(key: str) -> bool:
    """Whether a field identifies or reaches a private person (never stored)."""
    return bool(_PRIVATE_KEY_RE.search(key))


def is_throttle_body(body: bytes) -> bool:
    """NextRequest's HTTP-200 "Retry later" answer: short, not JSON, says to retry."""
    head = body.lstrip()[:1]
    return (len(body) <= THROTTLE_BODY_MAX and head not in (b"{", b"[")
            and bool(_THROTTLE_RE.search(body)))


# ---- where things are ------------------------------------------------------------------
def tenant_base(url: str) -> str | None:
    """scheme://host[/prefix] of the tenant a client-API URL belongs to (None if the URL is
    not one: it has no /client/ segment)."""
    parts = urlsplit(url)
    cut = parts.path.find(_CLIENT)
    if cut < 0:
        return None
    return urlunsplit((parts.scheme, parts.netloc, parts.path[:cut], "", "")).rstrip("/")


def tenant_name(url: str) -> str | None:
    """The tenant: `oaklandca` for oaklandca.nextrequest.com; the segment before /client/ on
    a shared host (tests: 127.0.0.1:PORT/oaklandca/client/...); else the custom domain."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host.endswith(".nextrequest.com"):
        return host.split(".", 1)[0]
    path = parts.path
    cut = path.find(_CLIENT)
    prefix = [s for s in (path[:cut] if cut >= 0 else "").split("/") if s]
    if prefix:
        return prefix[-1]
    return host or None


def requests_url(base: str, term: str, page: int) -> str:
    return f"{base}/client/requests?search_term={quote(term)}&page_number={page}"


def documents_url(base: str, request_id: str, page: int) -> str:
    return f"{base}/client/request_documents?request_id={quote(request_id)}&page_number={page}"


def download_url(base: str, document_id: str | int) -> str:
    """Where a document is downloaded from: the url of its ReleasedFile and of its fetch."""
    return f"{base}/documents/{document_id}/download"


# ---- values -----------------------------------------------------------------------------
def _iso_date(value: Any) -> str | None:
    """"07/07/2026", "Uploaded: 07/09/2026" -> "2026-07-07"; ISO values are kept as given."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if m := _US_DATE_RE.search(text):
        month, day, year = int(m[1]), int(m[2]), int(m[3])
        try:
            return datetime(year, month, day).date().isoformat()
        except ValueError:
            return None
    if m := _ISO_RE.match(text):
        return m[0]
    return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):  # some tenants may list departments
        value = ", ".join(str(v) for v in value if v)
    text = str(value).strip()
    return text or None


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}


def _public_extra(item: dict[str, Any], used: set[str]) -> dict[str, Any]:
    """Published fields not mapped to a column, without anything about private persons."""
    return {k: v for k, v in item.items()
            if k not in used and not is_private_field(k) and v not in (None, "", [], {})}


# ---- records ----------------------------------------------------------------------------
_REQUEST_FIELDS = {"id", "pretty_id", "request_text", "request_state", "state",
                   "department_names", "request_date", "request_path", "visibility",
                   "due_date"}


def _request(item: dict[str, Any], tenant: str, base: str | None,
             fallback_id: str | None = None) -> RecordsRequest | None:
    request_id = _text(item.get("pretty_id") or item.get("id") or fallback_id)
    if not request_id:
        return None
    path = _text(item.get("request_path")) or f"/requests/{request_id}"
    extra = _public_extra(item, _REQUEST_FIELDS)
    due = _iso_date(item.get("due_date"))
    if due:
        extra["due_date"] = due
    elif item.get("due_date"):
        extra["due_date_raw"] = item["due_date"]
    return RecordsRequest(
        source=SOURCE, portal=tenant, request_id=request_id, title=None,
        request_text=_text(item.get("request_text")),
        status=_text(item.get("request_state") or item.get("state")),
        agency=_text(item.get("department_names")),
        submitted_at=_iso_date(item.get("request_date")),
        url=f"{base}{path if path.startswith('/') else '/' + path}" if base else None,
        visibility=_text(item.get("visibility")), extra=extra)


_FILE_FIELDS = {"id", "title", "document_scan", "visibility", "upload_date", "created_at",
                "file_extension", "request_id", "pretty_id", "asset_url", "review_state"}


def _file(doc: dict[str, Any], tenant: str, base: str, request_id: str | None,
          parent_url: str) -> ReleasedFile | None:
    scan = doc.get("document_scan") if isinstance(doc.get("document_scan"), dict) else {}
    doc_id = doc.get("id") or scan.get("document_id")
    if doc_id is None:
        return None
    pretty = _text(scan.get("pretty_id") or doc.get("pretty_id")) or request_id
    title = _text(doc.get("title") or scan.get("title"))
    terms = match_terms(title)
    access = _text(doc.get("visibility") or scan.get("visibility"))
    extra = {k: doc[k] for k in ("asset_url", "review_state") if doc.get(k)}
    extra.update(_public_extra(doc, _FILE_FIELDS | {"link", "folder_id",
                                                    "exempt_from_retention"}))
    if doc.get("link"):
        extra["link"] = True  # a link to elsewhere rather than an uploaded file
    if isinstance(doc.get("request_id"), int):
        extra["request_internal_id"] = doc["request_id"]
    return ReleasedFile(
        source=SOURCE, portal=tenant,
        parent_kind="request" if pretty else "page",
        parent_id=f"{SOURCE}:{tenant}:{pretty}" if pretty else parent_url,
        file_id=str(doc_id), url=download_url(base, doc_id), title=title,
        file_type=_text(scan.get("file_type") or doc.get("file_extension")),
        # the scan's timestamp is exact; the listing's "Uploaded: 07/09/2026" is a day
        published_at=_iso_date(scan.get("upload_date")) or _iso_date(doc.get("upload_date"))
        or _iso_date(doc.get("created_at")),
        access=access.lower() if access else None, relevant=bool(terms),
        matched_terms=terms, extra=extra)


def _total(data: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def parse_response(body: bytes, url: str) -> RecordsPage | None:
    """The records in one NextRequest client-API answer; None for anything else."""
    base, tenant = tenant_base(url), tenant_name(url)
    if base is None or tenant is None:
        return None
    path = urlsplit(url).path
    client_path = path[path.find(_CLIENT):].rstrip("/")
    if client_path not in ("/client/requests", "/client/request_documents",
                           "/client/documents") and not _DETAIL_RE.fullmatch(client_path):
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None

    if client_path == "/client/requests":
        items = data.get("requests")
        if not isinstance(items, list) or "total_count" not in data:
            return None
        page = RecordsPage(SOURCE, "requests", total=_total(data, "total_count"))
        for item in items:
            record = _request(item, tenant, base) if isinstance(item, dict) else None
            if record is None:
                page.warnings.append(f"request without an id: {str(item)[:80]}")
            else:
                page.requests.append(record)
        return page

    if m := _DETAIL_RE.fullmatch(client_path):
        item = data.get("request") if isinstance(data.get("request"), dict) else data
        if not {"request_text", "request_state", "request_date"} & set(item):
            return None
        record = _request(item, tenant, base, fallback_id=m[1])
        return RecordsPage(SOURCE, "request", requests=[record] if record else [])

    docs = data.get("documents")
    if not isinstance(docs, list):
        return None
    if client_path == "/client/request_documents":
        if "total_documents_count" not in data and "current_documents_count" not in data:
            return None
        kind, request_id = "request_documents", _query(url).get("request_id")
        total = _total(data, "total_documents_count", "current_documents_count")
    else:
        kind, request_id, total = "documents", None, _total(data, "total_count")
    listing = urlunsplit(urlsplit(url)._replace(query="", fragment=""))
    page = RecordsPage(SOURCE, kind, total=total)
    for doc in docs:
        released = _file(doc, tenant, base, request_id, listing) if isinstance(doc, dict) else None
        if released is None:
            page.warnings.append(f"document without an id: {str(doc)[:80]}")
        else:
            page.files.append(released)
    return page


# ---- privacy before archiving --------------------------------------------------------------
def _strip_private(value: Any) -> int:
    """Null every private field in place; the number nulled."""
    count = 0
    if isinstance(value, dict):
        for key in list(value):
            if is_private_field(key) and value[key] not in (None, "", [], {}):
                value[key] = None
                count += 1
            else:
                count += _strip_private(value[key])
    elif isinstance(value, list):
        count += sum(_strip_private(v) for v in value)
    return count


def redact_requester(body: bytes) -> tuple[bytes, int]:
    """The body with requester names, emails, phones and addresses nulled, and how many were.

    Bodies without any such value come back unchanged (byte for byte), so identical answers
    keep one archived copy; a redacted body is re-serialised as compact JSON.
    """
    if body.lstrip()[:1] not in (b"{", b"["):
        return body, 0
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body, 0
    count = _strip_private(data)
    if not count:
        return body, 0
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), count
