"""A second, deliberately different reading of the 2026 portal layouts, to check parse_portal.

parse_portal walks an lxml tree through declarative layout descriptions. This module shares
none of it: it feeds the page to the standard library's ``html.parser``, turns it into a flat
stream of text chunks (the text of every ``<p>`` and of every ``<div>`` that holds text
directly) and of organisation cells (``data-tp-full-value``), and reads:

* numbers: the chunk after one of Flock's fixed subtitles (for a card without a subtitle, the
  chunk after a label naming the metric);
* the organisation cells, in page order, skipping the filler cells of an odd-length table;
* the audit rows: the ``data:text/csv`` link found by a regular expression, decoded with
  ``urllib.parse.unquote`` and read with ``csv.DictReader``.

Used by tests/parsers/flock/test_portal_layouts.py on every real page of portals_transitional/ and
portals_new/<slug>/; it knows nothing of classic comma-separated lists.
"""

from __future__ import annotations

import csv
import html
import io
import re
from html.parser import HTMLParser
from urllib.parse import unquote

SUBTITLES = {  # Flock's grey line under a card -> field (as seen on the real pages)
    "The number of days data is retained.": "retention_days",
    "Number of LPR and other cameras.": "cameras",
    "Number of unique plate reads over the last 30 days.": "vehicles_30d",
    "Total hotlist hits over the last 30 days.": "hotlist_hits_30d",
    "Total user search sessions over the last 30 days.": "searches_30d",
    "National and statewide hotlist sources.": "hotlists",
}
LABEL_WORDS = [  # a card without a subtitle: the first of these words in its label decides
    ("camera", "cameras"), ("retention", "retention_days"), ("vehicles", "vehicles_30d"),
    ("hotlist hits", "hotlist_hits_30d"), ("searches", "searches_30d"),
]
_VOID = {"br", "img", "meta", "link", "input", "hr", "source", "area", "base", "col", "wbr",
         "path"}


class _Stream(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []  # texts of <p> and text-holding <div>, page order
        self.cells: list[str] = []
        self.skip = 0  # inside <style>/<script>/<head>
        self.texts: list[list[str]] = []  # open text collectors, one per open p/div

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("style", "script", "head", "svg"):
            self.skip += 1
        if tag in _VOID:
            return
        self.stack.append((tag, a))
        in_filler = any("data-tp-access-placeholder" in x for _, x in self.stack)
        if a.get("data-tp-full-value") is not None and not in_filler:
            self.cells.append(a["data-tp-full-value"] or "")
        if tag in ("p", "div"):
            self.texts.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "svg"):
            self.skip = max(0, self.skip - 1)
        if tag in _VOID:
            return
        while self.stack:
            open_tag, attrs = self.stack.pop()
            if open_tag in ("p", "div"):
                text = " ".join("".join(self.texts.pop()).split())
                inside_cell = attrs.get("data-tp-full-value") is not None
                if text and not inside_cell:
                    self.chunks.append(text)
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.skip or not self.texts:
            return
        self.texts[-1].append(data)  # text directly inside the innermost open p/div


def _number(text: str) -> int | None:
    m = re.fullmatch(r"(\d[\d,]*)(?:\s*days?)?", text.strip(), re.I)
    return int(m.group(1).replace(",", "")) if m else None


def read_page(body: bytes) -> dict[str, object]:
    """Numbers, hotlists, organisation cells and audit rows of a 2026-layout portal page."""
    text = body.decode("utf-8", "replace")
    stream = _Stream()
    stream.feed(text)
    stream.close()
    chunks = stream.chunks
    out: dict[str, object] = {"cells": stream.cells}
    for i, chunk in enumerate(chunks[:-1]):
        field = SUBTITLES.get(chunk)
        if field is None:
            lowered = chunk.casefold()
            nxt = chunks[i + 1]
            if len(chunk) < 60 and _number(nxt) is not None and nxt not in SUBTITLES:
                field = next((f for word, f in LABEL_WORDS if word in lowered), None)
                if field is None or field in out:
                    continue
            else:
                continue
        value = chunks[i + 1]
        out[field] = ([v.strip() for v in value.split(",") if v.strip()]
                      if field == "hotlists" else _number(value))
    m = re.search(r'href="(data:text/csv[^"]*)"', text)
    if m:
        payload = html.unescape(m.group(1)).split(",", 1)[1]
        rows = list(csv.DictReader(io.StringIO(unquote(payload), newline="")))
        out["audit"] = [(r["id"], r.get("searchDate"), int(r["networkCount"]),
                         r.get("reason") or r.get("offenseType") or None) for r in rows]
    return out
