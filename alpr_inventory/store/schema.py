"""The one place that owns the database schema, its documentation and its indexes.

Every table is described here once: columns with types, primary keys, a sentence per column.
`ensure_schema` creates what is missing; `datasette_metadata` turns the same descriptions into
Datasette metadata, so the docs a reporter reads in Datasette can never drift from the tables.
"""

from __future__ import annotations

import contextlib
import html
import sqlite3
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from alpr_inventory.store.locking import DatabaseLock
from parsers.model import DOC_TYPES, PARSE_STATUSES

SCHEMA_VERSION = 2  # 2: plates in free text masked (existing rows are masked on upgrade)
LICENSE = "Facts extracted from public records; see each document's URL for the source."


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: dict[str, tuple[type, str]]  # name -> (python type, description)
    pk: str | tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    unique_indexes: tuple[tuple[str, ...], ...] = ()
    fts: tuple[str, ...] = ()
    # Big, bulk-loaded, append-only tables keep their full-text index current at the end of
    # each run (rebuild_fts indexes the rows added) instead of a trigger on every row, which
    # would halve load speed.
    fts_triggers: bool = True
    facets: tuple[str, ...] = ()
    sort_desc: str | None = None
    not_null: frozenset[str] = field(default_factory=frozenset)


# The words of runs.status. A run is `running` while its process lives (it holds a lock, see
# alpr_inventory/store/locking.py); the next command that opens the database marks a run whose
# process is gone (kill -9, crash, power cut) `interrupted`.
RUN_STATUSES = {
    "running": "the command is still at work",
    "finished": "it ran to its end",
    "blocked": "a crawl stopped after repeated block or rate-limit pages",
    "failed": "it stopped on an error (finish_reason says which)",
    "interrupted": "its process died without finishing (killed, crashed); found by a later "
                   "command. Whatever it loaded was loaded whole, document by document; running "
                   "the same command again completes it",
}
RUN_STATUSES_DOC = "; ".join(f"{k}: {v}" for k, v in RUN_STATUSES.items()) + "."
DOC_TYPES_DOC = "; ".join(f"{k}: {v}" for k, v in DOC_TYPES.items()) + "."
PARSE_STATUSES_DOC = "; ".join(f"{k}: {v}" for k, v in PARSE_STATUSES.items()) + "."

