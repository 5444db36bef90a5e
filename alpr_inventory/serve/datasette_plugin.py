"""Datasette plugin: the exposure report inside Datasette, and links to it from agency cells.

- `/-/report/<agency_id>` renders the same report as `alpr-inventory report` (HTML; add
  `?format=md` for Markdown, `?db=NAME` to pick a database other than the first).
- `/-/state/<ST>` renders the state brief (`alpr-inventory state ST --format html`; add
  `?format=md` or `?format=json`), and `/-/state/` lists the states with links to theirs.
- `/-/archive/<sha256>` serves an archived document's original bytes, checked against the hash,
  with its real content type and a file name (a PDF opens in the browser), other documents
  under a sandboxing Content-Security-Policy (scraped pages never run scripts here); a published
  bundle whose archive lives elsewhere (plugin setting `archive_base_url`) redirects there.
- `/` asks the questions (an agency, a state, search everything, the canned queries listed as
  questions); `/-/ask?agency=NAME` and `/-/ask?state=ST` answer with links to the evidence,
  the reports, the canned queries and the camera map (datasette_pages).
- `render_cell` also shows document hashes (and JSON lists of them) as short links to the
  archived original, JSON cells as lists, and local file / replay-server URLs for what they are.
- `render_cell` adds an "exposure report" link to agency ids and names: the `id` on an agency's
  row page, the `name` column of `agencies`, and data-owner columns (`owner_id`,
  `data_owner_id`, `agency_id`) in other tables and views; two-letter `state` cells of the state
  policy tables and canned queries link to the state brief.

`alpr-inventory serve` loads it by running Datasette through this module
(`python -m alpr_inventory.serve.datasette_plugin serve ...` registers the hooks, then hands over to
Datasette's own command line). Any other Datasette can load it with
`datasette.plugins.pm.register(alpr_inventory.serve.datasette_plugin)`.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup, escape

from alpr_inventory.serve import datasette_pages as pages
from alpr_inventory.serve.brief import StateNotFound, build_brief, to_json
from alpr_inventory.serve.brief import render_html as render_brief_html
from alpr_inventory.serve.brief import render_markdown as render_brief_markdown
from alpr_inventory.serve.report import AgencyNotFound, build_report, render_html, render_markdown
from alpr_inventory.settings import archive_dir_for

OWNER_COLUMNS = ("owner_id", "data_owner_id", "agency_id")
# tables (and canned queries, table None) whose two-letter `state` cells link to the state brief
STATE_TABLES = ("state_policies", "state_dmv_access", "state_policy_events", None)
# Datasette settings of `alpr-inventory serve` (scripts/bench_scale measures pages with them).
# Facet suggestions are off: on tables of millions of rows they cost more than the page (each
# candidate column is grouped over the whole selection); the facets in the metadata stay.
DATASETTE_SETTINGS: dict[str, Any] = {"sql_time_limit_ms": 5000, "suggest_facets": False}
CSP_REPORT = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSP_ARCHIVE = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _database(datasette: Any, name: str | None):
    return datasette.get_database(name) if name else datasette.get_database()


def _report_url(datasette: Any, agency_id: str, database: str | None = None) -> str:
    url = datasette.urls.path("/-/report/" + quote(agency_id, safe=""))
    return url + (f"?db={quote(database)}" if database else "")


async def report_view(datasette: Any, request: Any) -> Response:
    agency_id = request.url_vars["agency_id"]
    try:
        db = _database(datasette, request.args.get("db"))
    except KeyError:
        return Response.text("no such database", status=404)
    archive = datasette.urls.path("/-/archive/")

    def build(conn):
        cameras = datasette.urls.table(db.name, "cameras")
        return build_report(conn, agency_id, database=db.name,
                            archive_href=lambda sha, path: f"{archive}{sha}?db={db.name}",
                            camera_map_href=lambda aid: f"{cameras}?operator_agency_id="
                            + quote(aid, safe=""))

    try:
        report = await db.execute_fn(build)
    except AgencyNotFound as exc:
        return Response.html(f"<p>{escape(str(exc))}</p>", status=404)
    if request.args.get("format") == "md":
        return Response.text(render_markdown(report))
    agencies = datasette.urls.table(db.name, "agencies")
    nav = (f'<nav><a href="{datasette.urls.instance()}">Datasette</a> / '
           f'<a href="{escape(agencies)}">agencies</a> / '
           f'<a href="{escape(agencies)}/{quote(report.agency["id"], safe="")}">'
           f'{escape(report.agency["name"])}</a> / exposure report (<a href="?format=md'
           f'{"&amp;db=" + escape(db.name) if request.args.get("db") else ""}">Markdown</a>)'
           "</nav>")
    response = Response.html(render_html(report, nav_html=nav))
    response.headers["Content-Security-Policy"] = CSP_REPORT
    return response


def _state_url(datasette: Any, state: str, database: str | None = None) -> str:
    url = datasette.urls.path("/-/state/" + quote(state.upper(), safe=""))
    return url + (f"?db={quote(database)}" if database else "")


async def state_view(datasette: Any, request: Any) -> Response:
    """The state brief, the same document as `alpr-inventory state ST --format html`."""
    state = request.url_vars["state"].upper()
    try:
        db = _database(datasette, request.args.get("db"))
    except KeyError:
        return Response.text("no such database", status=404)
    archive = datasette.urls.path("/-/archive/")

    other = None if db.name == datasette.get_database().name else db.name

    def build(conn):
        return build_brief(conn, state, database=db.name,
                           archive_href=lambda sha, path: f"{archive}{sha}?db={db.name}",
                           agency_href=lambda agency_id: _report_url(datasette, agency_id,
                                                                     other))

    try:
        brief = await db.execute_fn(build)
    except StateNotFound as exc:
        return Response.html(f"<p>{escape(str(exc))}</p>", status=404)
    fmt = request.args.get("format")
    if fmt == "md":
        return Response.text(render_brief_markdown(brief))
    if fmt == "json":
        return Response(to_json(brief), content_type="application/json; charset=utf-8")
    extra = f"&amp;db={escape(db.name)}" if request.args.get("db") else ""
    queries = datasette.urls.database(db.name)
    nav = (f'<nav><a href="{datasette.urls.instance()}">Datasette</a> / '
           f'<a href="{escape(_state_url(datasette, "", None))}">states</a> / {escape(state)} '
           f'state brief (<a href="?format=md{extra}">Markdown</a>, '
           f'<a href="?format=json{extra}">JSON</a>; canned queries: '
           f'<a href="{escape(queries)}/state_dmv_access_now?state={escape(state)}">'
           "DMV access now</a>, "
           f'<a href="{escape(queries)}/state_policy_timeline?state={escape(state)}">'
           "timeline</a>)</nav>")
    response = Response.html(render_brief_html(brief, nav_html=nav))
    response.headers["Content-Security-Policy"] = CSP_REPORT
    return response


async def states_view(datasette: Any, request: Any) -> Response:
    """Every state with a row in state_policies, each linked to its brief."""
    try:
        db = _database(datasette, request.args.get("db"))
    except KeyError:
        return Response.text("no such database", status=404)
    other = None if db.name == datasette.get_database().name else db.name
    rows = (await db.execute(
        "select p.state, p.nlets_ice_hsi_dmv_blocked, p.as_of, "
        "(select count(*) from state_dmv_access a where a.state = p.state and a.current = 1 "
        "and a.access != 'unknown') as claims from state_policies p order by p.state")).rows
    items = "".join(
        f'<li><a href="{escape(_state_url(datasette, r["state"], other))}">{escape(r["state"])}'
        f'</a>: {r["claims"]} sourced DMV-access claims; ICE/HSI blocked in Nlets: '
        f'{escape(r["nlets_ice_hsi_dmv_blocked"])} (as of {escape(r["as_of"])})</li>'
        for r in rows)
    response = Response.html(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>State briefs"
        "</title></head><body style=\"font-family:Georgia,serif;max-width:50rem;margin:2rem "
        f'auto"><nav><a href="{datasette.urls.instance()}">Datasette</a></nav>'
        "<h1>State briefs: who can see a state's DMV and plate-reader data</h1>"
        f"<ul>{items}</ul></body></html>")
    response.headers["Content-Security-Policy"] = CSP_REPORT
    return response


async def archive_view(datasette: Any, request: Any) -> Response:
    sha = request.url_vars["sha256"].lower()
    try:
        db = _database(datasette, request.args.get("db"))
    except KeyError:
        return Response.text("no such database", status=404)
    rows = (await db.execute("select archive_path, content_type, url from documents "
                             "where sha256 = ?", [sha])).rows
    if not rows or not db.path:
        return Response.text("no such document", status=404)
    path = archive_dir_for(db.path) / rows[0]["archive_path"]
    try:
        body = Path(path).read_bytes()
    except OSError:
        if base := pages.archive_base_url(datasette):  # a bundle published without its archive
            return Response.redirect(base + rows[0]["archive_path"])
        return Response.text("the archived copy is not on this machine", status=404)
    if hashlib.sha256(body).hexdigest() != sha:
        return Response.text("the archived copy does not match its SHA-256", status=500)
    content_type = pages.content_type_for(body, rows[0]["content_type"], rows[0]["url"])
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = pages.content_disposition(
        pages.file_name_for(rows[0]["url"], sha, content_type))
    if not content_type.startswith("application/pdf"):
        # Chromium's PDF viewer does not run in a sandboxed document; a PDF runs no page script
        response.headers["Content-Security-Policy"] = CSP_ARCHIVE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# ---- whole pages of national tables ------------------------------------------------------
# Datasette counts every row of a table or view page and groups every row once per facet. On
# a page that no filter narrows, at national scale, that is most of the page's time (a count
# of `searches` reads 10 million index entries; a count of `can_see_data` joins 900,000 rows,
# and SQLite omits no join in an aggregate; each facet of `sharing` groups a million rows and
# is cut off by Datasette after facet_time_limit_ms). Such pages are shown as Datasette shows
# CSV exports: with its own `_nofacet=1` and, where counting is that costly, `_nocount=1`.
# The rows are the same and complete: every page links to the next ("Next page"). Any filter
# (a column, `_where`, `_search`) or an explicit `_facet` brings counts and facets back.
FACETS_UP_TO = 100_000  # rows: a whole page of a bigger relation has no facets
COUNT_TABLE_UP_TO = 2_000_000  # rows a table's count reads (one index: ~50 ms a million)
COUNT_VIEW_UP_TO = 100_000  # a view's count joins every row
# Views, by the table whose rows they are; views whose count reads only a few rows (federal
# bodies first) are counted whatever that table's size.
VIEW_TABLES = {"can_see_data": "data_access", "federal_access": "data_access"}
COUNTED_VIEWS = frozenset({"federal_access"})
PAGE_ARGS = frozenset({"_next", "_size", "_sort", "_sort_desc", "_col", "_nocol", "_labels",
                       "_label", "_nl", "_json", "_shape", "_trace", "_timelimit", "_nocount",
                       "_nofacet", "_nosuggest", "_stream", "_dl", "_context", "_extra"})


def whole_page_switches(relation: str, is_view: bool, rows: int, args: list[str]) -> list[str]:
    """The switches (`_nofacet`, `_nocount`) a table or view page gets: none when the request
    filters (any argument but paging and display ones) or asks for facets itself; for an
    unfiltered page, by the size of the table it reads (`rows`)."""
    if any(a not in PAGE_ARGS for a in args):
        return []
    switches = []
    if rows > FACETS_UP_TO:
        switches.append("_nofacet")
    if is_view and relation not in COUNTED_VIEWS:
        if rows > COUNT_VIEW_UP_TO:
            switches.append("_nocount")
    elif rows > COUNT_TABLE_UP_TO:
        switches.append("_nocount")
    return [s for s in switches if s not in args]


def _table_rows(conn: Any, table: str) -> int:
    """About how many rows a table holds, from its largest rowid (one index step)."""
    try:
        return conn.execute(f"select coalesce(max(rowid), 0) from [{table}]").fetchone()[0]
    except Exception:  # noqa: BLE001 - a table without rowid or gone: treat as small
        return 0


def _selection_rows(conn: Any, relation: str, filters: list[tuple[str, str]]) -> int:
    """How many rows `column = value` filters select, counted up to FACETS_UP_TO + 1 only
    (an index range read no further than that)."""
    where = " and ".join(f"[{column}] = ?" for column, _ in filters)
    return conn.execute(f"select count(*) from (select 1 from [{relation}] where {where} "
                        f"limit {FACETS_UP_TO + 1})", [v for _, v in filters]).fetchone()[0]


async def _page_switches(datasette: Any, path: str, pairs: list[tuple[str, str]]
                         ) -> list[str]:
    """whole_page_switches for a request; and `_nofacet` for a page whose filters (columns
    equal to values) select more than FACETS_UP_TO rows (the searches of the busiest
    agencies: each facet would group hundreds of thousands of rows)."""
    from urllib.parse import unquote

    args = [k for k, _ in pairs]

    parts = [unquote(p) for p in path.strip("/").split("/")]
    if len(parts) != 2 or parts[0].startswith("-"):
        return []
    name, relation = parts
    for suffix in (".json", ".csv"):
        if relation.endswith(suffix):
            relation = relation[: -len(suffix)]
    try:
        db = datasette.get_database(name)
    except KeyError:
        return []
    # views not listed read what they read: counted and faceted as Datasette does
    is_view = relation in VIEW_TABLES
    table = VIEW_TABLES.get(relation, relation)
    if not is_view and not await db.table_exists(relation):
        return []
    rows = await db.execute_fn(lambda conn: _table_rows(conn, table))
    switches = whole_page_switches(relation, is_view, rows, args)
    filters = [(k, v) for k, v in pairs if k not in PAGE_ARGS]
    if (switches or not filters or rows <= FACETS_UP_TO or "_nofacet" in args
            or any(k.startswith("_") or "__" in k for k, _ in filters)):
        return switches
    columns = set(await db.table_columns(relation))
    if not {k for k, _ in filters} <= columns:
        return switches
    selected = await db.execute_fn(lambda conn: _selection_rows(conn, relation, filters))
    return ["_nofacet"] if selected > FACETS_UP_TO else []


@hookimpl
def asgi_wrapper(datasette: Any) -> Any:
    """Adds the switches of `_page_switches` to table and view pages of national tables."""
    from urllib.parse import parse_qsl

    def wrap(app: Any) -> Any:
        async def add_switches(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope.get("type") == "http" and scope.get("method") in ("GET", "HEAD"):
                query = scope.get("query_string", b"").decode("latin-1")
                pairs = parse_qsl(query, keep_blank_values=True)
                switches = await _page_switches(datasette, scope.get("path", ""), pairs)
                if switches:
                    extra = "&".join(f"{s}=1" for s in switches)
                    scope = {**scope, "query_string": (
                        f"{query}&{extra}" if query else extra).encode("latin-1")}
            await app(scope, receive, send)
        return add_switches
    return wrap


# Page cache of each of Datasette's connections, as open_db gives the command line (SQLite's
# default is 2 MB): a national database's indexes are read from memory, not again from the file.
CACHE_SIZE_KIB = 262_144


@hookimpl
def prepare_connection(conn: Any) -> None:
    conn.execute(f"pragma cache_size = -{CACHE_SIZE_KIB}")
async def landing_view(datasette: Any, request: Any) -> Response:
    db = datasette.get_database()
    queries = await datasette.get_canned_queries(db.name, request.actor)
    has_cameras = await db.table_exists("cameras") and bool(
        (await db.execute("select 1 from cameras limit 1")).rows)
    return Response.html(pages.page(datasette, "alpr-inventory", pages.landing(
        datasette, db.name, queries, has_cameras)))


async def ask_view(datasette: Any, request: Any) -> Response:
    try:
        db = _database(datasette, request.args.get("db"))
    except KeyError:
        return Response.text("no such database", status=404)
    agency = (request.args.get("agency") or "").strip()
    state = (request.args.get("state") or "").strip().upper()
    if agency:
        try:
            found = await db.execute_fn(lambda conn: pages.agency_answer(conn, agency))
        except AgencyNotFound as exc:
            return Response.html(pages.page(datasette, "not found", pages.not_found_html(
                datasette, exc)), status=404)
        return Response.html(pages.page(datasette, found["agency"]["name"],
                                        pages.agency_answer_html(datasette, db.name, found)))
    if len(state) == 2 and state.isalpha():
        body = await db.execute_fn(
            lambda conn: pages.state_answer_html(datasette, db.name, conn, state))
        return Response.html(pages.page(datasette, state, body))
    return Response.redirect(datasette.urls.instance())


async def css_view(datasette: Any, request: Any) -> Response:
    return Response(pages.CSS, content_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "max-age=3600"})


@hookimpl
def register_routes(datasette: Any) -> list[tuple[str, Any]]:
    return [
        (r"^/-/report/(?P<agency_id>[^/]+)$", report_view),
        (r"^/-/archive/(?P<sha256>[0-9a-fA-F]{64})$", archive_view),
        (r"^/-/state/(?P<state>[A-Za-z]{2})$", state_view),
        (r"^/-/state/?$", states_view),
        (r"^/$", landing_view),
        (r"^/-/ask$", ask_view),
        (r"^/-/alpr\.css$", css_view),
    ]


@hookimpl
def extra_css_urls(datasette: Any) -> list[str]:
    return [datasette.urls.path("/-/alpr.css")]


@hookimpl
def extra_body_script(template: str) -> str | None:
    return pages.PAGE_JS if template.startswith(("table", "query", "row")) else None


@hookimpl
def render_cell(row: Any, value: Any, column: str, table: str | None, database: str,
                datasette: Any) -> Markup | None:
    link = None
    if (column == "state" and table in STATE_TABLES and isinstance(value, str)
            and len(value) == 2 and value.isalpha() and value.isupper() and value != "US"):
        first = datasette.get_database().name
        url = _state_url(datasette, value, None if database == first else database)
        return Markup(f'{escape(value)} <a class="alpr-state" href="{escape(url)}" '
                      f'title="Who can see this state\'s DMV and plate-reader data">'
                      "state brief</a>")
    if table == "agencies" and column == "id" and isinstance(value, str):
        link = (escape(value), value)
    elif table == "agencies" and column == "name" and isinstance(value, str):
        try:
            agency_id = row["id"]
        except (KeyError, IndexError, TypeError):
            return None
        link = (escape(value), agency_id)
    elif column in OWNER_COLUMNS and table != "agencies":
        if isinstance(value, dict) and value.get("value"):  # expanded foreign key
            target = datasette.urls.row(database, "agencies", quote(str(value["value"]),
                                                                    safe=""))
            label = Markup(f'<a href="{escape(target)}">'
                           f'{escape(value.get("label") or value["value"])}</a>')
            link = (label, str(value["value"]))
        elif isinstance(value, str) and value:
            link = (escape(value), value)
    if link is None and column == "archive_path" and isinstance(value, str):
        try:  # the documents table: its archived original, one click away
            sha = row["sha256"]
        except (KeyError, IndexError, TypeError):
            return None
        if isinstance(sha, str) and pages.HASH.fullmatch(sha):
            return Markup(f'<a href="{escape(pages.archive_url(datasette, sha, database))}">'
                          f"{escape(value)}</a>")
    if link is None:
        return pages.render_value(value, column, datasette, database)
    shown, agency_id = link
    first = datasette.get_database().name
    url = _report_url(datasette, agency_id, None if database == first else database)
    return Markup(f'{shown} <a class="alpr-report" href="{escape(url)}" '
                  f'title="Who can see this agency\'s data">exposure report</a>')


def main(argv: list[str] | None = None) -> None:
    """Datasette's command line with this plugin registered (used by `alpr-inventory serve`)."""
    from datasette.cli import cli
    from datasette.plugins import pm

    from alpr_inventory.serve import datasette_plugin

    if not pm.is_registered(datasette_plugin):
        pm.register(datasette_plugin, name="alpr_inventory")
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="datasette")


if __name__ == "__main__":  # pragma: no cover
    main()
