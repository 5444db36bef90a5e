"""`alpr-inventory`: crawl, import, parse, rebuild and serve the inventory."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import click

from alpr_inventory.settings import FLOCK_PORTAL_BASE, archive_dir_for, corpus_dir, default_db_path
from crawlers.registry import crawl_help
from parsers.document_dates import last_date_in_text
from parsers.names import slug_from_portal_url

DB_OPTION = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=lambda: str(default_db_path()),
    show_default="data/inventory.db", help="SQLite database to write/read.")


def agency_option(help_text: str = "Only this agency: its id, portal slug, or any name it is "
                  "published under (case-insensitive).") -> Any:
    """The one --agency option of every command that reads answers for an agency."""
    return click.option("--agency", "agency", metavar="NAME", help=help_text)


def answer_format_options(f: Any) -> Any:
    """--json and --csv, the same on every command that answers a question: JSON Lines (one
    object per answer row, for jq and pipes) or CSV (a header, then one row per answer; lists
    as JSON). Without either, the sentences for a person."""
    f = click.option("--csv", "fmt", flag_value="csv",
                     help="Print CSV: a header, then one row per answer.")(f)
    return click.option("--json", "fmt", flag_value="json",
                        help="Print JSON Lines: one object per answer row.")(f)


def emit_rows(fmt: str, rows: Iterable[Any], columns: list[str] | None = None) -> int:
    """Write answer rows (mappings) as JSON Lines or CSV to standard output; returns how many.
    CSV columns: `columns`, else every key in order of first appearance."""
    import csv

    rows = [dict(r) for r in rows]
    if fmt == "json":
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False, default=str))
        return len(rows)
    names = list(columns or {}) or list(dict.fromkeys(k for r in rows for k in r))
    if not names:  # no rows and no columns said: nothing to print
        return 0
    writer = csv.DictWriter(sys.stdout, fieldnames=names, extrasaction="ignore",
                            lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: json.dumps(v, ensure_ascii=False) if isinstance(v, list | dict)
                         else v for k, v in r.items()})
    sys.stdout.flush()
    return len(rows)


# Rows a national answer prints as text unless told otherwise (`--limit`, `--all`): a person
# reads a page, and the last line says how many more there are and how to get them. --json
# and --csv print every row (a program asked for the whole answer).
TEXT_PAGE_ROWS = 100


@dataclass(frozen=True)
class Paging:
    """Which rows of an answer to print: `limit` rows (None: all) after the first `offset`."""

    limit: int | None
    offset: int = 0

    @classmethod
    def of(cls, limit: int | None, offset: int, all_rows: bool, fmt: str | None) -> Paging:
        if all_rows and limit is not None:
            raise click.UsageError("--all prints every row; --limit prints a page: choose one")
        if all_rows or (fmt and limit is None):
            return cls(None, offset)
        return cls(limit or TEXT_PAGE_ROWS, offset)

    @property
    def sql(self) -> str:
        """The LIMIT clause (SQLite: a negative limit is no limit)."""
        return f" limit {-1 if self.limit is None else self.limit} offset {self.offset}"

    def more(self, shown: int, total: int, next_page: str, everything: str) -> str | None:
        """The last line of a page that is not the whole answer: which rows were shown, how
        many more there are and the command lines that print them (None: nothing left out)."""
        if self.offset == 0 and shown >= total:
            return None
        if shown == 0:
            return f"No rows from --offset {self.offset:,}: the answer has {total:,}."
        first, last = self.offset + 1, self.offset + shown
        after = max(total - last, 0)
        line = f"Rows {first:,}-{last:,} of {total:,}"
        if after:
            line += (f"; {after:,} more: {next_page} --offset {last} for the next page, "
                     f"{everything} for every row")
        return line + "."


def page_options(f: Any) -> Any:
    """--limit, --offset and --all, the same on every command that can print a national
    answer (thousands of rows)."""
    f = click.option("--all", "all_rows", is_flag=True,
                     help="Print every row (the default with --json and --csv).")(f)
    f = click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Skip this many rows first (the last line of a page names the "
                     "offset of the next).")(f)
    return click.option("--limit", type=click.IntRange(min=1), metavar="N",
                        help=f"Print at most N rows (default: {TEXT_PAGE_ROWS} as text, with a "
                        "last line saying how many more and how to get them; every row with "
                        "--json or --csv).")(f)


def _command_line(*words: str | None) -> str:
    """A command line to show a user, the agency or state quoted when needed."""
    import shlex

    return "alpr-inventory " + " ".join(shlex.quote(w) for w in words if w)


ARCHIVE_BASE_URL_OPTION = click.option(
    "--archive-base-url", "--archive-base", "archive_base", envvar="ALPR_ARCHIVE_BASE_URL",
    metavar="URL", help="Where the archive is published (archive paths are appended, e.g. "
    "https://example.org/archive/ab/cd/<sha256>); default: links relative to the report file, "
    "never file:// addresses of this machine. Env: ALPR_ARCHIVE_BASE_URL.")


def _archive_links(archive: Path, archive_base: str | None, output: str | None, fmt: str,
                   target: Path) -> Callable[[str, str | None], str | None]:
    """How a written report or brief links its archived documents: under the published
    archive's base URL, else relative to the written file; never a file:// address of this
    machine (on standard output or in a PDF, with no base URL, the SHA-256 says it)."""
    if archive_base:
        base = archive_base.rstrip("/") + "/"
        return lambda sha, path: base + path if path else None
    if output == "-" or fmt == "pdf":
        return lambda sha, path: None
    here = target.resolve().parent
    return lambda sha, path: (Path(os.path.relpath(archive / path, here)).as_posix()
                              if path else None)


def lookup_agency(db: Any, text: str) -> dict[str, Any]:
    """The agency a user named (id, slug, any published name or alias), or a usage error
    listing the candidates or closest names (exit status 1)."""
    from alpr_inventory.serve.lookup import AgencyNotFound, find_agency

    try:
        return find_agency(db.conn if hasattr(db, "conn") else db, text)
    except AgencyNotFound as exc:
        raise click.ClickException(str(exc)) from exc


def _existing_db(db_path: str) -> Any:
    """The database, with its stored answers (a database built by an older version gets them
    derived once, and says so)."""
    store = _open_store(db_path)
    if store.ensure_answers():
        click.echo("derived the stored answers (data_access, agency_lookup, ...) this database "
                   "did not have yet", err=True)
    return store.db


def _existing_db_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Commands that only read refuse a database that is not there (a typo would otherwise
    create an empty one and print zeros)."""
    if not Path(value).is_file():
        raise click.BadParameter(f"no database at {value}: build one first (alpr-inventory "
                                 "demo, import or crawl) or give the right --db")
    return value


EXISTING_DB_OPTION = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), default=lambda: str(default_db_path()),
    show_default="data/inventory.db", callback=_existing_db_path,
    help="SQLite database to read (it must exist).")


def _open_store(db_path: str):  # imported lazily: `--help` should not load Scrapy or lxml
    from alpr_inventory.load.ingest import Store
    from alpr_inventory.store.archive import Archive
    from alpr_inventory.store.schema import open_db

    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    return Store(open_db(db_path), Archive(archive_dir_for(db_path)))


