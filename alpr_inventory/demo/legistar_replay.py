"""A local Legistar Web API for client "sanjose", answered from the real sample in the corpus.

The corpus holds one real San Jose meeting as the legisearch tool saved it
(corpus/apis/legistar/legisearch_sanjose_events_with_items.json: Event 1080, City Council
2017-09-12, its 41 agenda items, and under each item with a matter the verbatim API objects the
tool fetched: ``Matter``, ``Attachments``, ``Histories``, ``Votes``, ...). This server answers
the Web API paths the legistar spider asks for from that file, read in place, on 127.0.0.1:

* ``/v1/sanjose/Events``: the event, without the tool's ``items`` (whatever the ``$filter``:
  the sample is one 2017 meeting, and a replay that filtered it out would show nothing);
  ``$top`` / ``$skip`` are applied;
* ``/v1/sanjose/Events/1080/EventItems``: the raw items without the tool's nested keys. With
  ``Attachments=1`` each item's ``EventItemMatterAttachments`` is the tool's nested
  ``Attachments`` list: that field is CONSTRUCTED here (the dump does not keep the API's own
  field), from verbatim MatterAttachment objects;
* ``/v1/sanjose/Matters/<id>``, ``.../Attachments``, ``.../Histories``: the nested objects;
* ``/v1/sanjose/EventItems/<id>/Votes``: the item's nested votes;
* ``/v1/sanjose/Matters?$filter=...``: the sample's matters, filtered by a tiny evaluator of
  the form the spider sends (``substringof('x',MatterTitle) or ...``, case-insensitive, and
  ``Field ge|gt|le|lt|eq datetime'...'`` conditions); anything else, e.g. a quote encoded
  twice (``%27``), is a 400 with a JSON ``Message`` like the real API's ODataException;
* any other client: HTTP 500 with the message the real API gives for a client that does not
  exist ("LegistarConnectionString setting is not set up in InSite for client: X"; the JSON
  envelope around it is constructed); an unknown path or id: 404 with a ``Message``.

Use: ``python -m alpr_inventory.demo.legistar_replay`` prints the base to give the spider
(``alpr-inventory crawl legistar sanjose --base-url http://127.0.0.1:PORT/v1/``).
"""

from __future__ import annotations

import argparse
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from alpr_inventory.demo.replay import LocalServer
from alpr_inventory.settings import corpus_dir

SAMPLE = Path("apis") / "legistar" / "legisearch_sanjose_events_with_items.json"
CLIENT = "sanjose"
PAGE_CAP = 1000
# keys the legisearch tool nests under an EventItem: not fields of the API's EventItem
NESTED_KEYS = ("Matter", "Attachments", "attachments", "Histories", "Votes", "Sponsors",
               "Versions", "RollCalls", "CodeSections")
_SUBSTRING = re.compile(r"substringof\(\s*'((?:[^']|'')*)'\s*,\s*(\w+)\s*\)", re.I)
_COMPARE = re.compile(r"(\w+)\s+(ge|gt|le|lt|eq)\s+datetime'([^']*)'", re.I)
_LEFTOVER = re.compile(r"^[\s()]*(?:(?:and|or)[\s()]*)*$", re.I)


class FilterError(ValueError):
    pass