TABLES: tuple[Table, ...] = (
    Table(
        "runs",
        "One row per crawl or import run, with what it did. A run that was blocked says so.",
        {
            "id": (int, "Run number."),
            "command": (str, "What ran: a spider name (flock_portals) or import/reparse."),
            "started_at": (str, "UTC time the run started (ISO-8601)."),
            "finished_at": (str, "UTC time the run ended; empty while it is running or if it crashed."),
            "status": (str, RUN_STATUSES_DOC),
            "finish_reason": (str, "Scrapy's close reason or the error that ended the run."),
            "args": (str, "JSON of the arguments the run was started with."),
            "base_url": (str, "Where the spider fetched from (the live site or a local replay)."),
            "mode": (str, "browser (scrapy-playwright, system Chromium) or http (plain HTTP)."),
            "pages": (int, "Responses received (every status)."),
            "documents": (int, "Documents stored that the archive did not have before."),
            "portals": (int, "Responses that were Flock portal pages."),
            "blocked": (int, "Responses that were Cloudflare challenges or rate-limit pages."),
            "not_found": (int, "Responses that were 'page not found' (unknown slug)."),
            "errors": (int, "Requests that failed (network errors) or documents that failed to parse."),
            "discovered": (int, "Candidate portal slugs found in sharing lists and queued."),
            "details": (str, "JSON of the spider's other counts (throttled, not modified, skipped as already archived, ...)."),
            "seeds": (int, "Seeds of a crawl (slugs, URLs, terms, tenants or clients given, plus those retried because an earlier run failed on them): seeds = seeds_fetched + seeds_failed."),
            "seeds_fetched": (int, "Seeds whose own request got an answer that is not a failure (any status, e.g. 200 or 404: see fetches)."),
            "seeds_failed": (int, "Seeds whose own request failed or was never answered (a row in crawl_failures each)."),
            "failures": (int, "Rows this run added to crawl_failures (seeds, discovered portals and requests followed from them)."),
            "pid": (int, "Process id of the command that ran it (with host: to tell whose run it is)."),
            "host": (str, "Machine the command ran on."),
        },
        pk="id",
        facets=("command", "status"),
        sort_desc="id",
    ),
    Table(
        "agencies",
        "Every organisation seen: portal owners and every name in a sharing list, resolved to one "
        "canonical agency by the organisation resolver (rules and aliases in data/resolver/).",
        {
            "id": (str, "Stable id: the portal slug for portal owners, else a slug of the name."),
            "name": (str, "Name as first published."),
            "flock_slug": (str, "Flock transparency-portal slug, when the agency has a portal."),
            "portal_url": (str, "Transparency-portal URL."),
            "flock_marked_federal": (int, "1 when Flock itself labels the name [Federal] or (Federal)."),
            "kind": (
                str,
                "local_police, sheriff, state, federal, tribal, university, private, task_force, "
                "other, or unresolved (the rules could not settle it: review it).",
            ),
            "state": (str, "Two-letter state."),
            "federal_component": (str, "For federal bodies: ICE, ICE-HSI, CBP-USBP, FBI, ..."),
            "immigration": (int, "1 for immigration-enforcement bodies (ICE, HSI, ERO, CBP, Border Patrol)."),
            "resolver_rule": (str, "Which rule or alias of the resolver's data files decided kind and federal status."),
            "state_basis": (str, "How the state was decided: name (the name states it), or the rule of the agency_links row that gave it from the documents."),
            "same_as": (str, "Set when every occurrence of this name was tied to one other agency (agency_links) and no fact refers to this row any more: the agency the records mean."),
            "resolution_status": (str, "resolved, or unresolved (left for review, never forced)."),
        },
        pk="id",
        # (id, name, kind, state, immigration): what answers sort and filter on, for thousands
        # of ids at a time, read from the index alone
        indexes=(("kind",), ("flock_slug",), ("id", "name", "kind", "state", "immigration"),
                 ("state",)),
        fts=("name",),
        facets=("kind", "state", "federal_component", "immigration", "resolution_status"),
    ),
    Table(
        "documents",
        "One row per distinct document (by the SHA-256 of its bytes). The raw bytes are in the "
        "archive at archive_path; fetching the same bytes again adds a row to fetches, not a copy.",
        {
            "sha256": (str, "SHA-256 of the raw bytes: the document's identity and archive name."),
            "url": (str, "Original URL the document was first fetched from (or file:// for imports)."),
            "source": (str, "How it arrived: flock_portals spider, import, ..."),
            "content_type": (str, "Content type the server sent, or guessed for imported files."),
            "bytes": (int, "Size in bytes."),
            "archive_path": (str, "Path of the raw bytes relative to the archive folder."),
            "first_fetched_at": (str, "UTC time these bytes were first fetched or imported."),
            "http_status": (int, "HTTP status of the first fetch (empty for imported files)."),
            "doc_type": (str, "What the document is (the kind of the router's route that read it, parsers/router.py): " + DOC_TYPES_DOC),
            "layout": (str, "Portal layout: classic (to Apr 2026), transitional (29-30 Apr 2026), intermediate (Jun 2026), new (Aug 2026 on)."),
            "title": (str, "Agency name the page shows, or the block reason."),
            "agency_id": (str, "Agency whose page this is (portal owner)."),
            "parse_status": (str, "How reading it ended (parsers/router.py PARSE_STATUSES): " + PARSE_STATUSES_DOC),
            "parse_error": (str, "Why parsing failed or was refused, in one sentence."),
            "parse_warnings": (str, "JSON list of warnings (unknown card labels, odd values)."),
            "parser_version": (str, "Name and version of the parser that read the document and produced its facts (e.g. audit_csv/1, flock_portal/2, agreement_pdf/1; router/1 when only the recogniser decided: empty, image, unknown). `reparse` reads again the documents whose parser's version changed."),
            "ingest_version": (str, "Version of the whole reading of a document (recognition, statuses, masking): a document read by an older one is read again on import."),
            "document_type": (
                str,
                "What the document is, by its content: portal_page, audit_export, sharing_list, "
                "alpr_policy, vendor_contract, data_sharing_agreement, 287g_moa, dmv_agreement, "
                "287g_listing, council_record, records_api_response, block_page, other.",
            ),
            "document_type_evidence": (str, "Why: the parser that recognised it or the words that decided."),
            "encoding": (str, "Text encoding the document was read in, for text formats (utf-8, utf-8-sig, utf-16, cp1252, latin-1)."),
            "masked_plates": (int, "Plate-like tokens found in the free text of the document's audit rows (reasons, case numbers, offense types, other columns) and stored as keyed tokens [plate:<hmac>], the same HMAC as searches.plate_hash (never in clear); empty for documents without audit rows."),
        },
        pk="sha256",
        foreign_keys=(("agency_id", "agencies", "id"),),
        indexes=(("agency_id",), ("doc_type",), ("parse_status",), ("document_type",)),
        facets=("document_type", "doc_type", "parse_status", "source", "layout"),
    ),
    Table(
        "fetches",
        "Each time a document was fetched or imported: when, from where, with what status.",
        {
            "id": (int, "Fetch number."),
            "sha256": (str, "The document fetched."),
            "url": (str, "Original URL (for a replayed archive capture, the URL it was captured from)."),
            "fetched_from": (str, "The URL actually requested (a local replay server, a file path)."),
            "requested_slug": (str, "Portal slug the spider asked for, if any."),
            "fetched_at": (str, "UTC time of the fetch or import."),
            "captured_at": (
                str,
                "UTC time the content represents: the fetch time for live pages, the archive's "
                "Memento-Datetime for replayed captures, the date in a saved file's name.",
            ),
            "captured_at_basis": (str, "Where captured_at came from: fetch, memento, filename (a date in the file's name), given (--captured-at), document (a date the document gives about itself: see captured_at_source), import (nothing better: the time of the import, and the import said so)."),
            "captured_at_source": (str, "For basis document: where in the document the date was read (its title, 'Date Created', the page's 'Last Updated', file metadata)."),
            "url_basis": (str, "Where url came from for an imported file: given (--url), saved_from (the browser's comment), folder (<slug>/<date>.html), page (the agency name it shows is a known portal), file (none: the file path)."),
            "http_status": (int, "HTTP status (empty for imported files)."),
            "run_id": (int, "Run that made the fetch."),
            "agency_given": (str, "Agency the user named on import (--agency), for documents that do not say whose they are."),
            "sharing_list_given": (str, "inbound/outbound when the user declared the file a released sharing list (--sharing-list)."),
            "etag": (str, "ETag the server sent: the next run asks If-None-Match."),
            "last_modified": (str, "Last-Modified the server sent: the next run asks If-Modified-Since."),
        },
        pk="id",
        foreign_keys=(("sha256", "documents", "sha256"), ("run_id", "runs", "id")),
        indexes=(("sha256",), ("run_id",), ("url",)),
        unique_indexes=(("sha256", "url", "captured_at"),),
        facets=("captured_at_basis", "http_status"),
    ),
    Table(
        "agency_aliases",
        "Every raw organisation name seen, exactly as published, and the agency it was mapped to.",
        {
            "alias": (str, "The name exactly as published (trimmed)."),
            "agency_id": (str, "Agency it was mapped to."),
            "rule": (str, "Why: portal_owner (the page's own name), exact_name, slug_of_name."),
            "first_document": (str, "A document where the name was first seen."),
        },
        pk="alias",
        foreign_keys=(("agency_id", "agencies", "id"), ("first_document", "documents", "sha256")),
        indexes=(("agency_id",),),
        fts=("alias",),
        facets=("rule",),
    ),
    Table(
        "agency_links",
        "How names that the resolver alone cannot place were tied to one agency, from what the "
        "documents themselves say (the state of the list's agency, the states of the "
        "organisations a report names, the user's --agency), or why they were not (status "
        "review). Derived on every build (alpr_inventory/derive/identity.py); never a guess.",
        {
            "id": (str, "Link id (kind, scope, name)."),
            "kind": (
                str,
                "owner: whose document it is (a release's subject) tied to an agency in a state; "
                "name: a name in another agency's list, read in that list's context; state: a "
                "state given to an agency whose name has none (e.g. a portal named 'Shasta "
                "County SO').",
            ),
            "status": (str, "linked, or review (the evidence did not settle it: see rule)."),
            "raw_name": (str, "The name exactly as published."),
            "from_id": (str, "The agency the resolver gave the name on its own (no state)."),
            "to_id": (str, "The agency it is tied to (empty for review)."),
            "scope_id": (str, "For name links: the agency whose list names it (the context)."),
            "document_sha256": (str, "For owner links: the document whose subject it is; else the first document."),
            "state": (str, "The state the evidence points to."),
            "rule": (str, "The rule and the evidence, in words (counts of states, the list, the candidate)."),
            "evidence": (str, "JSON: the counts behind the rule."),
        },
        pk="id",
        foreign_keys=(("from_id", "agencies", "id"), ("to_id", "agencies", "id"),
                      ("document_sha256", "documents", "sha256")),
        indexes=(("scope_id", "raw_name"), ("from_id",), ("to_id",), ("document_sha256",)),
        facets=("kind", "status", "state"),
    ),
    Table(
        "portal_snapshots",
        "What one capture of an agency's Flock transparency portal said, as published.",
        {
            "id": (str, "Snapshot id (document and capture time)."),
            "agency_id": (str, "Portal owner."),
            "document_sha256": (str, "The captured page (evidence)."),
            "captured_at": (str, "UTC time of the capture."),
            "url": (str, "Portal URL."),
            "layout": (str, "classic, transitional, intermediate or new (see documents.layout)."),
            "agency_name": (str, "Agency name as the page shows it."),
            "last_updated": (str, "The portal's own 'Last Updated' time."),
            "retention_days": (int, "Data retention in days."),
            "retention_raw": (str, "Retention text as published."),
            "cameras": (int, "Number of cameras (LPR and other, or LPR only where that is all it says)."),
            "camera_counts": (str, "JSON: every camera card, label as published -> number."),
            "vehicles_30d": (int, "Vehicles (or unique vehicles) detected in the last 30 days."),
            "hotlist_hits_30d": (int, "Hotlist hits in the last 30 days."),
            "searches_30d": (int, "Searches in the last 30 days."),
            "hotlists": (str, "JSON list of hotlists alerted on."),
            "detected": (str, "What's detected."),
            "not_detected": (str, "What's not detected."),
            "acceptable_use": (str, "Acceptable use policy text."),
            "prohibited_uses": (str, "Prohibited uses text."),
            "access_policy": (str, "Access (audit, search) policy text."),
            "hotlist_policy": (str, "Hotlist policy text."),
            "other_policies": (str, "JSON: any other policy card, label -> text."),
            "additional_info": (str, "JSON list of additional-info cards {label, text, links}."),
            "outbound_count": (int, "How many organisations can see this agency's data."),
            "inbound_count": (int, "How many organisations share their data with it (newer layout)."),
            "search_audit_present": (int, "1 when the page embeds its public search audit CSV."),
            "search_audit_rows": (int, "Rows in the embedded search audit."),
            "warnings": (str, "JSON list of parser warnings for this capture."),
        },
        pk="id",
        foreign_keys=(("agency_id", "agencies", "id"), ("document_sha256", "documents", "sha256")),
        indexes=(("agency_id", "captured_at"), ("document_sha256",)),
        unique_indexes=(("document_sha256", "captured_at"),),
        fts=("agency_name", "acceptable_use", "prohibited_uses", "access_policy", "hotlist_policy",
             "detected", "not_detected"),
        facets=("layout", "retention_days", "search_audit_present"),
        sort_desc="captured_at",
    ),
    Table(
        "sharing_lists",
        "Every sharing list as one source published it at one time: the raw evidence that the "
        "sharing intervals are derived from. Portals, peer datasets and records releases all "
        "land here.",
        {
            "id": (str, "List id (document, capture time, publishing agency, direction)."),
            "list_agency_id": (str, "Agency the list is about (whose portal or release lists it)."),
            "direction": (
                str,
                "outbound: organisations that can see list_agency's data; inbound: organisations "
                "whose data list_agency can see.",
            ),
            "source_kind": (str, "flock_portal, peer_dataset, records_release."),
            "label": (str, "The heading the list was published under."),
            "captured_at": (str, "UTC time the list was captured or, for datasets, observed."),
            "document_sha256": (str, "The document the list is in (evidence)."),
            "names": (str, "JSON list of organisation names exactly as published (trimmed)."),
            "count": (int, "Number of names."),
        },
        pk="id",
        foreign_keys=(("list_agency_id", "agencies", "id"), ("document_sha256", "documents", "sha256")),
        indexes=(("list_agency_id", "captured_at"), ("document_sha256",)),
        facets=("source_kind", "direction"),
        sort_desc="captured_at",
    ),
    Table(
        "sharing",
        "Who can see whose data, as intervals: one row per continuous run of captures in which a "
        "portal listed the organisation. A name that disappears and comes back gets a new row.",
        {
            "id": (str, "Interval id."),
            "owner_id": (str, "Agency whose data is shared (the data owner)."),
            "grantee_id": (str, "Agency that can see the owner's data."),
            "direction": (
                str,
                "outbound: the owner's own list names the grantee ('granted access to'); "
                "inbound: the grantee's list names the owner ('sharing their data with').",
            ),
            "list_agency_id": (str, "Whose list it is (the portal or release that published it)."),
            "source_kind": (str, "flock_portal, peer_dataset, records_release: each source has its own timeline."),
            "raw_name": (str, "The other party's name exactly as the list published it."),
            "grantee_marked_federal": (
                int, "1 when Flock labels the grantee (the one who can see the data) [Federal]."),
            "owner_marked_federal": (int, "1 when Flock labels the data owner [Federal]."),
            "first_seen": (str, "Capture time of the first snapshot in the interval."),
            "last_seen": (str, "Capture time of the last snapshot in the interval."),
            "gone_by": (str, "Capture time of the first later snapshot without the name (empty: still listed)."),
            "current": (int, "1 when the latest list of that agency from that source still has the name."),
            "captures": (int, "Number of captures in the interval."),
            "first_document": (str, "Evidence: the document of the first capture."),
            "last_document": (str, "Evidence: the document of the last capture."),
            "gone_document": (str, "Evidence: the document of the capture where it was gone."),
        },
        pk="id",
        foreign_keys=(
            ("owner_id", "agencies", "id"),
            ("grantee_id", "agencies", "id"),
            ("list_agency_id", "agencies", "id"),
            ("first_document", "documents", "sha256"),
            ("last_document", "documents", "sha256"),
            ("gone_document", "documents", "sha256"),
        ),
        # the documents: what a document's page counts (the intervals it is evidence for)
        indexes=(("owner_id",), ("grantee_id",), ("list_agency_id", "direction"),
                 ("first_document",), ("last_document",)),
        fts=("raw_name",),  # kept current by triggers: intervals are replaced, not appended
        facets=("direction", "source_kind", "grantee_marked_federal", "current"),
    ),
    Table(
        "owner_lists",
        "Each data owner's newest own list of organisations that can see its data (its "
        "portal, a records release or a peer dataset): what 'current' is measured against.",
        {
            "owner_id": (str, "The data owner (whose list it is)."),
            "list_id": (str, "The sharing_lists row."),
            "source_kind": (str, "flock_portal, records_release or peer_dataset."),
            "label": (str, "The heading or dataset it was published under."),
            "captured_at": (str, "When that list was captured (or, for a dataset, observed)."),
            "document_sha256": (str, "Evidence: the document."),
            "names": (int, "Names in the list, as published."),
            "own_lists": (int, "How many own 'can see its data' lists this owner has, every source."),
        },
        pk="owner_id",
        foreign_keys=(("owner_id", "agencies", "id"), ("document_sha256", "documents", "sha256")),
        facets=("source_kind",),
    ),
    Table(
        "data_access",
        "The answer to 'who can see this agency's data': one row per data owner and "
        "organisation, with every source that lists it (newest first) and whether it is "
        "current: named in the newest list of the newest source for this owner. Derived on "
        "every build from the sharing intervals (alpr_inventory/derive/answers.py).",
        {
            "owner_id": (str, "Agency whose data it is."),
            "grantee_id": (str, "Organisation that can (or could) see it."),
            "current": (int, "1 when named in the owner's newest own list, or (when the owner publishes none, or another source is newer) in that source's newest list."),
            "current_basis": (str, "Why current is 1 or 0, in words, with the dates."),
            "in_newest_own_list": (int, "1 when the owner's newest own list names it."),
            "listed_now_elsewhere": (int, "1 when another agency's newest list still shows this sharing."),
            "first_seen": (str, "First capture, any source, that listed it."),
            "last_seen": (str, "Newest capture, any source, that listed it."),
            "newest_document": (str, "Evidence: the document of the newest listing."),
            "newest_source": (str, "The newest source, in words (its own portal, another agency's portal, a records release, a peer dataset and its year)."),
            "sources": (str, "Every source that lists it, newest first, with dates."),
            "names_as_published": (str, "The names the sources used for the organisation."),
            "evidence_documents": (str, "JSON list of the documents (newest first)."),
            "grantee_marked_federal": (int, "1 when a source shows Flock's [Federal] label on it."),
            "intervals": (int, "Sharing intervals behind the row."),
        },
        pk=("owner_id", "grantee_id"),
        foreign_keys=(("owner_id", "agencies", "id"), ("grantee_id", "agencies", "id"),
                      ("newest_document", "documents", "sha256")),
        # (grantee_id, owner_id): the owners of the federal grantees read from the index alone
        # newest_document: a document's page counts the answers citing it
        indexes=(("grantee_id", "owner_id"), ("owner_id", "current"), ("newest_document",)),
        facets=("current", "newest_source"),
    ),
    Table(
        "agency_exposure",
        "One row per data owner: how many organisations can see its data now (current rows of "
        "data_access), by kind; federal, immigration-enforcement, 287(g) and out-of-state "
        "grantees; and the newest own list it is measured against.",
        {
            "data_owner_id": (str, "The data owner."),
            "data_owner": (str, "Its name."),
            "owner_state": (str, "Its state."),
            "grantees": (int, "Organisations that can see its data now."),
            "federal": (int, "Of them, federal bodies (resolver)."),
            "immigration_bodies": (int, "Of them, immigration-enforcement bodies (ICE, HSI, CBP, ...)."),
            "ice_287g": (int, "Of them, agencies listed in ICE's 287(g) sheets (agency_287g)."),
            "out_of_state": (int, "Of them, non-federal organisations in another state."),
            "state_unknown": (int, "Of them, non-federal organisations whose state is not known."),
            "local_police": (int, "Local police."),
            "sheriff": (int, "Sheriffs."),
            "state_agencies": (int, "State agencies."),
            "task_force": (int, "Task forces."),
            "university": (int, "University police."),
            "tribal": (int, "Tribal."),
            "private": (int, "Private organisations."),
            "other": (int, "Other."),
            "unresolved": (int, "Names the resolver left for review."),
            "history_only": (int, "Organisations listed only in older lists (not current)."),
            "federal_grantees": (str, "Names of the federal bodies."),
            "ice_287g_grantees": (str, "Names of the 287(g) agencies."),
            "newest_list_source": (str, "Source of its newest own list."),
            "newest_list_at": (str, "Capture of its newest own list."),
            "newest_list_names": (int, "Names in its newest own list."),
            "newest_list_document": (str, "Evidence: that list's document."),
            "as_of": (str, "Newest evidence about it."),
        },
        pk="data_owner_id",
        indexes=(("owner_state",),),  # the exposure query's order: ORDER_INDEXES
        facets=("owner_state",),
    ),
    Table(
        "agency_287g",
        "One row per agency listed in ICE's 287(g) participating or pending sheets (through "
        "the resolver, with the sheet's STATE column): status on the newest sheets, models, "
        "signed dates and the sheet versions as evidence. Joined to every answer.",
        {
            "agency_id": (str, "The agency."),
            "agency_as_listed": (str, "The name(s) ICE's sheets use."),
            "state": (str, "Two-letter state (the sheet's STATE column)."),
            "status": (str, "participating, pending, or no longer listed (on the newest sheets held)."),
            "models": (str, "Each agreement: model (JEM, TFM, WSO), status and signed date."),
            "signed": (str, "Latest signed date listed."),
            "first_listed": (str, "First sheet version listing it."),
            "last_listed": (str, "Newest sheet version listing it."),
            "agreements": (int, "Agreements (one per model)."),
            "last_document": (str, "Evidence: the newest sheet version listing it."),
            "first_document": (str, "Evidence: the first sheet version listing it."),
            "rule": (str, "How the sheet's name was tied to the agency (resolver rule)."),
        },
        pk="agency_id",
        foreign_keys=(("agency_id", "agencies", "id"), ("last_document", "documents", "sha256")),
        facets=("state", "status"),
    ),
    Table(
        "agency_lookup",
        "Every name an agency can be asked for by (id, portal slug, canonical name, names as "
        "published, the name on its portal, names tied to it, its id without the state), "
        "lower-cased: the one lookup every command and canned query uses.",
        {
            "key": (str, "The name, lower-case, spaces collapsed."),
            "agency_id": (str, "The agency."),
            "how": (str, "Which kind of name it is."),
        },
        pk=("key", "agency_id"),
        foreign_keys=(("agency_id", "agencies", "id"),),
        indexes=(("agency_id",),),
        facets=("how",),
    ),
    Table(
        "searches",
        "Searches from audit logs (deduplicated by Flock's search id). For a portal's public "
        "search audit, the searching agency is the portal owner: it lists its own users' searches.",
        {
            "search_id": (str, "Flock's search id (a UUID)."),
            "searching_agency_id": (str, "Agency whose user searched."),
            "data_owner_id": (str, "Agency whose cameras were searched, when the log says so."),
            "user_id": (str, "User id exactly as published (often *** or REDACTED); never joined to names."),
            "searched_at": (str, "UTC time of the search (ISO-8601)."),
            "searched_at_raw": (str, "Time as published."),
            "network_count": (int, "Networks searched."),
            "camera_count": (int, "Cameras searched (older exports)."),
            "reason": (str, "Reason as typed by the user."),
            "case_number": (str, "Case number as published."),
            "offense_type": (str, "Offense type as published."),
            "extra": (str, "JSON of columns this parser does not know, so nothing is lost."),
            "org_name": (str, "Searching organisation exactly as the export names it (when it does)."),
            "search_type": (str, "Search type as published (lookup, ...)."),
            "plate_hash": (str, "Keyed HMAC-SHA256 of the searched plate (the plate itself is never stored)."),
            "source_row": (str, "Where in the document: 'row 12', 'Sheet1 row 5', 'page 3'."),
            "federal_searcher": (int, "1 when the searching agency is federal (organisation resolver)."),
            "immigration_reason": (int, "1 when the reason points to immigration enforcement."),
            "immigration_terms": (str, "Which reason terms fired (and the text they matched)."),
            "versions": (int, "How many different contents this search id has had (1 = never changed)."),
            "pending_version": (str, "Internal: changed content on its way to search_versions (always empty)."),
            "first_seen": (str, "Capture time of the first document listing the search."),
            "last_seen": (str, "Capture time of the last document listing the search."),
            "first_document": (str, "Evidence: first document listing the search."),
            "last_document": (str, "Evidence: last document listing the search."),
        },
        pk="search_id",
        foreign_keys=(
            ("searching_agency_id", "agencies", "id"),
            ("first_document", "documents", "sha256"),
            ("last_document", "documents", "sha256"),
        ),
        # One agency's searches by time, with what its report and facets count (federal,
        # immigration, the document): answered from the index alone, without reading the
        # rows. searched_at: the table's own order (newest first). first_document and
        # last_document: the loader's per-document lookups and the counts on a document's page
        # (the searches it is evidence for).
        indexes=(("searching_agency_id", "searched_at", "federal_searcher", "immigration_reason",
                  "first_document"), ("searched_at",), ("first_document",), ("last_document",)),
        fts=("reason",),
        fts_triggers=False,
        # only facets the agency index covers (offense_type would read every row of the agency)
        facets=("searching_agency_id", "federal_searcher", "immigration_reason"),
        sort_desc="searched_at",
    ),
    Table(
        "search_versions",
        "A search id seen again with different content (e.g. an export that shifted time zones): "
        "the later content, kept beside the first so nothing is lost or silently overwritten.",
        {
            "id": (str, "Version id."),
            "search_id": (str, "The search."),
            "document_sha256": (str, "Document with this content."),
            "captured_at": (str, "Capture time of that document."),
            "content": (str, "JSON of the differing content.")
        },
        pk="id",
        foreign_keys=(("search_id", "searches", "search_id"),
                      ("document_sha256", "documents", "sha256")),
        # by document: the counts of every load and the document's page
        indexes=(("search_id",), ("document_sha256",)),
    ),
    Table(
        "changes",
        "What changed between two captures of the same source (an agency's portal, a records "
        "release, a peer dataset), each with both captures as evidence. Derived from "
        "sharing_lists and portal_snapshots on every build (alpr_inventory/derive/changes.py). A name is "
        "only 'removed' when the later capture published that list without it (a list the later "
        "capture does not show at all says nothing); names in the first capture of a source are "
        "not 'added' (there is no before).",
        {
            "id": (str, "Change id (agency, kind, the organisation or field, both captures)."),
            "agency_id": (str, "Agency whose published record changed (the portal or release that published the list or the value)."),
            "kind": (
                str,
                "grantee_added / grantee_removed (an organisation that can see agency's data), "
                "federal_grantee_added / federal_grantee_removed (the same, for a federal body), "
                "grantee_renamed (same organisation per the resolver, listed under another name), "
                "source_added / source_removed / source_renamed (inbound: an organisation whose "
                "data agency can see), retention_changed, cameras_changed, "
                "search_audit_published, search_audit_withdrawn.",
            ),
            "direction": (str, "For list changes: outbound (agency's own data) or inbound (data shared with agency)."),
            "source_kind": (str, "flock_portal, peer_dataset, records_release: changes are only computed within one source's timeline."),
            "counterpart_id": (str, "For list changes: the organisation added, removed or renamed (resolved agency id)."),
            "raw_name": (str, "For list changes: the organisation's name exactly as published (the later name for a rename)."),
            "owner_id": (str, "For list changes: whose data it is."),
            "grantee_id": (str, "For list changes: who can (or could) see the data."),
            "federal": (int, "1 when the grantee is federal: classified federal by the resolver or labelled [Federal] by Flock."),
            "immigration": (int, "1 when the grantee is an immigration-enforcement body (resolver)."),
            "old_value": (str, "Value in the earlier capture (retention days, camera count, audit rows, former names)."),
            "new_value": (str, "Value in the later capture."),
            "before_captured_at": (str, "Capture time of the earlier capture (the last one before the change that published the list or value)."),
            "after_captured_at": (str, "Capture time of the later capture, where the change is first seen."),
            "before_document": (str, "Evidence: the document of the earlier capture."),
            "after_document": (str, "Evidence: the document of the later capture."),
            "skipped_captures": (int, "Captures of the same source in between that did not publish the list or value."),
            "summary": (str, "The change in one dated sentence, as the records show it."),
        },
        pk="id",
        foreign_keys=(
            ("agency_id", "agencies", "id"),
            ("counterpart_id", "agencies", "id"),
            ("before_document", "documents", "sha256"),
            ("after_document", "documents", "sha256"),
        ),
        indexes=(("agency_id", "after_captured_at"), ("counterpart_id",), ("after_captured_at",),
                 ("owner_id",), ("grantee_id",), ("before_document",), ("after_document",)),
        facets=("kind", "source_kind", "federal", "direction"),
        sort_desc="after_captured_at",
    ),
    Table(
        "agreement_listings",
        "Each row of each version of ICE's 287(g) participating / pending agencies spreadsheet, "
        "as published (the evidence behind agreements).",
        {
            "id": (str, "Listing id (document and row)."),
            "document_sha256": (str, "The spreadsheet version."),
            "sheet_kind": (str, "participating or pending."),
            "sheet_date": (str, "Date of that version (from ICE's file name or as given)."),
            "row_number": (int, "Row in the sheet."),
            "state": (str, "Two-letter state."),
            "agency": (str, "Agency exactly as listed."),
            "agency_id": (str, "Agency it resolves to."),
            "agency_rule": (str, "How: the name with the sheet's STATE column, through the resolver (rule)."),
            "type": (str, "County, Municipality, State Agency."),
            "county": (str, "County as listed."),
            "model": (str, "JEM (jail enforcement), TFM (task force), WSO (warrant service officer)."),
            "support_type": (str, "The model as ICE writes it."),
            "signed_raw": (str, "SIGNED exactly as published (mistyped dates are kept)."),
            "signed": (str, "SIGNED as an ISO date when it can be read; empty when it cannot."),
            "moa_url": (str, "Link to the signed MOA (Outlook SafeLinks unwrapped)."),
            "addendum_urls": (str, "JSON list of addendum links."),
            "flags": (str, "JSON list of what was odd about the row (repaired date, ...)."),
        },
        pk="id",
        foreign_keys=(("document_sha256", "documents", "sha256"), ("agency_id", "agencies", "id")),
        indexes=(("agency_id",), ("document_sha256",)),
        facets=("sheet_kind", "state", "model"),
    ),
    Table(
        "agreements",
        "287(g) agreements with ICE over time, derived from every spreadsheet version held: "
        "when each was first and last listed, signed, pending, or left the program.",
        {
            "id": (str, "Agreement key: state, agency (normalised), model."),
            "state": (str, "Two-letter state."),
            "agency": (str, "Agency as last listed."),
            "agency_id": (str, "Agency it resolves to."),
            "agency_kind": (str, "Kind of agency (resolver)."),
            "model": (str, "JEM, TFM or WSO."),
            "support_type": (str, "The model as ICE writes it."),
            "signed": (str, "Signed date as last listed (ISO)."),
            "signed_history": (str, "JSON: every signed value seen, with first/last version."),
            "moa_urls": (str, "JSON list of MOA links seen."),
            "addendum_urls": (str, "JSON list of addendum links seen."),
            "first_listed": (str, "First version listing it."),
            "last_listed": (str, "Last version listing it."),
            "first_participating": (str, "First version listing it as participating."),
            "last_participating": (str, "Last version listing it as participating."),
            "pending_since": (str, "First version listing it as pending (if still pending)."),
            "became_participating": (str, "Version where it moved from pending to participating."),
            "left_program": (int, "1 when it is no longer on the newest participating list (check renames)."),
            "left_program_by": (str, "First version without it."),
            "on_newest_participating": (int, "1 when the newest participating version lists it."),
            "on_newest_pending": (int, "1 when the newest pending version lists it."),
            "names_seen": (str, "JSON list of the names it was listed under."),
            "first_document": (str, "Evidence: the first version listing it."),
            "last_document": (str, "Evidence: the last version listing it."),
            "flags": (str, "JSON list of things to check (possible renames, odd rows)."),
            "resolver_rule": (str, "Resolver rule that decided the agency."),
        },
        pk="id",
        foreign_keys=(("agency_id", "agencies", "id"), ("first_document", "documents", "sha256"),
                      ("last_document", "documents", "sha256")),
        indexes=(("agency_id",), ("state",)),
        facets=("state", "model", "on_newest_participating", "left_program"),
    ),
    Table(
        "state_policies",
        "What each state restricts (DMV data in Nlets, DMV-data laws, ALPR sharing laws), from "
        "data/state_policies.csv, where every claim cites its source; 'unknown' where nothing is "
        "known.",
        {
            "state": (str, "Two-letter state."),
            "nlets_ice_hsi_dmv_blocked": (str, "yes / no / partial / unknown: ICE/HSI blocked from its DMV data in Nlets."),
            "nlets_blocked_since": (str, "Since when, as the source says."),
            "dmv_law": (str, "DMV-data law (e.g. Green Light Law)."),
            "dmv_law_citation": (str, "Its citation."),
            "alpr_sharing_law": (str, "ALPR sharing law."),
            "alpr_sharing_citation": (str, "Its citation."),
            "alpr_federal_sharing_restricted": (str, "yes / no / unknown."),
            "alpr_out_of_state_restricted": (str, "yes / no / unknown."),
            "notes": (str, "Notes and caveats."),
            "sources": (str, "Sources for each claim (nlets:, dmv:, alpr: URL or corpus reference)."),
            "as_of": (str, "Date the row was last checked."),
            "line": (int, "Line of data/state_policies.csv (correct it there)."),
        },
        pk="state",
        facets=("nlets_ice_hsi_dmv_blocked", "alpr_federal_sharing_restricted",
                "alpr_out_of_state_restricted"),
    ),
    Table(
        "policy_sources",
        "Every public source the state policy data cite, once: title, publisher, date, URL, "
        "what it supports (data/policy_sources.csv). Secondary sources say what they copy.",
        {
            "id": (str, "Source id, as cited in source_ids."),
            "title": (str, "Title (paraphrased in brackets where the page shows none)."),
            "publisher": (str, "Who published it (and whose copy was read)."),
            "date": (str, "Publication date (YYYY, YYYY-MM or YYYY-MM-DD) or undated."),
            "url": (str, "Public URL, or corpus:<path>#<section> for the shared corpus notes."),
            "kind": (str, "official, news, research, secondary (a copy or summary) or corpus_note."),
            "supports": (str, "What it says that the data rely on."),
            "notes": (str, "How it was read; for secondary sources, the primary."),
            "line": (int, "Line of data/policy_sources.csv (correct it there)."),
        },
        pk="id",
        facets=("kind", "publisher"),
    ),
    Table(
        "state_dmv_access",
        "Can ICE, HSI, CBP (and other DHS units where sources say) query a state's DMV data, "
        "through Nlets, direct DMV access or the state's law-enforcement network: yes / no / "
        "partial / unknown, since when, as of when, with sources (data/state_dmv_access.csv). "
        "'unknown' never means no; its basis says why it is unknown.",
        {
            "id": (str, "state:component:channel, then :since..until for dated rows."),
            "state": (str, "Two-letter state (or DC)."),
            "component": (str, "ICE (as sources use it; Nlets counts HSI apart), ICE_ERO, HSI, CBP, USBP, USCIS, DHS."),
            "channel": (str, "nlets, direct_dmv (the DMV's own accounts or agreements), state_network (CLETS, ACCESS...)."),
            "access": (str, "yes (can query), no (cannot; a court order case by case counts as no), partial, unknown."),
            "since": (str, "Since when (ISO date, year or month precision allowed); empty when no source says."),
            "as_of": (str, "Date of the newest source saying this holds; nothing later is claimed."),
            "until": (str, "When this status ended (history rows); empty for the current row."),
            "current": (int, "1 for the current row of each state/component/channel."),
            "basis": (str, "primary, reported, secondary (second-hand), law (what a statute requires); for unknown: not_researched, not_found, sources_silent, unverified."),
            "source_ids": (str, "JSON list of policy_sources ids."),
            "notes": (str, "What the sources say, caveats, other dates."),
            "line": (int, "Line of data/state_dmv_access.csv (correct it there)."),
        },
        pk="id",
        indexes=(("state",),),
        facets=("access", "component", "channel", "basis", "current"),
    ),
    Table(
        "state_policy_events",
        "Dated timeline of who could see states' DMV and plate-reader data: letters, blocks, "
        "reports, query counts, laws, lawsuits, each with sources (data/state_policy_events.csv). "
        "state US marks national events.",
        {
            "id": (str, "Event id."),
            "state": (str, "Two-letter state, DC, or US (national)."),
            "date": (str, "When (ISO; year or month precision where the source gives no day)."),
            "kind": (str, "letter, block, restore, access_reported, count, report, law, regulation, directive, lawsuit, audit."),
            "component": (str, "Components concerned, ';'-separated (federal = all federal agencies); empty when none."),
            "channel": (str, "nlets, direct_dmv, state_network, alpr, dmv_plates (undercover plates), or empty."),
            "summary": (str, "What changed or was found."),
            "count": (int, "For counts: the number."),
            "count_bound": (str, "exact, at_least or about."),
            "count_of": (str, "What was counted."),
            "period_start": (str, "Counted period start."),
            "period_end": (str, "Counted period end."),
            "basis": (str, "primary, reported, secondary or law."),
            "source_ids": (str, "JSON list of policy_sources ids."),
            "notes": (str, "Caveats, other dates, the primary for second-hand claims."),
            "line": (int, "Line of data/state_policy_events.csv (correct it there)."),
        },
        pk="id",
        indexes=(("state", "date"),),
        facets=("state", "kind", "channel", "basis"),
    ),
    Table(
        "agreement_documents",
        "Agreement PDFs as read (287(g) MOAs, DMV data-access agreements, ALPR sharing MOUs, "
        "vendor contracts): parties, model, dates, termination and data provisions, each with "
        "the page it came from; status says when the text could not be read.",
        {
            "document_sha256": (str, "The PDF."),
            "status": (str, "ok, partial, needs_ocr, cid_glyphs, unreadable_text, ..."),
            "doc_type": (str, "287g_moa, dmv_agreement, alpr_sharing_mou, vendor_contract, other."),
            "model": (str, "287(g) model: JEM, WSO or TFM."),
            "lea_name": (str, "The local party as printed."),
            "lea_agency_id": (str, "The agency it resolves to."),
            "lea_page": (int, "Page naming it."),
            "federal_agencies_named": (str, "JSON: federal agencies named, with pages."),
            "signature_dates": (str, "JSON: every signature date as printed, read, and its page."),
            "effective_date": (str, "The later of the two signature dates when both can be read; never guessed."),
            "effective_date_basis": (str, "How the effective date was decided."),
            "termination": (str, "JSON: termination terms with notice days and page."),
            "data_provisions": (str, "JSON: data / records provisions, systems named, pages."),
            "parties": (str, "JSON: every party as printed, with role and page."),
            "text_layer": (str, "born_digital, ocr, duplicated, cid, none."),
            "pages": (int, "Pages."),
            "warnings": (str, "JSON list of what could not be read."),
        },
        pk="document_sha256",
        foreign_keys=(("document_sha256", "documents", "sha256"),
                      ("lea_agency_id", "agencies", "id")),
        facets=("status", "doc_type", "model", "text_layer"),
    ),
    Table(
        "records_requests",
        "Public-records requests found on records portals (MuckRock, NextRequest) that mention "
        "Flock, plate readers, Nlets, DMV data, 287(g) or data sharing: what was asked, of whom, "
        "and where it stands. Read from the portal's own API response (document_sha256).",
        {
            "id": (str, "source:portal:request id."),
            "source": (str, "muckrock or nextrequest."),
            "portal": (str, "The portal's host (a NextRequest tenant, www.muckrock.com)."),
            "request_id": (str, "The portal's own id for the request."),
            "title": (str, "Title as published."),
            "request_text": (str, "What was requested, as published (requester names are never stored)."),
            "status": (str, "Status as the portal says (Closed, processed, done, ...)."),
            "agency": (str, "Agency or department the request went to, as published."),
            "submitted_at": (str, "When it was filed."),
            "updated_at": (str, "When the portal last changed it."),
            "done_at": (str, "When it was completed, if it was."),
            "url": (str, "The request's page."),
            "visibility": (str, "Public / embargo status, when the portal gives it."),
            "matched_terms": (str, "JSON list of the relevance terms found in title and text."),
            "extra": (str, "JSON of other published fields."),
            "first_seen": (str, "First capture (UTC) of an API response listing it."),
            "last_seen": (str, "Latest capture listing it."),
            "document_sha256": (str, "The API response it was last read from (archived)."),
        },
        pk="id",
        foreign_keys=(("document_sha256", "documents", "sha256"),),
        indexes=(("source", "portal"),),
        fts=("title", "request_text", "agency"),
        facets=("source", "portal", "status"),
        sort_desc="submitted_at",
    ),
    Table(
        "council_matters",
        "Council matters (Legistar): agenda subjects with type, status, body and dates; "
        "matched_terms says which are about Flock, plate readers, 287(g), Nlets or data sharing.",
        {
            "id": (str, "legistar:client:MatterId."),
            "client": (str, "Legistar client (sanjose for sanjose.legistar.com)."),
            "matter_id": (int, "MatterId."),
            "file": (str, "File number (17-069)."),
            "name": (str, "Matter name."),
            "title": (str, "Matter title."),
            "type": (str, "Matter type (Ordinance, Resolution, ...)."),
            "status": (str, "Matter status."),
            "body": (str, "Body it is before."),
            "intro_date": (str, "Introduced."),
            "agenda_date": (str, "On the agenda."),
            "passed_date": (str, "Passed."),
            "enactment_number": (str, "Enactment number."),
            "last_modified": (str, "MatterLastModifiedUtc: what incremental runs ask after."),
            "url": (str, "A page for a human, when known."),
            "relevant": (int, "1 when title, name or an attachment name mentions the tracked terms."),
            "matched_terms": (str, "JSON list of the terms that matched."),
            "extra": (str, "JSON of other published fields."),
            "first_seen": (str, "First capture listing it."),
            "last_seen": (str, "Latest capture listing it."),
            "document_sha256": (str, "The API response it was last read from."),
        },
        pk="id",
        foreign_keys=(("document_sha256", "documents", "sha256"),),
        indexes=(("client",),),
        fts=("title", "name"),
        facets=("client", "type", "status", "relevant"),
        sort_desc="agenda_date",
    ),
    Table(
        "council_votes",
        "Roll-call votes on agenda items about council matters (Legistar).",
        {
            "id": (str, "legistar:client:vote:VoteId."),
            "client": (str, "Legistar client."),
            "matter_key": (str, "The council_matters row (legistar:client:MatterId)."),
            "event_item_id": (int, "The agenda item voted on."),
            "event_id": (int, "The meeting."),
            "event_date": (str, "Meeting date."),
            "body": (str, "Body that voted."),
            "person": (str, "Member, as published."),
            "value": (str, "Aye, Nay, Absent, ..."),
            "action": (str, "The item's action (Approved, Adopted, ...)."),
            "passed": (str, "The item's passed flag (Pass, Fail)."),
            "first_seen": (str, "First capture listing it."),
            "last_seen": (str, "Latest capture listing it."),
            "document_sha256": (str, "The API response it was last read from."),
        },
        pk="id",
        foreign_keys=(("matter_key", "council_matters", "id"),
                      ("document_sha256", "documents", "sha256")),
        indexes=(("matter_key",),),
        facets=("client", "value", "person"),
    ),
    Table(
        "released_files",
        "Files that records portals, council systems and agency sites list: what they belong to "
        "(a request, a matter, a page) and where they are downloaded from. The view "
        "released_documents joins each to its archived bytes and document type.",
        {
            "id": (str, "source:portal:file id."),
            "source": (str, "muckrock, nextrequest, documentcloud, legistar, agency_site."),
            "portal": (str, "Host, tenant or Legistar client."),
            "parent_kind": (str, "request, matter, event, search or page."),
            "parent_id": (str, "The request or matter row (records_requests.id, council_matters.id) or the page URL."),
            "file_id": (str, "The source's id for the file."),
            "url": (str, "Where the file is downloaded from: the url of its fetch."),
            "title": (str, "Title or file name as listed."),
            "file_type": (str, "File type as listed."),
            "published_at": (str, "Upload or publication date as listed."),
            "access": (str, "public, private, organization, deleted, ... as listed."),
            "relevant": (int, "1 when the file or its parent mentions the tracked terms: these are downloaded."),
            "matched_terms": (str, "JSON list of the terms that matched."),
            "extra": (str, "JSON of other listed fields (pages, file hash, text URL)."),
            "first_seen": (str, "First capture listing it."),
            "last_seen": (str, "Latest capture listing it."),
            "document_sha256": (str, "The listing (API response or page) it was last read from."),
        },
        pk="id",
        foreign_keys=(("document_sha256", "documents", "sha256"),),
        indexes=(("url",), ("parent_id",)),
        fts=("title",),
        facets=("source", "portal", "parent_kind", "relevant", "access"),
    ),
    Table(
        "document_texts",
        "Full text of every PDF (and HTML, Word and text document) in the archive, for "
        "full-text search; method says how it was read.",
        {
            "sha256": (str, "The document."),
            "text": (str, "Text (up to the first 2,000,000 characters)."),
            "chars": (int, "Characters of text found (before any cut)."),
            "pages": (int, "Pages (PDFs)."),
            "method": (str, "pdf_text_layer, html, docx, plain, none."),
            "status": (str, "ok, empty (no text layer: see the document's parse status), too_large, timeout, error."),
            "truncated": (int, "1 when the text was cut."),
        },
        pk="sha256",
        foreign_keys=(("sha256", "documents", "sha256"),),
        fts=("text",),
        facets=("method", "status"),
    ),
    Table(
        "crawl_state",
        "What incremental crawls remember between runs: per spider and scope, the newest date "
        "seen, so the next run asks only for what changed. Written only when a run finishes.",
        {
            "spider": (str, "Spider name."),
            "scope": (str, "What the value is about: a query, a tenant, a Legistar client."),
            "key": (str, "since, cursor, ..."),
            "value": (str, "The value."),
            "updated_at": (str, "When it was written."),
            "run_id": (int, "The run that wrote it."),
        },
        pk=("spider", "scope", "key"),
        foreign_keys=(("run_id", "runs", "id"),),
    ),
    Table(
        "crawl_failures",
        "Every request of a crawl that ended without a usable answer, with its seed and why. "
        "Each seed of a run has a fetch or a row here. The next run of the spider crawls the "
        "seeds with an unresolved row again; a later answer resolves the row.",
        {
            "id": (int, "Failure number."),
            "run_id": (int, "The run the request belonged to."),
            "spider": (str, "Spider name (runs.command)."),
            "seed": (str, "The seed the request served: a portal slug, a seed URL, a search "
                     "term, a NextRequest tenant, a Legistar client."),
            "seed_kind": (str, "seed (the seed's own request), discovered (a portal slug found "
                          "in a sharing list), followed (a request made from an answer: a "
                          "capture, a listing page, a file)."),
            "url": (str, "The address that failed (for a redirect, the last one asked)."),
            "reason": (str, "redirect_loop, too_many_redirects, timeout, too_large, truncated, "
                       "decode_error (a gzip/deflate/br body that does not decode), robots, "
                       "dns, connection, http_error (5xx after the retries), rate_limited "
                       "(429 after the retries), blocked, duplicate, not_reached (the crawl "
                       "ended first), spider_error, ignored, error."),
            "detail": (str, "What happened, in one sentence (the error or the status)."),
            "http_status": (int, "HTTP status when an answer came (it is then also a fetch)."),
            "attempts": (int, "How many times the request was sent (retries included; 0 when "
                         "it was never sent)."),
            "failed_at": (str, "UTC time of the failure."),
            "resolved_run_id": (int, "The later run that got an answer for it (its seed, or "
                                "this address); empty while it is still to be retried."),
            "resolved_at": (str, "When that run finished."),
        },
        pk="id",
        foreign_keys=(("run_id", "runs", "id"), ("resolved_run_id", "runs", "id")),
        indexes=(("spider", "seed"), ("run_id",), ("url",)),
        facets=("spider", "reason", "seed_kind", "http_status"),
        sort_desc="id",
    ),
    Table(
        "cameras",
        "Plate-reader cameras mapped in OpenStreetMap (nodes tagged surveillance:type=ALPR), as "
        "an imported export shows them (corpus/apis/osm_deflock: the alpr-sync-usa snapshot). "
        "OSM data is (c) OpenStreetMap contributors, ODbL 1.0. The operator is free text typed "
        "by mappers (often missing, sometimes the vendor or a shop): it is tied to an agency "
        "only where the resolver places it, with the rule in operator_rule.",
        {
            "osm_id": (int, "OpenStreetMap id of the node."),
            "osm_type": (str, "node (the export queries nodes), or what an Overpass answer says."),
            "osm_url": (str, "The node on openstreetmap.org."),
            "latitude": (float, "Latitude (WGS84)."),
            "longitude": (float, "Longitude (WGS84)."),
            "state": (str, "Two-letter state of the export the node came from (the export is made per state)."),
            "operator": (str, "The operator tag as mapped (empty when the node has none)."),
            "operator_agency_id": (str, "The agency the operator names, where the resolver places it (see operator_rule); empty otherwise."),
            "operator_kind": (str, "What the resolver reads the operator as: local_police, sheriff, private (a vendor or shop), ..."),
            "operator_rule": (str, "How the operator was tied to an agency, or why it was not."),
            "manufacturer": (str, "manufacturer tag (Flock Safety, ...)."),
            "brand": (str, "brand tag."),
            "direction": (str, "direction tag: degrees, several separated by ';'."),
            "mount": (str, "camera:mount tag (pole, street_lamp, ...)."),
            "zone": (str, "surveillance:zone tag (traffic, town, parking)."),
            "check_date": (str, "check_date tag: when a mapper last checked it."),
            "tags": (str, "Every OSM tag of the node (JSON object)."),
            "snapshot_at": (str, "When the export was generated (its meta.generated_at)."),
            "document": (str, "SHA-256 of the export the row comes from (documents)."),
        },
        pk="osm_id",
        foreign_keys=(("document", "documents", "sha256"),),
        indexes=(("operator_agency_id",), ("state",)),
        fts=("operator",),
        facets=("state", "operator_kind", "manufacturer"),
    ),
    Table(
        "merged_runs",
        "Runs that `alpr-inventory merge` brought in from crawl nodes (each node's own folder: "
        "its database and archive), and where each came from. The run's fetches, failures and "
        "crawl state point to its row in runs here; the facts were rebuilt from the merged "
        "archive (reparse).",
        {
            "run_id": (int, "The run in this database (runs.id)."),
            "node_id": (str, "The node database it came from: a hash of that database's first run (host, start time, process), the same on every merge."),
            "node_run_id": (int, "The run's number in the node's database."),
            "node_dir": (str, "The node folder it was merged from."),
            "node_host": (str, "The machine the run ran on."),
            "merged_at": (str, "UTC time of the merge that brought it in."),
            "merge_run_id": (int, "That merge (a runs row, command merge)."),
        },
        pk="run_id",
        foreign_keys=(("run_id", "runs", "id"), ("merge_run_id", "runs", "id")),
        unique_indexes=(("node_id", "node_run_id"),),
        facets=("node_host", "node_dir"),
    ),
    Table(
        "pending_derivations",
        "Internal: what must be derived again after loads (Store.finish): the sharing "
        "intervals of a list agency (kind sharing), the change history of an agency (changes), "
        "organisations that just got Flock's [Federal] label (relabelled), the 287(g) "
        "agreements (agreements), everything after a rebuild (full). Written in the same "
        "transaction as the load, emptied in the transaction that derives, so a run killed "
        "before its end is completed by the next command that builds.",
        {
            "kind": (str, "sharing, changes, relabelled, agreements or full."),
            "key": (str, "The agency concerned (empty for agreements and full)."),
        },
        pk=("kind", "key"),
    ),
)

