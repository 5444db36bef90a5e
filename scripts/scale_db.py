"""A synthetic national inventory database, in the project's own schema, for bench_scale.

Sizes default to what a national crawl holds (issue 13): 6,822 agencies, 1,100 portals with 6
captures each (6,600 portal snapshots, 13,407 sharing lists), about a million sharing
intervals and 700,000 changes derived from the same lists, 10,001,446 searches in 6,400
audit documents, 287(g) agreements and the state policies of data/state_policies.csv.

The tables are created by `alpr_inventory.store.schema.ensure_schema` (through `open_db`), so a
schema change reaches the benchmark; rows are written with executemany and, for searches, one
set-based INSERT ... SELECT per document range. Everything is drawn from a seeded generator,
so two builds of the same size are identical. The data are made up (names like "Oakbrook CA
PD"); only their shape is realistic:

- agencies: local police, sheriffs, state agencies, universities, private customers, task
  forces, tribal police, 2% federal bodies (HSI, ERO, Border Patrol sectors, FBI field offices,
  USPIS, DEA, ...), half of them immigration components; some carry Flock's [Federal] label;
- portals: list sizes skewed (the biggest lists ~1,500 organisations in each direction, the
  median ~200), about 60% in-state names, ~2% federal names on outbound lists, ~11% of each
  list replaced between consecutive captures; 20% of portals also appear in a 2024 peer dataset;
- intervals follow from those lists exactly as `intervals.derive_intervals` derives them (a
  name absent from a capture that publishes the list closes its interval); the change history
  and the stored answers of issue 11 (data_access, owner_lists, agency_exposure, agency_287g,
  agency_lookup) are derived by the project's own functions, as `Store.finish` runs them;
- searches: audit documents per agency and quarter (2024-04..2026-03), the biggest searcher
  with ~3% of all rows; 0.2% of rows by federal bodies (org-audit rows naming them), 0.5% with
  reasons that match an immigration term; 5% with a plate hash.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import random
import re
import sqlite3
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlite_utils  # noqa: E402

from alpr_inventory.derive.agreements import refresh_state_policies  # noqa: E402
from alpr_inventory.store.schema import (  # noqa: E402
    ensure_schema,
    open_db,
    rebuild_fts,
    refresh_statistics,
)

GENERATOR_VERSION = 4
DEFAULT_SEARCHES = 10_001_446
BIG_TABLES = ("searches", "sharing", "changes", "sharing_lists", "portal_snapshots")


@dataclass(frozen=True)
class Sizes:
    searches: int = DEFAULT_SEARCHES
    agencies: int = 6_822
    portals: int = 1_100
    captures: int = 6
    list_mean: int = 305  # organisations per list and direction, on average
    churn: float = 0.13  # share of a list replaced between consecutive captures (mean)
    peer_share: float = 0.2  # portals that also have a 2024 peer-dataset list
    audit_portals: int = 800  # portals with audit logs
    agreements: int = 1_300

    def key(self) -> str:
        return "-".join(str(v) for v in self.__dict__.values())


STATES = {  # two-letter code -> weight (roughly population, millions)
    "CA": 39, "TX": 30, "FL": 22, "NY": 20, "PA": 13, "IL": 12.5, "OH": 11.8, "GA": 11,
    "NC": 10.7, "MI": 10, "NJ": 9.3, "VA": 8.7, "WA": 7.8, "AZ": 7.4, "TN": 7, "MA": 7,
    "IN": 6.8, "MO": 6.2, "MD": 6.2, "WI": 5.9, "CO": 5.9, "MN": 5.7, "SC": 5.3, "AL": 5.1,
    "LA": 4.6, "KY": 4.5, "OR": 4.2, "OK": 4, "CT": 3.6, "UT": 3.4, "IA": 3.2, "NV": 3.2,
    "AR": 3, "MS": 2.9, "KS": 2.9, "NM": 2.1, "NE": 2, "ID": 1.9, "WV": 1.8, "HI": 1.4,
    "NH": 1.4, "ME": 1.4, "RI": 1.1, "MT": 1.1, "DE": 1, "SD": 0.9, "ND": 0.8, "AK": 0.7,
    "DC": 0.7, "VT": 0.6, "WY": 0.6,
}
FIRST = ("Oak", "Maple", "Cedar", "Pine", "River", "Lake", "Spring", "Fair", "Green", "Clear",
         "Stone", "Brook", "Elm", "Ash", "Willow", "Silver", "Golden", "Red", "Blue", "North",
         "South", "East", "West", "Mill", "Rock", "Sand", "Hill", "Glen", "Wood", "Bay",
         "Sun", "Star", "Iron", "Copper", "Eagle", "Hawk", "Deer", "Fox", "Bear", "Wolf",
         "Port", "Mount", "New", "Old", "Grand", "High", "Long", "Bright", "Cold", "Pleasant")
SECOND = ("ville", "ton", "field", "wood", "dale", "view", "port", "burg", "ford", "haven",
          "ridge", "side", "land", "mont", "crest", "brook", "creek", "falls", "grove", "park",
          "springs", "valley", "point", "shore", "bridge", "gate", "water", "meadow", "hills",
          "town")
FEDERAL = (  # component, immigration, name pattern, how many
    ("ICE-HSI", 1, "Homeland Security Investigations - {city} {st}", 30),
    ("ICE-ERO", 1, "ICE ERO {city} Field Office", 12),
    ("ICE", 1, "Immigration and Customs Enforcement {city} {st}", 6),
    ("CBP-USBP", 1, "U.S. Border Patrol {city} Sector", 16),
    ("CBP", 1, "Customs and Border Protection {city} {st}", 4),
    ("FBI", 0, "FBI {city} Field Office", 22),
    ("USPIS", 0, "U.S. Postal Inspection Service {city} {st}", 12),
    ("DEA", 0, "DEA {city} Division", 12),
    ("ATF", 0, "ATF {city} Field Division", 8),
    ("USMS", 0, "U.S. Marshals Service {city} {st}", 8),
    ("VA-POLICE", 0, "VA Police {city} {st}", 6),
)
IMMIGRATION_REASONS = ("ICE detainer", "HSI investigation", "immigration violation",
                       "ERO fugitive ops", "Border Patrol assist", "deportation order")
REASONS = ("stolen vehicle", "homicide", "burglary", "robbery", "missing person",
           "hit and run", "narcotics", "assault", "fraud", "theft", "ATL", "warrant service",
           "investigation", "suspicious vehicle", "carjacking", "shots fired", "kidnapping",
           "vandalism", "DUI", "identity theft", "welfare check", "amber alert",
           "silver alert", "stolen plate", "auto theft", "catalytic converter theft",
           "retail theft", "trespass", "arson", "sex offense", "child abduction",
           "elder abuse", "domestic violence", "road rage", "felony evading")
OFFENSES = ("Property Crime", "Violent Crime", "Missing Person", "Drug Crime", "Traffic",
            "Fraud", "Other", "Weapons", "Sex Crime", "Kidnapping")
SEARCH_TYPES = ("lookup", "search", "freeform", "convoy", "multigeo")
POLICY = ("{name} uses Flock Safety automated license plate readers to capture images of "
          "vehicles and license plates in public places. Data is retained for {days} days "
          "unless it is part of an investigation. Access is limited to trained personnel for "
          "legitimate law enforcement purposes, and every search records a reason and a case "
          "number. Data is not sold or shared for immigration enforcement where state law "
          "prohibits it. ")


def sha(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def short(*parts: object) -> str:
    return sha(*parts)[:16]


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def iso(day: date, seconds: int = 0) -> str:
    """UTC time of a capture: a crawl visits each portal at its own time of day."""
    h, m, s = seconds // 3600 % 24, seconds // 60 % 60, seconds % 60
    return f"{day.isoformat()}T{h:02d}:{m:02d}:{s:02d}Z"


@dataclass
class Agency:
    id: str
    name: str
    kind: str
    state: str | None
    component: str | None = None
    immigration: int = 0
    marked: int = 0  # Flock labels the name [Federal]
    portal: bool = False

    def raw_name(self) -> str:
        return f"[Federal] {self.name}" if self.marked else self.name


@dataclass
class Built:
    path: Path
    sizes: Sizes
    counts: dict[str, Any] = field(default_factory=dict)


class Progress:
    """One line per step on stderr, with its duration: the build takes minutes."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def step(self, text: str) -> Callable[[], None]:
        began = time.perf_counter()
        print(f"  build: {text} ...", file=sys.stderr, flush=True)

        def done(extra: str = "") -> None:
            print(f"  build: {text}: {time.perf_counter() - began:.1f} s{extra}",
                  file=sys.stderr, flush=True)
        return done


