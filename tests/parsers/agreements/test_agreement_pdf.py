"""The agreement PDF parser, on the 287(g) MOAs of the shared corpus and on built PDFs.

Every fact asserted about a corpus file was read off the page itself: the text layer with
pdfplumber, and the page rendered to PNG with pypdfium2 where the text layer is doubtful (all
signature pages, Knox p. 2, Pinellas p. 1, Hamilton p. 11). What the rendered pages show that the
text layer does not have is noted beside the assertions: the parser must report those values as
missing or unreadable, never fill them in.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import pdfplumber
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from conftest import CORPUS
from PIL import Image

from parsers.agreements.agreement_pdf import Agreement, find_dates, parse_agreement, read_pages
from parsers.pdf.pdf_status import ocr_available

AGREEMENTS = CORPUS / "agreements"
MOA = AGREEMENTS / "287g" / "moa"
TX_OAG = MOA / "TexasOfficeAttorneyGeneral_TFM_MOA_01.30.25.pdf"
LAKE = MOA / "lakeCountySherrifsOffice_TF_MOA_03122025.pdf"
TX_NG = MOA / "TexasNationalGuard_TFM_MOA_04.10.2025.pdf"
FL_DOC = MOA / "287gJEM_FL_DOC_FL_08-21-2020.pdf"
PINELLAS = MOA / "287gWSO_PinellasCoFl2019-04-24.pdf"
ALASKA = MOA / "287gWSO_DeptOfCorrectionsAK_07-24-2020.pdf"
KNOX = MOA / "287g_JEM_Knox_6-8-2020.pdf"
ELLIS = MOA / "EllisCoTX_JEM_MOA_04.16.2025.pdf"
HAMILTON = MOA / "HamiltonCoIN_JEM_MOA_03.03.2025.pdf"
WALWORTH = MOA / "WalworthCoSheriffsOfficeWI_WSO_MOA_06122025.pdf"
ORANGE_TFM = MOA / "OrangeCountySO_TFM_MOA.pdf"
VADOC = MOA / "VADOC_JEM_MOA_022825.pdf"
MINERAL = MOA / "MineralCountyNV_WSO_MOA_031025.pdf"
FREEBORN = AGREEMENTS / "ice_other" / "freeborn_moa.pdf"
OC_FLOCK_MOU = AGREEMENTS / "flock" / "OC_Flock_MOU.pdf"

_CACHE: dict[Path, Agreement] = {}


def parsed(path: Path) -> Agreement:
    """Each corpus file is parsed once per test session (isolated, as callers would)."""
    if path not in _CACHE:
        assert path.is_file(), path
        _CACHE[path] = parse_agreement(path, ocr=False)
    return _CACHE[path]


def dates(a: Agreement) -> list[tuple[str | None, str, str | None, int, str]]:
    return [(d.party, d.raw, d.iso, d.page, d.kind) for d in a.signature_dates]


def lea(a: Agreement):
    return next(p for p in a.parties if p.role == "lea")


def invariants(a: Agreement) -> None:
    """What holds for every result: no empty agreement is "ok", values carry pages."""
    if a.status == "ok":
        assert a.doc_type != "other" and a.parties and a.pages > 0
    for p in a.parties:
        assert p.name and p.page >= 1 and p.evidence
    for d in a.signature_dates:
        assert d.raw and d.page >= 1
    for prov in a.termination + a.data_provisions:
        assert prov.text and prov.page >= 1
    for m in a.federal_agencies_named:
        assert m.pages and m.count >= len(m.pages) >= 1
    assert len(a.page_layers) == a.pages


# ---------------------------------------------------------------------------------------------
# Born-digital 2025 Task Force MOAs
# ---------------------------------------------------------------------------------------------


def test_texas_attorney_general_tfm() -> None:
    """15 pages, Distiller. Page 10 shows "For the LEA: Date: 01/30/2025" and "For ICE: Date:
    01/31/2025" (Ken Paxton's and ICE's signatures); no model title line: only the file name
    and "co-located with ICE as task force officers" (p. 7) say Task Force."""
    a = parsed(TX_OAG)
    invariants(a)
    assert (a.status, a.doc_type, a.model, a.text_layer, a.pages) == (
        "ok", "287g_moa", "TFM", "born_digital", 15)
    assert [(e["source"], e["model"], e["page"]) for e in a.model_evidence] == [
        ("file_name", "TFM", None), ("phrase", "TFM", 7)]
    assert [(p.role, p.name, p.page) for p in a.parties] == [
        ("federal", "United States Immigration and Customs Enforcement", 1),
        ("lea", "Texas Office of Attorney General", 1)]
    assert dates(a) == [("LEA", "01/30/2025", "2025-01-30", 10, "typed"),
                        ("ICE", "01/31/2025", "2025-01-31", 10, "typed")]
    assert a.effective_date == "2025-01-31"
    assert "LEA 2025-01-30" in a.effective_date_basis and "ICE 2025-01-31" in \
        a.effective_date_basis
    # termination "shall take effect immediately upon receipt of such notice": no notice period
    [term] = a.termination
    assert (term.heading, term.page, term.notice_days) == (
        "XX. DURATION AND TERMINATION OF THIS MOA", 9, [])
    assert term.text.startswith("This MOA will be in effect from the date of signing until it "
                                "is terminated by either party.")
    tecs = [p for p in a.data_provisions if "TECS II" in p.systems]
    assert [(p.heading, p.page) for p in tecs] == [("XI. ICE SUPERVISION", 6)]
    assert "vehicle check through TECS II or any successor system" in tecs[0].text
    headings = {p.heading for p in a.data_provisions}
    assert {"XII. REPORTING REQUIREMENTS", "XIII. RELEASE OF INFORMATION TO THIRD PARTIES",
            "XIV. LIABILITY AND RESPONSIBILITY", "X. COSTS AND EXPENDITURES"} <= headings
    named = {m.agency: m for m in a.federal_agencies_named}
    assert {"ICE", "DHS", "ERO", "HSI", "DOJ"} <= set(named)
    assert named["HSI"].pages == [6] and named["HSI"].names == ["Homeland Security Investigations"]
    assert a.missing == [] and a.warnings == []


def test_same_file_as_bytes_has_no_file_name_evidence() -> None:
    a = parse_agreement(TX_OAG.read_bytes(), ocr=False, isolate=False)
    assert a.source_name is None and a.model == "TFM"
    assert [e["source"] for e in a.model_evidence] == ["phrase"]
    assert a.effective_date == "2025-01-31"


def test_lake_county_tf_variant() -> None:
    """`_TF_` in the file name; page 9: "Date: February 21, 2025" (LEA) and "Date: February 26,
    2025" (ICE); title line "287(g) Task Force Model"."""
    a = parsed(LAKE)
    invariants(a)
    assert (a.status, a.model, a.text_layer) == ("ok", "TFM", "born_digital")
    assert ("title", "TFM", "287(g) Task Force Model", 1) in [
        (e["source"], e["model"], e["text"], e["page"]) for e in a.model_evidence]
    assert lea(a).name == "Lake County Sheriff’s Office"  # curly apostrophe, as printed
    assert dates(a) == [("LEA", "February 21, 2025", "2025-02-21", 9, "typed"),
                        ("ICE", "February 26, 2025", "2025-02-26", 9, "typed")]
    assert a.effective_date == "2025-02-26"
    [term] = a.termination
    assert term.page == 8 and term.notice_days == [90]
    assert "Revised" not in term.text  # the running footer "Revised 02/12/2025" is left out


