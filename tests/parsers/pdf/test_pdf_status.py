"""pdf_status: every kind of unusable file gets its own status and a reason; nothing raises.

Broken files are built here in tmp_path at test time (never committed): a zero-byte file, an
HTML page renamed .pdf, the first half of a real PDF, a genuinely encrypted PDF (RC4, written by
hand below, openable with its password), an image-only PDF (a real page rendered to pixels and
saved by PIL), and a PDF whose text is (cid:NN) codes (a Type0 font without a Unicode map).
"""

from __future__ import annotations

import hashlib
import shutil
import struct
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from conftest import CORPUS

from parsers.flock.audit_pdf import parse_org_audit
from parsers.flock.sharing_pdf import parse_sharing_report
from parsers.pdf import pdf_status as status_mod
from parsers.pdf.pdf_status import STATUSES, ocr_available, pdf_status, run_ocr

OKALOOSA = CORPUS / "records" / "okaloosa_fl_so"
AUDIT = OKALOOSA / "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf"
SHARING = OKALOOSA / "Sharing_Agencies.pdf"
MSA = OKALOOSA / "ocso_flock_msa.pdf"
EUGENE = CORPUS / "records" / "eugene_or_pd"

# ---------------------------------------------------------------------------------------------
# Hand-made PDFs
# ---------------------------------------------------------------------------------------------


def build_pdf(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A classic PDF (xref table) from object bodies numbered 1..n; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += (b"trailer\n<< /Size %d /Root 1 0 R %s >>\nstartxref\n%d\n%%%%EOF\n"
            % (len(objects) + 1, trailer_extra, xref))
    return bytes(out)


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


_PAGE_OBJECTS = [
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
    b"/Resources << /Font << /F1 5 0 R >> >> >>",
]


def _rc4(key: bytes, data: bytes) -> bytes:
    s = list(range(256))
    j = 0
    for i in range(256):
        j = (j + s[i] + key[i % len(key)]) % 256
        s[i], s[j] = s[j], s[i]
    out, i, j = bytearray(), 0, 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + s[i]) % 256
        s[i], s[j] = s[j], s[i]
        out.append(byte ^ s[(s[i] + s[j]) % 256])
    return bytes(out)


def encrypted_pdf(user_password: bytes = b"secret") -> bytes:
    """Standard security handler, revision 2 (40-bit RC4), per PDF 1.7 algorithms 2, 3, 4."""
    pad = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
    padded = (user_password + pad)[:32]
    owner_key = hashlib.md5((b"owner" + pad)[:32]).digest()[:5]
    o_value = _rc4(owner_key, padded)
    permissions = -44
    file_id = b"alpr-inventory-t"
    key = hashlib.md5(padded + o_value + struct.pack("<i", permissions) + file_id).digest()[:5]
    u_value = _rc4(key, pad)
    object_key = hashlib.md5(key + (4).to_bytes(3, "little") + b"\x00\x00").digest()[:10]
    content = _rc4(object_key, b"BT /F1 24 Tf 72 700 Td (Hello encrypted) Tj ET")
    objects = [*_PAGE_OBJECTS, _stream(content),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
               b"<< /Filter /Standard /V 1 /R 2 /O <%s> /U <%s> /P %d >>"
               % (o_value.hex().encode(), u_value.hex().encode(), permissions)]
    return build_pdf(objects, b"/Encrypt 6 0 R /ID [<%s> <%s>]"
                     % (file_id.hex().encode(), file_id.hex().encode()))


def cid_pdf() -> bytes:
    """Text in a Type0/Identity-H font with no ToUnicode and no embedded font: (cid:NN)."""
    content = b"BT /F1 24 Tf 72 700 Td <0011002200330044005500660077> Tj ET"
    objects = [*_PAGE_OBJECTS, _stream(content),
               b"<< /Type /Font /Subtype /Type0 /BaseFont /Foo /Encoding /Identity-H "
               b"/DescendantFonts [6 0 R] >>",
               b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Foo /CIDSystemInfo "
               b"<< /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
               b"/FontDescriptor 7 0 R /DW 500 >>",
               b"<< /Type /FontDescriptor /FontName /Foo /Flags 4 /FontBBox [0 0 1000 1000] "
               b"/ItalicAngle 0 /Ascent 800 /Descent -200 /CapHeight 700 /StemV 80 >>"]
    return build_pdf(objects)


