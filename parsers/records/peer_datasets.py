"""Peer datasets other newsrooms published, recognised by their columns, not their file names.

The News & Observer's "Private Eyes" project (2023-24, MIT licence, credit The News &
Observer) scraped 224 Flock portals; its `agency_access*.csv` has one row per sharing edge:
`src_agency,external_agency,src_agency_id,external_agency_id`, where external_agency was listed
under "external organizations" with access to src_agency's data (outbound, as of the scrape).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from parsers.text_encoding import decode_text, looks_like_utf16

NEWS_OBSERVER_ACCESS_COLUMNS = ("src_agency", "external_agency")
PARSER_VERSION = "peer_datasets/1"


@dataclass
class PeerSharing:
    """Sharing lists from a peer dataset: list agency -> names that can see its data."""

    dataset: str
    columns: list[str]
    outbound: dict[str, list[str]] = field(default_factory=dict)
    rows: int = 0
    warnings: list[str] = field(default_factory=list)


def sniff_columns(body: bytes) -> list[str] | None:
    """The header of a CSV document, or None if the bytes do not look like CSV text."""
    head = body[:4096]
    if not head:
        return None
    utf16 = head.startswith((b"\xff\xfe", b"\xfe\xff")) or looks_like_utf16(head)
    if not utf16 and b"\x00" in head:
        return None  # binary data
    text, _ = decode_text(head)  # UTF-8 (with or without BOM), UTF-16, cp1252, latin-1
    lines = text.splitlines()
    first = lines[0] if lines else ""
    if first.lstrip()[:1] in ("<", "{", "[") or "\x00" in first:
        return None
    columns = next(csv.reader([first]), [])
    return [c.strip() for c in columns] if len(columns) >= 2 else None


def is_news_observer_access(columns: list[str] | None) -> bool:
    return bool(columns) and tuple(columns[:2]) == NEWS_OBSERVER_ACCESS_COLUMNS


def parse_news_observer_access(body: bytes) -> PeerSharing:
    """Group the N&O edge list by source agency, names kept as published (trimmed)."""
    reader = csv.DictReader(io.StringIO(decode_text(body)[0]))
    result = PeerSharing("news_observer_private_eyes", list(reader.fieldnames or []))
    blank = 0
    for row in reader:
        src = (row.get("src_agency") or "").strip()
        ext = (row.get("external_agency") or "").strip()
        if not src or not ext or src == "NA" or ext == "NA":
            blank += 1
            continue
        result.rows += 1
        names = result.outbound.setdefault(src, [])
        if ext not in names:
            names.append(ext)
    if blank:
        result.warnings.append(f"{blank} rows without a source or external agency were skipped")
    return result


NAME_COLUMNS = ("name", "organization", "organization name", "organisation", "agency",
                "agency name", "org name")


def parse_name_list(body: bytes) -> tuple[list[str], list[str]]:
    """A released list of organisations (e.g. "who shares Flock data with us"): names as
    published, in order, from a CSV's name column or one per line. Returns (names, warnings)."""
    text, _ = decode_text(body)
    columns = sniff_columns(body)
    names: list[str] = []
    warnings: list[str] = []
    keys = [c.strip().lower() for c in columns] if columns else []
    if keys and any(k in NAME_COLUMNS for k in keys):
        at = next(i for i, k in enumerate(keys) if k in NAME_COLUMNS)
        for row in list(csv.reader(io.StringIO(text)))[1:]:
            if len(row) > at and row[at].strip():
                names.append(row[at].strip())
    else:
        if columns:
            warnings.append(f"no name column among {columns!r}: read one name per line")
        names = [line.strip() for line in text.splitlines() if line.strip()]
    seen: set[str] = set()
    unique = [n for n in names if not (n in seen or seen.add(n))]
    if len(unique) < len(names):
        warnings.append(f"{len(names) - len(unique)} repeated name(s) listed once")
    return unique, warnings
