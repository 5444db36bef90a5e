"""The public search-audit CSV that portals embed as a ``data:`` link.

The columns are chosen by each agency, so the parser reads the header and maps the names it
knows; anything else is kept in ``AuditRow.extra`` (schema discovery, nothing dropped). Header
variants seen in the corpus (flock/FORMAT.md section 4 and the 240 embedded audits in the 536
classic captures): ``id,userId,searchDate`` followed by ``networkCount`` (2026) or ``cameraCount``
(Eugene OR, 2025) and any of ``reason``, ``caseNumber``, ``offenseType`` in any order.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes

from parsers.model import AuditRow

# Recorded with every document this parser reads (Flock search-audit CSV exports):
# raise it when what it reads changes, and `reparse` reads them again.
PARSER_VERSION = "audit_csv/1"

__all__ = ["KNOWN_COLUMNS", "decode_data_uri", "looks_like_audit_header", "normalise_search_date",
           "parse_audit_records", "parse_search_audit_csv", "percent_decode", "split_quoted_csv"]

# Published column name (compared case-insensitively, ignoring spaces/underscores) -> AuditRow
# field.
KNOWN_COLUMNS: dict[str, str] = {
    "id": "search_id",
    "searchid": "search_id",
    "userid": "user_id",
    "searchdate": "searched_at",
    "searchdate(utc/zulu)": "searched_at",  # Yuba County's accumulated workbook
    "searchdate(utc)": "searched_at",
    "searchtime": "searched_at",
    "networkcount": "network_count",
    "totalnetworkssearched": "network_count",
    "cameracount": "camera_count",
    "totaldevicessearched": "camera_count",
    "reason": "reason",
    "casenumber": "case_number",
    "case#": "case_number",
    "offensetype": "offense_type",
    "orgname": "org_name",
    "searchtype": "search_type",
    "licenseplate": "plate",  # hashed on the way in, never kept (see parse_audit_records)
    "plate": "plate",
}
_INT_FIELDS = {"network_count", "camera_count"}

_NAIVE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$")
_UTC_Z_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*Z$", re.I)
_OFFSET_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.(\d+))?)?)\s*([+-]\d{2}:?\d{2})$"
)
_INT_RE = re.compile(r"^[+]?\d{1,3}(?:,\d{3})+$|^[+]?\d+$")
# The searchDate form of every 2026 portal audit, already ISO-8601 UTC: kept as published.
_ISO_Z_MS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def percent_decode(payload: str, fast: bool = True) -> bytes:
    """``%XX`` escapes -> bytes, exactly as ``urllib.parse.unquote_to_bytes`` (other text as
    UTF-8, a '%' not followed by two hex digits kept as is), but 15-20 times faster on the
    megabyte-sized audit links, decoded in C (binascii, codecs) instead of a Python step per
    escape. A payload the C decoders cannot take exactly takes the standard-library path;
    ``fast=False`` always takes it (scripts/bench_portals.py and the tests check they agree).
    """
    if fast:
        # 1. quoted-printable in C: '%' read as '=' (literal '=' written '=3D' first). Only for
        # text without line ends (QP drops "=\n") and ASCII (a2b_qp refuses the rest); a '%'
        # that is no escape would come out as '=': then each '%' did not shrink 3 -> 1, and
        # the length check sends the text on to the next path.
        if "\n" not in payload and "\r" not in payload:
            try:
                out = binascii.a2b_qp(payload.replace("=", "=3D").replace("%", "="))
            except ValueError:
                out = None
            if out is not None and len(out) == len(payload) - 2 * payload.count("%"):
                return out
        # 2. the escapes as \xXX, decoded by codecs.escape_decode (backslashes escaped first)
        try:
            raw = payload.encode("utf-8")
            return codecs.escape_decode(raw.replace(b"\\", b"\\\\").replace(b"%", b"\\x"))[0]
        except (UnicodeEncodeError, ValueError):
            pass
    return unquote_to_bytes(payload)


def decode_data_uri(href: str, fast: bool = True) -> str:
    """Return the text of a ``data:`` URI.

    Flock writes ``data:text/csv;charset=utf-8,%22id%22%2C...``: percent-encoded, not base64.
    ``;base64`` URIs are decoded too. '+' stays '+' (this is not form encoding).
    Raises ValueError when ``href`` is not a data URI. ``fast``: see `percent_decode`.
    """
    if not href[:5].lower() == "data:":
        raise ValueError(f"not a data: URI: {href[:40]!r}")
    meta, sep, payload = href[5:].partition(",")
    if not sep:
        raise ValueError("data: URI without a comma")
    params = [p.strip() for p in meta.split(";")]
    is_base64 = bool(params) and params[-1].lower() == "base64"
    charset = "utf-8"
    for p in params[1:]:
        key, _, value = p.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    raw = percent_decode(payload, fast)
    if is_base64:
        compact = b"".join(raw.split())
        raw = base64.b64decode(compact + b"=" * (-len(compact) % 4))
    try:
        return raw.decode(charset, errors="replace")
    except LookupError:
        return raw.decode("utf-8", errors="replace")


def normalise_search_date(raw: str) -> tuple[str | None, bool]:
    """Return (ISO-8601 UTC with 'Z', was_naive). Digits are kept as published (no rounding).

    ``2026-03-12T08:26:53.735Z`` stays as is; ``2025-06-18 00:02:04.789`` (tz-naive, Eugene 2025)
    becomes ``2025-06-18T00:02:04.789Z`` and was_naive is True; offsets are converted to UTC.
    """
    value = raw.strip()
    # fast paths for the two forms seen in millions of rows; anything else takes the regexes
    if len(value) in (23, 24) and value[19:20] == "." and _digits_at_fixed_places(value):
        if len(value) == 24 and value[10] == "T" and value[23] == "Z":
            return value, False  # "2026-03-12T08:26:53.735Z"
        if len(value) == 23 and value[10] == " ":
            return f"{value[:10]}T{value[11:]}Z", True  # Eugene's "2025-06-18 00:02:04.789"
    m = _UTC_Z_RE.match(value)
    if m:
        return f"{m.group(1)}T{m.group(2)}Z", False
    m = _NAIVE_RE.match(value)
    if m:
        return f"{m.group(1)}T{m.group(2)}Z", True
    m = _OFFSET_RE.match(value)
    if m:
        offset = m.group(4)
        if ":" not in offset:
            offset = offset[:3] + ":" + offset[3:]
        try:
            dt = datetime.fromisoformat(f"{m.group(1)}T{m.group(2)}{offset}").astimezone(UTC)
        except ValueError:
            return None, False
        fraction = m.group(3)
        if fraction:
            digits = len(fraction)
            frac = f"{dt.microsecond:06d}"[:digits] if digits <= 6 else fraction
            return dt.strftime("%Y-%m-%dT%H:%M:%S.") + frac + "Z", False
        return dt.strftime("%Y-%m-%dT%H:%M:%S") + "Z", False
    return None, False


def _digits_at_fixed_places(v: str) -> bool:
    return (v[4] == v[7] == "-" and v[13] == v[16] == ":" and
            (v[:4] + v[5:7] + v[8:10] + v[11:13] + v[14:16] + v[17:19] + v[20:23]).isdigit())


def _column_key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).casefold()


def _to_int(text: str) -> int | None:
    value = text.strip()
    if _INT_RE.match(value):
        return int(value.replace(",", "").lstrip("+"))
    return None


def audit_header_fields(columns: list[str]) -> set[str]:
    """The known fields a header row maps to (to recognise an audit table by its content)."""
    return {f for f in (KNOWN_COLUMNS.get(_column_key(c)) for c in columns) if f}


def looks_like_audit_header(columns: list[str]) -> bool:
    fields = audit_header_fields(columns)
    return "search_id" in fields and "searched_at" in fields


def parse_search_audit_csv(
    text: str, hash_plate: Callable[[str], str] | None = None, fast: bool = True,
) -> tuple[list[str], list[AuditRow], list[str]]:
    """Parse an audit CSV into (columns as published, rows, warnings).

    Empty fields become None (except the id). Rows without an id are skipped and counted in a
    warning; warnings are aggregated per problem so a 4,000-row audit does not produce 4,000.
    ``fast``: see `parse_audit_records`.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    if fast and (split := split_quoted_csv(text)) is not None:
        header, data = split
        rows, warnings = parse_audit_records(header, [], hash_plate, fast, by_column=data)
        return header, rows, warnings
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        return [], [], ["search audit CSV is empty (no header)"]
    except csv.Error as exc:
        return [], [], [f"search audit CSV unreadable: {exc}"]
    rows, warnings = parse_audit_records(list(header), reader, hash_plate, fast)
    return list(header), rows, warnings


