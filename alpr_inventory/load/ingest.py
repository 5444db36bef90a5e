"""From fetched bytes to facts: archive, classify, parse, load. The one path every source takes.

The spider, `import` and `reparse` all call `Store.ingest`, so a page saved from a browser and a
page fetched by the crawler become the same rows. Each document is loaded atomically (its own
transaction, or its own savepoint in a transaction small documents share): either all of its
facts land or none do. Sharing intervals are derived afterwards from the
published lists (`refresh_sharing`), so loading order never changes the result.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import sqlite3
import sys
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import (
    AbstractContextManager,
    ExitStack,
    contextmanager,
    nullcontext,
    suppress,
)
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

import sqlite_utils

from alpr_inventory.derive.agreements import (
    load_listings,
    refresh_agreements,
    refresh_state_policies,
)
from alpr_inventory.derive.answers import (
    affected_owners,
    refresh_agency_287g,
    refresh_answers,
    refresh_exposure,
    refresh_lookup,
    refresh_same_as,
)
from alpr_inventory.derive.changes import (
    agencies_naming,
    feed_path,
    refresh_changes,
    write_atom_feed,
)
from alpr_inventory.derive.identity import (
    link_names,
    owner_in_context,
    record_links,
    state_of_portal_owners,
)
from alpr_inventory.derive.intervals import derive_intervals, register_functions
from alpr_inventory.resolve.resolver import Resolution, Resolver
from alpr_inventory.settings import FLOCK_PORTAL_BASE
from alpr_inventory.store.archive import Archive
from alpr_inventory.store.locking import DatabaseLock
from alpr_inventory.store.plates import load_or_create_key, plate_hasher
from alpr_inventory.store.records import load_records
from alpr_inventory.store.schema import FACT_TABLES, rebuild_fts, refresh_statistics
from alpr_inventory.store.search_loader import (
    AuditColumns,
    audit_columns,
    load_audit_csv,
    load_rows,
)
from parsers.agreements.agreement_pdf import Agreement
from parsers.agreements.ice287g import Sheet287g
from parsers.agreements.vigilant import VigilantReport
from parsers.document_dates import last_date_in_text
from parsers.flock.sharing_pdf import SharingReport, report_owner
from parsers.model import AuditRow, PageVerdict, PortalPage
from parsers.names import federal_marker, slug_from_portal_url
from parsers.pdf.fulltext import DocumentText
from parsers.pdf.pdf_worker import PdfJobError, WorkerPool, report_progress, sweep_scratch
from parsers.records import RecordsPage
from parsers.records.osm_cameras import OsmCameras
from parsers.records.peer_datasets import PeerSharing
from parsers.router import (  # noqa: F401  (re-exported: the loader's names for them)
    NO_TEXT_KINDS,
    RECORD_FIELDS,
    AuditTable,
    Interpretation,
    document_text,
    interpret,
    read_document,
    typed,
)
from parsers.router import PARSER_VERSION as ROUTER_VERSION
from parsers.router import declared_list as _declared_list  # noqa: F401
from parsers.router import is_current as is_current_parser

log = logging.getLogger(__name__)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def agency_record(resolution: Resolution, agency_id: str) -> dict[str, Any]:
    """An agencies row from the resolver's decision (the rule that decided is kept)."""
    return {
        "id": agency_id, "name": resolution.canonical_name or resolution.name,
        "flock_marked_federal": int(resolution.flock_marked_federal),
        "kind": resolution.kind, "state": resolution.state,
        "federal_component": resolution.federal_component,
        "immigration": int(resolution.immigration), "resolver_rule": resolution.rule,
        "resolution_status": resolution.status,
        "state_basis": "name" if resolution.state else None,
    }


