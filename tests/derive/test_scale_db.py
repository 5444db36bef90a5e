"""The synthetic national database of scripts/bench_scale has the shape the project derives.

The generator writes sharing intervals itself (it knows each name's run); they must be the rows
`derive_intervals` gives for the same lists, or the benchmark would time other data than a real
load produces. Everything else it derives with the project's own functions. A tiny build (made
up data, generated here: 5% of the national sizes, 3,000 searches) takes a few seconds.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from scale_db import Sizes, cached_database  # noqa: E402

from alpr_inventory.derive.intervals import INTERVAL_COLUMNS, derive_intervals  # noqa: E402

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> sqlite3.Connection:
    base = Sizes()
    sizes = Sizes(searches=3_000, agencies=round(base.agencies * 0.05),
                  portals=round(base.portals * 0.05), audit_portals=20, agreements=40)
    built = cached_database(tmp_path_factory.mktemp("bench"), sizes)
    conn = sqlite3.connect(built.path)
    yield conn
    conn.close()


def test_generated_intervals_equal_derive_intervals(tiny):
    cols = ", ".join(INTERVAL_COLUMNS)
    generated = sorted(tiny.execute(f"select {cols} from sharing"))
    lists = [r[0] for r in tiny.execute("select distinct list_agency_id from sharing_lists")]
    tiny.execute("begin")
    try:
        derive_intervals(tiny, lists)
        derived = sorted(tiny.execute(f"select {cols} from sharing"))
    finally:
        tiny.execute("rollback")
    assert len(generated) > 1_000
    assert generated == derived


def test_answers_are_derived_for_every_data_owner(tiny):
    owners = {r[0] for r in tiny.execute("select distinct owner_id from sharing "
                                         "where owner_id != grantee_id")}
    exposed = {r[0] for r in tiny.execute("select data_owner_id from agency_exposure")}
    assert owners <= exposed
    # data_access has one row per owner and grantee named in any interval
    pairs = tiny.execute("select count(*) from (select distinct owner_id, grantee_id from "
                         "sharing where owner_id != grantee_id)").fetchone()[0]
    assert tiny.execute("select count(*) from data_access").fetchone()[0] == pairs
    # the change history comes from refresh_changes: every kind it writes has its summary
    kinds = {r[0] for r in tiny.execute("select distinct kind from changes")}
    assert {"grantee_added", "grantee_removed", "source_added", "cameras_changed"} <= kinds


# The canned queries as they were before they chose their page from narrow keys
# (schema._paged_by_keys): the same rows, in the same order, with the same page notes.
def _old_forms() -> dict[str, str]:
    from alpr_inventory.store.schema import AGENCY_IDS, _paged

    return {
        "who_can_see": _paged(f"""
select data_owner, can_see_data, kind, grantee_state, federal, immigration, ice_287g,
  ice_287g_agreements, current, current_basis, first_seen, last_seen, newest_source, sources,
  names_as_published, newest_document, owner_id, grantee_id
from can_see_data
where owner_id in {AGENCY_IDS}
order by data_owner, current desc, federal desc, immigration desc, ice_287g is null,
  can_see_data""", total=True),
        "shares_with_federal": _paged("""
select data_owner, can_see_data as federal_grantee, names_as_published as name_as_published,
  current, current_basis, first_seen, last_seen, newest_source, newest_document,
  evidence_documents
from can_see_data
where grantee_marked_federal = 1
order by data_owner, can_see_data"""),
        "federal_access_for_agency": _paged(f"""
select * from federal_access
where :agency = '' or data_owner_id in {AGENCY_IDS}
order by immigration desc, data_owner, federal_grantee"""),
        "nlets_blocked_but_federal_alpr": _paged("""
select f.owner_state as state, p.nlets_ice_hsi_dmv_blocked as nlets_blocked,
  p.nlets_blocked_since, f.data_owner, f.federal_grantee, f.component, f.immigration,
  f.current, f.newest_source, f.first_seen, f.last_seen, f.evidence_documents
