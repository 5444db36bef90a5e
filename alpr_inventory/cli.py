"""`alpr-inventory`: crawl, import, parse, rebuild and serve the inventory."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click

from crawlers.registry import crawl_help
from parsers.names import slug_from_portal_url

from .settings import FLOCK_PORTAL_BASE, archive_dir_for, corpus_dir, default_db_path

DB_OPTION = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=lambda: str(default_db_path()),
    show_default="data/inventory.db", help="SQLite database to write/read.")


def _existing_db(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Commands that only read refuse a database that is not there (a typo would otherwise
    create an empty one and print zeros)."""
    if not Path(value).is_file():
        raise click.BadParameter(f"no database at {value}: build one first (alpr-inventory "
                                 "demo, import or crawl) or give the right --db")
    return value


EXISTING_DB_OPTION = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=lambda: str(default_db_path()),
    show_default="data/inventory.db", callback=_existing_db,
    help="SQLite database to read (it must exist).")


def _open_store(db_path: str):  # imported lazily: `--help` should not load Scrapy or lxml
    from .archive import Archive
    from .ingest import Store
    from .schema import open_db

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    return Store(open_db(db_path), Archive(archive_dir_for(db_path)))


@click.group()
@click.version_option(package_name="alpr-inventory")
def cli() -> None:
    """Who can see an agency's plate-reader data, and which of them are federal agencies.

    Every fact comes from a public document that is archived by its SHA-256.
    """


# ---- crawl ------------------------------------------------------------------------------
@cli.group(help=crawl_help())
def crawl() -> None:
    pass


CONTACT_OPTION = click.option(
    "--contact", envvar="ALPR_CONTACT",
    help="Your email or URL, sent in the User-Agent so site operators can reach you "
    "(env ALPR_CONTACT; required for live sites).")
LOG_OPTION = click.option("--log-level", default="INFO", show_default=True)
FULL_OPTION = click.option(
    "--full", is_flag=True,
    help="Ignore the dates remembered from the last run and ask for everything again (files "
    "already archived are still not downloaded again).")
TERM_OPTION = click.option(
    "--term", "terms", multiple=True,
    help="Search term (repeat for several; default: flock, license plate reader, ALPR, "
    "Nlets, DMV, 287(g), data sharing).")


@crawl.command("flock-portals")
@click.argument("slugs", nargs=-1)
@click.option("--seeds", "seeds_file", type=click.Path(exists=True, dir_okay=False),
              help="Seed file: text (slug or URL per line), CSV with a URL/slug column, "
              "or a JSON registry.")
@click.option("--state", help="Only seeds in this state (two letters), e.g. WA.")
@click.option("--base-url", default=FLOCK_PORTAL_BASE, show_default=True,
              help="Where portals live; point it at a local replay server for offline work.")
@click.option("--browser/--no-browser", default=None,
              help="Fetch through Chromium (default: on for the live site, off for others).")
@click.option("--discover-depth", default=1, show_default=True,
              help="How many hops to follow names found in sharing lists (0 = seeds only).")
@click.option("--max-discovered", default=2000, show_default=True,
              help="Upper bound on candidate slugs queued by discovery.")
@click.option("--contact", envvar="ALPR_CONTACT",
              help="Your email or URL, sent in the User-Agent so site operators can reach you "
              "(env ALPR_CONTACT; required for live sites).")
@click.option("--log-level", default="INFO", show_default=True)
@DB_OPTION
def crawl_flock_portals(slugs: tuple[str, ...], seeds_file: str | None, state: str | None,
                        base_url: str, browser: bool | None, discover_depth: int,
                        max_discovered: int, contact: str | None, log_level: str,
                        db_path: str) -> None:
    """Crawl Flock transparency portals: SLUGS given, a --seeds file, and discovery."""
    if not slugs and not seeds_file:
        raise click.UsageError("give one or more SLUGS or --seeds FILE")
    run_id = run_flock_crawl(list(slugs), seeds_file, state, base_url, browser, discover_depth,
                             max_discovered, db_path, log_level, contact)
    _print_run(db_path, run_id)


def run_flock_crawl(slugs: list[str], seeds_file: str | None, state: str | None, base_url: str,
                    browser: bool | None, discover_depth: int, max_discovered: int,
                    db_path: str, log_level: str = "INFO",
                    contact: str | None = None) -> int | None:
    """Run the flock_portals spider in this process; returns the run id."""
    from crawlers.spiders.flock_portals import FlockPortalsSpider

    if browser is None:
        browser = base_url.startswith(FLOCK_PORTAL_BASE)
    return run_spider(FlockPortalsSpider, base_url, browser, db_path, log_level, contact,
                      slugs=slugs, seeds_file=seeds_file, state=state,
                      discover_depth=discover_depth, max_discovered=max_discovered)


def run_spider(spider_cls: Any, base_url: str, browser: bool, db_path: str, log_level: str,
               contact: str | None, **spider_args: Any) -> int | None:
    """Run one spider in this process with the project settings; returns the run id."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from crawlers.settings import crawl_settings

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawlers.settings")
    settings = get_project_settings()
    try:
        settings.setdict(crawl_settings(base_url, browser, db_path, log_level, contact,
                                        spider_cls.name), priority="cmdline")
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    process.crawl(crawler, base_url=base_url, browser=browser, **spider_args)
    process.start()
    return getattr(crawler.spider, "run_id", None)


@crawl.command("ice-287g")
@click.option("--base-url", default="https://www.ice.gov/identify-and-arrest/287g",
              show_default=True, help="ICE's 287(g) page (or a local copy of it).")
@click.option("--max-moas", default=100, show_default=True,
              help="Download up to N signed MOA PDFs linked from the sheets that the archive "
              "does not hold yet (0: sheets only).")
@click.option("--contact", envvar="ALPR_CONTACT", help="Your email or URL for the User-Agent.")
@click.option("--log-level", default="INFO", show_default=True)
@DB_OPTION
def crawl_ice_287g(base_url: str, max_moas: int, contact: str | None, log_level: str,
                   db_path: str) -> None:
    """Download ICE's 287(g) participating and pending agencies spreadsheets (and MOAs)."""
    from crawlers.spiders.documents import Ice287gSpider

    run_id = run_spider(Ice287gSpider, base_url, False, db_path, log_level, contact,
                        max_moas=max_moas)
    _print_run(db_path, run_id)


