"""Bytes of a text file (a CSV export, a released list) to text, saying which encoding was read.

Exports arrive as UTF-8 (Flock's own), UTF-8 with a byte order mark (Excel's "CSV UTF-8"),
UTF-16 with a byte order mark (Excel's "Unicode text", Windows tools) or a Windows code page
(latin-1 / cp1252: Excel's plain "CSV" on Windows). The byte order mark decides when there is
one; otherwise strict UTF-8, then cp1252, then latin-1 (which decodes any byte). UTF-16 without
a byte order mark is recognised by its NUL bytes (ASCII text is every other byte).
"""

from __future__ import annotations

import codecs

__all__ = ["decode_text", "looks_like_utf16"]

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))


def looks_like_utf16(head: bytes) -> str | None:
    """'utf-16-le' / 'utf-16-be' for BOM-less UTF-16 of mostly ASCII text, else None."""
    sample = head[:512]
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) > 0.9 * len(odd) and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) == 0:
        return "utf-16-be"
    return None


def decode_text(body: bytes, errors: str = "replace") -> tuple[str, str]:
    """(text, encoding read): by byte order mark, else UTF-8, cp1252, latin-1."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            text = body.decode(name, errors)
            return (text[1:] if text.startswith("\ufeff") else text), name
    if (utf16 := looks_like_utf16(body)) is not None:
        return body.decode(utf16, errors), utf16
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.start >= len(body) - 3 and exc.reason == "unexpected end of data":
            return body.decode("utf-8", errors), "utf-8"  # a character cut at the end
    try:
        return body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return body.decode("latin-1"), "latin-1"
