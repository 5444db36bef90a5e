"""Datasette pages for a reporter: the landing page that asks the questions, the answer for an
agency or a state, evidence cells as links to the archived original, readable JSON cells, and
how an archived document is served (its real content type and a file name).

The hooks live in `datasette_plugin`; this module holds what they render, so each piece can be
tested on its own.
"""

from __future__ import annotations

import json
import mimetypes
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlparse

from markupsafe import Markup, escape

from alpr_inventory.derive.cameras import camera_count
from alpr_inventory.serve.lookup import AgencyNotFound, find_agency

PLUGIN_NAME = "alpr-inventory"
HASH = re.compile(r"[0-9a-f]{64}")
ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
SHORT = 10  # hex digits shown for a document hash
IMPORTED = "imported file "  # how a published copy names an imported file (publish.py)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "0.0.0.0")
OSM_CREDIT = ('Camera positions: <a href="https://www.openstreetmap.org/copyright">'
              "© OpenStreetMap contributors</a>, ODbL 1.0 (alpr-sync-usa snapshot).")
# Tables and views a reporter starts from (the rest stay one click away on the database page).
STATE_QUERIES = ("exposure", "agreements_in_state", "state_dmv_access_now",
                 "state_policy_timeline")
AGENCY_QUERIES = ("who_can_see", "federal_access_for_agency", "partners_287g", "recent_changes")

# Readable at 1,400 px: long sentences wrap in wide-enough columns, long URLs break, the column
# descriptions fold away (datasette_plugin wraps them in <details>), JSON cells become lists.
CSS = """
.rows-and-columns{font-size:.86rem}
.rows-and-columns th,.rows-and-columns td{padding:.3em .35em}
.rows-and-columns td{max-width:26em;white-space:normal;overflow-wrap:break-word;vertical-align:top}
.rows-and-columns th{white-space:normal;max-width:9em}
.rows-and-columns td.col-sources,.rows-and-columns td.col-current_basis,
.rows-and-columns td.col-summary,.rows-and-columns td.col-description,
.rows-and-columns td.col-excerpt,.rows-and-columns td.col-notes{min-width:12em}
.rows-and-columns td.col-page_note{min-width:7em;color:#555;font-size:.85em}
a.alpr-report{font-size:.85em}
ul.alpr-json{margin:0;padding-left:1.1em}ul.alpr-json li{margin:0}
a.alpr-doc{font-family:monospace;white-space:nowrap}
span.alpr-gone{color:#666;font-style:italic}
details.alpr-columns{margin:.5em 0 1em}details.alpr-columns summary{cursor:pointer;color:#276890}
details.alpr-columns dl{max-height:22em;overflow:auto}
.alpr-landing{max-width:62em}.alpr-landing form{margin:.3em 0 1em}
.alpr-landing input[type=text],.alpr-landing input[type=search]{font-size:1.1em;width:22em;
 padding:.25em}
.alpr-landing ul.questions li{margin:.35em 0}
.alpr-answer table{border-collapse:collapse}.alpr-answer td,.alpr-answer th{border-bottom:1px
 solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
.alpr-answer .flag{color:#9b1c1c;font-weight:bold}
"""

# Fold a table page's column descriptions into a <details> element: the rows stay on the first
# screen, the descriptions one click away.
PAGE_JS = """
document.addEventListener('DOMContentLoaded', function () {
  // long column names break after their underscores, not inside words
  document.querySelectorAll('table.rows-and-columns th').forEach(function (th) {
    var walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT);
    var node;
    while ((node = walker.nextNode())) {
      node.nodeValue = node.nodeValue.replace(/_/g, '_\u200b');
    }
  });
  document.querySelectorAll('dl.column-descriptions').forEach(function (dl) {
    var details = document.createElement('details');
    details.className = 'alpr-columns';
    var summary = document.createElement('summary');
    summary.textContent = 'What the columns mean (' + dl.querySelectorAll('dt').length + ')';
    details.appendChild(summary);
    dl.parentNode.insertBefore(details, dl);
    details.appendChild(dl);
  });
});
"""


# ---- archived documents ---------------------------------------------------------------------
def content_type_for(body: bytes, stored: str | None, url: str | None) -> str:
    """The document's real content type: its bytes first (a PDF is a PDF whatever the server
    said), then what was stored, then its name."""
    head = body[:1024].lstrip()
    low = head[:256].lower()
    if body.startswith(b"%PDF-"):
        return "application/pdf"
    if stored and not stored.startswith(("application/octet-stream", "binary/")):
        return stored
    guessed = mimetypes.guess_type(_name_of(url) or "")[0]
    if body.startswith(b"PK\x03\x04"):
        return guessed or "application/zip"
    if low.startswith((b"<!doctype html", b"<html")) or b"<html" in low:
        return "text/html; charset=utf-8"
    if head[:1] in (b"{", b"["):
        try:
            json.loads(body)
            return "application/json"
        except ValueError:
            pass
    if guessed:
        return guessed + ("; charset=utf-8" if guessed.startswith("text/") else "")
    try:
        body[:65536].decode("utf-8")
        return "text/plain; charset=utf-8"
    except UnicodeDecodeError:
        return "application/octet-stream"


