"""Dates a document gives about itself: in its file name or title, or in its file metadata.

A capture date must come from the document whenever it can ("the import date is never a
capture date"): an export named ``SharedNetworks_2025_December_29.csv`` (the Title of the
Okaloosa County FL SO sharing report PDF, which Windows' "Print to PDF" copied from the CSV it
printed) was made on 29 December 2025; a PDF's ``CreationDate`` (``D:20251229151025-06'00'``)
or a workbook's created time says when the file itself was made. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

__all__ = ["dates_in_text", "last_date_in_text", "pdf_date"]

_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}
_MONTH = r"(?P<mon>" + "|".join(m[:3] + r"(?:" + m[3:] + r")?" for m in _MONTHS) + r")"
_SEP = r"[-_ .,]*"
_PATTERNS = (
    # 2025-12-29, 2025_12_29, 20251229 (years 2000-2099 only: never a phone number or an id)
    re.compile(r"(?<!\d)(?P<y>20\d{2})(?P<s>[-_.]?)(?P<m>[01]\d)(?P=s)(?P<d>[0-3]\d)(?!\d)"),
    # 2025_December_29, 2025 Dec 29
    re.compile(r"(?<!\d)(?P<y>20\d{2})" + _SEP + _MONTH + _SEP + r"(?P<d>[0-3]?\d)(?!\d)", re.I),
    # December_29_2025, Dec 29, 2025
    re.compile(_MONTH + _SEP + r"(?P<d>[0-3]?\d)" + _SEP + r"(?P<y>20\d{2})(?!\d)", re.I),
    # 29 December 2025
    re.compile(r"(?<!\d)(?P<d>[0-3]?\d)" + _SEP + _MONTH + _SEP + r"(?P<y>20\d{2})(?!\d)", re.I),
)


def _month(m: re.Match[str]) -> int:
    if m.groupdict().get("m"):
        return int(m.group("m"))
    return _MONTHS[next(k for k in _MONTHS if k.startswith(m.group("mon").lower()[:3]))]


def dates_in_text(text: str) -> list[tuple[int, str]]:
    """(position, ISO date) of every valid date written in the text, in order of position."""
    found: dict[int, str] = {}
    for pattern in _PATTERNS:
        for m in pattern.finditer(text or ""):
            try:
                day = date(int(m.group("y")), _month(m), int(m.group("d")))
            except (ValueError, StopIteration):
                continue
            if not any(a <= m.start() < b for a, b in
                       ((p, p + 10) for p in found)):  # one date per place in the text
                found[m.start()] = day.isoformat()
    return sorted(found.items())


def last_date_in_text(text: str) -> str | None:
    """The last date written in a name or title (a period "2025-11-01_2025-12-08" ends on the
    day of the export), as ISO midnight UTC, or None."""
    dates = dates_in_text(text)
    return f"{dates[-1][1]}T00:00:00Z" if dates else None


def pdf_date(value: str | None) -> str | None:
    """A PDF date string (``D:20251229151025-06'00'``) as ISO UTC, or None when it is not one."""
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?"
                 r"(?:(Z)|([+-])(\d{2})'?(\d{2})?'?)?", (value or "").strip())
    if not m or not m.group(2):
        return None
    y, mo, d, h, mi, s = (int(m.group(i) or (1 if i in (2, 3) else 0)) for i in range(1, 7))
    tz = UTC
    if m.group(8):
        offset = timedelta(hours=int(m.group(9)), minutes=int(m.group(10) or 0))
        tz = timezone(offset if m.group(8) == "+" else -offset)
    try:
        when = datetime(y, mo, d, h, mi, s, tzinfo=tz)
    except ValueError:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