TABLES_BY_NAME = {t.name: t for t in TABLES}
# Partial indexes cost nothing for rows they do not cover (most audit rows have no plate).
PARTIAL_INDEXES = (
    "create index if not exists idx_searches_plate_hash on searches (plate_hash) "
    "where plate_hash is not null",
    # flagged searches (federal searcher or immigration reason: a fraction of a percent), newest
    # first, for everyone and per agency: the flagged_searches query and the report
    "create index if not exists idx_searches_flagged on searches (searched_at) "
    "where federal_searcher = 1 or immigration_reason = 1",
    "create index if not exists idx_searches_flagged_agency on searches "
    "(searching_agency_id, searched_at) where federal_searcher = 1 or immigration_reason = 1",
    # federal searchers' searches per agency (a state's federal searches: `state ST`), counted
    # from the index alone
    "create index if not exists idx_searches_federal_agency on searches (searching_agency_id) "
    "where federal_searcher = 1",
    # searches into an agency's data by others, when a log says whose data it was
    "create index if not exists idx_searches_data_owner on searches (data_owner_id, searched_at) "
    "where data_owner_id is not null",
    # the few intervals whose grantee Flock labels [Federal]
    "create index if not exists idx_sharing_marked_federal on sharing (owner_id) "
    "where grantee_marked_federal = 1",
    # recent federal changes, newest first
    "create index if not exists idx_changes_federal on changes (after_captured_at) "
    "where federal = 1",
    # the intervals a document shows ended (most intervals have not ended)
    "create index if not exists idx_sharing_gone_document on sharing (gone_document) "
    "where gone_document is not null",
    # how many agencies' data a grantee can see now (a 287(g) partner's reach: `state ST`),
    # counted from the index alone
    "create index if not exists idx_data_access_current_grantee on data_access (grantee_id) "
    "where current = 1",
    # federal-labelled grantees in the stored answers
    "create index if not exists idx_data_access_marked_pairs on data_access "
    "(owner_id, grantee_id) where grantee_marked_federal = 1",
)
# Indexes in the order an answer lists its rows, so a page is read in order and stops early.
ORDER_INDEXES = (
    # the exposure query and `agencies`: most immigration, federal, 287(g) grantees first
    "create index if not exists idx_agency_exposure_order on agency_exposure "
    "(immigration_bodies desc, federal desc, ice_287g desc, out_of_state desc, grantees desc, "
    "data_owner, owner_state)",
)
FACT_TABLES = ("changes", "data_access", "owner_lists", "agency_exposure", "agency_287g",
               "agency_lookup", "portal_snapshots", "sharing_lists", "sharing", "searches",
               "search_versions", "agreement_listings", "agreements", "agreement_documents",
               "records_requests", "council_votes", "council_matters", "released_files",
               "document_texts", "agency_links", "agency_aliases",
               "cameras", "agencies")


