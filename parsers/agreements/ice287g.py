"""ICE's published 287(g) "participating agencies" and "pending agencies" spreadsheets.

ICE publishes two workbooks on ice.gov, replaced several times a week: the agencies that have
signed a 287(g) memorandum of agreement (MOA) with ICE, and the agencies whose agreement is
pending.  ``parse_287g_sheet`` reads one dated version; ``agreement_history`` lines many
versions up into one history per agreement.  Pure functions: bytes or a path in, dataclasses out;
nothing is fetched, nothing is written.

Layouts seen (corpus ``agreements/287g/sheets``, 64 versions, 15 May - 18 July 2025; one sheet
"Sheet1", header on row 1; see ``agreements/NOTES.md`` section 2):

* participating, to 27 June 2025: ``STATE | LAW ENFORCEMENT AGENCY | TYPE | COUNTY |
  SUPPORT TYPE | SIGNED | MOA``; from 1 July 2025 the same plus ``ADDENDUM``;
* pending, throughout: ``STATE | LAW ENFORCEMENT AGENCY | TYPE | COUNTY | SUPPORT TYPE``.

Nothing here depends on those positions: the header row is searched for (it may sit below a
title), columns are mapped by name (``COLUMN_NAMES``), and any column this module does not know
is kept, under its published header, in ``Row287g.extra``.

What the parser does with the quirks (each one leaves a ``flags`` entry on the row, ``code:
detail``; the published text always stays in ``Row287g.cells``):

* MOA / ADDENDUM cells are the text "link" with the PDF as a *cell hyperlink*: the hyperlink
  target is read (a ``=HYPERLINK()`` formula and a URL typed as the text are read too).  Outlook
  SafeLinks wrappers (``https://*.safelinks.protection.outlook.com/?url=<encoded>&...``) are
  unwrapped to the ``url=`` parameter (``moa_url``); the wrapped form is kept in
  ``moa_url_raw`` (flag ``moa_safelinks_unwrapped``).  "link pending" means no MOA published yet
  (no flag).  A "link" text with no hyperlink is flagged ``moa_no_hyperlink`` (May 2025: three
  Texas rows read ``link | addendum`` as plain rich text, with no hyperlink at all).
* SIGNED is normally an Excel date -> ``signed`` = ISO date.  Typed text that reads as a date is
  parsed (``signed_text``).  Text with the "/" before the year missing (``05/082025``,
  ``7/72025``) is read month/day/year, which is unambiguous once the year is four digits
  (``signed_repaired``).  A date whose year cannot be right (``5025-07-07``: before 1996, when
  section 287(g) was enacted, or after the sheet's year) is NOT guessed: ``signed`` is None,
  ``signed_raw`` keeps it, flag ``signed_implausible``.  Anything else: ``signed_unparsed``.
* STATE is the spelled-out name in capitals; ``state_code`` is its USPS code.  A one-letter typo
  (``UTAHJ``) is matched to the closest state name and flagged ``state_repaired``.
* Blank rows (every cell empty or spaces; every participating version ends with 9-14 formatted
  empty rows, 73 from 14 July 2025) are skipped and counted (``blank_rows``).  A row with text
  but no agency name, or one that raises while being read, goes to ``unread_rows`` with its row
  number, reason and cells: never dropped.  ``Sheet287g.lost_rows`` is 0 when every row of the
  sheet is accounted for.
* The same state + agency + model on two rows of one sheet (St. Cloud PD, FL, to 9 July 2025,
  and Zephyrhills PD, FL, 17 June - 1 July 2025, each once as "City of ...") is kept as two rows,
  each flagged ``duplicate_key``.

``kind`` (participating/pending) comes from the content, never the file name if the content
says: a title line above the header or the worksheet name naming "pending"/"participating"
first; otherwise the columns (a SIGNED or MOA column = participating, as in every participating
version; neither = pending); the file name only when there is no header at all.
``kind_basis`` says which, and a file name that disagrees gives a warning.

``sheet_date`` comes from the ``sheet_date`` argument, else from the ICE file name
(``participatingAgencies07182025pm.xlsx`` -> 2025-07-18, ``edition`` "pm"; 6-digit MMDDYY
spellings too), else from the download-timestamp prefix of the archived copies
(``20250719_151637__...`` -> 2025-07-19).  ``sheet_date_basis`` says which.  Two archived
copies can carry the same ICE name with different content (``participatingAgencies07032025pm``
downloaded on 3 and on 4 July 2025: 753 and 777 rows); ``Sheet287g.order_key`` orders them by
download time.

History (``agreement_history``): one agreement = (USPS state code, ``normalize_agency(name)``,
model JEM/TFM/WSO) - case, curly quotes, punctuation, "'s", a leading "City of"/"Town of" and a
trailing copy of the state code are ignored, nothing else.  Renamed agencies therefore show up
as one agreement leaving and another arriving in the same version ("Lake Clark Shores Police
Department" -> "Lake Clarke Shores Police Department", 9 July 2025; several state agencies
renamed on 15 July 2025): they are NOT merged, but each side gets a ``RenameHint`` (same
SIGNED date, same resolver agency_id, or similar distinctive name words) for a human to
confirm.  Each agreement gets an ``agency_id`` and ``kind`` from
``alpr_inventory.resolve.resolver``: the name
is resolved as published when it already carries the state's two-letter code as a word, else
as ``f"{agency} {ST}"`` (e.g. "Oklahoma Department of Public Safety OK" ->
``oklahoma-ok-dps``), so ids match the "Place ST SUFFIX" ids other sources resolve to;
``resolved_name`` records the exact string used.
"""

from __future__ import annotations

import difflib
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

# Recorded with every document this parser reads (ICE's 287(g) agencies spreadsheets):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "ice287g/1"

__all__ = [
    "COLUMN_NAMES",
    "KINDS",
    "MODELS",
    "STATE_NAMES",
    "History287g",
    "Ice287gError",
    "Listing287g",
    "ListingSpan",
    "RenameHint",
    "Row287g",
    "SeenValue",
    "Sheet287g",
    "SignedChange",
    "SignedSeen",
    "UnreadRow",
    "agreement_history",
    "agreement_key",
    "name_similarity",
    "normalize_agency",
    "parse_287g_sheet",
    "parse_signed",
    "sheet_date_from_name",
    "state_code_for",
    "unwrap_safelinks",
]

KINDS = ("participating", "pending")
MODELS = {"JEM": "Jail Enforcement Model", "TFM": "Task Force Model",
          "WSO": "Warrant Service Officer"}

