"""Shared helpers for the parser tests: where the corpus is, and test pages built around it.

The corpus (real captured pages) is read in place, never copied into this repository. Its root
is ``$ALPR_CORPUS`` or ``../shared/corpus`` relative to the repository root.

The newer portal layouts have no complete real page in the corpus, only an exact
16,000-character excerpt of a real El Cajon CA PD page (Oct 2026) that starts and ends in the
middle of a tag. ``new_layout_page`` wraps that excerpt, read at test time, in a prefix and a
suffix written here. EVERYTHING OUTSIDE THE EXCERPT IS CONSTRUCTED (marked in comments here and
in the HTML itself); tests must say which values are real (from the excerpt) and which are
constructed.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EL_CAJON_EXCERPT = ("flock", "portals_new",
                    "el-cajon-pd-ca_2026-10_EXCERPT_chars_172000-188000.html")
# With this many filler organisations the constructed page is as large as the real El Cajon
# capture (635,199 characters).
LARGE_PAGE_FILLER = 890


def corpus_root() -> Path:
    """$ALPR_CORPUS, else ../shared/corpus next to the repository."""
    configured = os.environ.get("ALPR_CORPUS")
    root = Path(configured) if configured else REPO_ROOT / ".." / "shared" / "corpus"
    return root.resolve()


def corpus_path(*parts: str) -> Path:
    """Path of a corpus file; skips the calling test when the corpus is not available."""
    path = corpus_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"corpus file not available: {path}")
    return path


def classic(slug: str, date: str) -> bytes:
    """Bytes of a real classic capture: flock/portals/<slug>/<date>.html."""
    return corpus_path("flock", "portals", slug, f"{date}.html").read_bytes()


def classic_captures() -> list[Path]:
    """All classic captures (536 expected)."""
    root = corpus_path("flock", "portals")
    return sorted(root.glob("*/*.html"))


def csv_data_uri(text: str) -> str:
    """A Flock-style audit link target: percent-encoded UTF-8, not base64."""
    return "data:text/csv;charset=utf-8," + quote(text, safe="")


# ---------------------------------------------------------------------------------------------
# New layout (Oct 2026): CONSTRUCTED prefix + REAL excerpt + CONSTRUCTED suffix
# ---------------------------------------------------------------------------------------------
# Constructed values (anything a test asserts from these is a property of the test page only).
NEW_LAST_UPDATED = "2026-10-04T13:05:42.502Z"  # CONSTRUCTED
NEW_OUTBOUND_REAL = [  # REAL: the nine data-tp-full-value cells inside the excerpt, in order
    "Acworth GA PD", "Ada County ID SO", "Adams County WA SO", "Adrian MI PD", "Alabaster AL PD",
    "Alameda County CA SO", "Albion MI DPS", "Alexandria VA PD", "Alhambra CA PD",
]
NEW_OUTBOUND_CONSTRUCTED = [  # CONSTRUCTED rows appended after the excerpt
    "Amador County CA Sheriff's Office",
    "California Department of Fish & Wildlife (CA)",
    "College Place WA PD [Inactive]",
    "Yuba County Sheriffs Office",
    "[Federal] US Postal Inspection Service",
    "[INACTIVE] Old Town Demo",
]
NEW_INBOUND_CONSTRUCTED = ["Chula Vista CA PD", "La Mesa CA PD", "San Diego County CA SD"]
NEW_AUDIT_CSV = (  # CONSTRUCTED audit: a quoted comma and a quoted newline
    '"id","userId","searchDate","networkCount","reason","caseNumber","offenseType"\n'
    '"0f6c1d2e-0000-4000-8000-000000000001","***","2026-10-01T17:04:05.123Z","412",'
    '"stolen vehicle, armed","26-1001","Motor Vehicle Theft/Stolen"\n'
    '"0f6c1d2e-0000-4000-8000-000000000002","***","2026-10-02T08:00:00.000Z","6176",'
    '"multi\nline","",""\n'
)

# Styles of the same size as the real ones (about 730 characters of markup per organisation,
# FORMAT_NEW.md), so a page with ~850 organisations is as large as the real 635 KB capture.
_CELL_STYLE = ("font-family:&quot;Inter&quot;,sans-serif;font-weight:400;font-size:14px;"
               "line-height:20px;color:var(--tp-color-body-content);width:100%;min-width:0;"
               "white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:default;"
               "text-align:left")
_WRAP_OPEN = ('<div style="display:flex;flex-direction:column;justify-content:center;'
              "align-items:flex-start;flex:1 0 0;min-width:0;align-self:stretch;"
              'position:relative;border-bottom:1px solid var(--tp-color-row-divider)">')
_ROW_OPEN = ('<div data-tp-access-row="true" style="display:flex;height:48px;align-items:center;'
             'gap:16px;align-self:stretch;min-width:0">')


def _attr(value: str) -> str:
    return (value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def _cell(name: str | None, shown: str | None = None) -> str:
    """One constructed table cell; None = the placeholder cell of an odd-length list."""
    if name is None:
        return '<div data-tp-access-placeholder="true"></div>'
    text = _attr(shown if shown is not None else name)
    return (f'{_WRAP_OPEN}<div data-tp-access-cell-text="true" '
            f'data-tp-full-value="{_attr(name)}" tabindex="-1" style="{_CELL_STYLE}" '
            f'data-tp-truncated="false">{text}</div></div>')


def _rows(names: list[str], truncated: dict[str, str] | None = None) -> str:
    truncated = truncated or {}
    cells = [_cell(n, truncated.get(n)) for n in names]
    if len(cells) % 2:
        cells.append(_cell(None))
    return "".join(f"{_ROW_OPEN}{cells[i]}{cells[i + 1]}</div>"
                   for i in range(0, len(cells), 2))


def _text_card(label: str, value: str, *, subtitle: str | None = None,
               entry_type: str | None = None, presentation: str = "text") -> str:
    """A constructed card in the shape FORMAT_NEW.md describes (layout C)."""
    entry = f' data-tp-entry-type="{entry_type}"' if entry_type else ""
    sub = f"<p>{subtitle}</p>" if subtitle else ""
    return (f'<div{entry} data-tp-presentation="{presentation}" style="padding:16px">'
            '<div style="display:flex;flex-direction:column;gap:16px">'
            f'<div class="tpEntryHeader"><p style="font-weight:600">{label}</p>{sub}</div>'
            '<div style="display:flex;flex-direction:row;gap:8px">'
            '<div aria-hidden="true" style="width:4px"></div>'
            f'<div style="flex:1;white-space:pre-line">{value}</div></div></div></div>')


def _access_card(label: str, subtitle: str, rows_html: str, *,
                 entry_type: str | None) -> str:
    entry = f' data-tp-entry-type="{entry_type}"' if entry_type else ""
    return (f'<div{entry} data-tp-presentation="accessTable" style="padding:16px">'
            '<div style="display:flex;flex-direction:column;gap:16px">'
            f'<div class="tpEntryHeader"><p style="font-weight:600">{label}</p>'
            f"<p>{subtitle}</p></div>"
            '<div style="display:flex;flex-direction:row;gap:8px">'
            '<div style="flex:1;white-space:pre-line">'
            '<div data-tp-access-table="true" data-tp-access-layout="two-column">'
            '<div data-tp-access-viewport="true" tabindex="0">'
            f'<div style="display:flex;flex-direction:column;min-width:0">{rows_html}</div>'
            "</div>"
            '<div data-tp-scrollbar-track="true"><div data-tp-scrollbar-thumb="true"></div></div>'
            '<div data-tp-tooltip="true"><div data-tp-tooltip-content="true"></div></div>'
            "</div></div></div></div></div>")


def el_cajon_excerpt() -> str:
    """The REAL excerpt (exact characters 172,000-188,000 of the El Cajon capture)."""
    return corpus_path(*EL_CAJON_EXCERPT).read_text(encoding="utf-8")


def filler_names(count: int) -> list[str]:
    """CONSTRUCTED organisation names used to grow a test page to real-world size."""
    return [f"Constructed Filler {i:04d} ZZ PD" for i in range(count)]


def new_layout_page(*, hero: bool = True, footer: bool = True, audit: bool = True,
                    inbound_entry_type: str | None = None, filler_orgs: int = 0) -> str:
    """A complete new-layout page: CONSTRUCTED prefix + REAL excerpt + CONSTRUCTED suffix.

    hero=False drops the h1 (the agency name must then come from the footer utm_source);
    footer=False as well drops the footer (then only <title> is left). The inbound table's
    data-tp-entry-type is unknown in reality (FORMAT_NEW.md), so it is a parameter.
    filler_orgs appends that many constructed names to the outbound table (size tests).
    """
    # The hero's shape (h1#tpPortalTitle "{Agency}<br>Transparency Portal", then "Last updated:"
    # with the ISO time in span[title]) was checked by reading the full El Cajon capture this
    # excerpt comes from (pmocek/scrape-flock-safety-subscriber-portals @1803a99,
    # data/-el-cajon-pd-ca/page.html, characters 150,000-182,000); the text here is ours.
    hero_html = (
        '<section class="tpHero" aria-labelledby="tpPortalTitle"><div class="tpHeroContent">'
        '<div class="tpHeroTitleRow"><div class="tpHeroText">'
        '<h1 id="tpPortalTitle">El Cajon CA PD<br>Transparency Portal</h1>'
        f'<p>Last updated: <span title="{NEW_LAST_UPDATED}">Sun Oct 04 2026</span></p>'
        "</div></div></div></section>"
    ) if hero else (
        f'<p class="tpUpdated">Last updated: <span title="{NEW_LAST_UPDATED}">Sun Oct 04 2026'
        "</span></p>"
    )
    prefix = (
        "<!DOCTYPE html>\n"
        "<!-- CONSTRUCTED by tests/portal_pages.py: this prefix is written by the tests. The real "
        "El Cajon excerpt (corpus, chars 172000-188000) starts inside the <p style=...> at the "
        "end of this prefix. -->\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>Flock Safety - El Cajon CA PD Transparency Portal</title></head>"
        '<body><div data-tp-root="true">'
        f"{hero_html}"
        '<div class="tpOverview" id="overview"><h3>Overview</h3>'
        "<p>CONSTRUCTED overview paragraph.</p></div>"
        '<div class="tpConstructedMain">'  # closed in the suffix
        "<div>"  # closed by the excerpt ("</section></div>")
        '<section class="tpPortalSection" id="community-impact">'
        '<div class="tpSectionInner"><div style="padding:16px">'
        '<div style="display:flex;flex-direction:column;gap:16px"><div class="tpEntryHeader">'
        '<p style="font-family:&quot;Inter&quot;,sans-serif;font-weight:600;font-size:16px;'
        "line-height:28"
    )
    audit_html = ""
    if audit:
        link = (f'<a download="public_search_audit.csv" href="{csv_data_uri(NEW_AUDIT_CSV)}" '
                'target="_blank">Download CSV</a>')
        audit_html = ('<div class="tpResponsivePair tpResponsivePairSingle">'
                      + _text_card("Public Search Audit", link,
                                   subtitle="Searches by El Cajon CA PD users over the last 30 "
                                            "days.",
                                   entry_type="searchAuditCsv", presentation="csv")
                      + "</div>")
    policy = "".join(_text_card(label, value) for label, value in [
        ("What's Detected", "License Plates, Vehicles"),
        ("What's Not Detected", "Facial recognition, People, Gender, Race"),
        ("Acceptable Use Policy", "CONSTRUCTED acceptable use text."),
        ("Prohibited Uses", "CONSTRUCTED prohibited uses text."),
        ("Access Policy", "CONSTRUCTED access policy text."),
        ("Hotlist Policy", "CONSTRUCTED hotlist policy text."),
    ])
    footer_html = (
        '<footer><p>Provided by <a href="https://www.flocksafety.com/?utm_medium='
        'transparency_portal&amp;utm_source=El%20Cajon%20CA%20PD">Flock Safety</a></p></footer>'
    ) if footer else ""
    suffix = (
        # completes the open tag the excerpt ends inside: <div style="display:flex;...column
        ';justify-content:center;align-items:flex-start;flex:1 0 0;min-width:0">'
        "<!-- CONSTRUCTED from here on by tests/portal_pages.py (the real excerpt ended inside "
        "the tag just closed) -->"
        '<div data-tp-access-cell-text="true" '
        f'data-tp-full-value="{_attr(NEW_OUTBOUND_CONSTRUCTED[0])}" tabindex="-1" '
        f'style="{_CELL_STYLE}">{_attr(NEW_OUTBOUND_CONSTRUCTED[0])}</div>'
        "</div></div>"  # cell wrapper, row
        + _rows(NEW_OUTBOUND_CONSTRUCTED[1:] + filler_names(filler_orgs), truncated={
            # the visible text is cut; the attribute holds the full name
            "California Department of Fish & Wildlife (CA)": "California Department of Fish &…",
        })
        + "</div></div>"  # row list, viewport
        '<div data-tp-scrollbar-track="true"><div data-tp-scrollbar-thumb="true"></div></div>'
        '<div data-tp-tooltip="true"><div data-tp-tooltip-content="true"></div></div>'
        "</div>"  # access table
        "</div></div></div></div></div>"  # value, row, column, orgsWithAccess card, pair
        '<div class="tpResponsivePair tpAccessPair">'
        + _access_card("Receiving Network Data From",
                       "Organizations sharing their data with El Cajon CA PD.",
                       _rows(NEW_INBOUND_CONSTRUCTED), entry_type=inbound_entry_type)
        + "</div>"
        + audit_html
        + "</div>"  # tpConstructedMain
        '<section class="tpPortalSection tpPolicySection" id="policy-and-trust" '
        'aria-labelledby="policy-and-trust-heading"><div class="tpSectionInner">'
        '<h2 class="tpSectionTitle" id="policy-and-trust-heading">Policy &amp; Trust</h2>'
        f'<div class="tpPolicyStack">{policy}</div></div></section>'
        '<section class="tpPortalSection tpMoreInfoSection" id="more-info">'
        '<h2 class="tpSectionTitle">Additional Info</h2>'
        + _text_card("ALPR Policy", '<a href="https://example.org/constructed-policy.pdf">'
                                    "Policy 462 (constructed link)</a>")
        + "</section>"
        + footer_html
        + "</div></body></html>\n"
    )
    return prefix + el_cajon_excerpt() + suffix


# ---------------------------------------------------------------------------------------------
# Intermediate layout (June 2026): ENTIRELY CONSTRUCTED from FORMAT_NEW.md "Layout B0"
# ---------------------------------------------------------------------------------------------
INTERMEDIATE_AUDIT_CSV = (
    '"id","userId","searchDate","networkCount","reason"\n'
    '"6a1f0000-0000-4000-8000-00000000000a","***","2026-06-20T10:11:12.131Z","342",'
    '"suspect vehicle"\n'
)


def _b0_card(label: str, value: str, subtitle: str | None = None, metric: bool = False) -> str:
    sub = (f'<p style="font-weight:400;margin:0 0 8px">{subtitle}</p>' if subtitle else "")
    value_style = ("font-size:28px;white-space:normal" if metric else "white-space:pre-line")
    return ('<div style="padding:16px;border-radius:8px">'
            '<div style="display:flex;flex-direction:column">'
            f'<p style="font-family:Inter;font-weight:600;margin:0">{label}</p>{sub}'
            '<div style="display:flex;flex-direction:row">'
            '<div aria-hidden="true" style="width:4px"></div>'
            f'<div style="{value_style}">{value}</div></div></div></div>')


def intermediate_page() -> str:
    """A CONSTRUCTED June-2026 intermediate page (no real sample exists in the corpus)."""
    link = (f'<a download="search_audit.csv" href="{csv_data_uri(INTERMEDIATE_AUDIT_CSV)}">'
            "Download CSV</a>")
    policies = "".join(_b0_card(label, value) for label, value in [
        ("What's Detected", "License Plates, Vehicles"),
        ("What's Not Detected", "Facial recognition, People, Gender, Race"),
        ("Acceptable Use Policy", "CONSTRUCTED acceptable use."),
        ("Prohibited Uses", "CONSTRUCTED prohibited uses."),
        ("Access Policy", "CONSTRUCTED access policy."),
        ("Hotlist Policy", "CONSTRUCTED hotlist policy."),
    ])
    usage = "".join([
        _b0_card("Data Retention", "30 days", "The number of days data is retained.", True),
        _b0_card("Total Cameras", "12", "Number of LPR and other cameras.", True),
        _b0_card("Hotlists Alerted On", "NCIC, NCMEC Amber Alert",
                 "National and statewide hotlist sources."),
        _b0_card("Vehicles detected in the last 30 days", "48,120",
                 "Number of unique plate reads over the last 30 days.", True),
        _b0_card("Hotlist hits in the last 30 days", "57", None, True),
        _b0_card("Searches in the last 30 days", "1,204", None, True),
        _b0_card("Organizations granted access to College Place WA PD data",
                 "Walla Walla County WA SO, Walla Walla WA PD , [Federal] US Postal Inspection "
                 "Service"),
        _b0_card("Public Search Audit", link),
    ])
    return (
        "<!DOCTYPE html>\n<!-- CONSTRUCTED by tests/portal_pages.py from FORMAT_NEW.md "
        "'Layout B0' (June 2026); every value on this page is made up. -->\n"
        '<html lang="en"><head><meta charset="utf-8">'
        "<title>Flock Safety - College Place WA PD Transparency Portal</title>"
        "<style>@font-face{font-family:\"Denim\";src:url(\"data:font/woff2;base64,AAAA\")}</style>"
        "</head><body>"
        '<div class="header"><p>Transparency Portal</p><a href="https://www.flocksafety.com/'
        '?utm_medium=transparency_portal&amp;utm_source=College%20Place%20WA%20PD">Visit Flock'
        "</a></div>"
        '<div id="reportContent"><h1>College Place WA PD<br>Transparency Portal</h1>'
        '<p>Last updated: <span title="2026-06-24T08:14:34.086Z">Wed Jun 24 2026</span></p>'
        '<div id="overview"><h3>Overview</h3><p>CONSTRUCTED overview.</p></div>'
        '<div class="tpMainStack">'
        f'<div id="policies"><h3>Policies</h3><div>{policies}</div></div>'
        f'<div id="usage"><h3>Usage</h3><div>{usage}</div></div>'
        "</div></div></body></html>\n"
    )


# Names other test modules (tests/load/test_pipeline.py, tests/serve/test_datasette.py) import.
build_new_layout_page = new_layout_page
build_intermediate_page = intermediate_page
