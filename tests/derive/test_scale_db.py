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
