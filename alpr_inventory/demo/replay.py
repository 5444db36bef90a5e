"""A local replay server for captured portal pages, speaking just enough Memento (RFC 7089).

It lets the real spider crawl dated captures offline, on 127.0.0.1 only:

* `GET /<slug>` redirects (302) to the newest capture, like a Memento TimeGate;
* `GET /<slug>/<YYYY-MM-DD>` serves that capture with `Memento-Datetime`, and a `Link` header
  naming the original portal URL (`rel="original"`) and every capture (`rel="memento"`); an
  unknown slug's 404 and the recorded block pages name their original portal URL too;
* recorded non-portal pages are served with the status they stand for: a file named
  `blocked_cloudflare_<code>_<slug>_<date>.html` as HTTP 429 at `/<slug>`, and
  `not_found_<slug>_<date>.html` as HTTP 404;
* an unknown slug gets the recorded Flock 'page not found' page (404) when there is one;
* `/robots.txt` allows everything, so the spider's robots.txt handling runs for real.

Layout read (the `corpus/flock` folder): dated captures in `<root>/portals/<slug>/`, and, for
the 2026 layouts, `<root>/portals_transitional/<slug>/` and `<root>/portals_new/<slug>/`, all as
`<YYYY-MM-DD>.html`; one slug's captures from every folder form one Memento timeline, so a crawl
sees its history across the layout changes. Recorded block and not-found pages are
`<root>/portals_new/*.html`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self
from urllib.parse import quote, unquote, urlparse

from alpr_inventory.settings import FLOCK_PORTAL_BASE

DATE_FILE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.html?$")
# folders of `<slug>/<YYYY-MM-DD>.html` captures, oldest layout first
CAPTURE_FOLDERS = ("portals", "portals_transitional", "portals_new")
BLOCKED_FILE = re.compile(r"^blocked_cloudflare_(\d+)_(.+)_(\d{4}-\d{2}(?:-\d{2})?)\.html?$")
NOT_FOUND_FILE = re.compile(r"^not_found_(.+)_(\d{4}-\d{2}(?:-\d{2})?)\.html?$")


@dataclass
class Special:
    status: int
    path: Path
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ReplayCorpus:
    """What the server can serve: dated captures per slug and recorded special pages."""

    captures: dict[str, dict[str, Path]] = field(default_factory=dict)  # slug -> date -> file
    specials: dict[str, Special] = field(default_factory=dict)  # slug -> page with a status
    not_found_page: Path | None = None
    robots_txt: str = "User-agent: *\nAllow: /\n"
    hits: Counter[str] = field(default_factory=Counter)  # path -> requests served
    hit_times: dict[str, list[float]] = field(default_factory=dict)
    user_agents: set[str] = field(default_factory=set)

    @classmethod
    def from_dir(cls, root: str | Path) -> ReplayCorpus:
        root = Path(root)
        corpus = cls()
        for folder in CAPTURE_FOLDERS:
            portals = root / folder
            if not portals.is_dir():
                continue
            for slug_dir in sorted(p for p in portals.iterdir() if p.is_dir()):
                dates = corpus.captures.setdefault(slug_dir.name, {})
                for f in sorted(slug_dir.iterdir()):
                    if (m := DATE_FILE.match(f.name)) and m.group(1) not in dates:
                        dates[m.group(1)] = f  # a date already seen in an earlier folder wins
                if dates:
                    corpus.captures[slug_dir.name] = dict(sorted(dates.items()))
                else:
                    del corpus.captures[slug_dir.name]
        for extra in sorted((root / "portals_new").glob("*.htm*")):
            if m := BLOCKED_FILE.match(extra.name):
                status = 429 if m.group(1) == "1015" else 403
                corpus.specials[m.group(2)] = Special(status, extra)
            elif m := NOT_FOUND_FILE.match(extra.name):
                corpus.specials[m.group(1)] = Special(404, extra)
                corpus.not_found_page = corpus.not_found_page or extra
        return corpus

    @property
    def slugs(self) -> list[str]:
        return sorted(set(self.captures) | set(self.specials))

    def capture_count(self) -> int:
        return sum(len(d) for d in self.captures.values())


def _http_date(day: str) -> str:
    return format_datetime(datetime.fromisoformat(day + "T00:00:00+00:00"), usegmt=True)


class ReplayHandler(BaseHTTPRequestHandler):
    corpus: ReplayCorpus
    server_version = "alpr-inventory-replay/1"

    def log_message(self, format: str, *args: object) -> None:  # quiet: the spider logs
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = unquote(urlparse(self.path).path)
        corpus = self.corpus
        corpus.hits[path] += 1
        corpus.user_agents.add(self.headers.get("User-Agent", ""))
        corpus.hit_times.setdefault(path, []).append(time.monotonic())
        if path == "/robots.txt":
            return self._send(200, corpus.robots_txt.encode(), "text/plain")
        parts = [p for p in path.split("/") if p != ""] if path.strip("/") else []
        slug, day = (parts[0], parts[1]) if len(parts) == 2 else (parts[0] if parts else "", None)
        # every answer about a slug names the portal it stands for (rel="original"), so a
        # crawl records the portal's address, not this server's (its port changes every run)
        original = {"Link": f'<{FLOCK_PORTAL_BASE + quote(slug)}>; rel="original"'}
        if slug in corpus.specials and day is None:
            special = corpus.specials[slug]
            return self._send(special.status, special.path.read_bytes(), "text/html; charset=utf-8",
                              {**original, **special.headers})
        dates = corpus.captures.get(slug)
        if not dates:
            body = corpus.not_found_page.read_bytes() if corpus.not_found_page else b"Not found"
            return self._send(404, body, "text/html; charset=utf-8", original)
        if day is None:
            newest = next(reversed(dates))
            return self._send(302, b"", "text/plain",
                              {"Location": f"/{quote(slug)}/{newest}", "Vary": "accept-datetime"})
        if day not in dates:
            return self._send(404, b"No capture on that date", "text/plain")
        original = FLOCK_PORTAL_BASE + quote(slug)
        links = [f'<{original}>; rel="original"'] + [
            f'</{quote(slug)}/{d}>; rel="memento"; datetime="{_http_date(d)}"' for d in dates
        ]
        headers = {"Memento-Datetime": _http_date(day), "Link": ", ".join(links)}
        return self._send(200, dates[day].read_bytes(), "text/html; charset=utf-8", headers)

    def _send(self, status: int, body: bytes, content_type: str,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


class LocalServer:
    """An HTTP server in a background thread on 127.0.0.1 (port 0 = any free port), used as a
    context manager. The replay servers and the tests' API server are this with a handler."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0,
                 host: str = "127.0.0.1"):
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ReplayServer(LocalServer):
    """The corpus replay (ReplayHandler) on 127.0.0.1."""

    def __init__(self, corpus: ReplayCorpus, port: int = 0, host: str = "127.0.0.1"):
        super().__init__(type("BoundReplayHandler", (ReplayHandler,), {"corpus": corpus}),
                         port, host)
