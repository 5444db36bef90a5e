"""Placeholder: being written (issue 5)."""

from __future__ import annotations

from .records import RecordsPage


def parse_response(body: bytes, url: str) -> RecordsPage | None:
    return None
