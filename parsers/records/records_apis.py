"""Which records API an archived response came from, and what it says.

Each source module (muckrock, nextrequest, documentcloud, legistar) has
``parse_response(body, url) -> RecordsPage | None`` and answers None for a response that is not
its own (it checks the URL's path and the JSON's shape). The store calls `parse_api_response`
on every JSON document, so listings are read the same way when crawled and when reparsed.
"""

from __future__ import annotations

from parsers.records import RecordsPage, documentcloud, legistar, muckrock, nextrequest

SOURCES = (muckrock, nextrequest, documentcloud, legistar)
PARSERS = tuple(source.parse_response for source in SOURCES)
# the version of the source table above; each answer is recorded with its own source's version
PARSER_VERSION = "records_api/1"


def looks_like_json(body: bytes) -> bool:
    head = body[:64].lstrip()
    return head[:1] in (b"{", b"[")


def parse_api_response(body: bytes, url: str | None) -> RecordsPage | None:
    """The RecordsPage of the first source that recognises the response, else None."""
    read = read_api_response(body, url)
    return read[0] if read else None


def read_api_response(body: bytes, url: str | None) -> tuple[RecordsPage, str] | None:
    """(RecordsPage, the version of the source parser that read it), else None."""
    if not url or not looks_like_json(body):
        return None
    for source in SOURCES:
        page = source.parse_response(body, url)
        if page is not None:
            return page, source.PARSER_VERSION
    return None