# ---- agencies --------------------------------------------------------------------------------
def make_agencies(rnd: random.Random, sizes: Sizes) -> list[Agency]:
    states = list(STATES)
    weights = list(STATES.values())
    towns = [f + s for f in FIRST for s in SECOND]
    rnd.shuffle(towns)
    used: set[str] = set()
    out: list[Agency] = []

    def add(name: str, kind: str, state: str | None, **kw: Any) -> Agency | None:
        aid = slug(name)
        if aid in used:
            return None
        used.add(aid)
        agency = Agency(aid, name, kind, state, **kw)
        out.append(agency)
        return agency

    t = 0
    for component, immigration, pattern, count in FEDERAL:
        for _ in range(count):
            st = rnd.choices(states, weights)[0]
            city = towns[t % len(towns)]
            t += 1
            add(pattern.format(city=city, st=st), "federal", st, component=component,
                immigration=immigration, marked=int(rnd.random() < 0.4))
    kinds = (("local_police", 0.62), ("sheriff", 0.24), ("state", 0.02), ("university", 0.03),
             ("private", 0.04), ("task_force", 0.015), ("tribal", 0.01), ("other", 0.015),
             ("unresolved", 0.01))
    while len(out) < sizes.agencies:
        st = rnd.choices(states, weights)[0]
        kind = rnd.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        town = towns[t % len(towns)] + ("" if t < len(towns) else f" {t // len(towns) + 1}")
        t += 1
        name = {
            "local_police": f"{town} {st} PD", "sheriff": f"{town} County {st} SO",
            "state": f"{st} State Police {town} Post", "university": f"{town} University {st} PD",
            "private": f"{town} Homeowners Association ({st})",
            "task_force": f"{town} Regional Auto Theft Task Force {st}",
            "tribal": f"{town} Tribal Police {st}", "other": f"{town} {st} Parks Department",
            "unresolved": f"{town} Operations {st}",
        }[kind]
        add(name, kind, None if kind == "unresolved" else st)
    # portal owners: police and sheriffs, biggest first (rank 0 has the longest lists and the
    # most searches: the "biggest agency" of the benchmark)
    candidates = [a for a in out if a.kind in ("local_police", "sheriff")]
    rnd.shuffle(candidates)
    for a in candidates[:sizes.portals]:
        a.portal = True
    return out