@click.group()
@click.version_option(package_name="alpr-inventory")
def cli() -> None:
    """Who can see an agency's plate-reader data, and which of them are federal agencies.

    Every fact comes from a public document that is archived by its SHA-256.
    """


# ---- crawl ------------------------------------------------------------------------------
def _shard_option(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from crawlers.shards import parse_shard

    try:
        shard = parse_shard(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    return str(shard) if shard else None


def _crawl_db(db_path: str) -> str:
    """The database a crawl writes: the node's (crawl --node-dir) or --db."""
    ctx = click.get_current_context(silent=True)
    group = (ctx.find_object(dict) if ctx is not None else None) or {}
    if group.get("node_dir"):
        from alpr_inventory.settings import node_db_path

        return str(node_db_path(group["node_dir"]))
    return db_path


@cli.group(help=crawl_help())
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds to wait for one download (default: 60 for live sites, 30 for a "
              "local replay). A request that takes longer is retried, then recorded as a "
              "failure (crawl_failures).")
@click.option("--max-size", "max_size", type=click.FloatRange(min=0, min_open=True),
              default=None,
              help="Largest body accepted, in MB (default 32); a larger one is not stored and "
              "is recorded as a failure (too_large).")
@click.option("--no-retry", is_flag=True,
              help="Do not crawl again the seeds that failed in earlier runs (by default every "
              "run adds the seeds with a failure in crawl_failures that no later run answered).")
@click.option("--shard", callback=_shard_option, metavar="I/N",
              help="Crawl only shard I of N: the seeds whose host hashes to I (every host in "
              "exactly one shard, the same on every machine; see Running on several machines "
              "in the README).")
@click.option("--node-dir", type=click.Path(file_okay=False), default=None,
              help="This node's own folder: the database (fetches, runs, failures) and the "
              "archive go to DIR/inventory.db and DIR/archive (instead of --db), for "
              "`alpr-inventory merge`.")
@click.pass_context
def crawl(ctx: click.Context, timeout: float | None, max_size: float | None,
          no_retry: bool, shard: str | None, node_dir: str | None) -> None:
    ctx.obj = {"timeout": timeout, "max_size": max_size, "retry_failed": not no_retry,
               "shard": shard, "node_dir": node_dir}


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
@click.option("--failed-only", is_flag=True,
              help="Crawl only the slugs that failed in earlier runs and were not fetched "
              "since (crawl_failures); no SLUGS needed.")
@click.option("--contact", envvar="ALPR_CONTACT",
              help="Your email or URL, sent in the User-Agent so site operators can reach you "
              "(env ALPR_CONTACT; required for live sites).")
@click.option("--log-level", default="INFO", show_default=True)
@DB_OPTION
def crawl_flock_portals(slugs: tuple[str, ...], seeds_file: str | None, state: str | None,
                        base_url: str, browser: bool | None, discover_depth: int,
                        max_discovered: int, failed_only: bool, contact: str | None,
                        log_level: str, db_path: str) -> None:
    """Crawl Flock transparency portals: SLUGS given, a --seeds file, and discovery."""
    if not slugs and not seeds_file and not failed_only:
        raise click.UsageError("give one or more SLUGS or --seeds FILE (or --failed-only to "
                               "crawl again the slugs that failed before)")
    if failed_only and (slugs or seeds_file):
        raise click.UsageError("--failed-only crawls the slugs that failed before: give no "
                               "SLUGS or --seeds with it")
    run_id = run_flock_crawl(list(slugs), seeds_file, state, base_url, browser, discover_depth,
                             max_discovered, db_path, log_level, contact,
                             failed_only=failed_only)
    _print_run(db_path, run_id)


def run_flock_crawl(slugs: list[str], seeds_file: str | None, state: str | None, base_url: str,
                    browser: bool | None, discover_depth: int, max_discovered: int,
                    db_path: str, log_level: str = "INFO",
                    contact: str | None = None, failed_only: bool = False) -> int | None:
    """Run the flock_portals spider in this process; returns the run id."""
    from crawlers.spiders.flock_portals import FlockPortalsSpider

    if browser is None:
        browser = base_url.startswith(FLOCK_PORTAL_BASE)
    return run_spider(FlockPortalsSpider, base_url, browser, db_path, log_level, contact,
                      slugs=slugs, seeds_file=seeds_file, state=state,
                      discover_depth=discover_depth, max_discovered=max_discovered,
                      failed_only=failed_only)


def run_spider(spider_cls: Any, base_url: str, browser: bool, db_path: str, log_level: str,
               contact: str | None, **spider_args: Any) -> int | None:
    """Run one spider in this process with the project settings; returns the run id."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.utils.project import get_project_settings

    from crawlers.settings import crawl_settings

    db_path = _crawl_db(db_path)
    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawlers.settings")
    settings = get_project_settings()
    ctx = click.get_current_context(silent=True)
    group = (ctx.find_object(dict) if ctx is not None else None) or {}  # `crawl` options
    try:
        settings.setdict(crawl_settings(base_url, browser, db_path, log_level, contact,
                                        spider_cls.name, group.get("timeout"),
                                        group.get("max_size")), priority="cmdline")
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spider_cls)
    crawler.alpr_progress = CrawlProgress(crawler)  # kept alive with the crawler
    if group.get("shard"):
        spider_args["shard"] = group["shard"]
    process.crawl(crawler, base_url=base_url, browser=browser,
                  retry_failed=group.get("retry_failed", True), **spider_args)
    process.start()
    return getattr(crawler.spider, "run_id", None)


class CrawlProgress:
    """Pages fetched out of requests scheduled so far, on stderr every few seconds while a
    crawl runs (whatever the log level), and once at the end."""

    EVERY_S = 3.0

    def __init__(self, crawler: Any):
        from scrapy import signals

        self.crawler = crawler  # its stats exist once the crawl starts
        self.name = crawler.spidercls.name
        self.shown: tuple[int, int] | None = None
        self.loop: Any = None
        crawler.signals.connect(self.started, signal=signals.engine_started)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    def started(self) -> None:
        from twisted.internet import task  # once the crawl has installed its reactor

        self.began = datetime.now(UTC)
        self.loop = task.LoopingCall(self.show)
        self.loop.start(self.EVERY_S, now=False)

    def show(self, final: bool = False) -> None:
        stats = self.crawler.stats
        done = int(stats.get_value("downloader/response_count", 0))
        queued = int(stats.get_value("scheduler/enqueued", 0))
        if (done, queued) == self.shown and not final:
            return
        self.shown = (done, queued)
        took = (datetime.now(UTC) - self.began).total_seconds() if hasattr(self, "began") else 0
        click.echo(f"  {self.name}: {done}/{max(done, queued)} pages "
                   f"({took:.0f} s){', done' if final else ''}", err=True)

    def closed(self, spider: Any, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.show(final=True)


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
    from alpr_inventory.store.schema import open_db

    db_path = _crawl_db(db_path)
    if run_id is None:
        raise click.ClickException("the crawl did not start (see the log above)")
    db = open_db(db_path)
    row = db["runs"].get(run_id)
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
    if row["seeds"] is not None:
        reasons = ", ".join(f"{r['reason']} {r['n']}" for r in db.query(
            "select reason, count(*) as n from crawl_failures where run_id = ? group by reason "
            "order by n desc, reason", [run_id]))
        click.echo(f"  {row['seeds']} seeds = {row['seeds_fetched']} fetched + "
                   f"{row['seeds_failed']} failed; {row['failures']} failures recorded"
                   + (f" ({reasons})" if reasons else ""))
        if row["failures"]:
            click.echo("  Failures are in the table crawl_failures (Datasette: 'Crawl failures "
                       "still to be retried'); the next run of this spider crawls their seeds "
                       "again.")
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
    # no date given: the audit's file name ends its period on 2025-12-08, the sharing report's
    # own title is 'SharedNetworks_2025_December_29.csv', the contract scan has no date (the
    # import says so)
    ("Okaloosa County FL SO's records release (audit PDF, sharing report, contract scan)",
     ("records", "okaloosa_fl_so"), {}),
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
    # ODbL 1.0, (c) OpenStreetMap contributors; the exports' own meta.generated_at dates them
    ("OpenStreetMap ALPR camera nodes (alpr-sync-usa snapshot, 5 states)",
     ("apis", "osm_deflock", "alpr-sync-usa_gh-pages"), {}),
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
    """Where an imported file came from and when it was captured, as far as the user or the
    file's name says. Without either, the basis is `import` (the time of the import): the
    ingest replaces it with a date the document gives about itself when it has one, and the
    import says which it used. A file's modification time is not used: copies reset it."""
    if captured_at:
        when, basis = _iso(captured_at), "given"
    elif when := last_date_in_text(path.name):
        basis = "filename"
    else:
        when, basis = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "import"
    slug = None
    url_basis = "given" if url else None
    if not url and (m := SAVED_FROM.search(body[:4096])):
        url, url_basis = m.group(1).decode("latin-1"), "saved_from"
    if url and url.startswith(FLOCK_PORTAL_BASE):
        slug = slug_from_portal_url(url)
    if not url and re.fullmatch(r"\d{4}-\d{2}-\d{2}", path.stem):  # <slug>/<YYYY-MM-DD>.html
        slug = path.parent.name
        url, url_basis = FLOCK_PORTAL_BASE + slug, "folder"
    return {"url": url or path.resolve().as_uri(), "captured_at": when,
            "captured_at_basis": basis, "requested_slug": slug,
            "url_basis": url_basis or "file"}


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
              "in the file name, else a date the document gives about itself (a report's date "
              "or title, a page's 'Last Updated'), else the time of the import (said so).")
@click.option("--url", callback=_http_url,
              help="Portal URL the page was saved from, http(s) only (default: from the page's "
              "'saved from' comment, a <slug>/<date>.html layout, or the agency name the page "
              "shows when that portal is already known).")
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
    """Pages parsed so far in a big PDF, on one updating stderr line (a line each in a log)."""
    if sys.stderr.isatty():
        click.echo(f"\r  PDF pages parsed: {done}/{total}", err=True, nl=done >= total)
    else:
        click.echo(f"  PDF pages parsed: {done}/{total}", err=True)


@contextmanager
def _file_progress(files: list[Path], label: str) -> Iterator[Iterable[Path]]:
    """A progress bar with the current file on a terminal; elsewhere (a log, a pipe), a line
    every few seconds, so a long import never goes quiet."""
    if sys.stderr.isatty():
        with click.progressbar(files, label=label, file=sys.stderr, show_pos=True,
                               item_show_func=lambda p: p.name if p else None) as bar:
            yield bar
        return

    now: dict[str, Any] = {"done": 0, "name": "", "since": time.monotonic()}
    stop = threading.Event()

    def tick() -> None:  # also while one long file (a big PDF) is being read
        while not stop.wait(CrawlProgress.EVERY_S):
            click.echo(f"  {label}: {now['done']}/{len(files)} done, now {now['name']} "
                       f"({time.monotonic() - now['since']:.0f} s on it)", err=True)

    def lines() -> Iterator[Path]:
        for done, path in enumerate(files):
            now.update(done=done, name=path.name, since=time.monotonic())
            yield path

    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield lines()
    finally:
        stop.set()
        ticker.join()


def import_files(db_path: str, paths: tuple[str, ...], captured_at: str | None = None,
                 url: str | None = None, agency: str | None = None,
                 sharing_list: str | None = None) -> str:
    """Import files through the one ingest path, as one recorded run; returns a summary.

    Files are parsed several at a time in worker processes (each under a time and memory
    limit) and loaded in order; a file that fails gets its status and the next one goes on.
    """
    from alpr_inventory.load.ingest import Fetched, utc_now

    walk = _iter_files(paths)
    files = walk.files
    store = _open_store(db_path)
    store.progress = _page_progress
    run_id = store.start_run("import", {"paths": list(paths), "captured_at": captured_at,
                                        "url": url, "agency": agency})
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    searches: Counter[str] = Counter()
    dated: Counter[str] = Counter()
    located: Counter[str] = Counter()
    problems: list[str] = []
    undated: list[str] = []
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
                dated[_date_words(result)] += 1
                if result.captured_at_basis == "import":
                    undated.append(_shown(path))
                if result.doc_type == "flock_portal" and result.url_basis not in (None, "given"):
                    located[(result.url_basis or "file").split(":")[0]] += 1
                if result.encoding and result.encoding not in ("utf-8", "utf-8-sig"):
                    notes.append(f"{_shown(path)}: text read as {result.encoding}")
                if result.parse_status not in ("ok", "ok_with_warnings"):
                    reason = store.db["documents"].get(result.sha256)["parse_error"]
                    # partial pages too: what was read is loaded, the reason says what was not
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
                      ("ok", "ok_with_warnings", "partial", "blocked", "not_found")),
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
    lines.append("dates: " + "; ".join(f"{n} {w}" for w, n in sorted(dated.items())))
    if undated:
        lines.append(f"{len(undated)} file(s) dated by the time of this import (no date in the "
                     "file name or the document; re-import with --captured-at to say when it "
                     "was captured): " + ", ".join(undated[:5])
                     + (f" and {len(undated) - 5} more" if len(undated) > 5 else ""))
    if located:
        lines.append("portal URLs: " + ", ".join(
            f"{n} {URL_WORDS.get(k, k)}" for k, n in sorted(located.items())))
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