# ---------------------------------------------------------------------------------------------
# Scans with an OCR layer
# ---------------------------------------------------------------------------------------------


def test_texas_national_guard_ocr() -> None:
    """Page 9: both Date fields printed 04/10/2025 (LEA: Major General Thomas M. Suelzer)."""
    a = parsed(TX_NG)
    invariants(a)
    assert (a.status, a.model, a.text_layer) == ("ok", "TFM", "ocr")
    assert (lea(a).name, lea(a).defined_as, lea(a).page) == ("Texas National Guard", "TNG", 1)
    assert dates(a) == [("LEA", "04/10/2025", "2025-04-10", 9, "typed"),
                        ("ICE", "04/10/2025", "2025-04-10", 9, "typed")]
    assert a.effective_date == "2025-04-10"


def test_florida_doc_2020_jem_digital_signature() -> None:
    """Page 7: ICE (left) signed digitally, "Date: 2020.08.21 09:55:42 -04'00'"; the Secretary's
    date is handwritten "08/17/2020" and the OCR layer has junk there. So one date reads, the
    other is reported as unreadable, and there is no effective date."""
    a = parsed(FL_DOC)
    invariants(a)
    assert (a.status, a.model, a.text_layer) == ("ok", "JEM", "ocr")
    assert ("title", "JEM", "287(g) Jail Enforcement Model", 1) in [
        (e["source"], e["model"], e["text"], e["page"]) for e in a.model_evidence]
    assert (lea(a).name, lea(a).defined_as) == ("Florida Department of Corrections",
                                                "Department")
    ice, other = a.signature_dates
    assert (ice.party, ice.raw, ice.iso, ice.page, ice.kind) == (
        "ICE", "2020.08.21", "2020-08-21", 7, "digital_signature")
    assert (other.party, other.iso, other.page, other.kind) == ("LEA", None, 7, "unreadable")
    assert other.raw.startswith("_6._~___./L__/_7~/-~_o_-z.._o_")
    assert a.effective_date is None
    assert any(m.startswith("LEA signature date: not readable") for m in a.missing)
    [term] = a.termination
    assert term.heading == "VIII. EFFECTIVE DATE, SUSPENSION, AND TERMINATION OF THIS MOA"
    assert term.notice_days == [90] and "90-day notice" in term.text