@crawl.command("documents")
@click.argument("seeds", nargs=-1, required=True)
@click.option("--keyword", "keywords", multiple=True,
              help="Link text / file-name words to follow (default: ALPR, Flock, data sharing, "
              "MOU/MOA, 287(g), DMV, Nlets, ...). Repeat for several.")
@click.option("--max-depth", default=2, show_default=True)
@click.option("--max-documents", default=200, show_default=True)
@FULL_OPTION
@CONTACT_OPTION
@LOG_OPTION
@DB_OPTION
def crawl_documents(seeds: tuple[str, ...], keywords: tuple[str, ...], max_depth: int,
                    max_documents: int, full: bool, contact: str | None, log_level: str,
                    db_path: str) -> None:
    """Follow links on agency or state DMV sites (SEEDS) to policy, contract and agreement
    documents, and download them."""
    from crawlers.spiders.documents import DEFAULT_KEYWORDS, DocumentsSpider

    run_id = run_spider(DocumentsSpider, seeds[0], False, db_path, log_level, contact,
                        seeds=list(seeds), keywords=keywords or DEFAULT_KEYWORDS,
                        max_depth=max_depth, max_documents=max_documents, full=full)
    _print_run(db_path, run_id)


DEFAULT_TERMS = ("flock", "license plate reader", "ALPR", "Nlets", "DMV", "287(g)",
                 "data sharing")


@crawl.command("muckrock")
@TERM_OPTION
@click.option("--since", help="Only requests updated since this date (default: since the last "
              "finished run).")
@click.option("--max-requests", default=500, show_default=True,
              help="Upper bound on requests followed (communications and files).")
@click.option("--base-url", default="https://www.muckrock.com/api_v2/", show_default=True,
              help="API v2 base (a local replay server for offline work).")
@click.option("--auth-url", default="https://accounts.muckrock.com/api/", show_default=True,
              help="Where tokens are issued (token/ and refresh/ under it).")
@FULL_OPTION
@CONTACT_OPTION
@LOG_OPTION
@DB_OPTION
def crawl_muckrock(terms: tuple[str, ...], since: str | None, max_requests: int, base_url: str,
                   auth_url: str, full: bool, contact: str | None, log_level: str,
                   db_path: str) -> None:
    """MuckRock requests about ALPR, Flock, Nlets, DMV data or 287(g), and their released files.

    Credentials (optional): MUCKROCK_USERNAME and MUCKROCK_PASSWORD in the environment.
    """
    from crawlers.spiders.muckrock import MuckRockSpider

    run_id = run_spider(MuckRockSpider, base_url, False, db_path, log_level, contact,
                        terms=list(terms or DEFAULT_TERMS), since=since,
                        max_requests=max_requests, auth_url=auth_url, full=full)
    _print_run(db_path, run_id)


@crawl.command("nextrequest")
@click.argument("tenants", nargs=-1, required=True)
@TERM_OPTION
@click.option("--tenant-url", default="https://{tenant}.nextrequest.com", show_default=True,
              help="Where a tenant lives; {tenant} is replaced. A TENANT given as a URL "
              "(a custom domain) is used as it is.")
@click.option("--max-documents", default=500, show_default=True,
              help="Upper bound on documents downloaded per tenant.")
@FULL_OPTION
@CONTACT_OPTION
@LOG_OPTION
@DB_OPTION
def crawl_nextrequest(tenants: tuple[str, ...], terms: tuple[str, ...], tenant_url: str,
                      max_documents: int, full: bool, contact: str | None, log_level: str,
                      db_path: str) -> None:
    """NextRequest portals (TENANTS, e.g. oaklandca): matching requests and released documents."""
    from crawlers.spiders.nextrequest import NextRequestSpider

    run_id = run_spider(NextRequestSpider, tenant_url, False, db_path, log_level, contact,
                        tenants=list(tenants), terms=list(terms or DEFAULT_TERMS),
                        tenant_url=tenant_url, max_documents=max_documents, full=full)
    _print_run(db_path, run_id)


@crawl.command("documentcloud")
@TERM_OPTION
@click.option("--since", help="Only documents updated since this date (default: since the "
              "last finished run).")
@click.option("--max-documents", default=200, show_default=True,
              help="Upper bound on documents downloaded.")
@click.option("--base-url", default="https://api.www.documentcloud.org/api/", show_default=True,
              help="API base (a local replay server for offline work).")
@FULL_OPTION
@CONTACT_OPTION
@LOG_OPTION
@DB_OPTION
def crawl_documentcloud(terms: tuple[str, ...], since: str | None, max_documents: int,
                        base_url: str, full: bool, contact: str | None, log_level: str,
                        db_path: str) -> None:
    """DocumentCloud: public documents matching the terms, with their PDFs and text."""
    from crawlers.spiders.documentcloud import DocumentCloudSpider

    run_id = run_spider(DocumentCloudSpider, base_url, False, db_path, log_level, contact,
                        terms=list(terms or DEFAULT_TERMS), since=since,
                        max_documents=max_documents, full=full)
    _print_run(db_path, run_id)


@crawl.command("legistar")
@click.argument("clients", nargs=-1)
@click.option("--clients-file", type=click.Path(exists=True, dir_okay=False),
              help="File of Legistar hosts or client names, one per line (e.g. the corpus's "
              "legisearch_known_legistar_subdomains.txt).")
@TERM_OPTION
@click.option("--since", help="Only matters and meetings changed since this date (default: "
              "since the last finished run; first run: the last two years).")
@click.option("--max-attachments", default=200, show_default=True,
              help="Upper bound on attachments downloaded per client.")
@click.option("--base-url", default="https://webapi.legistar.com/v1/", show_default=True,
              help="Web API base (a local replay server for offline work).")
@click.option("--token", envvar="LEGISTAR_TOKEN", help="API token for clients that need one "
              "(env LEGISTAR_TOKEN).")
