"""The audit-CSV fast path (values mapped in SQL) gives exactly what the Python parser gives."""

from __future__ import annotations

import csv
import glob
import io
import pickle
import random

import lxml.html
import pytest
from conftest import CORPUS, PORTALS

from alpr_inventory.load.ingest import Store
from alpr_inventory.store import search_loader
from alpr_inventory.store.archive import Archive
from alpr_inventory.store.schema import open_db
from parsers.flock.audit_csv import decode_data_uri, parse_search_audit_csv

# Constructed (not from the corpus): the odd values real exports could hold.
ODD_CSV = (
    '"id","userId","searchDate","networkCount","reason","caseNumber","offenseType","extra col"\n'
    '"a1","***","2026-03-12T08:26:53.735Z","1","suspect vehicle","","",""\n'
    '"a2","","2026-03-12 08:26:53.7","1,234","ICE ERO assist","24-1","Larceny","x"\n'
    '"a3","u","2026-03-12T01:26:53-07:00","not a number","",""\n'
    '"","u","2026-03-12T08:26:53.735Z","3","no id","","",""\n'
    '"a1","***","2026-03-13T08:26:53.735Z","1","suspect vehicle","","",""\n'
    '\n'
    '"a4","u","garbage date"," 7 ","black ice crash","","","",""\n'
)


# Constructed: values the SQL fast path maps itself (no ragged rows, numeric counts).
ODD_DATES_CSV = (
    '"id","userId","searchDate","cameraCount","reason","Région"\n'
    '"b1","***","2026-03-12T08:26:53.735Z","12","investigation","Sud-Est é"\n'
    '\n'
    '"b2","","2026-03-12 08:26:53.7","","ICE ERO assist",""\n'
    '"b3","u","2026-03-12T01:26:53-07:00","3","",""\n'
    '"","u","2026-03-12T08:26:53.735Z","3","no id",""\n'
    '"b1","***","2026-03-13 08:26:53.735","12","investigation","Sud-Est é"\n'
    '"b4","u","garbage date","7","black ice crash",""\n'
)


def load_both(tmp_path, text, name):
    out = []
    for mode in ("fast", "python"):
        store = Store(open_db(str(tmp_path / f"{name}-{mode}.db")),
                      Archive(tmp_path / f"{name}-archive"))
        with store.db.atomic():
            if mode == "fast":
                counts = store._load_searches([], "d" * 64, "2026-04-01T00:00:00Z",
                                              "some-agency", csv_text=text)
            else:
                _, rows, _ = parse_search_audit_csv(text, store.hash_plate)
                counts = store._load_searches(rows, "d" * 64, "2026-04-01T00:00:00Z",
                                              "some-agency")
        table = sorted(tuple(r.items()) for r in store.db["searches"].rows)
        versions = sorted(tuple(r.items()) for r in store.db["search_versions"].rows)
        out.append((counts, table, versions))
        store.db.close()
    return out


@pytest.mark.parametrize("bulk", [False, True])
def test_odd_values_agree(tmp_path, monkeypatch, bulk):
    if bulk:  # the same rows through the bulk path (id order, indexes rebuilt)
        monkeypatch.setattr(search_loader, "BULK_ROWS", 1)
    (fast, python) = load_both(tmp_path, ODD_CSV, "odd")
    assert fast == python
    counts, rows, versions = fast
    assert counts == {"new": 4, "known": 0, "changed": 1}
    by_id = {dict(r)["search_id"]: dict(r) for r in rows}
    assert by_id["a2"]["searched_at"] == "2026-03-12T08:26:53.7Z"
    assert by_id["a2"]["network_count"] == 1234 and by_id["a2"]["immigration_reason"] == 1
    assert by_id["a3"]["searched_at"] == "2026-03-12T08:26:53Z"
    assert by_id["a3"]["network_count"] is None
    assert by_id["a4"]["searched_at"] is None and by_id["a4"]["immigration_reason"] == 0
    assert by_id["a1"]["versions"] == 2 and len(versions) == 1


@pytest.mark.parametrize("bulk", [False, True])
def test_sql_mapped_values_agree(tmp_path, monkeypatch, bulk):
    if bulk:
        monkeypatch.setattr(search_loader, "BULK_ROWS", 1)
    (fast, python) = load_both(tmp_path, ODD_DATES_CSV, "dates")
    assert fast == python
    counts, rows, versions = fast
    assert counts == {"new": 4, "known": 0, "changed": 1}
    by_id = {dict(r)["search_id"]: dict(r) for r in rows}
    assert by_id["b2"]["searched_at"] == "2026-03-12T08:26:53.7Z"
    assert by_id["b3"]["searched_at"] == "2026-03-12T08:26:53Z"
    assert by_id["b4"]["searched_at"] is None and by_id["b4"]["camera_count"] == 7
    assert by_id["b1"]["extra"] == '{"Région":"Sud-Est é"}'
    assert by_id["b2"]["source_row"] == "row 3"  # the blank line counts, as in the parser
    assert by_id["b2"]["immigration_reason"] == 1