VIEWS: dict[str, str] = {
    # One row per (data owner, federal grantee), from the stored answer (data_access).
    "federal_access": """
select d.owner_id as data_owner_id, o.name as data_owner, o.state as owner_state,
  d.grantee_id as federal_grantee_id, g.name as federal_grantee,
  g.federal_component as component, g.immigration, d.current, d.current_basis,
  d.first_seen, d.last_seen, d.newest_source, d.sources, d.evidence_documents,
  d.names_as_published, g.resolver_rule
from agencies g
join data_access d on d.grantee_id = g.id
join agencies o on o.id = d.owner_id
where g.kind = 'federal'
""",
    # The answer with names: one row per data owner and organisation, 287(g) status joined.
    "can_see_data": """
select d.owner_id, o.name as data_owner, o.state as owner_state, d.grantee_id,
  g.name as can_see_data, g.kind, g.state as grantee_state,
  case when g.kind = 'federal' then 1 else 0 end as federal, g.federal_component,
  g.immigration, d.grantee_marked_federal,
  case when g.kind != 'federal' and g.state is not null and o.state is not null
       and g.state != o.state then 1 else 0 end as out_of_state,
  k.status as ice_287g, k.models as ice_287g_agreements, k.last_listed as ice_287g_sheet_of,
  k.last_document as ice_287g_document,
  d.current, d.current_basis, d.first_seen, d.last_seen, d.newest_source, d.sources,
  d.names_as_published, d.newest_document, d.evidence_documents
from data_access d
join agencies o on o.id = d.owner_id
join agencies g on g.id = d.grantee_id
left join agency_287g k on k.agency_id = d.grantee_id
""",
    # Data owners the documents could not place (agency_links review rows), and owners of
    # records whose name has no state and that no link decision covers.
    "owners_to_review": """
select k.from_id as agency_id, a.name, a.kind, k.kind as decision, k.raw_name,
  k.scope_id as named_by, k.rule as why, k.document_sha256 as document
from agency_links k join agencies a on a.id = k.from_id
where k.status = 'review'
  and (k.kind in ('owner', 'state') or json_extract(k.evidence, '$.role') = 'data_owner')
union all
select a.id, a.name, a.kind, 'none', a.name, null,
  'owns records but its name has no state and no document placed it', null
from agencies a
where a.state is null and a.kind != 'federal' and a.same_as is null
  and not exists (select 1 from agency_links k where k.from_id = a.id)
  and (exists (select 1 from sharing_lists l where l.list_agency_id = a.id)
       or exists (select 1 from searches s where s.searching_agency_id = a.id)
       or exists (select 1 from portal_snapshots p where p.agency_id = a.id))
""",
    # Each listed file with its newest download: archived or not, and what it turned out to be.
    "released_documents": """
select r.id, r.source, r.portal, r.parent_kind, r.parent_id,
  coalesce(q.title, m.title) as parent_title, coalesce(q.url, m.url) as parent_url,
  r.title, r.url,
  case when r.relevant = 1 or coalesce(q.matched_terms, m.matched_terms, '[]') != '[]'
       then 1 else 0 end as relevant, r.matched_terms, r.access, r.published_at,
  case when f.id is null then 'not_downloaded'
       when f.http_status between 200 and 299 then 'downloaded'
       when f.http_status in (404, 410) then 'missing'
       when f.http_status in (401, 403) then 'not_public'
       else 'failed' end as download_status,
  f.fetched_at, f.http_status, f.sha256, d.document_type, d.parse_status
from released_files r
left join fetches f on f.id = (select max(x.id) from fetches x where x.url = r.url)
left join documents d on d.sha256 = f.sha256
left join records_requests q on q.id = r.parent_id
left join council_matters m on m.id = r.parent_id
""",
}