def _column(cols: list[list[str]] | list[tuple[str, ...]], i: int | None,
            n: int) -> list[str | None]:
    """One column, empty cells as None (an absent column: all None)."""
    if i is None:
        return [None] * n
    col = cols[i]
    return list(col) if all(col) else [v or None for v in col]


# "2026-03-12T08:26:53.735Z": the characters at fixed places (d: an ASCII digit)
_ISO_Z_MS_FORM = "dddd-dd-ddTdd:dd:dd.dddZ"


def _all_iso_z_ms(values: list[str] | tuple[str, ...]) -> bool:
    """Whether every value has exactly the form of _ISO_Z_MS, checked a column at a time with
    slices of the values joined (C-level string operations, no Python step per value)."""
    count, width = len(values), len(_ISO_Z_MS_FORM)
    joined = "\n".join(values)
    if len(joined) != count * (width + 1) - 1 or not joined.isascii():
        return False
    step = width + 1
    digits = []
    for at, char in enumerate(_ISO_Z_MS_FORM):
        column = joined[at::step]
        if char == "d":
            digits.append(column)
        elif column != char * count:
            return False
    return joined[width::step] == "\n" * (count - 1) and "".join(digits).isdigit()


def split_quoted_csv(text: str) -> tuple[list[str], list[list[str]]] | None:
    """(header, data columns) of a CSV written the way Flock writes its audits (every field
    quoted, no quote inside a field, one kind of line end, the same number of fields on every
    line), split with C-level string operations only; None for any other text, which
    csv.reader reads. For the text accepted, the fields are exactly csv.reader's: splitting at
    every quote alternates between field text and what lies between fields, and all of that
    is checked to be a comma or the line end (a field may hold commas and line ends)."""
    if not text.startswith('"') or "\0" in text:
        return None
    parts = text.split('"')  # ['', field, separator, field, ..., field, end]
    if len(parts) % 2 == 0:
        return None
    fields = (len(parts) - 1) // 2
    width = 1
    while 2 * width < len(parts) - 1 and parts[2 * width] == ",":
        width += 1
    end = parts[-1]
    newline = parts[2 * width] if 2 * width < len(parts) - 1 else end or "\n"
    if newline not in ("\n", "\r\n") or end not in ("", newline) or fields % width:
        return None
    lines = fields // width
    separators = parts[2:-1:2]  # after every field but the last
    if (separators[width - 1::width].count(newline) != lines - 1
            or separators.count(",") != fields - lines):
        return None
    header = parts[1:2 * width:2]
    return header, [parts[2 * (width + i) + 1::2 * width] for i in range(width)]


