"""What a file is by its first bytes, and whether a ZIP container is safe to open.

Documents are recognised by content, never by name: a name only serves to say that a file is
not what it claims (17 bytes of text called `.docx`). ZIP-based formats (.xlsx, .docx) are
checked before any reader inflates them: a few MB can declare gigabytes (a zip bomb), so the
central directory's sizes are read first and a container that would unpack beyond the limits
is refused with a reason. (A container that lies about its sizes is stopped by the memory limit
of the worker process that parses it.)
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from parsers.pdf.pdf_status import describe_bytes

__all__ = ["MAX_UNZIPPED_BYTES", "MAX_ZIP_RATIO", "ZipCheck", "check_zip", "image_type",
           "is_zip", "looks_binary", "named_type_mismatch"]

MAX_UNZIPPED_BYTES = 2 * 1024**3  # no real workbook or Word file comes near this
MAX_ZIP_RATIO = 100  # Office XML compresses 5-20x; beyond this, with size, it is a bomb
RATIO_FROM_BYTES = 200 * 1024**2  # the ratio rule applies from this many unpacked bytes
MAX_ZIP_MEMBERS = 100_000

_IMAGES = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"GIF87a", "GIF"),
           (b"GIF89a", "GIF"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"), (b"BM", "BMP"))


def image_type(head: bytes) -> str | None:
    """'JPEG', 'PNG', 'GIF', 'TIFF', 'WEBP', 'HEIC', 'BMP' by magic bytes, else None."""
    for magic, name in _IMAGES:
        if head.startswith(magic):
            if name == "BMP" and len(head) >= 14 and head[6:10] != b"\x00\x00\x00\x00":
                continue  # "BM" starts plenty of text; a BMP has four reserved zero bytes
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"avif"):
        return "HEIC" if head[8:12] != b"avif" else "AVIF"
    return None


def is_zip(body: bytes) -> bool:
    return body[:4] == b"PK\x03\x04"


def looks_binary(head: bytes) -> bool:
    """NUL bytes or mostly control bytes: not text in any encoding we read (UTF-16 aside)."""
    sample = head[:4096]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))  # (counted in C)
    return controls > 0.05 * len(sample)


_CONTROL_BYTES = bytes(b for b in range(256) if b < 9 or 13 < b < 32)


@dataclass(frozen=True)
class ZipCheck:
    ok: bool
    reason: str
    members: int = 0
    unpacked: int = 0


def check_zip(body: bytes, *, max_unzipped: int = MAX_UNZIPPED_BYTES,
              max_ratio: float = MAX_ZIP_RATIO) -> ZipCheck:
    """Read a ZIP's central directory (nothing is inflated) and judge its declared sizes."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        return ZipCheck(False, f"not a readable ZIP container ({exc})")
    unpacked = sum(i.file_size for i in infos)
    packed = max(1, len(body))
    what = (f"{len(infos):,} member(s) unpacking to {unpacked:,} bytes from {len(body):,} "
            f"(ratio {unpacked / packed:,.0f}:1)")
    if len(infos) > MAX_ZIP_MEMBERS:
        return ZipCheck(False, f"refused: {what}: more than {MAX_ZIP_MEMBERS:,} members",
                        len(infos), unpacked)
    if unpacked > max_unzipped:
        return ZipCheck(False, f"refused as a possible zip bomb: {what}, over the "
                               f"{max_unzipped:,}-byte limit", len(infos), unpacked)
    if unpacked >= RATIO_FROM_BYTES and unpacked / packed > max_ratio:
        return ZipCheck(False, f"refused as a possible zip bomb: {what}, over the "
                               f"{max_ratio:g}:1 ratio limit", len(infos), unpacked)
    return ZipCheck(True, what, len(infos), unpacked)


# formats whose name we can check against their bytes
_BY_SUFFIX = {".docx": "a Word document (.docx, a ZIP container)",
              ".xlsx": "an Excel workbook (.xlsx, a ZIP container)",
              ".xlsm": "an Excel workbook (.xlsm, a ZIP container)"}


def named_type_mismatch(name: str | None, body: bytes) -> str | None:
    """Why the bytes are not what the file's name says (.docx, .xlsx), or None."""
    suffix = ("." + name.rsplit(".", 1)[-1].lower()) if name and "." in name else ""
    if suffix not in _BY_SUFFIX or is_zip(body):
        return None
    return (f"named {suffix} ({_BY_SUFFIX[suffix]}), but the bytes are "
            f"{describe_bytes(body[:1024])}")