def _name_of(url: str | None) -> str | None:
    if not url:
        return None
    if url.startswith(IMPORTED):  # a published copy names imported files this way
        return url[len(IMPORTED):].strip() or None
    name = PurePosixPath(unquote(urlparse(url).path)).name
    return name or None


def file_name_for(url: str | None, sha: str, content_type: str) -> str:
    """A file name a browser can save under: the document's own name where its URL has one,
    with the extension its content type calls for."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", _name_of(url) or "").strip("._") or sha[:12]
    ext = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
    ext = {".htm": ".html", ".bat": ".txt"}.get(ext, ext)
    if ext and not name.lower().endswith(ext) and not (
            ext == ".html" and name.lower().endswith(".htm")):
        name += ext
    return name[:120]


def content_disposition(name: str) -> str:
    return f"inline; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"


def archive_url(datasette: Any, sha: str, database: str | None = None) -> str:
    url = datasette.urls.path("/-/archive/") + sha
    first = datasette.get_database().name
    return url + (f"?db={quote(database)}" if database and database != first else "")


def archive_base_url(datasette: Any) -> str | None:
    """Where a published bundle's archive lives when it is not beside the database."""
    base = (datasette.plugin_config(PLUGIN_NAME) or {}).get("archive_base_url")
    return base.rstrip("/") + "/" if base else None


# ---- cells ----------------------------------------------------------------------------------
def is_evidence_column(column: str) -> bool:
    """Columns that hold document SHA-256s (never plate_hash, an HMAC of a plate)."""
    return column == "sha256" or "document" in column or "evidence" in column


def doc_link(datasette: Any, sha: str, database: str | None) -> str:
    return (f'<a class="alpr-doc" href="{escape(archive_url(datasette, sha, database))}" '
            f'title="The archived original (SHA-256 {sha})">{sha[:SHORT]}…</a>')


def shown_url(value: str) -> Markup | None:
    """URLs that must not be followed after the build: a local file, the demo's replay
    server (gone once the demo stops)."""
    if value.startswith("file://"):
        name = _name_of(value) or "a file"
        return Markup(f'<span class="alpr-gone" title="imported from a file on the machine '
                      f'that built this database">imported file {escape(name)}</span>')
    parts = urlparse(value) if value.startswith(("http://", "https://")) else None
    if parts and (parts.hostname or "") in {h.strip("[]") for h in LOCAL_HOSTS}:
        return Markup('<span class="alpr-gone" title="' + escape(value) + '">the demo\'s '
                      "local replay server (gone once the demo stops): see the archived "
                      "copy</span>")
    return None


def _json_value(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_json_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_json_value(v) for v in value)
    return "" if value is None else str(value)


def render_json_cell(value: str, column: str, datasette: Any, database: str | None,
                     limit: int = 100) -> Markup | None:
    """A JSON list or object as a short list; a list of document hashes as short links."""
    if not value or value[:1] not in "[{" or len(value) > 200_000:
        return None
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if isinstance(data, list) and not data:
        return Markup('<span class="alpr-gone">none</span>')
    if isinstance(data, list) and all(isinstance(v, str) and HASH.fullmatch(v) for v in data) \
            and is_evidence_column(column):
        links = [doc_link(datasette, v, database) for v in data[:limit]]
        more = f" and {len(data) - limit} more" if len(data) > limit else ""
        return Markup(", ".join(links) + more)
    if isinstance(data, dict):
        items = [f"<li><b>{escape(k)}</b>: {escape(_json_value(v))}</li>"
                 for k, v in list(data.items())[:limit]]
        more = len(data) - limit
    elif isinstance(data, list):
        items = [f"<li>{escape(_json_value(v))}</li>" for v in data[:limit]]
        more = len(data) - limit
    else:
        return None
    if more > 0:
        items.append(f"<li>… and {more} more (all of them in the JSON and CSV exports)</li>")
    return Markup('<ul class="alpr-json">' + "".join(items) + "</ul>")