# Published header (upper case, spaces collapsed, trailing ':' or '.' removed) -> field.
COLUMN_NAMES: dict[str, str] = {
    "STATE": "state",
    "ST": "state",
    "LAW ENFORCEMENT AGENCY": "agency",
    "LAW ENFORCEMENT AGENCY (LEA)": "agency",
    "AGENCY": "agency",
    "AGENCY NAME": "agency",
    "LEA": "agency",
    "TYPE": "type",
    "AGENCY TYPE": "type",
    "COUNTY": "county",
    "COUNTY/PARISH": "county",
    "PARISH": "county",
    "SUPPORT TYPE": "support_type",
    "SUPPORT TYPES": "support_type",
    "MODEL": "support_type",
    "287(G) MODEL": "support_type",
    "PROGRAM": "support_type",
    "SIGNED": "signed",
    "DATE SIGNED": "signed",
    "DATES SIGNED": "signed",
    "SIGNED DATE": "signed",
    "MOA": "moa",
    "MOA LINK": "moa",
    "MEMORANDUM OF AGREEMENT": "moa",
    "ADDENDUM": "addendum",
    "ADDENDA": "addendum",
    "ADDENDUMS": "addendum",
    "MOA ADDENDUM": "addendum",
}
HEADER_SEARCH_ROWS = 30  # how far down a sheet its header row may be
SECTION_287G_ENACTED = 1996  # IIRIRA added section 287(g) to the INA: no MOA can predate it

# USPS codes: the 50 states, DC and the territories (287(g) sheets spell the name out).
STATE_NAMES: dict[str, str] = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
    "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC",
    "FLORIDA": "FL", "GEORGIA": "GA", "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL",
    "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA",
    "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN",
    "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV",
    "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM", "NEW YORK": "NY",
    "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR",
    "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA",
    "WASHINGTON": "WA", "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY",
    "PUERTO RICO": "PR", "GUAM": "GU", "U.S. VIRGIN ISLANDS": "VI", "VIRGIN ISLANDS": "VI",
    "AMERICAN SAMOA": "AS", "NORTHERN MARIANA ISLANDS": "MP",
}
_STATE_CODES = frozenset(STATE_NAMES.values())


class Ice287gError(ValueError):
    """The input is not a readable workbook, or sheets given to the history lack a date/kind."""


# -- records ------------------------------------------------------------------------------


@dataclass
class Row287g:
    """One agency row as published.

    Text fields are the published cell text with only the surrounding whitespace removed
    (``cells`` keeps it exactly, spaces and all).  ``signed`` is ISO ``YYYY-MM-DD`` or None;
    ``signed_raw`` is the cell as published (an Excel date cell as its ISO date text).
    ``moa_url``/``addendum_urls`` are the hyperlink targets with SafeLinks unwrapped; the
    targets as stored are in ``moa_url_raw``/``addendum_urls_raw``.  ``row_number`` is the
    worksheet row (1-based, as Excel shows it).  ``extra``: published header -> text for every
    column this module does not know.  ``flags``: ``code: detail`` strings (see the module doc).
    """

    state: str | None
    agency: str | None
    type: str | None
    county: str | None
    support_type: str | None
    signed_raw: str | None
    signed: str | None
    moa_url: str | None
    addendum_urls: list[str]
    row_number: int
    extra: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    state_code: str | None = None  # USPS code for ``state``
    model: str | None = None  # JEM / TFM / WSO from ``support_type``
    moa_text: str | None = None  # the MOA cell text: "link", "link pending", ...
    moa_url_raw: str | None = None
    addendum_text: str | None = None
    addendum_urls_raw: list[str] = field(default_factory=list)
    cells: dict[str, str] = field(default_factory=dict)  # header -> text exactly as published

    @property
    def key(self) -> tuple[str, str, str]:
        """(state, normalised agency, model) - the agreement this row is about."""
        return agreement_key(self.state_code or (self.state or "").upper(), self.agency or "",
                             self.model or (self.support_type or "").strip().upper())


@dataclass
class UnreadRow:
    """A non-blank row that could not be read as an agency row (kept, never dropped)."""

    row_number: int
    reason: str
    cells: dict[str, str] = field(default_factory=dict)


@dataclass
class Sheet287g:
    """One published version of a participating or pending sheet."""

    kind: str | None  # "participating" | "pending" | None (could not tell)
    kind_basis: str  # what ``kind`` was read from, in words
    sheet_date: str | None  # ISO date of this version
    sheet_date_basis: str | None  # "argument" | "file name ..." | None
    columns: list[str]  # header as published (edges trimmed), in order
    rows: list[Row287g]
    warnings: list[str] = field(default_factory=list)
    source: str | None = None  # file name, when known
    edition: str | None = None  # "am"/"pm" from the ICE file name
    retrieved_at: str | None = None  # download time from an archived copy's name prefix
    worksheet: str | None = None
    header_row: int | None = None  # 1-based
    column_fields: dict[str, str] = field(default_factory=dict)  # published header -> field
    unread_rows: list[UnreadRow] = field(default_factory=list)
    blank_rows: int = 0
    blank_row_numbers: list[int] = field(default_factory=list)
    preamble: list[str] = field(default_factory=list)  # text of the rows above the header
    last_row: int = 0  # the worksheet's last row number

    @property
    def lost_rows(self) -> int:
        """Rows of the worksheet not accounted for (0 = every row is read, blank or unread)."""
        above = (self.header_row - 1) if self.header_row else 0
        header = 1 if self.header_row else 0
        return (self.last_row - above - header - len(self.rows) - len(self.unread_rows)
                - self.blank_rows)

    @property
    def order_key(self) -> tuple[str, int, str, str]:
        """Sort key across versions: date, then am before pm, then download time, then name."""
        ed = {"am": 0, "pm": 1}.get(self.edition or "", 2)
        return (self.sheet_date or "", ed, self.retrieved_at or "", self.source or "")


# -- small helpers --------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A cell value as text: dates as ISO, whole floats without '.0'."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == datetime.min.time():
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    t = text.strip()
    return t or None


def _header_key(text: str) -> str:
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"\s+", " ", t).strip().upper()
    return t.rstrip(":.").strip()


def _column_letter(index: int) -> str:
    letters = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def normalize_agency(name: str) -> str:
    """The agency name as a comparison key: case, quotes, punctuation and "City of" ignored.

    "Galveston County Sheriff’s Office " and "Galveston County Sheriff's Office" are one key;
    "City of St. Cloud Police Department" and "St. Cloud Police Department" are one key.
    """
    s = unicodedata.normalize("NFKC", name or "")
    s = s.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'").casefold()
    s = re.sub(r"'s\b", "s", s).replace("'", "")
    s = s.replace("&", " and ")
    s = re.sub(r"[^\w\s]", " ", s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"^(?:the|city of|town of|village of|borough of) ", "", s)
    return s


