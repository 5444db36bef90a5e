"""Load OpenStreetMap ALPR camera nodes into `cameras`, the operator tied to an agency by rule.

The operator tag is free text typed by mappers. It is tied to an agency only when the resolver
places it in a state: by its own words ("Norfolk Police Department" gives no state; "Sutherlin
Police Department (OR)" does), or by the state the camera stands in (the export is made per
state), and only for a public body: a vendor ("Flock Safety") or a shop ("The Home Depot") is
recorded as what it is, not as an agency. Every row says which rule applied.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

from alpr_inventory.resolve.resolver import Resolution
from parsers.records.osm_cameras import OsmCameras

NOT_AGENCIES = frozenset({"private"})
COLUMNS = ("osm_id", "osm_type", "osm_url", "latitude", "longitude", "state", "operator",
           "operator_agency_id", "operator_kind", "operator_rule", "manufacturer", "brand",
           "direction", "mount", "zone", "check_date", "tags", "snapshot_at", "document")


def operator_agency(resolve: Callable[[str], Resolution], operator: str | None,
                    state: str | None) -> tuple[str | None, str | None, str]:
    """(agency id or None, the resolver's kind, the rule) for one camera's operator tag."""
    if not operator:
        return None, None, "no operator tag on the node"
    own = resolve(operator)
    if own.status != "resolved":
        return None, own.kind, f"unresolved: the resolver cannot place '{operator}' ({own.rule})"
    if own.kind in NOT_AGENCIES:
        return None, own.kind, (f"not an agency: the resolver reads '{operator}' as "
                                f"{own.kind} ({own.rule})")
    if own.state:
        return own.agency_id, own.kind, f"resolver: '{operator}' -> {own.agency_id} ({own.rule})"
    if state:
        qualified = resolve(f"{operator} ({state})")
        if qualified.state == state and qualified.kind == own.kind and \
                qualified.kind not in NOT_AGENCIES:
            return qualified.agency_id, qualified.kind, (
                f"osm_state:{state}: the camera is in the {state} export; '{operator}' read as "
                f"'{operator} ({state})' -> {qualified.agency_id} ({qualified.rule})")
    return None, own.kind, (f"unplaced: the resolver gives '{operator}' no state "
                            f"({own.rule}); not tied to an agency")


def load_cameras(conn: sqlite3.Connection, export: OsmCameras, sha: str,
                 resolve: Callable[[str], Resolution]) -> int:
    """Upsert the export's cameras (a node seen in a newer export keeps the newer reading);
    returns how many rows were written."""
    cache: dict[tuple[str | None, str | None], tuple[str | None, str | None, str]] = {}
    rows: list[tuple[Any, ...]] = []
    for cam in export.cameras:
        key = (cam.operator, cam.state)
        if key not in cache:
            cache[key] = operator_agency(resolve, cam.operator, cam.state)
        agency_id, kind, rule = cache[key]
        rows.append((cam.osm_id, cam.osm_type,
                     f"https://www.openstreetmap.org/{cam.osm_type}/{cam.osm_id}",
                     cam.latitude, cam.longitude, cam.state, cam.operator, agency_id, kind, rule,
                     cam.manufacturer, cam.brand, cam.direction, cam.mount, cam.zone,
                     cam.check_date, json.dumps(cam.tags, ensure_ascii=False, sort_keys=True),
                     export.generated_at, sha))
    columns = ", ".join(COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "osm_id")
    before = conn.total_changes
    conn.executemany(
        f"insert into cameras ({columns}) values ({', '.join('?' * len(COLUMNS))}) "
        f"on conflict (osm_id) do update set {updates} "
        "where coalesce(excluded.snapshot_at, '') >= coalesce(cameras.snapshot_at, '')", rows)
    return conn.total_changes - before


def camera_count(conn: sqlite3.Connection, agency_id: str) -> int:
    """How many mapped cameras name this agency as operator (0 without a cameras table)."""
    try:
        return int(conn.execute("select count(*) from cameras where operator_agency_id = ?",
                                [agency_id]).fetchone()[0])
    except sqlite3.OperationalError:
        return 0
