"""Seed lists for the portal spider: slugs from files people already maintain.

Pure functions (no Scrapy), so the CLI can show what a seed file yields before crawling.
Formats: plain text (one slug or portal URL per line, '#' comments), CSV with a URL or slug
column (gFLOCK's `Agency Name,Transparency URL`), and JSON registries (sm-alpr's list of
agencies with `slug`/`flock_slugs` and `geo.state`).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

from parsers.names import slug_from_portal_url

STATES = {
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "PR",
}


@dataclass(frozen=True)
class Seed:
    slug: str
    name: str | None = None
    state: str | None = None


def seed_slug(value: str) -> str | None:
    """A portal URL or a bare slug -> the slug."""
    value = value.strip()
    if not value:
        return None
    return slug_from_portal_url(value) if "://" in value else value


def guess_state(name: str | None, slug: str | None) -> str | None:
    """Two-letter state named in an organisation name ("Bell CA PD") or slug ("-wa-pd")."""
    for text, splitter in ((name, r"[^A-Za-z]+"), (slug, r"-+")):
        if not text:
            continue
        tokens = [t for t in re.split(splitter, text) if t]
        hits = [t.upper() for t in tokens if t.upper() in STATES and (text is slug or t.isupper())]
        if hits:
            return hits[-1]
    return None


def read_seeds(path: str | Path) -> list[Seed]:
    """Read a seed file in any supported format; raises ValueError with the reason if unreadable."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        return _json_seeds(json.loads(text))
    if path.suffix.lower() == ".csv":
        return _csv_seeds(text)
    seeds = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        slug = seed_slug(line)
        if slug:
            seeds.append(Seed(slug, None, guess_state(None, slug)))
    return seeds


def _csv_seeds(text: str) -> list[Seed]:
    reader = csv.DictReader(io.StringIO(text))
    fields = {f.lower().strip(): f for f in reader.fieldnames or []}
    url_col = next((fields[k] for k in fields if "url" in k or k == "slug"), None)
    name_col = next((fields[k] for k in fields if "name" in k), None)
    if url_col is None:
        raise ValueError(f"seed CSV needs a URL or slug column; it has {reader.fieldnames}")
    seeds = []
    for row in reader:
        slug = seed_slug(row.get(url_col) or "")
        if slug:
            name = (row.get(name_col) or "").strip() or None if name_col else None
            seeds.append(Seed(slug, name, guess_state(name, slug)))
    return seeds


def _json_seeds(data: object) -> list[Seed]:
    items = data if isinstance(data, list) else (data or {}).get("portals", [])  # type: ignore[union-attr]
    seeds = []
    for item in items:
        if isinstance(item, str):
            slug = seed_slug(item)
            if slug:
                seeds.append(Seed(slug, None, guess_state(None, slug)))
            continue
        slugs = item.get("flock_slugs") or [item.get("slug") or seed_slug(
            item.get("portal_url") or "")]
        names = item.get("flock_names") or [item.get("name") or item.get("display_name")]
        geo_state = (item.get("geo") or {}).get("state") or item.get("state")
        for slug in slugs:
            if slug:
                name = names[0] if names else None
                seeds.append(Seed(slug, name, geo_state or guess_state(name, slug)))
    return seeds


def select_seeds(seeds: list[Seed], state: str | None = None) -> list[Seed]:
    """Deduplicate by slug (first wins) and keep one state's seeds if asked."""
    seen: set[str] = set()
    out = []
    for seed in seeds:
        if seed.slug in seen:
            continue
        if state and (seed.state or "").upper() != state.upper():
            continue
        seen.add(seed.slug)
        out.append(seed)
    return out
