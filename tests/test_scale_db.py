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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from scale_db import Sizes, cached_database  # noqa: E402

from alpr_inventory.intervals import INTERVAL_COLUMNS, derive_intervals  # noqa: E402


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
