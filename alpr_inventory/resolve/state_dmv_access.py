"""Who can query a state's DMV data, component by component, with a dated timeline.

Three reporter-edited files in ``data/`` (described in ``data/state_policies.md``):

* ``policy_sources.csv``: every source once (id, title, publisher, date, URL, kind, what it
  supports);
* ``state_dmv_access.csv``: per state, DHS component (ICE, HSI, CBP, ...) and channel (Nlets,
  direct DMV access, the state's law-enforcement network), whether the component can query the
  state's DMV data: ``yes`` / ``no`` / ``partial`` / ``unknown``, since when, as of when, on what
  basis and which sources;
* ``state_policy_events.csv``: the timeline (letters, blocks, reports, counts, laws, lawsuits).

``load_policy_data`` reads and checks all three (and that ``state_policies.csv`` agrees with them
and cites only registered sources). Any problem raises ``StatePolicyError`` naming file and line
(``<path>:<line>: <what>``), every problem at once. The rule that matters most: a claim that is
not ``unknown`` must have a date and at least one source id that exists in
``policy_sources.csv``. Pure: no database or network.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from alpr_inventory.resolve.state_policies import (
    STATES,
    StatePolicy,
    StatePolicyError,
    load_state_policies,
)
from parsers import datafiles

__all__ = [
    "ACCESS_COLUMNS",
    "ACCESS_VALUES",
    "CHANNELS",
    "CLAIM_BASES",
    "COMPONENTS",
    "DATA_DIR",
    "EVENT_CHANNELS",
    "EVENT_COLUMNS",
    "EVENT_COMPONENTS",
    "EVENT_KINDS",
    "REQUIRED_CELLS",
    "SOURCE_COLUMNS",
    "SOURCE_KINDS",
    "UNKNOWN_BASES",
    "AccessClaim",
    "PolicyData",
    "PolicyEvent",
    "PolicySourceRecord",
    "iso_date_bounds",
    "load_access",
    "load_events",
    "load_policy_data",
    "load_sources",
]

DATA_DIR = datafiles.DATA_DIR
SOURCES_FILE = "policy_sources.csv"
ACCESS_FILE = "state_dmv_access.csv"
EVENTS_FILE = "state_policy_events.csv"
POLICIES_FILE = "state_policies.csv"

SOURCE_COLUMNS = ("id", "title", "publisher", "date", "url", "kind", "supports", "notes")
ACCESS_COLUMNS = ("state", "component", "channel", "access", "since", "as_of", "until", "basis",
                  "source_ids", "notes")
EVENT_COLUMNS = ("id", "state", "date", "kind", "component", "channel", "summary", "count",
                 "count_bound", "count_of", "period_start", "period_end", "basis", "source_ids",
                 "notes")

# official: a government record, statute, letter or press release; news: original reporting;
# research: a university or NGO report; secondary: a copy, summary, translation or aggregator of
# another source (name the primary in notes); corpus_note: the shared corpus's reference notes.
SOURCE_KINDS = ("official", "news", "research", "secondary", "corpus_note")
# ICE as the sources use the word (its Nlets counts exclude HSI); ICE_ERO and USBP when a source
# names the unit; DHS when a source says only "Homeland Security".
COMPONENTS = ("ICE", "ICE_ERO", "HSI", "CBP", "USBP", "USCIS", "DHS")
# nlets: queries through the interstate Nlets network (and the state switch that answers them);
# direct_dmv: the DMV's own accounts, portals, agreements or staff; state_network: an account on
# the state's law-enforcement network (CLETS, ACCESS, LEADS) that reaches DMV data.
CHANNELS = ("nlets", "direct_dmv", "state_network")
ACCESS_VALUES = ("yes", "no", "partial", "unknown")
# the component (or a unit of it) can query / cannot (case-by-case disclosure on a court order
# or warrant counts as no) / part of its access is cut (some units or purposes) / not known
CLAIM_BASES = ("primary", "reported", "secondary", "law")
UNKNOWN_BASES = ("not_researched", "not_found", "sources_silent", "unverified")
# Components an access claim is checked for in every state and DC.
REQUIRED_CELLS = tuple((c, ch) for ch in ("nlets", "direct_dmv") for c in ("ICE", "HSI", "CBP"))

EVENT_KINDS = ("letter", "block", "restore", "access_reported", "count", "report", "law",
               "regulation", "directive", "lawsuit", "audit")
EVENT_CHANNELS = ("nlets", "direct_dmv", "state_network", "alpr", "dmv_plates")
EVENT_COMPONENTS = (*COMPONENTS, "federal")  # federal: every federal agency together
EVENT_STATES = frozenset(STATES | {"US"})  # US: national events
COUNT_BOUNDS = ("exact", "at_least", "about")

_ISO_RE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_URL_RE = re.compile(r"^https?://\S+$")
_CORPUS_RE = re.compile(r"^corpus:[^#\s][^#]*#\S.*$")
_LIST_SPLIT = re.compile(r"\s*;\s*")


def iso_date_bounds(text: str) -> tuple[date, date] | None:
    """The first and last day an ISO date of year, month or day precision can mean, or None
    when ``text`` is not one (``2025`` -> 2025-01-01..2025-12-31)."""
    m = _ISO_RE.match(text)
    if not m:
        return None
    year, month, day = int(m[1]), m[2], m[3]
    try:
        if day:
            d = date(year, int(month), int(day))
            return d, d
        if month:
            first = date(year, int(month), 1)
            nxt = date(year + (first.month == 12), first.month % 12 + 1, 1)
            return first, date.fromordinal(nxt.toordinal() - 1)
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        return None


@dataclass(frozen=True)
class PolicySourceRecord:
    id: str
    title: str
    publisher: str
    date: str  # ISO (year, month or day) or "undated"
    url: str  # http(s) URL or corpus:<path>#<section>
    kind: str
    supports: str
    notes: str
    line: int


@dataclass(frozen=True)
class AccessClaim:
    """One row of state_dmv_access.csv: can ``component`` query ``state``'s DMV data through
    ``channel``? ``until`` set means the row is history (superseded)."""

    state: str
    component: str
    channel: str
    access: str
    since: str
    as_of: str
    until: str
    basis: str
    source_ids: tuple[str, ...]
    notes: str
    line: int

    @property
    def current(self) -> bool:
        return not self.until

    @property
    def key(self) -> str:
        """Stable row id: state:component:channel, then :since..until for dated rows."""
        base = f"{self.state}:{self.component}:{self.channel}"
        return f"{base}:{self.since}..{self.until}" if self.since or self.until else base


@dataclass(frozen=True)
class PolicyEvent:
    id: str
    state: str  # a state, DC or US (national)
    date: str
    kind: str
    components: tuple[str, ...]
    channel: str
    summary: str
    count: int | None
    count_bound: str
    count_of: str
    period_start: str
    period_end: str
    basis: str
    source_ids: tuple[str, ...]
    notes: str
    line: int


@dataclass(frozen=True)
class PolicyData:
    sources: dict[str, PolicySourceRecord]
    access: tuple[AccessClaim, ...]
    events: tuple[PolicyEvent, ...]
    policies: tuple[StatePolicy, ...]

    def access_for(self, state: str, *, current_only: bool = True) -> list[AccessClaim]:
        return [a for a in self.access
                if a.state == state and (a.current or not current_only)]

    def current(self, state: str, component: str, channel: str) -> AccessClaim | None:
        rows = [a for a in self.access if (a.state, a.component, a.channel) ==
                (state, component, channel) and a.current]
        return rows[0] if rows else None

    def events_for(self, state: str, *, national: bool = False) -> list[PolicyEvent]:
        """Events of one state (and, with ``national``, the US-wide ones), oldest first."""
        return [e for e in self.events if e.state == state or (national and e.state == "US")]


# ---- reading ------------------------------------------------------------------------------
def _rows(path: Path, columns: tuple[str, ...],
          errors: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line, values) for each record; header, field-count and CSV errors go to ``errors``."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
    except OSError as exc:
        errors.append(f"{where}: cannot read: {exc}")
        return
    except UnicodeDecodeError as exc:
        errors.append(f"{where}: not UTF-8 ({exc}): save the file as UTF-8")
        return
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        errors.append(f"{where}:1: empty file")
        return
    except csv.Error as exc:
        errors.append(f"{where}:1: {exc}")
        return
    if tuple(h.strip() for h in header) != columns:
        missing = [c for c in columns if c not in header]
        extra = [h for h in header if h not in columns]
        errors.append(f"{where}:1: header must be {','.join(columns)} "
                      f"(missing {missing}, unexpected {extra})")
        return
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(f"{where}:{line}: {exc}")
            return
        start, line = line, reader.line_num + 1
        if not record or not any(c.strip() for c in record):
            continue
        if len(record) != len(columns):
            errors.append(f"{where}:{start}: {len(record)} fields, expected {len(columns)} "
                          "(a comma inside a value needs double quotes)")
            continue
        yield start, dict(zip(columns, (c.strip() for c in record), strict=True))


def _ids(raw: str) -> tuple[str, ...]:
    return tuple(p for p in _LIST_SPLIT.split(raw) if p) if raw else ()


def _check_date(value: str, col: str, err, *, required: bool) -> None:
    if not value:
        if required:
            err(f"{col} is empty: a claim needs the date its source gives (YYYY-MM-DD, YYYY-MM "
                "or YYYY)")
        return
    if iso_date_bounds(value) is None:
        err(f"{col} must be an ISO date (YYYY-MM-DD, YYYY-MM or YYYY), found {value!r}")


def _check_sources(ids: tuple[str, ...], known: dict[str, PolicySourceRecord], err) -> None:
    for sid in ids:
        if sid not in known:
            err(f"source id {sid!r} is not in {SOURCES_FILE} (add it there first)")


def load_sources(path: str | Path | None = None) -> dict[str, PolicySourceRecord]:
    """Read and check policy_sources.csv; id -> source."""
    p = Path(path) if path is not None else DATA_DIR / SOURCES_FILE
    errors: list[str] = []
    out = _load_sources(p, errors)
    if errors:
        raise StatePolicyError("\n".join(errors))
    return out


def _load_sources(p: Path, errors: list[str]) -> dict[str, PolicySourceRecord]:
    out: dict[str, PolicySourceRecord] = {}
    urls: dict[str, str] = {}
    for line, v in _rows(p, SOURCE_COLUMNS, errors):
        def err(msg: str, line: int = line) -> None:
            errors.append(f"{p}:{line}: {msg}")
        sid = v["id"]
        if not _ID_RE.match(sid):
            err(f"id must be lower-case letters, digits and dashes, found {sid!r}")
        elif sid in out:
            err(f"id {sid!r} already on line {out[sid].line}")
        for col in ("title", "publisher", "supports"):
            if not v[col]:
                err(f"{col} is empty")
        if v["date"] != "undated" and iso_date_bounds(v["date"]) is None:
            err(f"date must be an ISO date (YYYY-MM-DD, YYYY-MM or YYYY) or undated, "
                f"found {v['date']!r}")
        if not (_URL_RE.match(v["url"]) or _CORPUS_RE.match(v["url"])):
            err(f"url must be an http(s) URL or corpus:<path>#<section>, found {v['url']!r}")
        elif v["url"] in urls:
            err(f"url already registered as {urls[v['url']]!r}")
        else:
            urls[v["url"]] = sid
        if v["kind"] not in SOURCE_KINDS:
            err(f"kind must be one of {'/'.join(SOURCE_KINDS)}, found {v['kind']!r}")
        if v["kind"] == "secondary" and not v["notes"]:
            err("a secondary source needs notes saying what it copies or summarises (the primary)")
        out.setdefault(sid, PolicySourceRecord(
            id=sid, title=v["title"], publisher=v["publisher"], date=v["date"], url=v["url"],
            kind=v["kind"], supports=v["supports"], notes=v["notes"], line=line))
    return out


def load_access(path: str | Path | None = None,
                sources: dict[str, PolicySourceRecord] | None = None) -> list[AccessClaim]:
    """Read and check state_dmv_access.csv against ``sources`` (default: the data file)."""
    p = Path(path) if path is not None else DATA_DIR / ACCESS_FILE
    errors: list[str] = []
    known = sources if sources is not None else _load_sources(DATA_DIR / SOURCES_FILE, errors)
    out = _load_access(p, known, errors)
    if errors:
        raise StatePolicyError("\n".join(errors))
    return out


def _load_access(p: Path, known: dict[str, PolicySourceRecord],
                 errors: list[str]) -> list[AccessClaim]:
    out: list[AccessClaim] = []
    for line, v in _rows(p, ACCESS_COLUMNS, errors):
        row_errors: list[str] = []

        def err(msg: str, line: int = line, row_errors: list[str] = row_errors) -> None:
            row_errors.append(f"{p}:{line}: {msg}")
        if v["state"] not in STATES:
            err(f"state must be one of the 50 states or DC (two capital letters), "
                f"found {v['state']!r}")
        if v["component"] not in COMPONENTS:
            err(f"component must be one of {'/'.join(COMPONENTS)}, found {v['component']!r}")
        if v["channel"] not in CHANNELS:
            err(f"channel must be one of {'/'.join(CHANNELS)}, found {v['channel']!r}")
        access, basis = v["access"], v["basis"]
        ids = _ids(v["source_ids"])
        if access not in ACCESS_VALUES:
            err(f"access must be one of {'/'.join(ACCESS_VALUES)}, found {access!r}")
        elif access == "unknown":
            if basis not in UNKNOWN_BASES:
                err(f"basis of an unknown row must be one of {'/'.join(UNKNOWN_BASES)}, "
                    f"found {basis!r}")
            for col in ("since", "until"):
                if v[col]:
                    err(f"{col} is given but access is unknown")
            _check_date(v["as_of"], "as_of", err, required=False)
            if basis in ("sources_silent", "unverified") and not ids:
                err(f"basis {basis} names sources: give their ids in source_ids")
            _check_sources(ids, known, err)
        else:
            if basis not in CLAIM_BASES:
                err(f"basis of a claim must be one of {'/'.join(CLAIM_BASES)}, found {basis!r}")
            if not ids:
                err(f"access is {access!r} but no source is given: every claim needs a source "
                    f"id from {SOURCES_FILE}")
            _check_sources(ids, known, err)
            _check_date(v["as_of"], "as_of", err, required=True)
            _check_date(v["since"], "since", err, required=False)
            _check_date(v["until"], "until", err, required=False)
            if basis == "secondary" and not v["notes"]:
                err("basis is secondary: say in notes where the claim was read and name the "
                    "primary source")
            spans = {c: iso_date_bounds(v[c]) for c in ("since", "as_of", "until") if v[c]}
            if None not in spans.values():
                if "since" in spans and "as_of" in spans and spans["since"][0] > spans["as_of"][1]:
                    err(f"since {v['since']} is after as_of {v['as_of']}")
                if "since" in spans and "until" in spans and spans["since"][0] > spans["until"][1]:
                    err(f"until {v['until']} is before since {v['since']}")
        errors.extend(row_errors)
        if not row_errors:
            out.append(AccessClaim(
                state=v["state"], component=v["component"], channel=v["channel"],
                access=access, since=v["since"], as_of=v["as_of"], until=v["until"],
                basis=basis, source_ids=ids, notes=v["notes"], line=line))
    _check_access_set(p, out, errors)
    return out


def _check_access_set(p: Path, rows: list[AccessClaim], errors: list[str]) -> None:
    """Every state has a row for each required cell; one current row per cell; history rows
    do not overlap."""
    by_cell: dict[tuple[str, str, str], list[AccessClaim]] = {}
    for a in rows:
        by_cell.setdefault((a.state, a.component, a.channel), []).append(a)
    for cell, claims in by_cell.items():
        keys: dict[str, int] = {}
        for a in claims:
            if a.key in keys:
                errors.append(f"{p}:{a.line}: same state, component, channel, since and until "
                              f"as line {keys[a.key]}: merge the rows or date them")
            keys.setdefault(a.key, a.line)
        current = [a for a in claims if a.current]
        if len(current) > 1:
            errors.append(f"{p}:{current[1].line}: a second current row (empty until) for "
                          f"{'/'.join(cell)}, first on line {current[0].line}: end the older "
                          "one with until")
        dated = sorted((a for a in claims if a.since), key=lambda a: iso_date_bounds(a.since))
        for older, newer in zip(dated, dated[1:], strict=False):
            if older.until and (iso_date_bounds(older.until)[0] >
                                iso_date_bounds(newer.since)[1]):
                errors.append(f"{p}:{newer.line}: {'/'.join(cell)} since {newer.since} overlaps "
                              f"the row on line {older.line} (until {older.until})")
    states_seen = {a.state for a in rows}
    missing = [f"{st} {c}/{ch}" for st in sorted(STATES) for c, ch in REQUIRED_CELLS
               if (st, c, ch) not in by_cell]
    if missing and states_seen:
        errors.append(f"{p}: no row for {', '.join(missing[:12])}"
                      f"{f' and {len(missing) - 12} more' if len(missing) > 12 else ''} "
                      "(every state and DC needs a row for ICE, HSI and CBP on nlets and "
                      "direct_dmv: write unknown with a basis where nothing is known)")


def load_events(path: str | Path | None = None,
                sources: dict[str, PolicySourceRecord] | None = None) -> list[PolicyEvent]:
    """Read and check state_policy_events.csv against ``sources`` (default: the data file)."""
    p = Path(path) if path is not None else DATA_DIR / EVENTS_FILE
    errors: list[str] = []
    known = sources if sources is not None else _load_sources(DATA_DIR / SOURCES_FILE, errors)
    out = _load_events(p, known, errors)
    if errors:
        raise StatePolicyError("\n".join(errors))
    return out


def _load_events(p: Path, known: dict[str, PolicySourceRecord],
                 errors: list[str]) -> list[PolicyEvent]:
    out: list[PolicyEvent] = []
    seen: dict[str, int] = {}
    for line, v in _rows(p, EVENT_COLUMNS, errors):
        row_errors: list[str] = []

        def err(msg: str, line: int = line, row_errors: list[str] = row_errors) -> None:
            row_errors.append(f"{p}:{line}: {msg}")
        eid = v["id"]
        if not _ID_RE.match(eid):
            err(f"id must be lower-case letters, digits and dashes, found {eid!r}")
        elif eid in seen:
            err(f"id {eid!r} already on line {seen[eid]}")
        seen.setdefault(eid, line)
        if v["state"] not in EVENT_STATES:
            err(f"state must be a state, DC or US (national), found {v['state']!r}")
        _check_date(v["date"], "date", err, required=True)
        if v["kind"] not in EVENT_KINDS:
            err(f"kind must be one of {'/'.join(EVENT_KINDS)}, found {v['kind']!r}")
        components = _ids(v["component"])
        for c in components:
            if c not in EVENT_COMPONENTS:
                err(f"component must be empty or one or more of {'/'.join(EVENT_COMPONENTS)} "
                    f"separated by ';', found {c!r}")
        if v["channel"] and v["channel"] not in EVENT_CHANNELS:
            err(f"channel must be empty or one of {'/'.join(EVENT_CHANNELS)}, "
                f"found {v['channel']!r}")
        if not v["summary"]:
            err("summary is empty: say what changed")
        if v["basis"] not in CLAIM_BASES:
            err(f"basis must be one of {'/'.join(CLAIM_BASES)}, found {v['basis']!r}")
        if v["basis"] == "secondary" and not v["notes"]:
            err("basis is secondary: say in notes where it was read and name the primary source")
        ids = _ids(v["source_ids"])
        if not ids:
            err(f"no source is given: every event needs a source id from {SOURCES_FILE}")
        _check_sources(ids, known, err)
        count: int | None = None
        if v["count"]:
            if not re.fullmatch(r"\d+", v["count"]):
                err(f"count must be a whole number without separators, found {v['count']!r}")
            else:
                count = int(v["count"])
            if v["count_bound"] not in COUNT_BOUNDS:
                err(f"count_bound must be one of {'/'.join(COUNT_BOUNDS)} when count is given, "
                    f"found {v['count_bound']!r}")
            if not v["count_of"]:
                err("count is given but count_of (what was counted) is empty")
        elif v["count_bound"] or v["count_of"]:
            err("count_bound or count_of given without a count")
        if v["kind"] == "count" and not v["count"]:
            err("kind is count but count is empty")
        for col in ("period_start", "period_end"):
            _check_date(v[col], col, err, required=False)
        ps, pe = iso_date_bounds(v["period_start"]), iso_date_bounds(v["period_end"])
        if ps and pe and ps[0] > pe[1]:
            err(f"period_end {v['period_end']} is before period_start {v['period_start']}")
        errors.extend(row_errors)
        if not row_errors:
            out.append(PolicyEvent(
                id=eid, state=v["state"], date=v["date"], kind=v["kind"], components=components,
                channel=v["channel"], summary=v["summary"], count=count,
                count_bound=v["count_bound"], count_of=v["count_of"],
                period_start=v["period_start"], period_end=v["period_end"], basis=v["basis"],
                source_ids=ids, notes=v["notes"], line=line))
    out.sort(key=lambda e: (iso_date_bounds(e.date)[0], e.state, e.id))
    return out


# ---- the old one-row-per-state file against the new ones ----------------------------------
_OLD_TO_ACCESS = {"yes": "no", "no": "yes", "partial": "partial", "unknown": "unknown"}


def _check_policies(policies: Iterable[StatePolicy], access: list[AccessClaim],
                    sources: dict[str, PolicySourceRecord], where: str,
                    errors: list[str]) -> None:
    """state_policies.csv cites only registered sources, and its Nlets column says the same as
    the current ICE/nlets row of state_dmv_access.csv."""
    urls = {s.url for s in sources.values()}
    current = {(a.state, a.component, a.channel): a for a in access if a.current}
    for p in policies:
        for s in p.sources:
            if s.ref not in urls:
                errors.append(f"{where}:{p.line}: source {s.ref!r} is not registered in "
                              f"{SOURCES_FILE} (add a row with this url)")
        row = current.get((p.state, "ICE", "nlets"))
        if row is None:
            continue
        want = _OLD_TO_ACCESS[p.nlets_ice_hsi_dmv_blocked]
        if row.access != want:
            errors.append(
                f"{where}:{p.line}: nlets_ice_hsi_dmv_blocked is {p.nlets_ice_hsi_dmv_blocked!r} "
                f"but {ACCESS_FILE} line {row.line} says ICE access through Nlets is "
                f"{row.access!r} (expected {want!r}): change both together")
            continue
        since = p.nlets_blocked_since
        new = iso_date_bounds(row.since) if row.since else None
        if new is None or since in ("unknown", "n/a"):
            continue
        if since.startswith("by "):
            if new[0] > iso_date_bounds(since[3:])[1]:
                errors.append(f"{where}:{p.line}: nlets_blocked_since {since!r} but {ACCESS_FILE} "
                              f"line {row.line} says since {row.since}")
        elif not (row.since.startswith(since) or since.startswith(row.since)):
            errors.append(f"{where}:{p.line}: nlets_blocked_since {since!r} disagrees with "
                          f"{ACCESS_FILE} line {row.line} (since {row.since})")


def load_policy_data(data_dir: str | Path | None = None) -> PolicyData:
    """Read and check the sources, access claims, events and state_policies.csv together."""
    d = Path(data_dir) if data_dir is not None else DATA_DIR
    errors: list[str] = []
    sources = _load_sources(d / SOURCES_FILE, errors)
    access = _load_access(d / ACCESS_FILE, sources, errors)
    events = _load_events(d / EVENTS_FILE, sources, errors)
    policies: list[StatePolicy] = []
    try:
        policies = load_state_policies(d / POLICIES_FILE)
    except StatePolicyError as exc:
        errors.append(str(exc))
    else:
        _check_policies(policies, access, sources, str(d / POLICIES_FILE), errors)
    if errors:
        raise StatePolicyError("\n".join(errors))
    return PolicyData(sources=sources, access=tuple(access), events=tuple(events),
                      policies=tuple(policies))


def main(argv: list[str] | None = None) -> int:
    """``python -m alpr_inventory.resolve.state_dmv_access [DATA_DIR]``: check the files, print a
    summary."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    try:
        data = load_policy_data(args[0] if args else None)
    except StatePolicyError as exc:
        print(exc, file=sys.stderr)
        return 1
    known = [a for a in data.access if a.access != "unknown"]
    print(f"ok: {len(data.sources)} sources, {len(data.access)} access rows "
          f"({len(known)} claims, {len(data.access) - len(known)} unknown), "
          f"{len(data.events)} events")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