def agreement_key(state: str, agency: str, model: str) -> tuple[str, str, str]:
    """(state code, normalised agency, JEM/TFM/WSO) - one agreement across versions.

    A trailing copy of the row's own state code is dropped from the name ("Arnaudville Police
    Department, LA" on a LOUISIANA row = "Arnaudville Police Department").
    """
    st = state.strip().upper()
    norm = normalize_agency(agency)
    if len(st) == 2 and norm.endswith(" " + st.lower()):
        norm = norm[: -3].rstrip()
    return (st, norm, model.strip().upper())


def state_code_for(text: str | None) -> tuple[str | None, str | None]:
    """USPS code for a published state name -> (code, flag or None)."""
    if not text:
        return None, None
    t = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().upper()
    if t in STATE_NAMES:
        return STATE_NAMES[t], None
    if t in _STATE_CODES:
        return t, None
    close = difflib.get_close_matches(t, list(STATE_NAMES), n=2, cutoff=0.85)
    if len(close) == 1 or (len(close) == 2 and STATE_NAMES[close[0]] == STATE_NAMES[close[1]]):
        code = STATE_NAMES[close[0]]
        return code, f"state_repaired: {text!r} read as {close[0]} ({code}), the closest name"
    return None, f"state_unknown: {text!r} is not a state name"


def _model_for(support_type: str | None) -> str | None:
    if not support_type:
        return None
    t = support_type.upper()
    if "JAIL" in t:
        return "JEM"
    if "TASK FORCE" in t:
        return "TFM"
    if "WARRANT" in t:
        return "WSO"
    return None


def unwrap_safelinks(url: str) -> str:
    """The real target of an Outlook SafeLinks URL (repeatedly, if wrapped twice); else ``url``.

    >>> unwrap_safelinks("https://gcc02.safelinks.protection.outlook.com/?url=https%3A%2F%2F"
    ...                  "www.ice.gov%2Fdoclib%2F287gMOA%2Fa.pdf&data=05%7C02")
    'https://www.ice.gov/doclib/287gMOA/a.pdf'
    """
    for _ in range(5):
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return url
        host = (parts.hostname or "").lower()
        if not host.endswith("safelinks.protection.outlook.com"):
            return url
        inner = parse_qs(parts.query).get("url")
        if not inner or not inner[0]:
            return url
        url = inner[0]
    return url


_URL_RE = re.compile(r"https?://[^\s\"'<>|]+", re.IGNORECASE)
_HYPERLINK_FORMULA_RE = re.compile(
    r'^=\s*HYPERLINK\(\s*"(?P<url>[^"]*)"\s*(?:[,;]\s*"(?P<text>[^"]*)"\s*)?\)\s*$',
    re.IGNORECASE)

_TEXT_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d", "%m-%d-%Y", "%m-%d-%y", "%m.%d.%Y",
                      "%m.%d.%y", "%B %d, %Y", "%b %d, %Y", "%B %d %Y", "%b %d %Y", "%d %B %Y",
                      "%Y-%m-%d %H:%M:%S")
_MISSING_SLASH_RE = re.compile(r"^(\d{1,2})/(\d{1,2})(\d{4})$")


def parse_signed(value: Any, *, max_year: int | None = None
                 ) -> tuple[str | None, str | None, list[str]]:
    """A SIGNED cell -> (raw text, ISO date or None, flags).

    ``max_year``: latest plausible year (the sheet's year); dates outside
    [1996, max_year] are kept raw and flagged, never guessed.
    """
    flags: list[str] = []
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None, flags
    raw = _text(value)
    top = max_year if max_year is not None else 2100

    def plausible(d: date, how: str) -> str | None:
        if SECTION_287G_ENACTED <= d.year <= top:
            return d.isoformat()
        flags.append(f"signed_implausible: {how} {raw!r} has year {d.year} (outside "
                     f"{SECTION_287G_ENACTED}-{top}); not guessed")
        return None

    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            flags.append(f"signed_has_time: {raw!r}")
        return raw, plausible(value.date(), "date cell"), flags
    if isinstance(value, date):
        return raw, plausible(value, "date cell"), flags
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            from openpyxl.utils.datetime import from_excel  # noqa: PLC0415
            d = from_excel(value)
        except (ValueError, OverflowError, TypeError):
            flags.append(f"signed_unparsed: number {raw!r} is not an Excel date")
            return raw, None, flags
        d = d.date() if isinstance(d, datetime) else d
        if not isinstance(d, date):
            flags.append(f"signed_unparsed: number {raw!r} is not an Excel date")
            return raw, None, flags
        iso = plausible(d, "number")
        if iso:
            flags.append(f"signed_serial: number {raw!r} read as Excel date {iso}")
        return raw, iso, flags
    text = re.sub(r"\s+", " ", str(value).replace("\u00a0", " ")).strip()
    for fmt in _TEXT_DATE_FORMATS:
        try:
            d = datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        iso = plausible(d, "text")
        if iso:
            flags.append(f"signed_text: typed as text {raw!r}, read as {iso}")
        return raw, iso, flags
    m = _MISSING_SLASH_RE.match(text)
    if m:
        try:
            d = date(int(m.group(3)), int(m.group(1)), int(m.group(2)))
        except ValueError:
            d = None
        if d is not None:
            iso = plausible(d, "text")
            if iso:
                flags.append(f"signed_repaired: {raw!r} has no '/' before the year; read as "
                             f"month {int(m.group(1))}, day {int(m.group(2))}, year "
                             f"{m.group(3)} = {iso}")
            return raw, iso, flags
    flags.append(f"signed_unparsed: {raw!r} is not a date")
    return raw, None, flags


_NAME_RE = re.compile(
    r"(?P<kind>participating|pending)\s*agenc(?:y|ies)\s*(?P<date>\d{8}|\d{6})\s*(?P<ed>am|pm)?",
    re.IGNORECASE)
_PREFIX_RE = re.compile(r"^(?P<d>\d{8})_(?P<t>\d{6})__")


def _mmdd(digits: str) -> date | None:
    try:
        if len(digits) == 8:
            return date(int(digits[4:]), int(digits[:2]), int(digits[2:4]))
        return date(2000 + int(digits[4:]), int(digits[:2]), int(digits[2:4]))
    except ValueError:
        return None