@pytest.mark.parametrize("path", sorted(glob.glob(
    str(CORPUS / "flock" / "audit" / "eugene_or_pd" / "*.csv"))))
def test_real_eugene_logs_agree(tmp_path, path):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    fast, python = load_both(tmp_path, text, "eugene")
    assert fast == python and fast[0]["new"] > 2000


def test_real_embedded_portal_audits_agree(tmp_path):
    pages = sorted(PORTALS.glob("*/*.html"))[::25]
    checked = 0
    for page in pages:
        tree = lxml.html.fromstring(page.read_bytes())
        links = tree.xpath("//a[starts-with(@href, 'data:text/csv')]/@href")
        if not links:
            continue
        fast, python = load_both(tmp_path, decode_data_uri(links[0]), f"p{checked}")
        assert fast == python, page
        checked += 1
    assert checked >= 5


# ---- the fast splitter, the whole-column value forms and the bulk path ----------------------
EUGENE = CORPUS / "flock" / "audit" / "eugene_or_pd" / "EPDSearchAuditLogs.csv"


def quote_all(text: str, lineterminator: str = "\n") -> str:
    """The same records with every field quoted, as Flock's own exports are written."""
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=lineterminator).writerows(
        csv.reader(io.StringIO(text, newline="")))
    return out.getvalue()


def as_csv_reader_reads(text: str):
    records = list(csv.reader(io.StringIO(text, newline="")))
    columns = [[r[i] for r in records[1:]] for i in range(len(records[0]))]
    return records[0], columns, len(records)


# Constructed: texts the splitter must leave to csv.reader (its result would differ or the
# text is not in Flock's export format).
NOT_SPLIT = [
    '"id","n"\n"a",1\n',                 # unquoted field
    '"id","r"\n"a","say ""hi"""\n',     # escaped quote
    '"id","r"\n"a","x"\n\n"b","y"\n',   # blank line
    '"id","r"\n"a","x"\r\n"b","y"\n',   # mixed line ends
    '"id","r"\n"a"\n',                  # ragged
    '"id","r"\n"a","x"\n\n',            # trailing blank line
    '"id","r"\n"a","x\0"\n',            # NUL
    ' "id"\n"a"\n',                     # space before the first quote
    '"id","r" \n"a","x"\n',             # space after a closing quote
    "",
]
# Constructed: texts it splits, each exactly as csv.reader reads it.
SPLIT = [
    '"id","r"\n"a","x"\n',
    '"id","r"\r\n"a","x"\r\n"b",""\r\n',
    '"id","r"\n"a","x, y"\n"b","two\nlines"\n"c","\r"\n',
    '"id","r"\n"a",","\n"b","\n"\n',    # fields that look like separators
    '"id","r"\n"a","x"',                # no final line end
    '"id"\n',                           # header only
    '"id"\n"a"\n"b"\n',
]


@pytest.mark.parametrize("text", NOT_SPLIT)
def test_splitter_leaves_other_csv_to_the_csv_module(text):
    assert search_loader._split_quoted(text) is None


@pytest.mark.parametrize("text", SPLIT)
def test_splitter_reads_what_csv_reader_reads(text):
    header, columns, numbers = search_loader._split_quoted(text)
    want_header, want_columns, lines = as_csv_reader_reads(text)
    assert header == want_header and list(numbers) == list(range(1, lines))
    assert [list(c) for c in columns] == want_columns


def test_splitter_agrees_with_csv_reader_on_generated_text():
    # constructed: random texts over the characters that matter, and random records written
    # by csv.writer; whatever the splitter accepts must be read exactly as csv.reader reads it
    rng = random.Random(4)
    pieces = ['"', ",", "\n", "\r", "a", " ", '""', '","', '"\n"', '"\r\n"']
    values = ["", "a", ",", "\n", "\r\n", "a,b", " x ", "a\nb", '"', 'x"y']
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
             for _ in range(20_000)]
    for _ in range(5_000):
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator=rng.choice(["\n", "\r\n"])
                   ).writerows([[rng.choice(values) for _ in range(3)]
                                for _ in range(rng.randint(1, 4))])
        texts.append(out.getvalue())
    accepted = 0
    for text in texts:
        split = search_loader._split_quoted(text)
        if split is not None:
            header, columns, numbers = split
            want_header, want_columns, lines = as_csv_reader_reads(text)
            assert (header, [list(c) for c in columns], list(numbers)) == (
                want_header, want_columns, list(range(1, lines))), text
            accepted += 1
    assert accepted > 1000