VIEW_DESCRIPTIONS = {
    "federal_access": (
        "Federal bodies (as the resolver classifies them) that the records show can see an "
        "agency's data: component, immigration flag, whether current, every source newest "
        "first, evidence documents (from data_access)."
    ),
    "can_see_data": (
        "Who can see whose data, one row per data owner and organisation, with names, kind, "
        "state, federal and immigration flags, 287(g) status (agency_287g), whether current "
        "and why, and every source newest first. Filter by owner_id (see agency_lookup for "
        "names); Datasette pages through long answers."
    ),
    "owners_to_review": (
        "Data owners whose name has no state and that the documents could not place: why "
        "(the counts), which document or list names them. Nothing here was guessed."
    ),
    "released_documents": (
        "Every file a records portal, council system or agency site lists, with its request or "
        "matter, whether it was downloaded (or is missing / no longer public) and what it is."
    ),
}
VIEW_FACETS = {
    "federal_access": ["owner_state", "component", "immigration", "current"],
    # (`federal` is kind = federal: its facet would repeat that count)
    "can_see_data": ["current", "kind", "grantee_state", "immigration", "ice_287g"],
    "owners_to_review": ["decision", "kind"],
    "released_documents": ["source", "download_status", "document_type", "relevant"],
}
# names that used to be views and are now tables (dropped as views before the table is made)
FORMER_VIEWS = ("agency_exposure",)