@FULL_OPTION
@CONTACT_OPTION
@LOG_OPTION
@DB_OPTION
def crawl_legistar(clients: tuple[str, ...], clients_file: str | None, terms: tuple[str, ...],
                   since: str | None, max_attachments: int, base_url: str, token: str | None,
                   full: bool, contact: str | None, log_level: str, db_path: str) -> None:
    """Legistar council matters, agenda items, attachments and votes (CLIENTS, e.g. sanjose)."""
    from crawlers.spiders.legistar import LegistarSpider, read_clients

    names = list(clients) + (read_clients(Path(clients_file)) if clients_file else [])
    if not names:
        raise click.UsageError("give one or more CLIENTS or --clients-file FILE")
    run_id = run_spider(LegistarSpider, base_url, False, db_path, log_level, contact,
                        clients=names, terms=list(terms or DEFAULT_TERMS), since=since,
                        max_attachments=max_attachments, token=token, full=full)
    _print_run(db_path, run_id)


def _print_run(db_path: str, run_id: int | None) -> None:
    from .schema import open_db

    if run_id is None:
        raise click.ClickException("the crawl did not start (see the log above)")
    row = open_db(db_path)["runs"].get(run_id)
    if row["command"] == "flock_portals":
        click.echo(
            f"run {row['id']} {row['status']} ({row['finish_reason']}): {row['pages']} pages, "
            f"{row['portals']} portals, {row['documents']} new documents, {row['blocked']} "
            f"blocked, {row['not_found']} not found, {row['errors']} errors, "
            f"{row['discovered']} discovered")
    else:
        details = json.loads(row["details"] or "{}")
        more = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(details.items())
                         if isinstance(v, int) and v)
        click.echo(
            f"run {row['id']} {row['command']} {row['status']} ({row['finish_reason']}): "
            f"{row['pages']} responses, {row['documents']} new documents, {row['blocked']} "
            f"blocked or not public, {row['not_found']} not found, {row['errors']} errors"
            + (f"; {more}" if more else ""))
    if row["status"] == "blocked":
        click.echo("The site blocked the crawl. Save the pages from your own browser and run "
                   "`alpr-inventory import FILES`.", err=True)


# ---- import / parse / reparse -----------------------------------------------------------
PRIVATE_EYES_URL = "https://github.com/mcclatchy-southeast/private_eyes/blob/main/data/"
# What the demo imports besides the crawl, with what the corpus README says about each file
# (whose export it is, where a dataset was published): the same commands a reporter would run.
DEMO_RECORDS: tuple[tuple[str, tuple[str, ...], dict[str, Any]], ...] = (
    ("The News & Observer's 2023-24 sharing edges, a dated historical source",
     ("datasets", "private_eyes", "agency_access20240426.csv"),
     {"url": PRIVATE_EYES_URL + "agency_access20240426.csv"}),
    # the release's audit file name gives its period, 2025-11-01 to 2025-12-08
    ("Okaloosa County FL SO's records release (audit PDF, sharing report, contract scan)",
     ("records", "okaloosa_fl_so"), {"captured_at": "2025-12-08"}),
    # the newest search in the current file is 2025-12-02 23:01:50 (UTC)
    ("Eugene OR PD's accumulated portal search audit",
     ("flock", "audit", "eugene_or_pd"), {"agency": "Eugene OR PD",
                                          "captured_at": "2025-12-03"}),
    ("Eugene OR PD's released list of organisations sharing data with it",
     ("records", "eugene_or_pd", "EPD-2025-4987_sharing_list.csv"),
     {"agency": "Eugene OR PD", "sharing_list": "inbound"}),
    ("ICE's 287(g) participating and pending agencies spreadsheets (64 versions, 2025)",
     ("agreements", "287g", "sheets"), {}),
    ("signed 287(g) MOAs (born-digital, OCR-layered and scanned)",
     ("agreements", "287g", "moa"), {}),
    ("Vigilant / Motorola data-sharing reports from records requests",
     ("agreements", "vigilant"), {}),
    ("Orange County ALPR sharing documents", ("agreements", "flock"), {}),
    # the workbook's own run log ends on 2026-06-01
    ("Yuba County CA SO's accumulated search audit workbooks",
     ("flock", "audit", "yuba_county_ca_so"), {"agency": "Yuba County CA SO",
                                               "captured_at": "2026-06-01"}),
)
DATE_IN_NAME = re.compile(r"(?<!\d)(20\d{2})-?([01]\d)-?([0-3]\d)(?!\d)")
SAVED_FROM = re.compile(rb"<!-- saved from url=\(\d+\)(\S+?) -->")