def render_value(value: Any, column: str, datasette: Any, database: str | None
                 ) -> Markup | None:
    """What render_cell shows for evidence, JSON and local URLs (None: Datasette's own)."""
    if not isinstance(value, str) or not value:
        return None
    if HASH.fullmatch(value) and is_evidence_column(column):
        return Markup(doc_link(datasette, value, database))
    if ISO_TIME.fullmatch(value):  # a narrow column: the time may wrap after the date
        return Markup(f"{escape(value[:11])}<wbr>{escape(value[11:])}")
    if value[:1] in "[{":
        return render_json_cell(value, column, datasette, database)
    if value.startswith(("file://", "http://")):
        return shown_url(value)
    return None


# ---- pages ----------------------------------------------------------------------------------
def page(datasette: Any, title: str, body: str) -> str:
    css = datasette.urls.static("app.css")
    home = datasette.urls.instance()
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title>"
            f'<link rel="stylesheet" href="{escape(css)}">'
            f'<link rel="stylesheet" href="{escape(datasette.urls.path("/-/alpr.css"))}">'
            f'</head><body><header><nav><p class="crumbs"><a href="{escape(home)}">home</a>'
            f"</p></nav></header><section class=\"content alpr-landing\">{body}</section>"
            "</body></html>")


def _query_url(datasette: Any, db: str, name: str, **params: str) -> str:
    url = datasette.urls.database(db) + "/" + quote(name)
    return url + ("?" + urlencode(params) if params else "")


def landing(datasette: Any, db: str, queries: dict[str, Any], has_cameras: bool) -> str:
    """The questions a reporter comes with, each one form or link away."""
    ask = escape(datasette.urls.path("/-/ask"))
    search = escape(datasette.urls.path("/-/search"))
    out = [
        "<h1>Who can see an agency's plate-reader data?</h1>",
        "<p>Every answer here comes from a public record (a transparency portal, a records "
        "release, an agreement), and links to the archived original.</p>",
        f'<h2>Ask about an agency</h2><form action="{ask}" method="get">'
        '<label for="agency">Agency name, portal slug or id: </label>'
        '<input type="text" id="agency" name="agency" placeholder="e.g. Okaloosa County FL SO">'
        ' <input type="submit" value="Who can see its data?"></form>',
        f'<h2>Ask about a state</h2><form action="{ask}" method="get">'
        '<label for="state">State (two letters): </label>'
        '<input type="text" id="state" name="state" size="3" maxlength="2" '
        'placeholder="FL" style="width:4em"> <input type="submit" value="Show the state">'
        "</form>",
        f'<h2>Search everything</h2><form action="{search}" method="get">'
        '<input type="search" name="q" placeholder="a name, a word, a phrase">'
        ' <input type="submit" value="Search all tables"></form>',
        "<h2>Questions the data answers</h2><ul class=\"questions\">",
    ]
    for name, q in queries.items():
        out.append(f'<li><a href="{escape(_query_url(datasette, db, name))}">'
                   f'{escape(q.get("title") or name)}</a></li>')
    out.append("</ul><h2>More</h2><ul>")
    if has_cameras:
        out.append(f'<li><a href="{escape(datasette.urls.table(db, "cameras"))}">'
                   "Plate-reader cameras on a map</a> (OpenStreetMap)</li>")
    out.append(f'<li><a href="{escape(datasette.urls.database(db))}">Every table</a> '
               "(documents, sharing lists, searches, agreements, ...)</li></ul>")
    if has_cameras:
        out.append(f'<p class="note">{OSM_CREDIT}</p>')
    return "".join(out)


