"""OpenStreetMap ALPR camera nodes (bytes -> records), as DeFlock-style exports publish them.

Two shapes are read:
- the alpr-sync-usa snapshot: a GeoJSON FeatureCollection of Points whose properties hold the
  node id, the state's name, `operator`, `brand`, `direction` and every raw OSM tag, with a
  `meta` object (generated_at, source, license, attribution);
- Overpass API JSON: `{"elements": [{"type": "node", "id", "lat", "lon", "tags"}]}`.

Only nodes tagged as plate readers (`surveillance:type=ALPR`) are kept; a feature without a
usable position is counted in the warnings, never loaded at (0, 0). OSM data is ODbL 1.0
(© OpenStreetMap contributors): the attribution travels with every load.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from parsers.agreements.ice287g import STATE_NAMES

PARSER_VERSION = "osm_cameras/1"
ODBL_ATTRIBUTION = "© OpenStreetMap contributors, ODbL 1.0"


@dataclass
class Camera:
    osm_id: int
    osm_type: str
    latitude: float
    longitude: float
    state: str | None
    operator: str | None
    manufacturer: str | None
    brand: str | None
    direction: str | None
    mount: str | None
    zone: str | None
    check_date: str | None
    tags: dict[str, str]


@dataclass
class OsmCameras:
    """One export of camera nodes: the cameras, and what the file says about itself."""

    cameras: list[Camera]
    generated_at: str | None
    source: str | None
    license: str | None
    attribution: str | None
    state_name: str | None
    warnings: list[str] = field(default_factory=list)
    # the snapshot's index.json: its state exports and their node counts (no cameras itself)
    index: list[dict[str, Any]] = field(default_factory=list)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _position(lat: Any, lon: Any) -> tuple[float, float] | None:
    try:
        la, lo = float(lat), float(lon)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(la) and math.isfinite(lo)) or abs(la) > 90 or abs(lo) > 180:
        return None
    return la, lo


def _camera(osm_id: Any, osm_type: str, pos: tuple[float, float], tags: dict[str, Any],
            props: dict[str, Any], state_name: str | None) -> Camera:
    tags = {str(k): str(v) for k, v in tags.items() if v is not None}
    state = STATE_NAMES.get((state_name or "").strip().upper())
    return Camera(
        osm_id=int(osm_id), osm_type=osm_type, latitude=pos[0], longitude=pos[1], state=state,
        operator=_text(props.get("operator")) or _text(tags.get("operator")),
        manufacturer=_text(tags.get("manufacturer")),
        brand=_text(props.get("brand")) or _text(tags.get("brand")),
        direction=_text(props.get("direction")) or _text(tags.get("direction"))
        or _text(tags.get("camera:direction")),
        mount=_text(tags.get("camera:mount")), zone=_text(tags.get("surveillance:zone")),
        check_date=_text(tags.get("check_date")), tags=tags)


def is_osm_cameras(data: Any) -> bool:
    """A GeoJSON collection or Overpass answer whose features are OSM ALPR nodes."""
    if not isinstance(data, dict):
        return False
    if data.get("type") == "FeatureCollection" and isinstance(data.get("features"), list):
        feats = [f for f in data["features"][:50] if isinstance(f, dict)]
        return bool(feats) and all(
            ((f.get("properties") or {}).get("tags") or {}).get("surveillance:type") == "ALPR"
            for f in feats)
    if isinstance(data.get("elements"), list):
        elements = [e for e in data.get("elements", [])[:50] if isinstance(e, dict)]
        return bool(elements) and all(
            (e.get("tags") or {}).get("surveillance:type") == "ALPR" for e in elements)
    return False


def _is_export_index(data: Any) -> bool:
    """alpr-sync-usa's index.json: {generated_at, states: [{state, file, count, ok}]}."""
    states = data.get("states") if isinstance(data, dict) else None
    return bool(isinstance(states, list) and states and data.get("generated_at") and all(
        isinstance(s, dict) and {"state", "file", "count"} <= set(s) for s in states))


def parse_osm_cameras(body: bytes) -> OsmCameras | None:
    """The cameras in an export, or None when the bytes are not one."""
    if body[:64].lstrip()[:1] != b"{":
        return None
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if _is_export_index(data):
        states = [{"state": str(s.get("state")), "file": s.get("file"), "count": s.get("count")}
                  for s in data["states"] if isinstance(s, dict)]
        return OsmCameras([], _text(data.get("generated_at")), None, None, None, None, [],
                          states)
    if not is_osm_cameras(data):
        return None
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    cameras: list[Camera] = []
    skipped: dict[str, int] = {}
    state_names: set[str] = set()

    def skip(why: str) -> None:
        skipped[why] = skipped.get(why, 0) + 1

    if data.get("type") == "FeatureCollection":
        for f in data["features"]:
            props = (f or {}).get("properties") or {}
            geom = (f or {}).get("geometry") or {}
            tags = props.get("tags") or {}
            if tags.get("surveillance:type") != "ALPR":
                skip("not tagged surveillance:type=ALPR")
                continue
            coords = geom.get("coordinates") if geom.get("type") == "Point" else None
            pos = _position(coords[1], coords[0]) if isinstance(coords, list) and \
                len(coords) >= 2 else None
            if pos is None or props.get("id") is None:
                skip("no point position or no OSM id")
                continue
            if props.get("state"):
                state_names.add(str(props["state"]))
            # alpr-sync-usa queries nodes (node["man_made"="surveillance"]...): its ids are
            # node ids; a feature that says its type keeps it
            cameras.append(_camera(props["id"], str(props.get("type") or "node"), pos, tags,
                                   props, props.get("state")))
    else:
        for e in data["elements"]:
            tags = (e or {}).get("tags") or {}
            if tags.get("surveillance:type") != "ALPR":
                skip("not tagged surveillance:type=ALPR")
                continue
            center = e.get("center") or {}
            pos = _position(e.get("lat", center.get("lat")), e.get("lon", center.get("lon")))
            if pos is None or e.get("id") is None:
                skip("no position or no OSM id")
                continue
            cameras.append(_camera(e["id"], str(e.get("type") or "node"), pos, tags, {}, None))
    warnings = [f"{n} feature(s) skipped: {why}" for why, n in sorted(skipped.items())]
    return OsmCameras(cameras, _text(meta.get("generated_at")), _text(meta.get("source")),
                      _text(meta.get("license")), _text(meta.get("attribution")),
                      next(iter(state_names)) if len(state_names) == 1 else None, warnings)