def sheet_date_from_name(name: str) -> dict[str, str | None]:
    """What a sheet's file name says: kind, date (+ how it was read), edition, retrieved_at.

    >>> sheet_date_from_name("20250719_151637__participatingAgencies07182025pm.xlsx")["date"]
    '2025-07-18'
    """
    out: dict[str, str | None] = {"kind": None, "date": None, "date_basis": None,
                                  "edition": None, "retrieved_at": None}
    base = Path(name).name
    p = _PREFIX_RE.match(base)
    if p:
        try:
            dt = datetime.strptime(p.group("d") + p.group("t"), "%Y%m%d%H%M%S")
            out["retrieved_at"] = dt.isoformat()
        except ValueError:
            pass
    m = _NAME_RE.search(base)
    if m:
        out["kind"] = m.group("kind").lower()
        out["edition"] = (m.group("ed") or "").lower() or None
        d = _mmdd(m.group("date"))
        if d is not None:
            out["date"] = d.isoformat()
            pattern = "MMDDYYYY" if len(m.group("date")) == 8 else "MMDDYY"
            out["date_basis"] = (f"file name: ICE publication date {m.group('date')}"
                                 f"{m.group('ed') or ''} ({pattern})")
    if out["date"] is None and out["retrieved_at"]:
        out["date"] = out["retrieved_at"][:10]
        out["date_basis"] = "file name: download timestamp prefix (no ICE date in the name)"
    if out["kind"] is None:
        low = base.lower()
        if "pending" in low:
            out["kind"] = "pending"
        elif "participating" in low:
            out["kind"] = "participating"
    return out


# -- sheet parsing --------------------------------------------------------------------------


