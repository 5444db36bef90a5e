"""Broken, hostile and odd files imported in one call: one clear status each, nothing lost.

The broken files are generated here (tests/broken_files.py and test_pdf_status's PDF makers);
the good files between them are real captures and the real Eugene OR PD log (first 49 rows),
linked or re-encoded, never edited except where a comment says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import broken_files as bf
import pytest
from conftest import CORPUS, capture, run_cli
from test_pdf_status import SHARING, cid_pdf, encrypted_pdf, image_only_pdf

from alpr_inventory.store.schema import open_db

EUGENE = CORPUS / "flock" / "audit" / "eugene_or_pd" / "EPDSearchAuditLogs.csv"
SHEET = (CORPUS / "agreements" / "287g" / "sheets" /
         "20250519_024922__pendingAgencies05152025am.xlsx")


def eugene_49(edit: bool = True) -> str:
    """The header and first 49 rows of Eugene's current log; with `edit`, the first row's
    reason "investigation" becomes "investigation café" (an edit, so that the encodings differ
    from UTF-8 in at least one byte)."""
    lines = EUGENE.read_text(encoding="utf-8").splitlines(keepends=True)[:50]
    if edit:
        assert lines[1].rstrip().endswith(',"investigation"')
        lines[1] = lines[1].replace('"investigation"', '"investigation café"')
    return "".join(lines)


@pytest.fixture(scope="module")
def fault_corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults")
    folder = root / "broken"
    folder.mkdir()
    f = folder.joinpath
    expected: dict[str, tuple[str, str | None]] = {}  # file name -> (status, words in reason)

    def add(name: str, status: str, words: str | None = None) -> os.PathLike:
        expected[name] = (status, words)
        return f(name)

    def real(name: str, slug: str, day: str) -> None:
        add(name, "ok").symlink_to(capture(slug, day))

    add("01 empty.html", "empty", "zero bytes").write_bytes(b"")
    real("02 portal.html", "bell-ca-pd", "2026-04-11")
    add("03 empty.pdf", "empty", "zero bytes").write_bytes(b"")
    add("04 blank.csv", "empty", "only whitespace").write_bytes(b"  \n\r\n\t\n")
    bf.zip_bomb(add("05 bomb.xlsx", "too_large", "zip bomb"))
    real("06 portal after the bomb.html", "burbank-ca-pd", "2026-04-11")
    bf.zip_bomb(add("07 bomb.docx", "too_large", "zip bomb"), kind="docx")
    bf.billion_laughs_xlsx(add("08 laughs.xlsx", "error", "unreadable workbook"))
    data = SHEET.read_bytes()
    add("09 cut.xlsx", "error", "not a readable ZIP").write_bytes(data[: len(data) // 2])
    add("10 locked.pdf", "encrypted", "password").write_bytes(encrypted_pdf())
    data = SHARING.read_bytes()
    add("11 half.pdf", "truncated", "%%EOF").write_bytes(data[: len(data) // 2])
    bf.many_pages_pdf(add("12 pages.pdf", "too_large", "30,000 pages"))
    add("13 html.pdf", "not_a_pdf", "HTML page").write_text(
        "<html><head><title>Access denied</title></head><body>no</body></html>")
    bf.jpeg(add("14 photo.jpg", "not_recognised", "JPEG image, not a recognised document"))
    bf.jpeg(add("15 photo.docx", "wrong_type", "named .docx"))
    add("16 seventeen.docx", "wrong_type", "plain text").write_bytes(b"just 17 bytes ok.")
    bf.word_document(add("17 memo.docx", "ok"), ["Memorandum on ALPR data retention.",
                                                 "Plate reader data is kept 30 days."])
    bf.junk_csv(add("18 junk.csv", "not_recognised", "not an audit export"))
    add("19 random.bin", "not_recognised", "binary").write_bytes(os.urandom(65536))
    add("20 deep.json", "not_recognised", "nested too deeply").write_bytes(
        b"[" * 300_000 + b"]" * 300_000)
    add("21 nested.html", "not_a_portal").write_bytes(
        b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000 + b"</body></html>")
    page = capture("orange-ca-pd", "2026-04-28").read_bytes()
    add("22 cut portal.html", "truncated", "refetch").write_bytes(page[: len(page) // 2])
    # (Eugene's searchDate has no time zone: taken as UTC, with a warning)
    add("23 eugene latin-1.csv", "ok_with_warnings").write_bytes(eugene_49().encode("latin-1"))
    add("24 eugene utf-16.csv", "ok_with_warnings").write_bytes(eugene_49().encode("utf-16"))
    add("25 eugene bom.csv", "ok_with_warnings").write_bytes(eugene_49().encode("utf-8-sig"))
    bf.ole2_file(add("26 old.xls", "not_recognised", "OLE2"))
    bf.gzip_file(add("27 data.gz", "not_recognised", "gzip"))
    # constructed: an audit CSV with a ragged row and a plate typed as a reason
    add("28 ragged.csv", "ok_with_warnings").write_text(
        "id,searchDate,reason\nr-1,2026-01-02T03:04:05.000Z,7ABC123\nr-2,2026-01-02T03:04:06"
        ".000Z,theft,extra field\n")
    image_only_pdf(add("29 scan.pdf", "needs_ocr", "scan"))
    add("30 cid.pdf", "cid_glyphs", "(cid:NN)").write_bytes(cid_pdf())
    real("31 new\nline.html", "-el-cajon-pd-ca", "2026-04-15")
    real("32 ünïcødé 页面 ✓.html", "beaumont-ca-pd", "2026-04-25")
    real("33 " + "L" * 240 + ".html", "woodland-ca-pd", "2026-04-10")
    # left out, each with a reason
    f(".hidden.html").symlink_to(capture("bell-ca-pd", "2026-04-11"))
    f("loop").symlink_to(folder, target_is_directory=True)
    f("loop again").symlink_to(folder, target_is_directory=True)
    os.mkfifo(f("pipe"))
    f("dangling.html").symlink_to(root / "nowhere.html")
    os.link(f("17 memo.docx"), f("34 same memo.docx"))
    left_out = {".hidden.html": "hidden file", "loop": "a loop", "loop again": "a loop",
                "pipe": "a named pipe", "dangling.html": "broken link",
                "34 same memo.docx": "the same file as"}
    yield folder, expected, left_out
    shutil.rmtree(root, ignore_errors=True)  # 200 MB of junk, and its archived copy


@pytest.fixture(scope="module")
def imported(fault_corpus, tmp_path_factory):
    folder, expected, left_out = fault_corpus
    db_path = folder.parent / "faults.db"
    out = run_cli("import", str(folder), "--agency", "Eugene OR PD", db=db_path, timeout=600)
    return out, db_path


def test_at_least_25_kinds_of_bad_input(fault_corpus):
    _, expected, left_out = fault_corpus
    bad = [n for n, (status, _) in expected.items() if status not in ("ok", "ok_with_warnings")]
    assert len(bad) + len(left_out) >= 25


def test_every_file_gets_one_clear_status_in_one_call(imported, fault_corpus):
    folder, expected, left_out = fault_corpus
    out, db_path = imported
    assert out.returncode == 0, out.stderr[-3000:]
    assert "Traceback" not in out.stderr and "database is locked" not in out.stderr
    db = open_db(str(db_path))
    got = {os.path.basename(r["fetched_from"]): (r["parse_status"], r["parse_error"])
           for r in db.query("select f.fetched_from, d.parse_status, d.parse_error from "
                             "fetches f join documents d using (sha256)")}
    assert set(got) == set(expected)
    for name, (status, words) in expected.items():
        assert got[name][0] == status, (name, got[name])
        if words:
            assert words in got[name][1], (name, got[name])
        if status not in ("ok", "ok_with_warnings"):  # and said once in the summary
            shown = repr(str(folder / name))[1:-1] if "\n" in name else str(folder / name)
            assert out.stdout.count(f"{shown}: {status}: ") == 1, name
    (run,) = list(db.query("select * from runs"))
    assert run["status"] == "finished" and run["pages"] == len(expected)
    assert run["errors"] == sum(s not in ("ok", "ok_with_warnings") for s, _ in
                                expected.values())


def test_what_was_left_out_is_said(imported, fault_corpus):
    folder, _, left_out = fault_corpus
    out, _ = imported
    said = out.stdout[out.stdout.index("left out ("):]
    for name, why in left_out.items():
        (line,) = [x for x in said.splitlines() if x.startswith(f"  {folder / name}:")]
        assert why in line


def test_nothing_after_a_bad_file_is_lost(imported):
    _, db_path = imported
    db = open_db(str(db_path))
    owners = {r["agency_id"] for r in db.query("select agency_id from portal_snapshots")}
    # every real capture in the folder, including the ones after the zip bombs and the ones
    # with odd names, is a snapshot
    assert {"bell-ca-pd", "burbank-ca-pd", "el-cajon-ca-pd", "beaumont-ca-pd",
            "woodland-ca-pd"} <= {o.strip("-") for o in owners} | owners
    assert db["portal_snapshots"].count == 5
    (memo,) = list(db.query("select d.doc_type, t.text from documents d join document_texts t "
                            "using (sha256) where d.doc_type = 'word_document'"))
    assert "kept 30 days" in memo["text"]


def test_encodings_are_read_and_said(imported):
    out, db_path = imported
    db = open_db(str(db_path))
    encodings = {os.path.basename(r["fetched_from"]): r["encoding"] for r in db.query(
        "select f.fetched_from, d.encoding from fetches f join documents d using (sha256) "
        "where f.fetched_from like '%eugene%'")}
    assert encodings == {"23 eugene latin-1.csv": "cp1252", "24 eugene utf-16.csv": "utf-16",
                         "25 eugene bom.csv": "utf-8-sig"}
    assert "23 eugene latin-1.csv: text read as cp1252" in out.stdout
    # the same 49 searches from each encoding (the first file loads them, the others know them)
    rows = db.execute("select count(*) from searches where searching_agency_id = "
                      "'eugene-or-pd'").fetchone()[0]
    assert rows == 49 + 2  # and the two rows of the constructed ragged CSV
    first = db["searches"].get("5869ce7e-98f2-47e7-a3c2-5e6bff4def4a")
    assert first["reason"] == "investigation café" and first["versions"] == 1


def test_a_plate_typed_as_a_reason_is_masked(imported):
    _, db_path = imported
    db = open_db(str(db_path))
    assert db["searches"].get("r-1")["reason"].startswith("[plate:hmac-sha256:")
    db.close()
    dump = subprocess.run(["sqlite3", str(db_path), ".dump"], capture_output=True, text=True,
                          check=True).stdout
    assert "7ABC123" not in dump


def test_no_worker_is_left_behind(imported):
    _, db_path = imported
    assert descendants_of(db_path) == ""


def test_a_document_over_the_time_limit_is_stopped_and_the_next_one_loads(tmp_path):
    audit = (CORPUS / "records" / "okaloosa_fl_so" /
             "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf")
    notes = tmp_path / "notes.txt"  # constructed: a few words of plain text, read at once
    notes.write_text("Notes on the records release.\n")
    db_path = tmp_path / "slow.db"
    # the 809-page audit PDF cannot be read in one second; the notes can
    out = run_cli("import", str(audit), str(notes), "--captured-at", "2025-12-08", db=db_path,
                  env={"ALPR_PARSE_TIMEOUT": "1"})
    assert out.returncode == 0, out.stderr
    db = open_db(str(db_path))
    status = {os.path.basename(r["url"]): (r["parse_status"], r["parse_error"]) for r in db.query(
        "select url, parse_status, parse_error from documents")}
    assert status[audit.name] == (
        "timeout", "parsing was stopped after 1 s (the time limit for one document)")
    assert status["notes.txt"] == ("ok", None)
    assert db["searches"].count == 0
    assert not descendants_of(db_path)


def descendants_of(db_path) -> str:
    return subprocess.run(["pgrep", "-f", str(db_path)], capture_output=True,
                          text=True).stdout.strip()