def test_pinellas_2019_wso_without_title_line() -> None:
    """First-generation WSO: no title line (p. 1 shows only "MEMORANDUM OF AGREEMENT"); both
    dates on p. 7 are handwritten ("24APR19", "4/22/19") and are not in the OCR layer."""
    a = parsed(PINELLAS)
    invariants(a)
    assert (a.status, a.model) == ("ok", "WSO")
    sources = [(e["source"], e["model"], e["text"], e["page"]) for e in a.model_evidence]
    assert sources == [("file_name", "WSO", PINELLAS.name, None),
                       ("phrase", "WSO", "only delegated the two authorities", 8)]
    assert (lea(a).name, lea(a).defined_as) == ("Pinellas County Sheriff's Office", "PCSO")
    assert not any(d.iso for d in a.signature_dates)
    assert a.effective_date is None
    assert [t.notice_days for t in a.termination] == [[90]]
    # without the file name the phrase still says WSO
    b = parse_agreement(PINELLAS.read_bytes(), ocr=False)
    assert b.model == "WSO" and b.source_name is None


def test_alaska_2020_wso_two_digit_year() -> None:
    """Page 7: ICE (Enrique M. Lucero) signed digitally (stamp "2020.07.24", garbled in the
    OCR layer); the LEA date is "7/16/20"."""
    a = parsed(ALASKA)
    invariants(a)
    assert a.model == "WSO" and lea(a).name == "Alaska Department of Corrections"
    by_party = {d.party: d for d in a.signature_dates}
    assert (by_party["LEA"].raw, by_party["LEA"].iso, by_party["LEA"].note) == (
        "7/16/20", "2020-07-16", "two-digit year read as 20YY")
    assert by_party["ICE"].iso is None and "digital signature" in by_party["ICE"].note
    assert a.effective_date is None


def test_ellis_handwritten_date_ocr_junk() -> None:
    """Page 7: ICE's date is typed 04/16/2025 but the OCR layer reads "04/16/2~25~"; the LEA
    date "April 7, 25" is handwritten and absent from the text layer."""
    a = parsed(ELLIS)
    invariants(a)
    assert lea(a).name == "Ellis Countv Sheriffs Office"  # the OCR's "v", not corrected
    assert dates(a) == [("ICE", "04/16/2~25~", None, 7, "unreadable")]
    assert a.effective_date is None