# rows a page of a canned query: as many as Datasette shows of a table (a page of 500 wide rows
# took longer to render as HTML than the national answer took to read)
PAGE_SIZE = 100
# The agency a canned query's :agency names: one indexed read of agency_lookup (id, slug, any
# published name, case-insensitive); a part of a name only when nothing matches exactly.
AGENCY_IDS = """(
    select agency_id from agency_lookup where key = lower(trim(:agency))
    union
    select id from agencies where :agency != '' and same_as is null
      and name like '%' || trim(:agency) || '%'
      and not exists (select 1 from agency_lookup where key = lower(trim(:agency))))"""
PAGE_NOTE = (f"Answers come {PAGE_SIZE} rows a page (page_note says whether more follow; "
             "give page=2, 3, ... for the next), so a long answer is never cut silently.")


def _paged(sql: str, total: bool = False) -> str:
    """A canned query that pages: PAGE_SIZE rows of page :page (default 1), with a note saying
    whether more rows follow (and, for answers bounded by one agency, the total)."""
    page = "max(cast(coalesce(nullif(:page, ''), '1') as integer), 1)"
    total_col = ", count(*) over () as rows_total" if total else ""
    inner = f"select *{total_col} from ({sql.strip()})"
    return f"""select *, case when count(*) over () > {PAGE_SIZE}
    then 'page ' || {page} || ': more rows follow, ask page ' || ({page} + 1)
    else 'page ' || {page} || ': last page' end as page_note
from ({inner} limit {PAGE_SIZE + 1} offset ({page} - 1) * {PAGE_SIZE})
limit {PAGE_SIZE}"""


def _paged_by_keys(keys: str, order: str, columns: str, source: str,
                   total: bool = False) -> str:
    """`_paged` for answers with wide rows (every source, the evidence): the page is chosen
    from narrow `keys` (a SELECT whose columns include those `order` names, sorted by
    `order`), then only that page's rows are read whole: `select {columns} from {source}`,
    where `source` joins the page's keys (k) to the wide rows. SQLite keeps every column of
    every row it sorts; sorting ids and names, then reading 500 rows whole, is what keeps a
    national answer fast. Same rows, columns and notes as `_paged` of the answer sorted alike
    (tests/derive/test_fast_paths.py)."""
    page = "max(cast(coalesce(nullif(:page, ''), '1') as integer), 1)"
    total_col = ", count(*) over () as rows_total" if total else ""
    outer = ", ".join(f"k.{term.strip()}" for term in order.split(","))
    return f"""with k as materialized (
  select *{total_col} from ({keys.strip()})
  order by {order}
  limit {PAGE_SIZE + 1} offset ({page} - 1) * {PAGE_SIZE})
select {columns.strip()}{", k.rows_total" if total else ""},
  case when (select count(*) from k) > {PAGE_SIZE}
    then 'page ' || {page} || ': more rows follow, ask page ' || ({page} + 1)
    else 'page ' || {page} || ': last page' end as page_note
from {source.strip()}
order by {outer}
limit {PAGE_SIZE}"""

# the canned state queries point to the state brief (alpr_inventory/serve/brief.py, served by the
# plugin at /-/state/ST); their `state` cells link to it too
STATE_BRIEF_NOTE_HTML = (
    "The whole picture for one state, with its timeline, agencies, "
    "287(g) agreements, what is unknown and numbered sources, is its state brief: "
    '<a href="/-/state/">/-/state/ST</a> (printable; also <code>alpr-inventory state ST '
    "--format html|pdf|md|json</code>).")

