"""The flock_portals spider end to end against a local replay server (never the live site)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import fact_dump, run_cli

from alpr_inventory.demo.replay import Special
from alpr_inventory.store.schema import open_db
from crawlers.settings import find_chromium


def crawl(server, db, *slugs, extra=()):
    result = run_cli("crawl", "flock-portals", "--base-url", server.base_url,
                     "--log-level", "WARNING", *extra, "--", *slugs, db=db)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_crawl_portals_block_page_not_found_and_discovery(replay, tmp_path):
    server, corpus = replay
    db_path = tmp_path / "crawl.db"
    out = crawl(server, db_path, "bell-ca-pd", "-el-cajon-pd-ca", "medina-wa-pd",
                "clark-county-wa-so").stdout
    db = open_db(str(db_path))
    (run,) = list(db["runs"].rows)
    assert run["command"] == "flock_portals" and run["status"] == "finished"
    # 5 Bell + 3 El Cajon captures, and Burbank's 5 found only through Bell's sharing list
    assert run["portals"] == 13
    assert run["blocked"] == 1
    assert run["not_found"] >= 1 and run["discovered"] > 100
    assert f"run {run['id']} finished" in out
    snaps = {(r["agency_id"], r["captured_at"][:10]) for r in db["portal_snapshots"].rows}
    assert len(snaps) == 13
    assert ("burbank-ca-pd", "2026-04-25") in snaps
    fetch = next(db.query("select * from fetches where requested_slug = 'burbank-ca-pd' "
                          "and captured_at like '2026-03-28%'"))
    # provenance: the original portal URL, the replay URL it came from, the memento time
    assert fetch["url"] == "https://transparency.flocksafety.com/burbank-ca-pd"
    assert fetch["fetched_from"].startswith(server.base_url)
    assert fetch["captured_at_basis"] == "memento"
    blocked = list(db.query("select d.doc_type, d.parse_status, f.http_status from fetches f "
                            "join documents d using (sha256) "
                            "where f.requested_slug = 'medina-wa-pd'"))
    assert blocked == [{"doc_type": "blocked", "parse_status": "blocked", "http_status": 429}]
    assert not list(db.query("select 1 from portal_snapshots where agency_id like 'medina%'"))
    # the 429 was retried once after a backoff, then recorded
    assert corpus.hits["/medina-wa-pd"] == 2
    assert corpus.hits["/robots.txt"] == 1

    # crawling again adds no document, no fetch of a capture already held, no new fact
    before = fact_dump(db)
    docs = db["documents"].count
    crawl(server, db_path, "bell-ca-pd", "-el-cajon-pd-ca", "burbank-ca-pd", "medina-wa-pd",
          extra=("--discover-depth", "0"))
    db = open_db(str(db_path))
    assert db["documents"].count == docs
    assert fact_dump(db)["sharing"] == before["sharing"]
    assert fact_dump(db)["portal_snapshots"] == before["portal_snapshots"]
    assert db["runs"].count == 2


def test_retry_after_is_honoured_and_robots_obeyed(replay, tmp_path):
    server, corpus = replay
    corpus.specials["medina-wa-pd"].headers["Retry-After"] = "2"
    corpus.robots_txt = "User-agent: *\nDisallow: /bell-ca-pd\n"
    crawl(server, tmp_path / "c.db", "medina-wa-pd", "bell-ca-pd",
          extra=("--discover-depth", "0", "--contact", "newsroom@example.org"))
    first, second = corpus.hit_times["/medina-wa-pd"]
    assert second - first >= 1.9
    assert corpus.hits["/bell-ca-pd"] == 0
    assert corpus.user_agents == {
        "alpr-inventory/0.1 (public-records research tool; contact: newsroom@example.org)"}


def test_live_crawl_refuses_to_start_without_a_contact(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ALPR_CONTACT"}
    result = subprocess.run([sys.executable, "-m", "alpr_inventory.cli", "crawl",
                             "flock-portals", "bell-ca-pd", "--no-browser", "--db",
                             str(tmp_path / "live.db")], capture_output=True, text=True, env=env)
    assert result.returncode != 0 and "--contact" in result.stderr
    assert not (tmp_path / "live.db").exists()


def test_repeated_blocks_stop_the_crawl(replay, tmp_path):
    server, corpus = replay
    challenge = tmp_path / "constructed_cloudflare_challenge.html"  # constructed, not a capture
    challenge.write_text("<html><head><title>Just a moment...</title></head><body>"
                         "<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1'>"
                         "</script></body></html>")
    slugs = [f"blocked-{i}" for i in range(8)]
    for slug in slugs:
        corpus.specials[slug] = Special(403, challenge, {"cf-mitigated": "challenge"})
    db_path = tmp_path / "b.db"
    result = run_cli("crawl", "flock-portals", *slugs, "--base-url", server.base_url,
                     "--discover-depth", "0", db=db_path)
    assert result.returncode == 0, result.stderr[-2000:]
    (run,) = list(open_db(str(db_path))["runs"].rows)
    assert run["status"] == "blocked" and run["blocked"] >= 5
    assert "import" in result.stderr  # tells the user how to go on


@pytest.mark.skipif(not find_chromium() and os.environ.get("ALPR_REQUIRE_BROWSER") != "1",
                    reason="Chromium not installed (./scripts/setup installs it)")
def test_browser_mode_fetches_through_system_chromium(replay, tmp_path):
    assert find_chromium(), "Chromium missing: ./scripts/setup installs Debian's chromium"
    server, _ = replay
    db_path = tmp_path / "browser.db"
    crawl(server, db_path, "bell-ca-pd", extra=("--browser", "--discover-depth", "0"))
    db = open_db(str(db_path))
    (run,) = list(db["runs"].rows)
    assert run["mode"] == "browser" and run["portals"] >= 1
    snap = next(db.query("select * from portal_snapshots order by captured_at desc limit 1"))
    assert snap["agency_name"] == "Bell CA PD"
    assert snap["outbound_count"] > 100


def test_crawl_help_lists_spiders_and_limits():
    out = subprocess.run([sys.executable, "-m", "alpr_inventory.cli", "crawl", "--help"],
                         capture_output=True, text=True, check=True).stdout
    assert "flock-portals" in out and "Chromium" in out and "429" in out