@dataclass
class FileWalk:
    """The files an import reads, and what it left out and why (said in the summary)."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _iter_files(paths: tuple[str, ...]) -> FileWalk:
    """Files named and files in folders (sorted), following symbolic links but never a loop
    and never the same file twice. Hidden files and folders (names starting with '.') in a
    folder, sockets, pipes and devices, and broken links are left out, each with a reason;
    a hidden file named on the command line is read."""
    walk = FileWalk()
    dirs_seen: set[tuple[int, int]] = set()
    files_seen: dict[tuple[int, int], Path] = {}

    def add(path: Path, named: bool) -> None:
        try:
            st = path.stat()
        except OSError as exc:
            walk.skipped.append(f"{path}: cannot be read ({exc.strerror}"
                                f"{', a broken link' if path.is_symlink() else ''})")
            return
        if not stat.S_ISREG(st.st_mode):
            kind = ("a named pipe" if stat.S_ISFIFO(st.st_mode) else "a socket"
                    if stat.S_ISSOCK(st.st_mode) else "a device" if stat.S_ISCHR(st.st_mode)
                    or stat.S_ISBLK(st.st_mode) else "not a regular file")
            walk.skipped.append(f"{path}: {kind}, not a file: not read")
            return
        key = (st.st_dev, st.st_ino)
        if key in files_seen:
            walk.skipped.append(f"{path}: the same file as {files_seen[key]}: read once")
            return
        if not named and path.name.startswith("."):
            walk.skipped.append(f"{path}: hidden file (name starts with '.'): not read; name "
                                "it on the command line to import it")
            return
        files_seen[key] = path
        walk.files.append(path)

    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            add(path, True)
            continue
        top = path.stat()
        dirs_seen.add((top.st_dev, top.st_ino))
        for folder, dirs, names in os.walk(path, followlinks=True):
            keep = []
            for d in sorted(dirs):
                sub = Path(folder) / d
                if d.startswith("."):
                    walk.skipped.append(f"{sub}: hidden folder (name starts with '.'): not read")
                    continue
                try:
                    st = sub.stat()
                except OSError as exc:
                    walk.skipped.append(f"{sub}: cannot be read ({exc.strerror})")
                    continue
                if (st.st_dev, st.st_ino) in dirs_seen:
                    what = "a link back into a folder already read (a loop)" if sub.is_symlink() \
                        else "a folder already read"
                    walk.skipped.append(f"{sub}: {what}: not read again")
                    continue
                dirs_seen.add((st.st_dev, st.st_ino))
                keep.append(d)
            dirs[:] = keep
            for name in sorted(names):
                add(Path(folder) / name, False)
    return walk


def _import_metadata(path: Path, body: bytes, captured_at: str | None,
                     url: str | None) -> dict[str, Any]:
    """Work out where an imported file came from and when it was captured."""
    if captured_at:
        when, basis = _iso(captured_at), "given"
    elif m := DATE_IN_NAME.search(path.name):
        when, basis = "{}-{}-{}T00:00:00Z".format(*m.groups()), "filename"
    else:
        mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
        when, basis = mtime.strftime("%Y-%m-%dT%H:%M:%SZ"), "mtime"
    slug = None
    if not url and (m := SAVED_FROM.search(body[:4096])):
        url = m.group(1).decode("latin-1")
    if url and url.startswith(FLOCK_PORTAL_BASE):
        slug = slug_from_portal_url(url)
    if not url and re.fullmatch(r"\d{4}-\d{2}-\d{2}", path.stem):  # <slug>/<YYYY-MM-DD>.html
        slug = path.parent.name
        url = FLOCK_PORTAL_BASE + slug
    return {"url": url or path.resolve().as_uri(), "captured_at": when,
            "captured_at_basis": basis, "requested_slug": slug}


def _iso(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO date or time: {value}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """--url is where a document was published: an http(s) address, nothing else."""
    if value is None:
        return None
    parts = urlparse(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"{value!r} is not an http(s) URL (the address the document "
                                 "was published at, e.g. https://transparency.flocksafety.com/"
                                 "bell-ca-pd)")
    return value


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--captured-at", help="When the pages were saved (ISO date/time); default: a date "
              "in the file name, else the file's modification time.")
@click.option("--url", callback=_http_url,
              help="Portal URL the page was saved from, http(s) only (default: from the page's "
              "'saved from' comment or a <slug>/<date>.html layout).")
@click.option("--agency", help="Whose export the files are, for audit logs that do not name "
              "the searching agency (e.g. 'Eugene OR PD').")
@click.option("--sharing-list", type=click.Choice(["inbound", "outbound"]),
              help="The files are a released list of organisations sharing data with --agency "
              "(inbound) or that --agency shares with (outbound): CSV with a name column, or "
              "one name per line.")
@DB_OPTION
def import_cmd(paths: tuple[str, ...], captured_at: str | None, url: str | None,
               agency: str | None, sharing_list: str | None, db_path: str) -> None:
    """Import documents saved from a browser or received from a records request.

    Each file is recognised by its content (portal page, block page, not-found page),
    archived, and run through the same pipeline as crawled pages, with the file as evidence.
    """
    click.echo(import_files(db_path, paths, captured_at, url, agency, sharing_list))


def _page_progress(done: int, total: int) -> None:
    """Pages parsed so far in a big PDF, on one updating stderr line."""
    click.echo(f"\r  PDF pages parsed: {done}/{total}", err=True, nl=done >= total)


def import_files(db_path: str, paths: tuple[str, ...], captured_at: str | None = None,
                 url: str | None = None, agency: str | None = None,
                 sharing_list: str | None = None) -> str:
    """Import files through the one ingest path, as one recorded run; returns a summary.

    Files are parsed several at a time in worker processes (each under a time and memory
    limit) and loaded in order; a file that fails gets its status and the next one goes on.
    """
    from .ingest import Fetched, utc_now

    walk = _iter_files(paths)
    files = walk.files
    store = _open_store(db_path)
    store.progress = _page_progress
    run_id = store.start_run("import", {"paths": list(paths), "captured_at": captured_at,
                                        "url": url, "agency": agency})
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    searches: Counter[str] = Counter()
    problems: list[str] = []
    notes: list[str] = []
    new_docs = unchanged = 0

    def fetched() -> Iterator[tuple[Fetched, None]]:
        for path in files:
            try:
                body = path.read_bytes()
            except OSError as exc:
                counts["unreadable"] += 1
                problems.append(f"{_shown(path)}: unreadable: {exc.strerror or exc}")
                continue
            meta = _import_metadata(path, body, captured_at, url)
            yield Fetched(body=body, source="import", fetched_at=utc_now(),
                          fetched_from=str(path), agency=agency, sharing_list=sharing_list,
                          **meta), None

    try:
        with click.progressbar(length=len(files), label=f"Importing {len(files)} files",
                               file=sys.stderr, show_pos=True) as bar:
            for result in store.ingest_many(fetched(), run_id):
                path = Path(result.fetched_from or "?")
                bar.update(1)
                counts[result.parse_status] += 1
                kinds[result.doc_type] += 1
                searches.update(result.searches)
                new_docs += int(result.new_document)
                unchanged += int(result.skipped)
                if result.encoding and result.encoding not in ("utf-8", "utf-8-sig"):
                    notes.append(f"{_shown(path)}: text read as {result.encoding}")
                if result.parse_status not in ("ok", "ok_with_warnings"):
                    reason = store.db["documents"].get(result.sha256)["parse_error"]
                    problems.append(f"{_shown(path)}: {result.parse_status}: {reason}")
        store.finish()
    except BaseException as exc:
        store.finish_run(run_id, "failed", f"{type(exc).__name__}: {exc}", {"pages": len(files)})
        store.close()
        raise
    totals = {
        "pages": len(files), "documents": new_docs, "portals": kinds["flock_portal"],
        "blocked": counts["blocked"], "not_found": counts["not_found"],
        "errors": sum(v for k, v in counts.items() if k not in
                      ("ok", "ok_with_warnings", "blocked", "not_found")),
        "unchanged": unchanged, "skipped": len(walk.skipped),
    }
    store.finish_run(run_id, "finished", "finished", totals)
    store.close()
    summary = f"imported {len(files)} files ({new_docs} new documents"
    if unchanged:
        summary += (f", {unchanged} unchanged: same bytes and capture, already read by this "
                    "parser version, not read again")
    lines = [summary + "): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    if searches["new"] or searches["known"] or searches["changed"]:
        lines.append(f"searches: {searches['new']} new, {searches['known']} already known, "
                     f"{searches['changed']} changed (kept in search_versions)")
    if searches["masked_plates"]:
        lines.append(f"plates in free text (reasons, case numbers): {searches['masked_plates']} "
                     "stored as keyed tokens, never in clear")
    if walk.skipped:
        lines.append(f"left out ({len(walk.skipped)}):")
        lines += [f"  {line}" for line in walk.skipped]
    lines += notes + problems
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """A path as printed: odd characters (newlines in file names) escaped."""
    text = str(path)
    return text if text.isprintable() else repr(text)[1:-1]


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default output).")
@DB_OPTION
def parse(file: str, as_json: bool, db_path: str) -> None:
    """Print what the parsers extract from one document, without touching the database.

    (--db is accepted like everywhere else and ignored: nothing is written.)
    """
    from dataclasses import asdict

    from parsers.pdf_worker import PdfJobError, run_limited

    from .ingest import PARSE_MEMORY_MB, PARSE_TIMEOUT_S, interpret

    body = Path(file).read_bytes()
    try:  # the parsers run in a child process under the same limits as on import
        interp = run_limited(interpret, body, name=file, timeout_s=PARSE_TIMEOUT_S,
                             memory_mb=PARSE_MEMORY_MB)  # no plate hasher: plates are dropped
    except PdfJobError as exc:
        raise click.ClickException(f"{file}: the parser was stopped: {exc}") from exc
    out: dict[str, Any]
    if interp.page is not None:
        out = interp.page.to_json_dict()
        out["search_audit"] = [_masked(r) for r in out["search_audit"]]
        out["warnings"] = interp.warnings
        out["parse_status"] = interp.parse_status
    elif interp.audit is not None:
        out = {"kind": "audit_export", "format": interp.audit.fmt,
               "columns": interp.audit.columns,
               "rows": [_masked(asdict(r)) for r in interp.audit.rows],
               "parse_status": interp.parse_status, "warnings": interp.warnings}
    elif interp.sharing_report is not None:
        out = {"kind": "sharing_report", "parse_status": interp.parse_status,
               "rows": [asdict(r) for r in interp.sharing_report.rows],
               "warnings": interp.warnings}
    else:
        out = {"kind": interp.verdict.kind, "parse_status": interp.parse_status,
               "reason": interp.parse_error, "warnings": interp.warnings}
    if interp.encoding:
        out["encoding"] = interp.encoding
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))
    if interp.page is None and interp.verdict.kind == "flock_portal":
        sys.exit(1)


def _masked(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row as printed: plate-like tokens in its free text shown as [plate]."""
    from parsers.plate_tokens import mask_plates

    out = dict(row)
    for key in ("reason", "case_number", "offense_type"):
        out[key] = mask_plates(out.get(key))[0]
    if isinstance(out.get("extra"), dict):
        out["extra"] = {k: mask_plates(v)[0] if isinstance(v, str) else v
                        for k, v in out["extra"].items()}
    return out


