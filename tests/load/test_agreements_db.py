"""287(g) spreadsheets and state policies in the database, and the `state` command."""

from __future__ import annotations

import json

import pytest
from conftest import CORPUS, run_cli

from alpr_inventory.store.schema import open_db

SHEETS = CORPUS / "agreements" / "287g" / "sheets"


@pytest.fixture(scope="module")
def db_path(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sheets")
    # four versions, linked (not copied): first and last of each kind
    names = sorted(p.name for p in SHEETS.glob("*.xlsx"))
    chosen = [next(n for n in names if "participating" in n),
              next(n for n in reversed(names) if "participating" in n),
              next(n for n in names if "pending" in n),
              next(n for n in reversed(names) if "pending" in n)]
    for name in chosen:
        (folder / name).symlink_to(SHEETS / name)
    path = folder / "g.db"
    out = run_cli("import", str(folder), db=path)
    assert out.returncode == 0, out.stderr
    return path


def test_versions_become_listings_and_agreement_history(db_path):
    db = open_db(str(db_path))
    kinds = {r["sheet_kind"]: r["n"] for r in db.query(
        "select sheet_kind, count(*) n from agreement_listings group by 1")}
    # rows read in the sheets: participating 571 (16 May am) + 832 (18 July pm);
    # pending 92 (15 May) + 26 (18 July pm)
    assert kinds == {"participating": 571 + 832, "pending": 92 + 26}
    okdps = next(db.query("select * from agreements where agency = "
                          "'Oklahoma Department of Public Safety'"))
    assert okdps["signed"] == "2025-02-18" and okdps["on_newest_participating"] == 1
    assert any("OklahomaDeptPublicSafety_TFM_MOA_02.18.25.pdf" in u
               for u in json.loads(okdps["moa_urls"]))
    assert okdps["first_document"] and okdps["last_document"]
    docs = {r["doc_type"] for r in db.query("select doc_type from documents")}
    assert docs == {"ice_287g_sheet"}


def test_state_policies_and_state_command(db_path):
    db = open_db(str(db_path))
    assert db["state_policies"].count == 51
    assert db["state_policies"].get("WA")["nlets_ice_hsi_dmv_blocked"] == "yes"
    out = run_cli("state", "ok", db=db_path).stdout
    assert "OK (as of" in out and "287(g) agreements listed:" in out
    assert "Oklahoma Department of Public Safety (TFM): participating; signed 2025-02-18" in out
    assert run_cli("state", "XX", db=db_path).returncode != 0


def test_state_dmv_access_and_timeline_tables_and_state_block(db_path):
    # loaded from data/state_dmv_access.csv, state_policy_events.csv, policy_sources.csv on the
    # build (facts checked against their sources in tests/resolve/test_state_dmv_access.py)
    db = open_db(str(db_path))
    assert db["state_dmv_access"].count >= 51 * 6
    wa = db["state_dmv_access"].get("WA:ICE:nlets:2025-11-19..")
    assert (wa["access"], wa["current"], wa["as_of"]) == ("no", 1, "2026-01-08")
    assert "dailyfly-2026-01-08" in json.loads(wa["source_ids"])
    assert db["policy_sources"].get("dailyfly-2026-01-08")["date"] == "2026-01-08"
    ice = db["state_policy_events"].get("us-2025-11-12-nlets-ice-queries")
    assert (ice["count"], ice["period_end"]) == (292114, "2025-10-01")
    out = run_cli("state", "wa", db=db_path).stdout
    assert "ICE via nlets: no since 2025-11-19 (as of 2026-01-08; secondary)" in out
    assert "CBP via nlets: yes (as of 2026-01-08; reported)" in out
    assert "HSI via direct_dmv: no since 2025-08-27" in out
    out = run_cli("state", "TX", db=db_path).stdout
    assert "unknown: ICE via nlets (not_found)" in out and "timeline: 0 dated events" in out


def test_canned_queries_for_agreements_and_nlets(db_path):
    import asyncio

    from datasette.app import Datasette

    from alpr_inventory.store.schema import datasette_metadata

    ds = Datasette([str(db_path)], metadata=datasette_metadata("g"))

    async def get(path):
        return (await ds.client.get(path)).json()

    rows = asyncio.run(get("/g/agreements_in_state.json?state=ok&_shape=array"))
    assert "Oklahoma Department of Public Safety" in {r["agency"] for r in rows}
    # no plate-reader sharing is loaded in this database: the query runs and says nothing
    assert asyncio.run(get("/g/nlets_blocked_but_federal_alpr.json?_shape=array")) == []
    rows = asyncio.run(get("/g/state_dmv_access_now.json?state=wa&_shape=array"))
    cbp = next(r for r in rows if (r["component"], r["channel"]) == ("CBP", "nlets"))
    assert cbp["access"] == "yes" and "dailyfly.com/2026/01/08" in cbp["sources"]
    events = asyncio.run(get("/g/state_policy_timeline.json?state=wa&_shape=array"))
    dates = [e["date"] for e in events]
    assert dates == sorted(dates) and "2025-11-19" in dates
    assert {e["state"] for e in events} == {"WA", "US"}