URL_WORDS = {"saved_from": "from the page's 'saved from' comment",
             "folder": "from the <slug>/<date>.html folder",
             "page": "from the agency name the page shows (a portal already known)",
             "file": "not known (the page's agency is not a known portal: give --url)"}


def _date_words(result: Any) -> str:
    """How one imported file was dated, in words."""
    basis = result.captured_at_basis
    when = (result.captured_at or "")[:10]
    if basis == "document":
        return f"dated from the document ({result.date_source}, {when})"
    return {"given": "dated as given (--captured-at)",
            "filename": "dated by the date in the file name",
            "import": "dated by the time of the import (the document gives no date)",
            }.get(basis, f"dated by {basis}")


@cli.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default output).")
@click.option("--full", is_flag=True,
              help="Print every item of long lists (audit rows, sheet rows, report rows); "
                   "portal pages are always printed in full.")
@click.option("--sharing-list", type=click.Choice(["inbound", "outbound"]),
              help="Read the file as a released sharing list (with --agency), as `import` does.")
@click.option("--agency", help="Whose list or audit export it is (as for `import`).")
@DB_OPTION
def parse(file: str, as_json: bool, full: bool, sharing_list: str | None, agency: str | None,
          db_path: str) -> None:
    """Print what the parsers extract from one document, without touching the database.

    Every parser's own fields are printed: portal pages of each layout (names as published,
    the page's self-check, names re-joined), audit exports (plates never shown), sharing
    reports and workbooks, Vigilant reports, 287(g) sheets, agreement PDFs (parties, model,
    dates, provisions). Long lists of documents other than portal pages are cut to their first
    items unless --full; `truncated` gives their full lengths.

    (--db is accepted like everywhere else and ignored: nothing is written.)
    """
    from alpr_inventory.load.ingest import (
        PARSE_MEMORY_MB,
        PARSE_TIMEOUT_S,
        _declared_list,
        interpret,
    )
    from alpr_inventory.serve.extraction import interpretation_json
    from parsers.pdf.pdf_worker import PdfJobError, WorkerPool

    body = Path(file).read_bytes()
    if sharing_list:
        interp = _declared_list(body, sharing_list, agency)
    else:
        # the parsers run in a worker under the same limits as on import (a forked worker, as
        # on import: the PDF parsers start processes of their own); no plate hasher: plates
        # are dropped
        with WorkerPool(interpret, timeout_s=PARSE_TIMEOUT_S, memory_mb=PARSE_MEMORY_MB) as pool:
            (outcome,) = pool.imap([(body, None, None, None, None, False, file)])
        if isinstance(outcome, PdfJobError):
            raise click.ClickException(f"{file}: the parser was stopped: {outcome}")
        interp = outcome.value
    out = interpretation_json(interp, full=full)
    click.echo(json.dumps(out, indent=2, ensure_ascii=False, default=str))
    if interp.page is None and interp.verdict.kind == "flock_portal":
        sys.exit(1)