def _whole_table(cols: list[list[str]] | list[tuple[str, ...]], n: int, i_id: int,
                 *positions: int | None) -> tuple[list[AuditRow], list[str]] | None:
    """The fast path of parse_audit_records for a table whose every row has the header's width
    (`cols`: its data columns, `n` rows) and an id: column by column instead of cell by cell
    (the same AuditRows and warnings). None when the table is not like that (the general
    path reads it)."""
    if not n:
        return None
    ids = list(map(str.strip, cols[i_id]))
    if not all(ids):
        return None
    i_user, i_date, i_net, i_cam, i_reason, i_case, i_off, i_org, i_type = positions
    warnings: list[str] = []
    raws = _column(cols, i_date, n)
    if i_date is not None and _all_iso_z_ms(cols[i_date]):
        searched: list[str | None] = list(raws)  # every date already ISO-8601 UTC
    else:
        searched = []
        naive = bad = 0
        first_naive = first_bad = None
        for raw in raws:
            value = None
            if raw is not None and raw.strip():
                value, was_naive = normalise_search_date(raw)
                if value is None:
                    bad += 1
                    first_bad = first_bad or raw
                elif was_naive:
                    naive += 1
                    first_naive = first_naive or raw
            searched.append(value)
        if naive:
            warnings.append(f"search audit: {naive} searchDate value(s) without a time zone "
                            f"taken as UTC (e.g. {first_naive!r})")
        if bad:
            warnings.append(f"search audit: {bad} unparsable searchDate value(s) "
                            f"(e.g. {first_bad!r}); raw text kept")
    extras: list[dict[str, str]] = [{} for _ in range(n)]
    counts = []
    bad_int = 0
    first_bad_int = None
    for name, i in (("network_count", i_net), ("camera_count", i_cam)):
        if i is None:
            counts.append([None] * n)
            continue
        col = cols[i]
        if all(col) and "".join(col).isdigit():
            counts.append(list(map(int, col)))
            continue
        values: list[int | None] = []
        for text, extra in zip(col, extras, strict=True):
            if text.isdigit():
                values.append(int(text))
            elif not text.strip():
                values.append(None)
            else:
                value = _to_int(text)
                values.append(value)
                if value is None:
                    bad_int += 1
                    first_bad_int = first_bad_int or text
                    extra[f"{name}_raw"] = text
        counts.append(values)
    if bad_int:
        warnings.append(f"search audit: {bad_int} non-numeric count value(s) "
                        f"(e.g. {first_bad_int!r}); raw text kept in extra")
    rows = list(map(
        AuditRow, ids, _column(cols, i_user, n), searched, raws, counts[0], counts[1],
        _column(cols, i_reason, n), _column(cols, i_case, n), _column(cols, i_off, n), extras,
        _column(cols, i_org, n), _column(cols, i_type, n), [None] * n,
        [f"row {i}" for i in range(1, n + 1)]))
    # the general path's order of warnings: dates, then counts
    return rows, warnings