def text_pdf() -> bytes:
    content = b"BT /F1 24 Tf 72 700 Td (Hello world) Tj ET"
    return build_pdf([*_PAGE_OBJECTS, _stream(content),
                      b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"])


def image_only_pdf(path: Path) -> None:
    """Page 1 of a real text PDF rendered to pixels and saved as a PDF with no text layer."""
    doc = pdfium.PdfDocument(str(SHARING))
    try:
        page = doc[0]
        image = page.render(scale=1).to_pil().convert("RGB")
        page.close()
    finally:
        doc.close()
    image.save(path, "PDF", resolution=72)


@pytest.fixture
def broken(tmp_path: Path) -> dict[str, Path]:
    files = {
        "empty": tmp_path / "empty.pdf",
        "not_a_pdf": tmp_path / "blocked.pdf",
        "truncated": tmp_path / "half.pdf",
        "encrypted": tmp_path / "locked.pdf",
        "needs_ocr": tmp_path / "scan.pdf",
        "cid_glyphs": tmp_path / "cid.pdf",
    }
    files["empty"].write_bytes(b"")
    files["not_a_pdf"].write_text(
        "<!DOCTYPE html><html><head><title>Attention Required! | Cloudflare</title></head>"
        "<body><h1>Sorry, you have been blocked</h1></body></html>", encoding="utf-8")
    data = SHARING.read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    files["encrypted"].write_bytes(encrypted_pdf())
    image_only_pdf(files["needs_ocr"])
    files["cid_glyphs"].write_bytes(cid_pdf())
    return files


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_each_broken_file_gets_its_own_status(broken: dict[str, Path]) -> None:
    seen = {}
    for expected, path in broken.items():
        check = pdf_status(path)
        assert check.status == expected, (path.name, check)
        assert check.reason and not check.ok
        seen[expected] = check
    assert "HTML page" in seen["not_a_pdf"].reason
    assert "Attention Required" in seen["not_a_pdf"].reason
    assert "%%EOF" in seen["truncated"].reason
    assert "password" in seen["encrypted"].reason
    assert seen["needs_ocr"].pages == 1 and "image" in seen["needs_ocr"].reason
    assert "(cid:NN)" in seen["cid_glyphs"].reason
    assert set(seen) <= set(STATUSES)


def test_status_from_bytes_matches_status_from_path(broken: dict[str, Path]) -> None:
    for expected, path in broken.items():
        assert pdf_status(path.read_bytes()).status == expected


def test_the_hand_made_encrypted_pdf_is_real(broken: dict[str, Path]) -> None:
    """Opens with its password: the 'encrypted' verdict is about a real, valid file."""
    doc = pdfium.PdfDocument(str(broken["encrypted"]), password="secret")
    try:
        page = doc[0]
        textpage = page.get_textpage()
        assert textpage.get_text_range().strip() == "Hello encrypted"
        textpage.close()
        page.close()
    finally:
        doc.close()


def test_parsers_record_the_status_instead_of_raising(broken: dict[str, Path]) -> None:
    for expected, path in broken.items():
        export = parse_org_audit(path)
        assert export.status == expected and export.records == [] and export.warnings
        report = parse_sharing_report(path)
        assert report.status == expected and report.rows == [] and report.warnings


def test_other_truncations(tmp_path: Path) -> None:
    data = AUDIT.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[:-200])  # the trailer and %%EOF are gone
    assert pdf_status(cut).status == "truncated"
    # %%EOF present but startxref points past the end of a cut-down file
    fake = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\nstartxref\n999999\n%%EOF\n"
    assert pdf_status(fake).status == "truncated"
    assert "past the end" in pdf_status(fake).reason


def test_missing_file_and_whitespace() -> None:
    assert pdf_status(CORPUS / "no-such-file.pdf").status == "unreadable"
    assert pdf_status(b"   \n").status == "not_a_pdf"


def test_too_large_by_bytes_and_by_pages() -> None:
    by_bytes = pdf_status(SHARING, max_bytes=1000)
    assert by_bytes.status == "too_large" and "1,000-byte" in by_bytes.reason
    by_pages = pdf_status(SHARING, max_pages=10)
    assert by_pages.status == "too_large" and by_pages.pages == 29


def test_real_documents() -> None:
    audit = pdf_status(AUDIT)
    assert audit.ok and audit.pages == 809
    sharing = pdf_status(SHARING)
    assert sharing.ok and sharing.pages == 29
    msa = pdf_status(MSA)  # the signed contract is a scan: 18 pages, one image each, no text
    assert msa.status == "needs_ocr" and msa.pages == 18
    inventory = pdf_status(EUGENE / "EPD-2025-3762_surveillance_inventory.pdf")
    assert inventory.status == "needs_ocr"
    assert pdf_status(EUGENE / "EPD-2025-3891_cost_estimate.pdf").ok
    assert pdf_status(EUGENE / "eugene_or_pd_Policy-1204.pdf").ok
    assert pdf_status(text_pdf()).ok


def test_status_samples_three_pages_of_the_big_export(monkeypatch: pytest.MonkeyPatch) -> None:
    # the check reads 3 of the 809 pages, never all of them (its speed: scripts/bench_steps.py)
    import parsers.pdf.pdf_status as module

    read: list[int] = []
    real = module._page_text_stats
    monkeypatch.setattr(module, "_page_text_stats",
                        lambda doc, index: read.append(index) or real(doc, index))
    assert pdf_status(AUDIT).pages == 809
    assert 1 <= len(read) <= 3


def test_ocr_not_available_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_mod.shutil, "which", lambda name: None)
    assert ocr_available() is False
    assert run_ocr(MSA, tmp_path / "out.pdf") is False
    assert not (tmp_path / "out.pdf").exists()


@pytest.mark.skipif(shutil.which("ocrmypdf") is None, reason="ocrmypdf is not installed")
def test_ocr_when_available(tmp_path: Path) -> None:  # pragma: no cover - not installed here
    out = tmp_path / "ocr.pdf"
    assert run_ocr(EUGENE / "EPD-2025-3762_surveillance_inventory.pdf", out)
    assert pdf_status(out).ok