def test_hamilton_page_without_ocr_makes_it_partial() -> None:
    """Page 11 (Appendix C) is a scan whose text layer holds only the two typed lines; the
    rest of that page is image only. ICE's date, typed: "March 3, 2025"; the Sheriff's
    "2/24/2025" is handwritten."""
    a = parsed(HAMILTON)
    invariants(a)
    assert a.status == "partial"
    assert a.page_layers == ["ocr"] * 10 + ["sparse"]
    assert any(w.startswith("page 11: a scan without OCR") for w in a.warnings)
    assert lea(a).name == "Hamilton County Sheriff's Office, IN"
    assert dates(a) == [("ICE", "March 3, 2025", "2025-03-03", 7, "typed")]


def test_walworth_legal_size_page() -> None:
    """612 x 1008 pt pages; p. 7: "For ICE: Date: 6/11/2025"; the LEA date (4/28/2025) is
    handwritten and not in the text layer. OCR lower-cases a heading ("OF Tms MOA")."""
    a = parsed(WALWORTH)
    invariants(a)
    assert lea(a).name == "Walworth County Sheriffs Office, Elkhorn, WI"
    assert dates(a) == [("ICE", "6/11/2025", "2025-06-11", 7, "typed")]
    assert [t.heading for t in a.termination] == [
        "VIII. EFFECTIVE DATE AND TERMINATION OF Tms MOA"]


# ---------------------------------------------------------------------------------------------
# Odd text layers
# ---------------------------------------------------------------------------------------------


def test_knox_cid_pages_not_duplicated() -> None:
    """The Knox JEM's "115k characters for 11 pages" are (cid:NN) strings: five pages (2, 5,
    9, 10, 11) carry an OCR layer in a font without a Unicode map, one character each, no
    overlap. Page 2 rendered shows ordinary text (section C. TRAINING OF PERSONNEL)."""
    with pdfplumber.open(KNOX) as pdf:
        text_len = sum(len(p.extract_text() or "") for p in pdf.pages)
        char_count = sum(len(p.chars) for p in pdf.pages)
    assert text_len > 110_000 and char_count < 32_000
    pages = read_pages(KNOX)
    assert [p.number for p in pages if p.layer == "cid"] == [2, 5, 9, 10, 11]
    assert all(p.duplicates == 0 for p in pages)
    a = parsed(KNOX)
    invariants(a)
    assert (a.status, a.text_layer, a.model) == ("partial", "cid", "JEM")
    assert lea(a).name == "Knox County Sheriffs Office"
    # p. 7: ICE's digital signature "Date: 2020.06.08 10:05:20"; the Sheriff's "MAY 8 2020"
    # is handwritten, and the text layer has no Date label on his side at all
    assert dates(a) == [("ICE", "2020.06.08", "2020-06-08", 7, "digital_signature")]
    assert "LEA signature date: no Date field in the text layer" in a.missing
    assert sum("cannot be read" in w for w in a.warnings) == 5


def test_freeborn_cid_signature_block() -> None:
    """The labels of the signature block (p. 7) and the state after the Sheriff's name (p. 1)
    are in fonts without a Unicode map; the form-field values are Arial and read. The page
    shows ICE's date "March 26, 2025" and an empty LEA Date field."""
    a = parsed(FREEBORN)
    invariants(a)
    assert (a.status, a.text_layer, a.model) == ("partial", "cid", "WSO")
    assert [e["source"] for e in a.model_evidence] == ["title", "phrase"]  # no file-name token
    party = lea(a)
    assert party.name == "Freeborn County Sheriff's Office"
    assert "unreadable glyph" in party.note
    assert dates(a) == [("ICE", "March 26, 2025", "2025-03-26", 7, "typed")]
    assert a.effective_date is None
    assert any(w.startswith("page 7:") and "without a Unicode mapping" in w for w in a.warnings)