def parse_audit_records(
    columns: list[str],
    records: Iterable[list[str]],
    hash_plate: Callable[[str], str] | None = None,
    fast: bool = True,
    by_column: list[list[str]] | None = None,
) -> tuple[list[AuditRow], list[str]]:
    """Map rows of an audit table (CSV lines or spreadsheet rows, as text) to AuditRows.
    (``by_column``: the data given as columns instead, `records` ignored.)

    A plate column is passed through ``hash_plate`` (a keyed hash) and only the hash is kept;
    without a hasher the plates are dropped with a warning, never returned in clear.

    ``fast``: a row of the header's width, with an id, in a table whose every column is known
    and holds no plates (every portal audit seen so far) is mapped without the general
    per-cell checks; it gives the same AuditRow (scripts/bench_portals.py compares the two
    paths on every audit of the corpus). Any other row takes the general path.
    """
    warnings: list[str] = []
    fields: list[str | None] = []
    seen: set[str] = set()
    for name in columns:
        field_name = KNOWN_COLUMNS.get(_column_key(name))
        if field_name in seen:
            warnings.append(f"search audit: duplicate column {name!r} kept in extra")
            field_name = None
        if field_name:
            seen.add(field_name)
        fields.append(field_name)
    if "search_id" not in seen:
        warnings.append(f"search audit: no 'id' column in header {columns!r}")
    if "searched_at" not in seen:
        warnings.append("search audit: no 'searchDate' column")

    rows: list[AuditRow] = []
    no_id = naive = bad_date = bad_int = ragged = dropped_plates = 0
    first_naive = first_bad_date = first_bad_int = None
    # Column positions are worked out once, so each row is plain indexing (millions of rows).
    pos = {f: i for i, f in enumerate(fields) if f}
    unknown = [(i, columns[i]) for i, f in enumerate(fields) if not f]
    width = len(columns)
    i_id, i_user, i_date = pos.get("search_id"), pos.get("user_id"), pos.get("searched_at")
    i_net, i_cam = pos.get("network_count"), pos.get("camera_count")
    i_reason, i_case, i_off = pos.get("reason"), pos.get("case_number"), pos.get("offense_type")
    i_org, i_type, i_plate = pos.get("org_name"), pos.get("search_type"), pos.get("plate")

    def cell(record: list[str], i: int | None) -> str | None:
        if i is None or i >= len(record):
            return None
        return record[i] or None

    fast = fast and not unknown and i_plate is None and i_id is not None
    stopped: csv.Error | None = None  # a CSV error met while reading ahead for the fast path
    if by_column is not None:  # the data as columns (split_quoted_csv): rows only if needed
        whole = None if not fast else _whole_table(
            by_column, len(by_column[0]) if by_column else 0, i_id,  # type: ignore[arg-type]
            i_user, i_date, i_net, i_cam, i_reason, i_case, i_off, i_org, i_type)
        if whole is not None:
            rows, table_warnings = whole
            return rows, warnings + table_warnings
        records = [list(r) for r in zip(*by_column, strict=True)]
    elif fast:
        if not isinstance(records, list):
            read: list[list[str]] = []
            try:
                for record in records:
                    read.append(record)
            except csv.Error as exc:
                stopped = exc
            records = read
        whole = None
        if not stopped and records and set(map(len, records)) == {width}:
            whole = _whole_table(list(zip(*records, strict=True)), len(records), i_id,  # type: ignore[arg-type]
                                 i_user, i_date, i_net, i_cam, i_reason, i_case, i_off, i_org,
                                 i_type)
        if whole is not None:
            rows, table_warnings = whole
            return rows, warnings + table_warnings

    try:
        for line_no, record in enumerate(records, start=1):
            if fast and len(record) == width and (search_id := record[i_id].strip()):
                date_raw = record[i_date] or None if i_date is not None else None
                searched_at = None
                if date_raw is not None:
                    if _ISO_Z_MS.fullmatch(date_raw):
                        searched_at = date_raw  # what normalise_search_date returns for it
                    elif date_raw.strip():
                        searched_at, was_naive = normalise_search_date(date_raw)
                        if searched_at is None:
                            bad_date += 1
                            first_bad_date = first_bad_date or date_raw
                        elif was_naive:
                            naive += 1
                            first_naive = first_naive or date_raw
                extra_fast: dict[str, str] = {}
                net = record[i_net] if i_net is not None else ""
                if net.isdigit():
                    net_value: int | None = int(net)
                elif not net.strip():
                    net_value = None
                elif (net_value := _to_int(net)) is None:
                    bad_int += 1
                    first_bad_int = first_bad_int or net
                    extra_fast["network_count_raw"] = net
                cam = record[i_cam] if i_cam is not None else ""
                if cam.isdigit():
                    cam_value: int | None = int(cam)
                elif not cam.strip():
                    cam_value = None
                elif (cam_value := _to_int(cam)) is None:
                    bad_int += 1
                    first_bad_int = first_bad_int or cam
                    extra_fast["camera_count_raw"] = cam
                rows.append(AuditRow(
                    search_id,
                    record[i_user] or None if i_user is not None else None,
                    searched_at, date_raw, net_value, cam_value,
                    record[i_reason] or None if i_reason is not None else None,
                    record[i_case] or None if i_case is not None else None,
                    record[i_off] or None if i_off is not None else None,
                    extra_fast,
                    record[i_org] or None if i_org is not None else None,
                    record[i_type] or None if i_type is not None else None,
                    None, f"row {line_no}",
                ))
                continue
            if not any(record) or not "".join(record).strip():
                continue  # blank line (e.g. a trailing newline)
            if len(record) != width:
                ragged += 1
            extra = {name: record[i] for i, name in unknown if i < len(record)}
            for i in range(width, len(record)):
                extra[f"column_{i + 1}"] = record[i]
            search_id = (cell(record, i_id) or "").strip()
            if not search_id:
                no_id += 1
                continue
            date_raw = cell(record, i_date)
            searched_at = None
            if date_raw is not None and date_raw.strip():
                searched_at, was_naive = normalise_search_date(date_raw)
                if searched_at is None:
                    bad_date += 1
                    first_bad_date = first_bad_date or date_raw
                elif was_naive:
                    naive += 1
                    first_naive = first_naive or date_raw
            counts: list[int | None] = []
            for name, i in (("network_count", i_net), ("camera_count", i_cam)):
                text = cell(record, i)
                if text is None or not text.strip():
                    counts.append(None)
                    continue
                value = int(text) if text.isdigit() else _to_int(text)
                counts.append(value)
                if value is None:
                    bad_int += 1
                    first_bad_int = first_bad_int or text
                    extra[f"{name}_raw"] = text
            plate = (cell(record, i_plate) or "").strip()
            plate_hash = None
            if plate:
                if hash_plate is None:
                    dropped_plates += 1
                else:
                    plate_hash = hash_plate(plate)
            rows.append(AuditRow(
                search_id, cell(record, i_user), searched_at, date_raw, counts[0], counts[1],
                cell(record, i_reason), cell(record, i_case), cell(record, i_off), extra,
                cell(record, i_org), cell(record, i_type), plate_hash, f"row {line_no}",
            ))
        if stopped is not None:
            raise stopped
    except csv.Error as exc:
        warnings.append(f"search audit CSV stopped after data row {len(rows) + no_id}: {exc}")
    if dropped_plates:
        warnings.append(f"search audit: {dropped_plates} plate value(s) dropped (no plate hasher)")
    if no_id:
        warnings.append(f"search audit: {no_id} row(s) without an id skipped")
    if naive:
        warnings.append(f"search audit: {naive} searchDate value(s) without a time zone taken as "
                        f"UTC (e.g. {first_naive!r})")
    if bad_date:
        warnings.append(f"search audit: {bad_date} unparsable searchDate value(s) "
                        f"(e.g. {first_bad_date!r}); raw text kept")
    if bad_int:
        warnings.append(f"search audit: {bad_int} non-numeric count value(s) "
                        f"(e.g. {first_bad_int!r}); raw text kept in extra")
    if ragged:
        warnings.append(f"search audit: {ragged} row(s) with a different number of fields than "
                        "the header")
    return rows, warnings