@cli.command()
@EXISTING_DB_OPTION
def reparse(db_path: str) -> None:
    """Rebuild every fact from the archive, offline (after a parser change)."""
    store = _open_store(db_path)
    run_id = store.start_run("reparse", {})
    try:
        stats = store.reparse_all(progress=True)
    except BaseException as exc:
        store.finish_run(run_id, "failed", f"{type(exc).__name__}: {exc}", {})
        store.close()
        raise
    store.finish_run(run_id, "finished", "finished",
                     {"pages": sum(stats.values()), "errors": stats["missing_from_archive"]})
    store.close()
    click.echo("reparsed: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))


@cli.command()
@click.argument("sha256")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the original bytes here (verified against the hash).")
@EXISTING_DB_OPTION
def document(sha256: str, output: str | None, db_path: str) -> None:
    """Show a document's provenance (SHA256 or a unique prefix of it, hex digits only) and
    extract the original."""
    prefix = sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{1,64}", prefix):
        raise click.BadParameter(f"{sha256!r} is not a SHA-256 or a prefix of one (hex digits "
                                 "0-9, a-f)", param_hint="SHA256")
    store = _open_store(db_path)
    rows = list(store.db.query("select * from documents where sha256 >= ? and sha256 < ? "
                               "limit 2", [prefix, prefix + "g"]))
    if len(rows) != 1:
        raise click.ClickException(f"{'no' if not rows else 'more than one'} document matches "
                                   f"{sha256!r}")
    doc = rows[0]
    doc["fetches"] = list(store.db.query(
        "select url, fetched_from, fetched_at, captured_at, captured_at_basis, http_status, "
        "run_id from fetches where sha256 = ? order by captured_at", [doc["sha256"]]))
    doc["archive_file"] = str(store.archive.path(doc["sha256"]))
    if output:
        Path(output).write_bytes(store.archive.get(doc["sha256"]))
        doc["written_to"] = output
    click.echo(json.dumps(doc, indent=2, ensure_ascii=False))


# ---- organisations ----------------------------------------------------------------------
RESOLVE_COLUMNS = ("name", "agency_id", "canonical_name", "kind", "state", "federal_component",
                   "immigration", "rule")


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--file", "names_file", type=click.File("r", encoding="utf-8-sig"),
              help="Names to resolve, one per line ('-' for standard input).")
