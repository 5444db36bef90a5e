"""What a document is, by its content: the taxonomy a reporter filters on.

Documents a parser recognised keep that parser's verdict (a Flock audit export is an
audit_export because the audit parser read it). Anything else is classified from its text by
ordered rules; each answer names the words that decided it, so a wrong call can be seen and
fixed. A document without text (a scan awaiting OCR) is `other`: never guessed from its name.
"""

from __future__ import annotations

import re

DOCUMENT_TYPES = (
    "portal_page", "audit_export", "sharing_list", "alpr_policy", "vendor_contract",
    "data_sharing_agreement", "287g_moa", "dmv_agreement", "287g_listing",
    "records_api_response", "other",
)
# parser verdicts (documents.doc_type) that settle the type by themselves
BY_KIND = {
    "flock_portal": "portal_page",
    "audit_export": "audit_export",
    "sharing_report": "sharing_list",
    "vigilant_sharing_report": "sharing_list",
    "sharing_list": "sharing_list",
    "peer_dataset": "sharing_list",
    "ice_287g_sheet": "287g_listing",
    "records_api": "records_api_response",
}
# agreement_pdf's own classification
BY_AGREEMENT = {
    "287g_moa": "287g_moa",
    "dmv_agreement": "dmv_agreement",
    "alpr_sharing_mou": "data_sharing_agreement",
    "vendor_contract": "vendor_contract",
}
NOT_DOCUMENTS = {"blocked": "a block or rate-limit page", "not_found": "a 'not found' page",
                 "truncated": "a page cut short"}

_ALPR = (r"(?:automated\s+)?licen[cs]e[\s-]*plate[\s-]*(?:readers?|recognition)|\balprs?\b|"
         r"\blprs?\b|plate[\s-]*readers?")
_NLETS = (r"\bnlets\b|national\s+law\s+enforcement\s+telecommunications?\s+system|"
          r"international\s+justice\s+and\s+public\s+safety\s+(?:information\s+sharing\s+)?"
          r"network")
_VENDOR = r"flock\s+(?:safety|group)|vigilant\s+solutions|motorola\s+solutions|\brekor\b"


def _near(a: str, b: str, gap: int = 120) -> str:
    return rf"(?:{a})[\s\S]{{0,{gap}}}(?:{b})|(?:{b})[\s\S]{{0,{gap}}}(?:{a})"


# (type, pattern, where): where = "head" (first 1,500 characters) or "all" (first 30,000)
RULES: tuple[tuple[str, str, str], ...] = (
    ("alpr_policy", _near(r"\bpolicy\b|general\s+order|\bdirective\b|standard\s+operating"
                          r"\s+procedure", _ALPR, 200), "head"),
    ("287g_moa", _near(r"287\s*\(?g\)?|warrant\s+service\s+officer|jail\s+enforcement\s+model"
                       r"|task\s+force\s+model", r"memorandum\s+of\s+agreement|\bmoa\b", 400),
     "all"),
    ("dmv_agreement", _near(r"\bdmv\b|department\s+of\s+motor\s+vehicles|motor\s+vehicle\s+"
                            r"(?:records|division)|driver\s+(?:and\s+vehicle\s+)?records",
                            r"agreement|memorandum\s+of\s+understanding|\bmou\b|contract", 200),
     "head"),
    # an Nlets policy, user agreement or terms of access: how DMV data reaches other states'
    # and federal agencies (loaded as a DMV agreement: the state brief shows it)
    ("dmv_agreement", _near(_NLETS, r"\bpolic(?:y|ies)\b|agreement|memorandum|\bmou\b|"
                            r"procedures?|terms\s+of\s+(?:access|use|service)|\bbylaws\b",
                            300), "head"),
    ("data_sharing_agreement", _near(r"data[\s-]*sharing\s+agreement|sharing\s+agreement|"
                                     r"memorandum\s+of\s+understanding|interagency\s+agreement|"
                                     r"\bmou\b|access\s+agreement", _ALPR + "|" + _VENDOR, 400),
     "all"),
    ("vendor_contract", _near(_VENDOR, r"order\s+form|master\s+services?\s+agreement|"
                              r"services?\s+agreement|terms\s+and\s+conditions|purchase\s+order"
                              r"|\bquote\b|\bcontract\b|subscription", 400), "all"),
    ("sharing_list", r"networks?\s+shared\s+with\s+me|networks?\s+i'?m\s+sharing|"
                     r"is\s+sharing\s+its\s+detection\s+data|organi[sz]ations\s+with\s+access",
     "all"),
    ("alpr_policy", _near(r"\bpolicy\b|general\s+order|procedures?", _ALPR, 120), "all"),
)
_COMPILED = tuple((t, re.compile(p, re.I), where) for t, p, where in RULES)


def classify_document(kind: str | None, agreement_type: str | None = None,
                      text: str | None = None, parse_status: str | None = None,
                      ) -> tuple[str, str]:
    """(document type, evidence) for a document the parsers called `kind`."""
    if kind in BY_KIND:
        return BY_KIND[kind], f"recognised by the {kind} parser"
    if agreement_type in BY_AGREEMENT:
        return BY_AGREEMENT[agreement_type], f"agreement parser: {agreement_type}"
    if kind in NOT_DOCUMENTS:
        return "other", NOT_DOCUMENTS[kind]
    scan = parse_status == "needs_ocr"
    if not text or not text.strip():
        return "other", "no text to classify" + (" (a scan: needs OCR first)" if scan else "")
    head, body = text[:1500], text[:30000]
    for doc_type, rx, where in _COMPILED:
        m = rx.search(head if where == "head" else body)
        if m:
            words = " ".join(m.group(0).split())
            return doc_type, f"text: {words[:120]!r}"
    if scan:
        return "other", "a scan whose few words (stamps, headers) say nothing: needs OCR first"
    return "other", "no rule matched the text"