def _short_id(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


@dataclass
class Fetched:
    """One fetch or import of a document, as the source saw it."""

    body: bytes
    url: str  # original URL (the portal), or file:// URI of an imported file
    source: str
    fetched_at: str
    captured_at: str
    captured_at_basis: str  # fetch | memento | filename | given | document | import
    fetched_from: str | None = None
    http_status: int | None = None
    content_type: str | None = None
    requested_slug: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    agency: str | None = None  # whose export this is, when the document does not say
    sharing_list: str | None = None  # "inbound"/"outbound": the user says it is such a list
    url_basis: str | None = None  # where url came from (given, saved_from, folder, page, file)
    date_source: str | None = None  # where in the document a 'document' date was read


@dataclass
class IngestResult:
    sha256: str
    new_document: bool
    new_fetch: bool
    doc_type: str
    parse_status: str
    agency_id: str | None = None
    snapshot_id: str | None = None
    warnings: list[str] = field(default_factory=list)
    searches: Counter[str] = field(default_factory=Counter)  # new / known / changed
    captured_at: str | None = None
    captured_at_basis: str | None = None
    date_source: str | None = None
    url: str | None = None
    url_basis: str | None = None
    skipped: bool = False  # already loaded from these bytes, this capture, this parser version
    encoding: str | None = None
    fetched_from: str | None = None  # where the bytes came from (the file, for imports)


def _document_date(interp: Interpretation) -> tuple[str, str] | None:
    """A date the document gives about itself, and where it is: Vigilant's footer ("Date
    Created: 03-02-20"), a sharing export's title or file metadata, a portal page's own
    "Last Updated"."""
    created = interp.vigilant.date_created if interp.vigilant else None
    m = re.fullmatch(r"(\d{1,2})-(\d{1,2})-(\d{2}|\d{4})", created or "")
    if m:
        month, day, year = int(m[1]), int(m[2]), int(m[3])
        year += 2000 if year < 100 else 0
        return f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z", f"its 'Date Created: {created}'"
    report = interp.sharing_report
    if report is not None:
        if report.title and (when := last_date_in_text(report.title)):
            return when, f"its title '{report.title}'"
        if report.created:
            return report.created, "its file metadata (created)"
    if interp.cameras is not None and interp.cameras.generated_at:
        when = interp.cameras.generated_at
        return when[:19] + "Z" if len(when) >= 19 else when, "its meta.generated_at"
    if interp.page is not None and interp.page.last_updated:
        when = interp.page.last_updated
        if re.match(r"\d{4}-\d{2}-\d{2}", when):
            return (when[:19] + "Z" if len(when) >= 19 else when[:10] + "T00:00:00Z",
                    f"the page's own 'Last Updated: {when}'")
    return None


def _report_owner(report: SharingReport) -> str | None:
    """Whose report it is, from the report itself (parsers.flock.sharing_pdf.report_owner)."""
    return report_owner(report)[0]


# Limits for parsing one document (every parser, whatever the file type): a job past them is
# stopped and the document gets the status timeout or out_of_memory; the next one goes on.
PARSE_TIMEOUT_S = float(os.environ.get("ALPR_PARSE_TIMEOUT", "900"))
PARSE_MEMORY_MB = float(os.environ.get("ALPR_PARSE_MEMORY_MB", "2048"))
PARSE_WORKERS = int(os.environ.get("ALPR_PARSE_WORKERS", "0")) or min(2, os.cpu_count() or 1)
# The version of the whole reading of a document (recognition, statuses, masking, encodings),
# stored with the parser's own version: a document read by an older version is read again
INGEST_VERSION = "ingest/2"
# statuses worth another try when the same document is imported again
RETRY_STATUSES = frozenset({"error", "timeout", "out_of_memory"})
# Small documents (portal pages, short exports) loaded one after another share a transaction,
# each in a savepoint of its own (all of its facts or none), committed at most every
# GROUP_SECONDS or GROUP_DOCUMENTS documents, and before any wait that may be long (a big
# document still in a worker, the next item not read yet): one commit writes the pages many
# documents touch once, instead of once per document. Results are handed on once committed.
GROUP_SECONDS = 1.0
GROUP_DOCUMENTS = 250
GROUP_MAX_BYTES = 1_000_000  # bigger documents get a transaction of their own


IDENTITY_PASSES = 5  # rounds of linking and deriving until the links settle (two in the demo)


def _decided_links(conn: sqlite3.Connection, scopes: Iterable[str]) -> dict[str, set[tuple]]:
    """scope -> its name links' (id, status, to_id): what a further round could change."""
    out: dict[str, set[tuple]] = {}
    for scope, link_id, status, to_id in conn.execute(
            "select scope_id, id, status, to_id from agency_links where kind = 'name' and "
            "scope_id in (select value from json_each(?))", [json.dumps(sorted(scopes))]):
        out.setdefault(scope, set()).add((link_id, status, to_id))
    return out


def _parse_job(hash_plate: Callable[[str], str], archive: Archive, sha: str,
               body: bytes | None, http_status: int | None, headers: Mapping[str, str] | None,
               page: PortalPage | None, agency: str | None, sharing_list: str | None,
               name: str | None, url: str | None,
               ) -> tuple[Interpretation, DocumentText | None]:
    """Runs in a parser worker: the router (parsers/router.py) on one document, then the
    columns its audit rows load from (search_loader.audit_columns: plates masked, as bound).
    This work is done here rather than in the loader, the one process every import waits on;
    the columns travel back instead of the row objects (a fifth of the time to unpickle);
    `len()` and loading are all the loader asks of them. `body` None: the bytes are read from
    the archive, where the loader has just hashed and written them, rather than sent through
    the pipe (sending them cost the loader a third of a second per 60 MB)."""
    if body is None:
        body = archive.path(sha).read_bytes()
    interp, text = read_document(hash_plate, body, http_status, headers, page, agency,
                                 sharing_list, name, url, progress=report_progress)
    if interp.page is not None and interp.page.search_audit:
        interp.page.search_audit = audit_columns(  # type: ignore[assignment]
            interp.page.search_audit, hash_plate)
    if interp.audit is not None and interp.audit.rows and interp.audit.csv_text is None:
        interp.audit.rows = audit_columns(interp.audit.rows, hash_plate)  # type: ignore[assignment]
    return interp, text


def _forward_progress(store: weakref.ref[Store], *values: Any) -> None:
    target = store()
    if target is not None and target.progress is not None:
        target.progress(*values)


def _failed_job(error: PdfJobError) -> Interpretation:
    status = {"timeout": "timeout", "memory": "out_of_memory"}.get(error.status, "error")
    reason = {"timeout": f"parsing was stopped after {PARSE_TIMEOUT_S:g} s (the time limit "
                         "for one document)",
              "memory": f"parsing was stopped at the {PARSE_MEMORY_MB:g} MB memory limit for "
                        "one document"}.get(error.status, f"the parser failed: {error.message}")
    return Interpretation(PageVerdict("unknown", None, reason), None, status, reason, [],
                          parser=ROUTER_VERSION)


def is_current(parser: str | None, ingest: str | None) -> bool:
    """Whether a document was read by the current version of the parser that read it, and by
    the current ingest."""
    return ingest == INGEST_VERSION and is_current_parser(parser)


@dataclass(frozen=True)
class _Capture:
    """One capture of a document, and what the user said about it on import."""

    url: str
    captured_at: str
    slug: str | None
    agency: str | None
    sharing_list: str | None


_Loaded = tuple[str | None, str | None, Counter[str]]  # agency id, snapshot id, search counts


@dataclass
class _Pending:
    """One document on its way through ingest_many: archived, then skipped or parsed."""

    fetched: Fetched
    page: PortalPage | None
    sha: str
    result: IngestResult | None = None  # set when the document is skipped (unchanged)


def _next_is_quick(pending: deque[_Pending]) -> bool:
    """Whether the next document to load is a small one already handed to a worker (its
    parse is a matter of milliseconds): a group may stay open while it is waited for."""
    following = next((p for p in pending if p.result is None), None)
    return following is not None and len(following.fetched.body) <= GROUP_MAX_BYTES \
        and b"%PDF" not in following.fetched.body[:1024]


class _WriteGroup:
    """The transaction consecutive small documents share in `Store.ingest_many` (see
    GROUP_SECONDS), and their results, handed on when it is committed."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.stack: ExitStack | None = None
        self.started = 0.0
        self.results: list[IngestResult] = []

    @property
    def open(self) -> bool:
        return self.stack is not None

    def begin(self) -> None:
        if self.stack is None:
            stack = ExitStack()
            stack.enter_context(self.store.writing("load documents"))
            self.stack, self.started = stack, time.monotonic()

    def due(self) -> bool:
        return self.stack is None or len(self.results) >= GROUP_DOCUMENTS or \
            time.monotonic() - self.started >= GROUP_SECONDS

    def commit(self) -> list[IngestResult]:
        """Commit (when open); returns the results to hand on, in order."""
        if self.stack is not None:
            stack, self.stack = self.stack, None
            stack.close()
        done, self.results = self.results, []
        return done

    def commit_before_error(self) -> list[IngestResult]:
        """An error is on its way out: what loaded before it is committed and handed on, as
        when each document had its own transaction (nothing, if the error ended the
        transaction itself)."""
        if self.stack is not None and not self.store.db.conn.in_transaction:
            stack, self.stack = self.stack, None
            with suppress(sqlite3.Error):
                stack.close()
            self.results = []
            return []
        return self.commit()


class Store:
    """Writes documents and facts into the inventory database and the archive.

    Documents are parsed in worker processes (`WorkerPool`, each document under a time and
    memory limit, several at a time in `ingest_many`) and loaded here one at a time, in order,
    each atomically under the database's write lock (another import or crawl of the same
    database takes turns with this one; small documents share a transaction of at most
    GROUP_SECONDS, a savepoint each). What must be derived after loads is queued in
    `pending_derivations` within the same transactions, so a killed run is completed by the
    next one.
    """

    def __init__(self, db: sqlite_utils.Database, archive: Archive,
                 resolver: Resolver | None = None):
        self.db = db
        self.archive = archive
        self._resolver = resolver
        self.hash_plate = plate_hasher(load_or_create_key(Path(archive.root).parent))
        # called as (pages done, pages total) while a big PDF is parsed in workers
        self.progress: Callable[[int, int], None] | None = None
        self.lock = DatabaseLock.for_connection(db.conn)
        self.workers = PARSE_WORKERS
        self._pool: WorkerPool | None = None
        sweep_scratch()
        archive.sweep()

    @property
    def resolver(self) -> Resolver:
        """Loaded when first needed (half a second): commands that only read never do."""
        if self._resolver is None:
            self._resolver = Resolver.load()
        return self._resolver

    @resolver.setter
    def resolver(self, value: Resolver) -> None:
        self._resolver = value

    @contextmanager
    def writing(self, what: str = "load") -> Iterator[None]:
        """One write transaction under the database's write lock. It begins IMMEDIATE: a
        deferred one that read first could not wait for a writer outside the lock (SQLite
        answers "database is locked" at once when a reader must become a writer)."""
        with self.lock.writing(what) if self.lock else nullcontext():
            if self.db.conn.in_transaction:
                with self.db.atomic():  # nested: a savepoint of the outer transaction
                    yield
                return
            self.db.conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise
            try:
                self.db.conn.execute("COMMIT")
            except BaseException:
                if self.db.conn.in_transaction:
                    self.db.conn.execute("ROLLBACK")
                raise

    def pool(self) -> WorkerPool:
        if self._pool is None:
            # (no reference back to the store: the workers stop when the store is dropped)
            self._pool = WorkerPool(partial(_parse_job, self.hash_plate, self.archive),
                                    workers=self.workers,
                                    timeout_s=PARSE_TIMEOUT_S, memory_mb=PARSE_MEMORY_MB,
                                    on_progress=partial(_forward_progress, weakref.ref(self)))
            weakref.finalize(self, self._pool.close)
        return self._pool

    def close(self) -> None:
        """Stop the parser workers and close the database."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        self.db.close()

    # ---- runs -------------------------------------------------------------------------
    def start_run(self, command: str, args: Mapping[str, Any], base_url: str | None = None,
                  mode: str | None = None) -> int:
        """A new run, `running` for as long as this process lives (it holds the run's lock;
        a later command marks it `interrupted` if the process dies first)."""
        with self.writing("start a run"):
            table = self.db["runs"]
            table.insert({
                "command": command, "started_at": utc_now(), "status": "running",
                "args": json.dumps(dict(args), default=str, sort_keys=True),
                "base_url": base_url, "mode": mode, "pages": 0, "documents": 0, "portals": 0,
                "blocked": 0, "not_found": 0, "errors": 0, "discovered": 0,
                "pid": os.getpid(), "host": socket.gethostname(),
            })
            run_id = int(table.last_pk)
            if self.lock is not None:
                self.lock.hold_run(run_id)
            return run_id

    def finish_run(self, run_id: int, status: str, finish_reason: str | None,
                   counts: Mapping[str, int]) -> None:
        columns = set(self.db["runs"].columns_dict)
        known = {k: int(v) for k, v in counts.items() if k in columns}
        other = {k: v for k, v in counts.items() if k not in columns}
        with self.writing("finish a run"):
            self.db["runs"].update(run_id, {
                "finished_at": utc_now(), "status": status, "finish_reason": finish_reason,
                **known, "details": json.dumps(other, sort_keys=True) if other else None,
            })
        if self.lock is not None:
            self.lock.release_run(run_id)

    def save_crawl_state(self, spider: str, values: Mapping[tuple[str, str], str],
                         run_id: int | None) -> None:
        """What the next incremental run of `spider` starts from (see SourceSpider.remember)."""
        now = utc_now()
        with self.writing("save crawl state"):
            for (scope, key), value in values.items():
                self.db["crawl_state"].upsert(
                    {"spider": spider, "scope": scope, "key": key, "value": value,
                     "updated_at": now, "run_id": run_id}, pk=("spider", "scope", "key"))

    def record_failure(self, run_id: int | None, spider: str, url: str | None, reason: str,
                       detail: str, seed: str | None = None, seed_kind: str = "followed",
                       http_status: int | None = None, attempts: int = 1) -> None:
        """One request of a crawl that ended without a usable answer (crawl_failures)."""
        with self.db.atomic():
            self.db["crawl_failures"].insert({
                "run_id": run_id, "spider": spider, "seed": seed, "seed_kind": seed_kind,
                "url": url or None, "reason": reason, "detail": detail,
                "http_status": http_status,
                "attempts": attempts, "failed_at": utc_now()})

    def resolve_failures(self, spider: str, run_id: int, seeds: Iterable[str],
                         urls: Iterable[str]) -> int:
        """Mark earlier failures answered by this run: a seed's (or discovered portal's) own
        failures when the seed was fetched without failing, a followed request's when its
        address was. Returns the rows resolved."""
        now = utc_now()
        common = ("update crawl_failures set resolved_run_id = ?, resolved_at = ? "
                  "where spider = ? and resolved_run_id is null and run_id != ? ")
        resolved = 0
        with self.db.atomic():
            for seed in seeds:
                resolved += self.db.execute(
                    common + "and seed = ? and seed_kind != 'followed'",
                    [run_id, now, spider, run_id, seed]).rowcount
            for url in urls:
                resolved += self.db.execute(common + "and url = ? and seed_kind = 'followed'",
                                            [run_id, now, spider, run_id, url]).rowcount
        return resolved

    # ---- documents --------------------------------------------------------------------
    def ingest(self, fetched: Fetched, run_id: int | None = None,
               page: PortalPage | None = None) -> IngestResult:
        """Archive the bytes, record the fetch, and load the document's facts atomically."""
        return next(self.ingest_many([(fetched, page)], run_id))

    def ingest_many(self, items: Iterable[tuple[Fetched, PortalPage | None]],
                    run_id: int | None = None) -> Iterator[IngestResult]:
        """`ingest` for many documents: parsed several at a time in the parser workers,
        loaded one by one in the order given (read ahead a little, not all at once). A
        document already loaded from the same bytes, for the same capture, by the same parser
        version, is not parsed again."""
        pending: deque[_Pending] = deque()

        def jobs() -> Iterator[tuple[Any, ...]]:
            for fetched, page in items:
                sha, written = self.archive.put(fetched.body)
                entry = _Pending(fetched, page, sha, self._unchanged(sha, fetched))
                if entry.result is not None:
                    entry.result.fetched_from = fetched.fetched_from or fetched.url
                pending.append(entry)
                if entry.result is None:
                    # bytes just written to the archive are read there by the worker; bytes
                    # archived before are sent (the fetch is parsed, whatever became of them)
                    yield (sha, None if written else fetched.body, fetched.http_status,
                           fetched.headers, page, fetched.agency, fetched.sharing_list,
                           fetched.fetched_from or fetched.url, fetched.url)
                else:
                    entry.fetched = replace(fetched, body=b"")  # not kept while waiting

        group = _WriteGroup(self)
        outcomes = self.pool().imap(jobs())
        while True:
            if group.results and (group.due() or not _next_is_quick(pending)):
                yield from group.commit()
            try:
                outcome = next(outcomes)
            except StopIteration:
                break
            except BaseException:
                yield from group.commit_before_error()
                raise
            while pending[0].result is not None:
                group.results.append(pending.popleft().result)  # type: ignore[arg-type]
            entry = pending.popleft()
            if isinstance(outcome, PdfJobError):
                interp, text = _failed_job(outcome), None
            else:
                interp, text = outcome.value
            if len(entry.fetched.body) > GROUP_MAX_BYTES:
                yield from group.commit()  # (then a transaction of its own, as before)
            else:
                group.begin()
            try:
                group.results.append(self._load(entry.fetched, entry.sha, interp, text,
                                                run_id))
            except BaseException:  # its own savepoint is rolled back; the others stay
                yield from group.commit_before_error()
                raise
            if not group.open:
                yield from group.commit()
        yield from group.commit()
        while pending:
            yield pending.popleft().result  # type: ignore[misc]

    def _unchanged(self, sha: str, fetched: Fetched) -> IngestResult | None:
        """The result of an earlier load of this very fetch (bytes, URL, capture time, what
        the user said) by the current parser version, or None when it must be parsed."""
        # an import without a date of its own gives way to a date the document prints, or
        # keeps the time of its first import (see _load): any of those matches; a saved page
        # may have been given its portal's URL (see _url_from_page): the file matches too
        row = self.db.execute(
            "select d.doc_type, d.parse_status, d.parser_version, d.agency_id, d.encoding, "
            "d.ingest_version "
            "from documents d join fetches f on f.sha256 = d.sha256 where d.sha256 = ? and "
            "(f.url = ? or f.fetched_from = ?) and (f.captured_at = ? or (? in ('mtime', "
            "'import') and f.captured_at_basis in ('document', 'import'))) "
            "and f.agency_given is ? and f.sharing_list_given is ? limit 1",
            [sha, fetched.url, fetched.fetched_from or fetched.url, fetched.captured_at,
             fetched.captured_at_basis, fetched.agency, fetched.sharing_list]).fetchone()
        if row is None or row[1] in RETRY_STATUSES or not is_current(row[2], row[5]):
            return None
        return IngestResult(sha, False, False, row[0], row[1], agency_id=row[3], skipped=True,
                            encoding=row[4])

    def _load(self, fetched: Fetched, sha: str, interp: Interpretation,
              text: DocumentText | None, run_id: int | None) -> IngestResult:
        """Record the fetch and load the document's facts, in one transaction."""
        dated = _document_date(interp)
        if dated and fetched.captured_at_basis in ("mtime", "import"):
            # the document's own date beats the time someone copied or imported it
            fetched.captured_at, fetched.captured_at_basis = dated[0], "document"
            fetched.date_source = dated[1]
        if interp.page is not None and not fetched.url.startswith(("http://", "https://")) \
                and not fetched.requested_slug:
            self._url_from_page(fetched, interp.page)
        with self.writing("load a document"):
            if fetched.captured_at_basis == "import":
                # dated by nothing but the import: a later import of the same bytes from the
                # same place is the same capture, dated by the first import
                first = self.db.execute(
                    "select min(captured_at) from fetches where sha256 = ? and url = ? and "
                    "captured_at_basis = 'import'", [sha, fetched.url]).fetchone()[0]
                if first:
                    fetched.captured_at = first
            new_document = not self.db.execute(
                "select 1 from documents where sha256 = ?", [sha]).fetchone()
            if new_document:
                _upsert(self.db, "documents", {
                    "sha256": sha, "url": fetched.url, "source": fetched.source,
                    "content_type": fetched.content_type, "bytes": len(fetched.body),
                    "archive_path": self.archive.relative_path(sha),
                    "first_fetched_at": fetched.fetched_at, "http_status": fetched.http_status,
                }, "sha256")
            self._record_interpretation(sha, interp, text)
            new_fetch = not self.db.execute(
                "select 1 from fetches where sha256 = ? and url = ? and captured_at = ?",
                [sha, fetched.url, fetched.captured_at]).fetchone()
            self.db.execute(
                "insert into fetches (sha256, url, fetched_from, requested_slug, "
                "fetched_at, captured_at, captured_at_basis, http_status, run_id, agency_given, "
                "sharing_list_given, etag, last_modified, url_basis, captured_at_source) "
                "values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "on conflict (sha256, url, captured_at) do update set "
                # what the user says on a later import of the same capture is kept (reparse
                # reads it); nothing else about the first fetch changes
                "agency_given = coalesce(excluded.agency_given, agency_given), "
                "sharing_list_given = coalesce(excluded.sharing_list_given, sharing_list_given) "
                "where excluded.agency_given is not null or excluded.sharing_list_given is not "
                "null",
                [sha, fetched.url, fetched.fetched_from or fetched.url, fetched.requested_slug,
                 fetched.fetched_at, fetched.captured_at, fetched.captured_at_basis,
                 fetched.http_status, run_id, fetched.agency, fetched.sharing_list,
                 _header(fetched.headers, "etag"), _header(fetched.headers, "last-modified"),
                 fetched.url_basis, fetched.date_source],
            )
            result = IngestResult(sha, bool(new_document), new_fetch,
                                  interp.verdict.kind, interp.parse_status,
                                  warnings=interp.warnings, captured_at=fetched.captured_at,
                                  captured_at_basis=fetched.captured_at_basis,
                                  date_source=fetched.date_source, url=fetched.url,
                                  url_basis=fetched.url_basis, encoding=interp.encoding,
                                  fetched_from=fetched.fetched_from or fetched.url)
            loaded = self._load_facts(sha, interp, fetched.url, fetched.captured_at,
                                      fetched.requested_slug, fetched.agency,
                                      fetched.sharing_list)
            result.agency_id, result.snapshot_id, result.searches = loaded
            if interp.audit is not None:  # the loader may have warnings of its own
                result.parse_status = self.db.execute(
                    "select parse_status from documents where sha256 = ?", [sha]).fetchone()[0]
        return result

    def _load_facts(self, sha: str, interp: Interpretation, url: str, captured_at: str,
                    slug: str | None, agency: str | None = None,
                    sharing_list: str | None = None,
                    ) -> tuple[str | None, str | None, Counter[str]]:
        """Load what one interpretation says, for one capture of the document: the loader of
        the record it holds (`Interpretation.record`, one per tag in `_LOADERS`).

        Returns (agency id, snapshot id, search counts new/known/changed).
        """
        tagged = interp.record
        if tagged is None:
            return None, None, Counter()
        tag, record = tagged
        capture = _Capture(url, captured_at, slug, agency, sharing_list)
        return _LOADERS[tag](self, sha, record, capture)

    def _load_names(self, sha: str, names: list[str], c: _Capture) -> _Loaded:
        if not (c.agency and c.sharing_list):
            return None, None, Counter()
        return self._load_released_lists(sha, c.agency, {c.sharing_list: names},
                                         "released list", c.captured_at), None, Counter()

    def _load_cameras(self, sha: str, cameras: OsmCameras, c: _Capture) -> _Loaded:
        from alpr_inventory.derive.cameras import load_cameras

        load_cameras(self.db.conn, cameras, sha, self.resolver.resolve)
        return None, None, Counter()

    def _load_records(self, sha: str, records: RecordsPage, c: _Capture) -> _Loaded:
        load_records(self.db, records, sha, c.captured_at)
        return None, None, Counter()

    def _load_report(self, sha: str, report: SharingReport, c: _Capture) -> _Loaded:
        return self._load_sharing_report(sha, report, c.captured_at, c.agency)

    def _load_vigilant(self, sha: str, report: VigilantReport, c: _Capture) -> _Loaded:
        lists = {direction: [e.agency_name or e.name for e in section.entries]
                 for kind, direction in (("detections_shared", "outbound"),
                                         ("detections_received", "inbound"))
                 if (section := report.section(kind)) is not None}
        label = " ".join(filter(None, ("Vigilant data sharing report", report.date_created)))
        return self._load_released_lists(sha, c.agency or report.owner, lists, label,
                                         c.captured_at), None, Counter()

    def _load_agreement(self, sha: str, agreement: Agreement, c: _Capture) -> _Loaded:
        if agreement.status not in ("ok", "partial"):
            return None, None, Counter()
        return self._load_agreement_document(sha, agreement), None, Counter()

    def _load_287g(self, sha: str, sheet: Sheet287g, c: _Capture) -> _Loaded:
        load_listings(self.db, sheet, sha, self.resolver)
        self._pending("agreements")
        return None, None, Counter()

    def _load_audit(self, sha: str, audit: AuditTable, c: _Capture) -> _Loaded:
        agency_id = self.ensure_agency(c.agency, sha) if c.agency else None
        counts = self._load_searches(audit.rows, sha, c.captured_at, agency_id, audit.csv_text)
        self._record_masked(sha, counts)
        if agency_id:
            self.db.execute("update documents set agency_id = ? where sha256 = ?",
                            [agency_id, sha])
        return agency_id, None, counts

    def _load_peer(self, sha: str, peer: PeerSharing, c: _Capture) -> _Loaded:
        for name, names in peer.outbound.items():
            list_agency = self.owner_in_context(name, names, sha)
            self.add_sharing_list(list_agency, "outbound", names, sha, c.captured_at,
                                  "peer_dataset", peer.dataset)
        return None, None, Counter()

    def _load_page(self, sha: str, page: PortalPage, c: _Capture) -> _Loaded:
        agency_id, snapshot_id = self._load_portal(sha, page, c.url, c.captured_at, c.slug)
        self.db.execute("update documents set agency_id = ? where sha256 = ?", [agency_id, sha])
        return agency_id, snapshot_id, Counter()

    def _load_sharing_report(self, sha: str, report: SharingReport, captured_at: str,
                             agency: str | None) -> tuple[str | None, str | None, Counter[str]]:
        """Flock's "Networks Shared With Me / Networks I'm Sharing" report of one agency:
        organisations with networks shared with it share their data with it (inbound); those
        it shares its networks with can see its data (outbound)."""
        inbound = [r.org_name for r in report.rows if r.networks_shared_with_me]
        outbound = [r.org_name for r in report.rows if r.networks_im_sharing]
        owner_id = self._load_released_lists(
            sha, agency or _report_owner(report), {"inbound": inbound, "outbound": outbound},
            "Networks Shared With Me / Networks I'm Sharing", captured_at)
        return owner_id, None, Counter()

    def _load_released_lists(self, sha: str, owner: str | None, lists: dict[str, list[str]],
                             label: str, captured_at: str) -> str | None:
        """A released report's sharing lists (direction -> names) for the agency it is about."""
        if not owner:
            return None
        owner_id = self.owner_in_context(owner, [n for ns in lists.values() for n in ns], sha)
        for direction, names in lists.items():
            self.add_sharing_list(owner_id, direction, names, sha, captured_at,
                                  "records_release", label)
        self.db.execute("update documents set agency_id = ? where sha256 = ?", [owner_id, sha])
        return owner_id

    def _load_agreement_document(self, sha: str, agreement: Agreement) -> str | None:
        """One agreement PDF as read: parties, model, dates, provisions, each with its page."""
        lea = next((p for p in agreement.parties if p.role == "lea"), None)
        lea_id = self.ensure_agency(lea.name, sha) if lea else None
        data = agreement.to_dict()
        self.db["agreement_documents"].upsert({
            "document_sha256": sha, "status": agreement.status,
            "doc_type": agreement.doc_type, "model": agreement.model,
            "lea_name": lea.name if lea else None, "lea_agency_id": lea_id,
            "lea_page": lea.page if lea else None,
            "federal_agencies_named": json.dumps(data.get("federal_agencies_named")),
            "signature_dates": json.dumps(data.get("signature_dates")),
            "effective_date": agreement.effective_date,
            "effective_date_basis": agreement.effective_date_basis,
            "termination": json.dumps(data.get("termination")),
            "data_provisions": json.dumps(data.get("data_provisions")),
            "parties": json.dumps(data.get("parties")),
            "text_layer": agreement.text_layer, "pages": agreement.pages,
            "warnings": json.dumps(agreement.warnings) if agreement.warnings else None,
        }, pk="document_sha256")
        if lea_id:
            self.db.execute("update documents set agency_id = ? where sha256 = ?",
                            [lea_id, sha])
        return lea_id

    def owner_in_context(self, owner: str, names: list[str], sha: str) -> str:
        """The agency a document is about: its name through the resolver, and when the name
        has no state, the state of the organisations the document names (identity.py); the
        decision is recorded in agency_links either way."""
        resolution, link = owner_in_context(self.resolver, owner, names)
        if link is None or link["status"] != "linked":
            agency_id = self.ensure_agency(owner, sha)
        else:
            agency_id = resolution.agency_id
            if not self.db.execute("select 1 from agencies where id = ?",
                                   [agency_id]).fetchone():
                record = agency_record(resolution, agency_id)
                record["state_basis"] = link["rule"]
                self.db["agencies"].insert(record, pk="id")
        if link is not None:
            record_links(self.db.conn, [link], sha)
        return agency_id

    def ensure_agency(self, name: str, sha: str) -> str:
        """The agency id for a name (creating agency and alias rows if new)."""
        return self._resolve_names({name.strip(): sha})[name.strip()]

    def _record_interpretation(self, sha: str, interp: Interpretation,
                               text: DocumentText | None = None) -> None:
        """The document's parse verdict, its document type and its searchable text."""
        page = interp.page
        if interp.document_type is None:  # stopped in the worker: typed here
            typed(interp, text)
        doc_type, evidence = interp.document_type, interp.document_type_evidence
        if text is not None:
            _upsert(self.db, "document_texts",
                    {"sha256": sha, "text": text.text, "chars": text.chars, "pages": text.pages,
                     "method": text.method, "status": text.status,
                     "truncated": int(text.truncated)}, "sha256")
        else:  # read by an older version that kept text this one does not (audit exports)
            self.db.execute("delete from document_texts where sha256 = ?", [sha])
        _update(self.db, "documents", "sha256", sha, {
            "document_type": doc_type, "document_type_evidence": evidence,
            "doc_type": interp.verdict.kind,
            "layout": interp.verdict.layout,
            "title": page.agency_name if page else interp.verdict.reason,
            "parse_status": interp.parse_status,
            "parse_error": interp.parse_error,
            "parse_warnings": json.dumps(interp.warnings) if interp.warnings else None,
            "parser_version": interp.parser,
            "ingest_version": INGEST_VERSION,
            "encoding": interp.encoding,
        })

    # ---- portal facts -----------------------------------------------------------------
    def _url_from_page(self, fetched: Fetched, page: PortalPage) -> None:
        """A saved portal page without a URL: the portal it is, from the agency name the page
        shows, when that name is a portal already known (its slug); else the file stays the
        source, and says so."""
        name = (page.agency_name or "").strip()
        row = self.db.execute(
            "select a.flock_slug from agency_aliases l join agencies a on a.id = l.agency_id "
            "where l.alias = ? and l.rule = 'portal_owner' and a.flock_slug is not null",
            [name]).fetchone() if name else None
        if row:
            fetched.url = FLOCK_PORTAL_BASE + row[0]
            fetched.requested_slug = row[0]
            fetched.url_basis = f"page: the agency name it shows ('{name}') is the known portal"
        elif fetched.url_basis in (None, "file"):
            fetched.url_basis = (f"file: the page's agency name ('{name}') is not a portal "
                                 "known here; give --url")


    def _owner_id(self, name: str | None, flock_slug: str | None) -> str:
        if flock_slug:
            row = self.db.execute("select id from agencies where flock_slug = ?",
                                  [flock_slug]).fetchone()
            if row:
                return row[0]
        if name:
            row = self.db.execute("select agency_id from agency_aliases where alias = ? "
                                  "and rule = 'portal_owner'", [name.strip()]).fetchone()
            if row:
                return row[0]
            return self.resolver.resolve(name).agency_id
        return (flock_slug or "unknown").strip("-") or "unknown"

    def _load_portal(self, sha: str, page: PortalPage, url: str, captured_at: str,
                     requested_slug: str | None) -> tuple[str, str]:
        slug = requested_slug or slug_from_portal_url(url)
        owner = self._owner_id(page.agency_name, slug)
        existing = self.db.execute("select id from agencies where id = ?", [owner]).fetchone()
        if existing:
            updates = {"flock_slug": slug, "portal_url": url if url.startswith("http") else None}
            _update(self.db, "agencies", "id", owner, {k: v for k, v in updates.items() if v})
        else:
            record = agency_record(self.resolver.resolve(page.agency_name or owner), owner)
            if slug:
                record.update(flock_slug=slug,
                              portal_url=url if url.startswith("http") else None)
            _upsert(self.db, "agencies", record, "id")
        if page.agency_name:
            self.db.execute(
                "insert into agency_aliases (alias, agency_id, rule, first_document) "
                "values (?, ?, 'portal_owner', ?) on conflict(alias) do update set "
                "agency_id = excluded.agency_id, rule = 'portal_owner'",
                [page.agency_name.strip(), owner, sha])

        snapshot_id = _short_id(sha, captured_at)
        policies = dict(page.policies)
        known = {k: policies.pop(k, None) for k in
                 ("acceptable_use", "prohibited_uses", "access_policy", "hotlist_policy")}
        _upsert(self.db, "portal_snapshots", {
            "id": snapshot_id, "agency_id": owner, "document_sha256": sha,
            "captured_at": captured_at, "url": url, "layout": page.layout,
            "agency_name": page.agency_name, "last_updated": page.last_updated,
            "retention_days": page.retention_days, "retention_raw": page.retention_raw,
            "cameras": page.cameras, "camera_counts": _json_or_none(page.camera_counts),
            "vehicles_30d": page.vehicles_30d, "hotlist_hits_30d": page.hotlist_hits_30d,
            "searches_30d": page.searches_30d, "hotlists": _json_or_none(page.hotlists),
            "detected": page.detected, "not_detected": page.not_detected, **known,
            "other_policies": _json_or_none(policies),
            "additional_info": _json_or_none(page.additional_info),
            "outbound_count": len(page.sharing_outbound),
            "inbound_count": len(page.sharing_inbound),
            "search_audit_present": int(page.search_audit_present),
            "search_audit_rows": len(page.search_audit),
            "warnings": _json_or_none(page.warnings),
        }, "id")
        self._pending("changes", owner)
        for direction, names, label in (
            ("outbound", page.sharing_outbound, page.sharing_outbound_label),
            ("inbound", page.sharing_inbound, page.sharing_inbound_label),
        ):
            if names or label:
                self.add_sharing_list(owner, direction, names, sha, captured_at, "flock_portal",
                                      label)
        if page.search_audit_present:
            self._record_masked(sha, self._load_searches(page.search_audit, sha, captured_at,
                                                         owner))
        return owner, snapshot_id

    def add_sharing_list(self, list_agency_id: str, direction: str, names: list[str], sha: str,
                         captured_at: str, source_kind: str, label: str | None = None) -> str:
        """Record one published sharing list (evidence); intervals follow in refresh_sharing."""
        list_id = _short_id(sha, captured_at, list_agency_id, direction)
        _upsert(self.db, "sharing_lists", {
            "id": list_id, "list_agency_id": list_agency_id, "direction": direction,
            "source_kind": source_kind, "label": label, "captured_at": captured_at,
            "document_sha256": sha, "names": json.dumps(names), "count": len(names),
        }, "id")
        self._pending("sharing", list_agency_id)
        self._pending("changes", list_agency_id)
        return list_id

    def _pending(self, kind: str, key: str = "") -> None:
        """Queue a derivation (in the load's transaction: it survives a kill before finish)."""
        self.db.execute("insert or ignore into pending_derivations (kind, key) values (?, ?)",
                        [kind, key])

    def _load_searches(self, rows: list[AuditRow] | AuditColumns, sha: str, captured_at: str,
                       searcher_id: str | None, csv_text: str | None = None) -> Counter[str]:
        """Load audit rows by Flock search id; count new, already known and changed rows.

        A search whose content differs from what is stored keeps its first content; the new
        content goes to search_versions, so a re-export that shifted a time zone is visible
        instead of silently overwriting the evidence. Audit CSV files are staged straight from
        their text (search_loader), the fast path for millions of rows.
        """
        if csv_text is not None:
            counts, warnings = load_audit_csv(self.db, csv_text, sha, captured_at, searcher_id,
                                              self._resolve_names, self.hash_plate)
            self._add_warnings(sha, warnings)
            return counts
        if not rows:
            return Counter()
        prepared = audit_columns(rows, self.hash_plate)  # (made by the worker, usually)
        org_ids = (self._resolve_names(dict.fromkeys(prepared.org_names, sha))
                   if prepared.org_names else {})
        return load_rows(self.db, prepared, sha, captured_at, searcher_id, org_ids)

    def _add_warnings(self, sha: str, warnings: list[str]) -> None:
        """Warnings only the loader sees (audit CSVs are mapped while they load: odd dates,
        ragged rows): on the document, as the parser's would be."""
        if not warnings:
            return
        row = self.db.execute("select parse_status, parse_warnings from documents where "
                              "sha256 = ?", [sha]).fetchone()
        if row is None:
            return
        known = json.loads(row[1]) if row[1] else []
        merged = known + [w for w in warnings if w not in known]
        self.db.execute("update documents set parse_warnings = ?, parse_status = ? where "
                        "sha256 = ?", [json.dumps(merged), "ok_with_warnings" if row[0] == "ok"
                                       else row[0], sha])

    def _record_masked(self, sha: str, counts: Counter[str]) -> None:
        """How many plate-like tokens the document's free text had (each stored as a keyed
        token, parsers.plate_tokens)."""
        self.db.execute("update documents set masked_plates = ? where sha256 = ?",
                        [counts.get("masked_plates", 0), sha])

    # ---- sharing intervals ------------------------------------------------------------
    def _resolve_names(self, first_document: dict[str, str]) -> dict[str, str]:
        """Map raw organisation names (-> the document first listing them) to agency ids,
        creating agencies and aliases for names not seen before."""
        names = sorted(first_document)
        known = {
            alias: agency_id for alias, agency_id in self.db.execute(
                "select alias, agency_id from agency_aliases where alias in (select value from "
                "json_each(?))", [json.dumps(names)])
        }
        existing_ids = {row[0] for row in self.db.execute("select id from agencies")}
        new_aliases, new_agencies = [], []
        for name in names:
            if name in known:
                continue
            resolution = self.resolver.resolve(name)
            agency_id = resolution.agency_id
            known[name] = agency_id
            new_aliases.append({"alias": name, "agency_id": agency_id, "rule": resolution.rule,
                                "first_document": first_document.get(name)})
            if agency_id not in existing_ids:
                existing_ids.add(agency_id)
                new_agencies.append(agency_record(resolution, agency_id))
        if new_agencies:
            self.db["agencies"].insert_all(new_agencies, pk="id", ignore=True)
        if new_aliases:
            self.db["agency_aliases"].insert_all(new_aliases, pk="alias", ignore=True)
        marked = [known[n] for n in names if federal_marker(n)]
        if marked:
            relabelled = [r[0] for r in self.db.execute(
                "select id from agencies where id in (select value from json_each(?)) and "
                "flock_marked_federal is not 1", [json.dumps(marked)])]
            if relabelled:  # their [Federal] label changes other agencies' change rows
                for agency_id in relabelled:
                    self._pending("relabelled", agency_id)
                self.db.execute("update agencies set flock_marked_federal = 1 where id in "
                                "(select value from json_each(?))", [json.dumps(relabelled)])
        return known

    def finish(self) -> None:
        """End of a load run, in one transaction under the write lock, for everything the
        loads queued in pending_derivations (this run's, and any a killed run left): sharing
        intervals, names placed by their documents (identity.py), 287(g) agreements, state
        policies, the stored answers (answers.py), the change history of the agencies touched,
        full-text indexes. Then the change history's Atom feed beside the database and, after
        a load that grew a table a lot, fresh statistics for the query planner."""
        conn = self.db.conn
        with self.writing("derive"):
            pending = self._pending_keys()
            full = "full" in pending  # after clear_facts every derived row is rebuilt
            lists = pending.get("sharing", set())
            relabelled = pending.get("relabelled", set())
            owners = affected_owners(conn, lists)
            self.refresh_sharing(lists)
            rescan, placed, before = self.refresh_identity(lists)
            owners |= before | affected_owners(conn, lists | rescan)
            agreements_changed = "agreements" in pending
            if agreements_changed:
                refresh_agreements(self.db, self.archive)
                refresh_agency_287g(conn)
            refresh_state_policies(self.db)
            refresh_same_as(conn)
            every_exposure = agreements_changed or bool(placed)
            refresh_answers(conn, owners, exposure=not every_exposure)
            if every_exposure:
                refresh_exposure(conn)
            refresh_lookup(conn, self.resolver.resolve, self.resolver.states)
            # names linked anew change how those lists' changes read
            touched = pending.get("changes", set()) | relabelled | rescan | set(placed)
            touched |= agencies_naming(self.db, relabelled) if relabelled else set()
            refresh_changes(self.db, None if full else touched)
            rebuild_fts(self.db, full=full)
            self.db.execute("delete from pending_derivations")
        feed = feed_path(self.db)
        if full or touched or (feed is not None and not feed.exists()):
            write_atom_feed(self.db)  # only when the change history may have changed
        with self.writing("statistics"):  # ANALYZE writes: never outside the lock
            refresh_statistics(self.db)

    def _pending_keys(self) -> dict[str, set[str]]:
        """The derivations queued by loads: kind -> keys (list agencies, agencies, '')."""
        pending: dict[str, set[str]] = {}
        for kind, key in self.db.execute("select kind, key from pending_derivations"):
            pending.setdefault(kind, set()).add(key)
        return pending

    def ensure_answers(self) -> bool:
        """A database built before the stored answers existed gets them now (identity links,
        data_access, exposure, 287(g) per agency, lookup); returns True when it did."""
        has_sharing = self.db.execute("select 1 from sharing limit 1").fetchone()
        has_answers = self.db.execute("select 1 from agency_lookup limit 1").fetchone()
        if has_answers or not (has_sharing or self.db.execute(
                "select 1 from agencies limit 1").fetchone()):
            return False
        with self.writing("queue the stored answers"):
            for (list_agency_id,) in self.db.execute(
                    "select distinct list_agency_id from sharing_lists").fetchall():
                self._pending("sharing", list_agency_id)
            if self.db.execute("select 1 from agreement_listings limit 1").fetchone():
                self._pending("agreements")
        self.finish()
        return True

    def refresh_identity(self, touched: Iterable[str] | None = None
                         ) -> tuple[set[str], list[str], set[str]]:
        """Portal owners without a state in their name get the state their lists show, and
        names without a state in others' lists are read in that list's state where the
        evidence allows (identity.py); intervals of the lists concerned are derived again.
        Returns (those list agencies, agencies given a state, data owners before)."""
        conn = self.db.conn
        with self.writing("place names by their documents"):
            placed = state_of_portal_owners(conn)
            scopes = None if touched is None else set(touched) | set(placed) | {
                r[0] for r in conn.execute("select distinct list_agency_id from sharing where "
                                           "owner_id in (select value from json_each(?)) or "
                                           "grantee_id in (select value from json_each(?))",
                                           [json.dumps(placed)] * 2)}
            rescan = link_names(conn, self.resolver.resolve, scopes)
            before = affected_owners(conn, rescan) if rescan else set()
            again = set(rescan)
            for _ in range(IDENTITY_PASSES):
                if not again:
                    break
                derive_intervals(conn, sorted(again))
                # the names just linked now have a state in these lists, so the evidence of
                # the names still unplaced there (the lists' state counts) is read again, and
                # a list whose links change by it is derived again: the result is the same
                # whatever order the documents came in (a second run changes nothing)
                decided = _decided_links(conn, again)
                link_names(conn, self.resolver.resolve, again)
                again = {scope for scope, links in _decided_links(conn, again).items()
                         if links != decided.get(scope)}
                rescan |= again
        return rescan, placed, before

    def refresh_sharing(self, list_agency_ids: Iterable[str] | None = None) -> int:
        """Recompute the sharing intervals of these agencies' lists (default: those queued in
        pending_derivations), set-based (alpr_inventory/derive/intervals.py), in one transaction."""
        if list_agency_ids is None:
            ids = sorted(r[0] for r in self.db.execute(
                "select key from pending_derivations where kind = 'sharing'"))
        else:
            ids = sorted(set(list_agency_ids))
        written = 0
        if ids:
            with self.writing("derive sharing intervals"):
                self._resolve_listed_names(ids)
                written = derive_intervals(self.db.conn, ids)
                if list_agency_ids is None:
                    self.db.execute("delete from pending_derivations where kind = 'sharing'")
        return written

    def _resolve_listed_names(self, list_agency_ids: list[str]) -> None:
        """Every name in these agencies' lists gets an alias (new names through the resolver,
        with the first document listing them), and Flock's [Federal] label marks its agency."""
        register_functions(self.db.conn)
        ids = json.dumps(list_agency_ids)
        # a list naming exactly what the list before it in its timeline named (half of all
        # captures) brings no name, and no first document for one: its names are not read
        lists = """(select * from (
              select l.names, l.list_agency_id, l.source_kind, l.captured_at,
                l.document_sha256, l.names is lag(l.names) over (
                  partition by l.list_agency_id, l.source_kind, l.direction
                  order by l.captured_at, l.document_sha256) as repeats
              from sharing_lists l
              where l.list_agency_id in (select value from json_each(?)))
            where not repeats)"""
        new = self.db.execute(f"""
            select name, document_sha256 from (
              select j.value as name, l.document_sha256, row_number() over (
                partition by j.value order by l.list_agency_id, l.source_kind, l.captured_at,
                  l.document_sha256) as rn
              from {lists} l, json_each(l.names) j
              where not exists (select 1 from agency_aliases a where a.alias = j.value))
            where rn = 1""", [ids]).fetchall()
        if new:
            self._resolve_names(dict(new))
        relabelled = [r[0] for r in self.db.execute(f"""
            select id from agencies where flock_marked_federal is not 1 and id in (
              select a.agency_id from {lists} l, json_each(l.names) j
              join agency_aliases a on a.alias = j.value
              where j.value like '%federal%' and federal_marker(j.value))""", [ids])]
        # (LIKE first: the marker is "[Federal]" or "(Federal)", case aside; the Python
        # function then runs for a handful of names instead of every listed one)
        if relabelled:  # their [Federal] label changes other agencies' change rows
            for agency_id in relabelled:
                self._pending("relabelled", agency_id)
            self.db.execute("update agencies set flock_marked_federal = 1 where id in "
                            "(select value from json_each(?))", [json.dumps(relabelled)])

    # ---- rebuild ----------------------------------------------------------------------
    def clear_facts(self) -> None:
        """Delete every derived fact; documents, fetches, runs and the archive stay."""
        with self.writing("clear facts"):
            for table in (*FACT_TABLES, "pending_derivations"):
                self.db.execute(f"delete from [{table}]")
            self._pending("full")

    def outdated_documents(self) -> list[str]:
        """Documents read by an older version of their parser (or of the ingest), or by a
        parser no longer known: what `reparse` reads again."""
        rows = self.db.execute(
            "select sha256, parser_version, ingest_version, parse_status from documents "
            "order by sha256").fetchall()
        return [sha for sha, parser, ingest, status in rows
                if not is_current(parser, ingest)]

    def reparse_all(self, progress: bool = False) -> Counter[str]:
        """Rebuild all facts from archived bytes: no network, same result as the original load.

        Each document is read and parsed once (in the parser workers, several at a time), then
        loaded for every capture that fetched it.
        """
        self.clear_facts()
        return self._reparse(None, progress)

    def reparse_outdated(self, progress: bool = False) -> Counter[str]:
        """Read again only the documents a parser version change affects (`outdated_documents`)
        and load their facts again, as importing them again would; the others stay as they
        are. Nothing to do when every document was read by its parser's current version."""
        outdated = self.outdated_documents()
        if not outdated:
            return Counter()
        return self._reparse(outdated, progress)

    def _reparse(self, only: list[str] | None, progress: bool) -> Counter[str]:
        fetches = self.db.execute(
            "select sha256, url, captured_at, requested_slug, http_status, agency_given, "
            "sharing_list_given, fetched_from from fetches order by sha256, captured_at"
        ).fetchall()
        wanted = set(only) if only is not None else None
        by_doc: dict[str, list[tuple[Any, ...]]] = {}
        for sha, *capture in fetches:
            if wanted is None or sha in wanted:
                by_doc.setdefault(sha, []).append(tuple(capture))
        stats: Counter[str] = Counter()
        queue: deque[tuple[str, list[tuple[Any, ...]], str | None, str | None]] = deque()

        def jobs() -> Iterator[tuple[Any, ...]]:
            for sha, captures in by_doc.items():
                try:
                    body = self.archive.get(sha)
                except (OSError, ValueError) as exc:
                    stats["missing_from_archive"] += 1
                    log.error("cannot reparse %s: %s", sha, exc)
                    continue
                agency = next((c[4] for c in captures if c[4]), None)
                declared = next((c[5] for c in captures if c[5]), None)
                queue.append((sha, captures, agency, declared))
                url, _, _, status, *_, fetched_from = captures[0]
                yield sha, body, status, None, None, agency, declared, fetched_from or url, url

        bar = _progress(len(by_doc), "Reparsing documents") if progress else nullcontext()
        with bar as shown:
            for outcome in self.pool().imap(jobs()):
                sha, captures, agency, declared = queue.popleft()
                if isinstance(outcome, PdfJobError):
                    interp, text = _failed_job(outcome), None
                else:
                    interp, text = outcome.value
                with self.writing("reparse a document"):
                    self._record_interpretation(sha, interp, text)
                    for url, captured_at, slug, *_ in captures:
                        self._load_facts(sha, interp, url, captured_at, slug, agency, declared)
                stats[interp.parse_status] += 1
                if shown is not None:
                    shown.update(1)
        self.finish()
        return stats