@pytest.mark.parametrize("path", [ORANGE_TFM, VADOC])
def test_image_only_scans_need_ocr(path: Path) -> None:
    a = parsed(path)
    invariants(a)
    assert a.status == "needs_ocr" and a.text_layer == "none"
    assert a.parties == [] and a.signature_dates == [] and a.effective_date is None
    assert a.ocr is False


def test_orange_county_scan_reports_its_form_fields() -> None:
    """p. 9 of the Orange Co. SO TFM has two typed form values over the scan and nothing else."""
    a = parsed(ORANGE_TFM)
    assert a.page_layers[8] == "sparse" and set(a.page_layers) == {"none", "sparse"}
    assert any("February 26, 2025" in w and w.startswith("page 9:") for w in a.warnings)


def test_docusign_stamped_scan_needs_ocr() -> None:
    """The OC Flock MOU: six scanned pages whose only text is DocuSign's envelope-id stamp
    (and a name, a title and a date typed on p. 1); the producer (PDFKit.NET) is a document
    writer, but the pages are scans."""
    a = parsed(OC_FLOCK_MOU)
    invariants(a)
    assert a.status == "needs_ocr" and a.page_layers == ["sparse"] * 6
    assert all("DocuSign Envelope ID" in w for w in a.warnings if w.startswith("page "))


def test_mineral_county_one_ocr_page_is_not_enough() -> None:
    """Only p. 6 of 10 has a text layer: still a scan to OCR, not a "partial" agreement."""
    a = parsed(MINERAL)
    invariants(a)
    assert a.status == "needs_ocr"
    assert [i + 1 for i, layer in enumerate(a.page_layers) if layer == "ocr"] == [6]


def test_ocr_requested_without_ocrmypdf() -> None:
    if ocr_available():
        pytest.skip("ocrmypdf is installed here")
    a = parse_agreement(VADOC, ocr=True, isolate=False)
    assert a.status == "needs_ocr" and not a.ocr
    assert "OCR was requested but ocrmypdf is not installed" in a.warnings


# ---------------------------------------------------------------------------------------------
# Built PDFs: broken files, a duplicated layer, a generic agreement
# ---------------------------------------------------------------------------------------------


def make_pdf(path: Path, pages: list[list[tuple[str, float, float]]], *, size: float = 11.0,
             repeat: int = 1, image: bool = False) -> Path:
    """Letter pages of (text, x, top) in Helvetica; ``repeat`` draws each text that many times
    at the same place (a duplicated layer); ``image`` puts a grey page-sized picture first."""
    pdf = pdfium.PdfDocument.new()
    try:
        font = pdfium_c.FPDFText_LoadStandardFont(pdf.raw, b"Helvetica")
        for items in pages:
            page = pdf.new_page(612, 792)
            if image:
                img = pdfium.PdfImage.new(pdf)
                img.set_bitmap(pdfium.PdfBitmap.from_pil(Image.new("RGB", (85, 110), "grey")))
                img.set_matrix(pdfium.PdfMatrix().scale(612, 792))
                page.insert_obj(img)
            for text, x, top in items:
                for _ in range(repeat):
                    obj = pdfium_c.FPDFPageObj_CreateTextObj(pdf.raw, font, ctypes.c_float(size))
                    buf = ctypes.create_string_buffer((text + "\0").encode("utf-16-le"))
                    pdfium_c.FPDFText_SetText(obj, ctypes.cast(buf, pdfium_c.FPDF_WIDESTRING))
                    pdfium_c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, 792 - top - 0.8 * size)
                    pdfium_c.FPDFPage_InsertObject(page.raw, obj)
            pdfium_c.FPDFPage_GenerateContent(page.raw)
            page.close()
        pdf.save(str(path))
    finally:
        pdf.close()
    return path


def lines_at(texts: list[str], top: float = 72.0, x: float = 72.0, pitch: float = 14.0
             ) -> list[tuple[str, float, float]]:
    return [(t, x, top + k * pitch) for k, t in enumerate(texts)]


