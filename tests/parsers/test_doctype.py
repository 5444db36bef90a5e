"""Document types by content and full text, on real corpus documents (read in place)."""

from __future__ import annotations

import io
import zipfile

import pytest
from conftest import CORPUS

from parsers.doctype import classify_document
from parsers.pdf.fulltext import extract_text, html_text, pdf_text

EUGENE = CORPUS / "records" / "eugene_or_pd"
OKALOOSA = CORPUS / "records" / "okaloosa_fl_so"


def _text(path):
    return extract_text(path.read_bytes())


@pytest.mark.parametrize(("path", "expected", "words"), [
    # "Policy 1204 - Automated License Plate Readers" heads Eugene's policy
    (EUGENE / "eugene_or_pd_Policy-1204.pdf", "alpr_policy", "Automated License Plate Readers"),
    # Freeborn's WSO MOA (cid fonts elsewhere, but its text layer names the program)
    (CORPUS / "agreements" / "ice_other" / "freeborn_moa.pdf", "287g_moa",
     "Warrant Service Officer"),
    (OKALOOSA / "Sharing_Agencies.pdf", "sharing_list", "Networks Shared With Me"),
    # a Vigilant report shares "its Detection data" with agencies
    (CORPUS / "agreements" / "flock" / "OCIAC_A1-A4_Data_Sharing.pdf", "sharing_list",
     "Sharing its Detection data"),
])
def test_text_rules_on_real_documents(path, expected, words):
    text = _text(path)
    doc_type, evidence = classify_document("pdf", None, text.text)
    assert doc_type == expected and words.lower() in evidence.lower()


def test_a_records_letter_about_flock_audits_is_not_an_audit_or_a_contract():
    # Eugene's cost-estimate letter names "Organization Audit in Flock": it is neither
    letter = _text(EUGENE / "EPD-2025-3891_cost_estimate.pdf")
    assert letter.status == "ok" and letter.pages == 3
    assert "Organization Audit in Flock" in letter.text
    assert classify_document("pdf", None, letter.text) == ("other", "no rule matched the text")
    # the requester's address in the letter is masked in the searchable text
    assert "@requests.muckrock.com" not in letter.text and "[email]" in letter.text


def test_a_scan_is_other_and_says_it_needs_ocr():
    scan = _text(OKALOOSA / "ocso_flock_msa.pdf")  # Okaloosa's Flock contract: 18 scanned pages
    assert (scan.status, scan.chars, scan.pages) == ("empty", 0, 18)
    doc_type, evidence = classify_document("needs_ocr", None, scan.text, "needs_ocr")
    assert doc_type == "other" and "needs OCR" in evidence


def test_parser_verdicts_settle_the_type():
    assert classify_document("flock_portal")[0] == "portal_page"
    assert classify_document("audit_export")[0] == "audit_export"
    assert classify_document("vigilant_sharing_report")[0] == "sharing_list"
    assert classify_document("records_api")[0] == "records_api_response"
    assert classify_document("agreement", "dmv_agreement")[0] == "dmv_agreement"
    assert classify_document("agreement", "alpr_sharing_mou")[0] == "data_sharing_agreement"
    assert classify_document("blocked") == ("other", "a block or rate-limit page")


def test_the_809_page_audit_pdf_text_is_read_whole():
    text = _text(OKALOOSA / "Okaloosa_County_FL_SO-Audit_2025-11-01_2025-12-08.pdf")
    assert text.status == "ok" and text.pages == 809 and not text.truncated


def test_word_and_html_text_constructed():
    # constructed: a minimal .docx (two paragraphs) and an agency page with a script
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml",
                    "<w:document><w:body><w:p><w:r><w:t>Data Sharing Agreement</w:t></w:r></w:p>"
                    "<w:p><w:r><w:t>Flock Safety ALPR data &amp; access</w:t></w:r></w:p>"
                    "</w:body></w:document>")
    docx = extract_text(buf.getvalue())
    assert docx.method == "docx" and docx.text == "Data Sharing Agreement\nFlock Safety ALPR " \
                                                  "data & access"
    assert classify_document("unknown", None, docx.text)[0] == "data_sharing_agreement"
    page = html_text(b"<html><head><script>var x = 'flock';</script></head><body><h1>Police"
                     b"</h1><p>License Plate Reader Policy</p></body></html>")
    assert page.text == "Police\nLicense Plate Reader Policy" and "var x" not in page.text


def test_a_broken_pdf_gets_a_status_not_a_crash():
    body = (EUGENE / "eugene_or_pd_Policy-1204.pdf").read_bytes()[:2000]  # constructed: cut
    result = pdf_text(body)
    assert result.status == "error" and result.text == ""