# the loader of each record an Interpretation can hold (parsers.router.RECORD_FIELDS)
_LOADERS: dict[str, Callable[[Store, str, Any, _Capture], _Loaded]] = {
    "names": Store._load_names, "records": Store._load_records, "cameras": Store._load_cameras,
    "sharing_report": Store._load_report, "vigilant": Store._load_vigilant,
    "agreement": Store._load_agreement, "sheet_287g": Store._load_287g,
    "audit": Store._load_audit, "peer": Store._load_peer, "page": Store._load_page,
}
assert set(_LOADERS) == set(RECORD_FIELDS)


def _progress(length: int, label: str) -> AbstractContextManager[Any]:
    import click  # progress goes to stderr; only the CLI asks for it

    return click.progressbar(length=length, label=label, file=sys.stderr, show_pos=True)


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _json_or_none(value: Any) -> str | None:
    return json.dumps(value) if value else None


@cache
def _upsert_sql(table: str, columns: tuple[str, ...], pk: str) -> str:
    names = ", ".join(f"[{c}]" for c in columns)
    sets = ", ".join(f"[{c}] = excluded.[{c}]" for c in columns if c != pk)
    return (f"insert into [{table}] ({names}) values ({', '.join('?' for _ in columns)}) "
            f"on conflict([{pk}]) do " + (f"update set {sets}" if sets else "nothing"))


def _upsert(db: sqlite_utils.Database, table: str, record: Mapping[str, Any], pk: str) -> None:
    """Insert a row, or update the given columns of the stored one: sqlite-utils' upsert
    without its per-call look at the table's schema (the hot path of loading a page)."""
    db.execute(_upsert_sql(table, tuple(record), pk), list(record.values()))


def _update(db: sqlite_utils.Database, table: str, pk: str, key: Any,
            values: Mapping[str, Any]) -> None:
    if values:
        sets = ", ".join(f"[{c}] = ?" for c in values)
        db.execute(f"update [{table}] set {sets} where [{pk}] = ?", [*values.values(), key])