@DB_OPTION
def resolve(names: tuple[str, ...], names_file: Any, db_path: str) -> None:
    """Classify organisation names as the resolver does; prints CSV (no database needed).

    Columns: name,agency_id,canonical_name,kind,state,federal_component,immigration,rule
    """
    import csv

    from parsers.resolver import Resolver

    todo = list(names) + ([line.rstrip("\n") for line in names_file if line.strip()]
                          if names_file else [])
    if not todo:
        raise click.UsageError("give NAMES or --file FILE")
    resolver = Resolver.load()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(RESOLVE_COLUMNS)
    for name in todo:
        r = resolver.resolve(name)
        writer.writerow([name, r.agency_id, r.canonical_name, r.kind, r.state or "",
                         r.federal_component or "", int(r.immigration), r.rule])


@cli.command()
@click.option("--federal", is_flag=True, help="Only federal bodies that can see someone's data.")
@click.option("--agency", help="Only this data owner (part of its name or its id).")
@EXISTING_DB_OPTION
def agencies(federal: bool, agency: str | None, db_path: str) -> None:
    """List who can see whose data; with --federal, the federal_access view."""
    from .schema import open_db

    db = open_db(db_path)
    if federal:
        rows = db.query(
            "select data_owner, federal_grantee, component, immigration, first_seen, last_seen, "
            "sources, evidence_documents from federal_access where ? is null or data_owner like "
            "'%' || ? || '%' or data_owner_id = ? order by immigration desc, data_owner, "
            "federal_grantee", [agency, agency, agency])
        for r in rows:
            flag = " [immigration enforcement]" if r["immigration"] else ""
            docs = ", ".join(d[:12] for d in json.loads(r["evidence_documents"] or "[]"))
            component = "" if f"({r['component']})" in r["federal_grantee"] else (
                f" ({r['component']})")
            click.echo(f"{r['data_owner']}: {r['federal_grantee']}{component}{flag}, "
                       f"seen {r['first_seen'][:10]}..{r['last_seen'][:10]} "
                       f"[{r['sources']}] evidence {docs}")
        return
    rows = db.query(
        "select data_owner, owner_state, grantees, federal, immigration_bodies, out_of_state, "
        "as_of from agency_exposure where ? is null or data_owner like '%' || ? || '%' "
        "order by immigration_bodies desc, federal desc, grantees desc", [agency, agency])
    for r in rows:
        click.echo(f"{r['data_owner']} ({r['owner_state'] or '?'}): {r['grantees']} can see its "
                   f"data; {r['federal']} federal, {r['immigration_bodies']} immigration, "
                   f"{r['out_of_state']} out of state (as of {(r['as_of'] or '')[:10]})")


@cli.command()
@click.argument("state")
@EXISTING_DB_OPTION
def state(state: str, db_path: str) -> None:
    """One state's picture: its policies (with sources), then the agencies in the database with
    federal grantees, 287(g) agreements or federal searches."""
    from .schema import open_db

    code = state.strip().upper()
    db = open_db(db_path)
    policy = db.execute("select * from state_policies where state = ?", [code]).fetchone()
    if policy is None:
        raise click.ClickException(f"no state {code!r} in data/state_policies.csv")
    row = dict(zip([d[0] for d in db.execute("select * from state_policies limit 0").description],
                   policy, strict=True))
    click.echo(f"{code} (as of {row['as_of']}; data/state_policies.csv line {row['line']})")
    for label, key, cite in (
            ("ICE/HSI blocked from DMV data in Nlets", "nlets_ice_hsi_dmv_blocked",
             "nlets_blocked_since"),
            ("DMV-data law", "dmv_law", "dmv_law_citation"),
            ("ALPR sharing law", "alpr_sharing_law", "alpr_sharing_citation"),
            ("ALPR sharing with federal agencies restricted", "alpr_federal_sharing_restricted",
             None),
            ("ALPR sharing out of state restricted", "alpr_out_of_state_restricted", None)):
        extra = f" ({row[cite]})" if cite and row[cite] not in (None, "", "unknown") else ""
        click.echo(f"  {label}: {row[key]}{extra}")
    if row["notes"]:
        click.echo(f"  notes: {row['notes']}")
    click.echo(f"  sources: {row['sources'] or 'none'}")

    fed = list(db.query("select data_owner, federal_grantee, component, immigration, first_seen, "
                        "last_seen, sources from federal_access where owner_state = ? "
                        "order by data_owner, federal_grantee", [code]))
    owners = {r["data_owner"] for r in fed}
    click.echo(f"\nAgencies whose data federal bodies can see: {len(owners)}")
    for r in fed:
        flag = " [immigration]" if r["immigration"] else ""
        click.echo(f"  {r['data_owner']}: {r['federal_grantee']}{flag} "
                   f"({r['first_seen'][:10]}..{r['last_seen'][:10]}, {r['sources']})")
    agreements = list(db.query(
        "select agency, model, signed, first_listed, last_listed, on_newest_participating, "
        "on_newest_pending from agreements where state = ? order by agency, model", [code]))
    click.echo(f"\n287(g) agreements listed: {len(agreements)}")
    for r in agreements:
        status = ("participating" if r["on_newest_participating"] else
                  "pending" if r["on_newest_pending"] else "no longer listed")
        click.echo(f"  {r['agency']} ({r['model']}): {status}; signed {r['signed'] or '?'}; "
                   f"listed {r['first_listed']}..{r['last_listed']}")
    searches = list(db.query(
        "select a.name, count(*) n from searches s join agencies a on a.id = s.searching_agency_id "
        "where s.federal_searcher = 1 and a.state = ? group by 1 order by 2 desc", [code]))
    click.echo(f"\nFederal agencies in {code} with searches in audit logs: {len(searches)}")
    for r in searches:
        click.echo(f"  {r['name']}: {r['n']} searches")


