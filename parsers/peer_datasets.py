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
    if not head or b"\x00" in head or head.lstrip()[:1] in (b"<", b"{", b"["):
        return None
    try:
        first = head.decode("utf-8-sig").splitlines()[0]
    except (UnicodeDecodeError, IndexError):
        return None
    columns = next(csv.reader([first]), [])
    return [c.strip() for c in columns] if len(columns) >= 2 else None


def is_news_observer_access(columns: list[str] | None) -> bool:
    return bool(columns) and tuple(columns[:2]) == NEWS_OBSERVER_ACCESS_COLUMNS


def parse_news_observer_access(body: bytes) -> PeerSharing:
    """Group the N&O edge list by source agency, names kept as published (trimmed)."""
    reader = csv.DictReader(io.StringIO(body.decode("utf-8-sig")))
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