CANNED_QUERIES: dict[str, dict[str, Any]] = {
    "who_can_see": {
        "title": "Who can see agency X's data (and since when)",
        "description": "One row per organisation that the records show can (or could) see an "
        "agency's data: current (named in the newest list of the newest source for the agency) "
        "and why, federal and immigration flags, 287(g) agreements with ICE, every source that "
        "lists it newest first, and the evidence. Type the agency's id, portal slug or any name "
        "it is published under (or part of one). " + PAGE_NOTE,
        # can_see_data of the agency, ordered by data_owner, current desc, federal desc,
        # immigration desc, ice_287g is null, can_see_data (narrow keys first)
        "sql": _paged_by_keys(f"""
select d.owner_id, d.grantee_id, o.name as k_owner, d.current as k_current,
  case when g.kind = 'federal' then 1 else 0 end as k_federal, g.immigration as k_immigration,
  x.status is null as k_no_287g, g.name as k_grantee
from data_access d join agencies o on o.id = d.owner_id join agencies g on g.id = d.grantee_id
left join agency_287g x on x.agency_id = d.grantee_id
where d.owner_id in {AGENCY_IDS}""",
            "k_owner, k_current desc, k_federal desc, k_immigration desc, k_no_287g, k_grantee",
            """r.data_owner, r.can_see_data, r.kind, r.grantee_state, r.federal, r.immigration,
  r.ice_287g, r.ice_287g_agreements, r.current, r.current_basis, r.first_seen, r.last_seen,
  r.newest_source, r.sources, r.names_as_published, r.newest_document, r.owner_id,
  r.grantee_id""",
            "k join can_see_data r on r.owner_id = k.owner_id and r.grantee_id = k.grantee_id",
            total=True),
    },
    "partners_287g": {
        "title": "Agencies with 287(g) agreements with ICE that can see agency X's data",
        "description": "Organisations that can see an agency's data and are listed in ICE's "
        "287(g) participating or pending sheets: model, status, signed date and the sheet "
        "version as evidence. (Counts for every agency of a state: the exposure query.) "
        + PAGE_NOTE,
        "sql": _paged(f"""
select o.name as data_owner, o.state as owner_state, g.name as can_see_data,
  g.state as grantee_state, k.status as ice_287g, k.models, k.signed, k.first_listed,
  k.last_listed as sheet_of, k.last_document as sheet, d.current, d.current_basis,
  d.newest_source, d.newest_document, d.owner_id, d.grantee_id
from data_access d
join agency_287g k on k.agency_id = d.grantee_id
join agencies o on o.id = d.owner_id
join agencies g on g.id = d.grantee_id
where d.owner_id in {AGENCY_IDS}
order by o.name, d.current desc, k.status, g.name""", total=True),
    },
    "shares_with_federal": {
        "title": "Which agencies share with organisations marked federal",
        "description": "Data owners whose data an organisation labelled [Federal] or (Federal) by "
        "Flock can see, with dates and evidence. (A federal body sharing its own data with a "
        "local agency is the other direction and is not listed here.) " + PAGE_NOTE,
        # can_see_data where grantee_marked_federal = 1, by data_owner, can_see_data
        "sql": _paged_by_keys("""
select d.owner_id, d.grantee_id, o.name as k_owner, g.name as k_grantee
from data_access d join agencies o on o.id = d.owner_id join agencies g on g.id = d.grantee_id
where d.grantee_marked_federal = 1""",
            "k_owner, k_grantee",
            """r.data_owner, r.can_see_data as federal_grantee,
  r.names_as_published as name_as_published, r.current, r.current_basis, r.first_seen,
  r.last_seen, r.newest_source, r.newest_document, r.evidence_documents""",
            "k join can_see_data r on r.owner_id = k.owner_id and r.grantee_id = k.grantee_id"),
    },
    "federal_access_for_agency": {
        "title": "Federal bodies that can see an agency's data",
        "description": "From the federal_access view: the data owner's id, slug or any name "
        "(or leave empty for all). Component and immigration flag come from the resolver; "
        "evidence_documents link to the archived originals. " + PAGE_NOTE,
        # federal_access (everyone's, or the agency's), by immigration desc, data_owner,
        # federal_grantee: one branch per case, each read from an index
        "sql": _paged_by_keys(f"""
select d.owner_id, d.grantee_id, g.immigration as k_immigration, o.name as k_owner,
  g.name as k_grantee
from agencies g join data_access d on d.grantee_id = g.id join agencies o on o.id = d.owner_id
where g.kind = 'federal' and :agency = ''
union all
select d.owner_id, d.grantee_id, g.immigration, o.name, g.name
from data_access d join agencies g on g.id = d.grantee_id join agencies o on o.id = d.owner_id
where g.kind = 'federal' and :agency != '' and d.owner_id in {AGENCY_IDS}""",
            "k_immigration desc, k_owner, k_grantee",
            "r.*",
            """k join federal_access r on r.data_owner_id = k.owner_id
  and r.federal_grantee_id = k.grantee_id"""),
    },
    "exposure": {
        "title": "Agency exposure: who can see each agency's data, by kind",
        "description": "From the agency_exposure table (current lists only), most immigration, "
        "federal and 287(g) grantees first; two-letter state or empty for all. " + PAGE_NOTE,
        "sql": _paged("""
select * from agency_exposure
where :state = '' or owner_state = upper(:state)
order by immigration_bodies desc, federal desc, ice_287g desc, out_of_state desc,
  grantees desc, data_owner"""),
    },
    "flagged_searches": {
        "title": "Searches by federal agencies or with immigration-related reasons",
        "description": "Audit rows whose searching agency is federal (resolver) or whose reason "
        "matched an immigration-enforcement term (immigration_terms says which, and what it "
        "matched). Each row names the document it came from. " + PAGE_NOTE,
        "sql": _paged("""
select s.searched_at, a.name as searching_agency, s.org_name as org_name_as_published,
  s.federal_searcher, s.immigration_reason, s.immigration_terms,
  k.status as searcher_287g, k.models as searcher_287g_agreements, s.reason,
  s.network_count, s.camera_count, s.source_row, s.first_document
from searches s left join agencies a on a.id = s.searching_agency_id
left join agency_287g k on k.agency_id = s.searching_agency_id
where s.federal_searcher = 1 or s.immigration_reason = 1
order by s.searched_at desc"""),
    },
    "recent_changes": {
        "title": "Recent changes",
        "description": "What changed between two captures of the same source, newest first: "
        "organisations added to or removed from sharing lists (federal ones flagged), retention, "
        "camera counts, search audits published or withdrawn. Give an agency (id, slug or any "
        "name), a date (YYYY-MM-DD) to start from, or 1 for federal grantees only. " + PAGE_NOTE,
        # Three branches, each answered from an index: one agency's changes (the agency looked
        # up, then changes by agency_id or counterpart_id); everyone's federal changes (a
        # partial index); everyone's changes, newest first.
        "sql": _paged(f"""
select c.after_captured_at, c.before_captured_at, a.name as agency, c.kind, c.raw_name,
  c.old_value, c.new_value, c.federal, c.summary, c.before_document, c.after_document
from changes c left join agencies a on a.id = c.agency_id
where :agency != '' and (c.agency_id in {AGENCY_IDS} or c.counterpart_id in {AGENCY_IDS})
  and (:since = '' or c.after_captured_at >= :since)
  and (:federal = '' or c.federal = cast(:federal as integer))
union all
select c.after_captured_at, c.before_captured_at, a.name as agency, c.kind, c.raw_name,
  c.old_value, c.new_value, c.federal, c.summary, c.before_document, c.after_document
from changes c left join agencies a on a.id = c.agency_id
where :agency = '' and :federal = '1' and c.federal = 1
  and (:since = '' or c.after_captured_at >= :since)
union all
select c.after_captured_at, c.before_captured_at, a.name as agency, c.kind, c.raw_name,
  c.old_value, c.new_value, c.federal, c.summary, c.before_document, c.after_document
from changes c left join agencies a on a.id = c.agency_id
where :agency = '' and :federal != '1'
  and (:since = '' or c.after_captured_at >= :since)
  and (:federal = '' or c.federal = cast(:federal as integer))
order by 1 desc, 3, 4"""),
    },
    "agreements_in_state": {
        "title": "287(g) agreements in a state",
        "description": "ICE 287(g) agreements listed for a state (two letters), with when each "
        "was first and last listed and signed, from every spreadsheet version held. " + PAGE_NOTE,
        "sql": _paged("""
select agency, model, signed, first_listed, last_listed, on_newest_participating,
  on_newest_pending, pending_since, left_program, left_program_by, agency_id, first_document,
  last_document
from agreements where state = upper(:state)
order by on_newest_participating desc, agency, model"""),
    },
    "nlets_blocked_but_federal_alpr": {
        "title": "Agencies in states that block ICE in Nlets but share ALPR data with federal bodies",
        "description": "States whose DMV data ICE/HSI cannot query through Nlets (state_policies, "
        "with sources), and agencies there whose plate-reader data the records show federal "
        "bodies can see (federal_access). " + PAGE_NOTE,
        # federal_access in those states, by owner_state, data_owner, federal_grantee
        "sql": _paged_by_keys("""
select d.owner_id, d.grantee_id, o.state as k_state, o.name as k_owner, g.name as k_grantee
from agencies g join data_access d on d.grantee_id = g.id join agencies o on o.id = d.owner_id
join state_policies p on p.state = o.state
where g.kind = 'federal' and p.nlets_ice_hsi_dmv_blocked = 'yes'""",
            "k_state, k_owner, k_grantee",
            """f.owner_state as state, p.nlets_ice_hsi_dmv_blocked as nlets_blocked,
  p.nlets_blocked_since, f.data_owner, f.federal_grantee, f.component, f.immigration,
  f.current, f.newest_source, f.first_seen, f.last_seen, f.evidence_documents""",
            """k join federal_access f on f.data_owner_id = k.owner_id
  and f.federal_grantee_id = k.grantee_id
join state_policies p on p.state = f.owner_state"""),
    },
    "state_dmv_access_now": {
        "title": "Who can query a state's DMV data now, component by component",
        "description": "Current rows of state_dmv_access for a state (two letters): whether ICE, "
        "HSI, CBP and other DHS units can query its DMV data through Nlets, direct DMV access or "
        "the state's network, since when and as of when, with the sources (title, date, URL). "
        "'unknown' says why it is unknown.",
        "sql": """
select a.state, a.component, a.channel, a.access, a.since, a.as_of, a.basis, a.notes,
  (select group_concat(s.publisher || ', ' || s.date || ': ' || s.url, ' | ')
   from json_each(a.source_ids) j join policy_sources s on s.id = j.value) as sources
from state_dmv_access a
where a.state = upper(:state) and a.current = 1
order by a.channel, a.component
""".strip(),
    },
    "state_policy_timeline": {
        "title": "A state's DMV and plate-reader data timeline",
        "description": "Dated events for a state (two letters) and the national ones (US): "
        "letters, blocks, reports, query counts, laws, lawsuits, each with its sources.",
        "sql": """
select e.date, e.state, e.kind, e.component, e.channel, e.summary, e.count, e.count_bound,
  e.count_of, e.period_start, e.period_end, e.basis, e.notes,
  (select group_concat(s.publisher || ', ' || s.date || ': ' || s.url, ' | ')
   from json_each(e.source_ids) j join policy_sources s on s.id = j.value) as sources
from state_policy_events e
where e.state = upper(:state) or e.state = 'US'
order by e.date, e.state, e.id
""".strip(),
    },
    "blocked_pages": {
        "title": "Pages that were blocked or not found",
        "description": "Fetches that returned a Cloudflare challenge, a rate-limit page or a "
        "'page not found': nothing was parsed from them. " + PAGE_NOTE,
        "sql": _paged("""
select f.url, f.fetched_at, f.http_status, d.doc_type, d.parse_error, d.sha256
from fetches f join documents d on d.sha256 = f.sha256
where d.doc_type in ('blocked', 'not_found')
order by f.fetched_at desc"""),
    },
    "crawl_failures_open": {
        "title": "Crawl failures still to be retried",
        "description": "Seeds and requests that failed (timeouts, redirect loops, oversized or "
        "corrupt bodies, robots.txt refusals, server errors after the retries, ...) and have "
        "had no answer since: the next run of the spider crawls their seeds again. Leave "
        "spider empty for all.",
        "sql": """
select f.spider, f.seed, f.seed_kind, f.reason, f.detail, f.url, f.http_status, f.attempts,
  f.failed_at, f.run_id,
  (select count(*) from crawl_failures x where x.spider = f.spider and x.seed is f.seed)
    as failures_of_seed
from crawl_failures f
where f.resolved_run_id is null and (:spider = '' or f.spider = :spider)
  and f.id = (select max(y.id) from crawl_failures y where y.spider = f.spider
              and y.seed is f.seed and y.url = f.url and y.resolved_run_id is null)
order by f.spider, f.reason, f.seed
""".strip(),
    },
    "released_about_alpr": {
        "title": "Released documents about plate readers, Flock, Nlets, DMV data or 287(g)",
        "description": "Files listed by records portals, council systems and agency sites that "
        "are relevant (by their own title or their request's or matter's), with the request or "
        "matter they belong to, whether they were downloaded, and what they turned out to be. "
        + PAGE_NOTE,
        "sql": _paged("""
select source, portal, parent_title, parent_url, title, download_status, document_type,
  parse_status, published_at, url, sha256
from released_documents
where relevant = 1
order by published_at desc"""),
    },
    "search_document_text": {
        "title": "Search the full text of every document",
        "description": "Full-text search (SQLite FTS5 syntax: words, \"exact phrases\", OR, "
        "prefix*) over the text of every PDF, Word, HTML and text document in the archive.",
        "sql": """
select d.document_type, d.url, d.first_fetched_at,
  snippet(document_texts_fts, 0, '[', ']', ' ... ', 16) as excerpt, d.sha256
from document_texts_fts
join document_texts t on t.rowid = document_texts_fts.rowid
join documents d on d.sha256 = t.sha256
where document_texts_fts match :text
order by rank
limit 200
""".strip(),
    },
}
for _name in ("state_dmv_access_now", "state_policy_timeline"):
    CANNED_QUERIES[_name]["description_html"] = (
        html.escape(CANNED_QUERIES[_name]["description"]) + " " + STATE_BRIEF_NOTE_HTML)


def _column_types(table: Table) -> dict[str, type]:
    return {name: typ for name, (typ, _) in table.columns.items()}


def schema_fingerprint() -> int:
    """A number that changes whenever the schema defined here changes (kept in the database's
    application_id, so that opening an up-to-date database writes nothing)."""
    spec = repr((SCHEMA_VERSION, [(t.name, tuple(t.columns), t.pk, t.foreign_keys, t.indexes,
                                   t.unique_indexes, t.fts, t.fts_triggers) for t in TABLES],
                 sorted(VIEWS.items()), PARTIAL_INDEXES, ORDER_INDEXES))
    return zlib.crc32(spec.encode()) & 0x7FFFFFFF


