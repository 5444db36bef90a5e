"""Which records API an archived response came from, and what it says.

Each source module (muckrock, nextrequest, documentcloud, legistar) has
``parse_response(body, url) -> RecordsPage | None`` and answers None for a response that is not
its own (it checks the URL's path and the JSON's shape). The store calls `parse_api_response`
on every JSON document, so listings are read the same way when crawled and when reparsed.
"""

from __future__ import annotations

from . import documentcloud, legistar, muckrock, nextrequest
from .records import RecordsPage

PARSERS = (muckrock.parse_response, nextrequest.parse_response, documentcloud.parse_response,
           legistar.parse_response)
PARSER_VERSION = "records_api/1"


def looks_like_json(body: bytes) -> bool:
    head = body[:64].lstrip()
    return head[:1] in (b"{", b"[")


def parse_api_response(body: bytes, url: str | None) -> RecordsPage | None:
    """The RecordsPage of the first source that recognises the response, else None."""
    if not url or not looks_like_json(body):
        return None
    for parse in PARSERS:
        page = parse(body, url)
        if page is not None:
            return page
    return None