# ---- summary / serve / demo -------------------------------------------------------------
def summary_counts(db_path: str) -> dict[str, int]:
    from .schema import open_db

    db = open_db(db_path)

    def one(sql: str) -> int:
        return int(db.execute(sql).fetchone()[0] or 0)

    return {
        "portal agencies": one("select count(distinct agency_id) from portal_snapshots"),
        "agencies (all names)": one("select count(*) from agencies"),
        "snapshots": one("select count(*) from portal_snapshots"),
        "sharing edges (current)": one(
            "select count(*) from (select distinct owner_id, grantee_id from sharing "
            "where current = 1)"),
        "sharing edges (ever)": one(
            "select count(*) from (select distinct owner_id, grantee_id from sharing)"),
        "federal grantees (resolver)": one(
            "select count(distinct federal_grantee_id) from federal_access"),
        "data owners they can see": one("select count(distinct data_owner_id) from federal_access"),
        "immigration-enforcement grantees": one(
            "select count(distinct federal_grantee_id) from federal_access where immigration = 1"),
        "grantees Flock marks [Federal]": one(
            "select count(distinct grantee_id) from sharing where grantee_marked_federal = 1"),
        "names left unresolved for review": one(
            "select count(*) from agencies where resolution_status = 'unresolved'"),
        "searches (audit rows)": one("select count(*) from searches"),
        "searches by federal agencies": one(
            "select count(*) from searches where federal_searcher = 1"),
        "searches with immigration reasons": one(
            "select count(*) from searches where immigration_reason = 1"),
        "287(g) agreements (ever listed)": one("select count(*) from agreements"),
        "287(g) agreements on the newest list": one(
            "select count(*) from agreements where on_newest_participating = 1"),
        "records requests (portals)": one("select count(*) from records_requests"),
        "council matters (relevant)": one("select count(*) from council_matters "
                                          "where relevant = 1"),
        "council matters (all seen)": one("select count(*) from council_matters"),
        "released files listed": one("select count(*) from released_files"),
        "released files downloaded": one(
            "select count(*) from released_documents where download_status = 'downloaded'"),
        "documents with searchable text": one(
            "select count(*) from document_texts where status = 'ok'"),
        "blocked pages": one("select count(*) from fetches f join documents d using (sha256) "
                             "where d.doc_type = 'blocked'"),
        "not found pages": one("select count(*) from fetches f join documents d using (sha256) "
                               "where d.doc_type = 'not_found'"),
        "documents with warnings": one(
            "select count(*) from documents where parse_status = 'ok_with_warnings'"),
        "documents not parsed (see parse_status)": one(
            "select count(*) from documents where parse_status not in "
            "('ok', 'ok_with_warnings', 'blocked', 'not_found')"),
    }


@cli.command()
@EXISTING_DB_OPTION
def summary(db_path: str) -> None:
    """Print what the database holds."""
    for key, value in summary_counts(db_path).items():
        click.echo(f"{key:>40}: {value:,}")
    _print_statuses(db_path)


def _print_statuses(db_path: str) -> None:
    from .schema import open_db

    db = open_db(db_path)
    rows = list(db.query(
        "select parse_status, count(*) n from documents where parse_status not in "
        "('ok', 'ok_with_warnings') group by 1 order by 2 desc"))
    if rows:
        click.echo("  by status: " + ", ".join(f"{r['parse_status']} {r['n']}" for r in rows))
    types = list(db.query("select document_type, count(*) n from documents "
                          "group by 1 order by 2 desc"))
    if types:
        click.echo("  by type: " + ", ".join(f"{r['document_type']} {r['n']}" for r in types))


def write_metadata(db_path: str) -> Path:
    from .schema import datasette_metadata

    path = Path(db_path).with_suffix(".metadata.json")
    path.write_text(json.dumps(datasette_metadata(Path(db_path).stem), indent=2))
    return path


