"""The one item the spiders yield: a fetched document, plus the parse the spider already did."""

from __future__ import annotations

from dataclasses import dataclass

from alpr_inventory.ingest import Fetched
from parsers.model import PortalPage


@dataclass
class DocumentItem:
    fetched: Fetched
    page: PortalPage | None = None  # reused by the pipeline so a page is parsed once