@cli.command()
@EXISTING_DB_OPTION
@click.option("--all", "everything", is_flag=True,
              help="Rebuild every fact from every archived document, not only the documents "
              "read by an older parser version.")
def reparse(db_path: str, everything: bool) -> None:
    """Read again, offline from the archive, the documents whose parser's version changed."""
    store = _open_store(db_path)
    if not everything and not store.outdated_documents():
        store.close()
        click.echo("nothing to reparse: every document was read by the current version of its "
                   "parser (--all rebuilds every fact anyway)")
        return
    run_id = store.start_run("reparse", {"all": everything})
    try:
        stats = (store.reparse_all if everything else store.reparse_outdated)(progress=True)
    except BaseException as exc:
        store.finish_run(run_id, "failed", f"{type(exc).__name__}: {exc}", {})
        store.close()
        raise
    store.finish_run(run_id, "finished", "finished",
                     {"pages": sum(stats.values()), "errors": stats["missing_from_archive"]})
    store.close()
    click.echo("reparsed: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.items())))


@cli.command()
@click.argument("node_dirs", nargs=-1, required=True,
                type=click.Path(exists=True, file_okay=False))
@DB_OPTION
def merge(node_dirs: tuple[str, ...], db_path: str) -> None:
    """Merge crawl nodes' folders (NODE_DIRS: what `crawl --node-dir` or Scrapyd jobs with
    node_dir wrote) into one database, then rebuild every fact from the merged archive.

    Runs, fetches (with their fetched_at, captured_at and sha256), failures and crawl state
    keep their provenance (merged_runs says which node and run each came from); the bytes are
    checked against their hash. Merging the same folders again adds nothing."""
    from alpr_inventory.load.merge import MergeError, merge_nodes, summary

    store = _open_store(db_path)
    try:
        merged, stats = merge_nodes(store, node_dirs, progress=True,
                                    say=lambda text: click.echo(text, err=True))
    except MergeError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        store.close()
    click.echo(summary(merged, stats))
    if any(m.missing for m in merged) or stats["missing_from_archive"]:
        raise click.ClickException("some documents were missing from an archive (see above)")


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

    from alpr_inventory.resolve.resolver import Resolver

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


def _evidence(docs_json: str | None, n: int = 3) -> str:
    docs = json.loads(docs_json or "[]")
    more = f" +{len(docs) - n}" if len(docs) > n else ""
    return ", ".join(d[:12] for d in docs[:n]) + more


@cli.command()
@click.option("--federal", is_flag=True, help="Only federal bodies that can see someone's data.")
@agency_option("Only this data owner (its id, portal slug or any name it is published under).")
@click.option("--state", "state_code", help="Only data owners in this state (two letters).")
@page_options
@answer_format_options
@EXISTING_DB_OPTION
def agencies(federal: bool, agency: str | None, state_code: str | None, limit: int | None,
             offset: int, all_rows: bool, fmt: str | None, db_path: str) -> None:
    """Who can see whose data now, per data owner (agency_exposure); with --federal, every
    federal body that can see someone's data (federal_access), with dates and evidence.

    As text, a page of rows (--limit, default 100) ending with how many more there are and the
    --offset of the next page; --all, --json and --csv print every row."""
    db = _existing_db(db_path)
    paging = Paging.of(limit, offset, all_rows, fmt)
    owner = lookup_agency(db, agency) if agency else None
    where, params = ["1 = 1"], []
    if owner:
        where.append("data_owner_id = ?")
        params.append(owner["id"])
    if state_code:
        where.append("owner_state = ?")
        params.append(state_code.strip().upper())
    relation = "federal_access" if federal else "agency_exposure"
    total = db.execute(f"select count(*) from {relation} where " + " and ".join(where),
                       params).fetchone()[0]
    more = paging.more  # the last line of a page: the same command with --offset or --all
    again = ["agencies", "--federal" if federal else None, "--agency" if agency else None,
             agency, "--state" if state_code else None, state_code]
    if federal:
        rows = list(db.query(
            "select data_owner, federal_grantee, component, immigration, current, first_seen, "
            "last_seen, newest_source, evidence_documents from federal_access where "
            + " and ".join(where) + " order by immigration desc, data_owner, federal_grantee"
            + paging.sql, params))
        if fmt:
            emit_rows(fmt, ({**r, "evidence_documents": json.loads(r["evidence_documents"]
                                                                   or "[]")} for r in rows))
            return
        for r in rows:
            flag = " [immigration enforcement]" if r["immigration"] else ""
            component = "" if f"({r['component']})" in r["federal_grantee"] else (
                f" ({r['component']})")
            now = "" if r["current"] else " (history: not in the newest list)"
            click.echo(f"{r['data_owner']}: {r['federal_grantee']}{component}{flag}{now}, "
                       f"seen {r['first_seen'][:10]}..{r['last_seen'][:10]} "
                       f"[{r['newest_source']}] evidence {_evidence(r['evidence_documents'])}")
        if not total:
            click.echo("No list in this database shows a federal body able to see "
                        f"{owner['name']}'s data." if owner else
                        "No list in this database shows a federal body able to see anyone's "
                        "data.")
        elif line := more(len(rows), total, _command_line(*again),
                          _command_line(*again, "--all")):
            click.echo(line)
        return
    rows = list(db.query(
        "select * from agency_exposure where " + " and ".join(where)
        # the exposure query's order (its index: schema.ORDER_INDEXES)
        + " order by immigration_bodies desc, federal desc, ice_287g desc, out_of_state desc, "
        "grantees desc, data_owner" + paging.sql,
        params))
    if fmt:
        emit_rows(fmt, rows)
        return
    for r in rows:
        newest = (f"newest own list: {r['newest_list_source']} {r['newest_list_at'][:10]}, "
                  f"{r['newest_list_names']} names" if r["newest_list_at"] else
                  "no list of its own; from other agencies' lists")
        click.echo(f"{r['data_owner']} ({r['owner_state'] or '?'}): {r['grantees']} can see its "
                   f"data now; {r['federal']} federal, {r['immigration_bodies']} immigration, "
                   f"{r['ice_287g']} with 287(g) agreements, {r['out_of_state']} out of state, "
                   f"{r['state_unknown']} state not known; {r['history_only']} only in older "
                   f"lists ({newest})")
    if owner and not total:
        click.echo(f"No list in this database names organisations that can see "
                   f"{owner['name']}'s data ({owner['id']}).")
    elif line := more(len(rows), total, _command_line(*again), _command_line(*again, "--all")):
        click.echo(line)


@cli.command()
@click.option("--review", is_flag=True, help="Only what the documents could not settle: data "
              "owners whose name has no state (owners_to_review).")
@agency_option("Only links to or from this agency.")
@answer_format_options
@DB_OPTION
def links(review: bool, agency: str | None, fmt: str | None, db_path: str) -> None:
    """How names without a state were tied to one agency by what their documents say, each
    with its rule (agency_links); --review lists the owners left for a person to decide."""
    db = _existing_db(db_path)
    owner = lookup_agency(db, agency) if agency else None
    if review:
        rows = list(db.query("select * from owners_to_review order by name, raw_name"))
        if owner:
            rows = [r for r in rows if owner["id"] in (r["agency_id"], r["named_by"])]
        if fmt:
            emit_rows(fmt, rows)
            return
        grouped: dict[tuple[str, str, str, str], list[str]] = {}
        for r in rows:  # one line per name and reason, with the lists that name it
            key = (r["name"], r["agency_id"], r["raw_name"], r["why"])
            grouped.setdefault(key, []).append(r["named_by"] or "")
        for (name, agency_id, raw, why), scopes in grouped.items():
            named = [x for x in scopes if x]
            where = (f" in the lists of {', '.join(named[:4])}"
                     + (f" and {len(named) - 4} more" if len(named) > 4 else "")) if named else ""
            click.echo(f"{name} ({agency_id}): '{raw}'{where}: {why}")
        click.echo(f"{len({r['agency_id'] for r in rows})} data owner(s) to review", err=True)
        return
    sql = ("select kind, raw_name, from_id, to_id, scope_id, state, rule from agency_links "
           "where status = 'linked'")
    params: list[str] = []
    if owner:
        sql += " and (to_id = ? or from_id = ? or scope_id = ?)"
        params = [owner["id"]] * 3
    rows = list(db.query(sql + " order by kind, raw_name, scope_id", params))
    if fmt:
        emit_rows(fmt, rows)
        return
    for r in rows:
        where = f" in {r['scope_id']}'s list" if r["scope_id"] else ""
        click.echo(f"{r['kind']}: '{r['raw_name']}'{where} -> {r['to_id']}  ({r['rule']})")
    click.echo(f"{len(rows)} link(s)", err=True)


def _echo_dmv_access(db: Any, code: str) -> None:
    """The compact per-component block of `state`: current state_dmv_access rows, claims first,
    then the unknown cells in one line, then the size of the timeline."""
    if not db["state_dmv_access"].exists():
        return
    from alpr_inventory.resolve.state_dmv_access import CHANNELS, COMPONENTS

    rows = sorted(db.query(
        "select component, channel, access, since, as_of, basis, source_ids from "
        "state_dmv_access where state = ? and current = 1", [code]),
        key=lambda r: (CHANNELS.index(r["channel"]) if r["channel"] in CHANNELS else 99,
                       COMPONENTS.index(r["component"]) if r["component"] in COMPONENTS else 99))
    if not rows:
        return
    click.echo("\nWho can query its DMV data (data/state_dmv_access.csv; unknown is not no):")
    unknown = []
    for r in rows:
        where = f"{r['component']} via {r['channel']}"
        if r["access"] == "unknown":
            unknown.append(f"{where} ({r['basis']})")
            continue
        since = f" since {r['since']}" if r["since"] else ""
        ids = ", ".join(json.loads(r["source_ids"] or "[]"))
        click.echo(f"  {where}: {r['access']}{since} (as of {r['as_of']}; {r['basis']}) [{ids}]")
    if unknown:
        click.echo(f"  unknown: {'; '.join(unknown)}")
    n_events = db.execute("select count(*) from state_policy_events where state = ?",
                          [code]).fetchone()[0]
    click.echo(f"  timeline: {n_events} dated events for {code} in state_policy_events "
               "(plus national ones, state US)")


def _state_rows(db: Any, code: str, policy: dict[str, Any], owner: dict[str, Any] | None
                ) -> list[dict[str, Any]]:
    """What `state` says, as rows with a `section` (policy, dmv_access, federal_access,
    partners_287g, agreement, federal_searches) for --json and --csv."""
    only = " and data_owner_id = ?" if owner else ""
    params: list[Any] = [code] + ([owner["id"]] if owner else [])
    rows: list[dict[str, Any]] = [{"section": "policy", **policy}]
    if db["state_dmv_access"].exists():
        rows += [{"section": "dmv_access", **r} for r in db.query(
            "select component, channel, access, since, as_of, basis, source_ids from "
            "state_dmv_access where state = ? and current = 1 order by channel, component",
            [code])]
    rows += [{"section": "federal_access", **r, "evidence_documents": json.loads(
        r["evidence_documents"] or "[]")} for r in db.query(
        "select data_owner, data_owner_id, federal_grantee, component, immigration, current, "
        "first_seen, last_seen, newest_source, evidence_documents from federal_access "
        "where owner_state = ?" + only + " order by immigration desc, data_owner, "
        "federal_grantee", params)]
    rows += [{"section": "partners_287g", **r} for r in db.query(
        "select data_owner, data_owner_id, grantees, ice_287g, ice_287g_grantees, "
        "newest_list_source, newest_list_at from agency_exposure where owner_state = ? and "
        "ice_287g > 0" + only + " order by ice_287g desc, data_owner", params)]
    rows += [{"section": "agreement", **r} for r in db.query(
        "select a.agency, a.agency_id, a.model, a.signed, a.first_listed, a.last_listed, "
        "a.on_newest_participating, a.on_newest_pending, (select count(*) from data_access d "
        "where d.grantee_id = a.agency_id and d.current = 1) as can_see from agreements a "
        "where a.state = ?" + (" and a.agency_id = ?" if owner else "")
        + " order by a.agency, a.model", params)]
    rows += [{"section": "federal_searches", **r} for r in db.query(
        "select a.name, a.id as agency_id, count(*) as searches from searches s join agencies a "
        "on a.id = s.searching_agency_id where s.federal_searcher = 1 and a.state = ?"
        + (" and a.id = ?" if owner else "") + " group by 1, 2 order by 3 desc", params)]
    return rows


@cli.command()
@click.argument("state")
@agency_option("Only this agency's rows (its id, portal slug or any published name; not for "
               "the brief).")
@click.option("--format", "brief_fmt", type=click.Choice(["text", "html", "pdf", "md", "json"]),
              default="text", show_default=True,
              help="text: the summary below; html, pdf, md, json: the state brief, a "
              "self-contained document with numbered sources and charts.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Where to write the brief ('-' for standard output, not for pdf); default "
              "<ST>-brief.<format> in the current folder.")
@ARCHIVE_BASE_URL_OPTION
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help=f"Print at most N rows of each list as text (default {TEXT_PAGE_ROWS}; each "
              "list that goes on says how many more and which command pages through it).")
