"""Licence plates typed into the free text of audit logs, found and replaced by keyed tokens.

Audit exports name plates outside their plate column: Flock writes the plate of an alert into
the reason of searches started from it ("Other image search from alerts page associated with
Alert: Stolen Plate 795ASV - 2025-06-22T17:41:56.783Z", Eugene OR PD's log), and users type
plates as reasons or case numbers ("9PBL366", "7mns054"). Plates are never stored in clear, so
every free-text value of an audit row (reason, case number, offense type, unknown columns)
goes through `mask_plates`, which replaces each plate-like token by ``[plate:<plate_hash>]``:
the same keyed HMAC as `searches.plate_hash`, so the same plate still matches across logs and
columns. Without a key (``parse --json`` touches no database) the token is ``[plate]``.

What counts as a plate (read off the real reasons and case numbers of the corpus):

* context: the token between a Flock alert's type and its time ("Alert: <type> <PLATE> -
  <ISO time>"), whatever its shape (vanity plates such as "MIMSY"); a token with letters and
  digits right after "plate", "tag", "license" or "LP";
* shape, anywhere: the common US formats, letters and digits in blocks, case-insensitive:
  ``1ABC234`` / ``1ABC23`` (California), ``123ABC`` and ``ABC123`` / ``ABC1234`` (Oregon, Texas
  and most states), ``1A23456`` (California commercial), ``12AB345``.

Left alone: words, numbers (``2508068``), dates and times, case numbers such as ``24-15880``,
``CVL19436`` or ``L028347`` (one or three letters then five or six digits), statute references
such as ``245PC``, ``10851VC``, ``PC245A1``, ``647bpc``, ``187SUS`` or ``925VEH`` (a code
followed by a code book or one of a few police abbreviations), and tokens already masked. The
rule errs towards masking: a case number shaped exactly like a plate (``ABC1234``) is masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["UNKEYED", "mask_plates", "plate_spans"]

UNKEYED = "[plate]"
_B = r"(?<![A-Za-z0-9])"  # a token starts here
_E = r"(?![A-Za-z0-9])"  # and ends here
# three-letter police abbreviations that follow a code number ("187SUS", "925VEH", "459veh"),
# months before a year ("JAN2025"), and case-number prefixes seen before three or four digits
_NOT_PLATE_SUFFIX = {"SUS", "VEH", "CIR", "REG", "DVV", "THR", "MPH", "HRS", "MIN", "YRS",
                     "LBS", "CVC", "PCS", "KPH", "CAD", "ADW", "PHY", "FEL", "MIS", "MSD",
                     "WAR", "ARR", "VIO", "ATT", "PRO", "AVE", "BLK"}
_NOT_PLATE_PREFIX = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                     "NOV", "DEC", "INV", "CVL", "CAD", "RPT", "ADM", "DOJ", "CAS", "REF",
                     "RMS", "OCA", "DET", "OFC", "SGT", "CPL", "HWY", "RTE", "FWY", "EXT",
                     "SHA", "UTF", "ISO", "COV"}
# a code section's letter and its code book: "647bpc" (647(b) PC), "273apc"
_CODE_BOOKS = {"PC", "VC", "HS"}
_PATTERN = re.compile(
    r"(?P<masked>\[plate(?::[^\]\s]*)?\])"
    # a Flock alert: "Alert: Stolen Vehicle 41HP587 - 2025-08-22T18:07:15.907Z"
    r"|(?P<alert>Alert:\s*(?:[A-Za-z][A-Za-z/&'.-]*\s+){1,4}?)(?P<alert_plate>[A-Za-z0-9]{1,8})"
    r"(?=\s+-\s+\d{4}-\d{2}-\d{2}[T ]\d)"
    # a keyword: "plate 6ABC123", "tag# ABC123", "LP: 123ABC"
    r"|(?P<keyword>" + _B + r"(?:license\s+plate|licence\s+plate|plate|tag|lic|lp|lpn)"
    r"(?:\s*(?:no\.?|num(?:ber)?|#))?\s*[:#]?\s*)"
    r"(?P<keyword_plate>(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{2,8})"
    + _E + r"(?!-\d)"
    # shapes
    r"|" + _B + r"(?P<shape>"
    r"\d[A-Za-z]{3}\d{2,3}"  # 1ABC234, 1ABC23
    r"|\d{3}(?P<suffix>[A-Za-z]{3})"  # 123ABC
    r"|(?P<prefix>[A-Za-z]{3})\d{3,4}"  # ABC123, ABC1234
    r"|\d[A-Za-z]\d{5}"  # 1A23456
    r"|\d{2}[A-Za-z]{2}\d{3}"  # 12AB345
    r")" + _E,
    re.IGNORECASE,
)


def _plate_of(m: re.Match[str]) -> tuple[int, int] | None:
    """The span of the plate in a match, or None when the match is not a plate."""
    if m.group("masked"):
        return None
    for group in ("alert_plate", "keyword_plate"):
        if m.group(group):
            return m.span(group)
    suffix = (m.group("suffix") or "").upper()
    if suffix in _NOT_PLATE_SUFFIX or suffix[1:] in _CODE_BOOKS:
        return None
    if (m.group("prefix") or "").upper() in _NOT_PLATE_PREFIX:
        return None
    return m.span("shape")


def plate_spans(text: str) -> list[tuple[int, int]]:
    """Where the plate-like tokens of a text are (start, end), in order."""
    return [span for m in _PATTERN.finditer(text) if (span := _plate_of(m)) is not None]


def mask_plates(text: str | None,
                hash_plate: Callable[[str], str] | None = None) -> tuple[str | None, int]:
    """The text with every plate-like token replaced, and how many were replaced.

    With ``hash_plate`` (the keyed hasher that fills `plate_hash`) a token becomes
    ``[plate:<hash>]``; without it, ``[plate]``. Masking a masked text changes nothing.
    """
    if not text or not any(c.isdigit() for c in text):  # every rule needs a digit somewhere
        return text, 0
    spans = plate_spans(text)
    if not spans:
        return text, 0
    out: list[str] = []
    at = 0
    for start, end in spans:
        plate = text[start:end]
        out += [text[at:start], f"[plate:{hash_plate(plate)}]" if hash_plate else UNKEYED]
        at = end
    out.append(text[at:])
    return "".join(out), len(spans)