def test_real_portal_audits_are_split_as_csv_reader_reads_them():
    split = escaped = 0
    for page in sorted(PORTALS.glob("*/*.html"))[::5]:
        tree = lxml.html.fromstring(page.read_bytes())
        for link in tree.xpath("//a[starts-with(@href, 'data:text/csv')]/@href")[:1]:
            text = decode_data_uri(link)
            result = search_loader._split_quoted(text)
            if result is None:  # a reason with a quote in it ("") is left to csv.reader
                assert '""' in text
                escaped += 1
                continue
            header, columns, numbers = result
            want_header, want_columns, lines = as_csv_reader_reads(text)
            assert header == want_header and [list(c) for c in columns] == want_columns
            assert list(numbers) == list(range(1, lines))
            split += 1
    assert split >= 20 and split > 5 * escaped


# Constructed: one value form per column (the whole-column fast forms), with empty values, an
# empty id, a repeated id with other content, in Flock's quoted format (the splitter's path).
FORMS_CSV = {
    "naive": '"id","userId","searchDate","cameraCount","reason"\n'
             '"c2","u","2025-06-18 00:09:13.397","","ICE ERO assist"\n'
             '"c1","","2025-06-18 00:02:04.789","2510","investigation"\n'
             '"c1","u","2025-06-18 00:02:04.790","2510","investigation"\n'
             '"","u","2025-06-18 00:02:04.789","3","no id"\n'
             '"c3","u","2025-06-18 00:02:05.000","007",""\n',
    "utc": '"id","userId","searchDate","networkCount","reason","caseNumber","Région",'
           '"note ?1 it\'s"\n'
           '"d2","***","2026-03-12T08:26:53.735Z","1","theft","","Sud-Est é","?2"\n'
           '"d1","***","2026-03-12T08:27:53.735Z","","","24-1","",""\n'
           '"d2","***","2026-03-12T08:26:53.735Z","1","theft","","Sud-Est é","x"\n',
    "spaces": '"id","userId","searchDate","networkCount","reason"\n'
              '" e1","u","2026-03-12T08:26:53.735Z","1","a"\n'
              '"e1 ","u","2026-03-12T08:26:53.735Z","2","b"\n'
              '"e0","u","2026-03-12 08:26:53","1234567890123456","c"\n',
}


@pytest.mark.parametrize("bulk", [False, True])
@pytest.mark.parametrize("name", sorted(FORMS_CSV))
def test_whole_column_forms_agree(tmp_path, monkeypatch, name, bulk):
    assert search_loader._split_quoted(FORMS_CSV[name]) is not None
    if bulk:  # the same small file through the bulk path (id order, indexes rebuilt)
        monkeypatch.setattr(search_loader, "BULK_ROWS", 1)
    (fast, python) = load_both(tmp_path, FORMS_CSV[name], name)
    assert fast == python


def reexport(text: str, path) -> str:
    """Constructed from a copy of a real log (written to `path`): a later re-export of it with
    some content changed, some rows repeated with other content, one new search (repeated with
    other content: the first is kept), and the rows in reverse order."""
    records = list(csv.reader(io.StringIO(text, newline="")))
    header, body = records[0], [list(r) for r in records[1:] if r]
    for r in body[10:15]:
        r[4] = r[4] + " (edited)"
    for r in body[100:103]:
        r[3] = str(int(r[3]) + 1)
    repeats = [[*r[:4], "repeated with another reason"] for r in body[200:202]]
    new = ["ffffffff-0000-4000-8000-000000000001", "***", "2025-08-31 23:59:59.999", "1", "x"]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [header, *body[::-1], *repeats, new, [*new[:4], "the new search repeated"]])
    path.write_text(out.getvalue(), encoding="utf-8")
    return out.getvalue()


def load_documents(tmp_path, name, documents):
    store = Store(open_db(str(tmp_path / f"{name}.db")), Archive(tmp_path / f"{name}-archive"))
    counts = []
    for sha, captured_at, text in documents:
        with store.db.atomic():
            counts.append(store._load_searches([], sha, captured_at, "some-agency",
                                               csv_text=text))
    table = sorted(tuple(r.items()) for r in store.db["searches"].rows)
    versions = sorted(tuple(r.items()) for r in store.db["search_versions"].rows)
    indexes = sorted(store.db.execute("select name, sql from sqlite_master where type = "
                                      "'index' and tbl_name = 'searches'").fetchall())
    store.db.close()
    return counts, table, versions, indexes