@click.option("--all", "all_rows", is_flag=True,
              help="Print every row of every list (the default with --json and --csv).")
@answer_format_options
@EXISTING_DB_OPTION
def state(state: str, agency: str | None, brief_fmt: str, output: str | None,
          archive_base: str | None, limit: int | None, all_rows: bool, fmt: str | None,
          db_path: str) -> None:
    """One state's picture: its policies (with sources), then the agencies in the database whose
    data federal bodies or 287(g) partners of ICE can see, its 287(g) agreements and federal
    searches.

    With --format html|pdf|md|json, the state brief: who can query its DMV data (ICE, HSI, CBP,
    through Nlets and direct DMV access) since when, its dated timeline, DMV agreements and Nlets
    documents imported, the agencies whose plate-reader data federal or immigration bodies can
    see now, out-of-state sharing against the state's law, 287(g) agreements, flagged searches,
    what is unknown, and numbered sources. PDF is printed by the system Chromium (headless).
    """
    code = state.strip().upper()
    db = _existing_db(db_path)
    if brief_fmt != "text":
        if fmt:
            raise click.UsageError("--json/--csv print the summary's rows; --format "
                                   f"{brief_fmt} writes the brief: choose one")
        _write_state_brief(db, code, brief_fmt, output, archive_base, db_path)
        return
    owner = lookup_agency(db, agency) if agency else None
    policy = db.execute("select * from state_policies where state = ?", [code]).fetchone()
    if policy is None:
        raise click.ClickException(f"no state {code!r} in data/state_policies.csv")
    row = dict(zip([d[0] for d in db.execute("select * from state_policies limit 0").description],
                   policy, strict=True))
    if fmt:
        emit_rows(fmt, _state_rows(db, code, row, owner))
        return
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
    _echo_dmv_access(db, code)

    only = " and data_owner_id = ?" if owner else ""
    params: list[Any] = [code] + ([owner["id"]] if owner else [])
    paging = Paging.of(limit, 0, all_rows, None)
    named = ["--agency", agency] if agency else []

    everything = _command_line("state", code, *named, "--all")

    def say_more(shown: int, total: int, *command: str | None) -> None:
        """Each list ends, when cut, with how many more and the command that pages it."""
        if shown < total:
            click.echo(f"  ... {total - shown:,} more of {total:,}: {_command_line(*command)} "
                       f"--offset {shown} for the next page, or {everything}")

    # one read of the state's federal rows gives the counts and the page (a state has
    # hundreds, not millions: reading them twice was half of this command's time)
    cur = db.execute(
        "select data_owner_id, data_owner, federal_grantee, component, immigration, current, "
        "first_seen, last_seen, newest_source, evidence_documents from federal_access "
        "where owner_state = ?" + only + " order by immigration desc, data_owner, "
        "federal_grantee", params)
    columns = [d[0] for d in cur.description]
    every_fed = [dict(zip(columns, values, strict=True)) for values in cur]
    n_fed = len(every_fed)
    owners = len({r["data_owner_id"] for r in every_fed})
    immigration = len({r["data_owner_id"] for r in every_fed if r["immigration"]})
    fed = every_fed if paging.limit is None else every_fed[:paging.limit]
    click.echo(f"\nAgencies whose data federal bodies can see: {owners} "
               f"({immigration} with immigration-enforcement bodies among them)")
    for r in fed:
        flag = " [immigration enforcement]" if r["immigration"] else ""
        now = "" if r["current"] else "; history, not in the newest list"
        click.echo(f"  {r['data_owner']}: {r['federal_grantee']}{flag} "
                   f"({r['first_seen'][:10]}..{r['last_seen'][:10]}, {r['newest_source']}{now}; "
                   f"evidence {_evidence(r['evidence_documents'])})")
    say_more(len(fed), n_fed, "agencies", "--federal", "--state", code, *named)
    n_partners = db.execute("select count(*) from agency_exposure where owner_state = ? and "
                            "ice_287g > 0" + only, params).fetchone()[0]
    partners = list(db.query(
        "select data_owner, grantees, ice_287g, ice_287g_grantees, newest_list_source, "
        "newest_list_at from agency_exposure where owner_state = ? and ice_287g > 0"
        + only + " order by ice_287g desc, data_owner" + paging.sql, params))
    click.echo(f"\nAgencies whose data agencies with 287(g) agreements with ICE can see: "
               f"{n_partners}")
    for r in partners:
        names = (r["ice_287g_grantees"] or "").split("; ")
        more = f"; and {len(names) - 8} more (alpr-inventory report)" if len(names) > 8 else ""
        click.echo(f"  {r['data_owner']}: {r['ice_287g']} of the {r['grantees']} agencies that "
                   f"can see its data have 287(g) agreements with ICE: "
                   f"{'; '.join(names[:8])}{more}")
    if len(partners) < n_partners:
        click.echo(f"  ... {n_partners - len(partners):,} more of {n_partners:,}: "
                   f"{everything}")
    agreements = list(db.query(
        "select a.agency, a.agency_id, a.model, a.signed, a.first_listed, a.last_listed, "
        "a.on_newest_participating, a.on_newest_pending, "
        "(select count(*) from data_access d where d.grantee_id = a.agency_id "
        "and d.current = 1) as can_see "
        "from agreements a where a.state = ?" + (" and a.agency_id = ?" if owner else "")
        + " order by a.agency, a.model", params))
    click.echo(f"\n287(g) agreements listed: {len(agreements)}")
    for r in agreements:
        status = ("participating" if r["on_newest_participating"] else
                  "pending" if r["on_newest_pending"] else "no longer listed")
        sees = (f"; can see the data of {r['can_see']} agencies in this database"
                if r["can_see"] else "")
        click.echo(f"  {r['agency']} ({r['model']}): {status}; signed {r['signed'] or '?'}; "
                   f"listed {r['first_listed']}..{r['last_listed']}{sees}")
    searches = list(db.query(
        "select a.name, count(*) n from searches s join agencies a on a.id = s.searching_agency_id "
        "where s.federal_searcher = 1 and a.state = ?" + (" and a.id = ?" if owner else "")
        + " group by 1 order by 2 desc", params))
    click.echo(f"\nFederal agencies in {code} with searches in audit logs: {len(searches)}")
    for r in searches:
        click.echo(f"  {r['name']}: {r['n']} searches")
    click.echo(f"\nThe state brief (timeline, DMV documents, what is unknown, numbered sources): "
               f"alpr-inventory state {code} --format html|pdf|md|json")