@cli.command()
@EXISTING_DB_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True)
def serve(db_path: str, host: str, port: int) -> None:
    """Browse the database with Datasette (metadata, facets, full-text search, canned queries).

    This process becomes Datasette (exec), so stopping it stops the server: no child is left
    serving the port.
    """
    from .schema import open_db

    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path} does not exist: build it first (see README)")
    open_db(db_path).close()  # schema and FTS in place
    metadata = write_metadata(db_path)
    click.echo(f"Datasette on http://{host}:{port}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    sys.stderr.flush()
    # Datasette's own command line, with the report plugin registered (/-/report/<agency_id>)
    args = [sys.executable, "-m", "alpr_inventory.datasette_plugin", "serve", db_path,
            "--metadata", str(metadata), "--host", host, "--port", str(port),
            "--setting", "sql_time_limit_ms", "5000"]
    os.execv(sys.executable, args)


@cli.command()
@click.option("--corpus", "corpus", type=click.Path(file_okay=False), default=None,
              help="Folder with portals/<slug>/<date>.html (default: ../shared/corpus/flock).")
@click.option("--serve/--no-serve", default=True, help="Start Datasette after the build.")
@click.option("--port", default=8001, show_default=True)
@click.option("--log-level", default="WARNING", show_default=True)
@DB_OPTION
def demo(corpus: str | None, serve: bool, port: int, log_level: str, db_path: str) -> None:
    """Offline demo: replay the corpus on 127.0.0.1, crawl it with the real spider, serve it."""
    from .replay import ReplayCorpus, ReplayServer

    root = Path(corpus) if corpus else corpus_dir() / "flock"
    if not (root / "portals").is_dir():
        raise click.ClickException(f"no portals/ folder in {root}: set ALPR_CORPUS or --corpus")
    replay = ReplayCorpus.from_dir(root)
    seeds = replay.slugs
    click.echo(f"replaying {replay.capture_count()} captures of {len(replay.captures)} portals "
               f"(+{len(replay.specials)} recorded block/not-found pages) from {root}")
    with ReplayServer(replay) as server:
        click.echo(f"local replay server: {server.base_url}; crawling with flock_portals")
        run_id = run_flock_crawl(seeds, None, None, server.base_url, False, 1, 2000, db_path,
                                 log_level)
    _print_run(db_path, run_id)
    _demo_legistar(db_path, log_level)
    for label, parts, options in DEMO_RECORDS:
        path = corpus_dir().joinpath(*parts)
        if path.exists():
            click.echo(f"\nimporting {label} ({'/'.join(parts)})")
            click.echo(import_files(db_path, (str(path),), **options))
    click.echo("\nThe database holds:")
    for key, value in summary_counts(db_path).items():
        click.echo(f"{key:>40}: {value:,}")
    _print_statuses(db_path)
    click.echo(f"\ndatabase: {db_path}\narchive:  {archive_dir_for(db_path)}")
    if serve:
        ctx = click.get_current_context()
        ctx.invoke(globals()["serve"], db_path=db_path, host="127.0.0.1", port=port)


def _demo_legistar(db_path: str, log_level: str) -> None:
    """The Legistar spider over San Jose's recorded council meeting (corpus/apis/legistar),
    answered as the Web API would by a local replay. Scrapy's reactor runs once per process,
    so this crawl runs in a child process of the same CLI."""
    from parsers.pdf_worker import die_with_parent

    from .legistar_replay import LegistarReplayServer

    sample = corpus_dir() / "apis" / "legistar" / "legisearch_sanjose_events_with_items.json"
    if not sample.exists():
        click.echo(f"\nno Legistar sample at {sample}: skipped")
        return
    with LegistarReplayServer() as api:
        click.echo(f"\nLegistar replay of San Jose's 2017-09-12 council meeting: {api.api_base}")
        done = subprocess.run(
            [sys.executable, "-m", "alpr_inventory.cli", "crawl", "legistar", "sanjose",
             "--base-url", api.api_base, "--since", "2017-01-01", "--log-level", log_level,
             "--db", db_path], text=True, capture_output=True, preexec_fn=die_with_parent)
    click.echo(done.stdout.strip())
    if done.returncode != 0:
        raise click.ClickException(f"the Legistar crawl failed:\n{done.stderr[-2000:]}")


# ---- changes / report -------------------------------------------------------------------
def _agency_ids(db: Any, text: str) -> list[str]:
    """Agencies matching --agency: one exact match (id, slug, name as published), else every
    agency whose name or a published name contains the text."""
    from .report import AgencyNotFound, find_agency

    try:
        return [find_agency(db.conn, text)["id"]]
    except AgencyNotFound as exc:
        if not exc.candidates:
            raise click.ClickException(str(exc)) from exc
        return [aid for aid, _ in exc.candidates]


@cli.command()
@click.option("--since", help="Only changes first seen on or after this date (YYYY-MM-DD).")
@click.option("--agency", help="Only this agency (name as published, id, or part of a name): "
              "changes on its own records and on others' lists naming it.")
@click.option("--federal-only", is_flag=True,
              help="Only changes about federal grantees (resolver or Flock's [Federal] label).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--atom", "atom_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write these changes as an Atom feed to this file.")
@EXISTING_DB_OPTION
def changes(since: str | None, agency: str | None, federal_only: bool, as_json: bool,
            atom_path: str | None, db_path: str) -> None:
    """What changed between captures, each with both captures as evidence.

    Every build also writes the whole history as an Atom feed beside the database
    (<db stem>.changes.atom) for feed readers.
    """
    from .changes import atom_feed, query_changes
    from .schema import open_db

    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path} does not exist: build it first (see README)")
    db = open_db(db_path)
    ids = _agency_ids(db, agency) if agency else None
    rows = query_changes(db, since=_iso(since) if since else None, agency_ids=ids,
                         federal_only=federal_only)
    if atom_path:
        title = "alpr-inventory: changes" + (f" ({agency})" if agency else "")
        Path(atom_path).write_text(atom_feed(rows, title=title), encoding="utf-8")
    for r in rows:
        if as_json:
            click.echo(json.dumps({k: v for k, v in r.items() if v is not None},
                                  ensure_ascii=False))
            continue
        flag = " [federal]" if r["federal"] else ""
        click.echo(f"{r['before_captured_at'][:10]} -> {r['after_captured_at'][:10]}  "
                   f"{r['agency_name'] or r['agency_id']}  {r['kind']}{flag}: "
                   f"{r['raw_name'] or (str(r['old_value']) + ' -> ' + str(r['new_value']))}\n"
                   f"    {r['summary']}\n"
                   f"    evidence: before {r['before_document'][:12]}  after "
                   f"{r['after_document'][:12]}")
    if not as_json:
        click.echo(f"{len(rows)} change(s)", err=True)


@cli.command()
@click.argument("agency")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "md"]), default="html",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Where to write it ('-' for standard output, html/md only); default "
              "<agency id>-report.<format> in the current folder.")
@click.option("--archive-base", help="Base URL for links to archived documents (default: the "
              "local archive folder as file:// links).")
@EXISTING_DB_OPTION
def report(agency: str, fmt: str, output: str | None, archive_base: str | None,
           db_path: str) -> None:
    """Exposure report for one agency (AGENCY: a name as published or an agency id).

    What its portal says, who can see its data (federal and immigration bodies first, then
    out-of-state, in-state, private), whose data it can see, flagged searches, changes over
    time, the state's rules, and numbered sources with archive links. PDF is printed by the
    system Chromium (headless).
    """
    from .report import AgencyNotFound, build_report, render_html, render_markdown, render_pdf
    from .schema import open_db

    if not Path(db_path).exists():
        raise click.ClickException(f"{db_path} does not exist: build it first (see README)")
    db = open_db(db_path)
    archive = archive_dir_for(db_path)
    base = archive_base.rstrip("/") + "/" if archive_base else archive.resolve().as_uri() + "/"
    try:
        built = build_report(db.conn, agency, database=Path(db_path).name,
                             archive_href=lambda sha, path: base + path if path else None)
    except AgencyNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    if output == "-" and fmt != "pdf":
        click.echo(render_markdown(built) if fmt == "md" else render_html(built))
        return
    target = Path(output or f"{built.agency['id'].strip('-')}-report.{fmt}")
    if fmt == "md":
        target.write_text(render_markdown(built), encoding="utf-8")
    elif fmt == "html":
        target.write_text(render_html(built), encoding="utf-8")
    else:
        try:
            render_pdf(render_html(built), target, title=f"Exposure report: "
                       f"{built.agency['name']}")
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {target}")


def main() -> None:  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