from federal_access f join state_policies p on p.state = f.owner_state
where p.nlets_ice_hsi_dmv_blocked = 'yes'
order by f.owner_state, f.data_owner, f.federal_grantee"""),
    }


def test_canned_queries_paged_by_keys_equal_their_old_forms(tiny):
    from alpr_inventory.store.schema import CANNED_QUERIES

    biggest = tiny.execute("select owner_id from data_access group by 1 "
                           "order by count(*) desc limit 1").fetchone()[0]
    name = tiny.execute("select name from agencies where id = ?", [biggest]).fetchone()[0]
    checked = 0
    for query, old in _old_forms().items():
        new = CANNED_QUERIES[query]["sql"]
        agencies = ("", biggest, name, name.split()[0], "nobody at all") if ":agency" in old \
            else ("",)
        for agency in agencies:
            for page in ("", "1", "2", "40"):
                params = {"agency": agency, "page": page}
                got = tiny.execute(new, params)
                columns = [d[0] for d in got.description]
                rows = got.fetchall()
                want = tiny.execute(old, params)
                assert columns == [d[0] for d in want.description], query
                assert rows == want.fetchall(), (query, params)
                checked += len(rows)
    assert checked > 500


# ---- answers at national scale come a page at a time, never cut silently (#13) -------------
# The tiny build above is made-up data; what is checked is the paging, against the whole
# answer the same command gives with --json.
def _cli(tiny: sqlite3.Connection, *args: str) -> str:
    from click.testing import CliRunner

    from alpr_inventory.cli import cli

    path = tiny.execute("pragma database_list").fetchone()[2]
    result = CliRunner().invoke(cli, [*args, "--db", path])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_agencies_prints_a_page_and_says_how_to_get_the_rest(tiny):
    import json

    every = [json.loads(line) for line in _cli(tiny, "agencies", "--json").splitlines()]
    total = tiny.execute("select count(*) from agency_exposure").fetchone()[0]
    assert len(every) == total > 100  # --json is the whole answer
    page = _cli(tiny, "agencies").splitlines()
    assert len(page) == 101 and all(line.startswith(f"{r['data_owner']} (")
                                    for line, r in zip(page[:100], every[:100], strict=True))
    assert page[-1] == (f"Rows 1-100 of {total:,}; {total - 100:,} more: alpr-inventory "
                        "agencies --offset 100 for the next page, alpr-inventory agencies "
                        "--all for every row.")
    second = _cli(tiny, "agencies", "--offset", "100", "--limit", "7").splitlines()
    assert all(line.startswith(f"{r['data_owner']} (")
               for line, r in zip(second[:7], every[100:107], strict=True))
    assert second[-1].startswith(f"Rows 101-107 of {total:,}; {total - 107:,} more: "
                                 "alpr-inventory agencies --offset 107 ")
    assert len(_cli(tiny, "agencies", "--all").splitlines()) == total  # no note: nothing left
    assert len(_cli(tiny, "agencies", "--csv", "--limit", "3").splitlines()) == 4  # asked


def test_changes_pages_add_up_to_the_whole_answer(tiny):
    import json

    from alpr_inventory.derive.changes import count_changes

    agency = tiny.execute("select agency_id from changes group by 1 order by count(*) desc "
                          "limit 1").fetchone()[0]
    every = [json.loads(line) for line in
             _cli(tiny, "changes", "--agency", agency, "--json").splitlines()]
    assert len(every) == count_changes(tiny, agency_ids=[agency]) > 10
    size = -(-len(every) // 3)  # three pages
    pages = [_cli(tiny, "changes", "--agency", agency, "--json", "--limit", str(size),
                  "--offset", str(offset)).splitlines() for offset in range(0, len(every), size)]
    assert [json.loads(line) for page in pages for line in page] == every
    # everyone's history, read in the order of its time index: the same rows as the whole
    from alpr_inventory.derive.changes import query_changes

    everyone = query_changes(tiny)
    assert query_changes(tiny, limit=50, offset=100) == everyone[100:150]
    assert query_changes(tiny, since=everyone[500]["after_captured_at"], limit=20,
                         offset=5) == [c for c in everyone if c["after_captured_at"]
                                       >= everyone[500]["after_captured_at"]][5:25]
    text = _cli(tiny, "changes", "--agency", agency, "--limit", "3").splitlines()
    assert len(text) == 3 * 3 + 1  # three lines a change, then the note
    assert text[-1].startswith(f"Rows 1-3 of {len(every):,}; {len(every) - 3:,} more: "
                               f"alpr-inventory changes --agency {agency} --offset 3 ")


def test_state_says_which_command_pages_a_long_list(tiny):
    import json

    state = tiny.execute("select owner_state from federal_access group by 1 order by "
                         "count(*) desc limit 1").fetchone()[0]
    rows = [json.loads(line) for line in _cli(tiny, "state", state, "--json").splitlines()]
    federal = [r for r in rows if r["section"] == "federal_access"]
    assert len(federal) > 2
    text = _cli(tiny, "state", state, "--limit", "2")
    owners = len({r["data_owner_id"] for r in federal})
    assert f"Agencies whose data federal bodies can see: {owners} (" in text
    assert (f"  ... {len(federal) - 2:,} more of {len(federal):,}: alpr-inventory agencies "
            f"--federal --state {state} --offset 2 for the next page, or alpr-inventory state "
            f"{state} --all") in text
    assert "more of" not in _cli(tiny, "state", state, "--all")


def test_whole_pages_of_national_tables_skip_counts_and_facets_only_unfiltered():
    from alpr_inventory.serve.datasette_plugin import whole_page_switches

    # 10 million searches: neither counted nor faceted, unless a filter narrows the page
    assert whole_page_switches("searches", False, 10_000_000, []) == ["_nofacet", "_nocount"]
    assert whole_page_switches("searches", False, 10_000_000, ["_next"]) == [
        "_nofacet", "_nocount"]
    assert whole_page_switches("searches", False, 10_000_000, ["searching_agency_id"]) == []
    assert whole_page_switches("searches", False, 10_000_000, ["_facet"]) == []
    # a million sharing rows: counted from an index, not faceted
    assert whole_page_switches("sharing", False, 1_000_000, []) == ["_nofacet"]
    # a view's count joins every row; federal_access starts from the few federal bodies
    assert whole_page_switches("can_see_data", True, 900_000, []) == ["_nofacet", "_nocount"]
    assert whole_page_switches("federal_access", True, 900_000, []) == ["_nofacet"]
    assert whole_page_switches("searches", False, 3_000, []) == []  # small: as Datasette does


def test_an_uncounted_whole_page_still_links_to_the_next(tiny, monkeypatch):
    import asyncio

    from datasette.app import Datasette
    from datasette.plugins import pm

    from alpr_inventory.serve import datasette_plugin
    from alpr_inventory.store.schema import WIDE_PAGE_SIZE, datasette_metadata

    path = Path(tiny.execute("pragma database_list").fetchone()[2])
    monkeypatch.setattr(datasette_plugin, "FACETS_UP_TO", 100)  # the tiny build as national
    monkeypatch.setattr(datasette_plugin, "COUNT_TABLE_UP_TO", 100)
    if not pm.is_registered(datasette_plugin):
        pm.register(datasette_plugin, name="alpr_inventory")
    ds = Datasette([str(path)], metadata=datasette_metadata(path.stem),
                   settings=datasette_plugin.DATASETTE_SETTINGS)

    async def pages() -> tuple[dict, dict]:
        whole = (await ds.client.get(f"/{path.stem}/searches.json")).json()
        agency = tiny.execute("select searching_agency_id from searches limit 1").fetchone()[0]
        one = (await ds.client.get(f"/{path.stem}/searches.json?searching_agency_id="
                                   f"{agency}")).json()
        return whole, one
    whole, one = asyncio.run(pages())
    assert whole["filtered_table_rows_count"] is None and whole["facet_results"] == {}
    assert "_nocount=1" in whole["next_url"] and len(whole["rows"]) == WIDE_PAGE_SIZE
    assert one["filtered_table_rows_count"] == tiny.execute(
        "select count(*) from searches where searching_agency_id = ?",
        [one["rows"][0][1]]).fetchone()[0]
    assert set(one["facet_results"]) >= {"federal_searcher", "immigration_reason"}