def _write_state_brief(db: Any, code: str, fmt: str, output: str | None,
                       archive_base: str | None, db_path: str) -> None:
    """`state ST --format ...`: build the brief once and write it in one format."""
    from alpr_inventory.serve.brief import (
        StateNotFound,
        build_brief,
        render_html,
        render_markdown,
        to_json,
        write_brief,
    )

    href = _archive_links(archive_dir_for(db_path).resolve(), archive_base, output, fmt,
                          Path(output or f"{code}-brief.{fmt}"))
    try:
        built = build_brief(db.conn, code, database=Path(db_path).name, archive_href=href)
    except StateNotFound as exc:
        raise click.ClickException(str(exc)) from exc
    if output == "-":
        if fmt == "pdf":
            raise click.UsageError("a PDF cannot go to standard output: give --output FILE")
        click.echo({"html": render_html, "md": render_markdown, "json": to_json}[fmt](built))
        return
    target = Path(output or f"{code}-brief.{fmt}")
    try:
        write_brief(built, fmt, target)
    except RuntimeError as exc:  # no Chromium for a PDF
        raise click.ClickException(str(exc)) from exc
    click.echo(f"wrote {target}")


# ---- summary / serve / demo -------------------------------------------------------------
def summary_counts(db_path: str) -> dict[str, int]:
    from alpr_inventory.store.schema import open_db

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
        "names placed by their documents (links)": one(
            "select count(*) from agency_links where status = 'linked'"),
        "data owners left for review (links --review)": one(
            "select count(distinct agency_id) from owners_to_review"),
        "287(g) agencies that can see others' data": one(
            "select count(distinct grantee_id) from data_access d join agency_287g k "
            "on k.agency_id = d.grantee_id where d.current = 1"),
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
        "cameras mapped in OpenStreetMap": one("select count(*) from cameras"),
        "cameras tied to an agency": one(
            "select count(*) from cameras where operator_agency_id is not null"),
        "documents with searchable text": one(
            "select count(*) from document_texts where status = 'ok'"),
        # pages, not fetches: a slug (or URL) blocked or missing on every crawl counts once
        "blocked pages": one(
            "select count(distinct coalesce(f.requested_slug, f.url)) from fetches f "
            "join documents d using (sha256) where d.doc_type = 'blocked'"),
        "not found pages": one(
            "select count(distinct coalesce(f.requested_slug, f.url)) from fetches f "
            "join documents d using (sha256) where d.doc_type = 'not_found'"),
        "crawl seeds failed, to retry": one(
            "select count(*) from (select distinct spider, seed from crawl_failures "
            "where resolved_run_id is null)"),
        "documents with warnings": one(
            "select count(*) from documents where parse_status = 'ok_with_warnings'"),
        "documents read in part (partial)": one(
            "select count(*) from documents where parse_status = 'partial'"),
        "documents not parsed (see parse_status)": one(
            "select count(*) from documents where parse_status not in "
            "('ok', 'ok_with_warnings', 'partial', 'blocked', 'not_found')"),
    }


