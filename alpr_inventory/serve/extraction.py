"""What the parsers extracted from one document, as JSON (`alpr-inventory parse FILE --json`).

Every parser's own record is printed through its dataclass fields (`dataclasses.asdict`), so the
output names exactly what the parser holds: portal pages of every layout, audit exports (CSV,
workbook, PDF: plate hashes only, never plates: `parse` runs without the plate key, so plate
columns are dropped), Flock sharing reports and workbooks, Vigilant reports, ICE 287(g) sheets,
agreement PDFs (parties, model, dates, provisions), peer datasets, released sharing lists and
records-portal API answers.

Portal pages are printed in full (one page is bounded: at most a few thousand names and audit
rows), so a page can be compared field by field with another reading of it. Other documents can
be long (an 809-page audit PDF is 40,000 rows): their lists are cut to the first `first` items
unless `full` (and so are mappings of many names, such as a peer dataset's lists by agency), and
`truncated` gives the full length of everything that was cut, by path.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from parsers.router import Interpretation

__all__ = ["SHOWN_BY_DEFAULT", "interpretation_json"]

SHOWN_BY_DEFAULT = 20  # items of each long list printed without --full


def _plain(value: Any) -> Any:
    """Dataclasses (slots or not) -> dicts, recursively; other values unchanged."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def _cut(value: Any, first: int, path: str, truncated: dict[str, int]) -> Any:
    if isinstance(value, list):
        if len(value) > first:
            truncated[path] = len(value)
            value = value[:first]
        return [_cut(v, first, f"{path}[{i}]", truncated) for i, v in enumerate(value)]
    if isinstance(value, dict):
        items = list(value.items())
        if len(items) > first and path.count(".") >= 1:  # a mapping of data, not a record
            truncated[path] = len(items)
            items = items[:first]
        return {k: _cut(v, first, f"{path}.{k}" if path else str(k), truncated)
                for k, v in items}
    return value


def masked(row: dict[str, Any]) -> dict[str, Any]:
    """An audit row as printed: plate-like tokens in its free text shown as [plate]
    (parsers/plate_tokens.py; the database keeps keyed tokens instead)."""
    from parsers.plate_tokens import mask_plates

    out = dict(row)
    for key in ("reason", "case_number", "offense_type"):
        out[key] = mask_plates(out.get(key))[0]
    if isinstance(out.get("extra"), dict):
        out["extra"] = {k: mask_plates(v)[0] if isinstance(v, str) else v
                        for k, v in out["extra"].items()}
    return out


def _record(interp: Interpretation) -> tuple[str, Any] | None:
    """(field name, the parser's record) for the one record this interpretation holds."""
    if interp.page is not None:
        return "page", interp.page
    if interp.audit is not None:
        table = interp.audit
        return "audit", {"format": table.fmt, "columns": table.columns,
                         "row_count": table.row_count, "names_searcher": table.names_searcher,
                         "rows": [masked(dataclasses.asdict(r)) for r in table.rows],
                         "warnings": table.warnings}
    for name in ("sharing_report", "vigilant", "sheet_287g", "agreement", "peer", "records",
                 "cameras"):
        record = getattr(interp, name)
        if record is not None:
            return name, record
    if interp.names is not None:
        return "names", interp.names
    return None


def interpretation_json(interp: Interpretation, full: bool = False,
                        first: int = SHOWN_BY_DEFAULT) -> dict[str, Any]:
    """The JSON `parse` prints for one document.

    Top level: ``kind`` (what the document is), ``layout`` (portal layout or file format),
    ``parse_status``, ``reason`` (why not ok), ``warnings``, ``parser`` (the version of the
    parser that read it, as stored in documents.parser_version); then the record. A portal page's
    fields are at the top level (``agency_name``, ``sharing_outbound``, ``search_audit``, ...);
    any other record is under its own key (``audit``, ``sharing_report``, ``vigilant``,
    ``sheet_287g``, ``agreement``, ``peer``, ``records``, ``cameras``, ``names``).
    """
    out: dict[str, Any] = {
        "kind": interp.verdict.kind, "layout": interp.verdict.layout,
        "parse_status": interp.parse_status, "reason": interp.parse_error,
        "warnings": list(interp.warnings), "parser": interp.parser,
    }
    if interp.encoding:
        out["encoding"] = interp.encoding
    found = _record(interp)
    if found is None:
        return out
    name, record = found
    if name == "page":
        page = interp.page.to_json_dict()  # type: ignore[union-attr]
        page.pop("warnings", None)  # the interpretation's warnings (with layout_changed notes)
        page["search_audit"] = [masked(r) for r in page.get("search_audit") or []]
        return {**page, **out}
    data = _plain(record)
    if name == "sheet_287g":
        data["lost_rows"] = record.lost_rows
    if not full:
        truncated: dict[str, int] = {}
        data = _cut(data, first, name, truncated)
        if truncated:
            out["truncated"] = truncated
    out[name] = data
    return out
