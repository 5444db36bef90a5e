"""A local HTTP server on 127.0.0.1 that answers like a records-portal API, for spider tests.

Tests register routes (method, path regex, optional query filter) with one answer or a
sequence of answers (the last repeats), e.g. a "Retry later" page first and the data second.
Every request is logged in `hits`, so a test can assert that a re-run asked for nothing new.
The answers tests register are built from the shapes in corpus/apis/ and say so.

An answer can also misbehave, for the crawl-failure tests: stall before answering (`delay`),
declare a longer body than it sends (`declared_length`: the connection closes early), or send
no Content-Length at all (`send_length=False`: the body ends when the connection closes).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from alpr_inventory.demo.replay import LocalServer


@dataclass
class Answer:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a stall), cut short when the server stops
    declared_length: int | None = None  # Content-Length to declare instead of the real one
    send_length: bool = True  # False: no Content-Length, the body ends with the connection

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        body = self.body
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
            headers.setdefault("Content-Type", "text/html; charset=utf-8")
        return body, headers


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Route:
    method: str
    path: re.Pattern[str]
    query: dict[str, str] | None
    answers: list[Answer] | Callable[[Hit], Answer]
    calls: int = 0

    def matches(self, hit: Hit) -> bool:
        if hit.method != self.method or not self.path.fullmatch(hit.path):
            return False
        return all(hit.query.get(k, [None])[0] == v for k, v in (self.query or {}).items())

    def answer(self, hit: Hit) -> Answer:
        self.calls += 1
        if callable(self.answers):
            return self.answers(hit)
        return self.answers[min(self.calls, len(self.answers)) - 1]


class ApiServer(LocalServer):
    """`with ApiServer() as api: api.add("GET", r"/v1/x/Matters", Answer(body=[...]))`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: list[Route] = []
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # ends stalled answers when the server stops
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                hit = Hit(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                          {k.lower(): v for k, v in self.headers.items()},
                          self.rfile.read(length) if length else b"")
                answer = server.dispatch(hit)
                if answer.delay and server.stopping.wait(answer.delay):
                    return
                body, headers = answer.encoded()
                try:
                    self.send_response(answer.status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if answer.send_length:
                        self.send_header("Content-Length",
                                         str(answer.declared_length or len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (a stall, a body over its size limit)

            do_GET = do_POST = do_HEAD = _serve

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler, host=host)

    @property
    def url(self) -> str:
        return self.base_url.rstrip("/")

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        super().__exit__(*exc)

    def add(self, method: str, path: str, answers: Answer | list[Answer] | Callable[[Hit], Answer],
            query: dict[str, str] | None = None) -> Route:
        """Answer METHOD requests whose path fully matches the regex `path` (and whose query
        has the given values). Routes added later win over earlier ones."""
        if isinstance(answers, Answer):
            answers = [answers]
        route = Route(method, re.compile(path), query, answers)
        with self.lock:
            self.routes.insert(0, route)
        return route

    def dispatch(self, hit: Hit) -> Answer:
        with self.lock:
            self.hits.append(hit)
            route = next((r for r in self.routes if r.matches(hit)), None)
        if route is None:
            if hit.path == "/robots.txt":
                return Answer(404, "no robots.txt")
            return Answer(404, {"detail": "Not found."})
        return route.answer(hit)

    def requested(self, path_regex: str) -> list[Hit]:
        rx = re.compile(path_regex)
        return [h for h in self.hits if rx.search(h.path)]