def portal_order(agencies: list[Agency]) -> list[Agency]:
    return [a for a in agencies if a.portal]


def list_sizes(rnd: random.Random, sizes: Sizes) -> list[int]:
    """Skewed list sizes with the requested mean, biggest first."""
    raw = sorted((rnd.paretovariate(1.6) for _ in range(sizes.portals)), reverse=True)
    scale = sizes.list_mean * sizes.portals / sum(raw)
    cap = min(1_500, sizes.agencies // 4)
    return [max(5, min(cap, round(x * scale))) for x in raw]


# ---- sharing: lists, intervals, changes ------------------------------------------------------
def capture_days(p: int, sizes: Sizes) -> list[date]:
    start = date(2026, 1, 5) + timedelta(days=p % 10)
    return [start + timedelta(days=14 * k) for k in range(sizes.captures)]


class Picker:
    """Draws organisations for a portal's lists: in-state first, some federal, the rest."""

    def __init__(self, agencies: list[Agency], rnd: random.Random):
        self.rnd = rnd
        self.by_state: dict[str | None, list[Agency]] = defaultdict(list)
        for a in agencies:
            if a.kind != "federal":
                self.by_state[a.state].append(a)
        self.federal = [a for a in agencies if a.kind == "federal"]
        self.others = [a for a in agencies if a.kind != "federal"]

    def draw(self, owner: Agency, taken: Container[str], federal_share: float) -> Agency:
        rnd = self.rnd
        for _ in range(1000):
            u = rnd.random()
            if u < federal_share:
                pick = rnd.choice(self.federal)
            elif u < 0.6:
                pool = self.by_state[owner.state]
                pick = rnd.choice(pool)
            else:
                pick = rnd.choice(self.others)
            if pick.id != owner.id and pick.id not in taken:
                return pick
        raise RuntimeError("could not draw a new organisation")


def timeline(picker: Picker, owner: Agency, size: int, sizes: Sizes,
             federal_share: float) -> list[list[Agency]]:
    """The list as each capture published it."""
    current: dict[str, Agency] = {}
    for _ in range(size):
        a = picker.draw(owner, current, federal_share)
        current[a.id] = a
    out = [list(current.values())]
    for _ in range(1, sizes.captures):
        n = round(len(current) * sizes.churn * picker.rnd.uniform(0.5, 1.5))
        for aid in picker.rnd.sample(sorted(current), min(n, len(current))):
            del current[aid]
        for _ in range(n):
            a = picker.draw(owner, current, federal_share)
            current[a.id] = a
        out.append(list(current.values()))
    return out


@dataclass
class SharingRows:
    lists: list[tuple[Any, ...]] = field(default_factory=list)
    intervals: list[tuple[Any, ...]] = field(default_factory=list)


LIST_COLUMNS = ("id", "list_agency_id", "direction", "source_kind", "label", "captured_at",
                "document_sha256", "names", "count")
INTERVAL_COLUMNS = ("id", "owner_id", "grantee_id", "direction", "list_agency_id",
                    "source_kind", "raw_name", "grantee_marked_federal", "owner_marked_federal",
                    "first_seen", "last_seen", "gone_by", "current", "captures",
                    "first_document", "last_document", "gone_document")
LABELS = {"outbound": "Organizations granted access to {name} data",
          "inbound": "Organizations sharing their data with {name}"}


def add_timeline(rows: SharingRows, owner: Agency, direction: str, source: str,
                 captures: Sequence[tuple[str, str]], lists: Sequence[list[Agency]]) -> None:
    """Lists and intervals of one timeline (one agency, source and direction): the intervals
    are the rows `intervals.derive_intervals` gives for these lists (checked on a small build),
    made here because the generator already knows each name's run."""
    outbound = direction == "outbound"
    label = LABELS[direction].format(name=owner.name)
    for (cap, doc), names in zip(captures, lists, strict=True):
        raw = [a.raw_name() for a in names]
        rows.lists.append((short(doc, cap, owner.id, direction), owner.id, direction, source,
                           label, cap, doc, json.dumps(raw), len(raw)))
    open_: dict[str, list[Any]] = {}
    for (cap, doc), names in zip(captures, lists, strict=True):
        now = {a.id: a for a in names}
        for aid in [x for x in open_ if x not in now]:
            interval = open_.pop(aid)
            interval[11], interval[12], interval[16] = cap, 0, doc
            rows.intervals.append(tuple(interval))
        for a in names:
            if a.id in open_:
                interval = open_[a.id]
                interval[10], interval[13], interval[15] = cap, interval[13] + 1, doc
                continue
            owner_id, grantee_id = (owner.id, a.id) if outbound else (a.id, owner.id)
            open_[a.id] = [short(owner.id, source, direction, a.raw_name(), cap), owner_id,
                           grantee_id, direction, owner.id, source, a.raw_name(),
                           a.marked if outbound else 0, 0 if outbound else a.marked, cap, cap,
                           None, 1, 1, doc, doc, None]
    rows.intervals.extend(tuple(i) for i in open_.values())


# ---- writing -------------------------------------------------------------------------------
def begin(db: sqlite_utils.Database) -> None:
    if db.conn.in_transaction:
        db.conn.commit()
    db.conn.execute("begin")


def insert(db: sqlite_utils.Database, table: str, columns: Sequence[str],
           rows: Iterable[Sequence[Any]]) -> None:
    marks = ", ".join("?" for _ in columns)
    db.conn.executemany(f"insert into [{table}] ({', '.join(columns)}) values ({marks})", rows)


def secondary_indexes(db: sqlite_utils.Database, tables: Iterable[str]) -> list[tuple[str, str]]:
    names = ", ".join(f"'{t}'" for t in tables)
    return db.execute(f"select name, sql from sqlite_master where type = 'index' and tbl_name "
                      f"in ({names}) and sql is not null").fetchall()


def build(path: Path, sizes: Sizes, progress: Progress) -> dict[str, Any]:
    """Write the synthetic database at `path` (which must not exist)."""
    rnd = random.Random(13)
    db = open_db(str(path))  # the project's own schema, indexes, views and FTS tables
    db.conn.execute("pragma journal_mode = off")
    db.conn.execute("pragma synchronous = off")
    # indexes of the big tables are built once after the load (one sort each)
    indexes = secondary_indexes(db, BIG_TABLES)
    for name, _ in indexes:
        db.execute(f"drop index [{name}]")

    done = progress.step(f"{sizes.agencies:,} agencies")
    agencies = make_agencies(rnd, sizes)
    portals = portal_order(agencies)
    begin(db)
    insert(db, "agencies", ("id", "name", "flock_slug", "portal_url", "flock_marked_federal",
                            "kind", "state", "federal_component", "immigration",
                            "resolver_rule", "resolution_status", "state_basis"),
           ((a.id, a.name, a.id if a.portal else None,
             f"https://transparency.flocksafety.com/{a.id}" if a.portal else None, a.marked,
             a.kind, a.state, a.component, a.immigration, "synthetic (bench_scale)",
             "unresolved" if a.kind == "unresolved" else "resolved",
             "name" if a.state else None) for a in agencies))
    aliases = [(a.name, a.id, "portal_owner" if a.portal else "exact_name") for a in agencies]
    aliases += [(a.raw_name(), a.id, "exact_name") for a in agencies if a.marked]
    insert(db, "agency_aliases", ("alias", "agency_id", "rule"), aliases)
    db.conn.execute("commit")
    done()

    done = progress.step(f"{sizes.portals:,} portals x {sizes.captures} captures: lists, "
                         "intervals, changes")
    picker = Picker(agencies, rnd)
    rows = SharingRows()
    documents: list[tuple[Any, ...]] = []
    snapshots: list[tuple[Any, ...]] = []
    peer_doc = sha("peer", "agency_access20240426.csv")
    documents.append((peer_doc, "https://github.com/mcclatchy-southeast/private_eyes/blob/main/"
                      "data/agency_access20240426.csv", "bench", "text/csv", 9_000_000,
                      "2024-04-26T00:00:00Z", None, "peer_dataset", None,
                      "news_observer_access", None, "ok", "peer_dataset"))
    for p, (owner, size) in enumerate(zip(portals, list_sizes(rnd, sizes), strict=True)):
        days = capture_days(p, sizes)
        caps = [(iso(d, p * 577 + k * 11), sha("portal", owner.id, d))
                for k, d in enumerate(days)]
        for cap, doc in caps:
            documents.append((doc, f"https://transparency.flocksafety.com/{owner.id}", "bench",
                              "text/html", 250_000 + 60 * size, cap, 200, "flock_portal",
                              "classic", owner.name, owner.id, "ok", "portal_page"))
        outbound = timeline(picker, owner, size, sizes, 0.02)
        inbound = timeline(picker, owner, max(3, round(size * rnd.uniform(0.6, 1.3))), sizes,
                           0.005)
        add_timeline(rows, owner, "outbound", "flock_portal", caps, outbound)
        add_timeline(rows, owner, "inbound", "flock_portal", caps, inbound)
        if rnd.random() < sizes.peer_share:
            older = [a for a in outbound[0] if rnd.random() < 0.8]
            add_timeline(rows, owner, "outbound", "peer_dataset",
                         [("2024-04-26T00:00:00Z", peer_doc)], [older])
        if p % 100 == 99:
            print(f"    portals: {p + 1:,}/{sizes.portals:,}", file=sys.stderr, flush=True)
        cameras = rnd.randint(5, 400)
        days_kept = rnd.choice((30, 30, 30, 21, 14, 60, 90, 180))
        for k, (cap, doc) in enumerate(caps):
            if k and rnd.random() < 0.25:  # a camera count change (refresh_changes finds it)
                cameras += rnd.randint(1, 25)
            text = POLICY.format(name=owner.name, days=days_kept)
            audit = int(p < sizes.audit_portals)
            snapshots.append((
                short(doc, cap), owner.id, doc, cap, documents[-1][1], "classic", owner.name,
                cap, days_kept, f"{days_kept} days", cameras,
                json.dumps({"Number of LPR Cameras": cameras}), cameras * 9_000,
                cameras * 40, cameras * 30, json.dumps(["NCIC", f"{owner.state} DOJ"]),
                "Vehicles and license plates", "Facial recognition, people", text * 2,
                text, text, text, None, None, len(outbound[k]), len(inbound[k]), audit,
                audit * 300, None))
    done(f" ({len(rows.lists):,} lists, {len(rows.intervals):,} intervals)")

    done = progress.step("writing lists, intervals, snapshots")
    begin(db)
    insert(db, "sharing_lists", LIST_COLUMNS, rows.lists)
    insert(db, "sharing", INTERVAL_COLUMNS, rows.intervals)
    insert(db, "portal_snapshots", (
        "id", "agency_id", "document_sha256", "captured_at", "url", "layout", "agency_name",
        "last_updated", "retention_days", "retention_raw", "cameras", "camera_counts",
        "vehicles_30d", "hotlist_hits_30d", "searches_30d", "hotlists", "detected",
        "not_detected", "acceptable_use", "prohibited_uses", "access_policy", "hotlist_policy",
        "other_policies", "additional_info", "outbound_count", "inbound_count",
        "search_audit_present", "search_audit_rows", "warnings"), snapshots)
    db.conn.execute("commit")
    counts: dict[str, Any] = {"sharing_lists": len(rows.lists), "sharing": len(rows.intervals),
                              "portal_snapshots": len(snapshots)}
    del rows, snapshots
    done()

    done = progress.step(f"{sizes.searches:,} searches")
    audit_docs = write_searches(db, rnd, sizes, portals, agencies)
    documents += audit_docs
    done(f" ({len(audit_docs):,} audit documents)")

    done = progress.step("documents, fetches, agreements, state policies")
    documents.append((sha("287g", "participatingAgencies.xlsx"),
                      "https://www.ice.gov/doclib/about/offices/ero/287g/participatingAgencies.xlsx",
                      "bench", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                      120_000, "2025-11-10T00:00:00Z", 200, "ice_287g_sheet", "participating",
                      "ICE 287(g) participating agencies", None, "ok", "287g_listing"))
    begin(db)
    insert(db, "documents", ("sha256", "url", "source", "content_type", "bytes",
                             "first_fetched_at", "http_status", "doc_type", "layout", "title",
                             "agency_id", "parse_status", "document_type"), documents)
    db.execute("update documents set archive_path = substr(sha256, 1, 2) || '/' || "
               "substr(sha256, 3, 2) || '/' || sha256, parser_version = 'bench'")
    db.conn.executemany(
        "insert into fetches (sha256, url, fetched_from, fetched_at, captured_at, "
        "captured_at_basis, http_status) values (?, ?, ?, ?, ?, 'given', ?)",
        ((d[0], d[1], d[1], d[5], d[5], d[6]) for d in documents))
    counts["documents"] = len(documents)
    counts["agreements"] = write_agreements(db, rnd, sizes, agencies)
    refresh_state_policies(db)
    db.conn.execute("commit")
    done()

    done = progress.step("indexes of the big tables")
    for _, sql in indexes:
        db.execute(sql)
    ensure_schema(db)
    done()
    done = progress.step("ANALYZE before deriving (the project's refresh_statistics)")
    refresh_statistics(db, force=True)
    done()
    counts["derive_seconds"] = derive_answers(db, progress)
    for table in ("changes", "data_access", "owner_lists", "agency_exposure", "agency_287g",
                  "agency_lookup", "agency_links"):
        counts[table] = db.execute(f"select count(*) from [{table}]").fetchone()[0]
    done = progress.step("full-text indexes (the project's rebuild_fts)")
    rebuild_fts(db)
    done()
    done = progress.step("ANALYZE (the project's refresh_statistics)")
    refresh_statistics(db, force=True)
    done()
    db.conn.execute("pragma journal_mode = wal")
    counts["searches"] = db.execute("select max(rowid) from searches").fetchone()[0] or 0
    counts["agencies"] = len(agencies)
    counts["biggest_agency"] = portals[0].id  # longest lists and most searches
    db.close()
    return counts


def derive_answers(db: sqlite_utils.Database, progress: Progress) -> dict[str, float]:
    """The stored answers of issue 11, derived by the project's own functions in the order
    Store.finish runs them after a full load (every list agency touched): identity links
    (portal owners' states, names read in their list's state), 287(g) per agency, same_as,
    owner_lists + data_access + agency_exposure for every data owner, the agency lookup, and
    the change history of every agency (compute_changes over the lists and snapshots).
    Returns each step's duration (what a full derive costs at this scale)."""
    from alpr_inventory.derive.answers import (
        affected_owners,
        refresh_agency_287g,
        refresh_answers,
        refresh_lookup,
        refresh_same_as,
    )
    from alpr_inventory.derive.changes import refresh_changes
    from alpr_inventory.derive.identity import link_names, state_of_portal_owners
    from alpr_inventory.derive.intervals import derive_intervals
    from alpr_inventory.resolve.resolver import Resolver

    resolver = Resolver.load()
    conn = db.conn
    seconds: dict[str, float] = {}

    def timed(label: str, fn: Callable[[], Any]) -> Any:
        done = progress.step(label)
        began = time.perf_counter()
        out = fn()
        seconds[label] = round(time.perf_counter() - began, 2)
        done()
        return out

    begin(db)
    lists = [r[0] for r in conn.execute("select distinct list_agency_id from sharing_lists")]
    timed("287(g) per agency (refresh_agency_287g)", lambda: refresh_agency_287g(conn))
    timed("portal owners' states (state_of_portal_owners)",
          lambda: state_of_portal_owners(conn))
    rescan = timed("names read in their list's state (link_names)",
                   lambda: link_names(conn, resolver.resolve, None))
    if rescan:
        timed(f"intervals of {len(rescan)} re-read lists (derive_intervals)",
              lambda: derive_intervals(conn, sorted(rescan)))
    timed("same_as (refresh_same_as)", lambda: refresh_same_as(conn))
    owners = affected_owners(conn, lists)
    timed(f"data_access, owner_lists, exposure of {len(owners):,} owners (refresh_answers)",
          lambda: refresh_answers(conn, owners))
    timed("agency lookup (refresh_lookup)",
          lambda: refresh_lookup(conn, resolver.resolve, resolver.states))
    timed("change history of every agency (refresh_changes)", lambda: refresh_changes(db))
    db.conn.execute("commit")
    return seconds


def write_searches(db: sqlite_utils.Database, rnd: random.Random, sizes: Sizes,
                   portals: list[Agency], agencies: list[Agency]) -> list[tuple[Any, ...]]:
    """Audit documents (agency x quarter) and their searches, one INSERT ... SELECT each."""
    searchers = portals[:sizes.audit_portals]
    weights = [1 / (r + 3) ** 0.8 for r in range(len(searchers))]
    quarters = [date(2024, 4, 1) + timedelta(days=91 * q) for q in range(8)]
    plan: list[tuple[Agency, date, float]] = []
    for agency, w in zip(searchers, weights, strict=True):
        for q in quarters:
            plan.append((agency, q, w * rnd.uniform(0.6, 1.4)))
    total_w = sum(w for *_, w in plan)
    counts = [int(sizes.searches * w / total_w) for *_, w in plan]
    counts[0] += sizes.searches - sum(counts)
    # what the SQL draws from: reasons (some immigration terms), federal searchers
    db.execute("create temp table gen_seq (i integer primary key)")
    biggest = max(counts)
    db.execute("with recursive n(i) as (select 0 union all select i + 1 from n where i < ?) "
               "insert into gen_seq select i from n", [biggest - 1])
    reasons = [(k, r, 0, None) for k, r in enumerate(REASONS)]
    reasons += [(len(REASONS) + k, r, 1, f"{r.split()[0]}: {r.split()[0]!r}")
                for k, r in enumerate(IMMIGRATION_REASONS)]
    db.execute("create temp table gen_reason (k integer primary key, reason text, imm integer, "
               "terms text)")
    db.conn.executemany("insert into gen_reason values (?, ?, ?, ?)", reasons)
    federal = [a for a in agencies if a.kind == "federal"]
    db.execute("create temp table gen_fed (k integer primary key, id text, name text)")
    db.conn.executemany("insert into gen_fed values (?, ?, ?)",
                        [(k, a.id, a.name) for k, a in enumerate(federal)])
    db.execute("create temp table gen_offense (k integer primary key, v text)")
    db.conn.executemany("insert into gen_offense values (?, ?)", enumerate(OFFENSES))
    db.execute("create temp table gen_type (k integer primary key, v text)")
    db.conn.executemany("insert into gen_type values (?, ?)", enumerate(SEARCH_TYPES))
    n_reasons, n_imm, n_fed = len(REASONS), len(IMMIGRATION_REASONS), len(federal)
    # h1..h3: deterministic pseudo-random 32-bit numbers per (document, row)
    sql = f"""
    insert into searches (search_id, searching_agency_id, user_id, searched_at, searched_at_raw,
      network_count, camera_count, reason, case_number, offense_type, org_name, search_type,
      plate_hash, source_row, federal_searcher, immigration_reason, immigration_terms, versions,
      first_seen, last_seen, first_document, last_document)
    select printf('%08x-%04x-4%03x-8%03x-%012x', :doc, (i >> 24) & 65535, (i >> 12) & 4095,
                  i & 4095, h1),
      case when fed then f.id else :agency end, '***',
      strftime('%Y-%m-%dT%H:%M:%S.000Z', :start + h2 % 7862400, 'unixepoch'),
      strftime('%Y-%m-%d %H:%M:%S.000', :start + h2 % 7862400, 'unixepoch'),
      1 + h3 % 60, h1 % 4000,
      case when r.imm then r.reason when h3 % 10 < 3 then r.reason || ' ' || (h1 % 900000 + 100000)
           else r.reason end,
      case when h2 % 10 < 4 then printf('%02d-%06d', 24 + h3 % 3, h1 % 1000000) end,
      case when h3 % 5 < 3 then o.v end,
      case when fed then f.name end, t.v,
      case when h2 % 20 = 0 then substr(printf('%08x%08x%08x%08x%08x%08x%08x%08x', h1, h2, h3,
           h1 + 1, h2 + 1, h3 + 1, h1 + h2, h2 + h3), 1, 64) end,
      'row ' || (i + 2), fed, r.imm, case when r.imm then r.terms end, 1,
      :captured, :captured, :sha, :sha
    from (
      select i, h1, h2, h3, h1 % 1000 < 2 as fed,
        case when h2 % 1000 < 5 then {n_reasons} + h3 % {n_imm} else h3 % {n_reasons} end as rk
      from (
        select i, (((:doc * 100003 + i) * 2654435761) % 4294967296) as h1,
          (((:doc * 7919 + i * 31 + 7) * 2246822519) % 4294967291) as h2,
          (((:doc * 104729 + i * 17 + 3) * 3266489917) % 4294967279) as h3
        from gen_seq where i < :n)
    ), gen_reason r, gen_offense o, gen_type t
    left join gen_fed f on f.k = h3 % {n_fed}
    where r.k = rk and o.k = h1 % {len(OFFENSES)} and t.k = h2 % {len(SEARCH_TYPES)}
    """
    docs: list[tuple[Any, ...]] = []
    written = 0
    step = max(1, len(plan) // 20)
    begin(db)
    for k, ((agency, q, _), n) in enumerate(zip(plan, counts, strict=True)):
        if not n:
            continue
        end = q + timedelta(days=91)
        captured = iso(end)
        doc = sha("audit", agency.id, q)
        start = calendar.timegm(q.timetuple())
        db.execute(sql, {"doc": k + 1, "agency": agency.id, "start": start, "n": n,
                         "captured": captured, "sha": doc})
        docs.append((doc, f"file:///audits/{agency.id}/{q.isoformat()}.csv", "bench", "text/csv",
                     n * 120, captured, None, "audit_export", "audit_csv",
                     f"search audit export ({n} rows)", agency.id, "ok", "audit_export"))
        written += n
        if k % step == 0:
            print(f"    searches: {written:,}/{sizes.searches:,}", file=sys.stderr, flush=True)
    db.conn.execute("commit")
    for table in ("gen_seq", "gen_reason", "gen_fed", "gen_offense", "gen_type"):
        db.execute(f"drop table temp.{table}")
    return docs


def write_agreements(db: sqlite_utils.Database, rnd: random.Random, sizes: Sizes,
                     agencies: list[Agency]) -> int:
    sheriffs = [a for a in agencies if a.kind in ("sheriff", "local_police")]
    weights = [8 if a.state in ("FL", "TX") else 1 for a in sheriffs]
    chosen: dict[str, Agency] = {}
    while len(chosen) < min(sizes.agreements, len(sheriffs)):
        a = rnd.choices(sheriffs, weights)[0]
        chosen[a.id] = a
    sheet = sha("287g", "participatingAgencies.xlsx")
    rows = []
    for a in chosen.values():
        model = rnd.choice(("JEM", "TFM", "WSO"))
        signed = (date(2025, 1, 20) + timedelta(days=rnd.randint(0, 300))).isoformat()
        rows.append((f"{a.state}:{a.id}:{model}", a.state, a.name, a.id, a.kind, model, model,
                     signed, "2025-02-03", "2025-11-10", 1, 0, 0, sheet, sheet))
    insert(db, "agreements", ("id", "state", "agency", "agency_id", "agency_kind", "model",
                              "support_type", "signed", "first_listed", "last_listed",
                              "on_newest_participating", "on_newest_pending", "left_program",
                              "first_document", "last_document"), rows)
    return len(rows)


# ---- cache ----------------------------------------------------------------------------------
def fresh_schema() -> list[tuple[str, str, str]]:
    """(type, name, sql) of everything ensure_schema creates in an empty database."""
    conn = sqlite3.connect(":memory:")
    ensure_schema(sqlite_utils.Database(conn))
    ddl = conn.execute("select type, name, sql from sqlite_master where sql is not null "
                       "order by type, name").fetchall()
    conn.close()
    return ddl


def schema_hash() -> str:
    """Hash of the tables ensure_schema creates. Indexes and views are not in it: a cached
    database gets them from `sync_schema`, so a new index costs one index build, not a new
    database."""
    tables = [row for row in fresh_schema() if row[0] == "table"]
    return hashlib.sha256(repr((GENERATOR_VERSION, tables)).encode()).hexdigest()[:12]


def sync_schema(path: Path) -> None:
    """Bring a cached database's indexes and views to what the schema says now: missing
    indexes are built (ensure_schema), indexes the schema no longer has are dropped, and the
    statistics are refreshed when anything changed."""
    want = {name: sql for kind, name, sql in fresh_schema() if kind == "index"}
    db = sqlite_utils.Database(path)
    have = dict(db.execute("select name, sql from sqlite_master where type = 'index' and "
                           "sql is not null").fetchall())
    changed = False
    for name, sql in have.items():
        if want.get(name) != sql:
            print(f"  dropping index {name} (not in the schema now)", file=sys.stderr)
            db.execute(f"drop index [{name}]")
            changed = True
    missing = [n for n in want if n not in have or have[n] != want[n]]
    if missing:
        print(f"  building indexes {', '.join(missing)}", file=sys.stderr, flush=True)
        changed = True
    db.close()
    db = open_db(str(path))  # views as the schema defines them now
    if missing:  # (open_db skips ensure_schema when the schema fingerprint is current)
        ensure_schema(db)
    if changed:
        refresh_statistics(db, force=True)
    db.close()


def cached_database(cache_dir: Path, sizes: Sizes, rebuild: bool = False) -> Built:
    """The database for these sizes and this schema: built once, then reused."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(sizes.key().encode()).hexdigest()[:8]
    path = cache_dir / f"scale-{sizes.searches}-{key}-{schema_hash()}.db"
    counts_file = path.with_suffix(".counts.json")
    if path.exists() and counts_file.exists() and not rebuild:
        print(f"using the cached database {path}", file=sys.stderr)
        sync_schema(path)
        return Built(path, sizes, json.loads(counts_file.read_text()))
    for old in cache_dir.glob(f"scale-{sizes.searches}-{key}-*"):
        old.unlink()
    tmp = path.with_name(path.name + ".building")
    for leftover in cache_dir.glob(tmp.name + "*"):
        leftover.unlink()
    progress = Progress()
    print(f"building {path} (cached for the next runs)", file=sys.stderr)
    counts = build(tmp, sizes, progress)
    tmp.rename(path)
    for suffix in ("-wal", "-shm"):
        side = Path(str(tmp) + suffix)
        if side.exists():
            side.unlink()
    counts_file.write_text(json.dumps(counts, indent=1))
    print(f"built in {time.perf_counter() - progress.start:.0f} s", file=sys.stderr)
    return Built(path, sizes, counts)