MOA_PAGE_1 = [
    "MEMORANDUM OF AGREEMENT",
    "287(g) Warrant Service Officer Program",
    "I. PARTIES",
    "This Memorandum of Agreement (MOA) constitutes an agreement between U.S. Immigration and",
    "Customs Enforcement (ICE), a component of the Department of Homeland Security (DHS), and",
    "the Sample County Sheriff's Office, hereinafter the law enforcement agency (LEA), pursuant",
    "to which ICE delegates authority under section 287(g), 8 U.S.C. 1357(g).",
    "V. REPORTING REQUIREMENTS",
    "The LEA will keep data and statistical information and check names through TECS II.",
    "VIII. EFFECTIVE DATE AND TERMINATION OF THIS MOA",
    "Either party may terminate this MOA upon 90-day written notice to the other party.",
    "By signing this MOA, each party represents it is fully authorized to enter into this MOA.",
]
SIGNATURES = [("For the LEA:", 72, 300), ("For ICE:", 340, 300),
              ("Date: ___March__ 3,_ 2025___", 72, 320), ("Date: 03/05/2025", 340, 320),
              ("Title: Sheriff", 72, 340), ("Title: Acting Director", 340, 340)]


def test_duplicated_text_layer_is_read_once(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "dup.pdf", [lines_at(MOA_PAGE_1) + SIGNATURES], repeat=2,
                    image=True)
    with pdfplumber.open(path) as pdf:
        assert "MEMORANDUM OF AGREEMENT" not in pdf.pages[0].extract_text()  # doubled letters
    a = parse_agreement(path, filename="SampleCoSO_WSO_MOA_030525.pdf", isolate=False)
    invariants(a)
    assert a.page_layers == ["duplicated"] and a.text_layer == "duplicated"
    assert any("duplicated text layer" in w for w in a.warnings)
    assert (a.status, a.doc_type, a.model) == ("ok", "287g_moa", "WSO")
    assert lea(a).name == "Sample County Sheriff's Office"
    assert dates(a) == [("LEA", "March__ 3,_ 2025", "2025-03-03", 1, "typed"),
                        ("ICE", "03/05/2025", "2025-03-05", 1, "typed")]
    assert a.effective_date == "2025-03-05"
    assert [t.notice_days for t in a.termination] == [[90]]
    assert [p.systems for p in a.data_provisions if p.systems] == [["TECS II"]]


def test_single_layer_version_is_ok(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "moa.pdf", [lines_at(MOA_PAGE_1) + SIGNATURES])
    a = parse_agreement(path, isolate=False)
    invariants(a)
    assert (a.status, a.text_layer, a.model) == ("ok", "born_digital", "WSO")
    assert a.effective_date == "2025-03-05"


def test_generic_dmv_agreement(tmp_path: Path) -> None:
    page1 = lines_at([
        "DATA ACCESS AGREEMENT",
        "This Agreement is entered into by and between the Ohio Bureau of Motor Vehicles (\"BMV\")",
        "and the Example City Police Department (\"Agency\") for access to motor vehicle records.",
        "1. PERMITTED USE",
        "The Agency may query driver license and motor vehicle records through NLETS only for",
        "law enforcement purposes permitted by the Driver's Privacy Protection Act (DPPA).",
        "The Agency shall not share the data with Immigration and Customs Enforcement (ICE).",
        "2. TERMINATION",
        "Either party may terminate this Agreement upon thirty (30) days written notice.",
        "IN WITNESS WHEREOF, the parties have signed this Agreement.",
    ])
    sig = [("Ohio Bureau of Motor Vehicles", 72, 320), ("Example City Police Department", 340, 320),
           ("Date: June 2, 2023", 72, 340), ("Date: June 9, 2023", 340, 340)]
    path = make_pdf(tmp_path / "dmv.pdf", [page1 + sig])
    a = parse_agreement(path, isolate=False)
    invariants(a)
    assert (a.doc_type, a.model) == ("dmv_agreement", None)
    assert [(p.name, p.defined_as, p.role) for p in a.parties] == [
        ("Ohio Bureau of Motor Vehicles", "BMV", "party"),
        ("Example City Police Department", "Agency", "party")]
    assert [(d.raw, d.iso, d.party) for d in a.signature_dates] == [
        ("June 2, 2023", "2023-06-02", "Ohio Bureau of Motor Vehicles"),
        ("June 9, 2023", "2023-06-09", "Example City Police Department")]
    assert a.effective_date == "2023-06-09"
    assert a.status == "ok" and a.missing == []
    assert [(t.heading, t.notice_days) for t in a.termination] == [("2. TERMINATION", [30])]
    nlets = [p for p in a.data_provisions if "NLETS" in p.systems]
    assert [(p.heading, p.page) for p in nlets] == [("1. PERMITTED USE", 1)]
    assert "dmv" in nlets[0].topics and "Driver's Privacy Protection Act" in nlets[0].text
    assert [m.agency for m in a.federal_agencies_named] == ["ICE"]


