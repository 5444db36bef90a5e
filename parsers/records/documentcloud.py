"""DocumentCloud's API (api.www.documentcloud.org/api/documents/...): the documents it lists.

A search answer is `{count, next, previous, results: [...], escaped}` (DRF style; `next`
carries a `cursor=` with API version 2.0, a `page=` with 1.0). Each result is one document:
id, slug, access (public | organization | private | invisible), status (success | readable |
pending | error | nofile | deleted), title, source (the publishing agency), created_at,
updated_at, page_count, original_extension, file_hash, related_article, organization and
asset_url. Its PDF and full text live under the asset URL:
`<asset_url>documents/<id>/<slug>.pdf` and `.txt`. The PDF URL is the file's `url`, the exact
address the spider downloads, so the listing joins the archived bytes.

`related_article` is often the MuckRock request the document was released in; that URL is
kept as `extra["muckrock_request"]`, the join key with MuckRock's own listings.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

from parsers.records import RecordsPage, ReleasedFile, match_terms

# Recorded with every document this parser reads (DocumentCloud API answers):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "documentcloud/1"

SOURCE = "documentcloud"
PORTAL = "documentcloud"
# statuses that say the document itself is gone or was never processed: the access column
# shows these instead of the (stale) access level, which is kept in extra
GONE_STATUSES = ("deleted", "nofile", "error")
DOWNLOADABLE_STATUSES = ("success", "readable")
_SEARCH_PATH = re.compile(r"/api/documents/search/?$")
_LIST_PATH = re.compile(r"/api/documents/?$")
_DETAIL_PATH = re.compile(r"/api/documents/(\d+)/?$")
_MUCKROCK_REQUEST = re.compile(r"^https?://(?:www\.)?muckrock\.com/foi/[^?#]+", re.I)


def pdf_url(result: dict[str, Any]) -> str | None:
    """Where a result's PDF is: asset_url + documents/<id>/<slug>.pdf."""
    return _asset(result, "pdf")


def text_url(result: dict[str, Any]) -> str | None:
    """Where a result's full text is: asset_url + documents/<id>/<slug>.txt."""
    return _asset(result, "txt")


def _asset(result: dict[str, Any], suffix: str) -> str | None:
    asset, doc_id, slug = result.get("asset_url"), result.get("id"), result.get("slug")
    if not (isinstance(asset, str) and asset and doc_id is not None and slug):
        return None
    if not asset.endswith("/"):
        asset += "/"
    return f"{asset}documents/{doc_id}/{slug}.{suffix}"


def is_downloadable(result: dict[str, Any]) -> bool:
    """Public and processed: the only documents whose assets anyone may fetch."""
    return result.get("access") == "public" and result.get("status") in DOWNLOADABLE_STATUSES


def _looks_like_document(item: Any) -> bool:
    return (isinstance(item, dict) and "id" in item and "slug" in item
            and ("access" in item or "status" in item)
            and ("asset_url" in item or "canonical_url" in item))


def _organization_name(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("name") or value.get("slug")
    return None  # an id only (search without expand=organization): nothing to show


def _muckrock_request(related: Any) -> str | None:
    if isinstance(related, str) and (m := _MUCKROCK_REQUEST.match(related.strip())):
        return m.group(0)
    return None


def released_file(result: dict[str, Any], kind: str = "search") -> ReleasedFile:
    """One listed document as a released file (PDF URL, access, provenance links)."""
    doc_id = str(result["id"])
    access, status = result.get("access"), result.get("status")
    related = result.get("related_article") or None
    organization = result.get("organization")
    extra: dict[str, Any] = {
        "status": status,
        "access": access,
        "slug": result.get("slug"),
        "source": result.get("source"),
        "language": result.get("language"),
        "page_count": result.get("page_count"),
        "file_hash": result.get("file_hash"),
        "text_url": text_url(result),
        "canonical_url": result.get("canonical_url"),
        "related_article": related,
        "organization": _organization_name(organization),
        "organization_id": organization.get("id") if isinstance(organization, dict)
        else organization,
        "updated_at": result.get("updated_at"),
    }
    if muckrock := _muckrock_request(related):
        extra["muckrock_request"] = muckrock
    description = result.get("description")
    terms = match_terms(result.get("title"), description)
    return ReleasedFile(
        source=SOURCE, portal=PORTAL, parent_kind=kind,
        parent_id=related or f"documentcloud:{doc_id}", file_id=doc_id, url=pdf_url(result),
        title=result.get("title"), file_type=result.get("original_extension"),
        published_at=result.get("created_at"),
        access=status if status in GONE_STATUSES else access,
        relevant=bool(terms), matched_terms=terms,
        extra={k: v for k, v in extra.items() if v not in (None, "")})


def _throttle_answer(data: Any) -> bool:
    """DRF's 429 body: {"detail": "Request was throttled. Expected available in N seconds."}"""
    return (isinstance(data, dict) and isinstance(data.get("detail"), str)
            and "throttled" in data["detail"].lower())


def parse_response(body: bytes, url: str) -> RecordsPage | None:
    """A DocumentCloud documents search / list / detail answer, else None."""
    path = urlsplit(url or "").path
    search = bool(_SEARCH_PATH.search(path))
    listing = search or bool(_LIST_PATH.search(path))
    detail = _DETAIL_PATH.search(path)
    if not (listing or detail):
        return None
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    kind = "search" if search else "documents" if listing else "document"
    if _throttle_answer(data):
        return RecordsPage(source=SOURCE, kind=kind, throttled=True,
                           warnings=[str(data["detail"])])
    if detail:
        if not _looks_like_document(data) or str(data["id"]) != detail.group(1):
            return None
        return RecordsPage(source=SOURCE, kind=kind, files=[released_file(data, "search")],
                           total=1)
    if not (isinstance(data, dict) and isinstance(data.get("results"), list)
            and "next" in data):
        return None
    results = data["results"]
    if results and not all(_looks_like_document(r) for r in results):
        return None
    page = RecordsPage(source=SOURCE, kind=kind,
                       files=[released_file(r, "search") for r in results],
                       next_url=data.get("next") or None,
                       total=data["count"] if isinstance(data.get("count"), int) else None)
    if data.get("escaped"):
        page.warnings.append("DocumentCloud escaped the query (syntax error): it searched the "
                             "words literally")
    return page