@cli.command()
@answer_format_options
@EXISTING_DB_OPTION
def summary(fmt: str | None, db_path: str) -> None:
    """Print what the database holds."""
    if fmt:
        emit_rows(fmt, ({"what": k, "count": v} for k, v in summary_counts(db_path).items()))
        return
    for key, value in summary_counts(db_path).items():
        click.echo(f"{key:>40}: {value:,}")
    _print_statuses(db_path)


def _print_statuses(db_path: str) -> None:
    from alpr_inventory.store.schema import open_db

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
    from alpr_inventory.store.schema import datasette_metadata

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
    store = _open_store(db_path)  # schema and FTS in place, stored answers derived
    if store.ensure_answers():
        click.echo("derived the stored answers this database did not have yet", err=True)
    store.close()
    metadata = write_metadata(db_path)
    click.echo(f"Datasette on http://{host}:{port}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    sys.stderr.flush()
    from alpr_inventory.serve.datasette_plugin import DATASETTE_SETTINGS

    settings = [arg for key, value in DATASETTE_SETTINGS.items()
                for arg in ("--setting", key, str(value).lower() if isinstance(value, bool)
                            else str(value))]
    # Datasette's own command line, with the report plugin registered (/-/report/<agency_id>);
    # this process becomes Datasette, so stopping it stops the server
    args = [sys.executable, "-m", "alpr_inventory.serve.datasette_plugin", "serve", db_path,
            "--metadata", str(metadata), "--host", host, "--port", str(port), *settings]
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
    from alpr_inventory.demo.replay import ReplayCorpus, ReplayServer

    root = Path(corpus) if corpus else corpus_dir() / "flock"
    if not (root / "portals").is_dir():
        raise click.ClickException(f"no portals/ folder in {root}: set ALPR_CORPUS or --corpus")
    began = time.monotonic()
    replay = ReplayCorpus.from_dir(root)
    seeds = replay.slugs
    click.echo(f"replaying {replay.capture_count()} captures of {len(replay.captures)} portals "
               f"(+{len(replay.specials)} recorded block/not-found pages) from {root}")
    with ReplayServer(replay) as server:
        click.echo(f"local replay server: {server.base_url}; crawling with flock_portals")
        run_id = run_flock_crawl(seeds, None, None, server.base_url, False, 1, 2000, db_path,
                                 log_level)
    _print_run(db_path, run_id)
    click.echo(f"(crawl and derivations: {time.monotonic() - began:.0f} s)")
    _demo_legistar(db_path, log_level)
    for label, parts, options in DEMO_RECORDS:
        path = corpus_dir().joinpath(*parts)
        if path.exists():
            click.echo(f"\nimporting {label} ({'/'.join(parts)})")
            step = time.monotonic()
            click.echo(import_files(db_path, (str(path),), **options))
            click.echo(f"({time.monotonic() - step:.0f} s)")
    click.echo(f"\nbuilt in {time.monotonic() - began:.0f} s. The database holds:")
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
    from alpr_inventory.demo.legistar_replay import LegistarReplayServer
    from parsers.pdf.pdf_worker import die_with_parent

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


# ---- changes / report ----------------------------------------------------------------------
@cli.command()
@click.option("--since", help="Only changes first seen on or after this date (YYYY-MM-DD).")
@agency_option("Only this agency (id, portal slug or any name it is published under): "
               "changes on its own records and on others' lists naming it.")
@click.option("--federal-only", is_flag=True,
              help="Only changes about federal grantees (resolver or Flock's [Federal] label).")
@page_options
@answer_format_options
@click.option("--atom", "atom_path", type=click.Path(dir_okay=False, writable=True),
              help="Also write these changes as an Atom feed to this file (every change the "
              "filters match, whatever the page printed).")
@EXISTING_DB_OPTION
def changes(since: str | None, agency: str | None, federal_only: bool, limit: int | None,
            offset: int, all_rows: bool, fmt: str | None, atom_path: str | None,
            db_path: str) -> None:
    """What changed between captures, each with both captures as evidence, newest first.

    As text, a page of changes (--limit, default 100) ending with how many more there are and
    the --offset of the next page; --all, --json and --csv print every change. Every build
    also writes the whole history as an Atom feed beside the database
    (<db stem>.changes.atom) for feed readers.
    """
    from alpr_inventory.derive.changes import atom_feed, count_changes, query_changes

    db = _existing_db(db_path)
    paging = Paging.of(limit, offset, all_rows, fmt)
    ids = [lookup_agency(db, agency)["id"]] if agency else None
    filters = {"since": _iso(since) if since else None, "agency_ids": ids,
               "federal_only": federal_only}
    rows = query_changes(db, **filters, limit=paging.limit, offset=paging.offset)
    if atom_path:
        title = "alpr-inventory: changes" + (f" ({agency})" if agency else "")
        every = rows if paging.limit is None and not paging.offset else query_changes(
            db, **filters)
        Path(atom_path).write_text(atom_feed(every, title=title), encoding="utf-8")
    if fmt == "json":  # one object per change, without its empty fields
        emit_rows(fmt, ({k: v for k, v in r.items() if v is not None} for r in rows))
        return
    if fmt:
        emit_rows(fmt, rows)
        return
    for r in rows:
        flag = " [federal]" if r["federal"] else ""
        click.echo(f"{r['before_captured_at'][:10]} -> {r['after_captured_at'][:10]}  "
                   f"{r['agency_name'] or r['agency_id']}  {r['kind']}{flag}: "
                   f"{r['raw_name'] or (str(r['old_value']) + ' -> ' + str(r['new_value']))}\n"
                   f"    {r['summary']}\n"
                   f"    evidence: before {r['before_document'][:12]}  after "
                   f"{r['after_document'][:12]}")
    total = len(rows) if paging.limit is None and not paging.offset else count_changes(
        db, **filters)
    again = ["changes", "--since" if since else None, since, "--agency" if agency else None,
             agency, "--federal-only" if federal_only else None]
    if line := paging.more(len(rows), total, _command_line(*again),
                           _command_line(*again, "--all")):
        click.echo(line)
    click.echo(f"{total} change(s)", err=True)


@cli.command()
@click.argument("agency")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf", "md"]), default="html",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Where to write it ('-' for standard output, html/md only); default "
              "<agency id>-report.<format> in the current folder.")