@pytest.mark.parametrize("quoted", [False, True])
def test_bulk_path_gives_the_same_rows_and_counts(tmp_path, monkeypatch, quoted):
    """A real log, a constructed re-export of it (earlier capture: first documents change;
    new, known and changed rows; repeats within the document) and the log again, through the
    small path and through the bulk path (id order, indexes dropped and rebuilt, small batches
    and statements so that the upsert-only batches after known ids are used)."""
    first = EUGENE.read_text(encoding="utf-8")
    second = reexport(first, tmp_path / "EPDSearchAuditLogs-reexport.csv")
    if quoted:
        first, second = quote_all(first), quote_all(second, "\r\n")
        assert search_loader._split_quoted(first) and search_loader._split_quoted(second)
    documents = [("a" * 64, "2025-09-01T00:00:00Z", first),
                 ("b" * 64, "2025-08-15T00:00:00Z", second),
                 ("c" * 64, "2025-10-01T00:00:00Z", first)]
    small = load_documents(tmp_path, "small", documents)
    monkeypatch.setattr(search_loader, "BULK_ROWS", 1)
    monkeypatch.setattr(search_loader, "BATCH", 500)
    monkeypatch.setattr(search_loader, "ROWS_PER_STATEMENT", 7)
    dropped = []
    drop = search_loader._drop_indexes
    monkeypatch.setattr(search_loader, "_drop_indexes",
                        lambda *args: dropped.append(drop(*args)) or dropped[-1])
    bulk = load_documents(tmp_path, "bulk", documents)
    assert bulk == small
    assert len(dropped) == 3 and dropped[0] and not dropped[2]  # rebuilt, then kept
    counts, table, versions, indexes = small
    rows = len(table) - 1
    # 18 rows of the log have a plate in their reason (16 alert searches, "419DHN", "589hpm":
    # read in EPDSearchAuditLogs.csv), stored as keyed tokens; the re-export keeps them all
    assert counts == [{"new": rows, "known": 0, "changed": 0, "masked_plates": 18},
                      {"new": 1, "known": rows + 4 - 1 - 11, "changed": 11, "masked_plates": 18},
                      {"new": 0, "known": rows, "changed": 0, "masked_plates": 18}]
    assert dict(table[-1])["reason"] == "x" and dict(table[-1])["versions"] == 2
    assert len(versions) == 11 and {n for n, _ in indexes} >= {
        "idx_searches_searching_agency_id_searched_at_federal_searcher_immigration_reason_"
        "first_document", "idx_searches_plate_hash"}


# ---- the columns the parser workers make (Store's _parse_job: search_loader.audit_columns) ---
# Constructed (not from the corpus): plates typed into free text ("9PBL366" as a reason, after
# "plate" in a reason, in an unknown column) and a row without a search id.
PLATES_CSV = (
    '"id","userId","searchDate","reason","caseNumber","Notes"\n'
    '"c1","u","2026-03-12T08:26:53.735Z","Stolen Plate 9PBL366","","tag 7MNS054"\n'
    '"c2","u","2026-03-12T08:27:53.735Z","investigation","24-15880",""\n'
    '"","u","2026-03-12T08:28:53.735Z","9PBL366","",""\n'
    '"c1","u","2026-03-13T08:26:53.735Z","Stolen Plate 9PBL366","","tag 7MNS054"\n'
)


@pytest.mark.parametrize("text", [ODD_CSV, ODD_DATES_CSV, PLATES_CSV])
def test_columns_made_in_a_worker_load_what_the_rows_load(tmp_path, text):
    """The loader given the columns (pickled, as a worker sends them) writes the same rows,
    versions and counts (plates masked included) as given the parsed rows."""
    out = []
    for mode in ("rows", "columns"):
        store = Store(open_db(str(tmp_path / f"{mode}.db")), Archive(tmp_path / "archive"))
        _, rows, _ = parse_search_audit_csv(text, store.hash_plate)
        given = rows
        if mode == "columns":
            given = pickle.loads(pickle.dumps(search_loader.audit_columns(rows, store.hash_plate)))
            assert len(given) == len(rows)  # what portal_snapshots.search_audit_rows stores
        with store.db.atomic():
            counts = store._load_searches(given, "d" * 64, "2026-04-01T00:00:00Z", "an-agency")
        table = sorted(tuple(r.items()) for r in store.db["searches"].rows)
        versions = sorted(tuple(r.items()) for r in store.db["search_versions"].rows)
        out.append((counts, table, versions))
        store.db.close()
    assert out[0] == out[1]
    if text is PLATES_CSV:
        counts, table, _ = out[1]
        # 9PBL366 in c1's reason and 7MNS054 in its notes, in both captures (the row without
        # an id is not loaded, so its plate is not counted)
        assert counts["masked_plates"] == 4 and counts["new"] == 2
        assert not any("9PBL366" in repr(row) or "7MNS054" in repr(row) for row in table)
        assert any("[plate:hmac-sha256:" in repr(row) for row in table)
