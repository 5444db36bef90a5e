"""Small lies the CLI no longer tells: wildcards, schemes, missing databases, hidden files."""

from __future__ import annotations

import hashlib
import json

from conftest import capture, run_cli

from alpr_inventory.store.schema import open_db


def test_document_takes_hex_only(tmp_path):
    db_path = tmp_path / "d.db"
    page = capture("bell-ca-pd", "2026-04-11")
    assert run_cli("import", str(page), db=db_path).returncode == 0
    for pattern in ("%", "_", "%a", "b_"):
        out = run_cli("document", pattern, db=db_path)
        assert out.returncode == 2 and "is not a SHA-256 or a prefix of one" in out.stderr
    sha = hashlib.sha256(page.read_bytes()).hexdigest()
    out = run_cli("document", sha[:6].upper(), db=db_path)
    assert out.returncode == 0 and json.loads(out.stdout)["sha256"] == sha


def test_url_takes_http_only(tmp_path):
    db_path = tmp_path / "u.db"
    page = capture("bell-ca-pd", "2026-04-11")
    for url in ("file:///etc/passwd", "javascript:alert(1)", "ftp://example.org/x", "bell-ca-pd"):
        out = run_cli("import", str(page), "--url", url, db=db_path)
        assert out.returncode == 2 and "is not an http(s) URL" in out.stderr
    assert not db_path.exists()
    ok = run_cli("import", str(page), "--url", "https://transparency.flocksafety.com/bell-ca-pd",
                 db=db_path)
    assert ok.returncode == 0, ok.stderr


def test_reading_commands_refuse_a_database_that_is_not_there(tmp_path):
    typo = tmp_path / "typo.db"
    for args in (("summary",), ("agencies",), ("state", "CA"), ("changes",),
                 ("document", "ab"), ("report", "Bell CA PD"), ("reparse",), ("serve",)):
        out = run_cli(*args, db=typo)
        assert out.returncode == 2, args
        assert "no database at" in out.stderr and "build one first" in out.stderr, args
    assert not typo.exists()


def test_hidden_files_are_reported_and_given_ones_read(tmp_path):
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / ".bell.html").symlink_to(capture("bell-ca-pd", "2026-04-11"))
    (folder / ".cache").mkdir()
    (folder / "burbank.html").symlink_to(capture("burbank-ca-pd", "2026-04-11"))
    db_path = tmp_path / "h.db"
    out = run_cli("import", str(folder), db=db_path)
    assert out.returncode == 0, out.stderr
    assert f"{folder / '.bell.html'}: hidden file (name starts with '.'): not read" in out.stdout
    assert f"{folder / '.cache'}: hidden folder" in out.stdout
    assert open_db(str(db_path))["portal_snapshots"].count == 1
    named = run_cli("import", str(folder / ".bell.html"), db=db_path)
    assert named.returncode == 0 and open_db(str(db_path))["portal_snapshots"].count == 2


def test_a_symlink_loop_is_never_followed_and_no_file_is_read_twice(tmp_path):
    folder = tmp_path / "looped"
    (folder / "sub").mkdir(parents=True)
    (folder / "page.html").symlink_to(capture("bell-ca-pd", "2026-04-11"))
    (folder / "sub" / "back").symlink_to(folder, target_is_directory=True)
    (folder / "sub" / "again").symlink_to(folder, target_is_directory=True)
    (folder / "sub" / "same.html").symlink_to(folder / "page.html")
    db_path = tmp_path / "l.db"
    out = run_cli("import", str(folder), db=db_path, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("imported 1 files")
    for line in (f"{folder / 'sub' / 'back'}: a link back into a folder already read (a loop)",
                 f"{folder / 'sub' / 'again'}: a link back into a folder already read (a loop)",
                 f"{folder / 'sub' / 'same.html'}: the same file as {folder / 'page.html'}"):
        assert line in out.stdout
    assert open_db(str(db_path))["fetches"].count == 1


def test_an_empty_file_is_empty_whatever_its_name(tmp_path):
    for name in ("a.html", "b.pdf", "c.csv", "d.xlsx", "e.docx", "f"):
        (tmp_path / name).write_bytes(b"")
        out = json.loads(run_cli("parse", str(tmp_path / name), "--json",
                                 db=tmp_path / "unused.db").stdout)
        assert (out["parse_status"], out["reason"]) == ("empty", "the file is zero bytes long")