@ARCHIVE_BASE_URL_OPTION
@EXISTING_DB_OPTION
def report(agency: str, fmt: str, output: str | None, archive_base: str | None,
           db_path: str) -> None:
    """Exposure report for one agency (AGENCY: its id, portal slug or any name it is published
    under, case-insensitive).

    What its portal says, who can see its data (federal and immigration bodies first, then
    out-of-state, in-state, private), whose data it can see, flagged searches, changes over
    time, the state's rules, and numbered sources with archive links. PDF is printed by the
    system Chromium (headless).
    """
    from alpr_inventory.serve.report import build_report, render_html, render_markdown, render_pdf

    db = _existing_db(db_path)
    archive = archive_dir_for(db_path).resolve()
    found = lookup_agency(db, agency)
    target = Path(output or f"{found['id'].strip('-')}-report.{fmt}")
    href = _archive_links(archive, archive_base, output, fmt, target)
    built = build_report(db.conn, found, database=Path(db_path).name, archive_href=href)
    if output == "-" and fmt != "pdf":
        click.echo(render_markdown(built) if fmt == "md" else render_html(built))
        return
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


# ---- publish ---------------------------------------------------------------------------
@cli.command()
@click.argument("out_dir", type=click.Path(file_okay=False, writable=True))
@ARCHIVE_BASE_URL_OPTION
@click.option("--to", "target", type=click.Choice(["cloudrun", "heroku", "fly", "vercel",
                                                    "package"]),
              help="Then hand the bundle to Datasette's own `datasette publish TARGET` "
              "(fly and vercel need their datasette-publish-* plugin: pip install "
              "'alpr-inventory[fly]') or `datasette package` (a Docker image).")
@click.option("--name", help="Service/app name for --to (cloudrun --service, fly --app, ...).")
@click.option("--allow-robots", is_flag=True,
              help="Let search engines index it (default: robots.txt disallows everything).")
@click.option("--dry-run", is_flag=True, help="With --to: print the command, do not run it.")
@click.option("--publish-option", "publish_options", multiple=True, metavar="ARG",
              help="Extra argument for the datasette publish command (repeatable).")
@EXISTING_DB_OPTION
def publish(out_dir: str, archive_base: str | None, target: str | None, name: str | None,
            allow_robots: bool, dry_run: bool, publish_options: tuple[str, ...],
            db_path: str) -> None:
    """Write a ready-to-serve bundle into OUT_DIR: the database (served immutable), metadata,
    canned queries, the project's Datasette plugin, the archived documents (hard-linked or
    copied; or links under --archive-base-url) and start.sh. Imported files are named by file
    name only: no file:// address leaves this machine.

    With --to, the bundle is then published with Datasette's own tools.
    """
    import shlex

    from alpr_inventory.serve.publish import PublishError, build_bundle, publish_command

    store = _open_store(db_path)  # the stored answers are derived before the copy
    if store.ensure_answers():
        click.echo("derived the stored answers this database did not have yet", err=True)
    store.close()

    def progress(done: int, total: int) -> None:
        click.echo(f"\rarchive: {done:,}/{total:,} documents", err=True, nl=done == total)

    try:
        bundle = build_bundle(db_path, out_dir, archive_base, allow_robots, progress)
    except PublishError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"bundle: {bundle.root}")
    click.echo(f"  database: {bundle.database} (served immutable)")
    if bundle.archive_base_url:
        click.echo(f"  archive: links to {bundle.archive_base_url}<archive path>")
    else:
        click.echo(f"  archive: {bundle.archive_files:,} documents "
                   f"({bundle.archive_linked:,} hard-linked)")
    if bundle.archive_missing:
        click.echo(f"  warning: {len(bundle.archive_missing)} archived documents are not on "
                   f"this machine (their links will answer 404), e.g. "
                   f"{bundle.archive_missing[0]}", err=True)
    if bundle.scrubbed:
        click.echo("  local file paths replaced by file names: " + ", ".join(
            f"{k} {v:,}" for k, v in sorted(bundle.scrubbed.items())))
    click.echo(f"  serve it: {bundle.start_script}")
    if not target:
        return
    try:
        command = publish_command(bundle.root, target, name=name, allow_robots=allow_robots,
                                  extra=publish_options)
    except PublishError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(("would run: " if dry_run else "running: ") + shlex.join(command))
    if dry_run:
        return
    datasette = Path(sys.executable).with_name("datasette")
    command[0] = str(datasette) if datasette.exists() else command[0]
    done = subprocess.run(command, check=False)
    if done.returncode != 0:
        raise click.ClickException(f"datasette {target} failed (exit {done.returncode})")


def main() -> None:  # pragma: no cover
    cli()


if __name__ == "__main__":  # pragma: no cover
    main()