def _rows(conn: Any, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cur = conn.execute(sql, params)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def agency_answer(conn: Any, text: str) -> dict[str, Any]:
    """Everything the answer page shows for one agency (raises AgencyNotFound)."""
    agency = find_agency(conn, text)
    aid = agency["id"]
    exposure = _rows(conn, "select * from agency_exposure where data_owner_id = ?", [aid])
    federal = _rows(conn, "select federal_grantee, component, immigration, current, first_seen, "
                    "last_seen, newest_source, evidence_documents from federal_access "
                    "where data_owner_id = ? order by immigration desc, current desc, "
                    "federal_grantee", [aid])
    return {"agency": agency, "exposure": exposure[0] if exposure else None,
            "federal": federal, "cameras": camera_count(conn, aid)}


def agency_answer_html(datasette: Any, db: str, found: dict[str, Any]) -> str:
    a = found["agency"]
    aid = a["id"]
    e = found["exposure"]
    report = datasette.urls.path("/-/report/" + quote(aid, safe=""))
    out = [f"<div class=\"alpr-answer\"><h1>{escape(a['name'])}</h1>"]
    if e:
        out.append(f"<p><b>{e['grantees']}</b> organisations can see its data now: "
                   f"<b>{e['federal']}</b> federal, <span class=\"flag\">{e['immigration_bodies']}"
                   f"</span> immigration-enforcement bodies, {e['ice_287g']} with 287(g) "
                   f"agreements with ICE, {e['out_of_state']} out of state.</p>")
    else:
        out.append("<p>No list in this database names organisations that can see its data."
                   "</p>")
    out.append(f'<p><a href="{escape(report)}">Exposure report</a> (with every source) · '
               f'<a href="{escape(report)}?format=md">Markdown</a></p><h2>Questions</h2><ul>')
    for name in AGENCY_QUERIES:
        out.append(f'<li><a href="{escape(_query_url(datasette, db, name, agency=aid))}">'
                   f"{escape(_title(datasette, db, name))}</a></li>")
    if found["cameras"]:
        cams = datasette.urls.table(db, "cameras") + "?" + urlencode(
            {"operator_agency_id": aid})
        out.append(f'<li><a href="{escape(cams)}">{found["cameras"]} plate-reader cameras it '
                   "operates, on a map</a> (OpenStreetMap)</li>")
    out.append("</ul>")
    rows = found["federal"]
    out.append(f"<h2>Federal bodies that can see its data ({len(rows)})</h2>")
    if rows:
        out.append("<table><tr><th>federal body</th><th>now?</th><th>seen</th>"
                   "<th>newest source</th><th>evidence</th></tr>")
        for r in rows:
            flag = ' <span class="flag">immigration enforcement</span>' if r["immigration"] \
                else ""
            docs = json.loads(r["evidence_documents"] or "[]")
            links = ", ".join(doc_link(datasette, d, db) for d in docs[:6])
            out.append(f"<tr><td>{escape(r['federal_grantee'])}{flag}</td>"
                       f"<td>{'yes' if r['current'] else 'history'}</td>"
                       f"<td>{escape((r['first_seen'] or '')[:10])} to "
                       f"{escape((r['last_seen'] or '')[:10])}</td>"
                       f"<td>{escape(r['newest_source'] or '')}</td><td>{links}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>No list in this database shows a federal body able to see its data."
                   "</p>")
    return "".join(out) + "</div>"


def state_answer_html(datasette: Any, db: str, conn: Any, code: str) -> str:
    owners = _rows(conn, "select data_owner, data_owner_id, count(*) as bodies, "
                   "sum(immigration) as immigration from federal_access where owner_state = ? "
                   "and current = 1 group by data_owner_id order by immigration desc, "
                   "bodies desc, data_owner", [code])
    try:
        cams = conn.execute("select count(*) from cameras where state = ?", [code]).fetchone()[0]
    except Exception:  # a database without the cameras table
        cams = 0
    out = [f"<div class=\"alpr-answer\"><h1>{escape(code)}</h1><h2>Questions</h2><ul>"]
    for name in STATE_QUERIES:
        out.append(f'<li><a href="{escape(_query_url(datasette, db, name, state=code))}">'
                   f"{escape(_title(datasette, db, name))}</a></li>")
    if cams:
        url = datasette.urls.table(db, "cameras") + "?" + urlencode({"state": code})
        out.append(f'<li><a href="{escape(url)}">{cams} plate-reader cameras mapped in '
                   f"{escape(code)}, on a map</a> (OpenStreetMap)</li>")
    out.append(f"</ul><h2>Agencies whose data federal bodies can see now ({len(owners)})</h2>"
               "<ul>")
    for r in owners:
        ask = datasette.urls.path("/-/ask") + "?" + urlencode({"agency": r["data_owner_id"]})
        flag = (f' <span class="flag">{r["immigration"]} immigration-enforcement</span>'
                if r["immigration"] else "")
        out.append(f'<li><a href="{escape(ask)}">{escape(r["data_owner"])}</a>: '
                   f"{r['bodies']} federal bodies{flag}</li>")
    return "".join(out) + "</ul></div>"


def _title(datasette: Any, db: str, name: str) -> str:
    from alpr_inventory.store.schema import CANNED_QUERIES

    return CANNED_QUERIES.get(name, {}).get("title") or name


def not_found_html(datasette: Any, exc: AgencyNotFound) -> str:
    ask = datasette.urls.path("/-/ask")
    names = exc.candidates or exc.suggestions
    out = [f"<h1>No single agency for {escape(exc.text)!s}</h1><p>{escape(str(exc))}</p>"]
    if names:
        out.append("<ul>" + "".join(
            f'<li><a href="{escape(ask + "?" + urlencode({"agency": aid}))}">{escape(name)}</a>'
            "</li>" for aid, name in names[:20]) + "</ul>")
    return "".join(out)
