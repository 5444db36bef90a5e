"""classify_page: block pages and 'not found' pages must never be read as portal data."""

from __future__ import annotations

import pytest

from parsers.flock.pagekind import classify_page
from parsers.flock.portal import PortalParseError, parse_portal

try:
    from tests.portal_pages import (
        LARGE_PAGE_FILLER,
        classic,
        classic_captures,
        corpus_path,
        intermediate_page,
        new_layout_page,
    )
except ImportError:  # tests/ is on sys.path (pytest rootdir without tests/__init__.py)
    from portal_pages import (  # type: ignore[no-redef]
        LARGE_PAGE_FILLER,
        classic,
        classic_captures,
        corpus_path,
        intermediate_page,
        new_layout_page,
    )

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus

BLOCK_1015 = ("flock", "portals_new", "blocked_cloudflare_1015_medina-wa-pd_2026-06-24.html")
NOT_FOUND = ("flock", "portals_new", "not_found_clark-county-wa-so_2026-10.html")

# A Cloudflare managed-challenge page in the shape FORMAT.md describes (no real copy is saved in
# the corpus): CONSTRUCTED.
CHALLENGE = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title>'
    '<meta http-equiv="refresh" content="360"></head><body><div class="main-wrapper">'
    "<noscript>Enable JavaScript and cookies to continue</noscript></div>"
    "<script>(function(){window._cf_chl_opt={cvId: '3'};var a=document.createElement('script');"
    "a.src='/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8f';"
    "document.getElementsByTagName('head')[0].appendChild(a);}());</script></body></html>"
)


def test_real_cloudflare_1015_page_is_blocked_rate_limit() -> None:
    body = corpus_path(*BLOCK_1015).read_bytes()
    verdict = classify_page(body)
    assert verdict.kind == "blocked"
    assert verdict.layout is None
    assert "1015" in verdict.reason and "rate limit" in verdict.reason
    with pytest.raises(PortalParseError) as err:
        parse_portal(body)
    assert err.value.status == "not_a_portal"


def test_real_not_found_page_despite_challenge_platform_script() -> None:
    body = corpus_path(*NOT_FOUND).read_bytes()
    assert b"/cdn-cgi/challenge-platform/scripts/precursor/main.js" in body  # the trap
    verdict = classify_page(body, 200)
    assert verdict.kind == "not_found"
    assert "Page not found" in verdict.reason
    with pytest.raises(PortalParseError) as err:
        parse_portal(body)
    assert err.value.status == "not_a_portal"


def test_http_status_and_headers() -> None:
    assert classify_page(b"", 429).kind == "blocked"
    assert "429" in classify_page(b"<html></html>", 429).reason
    verdict = classify_page(b"<html><body>x</body></html>", 403, {"CF-Mitigated": "challenge"})
    assert (verdict.kind, verdict.reason) == ("blocked",
                                              "Cloudflare challenge (cf-mitigated: challenge)")
    assert classify_page(CHALLENGE, 403).kind == "blocked"
    assert classify_page(b"", 404).kind == "not_found"
    assert classify_page(b"<html><body>gone</body></html>", 404).kind == "not_found"
    assert classify_page(b"<html><body>denied</body></html>", 403).kind == "blocked"


def test_challenge_page_without_status() -> None:
    verdict = classify_page(CHALLENGE)
    assert verdict.kind == "blocked"
    assert "Just a moment" in verdict.reason
    # the challenge script alone, with no portal content, is also a block
    bare = "<html><head><script src='/cdn-cgi/challenge-platform/x.js'></script></head></html>"
    assert classify_page(bare).kind == "blocked"


@pytest.mark.parametrize("body", [b"", "", b"   \n", "<html><head><title>Hello</title></head>"
                                  "<body><h1>Hello</h1><p>Last Updated: never</p></body></html>",
                                  b"\xff\xfe\x00garbage"])
def test_unknown_pages(body: bytes | str) -> None:
    verdict = classify_page(body)
    assert verdict.kind == "unknown"
    with pytest.raises(PortalParseError) as err:
        parse_portal(body)
    assert err.value.status == "not_a_portal"


def test_truncated_classic_page_is_truncated_not_a_portal() -> None:
    body = classic("bell-ca-pd", "2026-04-11")
    half = body[: len(body) // 2]
    assert b"<h1" in half and b"Last Updated:" in half  # portal markers survive the cut
    verdict = classify_page(half)
    assert verdict.kind == "truncated"
    assert "truncated" in verdict.reason
    with pytest.raises(PortalParseError) as err:
        parse_portal(half)
    assert err.value.status == "not_a_portal"
    # cut before any portal marker: unknown as well
    assert classify_page(body[:300]).kind == "unknown"


def test_portal_title_without_structure_is_layout_changed() -> None:
    page = ("<html><head><title>Flock Safety - Bell CA PD Transparency Portal</title></head>"
            '<body><div id="reportContent"><h1>Bell CA PD</h1>'
            '<p>Last Updated: <span title="2026-04-10T14:05:42.502Z">x</span></p>'
            "<div>a brand-new widget system</div></div></body></html>")
    assert classify_page(page).kind == "flock_portal"
    with pytest.raises(PortalParseError) as err:
        parse_portal(page)
    assert err.value.status == "layout_changed"


def test_every_classic_capture_is_classic() -> None:
    files = classic_captures()
    assert len(files) == 536
    kinds = {(classify_page(f.read_bytes()).kind, classify_page(f.read_bytes()).layout)
             for f in files}
    assert kinds == {("flock_portal", "classic")}


def test_new_and_intermediate_layouts() -> None:
    verdict = classify_page(new_layout_page())
    assert (verdict.kind, verdict.layout) == ("flock_portal", "new")
    verdict = classify_page(intermediate_page())
    assert (verdict.kind, verdict.layout) == ("flock_portal", "intermediate")


def test_classify_a_large_page() -> None:
    # its speed is measured by scripts/bench_steps.py, not here
    body = new_layout_page(filler_orgs=LARGE_PAGE_FILLER).encode()
    assert len(body) > 635_000
    verdict = classify_page(body)
    assert (verdict.kind, verdict.layout) == ("flock_portal", "new")