def schema_is_current(db: sqlite_utils.Database) -> bool:
    version, fingerprint = (db.execute(f"pragma {p}").fetchone()[0]
                            for p in ("user_version", "application_id"))
    return version == SCHEMA_VERSION and fingerprint == schema_fingerprint()


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create missing tables, indexes and full-text indexes, and bring an older database up to
    date. Safe to call on every open (open_db calls it when the fingerprint differs)."""
    db.conn.execute("PRAGMA foreign_keys = OFF")  # evidence may arrive before its agency row
    for name in FORMER_VIEWS:
        if db.execute("select 1 from sqlite_master where type = 'view' and name = ?",
                      [name]).fetchone():
            db.execute(f"drop view [{name}]")
    old_version = db.execute("pragma user_version").fetchone()[0]
    for table in TABLES:
        if not db[table.name].exists():
            # tables are listed so that every foreign key points to a table created before it
            db[table.name].create(_column_types(table), pk=table.pk,
                                  foreign_keys=list(table.foreign_keys))
        else:
            existing = set(db[table.name].columns_dict)
            for name, typ in _column_types(table).items():
                if name not in existing:
                    db[table.name].add_column(name, typ)
        for cols in table.indexes:
            db[table.name].create_index(cols, if_not_exists=True)
        for cols in table.unique_indexes:
            db[table.name].create_index(cols, unique=True, if_not_exists=True)
    for table in TABLES:
        if table.fts and not db[f"{table.name}_fts"].exists():
            db[table.name].enable_fts(table.fts, create_triggers=table.fts_triggers,
                                      tokenize="porter")
        elif table.fts and table.fts_triggers and not _has_fts_triggers(db, table.name):
            # an older database kept this index by rebuilds: index it again, with triggers
            db[table.name].enable_fts(table.fts, create_triggers=True, tokenize="porter",
                                      replace=True)
    for sql in PARTIAL_INDEXES + ORDER_INDEXES:
        db.execute(sql)
    for name, sql in VIEWS.items():  # views are recreated so a changed definition takes effect
        db.execute(f"drop view if exists [{name}]")
        db.execute(f"create view [{name}] as {sql.strip()}")
    if 0 < old_version < 2:
        _mask_stored_plates(db)
    db.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.conn.execute(f"PRAGMA application_id = {schema_fingerprint()}")


def _mask_stored_plates(db: sqlite_utils.Database) -> None:
    """Upgrade from schema 1: plates typed into free text were stored in clear. Mask them with
    the installation's key (the one plate_hash uses) and drop the full text of audit exports."""
    from alpr_inventory.settings import archive_dir_for
    from alpr_inventory.store.plates import load_or_create_key, plate_hasher
    from alpr_inventory.store.search_loader import mask_stored_plates

    main = next(r[2] for r in db.execute("pragma database_list") if r[1] == "main")
    hash_plate = plate_hasher(load_or_create_key(archive_dir_for(main).parent))
    with db.atomic():
        mask_stored_plates(db, hash_plate)


def _has_fts_triggers(db: sqlite_utils.Database, table: str) -> bool:
    names = {r[0] for r in db.execute("select name from sqlite_master where type = 'trigger' "
                                      "and tbl_name = ?", [table])}
    return {f"{table}_ai", f"{table}_ad", f"{table}_au"} <= names


def rebuild_fts(db: sqlite_utils.Database, full: bool = False) -> None:
    """Bring the trigger-less full-text indexes up to date (end of a load run).

    Rows added since the last run are indexed: their rowids are above every indexed one
    (SQLite gives a new row the highest rowid plus one) and these tables never edit the indexed
    text of a stored row. When rows were deleted (the index knows rowids the table no longer
    reaches) or `full` is asked for (after clear_facts), the index is rebuilt from scratch.
    """
    for table in TABLES:
        if not (table.fts and not table.fts_triggers and db[table.name].exists()):
            continue
        fts = f"{table.name}_fts"
        indexed = db.execute(f"select coalesce(max(id), 0) from [{fts}_docsize]").fetchone()[0] \
            if db[f"{fts}_docsize"].exists() else None
        top = db.execute(f"select coalesce(max(rowid), 0) from [{table.name}]").fetchone()[0]
        if full or indexed is None or indexed > top:
            db[table.name].rebuild_fts()
        elif top > indexed:
            columns = ", ".join(f"[{c}]" for c in table.fts)
            db.execute(f"insert into [{fts}] (rowid, {columns}) select rowid, {columns} "
                       f"from [{table.name}] where rowid > ?", [indexed])


@contextlib.contextmanager
def indexed_after_filling(conn: sqlite3.Connection, table: str) -> Iterator[bool]:
    """For rows written into `table` while it is empty (a first build, a rebuild after
    clear_facts): its secondary indexes and full-text triggers are dropped, and once it is
    filled the indexes are built and the full-text index rebuilt, one sort each instead of a
    random insert per row and index (a third of the time to derive a first load's sharing
    intervals). Into a table holding rows, nothing changes (rebuilding indexes over a national
    table for a few new rows would cost far more). Yields whether it deferred. Call inside a
    transaction: the drops and builds are part of it, and a failure rolls them back (the
    indexes are built again here first, as they would be after any error)."""
    if conn.execute(f"select exists (select 1 from [{table}])").fetchone()[0]:
        yield False
        return
    unique = "create unique "
    indexes = [(name, sql) for name, sql in conn.execute(
        "select name, sql from sqlite_master where type = 'index' and tbl_name = ? and sql "
        "is not null", [table]) if not sql.lower().startswith(unique)]
    triggers = conn.execute(
        "select name, sql from sqlite_master where type = 'trigger' and tbl_name = ? and "
        "name in (?, ?, ?)", [table, f"{table}_ai", f"{table}_ad", f"{table}_au"]).fetchall()
    for name, _ in indexes:
        conn.execute(f'drop index "{name}"')
    for name, _ in triggers:
        conn.execute(f'drop trigger "{name}"')

    def restore() -> None:
        for _, sql in indexes + triggers:
            conn.execute(sql)
        if triggers:
            conn.execute(f"insert into [{table}_fts] ([{table}_fts]) values ('rebuild')")

    try:
        yield True
    except BaseException:
        with contextlib.suppress(sqlite3.Error):  # the load's own error is the one to report
            restore()
        raise
    restore()


# A table whose row count has grown this many times since the last ANALYZE gets a new one.
STATISTICS_GROWTH = 2.0


def refresh_statistics(db: sqlite_utils.Database, force: bool = False) -> bool:
    """ANALYZE after large loads, so the query planner knows which indexes are selective.

    Runs when a table of a thousand rows or more has no statistics yet or has grown
    STATISTICS_GROWTH times since they were taken (compared cheaply: rowids, not counts).
    ANALYZE samples (analysis_limit), so it takes well under a second even on tens of
    millions of rows. Returns whether it ran."""
    stats: dict[str, int] = {}
    if db["sqlite_stat1"].exists():
        for tbl, stat in db.execute("select tbl, stat from sqlite_stat1"):
            rows = int((stat or "0").split()[0] or 0)
            stats[tbl] = max(stats.get(tbl, 0), rows)
    stale = force
    for table in TABLES:
        if stale:
            break
        top = db.execute(f"select coalesce(max(rowid), 0) from [{table.name}]").fetchone()[0]
        if top >= 1000 and top > STATISTICS_GROWTH * stats.get(table.name, 0):
            stale = True
    if stale:
        db.execute("pragma analysis_limit = 1000")
        db.execute("analyze")
    return stale


def open_db(path: str) -> sqlite_utils.Database:
    """Open (creating if needed) the inventory database with the schema in place.

    Safe with other commands at work on the same file: the schema is written (only when it
    is not current) under the database's write lock, SQLite waits up to a minute for a busy
    database instead of failing, and runs whose process died are marked `interrupted`.
    """
    # room for every statement of a load in the prepared-statement cache (Python's default
    # keeps 128: the loaders' multi-row statements took milliseconds to prepare again)
    db = sqlite_utils.Database(sqlite3.connect(str(path), cached_statements=1024)
                               if str(path) != ":memory:" else path)
    db.conn.execute("PRAGMA busy_timeout = 60000")
    db.conn.execute("PRAGMA synchronous = NORMAL")
    db.conn.execute("PRAGMA cache_size = -262144")  # 256 MB: random-key indexes stay in memory
    db.conn.execute("PRAGMA temp_store = MEMORY")
    # an INSERT OR REPLACE that deletes a row fires its delete trigger (full-text indexes)
    db.conn.execute("PRAGMA recursive_triggers = ON")
    lock = DatabaseLock.for_connection(db.conn)
    if not schema_is_current(db):
        with lock.writing("schema") if lock else contextlib.nullcontext():
            if not schema_is_current(db):
                db.conn.execute("PRAGMA journal_mode = WAL")
                ensure_schema(db)
    if lock is not None:
        mark_interrupted_runs(db, lock)
    return db


def mark_interrupted_runs(db: sqlite_utils.Database, lock: DatabaseLock) -> list[int]:
    """Runs still marked running whose process is gone become `interrupted`; returns their
    ids."""
    running = [r[0] for r in db.execute("select id from runs where status = 'running'")]
    dead = [run_id for run_id in running if not lock.run_alive(run_id)]
    if not dead:
        return []
    from datetime import UTC, datetime

    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with lock.writing("mark interrupted runs"), db.atomic():
        for run_id in dead:
            if lock.run_alive(run_id):
                continue
            db.execute(
                "update runs set status = 'interrupted', finish_reason = 'interrupted: its "
                "process (' || coalesce('pid ' || pid || ' on ' || host, 'unknown') || ') "
                "stopped without finishing; found on ' || ? where id = ? and status = "
                "'running'", [now, run_id])
    return dead


CAMERAS_CREDIT = {
    "license": "ODbL 1.0", "license_url": "https://opendatacommons.org/licenses/odbl/1-0/",
    "source": "© OpenStreetMap contributors (via the alpr-sync-usa snapshot)",
    "source_url": "https://www.openstreetmap.org/copyright",
}


# Table and view pages of these wide relations (15 to 26 columns, lists of sources and
# documents in their cells) show 50 rows a page, not Datasette's 100: rendering the cells is
# most of such a page's time at national scale (an agency's page of 100 took 150 ms of HTML
# on the 2-core machine, 5 ms of SQL). "Next page" goes on as before.
WIDE_PAGE_SIZE = 50
WIDE_RELATIONS = ("can_see_data", "federal_access", "data_access", "sharing", "changes",
                  "searches", "agency_exposure")


def datasette_metadata(database_name: str = "inventory") -> dict[str, Any]:
    """Datasette metadata built from the table descriptions above (one source of truth)."""
    tables: dict[str, Any] = {}
    for table in TABLES:
        entry: dict[str, Any] = {
            "description": table.description,
            "columns": {name: desc for name, (_, desc) in table.columns.items()},
            "license": "see each document's URL",
            "source": "alpr-inventory: public records, each row traceable to a document",
        }
        if table.facets:
            entry["facets"] = list(table.facets)
        if table.sort_desc:
            entry["sort_desc"] = table.sort_desc
        if table.fts:
            entry["fts_table"] = f"{table.name}_fts"
            entry["fts_pk"] = "rowid"
        tables[table.name] = entry
    for name, description in VIEW_DESCRIPTIONS.items():
        tables[name] = {"description": description, "facets": VIEW_FACETS[name]}
    for name in WIDE_RELATIONS:
        tables[name]["size"] = WIDE_PAGE_SIZE
    tables["cameras"].update(CAMERAS_CREDIT)
    return {
        "title": "alpr-inventory",
        "description": "Who can see an agency's plate-reader data, and which of them are "
        "federal agencies: facts parsed from public records, each with its source document.",
        "license": "Facts from public records",
        "source": "alpr-inventory",
        "databases": {
            database_name: {
                "description": "Flock transparency portals, sharing lists and search audits.",
                "tables": tables,
                # the questions read first; the SQL is one click away ("show")
                "queries": {name: {**q, "hide_sql": True} for name, q in CANNED_QUERIES.items()},
            }
        },
    }
