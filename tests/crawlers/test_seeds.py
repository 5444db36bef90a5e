"""Seed files the portal spider reads: the corpus's real seed lists and a hand-written one."""

from __future__ import annotations

from conftest import CORPUS

from crawlers.seeds import read_seeds, select_seeds
from parsers.names import slug_from_portal_url

SEEDS = CORPUS / "datasets" / "seeds"


def test_gflock_csv_seeds():
    seeds = read_seeds(SEEDS / "gflock_urls.csv")
    assert len(seeds) == 5926  # one per data row of the file
    # first data row: "(revoked MOU) - former AZ - AZDCS,https://.../(revoked-mou)---former-az---azdcs"
    assert seeds[0].slug == "(revoked-mou)---former-az---azdcs"
    assert seeds[0].name == "(revoked MOU) - former AZ - AZDCS" and seeds[0].state == "AZ"
    wa = {s.slug for s in select_seeds(seeds, "WA")}
    assert "aberdeen-wa-pd" in wa and "medina-oh-pd" not in wa


def test_registry_json_seeds_keep_leading_dash_slugs_and_state():
    seeds = read_seeds(SEEDS / "sm_alpr_agency_registry.json")
    el_cajon = next(s for s in seeds if s.name == "El Cajon CA PD")
    assert el_cajon.slug == "-el-cajon-pd-ca" and el_cajon.state == "CA"
    wa = select_seeds(seeds, "wa")
    assert ("arlington-pd-wa", "Arlington PD (WA)") in {(s.slug, s.name) for s in wa}
    assert all(s.state == "WA" for s in wa)


def test_text_seed_file(tmp_path):
    path = tmp_path / "seeds.txt"  # written for this test
    path.write_text("# my list\nbell-ca-pd\nhttps://transparency.flocksafety.com/-el-cajon-pd-ca\n"
                    "\nbell-ca-pd  # duplicate\n")
    assert [s.slug for s in select_seeds(read_seeds(path))] == ["bell-ca-pd", "-el-cajon-pd-ca"]
    assert slug_from_portal_url("https://transparency.flocksafety.com/") is None