def filter_rows(expr: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows matching `expr`: any substringof (case-insensitive) and every date comparison.
    Only that form is understood; anything else raises FilterError."""
    substrings = [(m[1].replace("''", "'").lower(), m[2]) for m in _SUBSTRING.finditer(expr)]
    compares = [(m[1], m[2].lower(), m[3]) for m in _COMPARE.finditer(expr)]
    leftover = _COMPARE.sub(" ", _SUBSTRING.sub(" ", expr))
    if not (substrings or compares) or not _LEFTOVER.match(leftover):
        raise FilterError(f"The query specified in the URI is not valid: {expr!r}")
    ops = {"ge": str.__ge__, "gt": str.__gt__, "le": str.__le__, "lt": str.__lt__,
           "eq": str.__eq__}

    def keep(row: dict[str, Any]) -> bool:
        if substrings and not any(text in str(row.get(fld) or "").lower()
                                  for text, fld in substrings):
            return False
        return all(row.get(fld) is not None and ops[op](str(row[fld]), value)
                   for fld, op, value in compares)

    return [row for row in rows if keep(row)]


@dataclass
class LegistarSample:
    """The sample's objects, indexed the way the API serves them."""

    events: list[dict[str, Any]] = field(default_factory=list)
    items: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # event id -> items
    item_attachments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    matters: dict[int, dict[str, Any]] = field(default_factory=dict)
    attachments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    histories: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    votes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)  # item id -> votes
    hits: Counter[str] = field(default_factory=Counter)  # path?query -> requests served
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, path: Path | None = None) -> LegistarSample:
        path = path or corpus_dir() / SAMPLE
        sample = cls()
        for event in json.loads(path.read_text(encoding="utf-8")):
            items = event.get("items") or []
            sample.events.append({k: v for k, v in event.items() if k != "items"})
            raw_items = []
            for item in items:
                raw = {k: v for k, v in item.items() if k not in NESTED_KEYS}
                raw_items.append(raw)
                matter_id = item.get("EventItemMatterId")
                nested = item.get("Attachments")
                attachments = nested if isinstance(nested, list) else []
                sample.item_attachments[item["EventItemId"]] = attachments
                if isinstance(item.get("Votes"), list):
                    sample.votes[item["EventItemId"]] = item["Votes"]
                if matter_id is None:
                    continue
                if isinstance(item.get("Matter"), dict):
                    sample.matters[matter_id] = item["Matter"]
                if isinstance(nested, list):
                    sample.attachments[matter_id] = nested
                if isinstance(item.get("Histories"), list):
                    sample.histories[matter_id] = item["Histories"]
            sample.items[event["EventId"]] = raw_items
        return sample

    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """(status, JSON) for a GET of `path` with `query`."""
        parts = [unquote(p) for p in path.split("/") if p]
        if len(parts) < 3 or parts[0].lower() != "v1":
            return 404, {"Message": f"No HTTP resource was found that matches {path!r}."}
        client, rest = parts[1], [p.lower() for p in parts[2:]]
        if client.lower() != CLIENT:
            return 500, {"Message": "LegistarConnectionString setting is not set up in InSite "
                                    f"for client: {client}"}
        ident = int(rest[1]) if len(rest) > 1 and rest[1].isdigit() else None
        if rest == ["events"]:
            return 200, _page(self.events, query)
        if rest == ["matters"]:
            rows = list(self.matters.values())
            expr = (query.get("$filter") or [""])[0]
            if expr:
                try:
                    rows = filter_rows(expr, rows)
                except FilterError as exc:
                    return 400, {"Message": str(exc)}
            return 200, _page(rows, query)
        if ident is None:
            return 404, {"Message": f"No HTTP resource was found that matches {path!r}."}
        with_attachments = (query.get("Attachments") or ["0"])[0] == "1"
        found: Any = None
        if rest[0] == "events" and rest[2:] == ["eventitems"]:
            found = None if ident not in self.items else [
                {**item, "EventItemMatterAttachments":
                    self.item_attachments.get(item["EventItemId"], []) if with_attachments
                    else []} for item in self.items[ident]]
        elif rest[0] == "matters" and len(rest) == 2:
            found = self.matters.get(ident)
        elif rest[0] == "matters" and rest[2:] == ["attachments"]:
            found = self.attachments.get(ident, [] if ident in self.matters else None)
        elif rest[0] == "matters" and rest[2:] == ["histories"]:
            found = self.histories.get(ident, [] if ident in self.matters else None)
        elif rest[0] == "eventitems" and rest[2:] == ["votes"]:
            found = self.votes.get(ident)
        if found is None:
            return 404, {"Message": f"No HTTP resource was found that matches {path!r}."}
        return 200, found


def _page(rows: list[Any], query: dict[str, list[str]]) -> list[Any]:
    def number(key: str, default: int) -> int:
        try:
            return max(0, int((query.get(key) or [default])[0]))
        except ValueError:
            return default

    skip, top = number("$skip", 0), min(number("$top", PAGE_CAP), PAGE_CAP)
    return rows[skip:skip + top]


class LegistarReplayServer(LocalServer):
    """`with LegistarReplayServer() as api: api.api_base` -> http://127.0.0.1:PORT/v1/."""

    def __init__(self, sample: LegistarSample | None = None, port: int = 0,
                 host: str = "127.0.0.1"):
        self.sample = sample or LegistarSample.load()
        sample_ = self.sample

        class Handler(BaseHTTPRequestHandler):
            server_version = "alpr-inventory-legistar-replay/1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = urlsplit(self.path)
                with sample_.lock:
                    sample_.hits[self.path] += 1
                if parts.path == "/robots.txt":
                    return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
                status, data = sample_.answer(parts.path, parse_qs(parts.query))
                return self._send(status, json.dumps(data).encode(),
                                  "application/json; charset=utf-8")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # the spider logs
                pass

        super().__init__(Handler, port, host)

    @property
    def api_base(self) -> str:
        """What `crawl legistar --base-url` takes."""
        return self.base_url + "v1/"

    @property
    def hits(self) -> Counter[str]:
        return self.sample.hits


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    args = parser.parse_args(argv)
    with LegistarReplayServer(port=args.port) as server:
        print(f"Legistar replay (client {CLIENT}): --base-url {server.api_base}", flush=True)
        try:
            server.thread.join()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