def _load(source: bytes | str | Path, data_only: bool):
    import openpyxl  # noqa: PLC0415
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    stream = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    try:
        return openpyxl.load_workbook(stream, data_only=data_only)
    except (InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise Ice287gError(f"not a readable .xlsx workbook: {exc}") from exc
    except Exception as exc:  # zipfile.BadZipFile and friends
        raise Ice287gError(f"not a readable .xlsx workbook: {type(exc).__name__}: {exc}"
                           ) from exc


def _is_formula(cell: Any) -> bool:
    """A formula cell (text typed with a leading '=' is stored as text, not a formula)."""
    return getattr(cell, "data_type", None) == "f"


def _is_blank(values: Iterable[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _find_header(rows: list[tuple[Any, ...]]) -> int | None:
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        fields = {COLUMN_NAMES.get(_header_key(_text(v))) for v in row if _text(v).strip()}
        if "agency" in fields and ("state" in fields or "support_type" in fields):
            return i
    return None


def _kind_from_text(text: str) -> str | None:
    t = text.lower()
    pend = "pending" in t
    part = "participating" in t or "participant" in t
    if pend and not part:
        return "pending"
    if part and not pend:
        return "participating"
    return None


def parse_287g_sheet(path_or_bytes: bytes | str | Path, *, sheet_date: str | None = None,
                     name: str | None = None) -> Sheet287g:
    """Read one ICE 287(g) participating or pending workbook.

    ``sheet_date`` (ISO) overrides the date read from the file name.  ``name`` is the file
    name to read the date from when ``path_or_bytes`` is bytes (defaults to the path's name).
    Raises ``Ice287gError`` for input that is not an .xlsx workbook; every other problem is a
    warning, a row flag or an ``unread_rows`` entry.
    """
    if name is None and not isinstance(path_or_bytes, bytes | bytearray):
        name = Path(path_or_bytes).name
    fn = sheet_date_from_name(name) if name else {}
    warnings: list[str] = []

    if sheet_date is not None:
        try:
            sheet_date = date.fromisoformat(sheet_date).isoformat()
        except ValueError as exc:
            raise Ice287gError(f"sheet_date must be an ISO date, got {sheet_date!r}") from exc
        date_basis: str | None = "argument"
        if fn.get("date") and fn["date"] != sheet_date:
            warnings.append(f"sheet_date argument {sheet_date} differs from the file name's "
                            f"{fn['date']} ({fn['date_basis']})")
    else:
        sheet_date = fn.get("date")
        date_basis = fn.get("date_basis")

    wb = _load(path_or_bytes, data_only=False)
    # the first worksheet whose header looks like a 287(g) table
    chosen = None
    for ws in wb.worksheets:
        rows = list(ws.iter_rows(values_only=True))
        h = _find_header(rows)
        if h is not None:
            if chosen is None:
                chosen = (ws, rows, h)
            else:
                warnings.append(f"worksheet {ws.title!r} also has a 287(g) header: not read")
    if chosen is None:
        ws = wb.worksheets[0]
        rows = list(ws.iter_rows(values_only=True))
        sheet = Sheet287g(kind=fn.get("kind"), kind_basis="file name (no header row found)"
                          if fn.get("kind") else "unknown (no header row, no file name)",
                          sheet_date=sheet_date, sheet_date_basis=date_basis, columns=[],
                          rows=[], warnings=warnings, source=name, edition=fn.get("edition"),
                          retrieved_at=fn.get("retrieved_at"), worksheet=ws.title,
                          last_row=ws.max_row if rows else 0)
        warnings.append(f"no 287(g) header row (STATE / LAW ENFORCEMENT AGENCY ...) in the first "
                        f"{HEADER_SEARCH_ROWS} rows of any worksheet")
        for i, row in enumerate(rows, start=1):
            if _is_blank(row):
                sheet.blank_rows += 1
                sheet.blank_row_numbers.append(i)
            else:
                sheet.unread_rows.append(UnreadRow(i, "no header row found", {
                    _column_letter(j): _text(v) for j, v in enumerate(row) if _text(v).strip()}))
        return sheet
    ws, rows, h = chosen

    header = [_text(v) for v in rows[h]]
    columns: list[str] = []
    col_field: dict[int, str] = {}  # column index -> field
    col_label: dict[int, str] = {}  # column index -> published header (or "(column X)")
    column_fields: dict[str, str] = {}
    for j, raw in enumerate(header):
        label = raw.strip()
        if not label:
            continue
        columns.append(label)
        col_label[j] = label
        f = COLUMN_NAMES.get(_header_key(label))
        if f is None:
            warnings.append(f"unknown column {label!r} kept in Row287g.extra")
            continue
        if f in col_field.values():
            warnings.append(f"second {f!r} column {label!r}: kept in Row287g.extra")
            continue
        col_field[j] = f
        column_fields[label] = f

    preamble = [" | ".join(_text(v).strip() for v in r if _text(v).strip()) for r in rows[:h]]
    title = " ".join(p for p in preamble if p)
    kind = None
    kind_basis = ""
    if title and _kind_from_text(title):
        kind = _kind_from_text(title)
        kind_basis = f"title above the header: {title[:120]!r}"
    elif _kind_from_text(ws.title or ""):
        kind = _kind_from_text(ws.title)
        kind_basis = f"worksheet name {ws.title!r}"
    else:
        has = {f for f in col_field.values()}
        if has & {"signed", "moa"}:
            kind = "participating"
            named = [c for c, f in column_fields.items() if f in ("signed", "moa")]
            kind_basis = (f"columns: {' and '.join(named)} present (only the participating "
                          "sheets carry a signed date / MOA link)")
        else:
            kind = "pending"
            kind_basis = ("columns: no SIGNED or MOA column (the pending sheets list agencies "
                          "without a signed agreement)")
    if fn.get("kind") and fn["kind"] != kind:
        warnings.append(f"kind {kind!r} read from the content ({kind_basis}) but the file name "
                        f"says {fn['kind']!r}")

    formulas = any(_is_formula(c) for r in ws.iter_rows(min_row=h + 2) for c in r)
    cached = None
    if formulas:
        src = path_or_bytes if not isinstance(path_or_bytes, bytearray) else bytes(path_or_bytes)
        cached = _load(src, data_only=True)[ws.title]

    sheet = Sheet287g(kind=kind, kind_basis=kind_basis, sheet_date=sheet_date,
                      sheet_date_basis=date_basis, columns=columns, rows=[], warnings=warnings,
                      source=name, edition=fn.get("edition"),
                      retrieved_at=fn.get("retrieved_at"), worksheet=ws.title,
                      header_row=h + 1, column_fields=column_fields, preamble=preamble,
                      last_row=ws.max_row)
    max_year = int(sheet_date[:4]) if sheet_date else None

    for cells in ws.iter_rows(min_row=h + 2, max_row=ws.max_row):
        row_number = cells[0].row if cells else 0
        values = [c.value for c in cells]
        if _is_blank(values):
            sheet.blank_rows += 1
            sheet.blank_row_numbers.append(row_number)
            continue
        published = {col_label.get(j, f"(column {_column_letter(j)})"): _text(v)
                     for j, v in enumerate(values) if _text(v).strip()}
        try:
            row = _read_row(cells, col_field, col_label, row_number, max_year, cached)
        except Exception as exc:  # never lose a row: report it
            sheet.unread_rows.append(UnreadRow(row_number, f"{type(exc).__name__}: {exc}",
                                               published))
            warnings.append(f"row {row_number}: could not be read ({type(exc).__name__}: {exc})")
            continue
        if row is None:
            if [_header_key(v) for v in published.values()] == [
                    _header_key(c) for c in columns][:len(published)]:
                reason = "repeated header row"
            else:
                reason = "no agency name"
            sheet.unread_rows.append(UnreadRow(row_number, reason, published))
            warnings.append(f"row {row_number}: {reason}: {published}")
            continue
        sheet.rows.append(row)

    if sheet.lost_rows:
        warnings.append(f"{sheet.lost_rows} rows not accounted for")  # pragma: no cover
    _flag_duplicates(sheet)
    return sheet


def _hyperlink(cell: Any, cached_value: Any = None) -> tuple[str | None, str | None, list[str]]:
    """(url as stored, text, flags) for a cell's hyperlink or HYPERLINK() formula."""
    flags: list[str] = []
    value = cell.value
    if _is_formula(cell) and isinstance(value, str):
        m = _HYPERLINK_FORMULA_RE.match(value)
        if m:
            flags.append("hyperlink_formula: read from =HYPERLINK()")
            text = m.group("text") if m.group("text") is not None else _text(cached_value)
            return m.group("url") or None, text, flags
    link = getattr(cell, "hyperlink", None)
    if link is not None:
        target = getattr(link, "target", None)
        if target:
            return target, None, flags
        loc = getattr(link, "location", None)
        if loc:
            flags.append(f"internal_link: hyperlink points inside the workbook ({loc!r})")
    return None, None, flags


def _read_link_cell(cell: Any, cached_value: Any, what: str
                    ) -> tuple[str | None, list[str], list[str], list[str]]:
    """(cell text, urls unwrapped, urls as stored, flags) for an MOA/ADDENDUM cell."""
    stored, formula_text, flags = _hyperlink(cell, cached_value)
    flags = [f"{what}_{f}" for f in flags]
    value = cell.value
    if _is_formula(cell):
        text = formula_text if formula_text is not None else _text(cached_value)
    else:
        text = _text(value)
    raw_urls: list[str] = []
    if stored:
        raw_urls.append(stored.strip())
    for u in _URL_RE.findall(text or ""):
        u = u.rstrip(").,;")
        if all(unwrap_safelinks(u) != unwrap_safelinks(r) for r in raw_urls):
            if stored:
                flags.append(f"{what}_text_url_differs: cell text has {u!r} besides the "
                             "hyperlink")
            else:
                flags.append(f"{what}_url_from_text: URL typed in the cell, no hyperlink")
            raw_urls.append(u)
    urls = []
    for r in raw_urls:
        u = unwrap_safelinks(r)
        if u != r:
            flags.append(f"{what}_safelinks_unwrapped: Outlook SafeLinks wrapper removed")
        urls.append(u)
    low = (text or "").lower()
    if not raw_urls and low.strip():
        if "pending" in low:
            pass  # "link pending": no document published yet, as the sheet says
        elif "link" in low or "addendum" in low:
            flags.append(f"{what}_no_hyperlink: cell text {text.strip()!r} has no hyperlink")
        else:
            flags.append(f"{what}_text: cell text {text.strip()!r} is not a link")
    if stored and "pending" in low:
        flags.append(f"{what}_link_on_pending_text: {text.strip()!r} carries a hyperlink")
    if what == "moa" and "addendum" in low:
        flags.append(f"moa_mentions_addendum: cell text {text.strip()!r}")
    return _clean(text), urls, raw_urls, flags


def _read_row(cells: tuple[Any, ...], col_field: dict[int, str], col_label: dict[int, str],
              row_number: int, max_year: int | None, cached: Any) -> Row287g | None:
    by_field: dict[str, Any] = {}
    for j, f in col_field.items():
        if j < len(cells):
            by_field[f] = cells[j]

    def cached_value(cell: Any) -> Any:
        if cached is None:
            return None
        return cached.cell(row=cell.row, column=cell.column).value

    def text_of(f: str) -> str | None:
        cell = by_field.get(f)
        if cell is None:
            return None
        v = cached_value(cell) if _is_formula(cell) else cell.value
        return _clean(_text(v))

    agency = text_of("agency")
    if agency is None:
        return None
    flags: list[str] = []
    state = text_of("state")
    code, sflag = state_code_for(state)
    if sflag:
        flags.append(sflag)
    if state is None:
        flags.append("state_missing: STATE cell is empty")
    support = text_of("support_type")
    model = _model_for(support)
    if support and model is None:
        flags.append(f"support_type_unknown: {support!r}")
    if "support_type" in by_field and not support:
        flags.append("support_type_missing: SUPPORT TYPE cell is empty")
    typ = text_of("type")
    if "type" in by_field and typ is None:
        flags.append("type_missing: TYPE cell is empty")
    county = text_of("county")
    if county and county.startswith("#"):
        flags.append(f"county_error_value: COUNTY shows the spreadsheet error {county!r}")

    signed_raw = signed = None
    if "signed" in by_field:
        cell = by_field["signed"]
        v = cell.value
        formula = v if _is_formula(cell) else None
        if formula is not None:
            v = cached_value(cell)
            flags.append(f"signed_formula: {formula!r}" + (
                "" if v is not None else " has no saved value; not evaluated"))
        signed_raw, signed, sflags = parse_signed(v, max_year=max_year)
        flags.extend(sflags)
        if signed_raw is None and formula is not None:
            signed_raw = str(formula)
        elif signed_raw is None:
            flags.append("signed_missing: SIGNED cell is empty")

    moa_text = moa_url = moa_url_raw = None
    if "moa" in by_field:
        cell = by_field["moa"]
        moa_text, urls, raws, mflags = _read_link_cell(cell, cached_value(cell), "moa")
        flags.extend(mflags)
        if urls:
            moa_url, moa_url_raw = urls[0], raws[0]
        if len(urls) > 1:
            flags.append(f"moa_several_urls: {urls[1:]}")
    add_text = None
    add_urls: list[str] = []
    add_raw: list[str] = []
    if "addendum" in by_field:
        cell = by_field["addendum"]
        add_text, add_urls, add_raw, aflags = _read_link_cell(cell, cached_value(cell),
                                                              "addendum")
        flags.extend(aflags)

    extra: dict[str, str] = {}
    published: dict[str, str] = {}
    for j, cell in enumerate(cells):
        t = _text(cell.value)
        label = col_label.get(j, f"(column {_column_letter(j)})")
        if t.strip():
            published[label] = t
        if j not in col_field and t.strip():
            extra[label] = t
        if j not in col_field and getattr(cell, "hyperlink", None) is not None:
            target = getattr(cell.hyperlink, "target", None)
            if target:
                extra[f"{label} (hyperlink)"] = unwrap_safelinks(target)
        if _is_formula(cell) and j not in col_field:
            flags.append(f"formula_cell: {label} holds a formula {cell.value!r}")

    return Row287g(state=state, agency=agency, type=typ, county=county, support_type=support,
                   signed_raw=signed_raw, signed=signed, moa_url=moa_url, addendum_urls=add_urls,
                   row_number=row_number, extra=extra, flags=flags, state_code=code, model=model,
                   moa_text=moa_text, moa_url_raw=moa_url_raw, addendum_text=add_text,
                   addendum_urls_raw=add_raw, cells=published)


def _flag_duplicates(sheet: Sheet287g) -> None:
    by_key: dict[tuple[str, str, str], list[Row287g]] = defaultdict(list)
    for r in sheet.rows:
        by_key[r.key].append(r)
    for key, rows in by_key.items():
        if len(rows) < 2:
            continue
        nums = [r.row_number for r in rows]
        sheet.warnings.append(f"rows {nums}: same state, agency and model {key}")
        for r in rows:
            others = [n for n in nums if n != r.row_number]
            r.flags.append(f"duplicate_key: same state, agency and model also on row(s) {others}")


# -- history across versions ----------------------------------------------------------------


@dataclass
class Listing287g:
    """One appearance of an agreement in one version (the evidence: file and row)."""

    sheet_date: str
    kind: str
    source: str | None
    row_number: int
    agency: str | None
    signed_raw: str | None
    signed: str | None
    moa_url: str | None
    addendum_urls: list[str] = field(default_factory=list)
    version_index: int = 0  # position of its version among the sheets given, oldest = 0


@dataclass
class ListingSpan:
    """An unbroken run of versions of one kind that list the agreement."""

    kind: str
    first: str  # sheet_date of the first version in the run
    last: str  # sheet_date of the last version in the run
    sheets: int  # versions in the run
    first_source: str | None = None
    last_source: str | None = None


@dataclass
class SignedSeen:
    """One SIGNED value (ISO + as published) and the versions that carried it."""

    signed: str | None
    signed_raw: str | None
    first_seen: str
    last_seen: str
    sheets: int


@dataclass
class SignedChange:
    """The set of SIGNED values on the participating sheet changed between two versions."""

    sheet_date: str  # the first version with the new value(s)
    source: str | None
    before: list[str | None]
    after: list[str | None]


@dataclass
class SeenValue:
    """A URL and the first/last version that carried it."""

    value: str
    first_seen: str
    last_seen: str
    sheets: int


@dataclass
class RenameHint:
    """Another agreement that may be this one under a new name (a hint, never merged).

    Offered when one name stops being listed in a version and the other starts being listed in
    that same version, with the same model and kind, and the same SIGNED date, the same
    resolver agency_id or similar names (``similarity``: ``name_similarity``, 0-1, on the
    words that name the place, not the kind of body), in the same state - or the same name and
    SIGNED date in another state (Ellis County Sheriff's Office, Warrant Service Officer,
    signed 2025-07-07: TEXAS to 11 July 2025, KANSAS from 14 July; the sheets do not say
    whether that is a correction).  ``kind`` "pending->participating": a name dropped from the
    pending sheet and another (same state, model; same agency_id or similar name) first listed
    as participating no earlier.
    """

    agency: str
    agency_norm: str
    kind: str
    sheet_date: str  # the version where the switch happened
    signed: str | None
    same_signed: bool
    similarity: float
    same_agency_id: bool = False  # the resolver gives both names one agency_id


@dataclass
class History287g:
    """One agreement (state + agency + model) across the dated versions given.

    ``left_program``: listed as participating at some time, but not on the newest participating
    version given (``left_program_by`` = date of the first participating version without it).
    ``pending_since``: on the newest pending version; the first date of that unbroken pending
    run.  ``became_participating``: the first participating listing that follows a pending one.
    ``agency_id``/``agency_kind``: the organisation resolver's answer for ``resolved_name``
    (the agency name with the state code appended when the name carries no code of its own).
    """

    state: str
    agency: str
    agency_norm: str
    support_type: str | None
    model: str | None
    first_listed: str
    last_listed: str
    listed_as: list[ListingSpan]
    signed_seen: list[SignedSeen]
    signed_changes: list[SignedChange]
    moa_urls: list[SeenValue]
    addendum_urls: list[SeenValue]
    left_program: bool
    pending_since: str | None
    agency_id: str | None = None
    agency_kind: str | None = None
    resolver_rule: str | None = None
    resolver_status: str | None = None
    resolved_name: str | None = None
    state_name: str | None = None  # as published (latest)
    names_seen: list[str] = field(default_factory=list)
    first_participating: str | None = None
    last_participating: str | None = None
    first_pending: str | None = None
    last_pending: str | None = None
    left_program_by: str | None = None
    dropped_from_pending: bool = False
    became_participating: str | None = None
    on_newest_participating: bool = False
    on_newest_pending: bool = False
    listings: list[Listing287g] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    # the same agreement under another name? (hints for a human, never merged)
    possible_successors: list[RenameHint] = field(default_factory=list)
    possible_predecessors: list[RenameHint] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.state, self.agency_norm, self.model or (self.support_type or "").upper())


def _resolve(resolver: Any, agency: str, code: str | None) -> tuple[str, Any]:
    """Resolve the agency, appending the sheet's state code when the name has none."""
    name = agency
    if code and not re.search(rf"(?<![A-Za-z]){code}(?![A-Za-z])", agency):
        name = f"{agency} {code}"
    return name, resolver.resolve(name)


def agreement_history(sheets: Iterable[Sheet287g], *, resolver: Any = None
                      ) -> list[History287g]:
    """One ``History287g`` per (state, normalised agency, model) across dated versions.

    Every sheet needs ``kind`` and ``sheet_date`` (else ``Ice287gError``).  Versions are
    ordered by ``Sheet287g.order_key`` (date, am before pm, download time).  ``resolver``
    (e.g. ``alpr_inventory.resolve.resolver.default_resolver()``) is passed in by the caller,
    so this parser imports no resolver; ``None`` or ``False`` skips resolution.
    Results are sorted by state, agency, model.
    """
    sheets = sorted(sheets, key=lambda s: s.order_key)
    for s in sheets:
        if s.kind not in KINDS:
            raise Ice287gError(f"{s.source or 'sheet'}: kind is {s.kind!r}; history needs "
                               "participating or pending")
        if not s.sheet_date:
            raise Ice287gError(f"{s.source or 'sheet'}: no sheet_date (pass sheet_date=...)")

    seq = {k: [s for s in sheets if s.kind == k] for k in KINDS}
    index = {k: {id(s): i for i, s in enumerate(v)} for k, v in seq.items()}
    version = {id(s): i for i, s in enumerate(sheets)}  # position among all versions

    # key -> kind -> {sheet index -> rows}
    seen: dict[tuple[str, str, str], dict[str, dict[int, list[Row287g]]]] = defaultdict(
        lambda: {k: defaultdict(list) for k in KINDS})
    for s in sheets:
        i = index[s.kind][id(s)]
        for r in s.rows:
            seen[r.key][s.kind][i].append(r)

    out: list[History287g] = []
    for key, by_kind in seen.items():
        listings: list[Listing287g] = []
        spans: list[ListingSpan] = []
        flags: list[str] = []
        names: list[str] = []
        latest_row: Row287g | None = None
        latest_version = -1
        for kind in KINDS:
            idxs = sorted(by_kind[kind])
            run: list[int] = []
            for i in idxs + [None]:
                if run and (i is None or i != run[-1] + 1):
                    a, b = seq[kind][run[0]], seq[kind][run[-1]]
                    spans.append(ListingSpan(kind, a.sheet_date, b.sheet_date, len(run),
                                             a.source, b.source))
                    run = []
                if i is not None:
                    run.append(i)
            for i in idxs:
                s = seq[kind][i]
                rows = by_kind[kind][i]
                if len(rows) > 1:
                    flags.append(f"{s.sheet_date} {kind} ({s.source}): listed on rows "
                                 f"{[r.row_number for r in rows]}")
                for r in rows:
                    listings.append(Listing287g(s.sheet_date, kind, s.source, r.row_number,
                                                r.agency, r.signed_raw, r.signed, r.moa_url,
                                                list(r.addendum_urls), version[id(s)]))
                    if r.agency and r.agency not in names:
                        names.append(r.agency)
                    if version[id(s)] >= latest_version:
                        latest_version, latest_row = version[id(s)], r
        spans.sort(key=lambda sp: (sp.first, sp.kind != "pending", sp.last))
        listings.sort(key=lambda li: (li.version_index, li.row_number))
        assert latest_row is not None

        part = [li for li in listings if li.kind == "participating"]
        pend = [li for li in listings if li.kind == "pending"]
        part_idx = sorted(by_kind["participating"])
        pend_idx = sorted(by_kind["pending"])
        n_part, n_pend = len(seq["participating"]), len(seq["pending"])
        on_new_part = bool(part_idx) and part_idx[-1] == n_part - 1
        on_new_pend = bool(pend_idx) and pend_idx[-1] == n_pend - 1
        left = bool(part_idx) and not on_new_part
        left_by = seq["participating"][part_idx[-1] + 1].sheet_date if left else None
        pending_since = None
        if on_new_pend:
            j = len(pend_idx) - 1
            while j > 0 and pend_idx[j - 1] == pend_idx[j] - 1:
                j -= 1
            pending_since = seq["pending"][pend_idx[j]].sheet_date
        became = None
        if pend and part:
            became = next((li.sheet_date for li in part
                           if li.version_index > pend[0].version_index), None)
        dropped = bool(pend_idx) and not on_new_pend and not (
            part and part[-1].version_index > pend[-1].version_index)

        signed_seen: dict[tuple[str | None, str | None], SignedSeen] = {}
        changes: list[SignedChange] = []
        prev: list[str | None] | None = None
        for i in part_idx:
            s = seq["participating"][i]
            vals: list[str | None] = []
            for r in by_kind["participating"][i]:
                k = (r.signed, r.signed_raw)
                if k in signed_seen:
                    signed_seen[k].last_seen = s.sheet_date
                    signed_seen[k].sheets += 1
                else:
                    signed_seen[k] = SignedSeen(r.signed, r.signed_raw, s.sheet_date,
                                                s.sheet_date, 1)
                v = r.signed or (f"raw:{r.signed_raw}" if r.signed_raw else None)
                if v not in vals:
                    vals.append(v)
            vals.sort(key=lambda x: x or "")
            if prev is not None and vals != prev:
                changes.append(SignedChange(s.sheet_date, s.source, prev, vals))
            prev = vals

        def seen_urls(attr: str, listings: list[Listing287g] = listings) -> list[SeenValue]:
            acc: dict[str, SeenValue] = {}
            last_counted: dict[str, int] = {}
            for li in listings:
                vals = getattr(li, attr)
                vals = [vals] if isinstance(vals, str) else (vals or [])
                ok = li.version_index
                for u in vals:
                    if u not in acc:
                        acc[u] = SeenValue(u, li.sheet_date, li.sheet_date, 1)
                    elif last_counted.get(u) != ok:
                        acc[u].last_seen = li.sheet_date
                        acc[u].sheets += 1
                    last_counted[u] = ok
            return list(acc.values())

        code = latest_row.state_code
        h = History287g(
            state=key[0], agency=latest_row.agency or "", agency_norm=key[1],
            support_type=latest_row.support_type, model=latest_row.model,
            first_listed=listings[0].sheet_date, last_listed=listings[-1].sheet_date,
            listed_as=spans, signed_seen=list(signed_seen.values()), signed_changes=changes,
            moa_urls=seen_urls("moa_url"), addendum_urls=seen_urls("addendum_urls"),
            left_program=left, pending_since=pending_since, state_name=latest_row.state,
            names_seen=names,
            first_participating=part[0].sheet_date if part else None,
            last_participating=part[-1].sheet_date if part else None,
            first_pending=pend[0].sheet_date if pend else None,
            last_pending=pend[-1].sheet_date if pend else None,
            left_program_by=left_by, dropped_from_pending=dropped, became_participating=became,
            on_newest_participating=on_new_part, on_newest_pending=on_new_pend,
            listings=listings, flags=flags)
        if len(spans) > 1 and sum(1 for sp in spans if sp.kind == "participating") > 1:
            h.flags.append("participating listing has gaps (left and came back)")
        if resolver not in (None, False) and latest_row.agency:
            name, res = _resolve(resolver, latest_row.agency, code)
            h.resolved_name = name
            h.agency_id, h.agency_kind = res.agency_id, res.kind
            h.resolver_rule, h.resolver_status = res.rule, res.status
            if code and res.state and res.state != code:
                h.flags.append(f"resolver_state_mismatch: resolver says {res.state}, sheet "
                               f"says {code}")
        out.append(h)
    _rename_hints(out, seq, version)
    out.sort(key=lambda h: h.key)
    return out


RENAME_SIMILARITY = 0.8  # name similarity that alone makes a rename hint
# words that say what kind of body it is, not which one: left out of the name similarity so
# "San Jacinto County Sheriff's Office" is not "similar" to "Angelina County Sheriff's Office"
_GENERIC_WORDS = frozenset(
    "the of and city town village borough county parish township twp state sheriff sheriffs "
    "office police department dept services division law enforcement constable constables "
    "corrections correctional detention center jail patrol commission board commissioners "
    "authority agency".split())


def _distinctive(norm: str) -> str:
    """The words of a normalised name that are not generic (typos of generic words too)."""
    words = [w for w in norm.split()
             if not any(w == g or (len(w) > 4 and len(g) > 4
                                   and difflib.SequenceMatcher(None, w, g).ratio() >= 0.8)
                        for g in _GENERIC_WORDS)]
    return " ".join(words) or norm


def name_similarity(a_norm: str, b_norm: str) -> float:
    """difflib ratio (0-1) of the distinctive words of two normalised agency names."""
    return round(difflib.SequenceMatcher(None, _distinctive(a_norm), _distinctive(b_norm))
                 .ratio(), 2)


def _rename_hints(histories: list[History287g], seq: dict[str, list[Sheet287g]],
                  version: dict[int, int]) -> None:
    """Pair agreements that stop being listed with ones first listed in the next version."""
    # per kind: version_index -> position among the versions of that kind
    pos = {k: {version[id(s)]: i for i, s in enumerate(v)} for k, v in seq.items()}
    for kind in KINDS:
        ends: dict[int, list[History287g]] = defaultdict(list)  # next version index -> gone
        starts: dict[int, list[History287g]] = defaultdict(list)  # version index -> new
        for h in histories:
            idx = sorted({pos[kind][li.version_index] for li in h.listings
                          if li.kind == kind})
            for j, i in enumerate(idx):  # every run: its start and the version after its end
                if i > 0 and (j == 0 or idx[j - 1] != i - 1):
                    starts[i].append(h)
                if i < len(seq[kind]) - 1 and (j == len(idx) - 1 or idx[j + 1] != i + 1):
                    ends[i + 1].append(h)

        def signed_set(h: History287g, i: int, kind: str = kind) -> set[str]:
            v = version[id(seq[kind][i])]
            return {li.signed for li in h.listings if li.version_index == v and li.signed}

        for i, gone in ends.items():
            for old in gone:
                for new in starts.get(i, []):
                    if old.model != new.model:
                        continue
                    a, b = signed_set(old, i - 1), signed_set(new, i)
                    same = bool(a & b)
                    if old.state != new.state and not (same
                                                       and old.agency_norm == new.agency_norm):
                        continue  # another state: only the same name and date (a state fix)
                    sim = name_similarity(old.agency_norm, new.agency_norm)
                    same_id = bool(old.agency_id) and old.agency_id == new.agency_id
                    if not same and not same_id and sim < RENAME_SIMILARITY:
                        continue
                    date_i = seq[kind][i].sheet_date
                    old.possible_successors.append(RenameHint(
                        new.agency, new.agency_norm, kind, date_i, min(b) if b else None,
                        same, sim, same_id))
                    new.possible_predecessors.append(RenameHint(
                        old.agency, old.agency_norm, kind, date_i, min(a) if a else None,
                        same, sim, same_id))
    # pending under one name, participating under another (Arkansas State Police ->
    # Arkansas State Police Department, July 2025): same state and model, first participating
    # no earlier than the last pending listing, and one agency_id or similar names
    for old in histories:
        if not old.dropped_from_pending or old.last_pending is None:
            continue
        for new in histories:
            if (new is old or (new.state, new.model) != (old.state, old.model)
                    or new.first_participating is None
                    or new.first_participating < old.last_pending):
                continue
            if new.first_pending is not None and new.first_pending <= old.last_pending:
                continue  # was itself pending alongside: not the same agreement renamed
            if any(x.agency_norm == new.agency_norm for x in old.possible_successors):
                continue  # already hinted as a rename on the pending sheet
            sim = name_similarity(old.agency_norm, new.agency_norm)
            same_id = bool(old.agency_id) and old.agency_id == new.agency_id
            if not same_id and sim < RENAME_SIMILARITY:
                continue
            first = next(li for li in new.listings if li.kind == "participating")
            old.possible_successors.append(RenameHint(
                new.agency, new.agency_norm, "pending->participating", first.sheet_date,
                first.signed, False, sim, same_id))
            new.possible_predecessors.append(RenameHint(
                old.agency, old.agency_norm, "pending->participating", first.sheet_date,
                None, False, sim, same_id))
    for h in histories:
        for hints in (h.possible_successors, h.possible_predecessors):
            hints.sort(key=lambda r: (-r.same_signed, -r.same_agency_id, -r.similarity))


def is_287g_sheet(sheet: Sheet287g) -> bool:
    """A parsed workbook is ICE's 287(g) list when it has the agency and model columns."""
    keys = {c.strip().upper() for c in sheet.columns}
    return "LAW ENFORCEMENT AGENCY" in keys and "SUPPORT TYPE" in keys


def try_287g(body: bytes, name: str | None) -> Sheet287g | None:
    try:
        sheet = parse_287g_sheet(body, name=Path(name).name if name else None)
    except Exception:  # not an ICE workbook at all: the other workbook parsers decide
        return None
    return sheet if is_287g_sheet(sheet) else None