@pytest.mark.parametrize(("texts", "kind"), [
    (["MEMORANDUM OF UNDERSTANDING",
      "This MOU is made between the City of Example Police Department and the County of Sample",
      "Sheriff's Office for sharing automated license plate reader (ALPR) detection data."],
     "alpr_sharing_mou"),
    (["MASTER SERVICES AGREEMENT",
      "This Agreement is between Flock Group, Inc. (\"Flock\") and the City of Example",
      "(\"Customer\") for the license plate reader services in the Order Form."],
     "vendor_contract"),
])
def test_document_type_from_content(tmp_path: Path, texts: list[str], kind: str) -> None:
    a = parse_agreement(make_pdf(tmp_path / "doc.pdf", [lines_at(texts)]), isolate=False)
    assert a.doc_type == kind and a.model is None
    assert len(a.parties) == 2 and all(p.role == "party" for p in a.parties)
    assert a.status == "partial" and any(m.startswith("signature block") for m in a.missing)


def test_text_without_an_agreement(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "memo.pdf", [lines_at(["Quarterly statistics", "Plates read: 12",
                                                      "Hits: 3"])])
    a = parse_agreement(path, isolate=False)
    assert a.status == "not_an_agreement" and a.doc_type == "other"


def test_scan_without_text_needs_ocr(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "scan.pdf", [[], []], image=True)
    a = parse_agreement(path, ocr=False)
    assert a.status == "needs_ocr" and a.page_layers == ["none", "none"]
    assert a.missing == ["everything: no page has a readable text layer"]


def test_junk_text_layer(tmp_path: Path) -> None:
    junk = ["r9S(e jc]q 39{ (eej4 rS9} 6)r( 3(q9q q7x% U2;6 sU^q9 P<c4 ^c@r 2Uq{ rjq3"] * 6
    path = make_pdf(tmp_path / "junk.pdf", [lines_at(junk)])
    a = parse_agreement(path, isolate=False)
    assert a.status == "unreadable_text" and a.page_layers == ["junk"]


def test_broken_files(tmp_path: Path) -> None:
    html = parse_agreement(b"<!doctype html><html><title>Access denied</title></html>")
    assert html.status == "not_a_pdf" and "HTML page" in html.warnings[0]
    cut = parse_agreement(TX_OAG.read_bytes()[:60_000])
    assert cut.status == "truncated" and cut.parties == []
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    assert parse_agreement(empty).status == "empty"


def test_find_dates() -> None:
    assert [(d.raw, d.iso) for d in find_dates("Date:___F_e_b_r_u_a_r_y_ 1_8_,_ 2_0__2_5___")] \
        == [("F_e_b_r_u_a_r_y_ 1_8_,_ 2_0__2_5", "2025-02-18")]
    assert [(d.raw, d.iso) for d in find_dates("Date: 2020.08.21 09:55:42 -04'00'")] == [
        ("2020.08.21", "2020-08-21")]
    assert find_dates("04/16/2~25~") == []
    [d] = find_dates("\ufffd5/12/2025")
    assert d.iso is None and "unreadable glyph" in d.note
    [d] = find_dates("Date: 2/30/2025")
    assert d.iso is None and d.note == "not a valid calendar date"
    assert [d.iso for d in find_dates("the 26th day of March, 2025")] == ["2025-03-26"]
