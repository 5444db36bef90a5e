"""Shards: a seed list split by host, every seed in exactly one shard, a host in one shard only.

Seed lists are the corpus's own (read in place): datasets/seeds/gflock_urls.csv (5,926 Flock
portal URLs, all on transparency.flocksafety.com) and apis/legistar/
legisearch_known_legistar_subdomains.txt (219 Legistar hosts, one per line after a header).
"""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import CORPUS, run_cli

from crawlers.seeds import read_seeds
from crawlers.shards import Shard, host_of, parse_shard, shard_of, split
from crawlers.spiders.documents import DocumentsSpider
from crawlers.spiders.flock_portals import FlockPortalsSpider
from crawlers.spiders.legistar import LegistarSpider
from crawlers.spiders.nextrequest import NextRequestSpider

GFLOCK = CORPUS / "datasets" / "seeds" / "gflock_urls.csv"
LEGISTAR_HOSTS = CORPUS / "apis" / "legistar" / "legisearch_known_legistar_subdomains.txt"


def legistar_sites() -> list[str]:
    """One seed URL per line after the header (219; some hosts are listed several times,
    e.g. fe4.edge.pantheon.io three times)."""
    lines = LEGISTAR_HOSTS.read_text().splitlines()[1:]
    return [f"https://{line.strip()}/" for line in lines if line.strip()]


def test_parse_shard():
    assert parse_shard("1/3") == Shard(1, 3) and str(parse_shard(" 3/3 ")) == "3/3"
    assert parse_shard(None) is None and parse_shard("") is None
    for bad in ("0/2", "3/2", "1/0", "a/2", "2", "1-2", "-1/2"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def test_the_host_hash_is_fixed_on_every_machine():
    # SHA-256 of the host name, first 8 bytes, modulo N, plus one: the same in every process
    # and on every machine (Python's hash() of a str changes with PYTHONHASHSEED)
    assert [shard_of("transparency.flocksafety.com", n) for n in (2, 3, 4)] == [1, 2, 3]
    assert [shard_of("127.0.0.1", 2), shard_of("127.0.0.2", 2)] == [1, 2]
    assert host_of("HTTPS://Oaklandca.NextRequest.com:443/client/") == "oaklandca.nextrequest.com"
    assert host_of("http://127.0.0.1:8080/x") == host_of("http://127.0.0.1:9090/") == "127.0.0.1"


def test_many_hosts_spread_every_seed_in_exactly_one_shard():
    sites = legistar_sites()
    assert len(sites) == 219 and len(set(sites)) == 215
    numbered = list(enumerate(sites))
    shards = [split(numbered, Shard(i, 3), lambda n: host_of(n[1])) for i in (1, 2, 3)]
    placed = Counter(n for shard in shards for n, _ in shard)
    assert set(placed) == set(range(219)) and set(placed.values()) == {1}  # exactly once
    assert [len(s) for s in shards] == [69, 76, 74]  # all three shards get work
    for shard in shards:  # a host listed several times: all its seeds in one shard
        hosts = {host_of(site) for _, site in shard}
        assert not any(host_of(site) in hosts for other in shards if other is not shard
                       for _, site in other)
    # a host's other pages go where its first went
    more = [site + "Calendar.aspx" for site in sites]
    for i, shard in enumerate(shards, 1):
        assert split(more, Shard(i, 3), host_of) == [site + "Calendar.aspx" for _, site in shard]


def test_the_flock_portal_host_stays_in_one_shard():
    seeds = [s.slug for s in read_seeds(GFLOCK)]
    assert len(seeds) == 5926
    held = {}
    for i in (1, 2, 3):
        spider = FlockPortalsSpider(seeds_file=str(GFLOCK), shard=f"{i}/3")
        held[i] = spider.shard_seeds(seeds)
    # every portal is on transparency.flocksafety.com: all in shard 2 of 3, with its pacing
    assert [len(held[i]) for i in (1, 2, 3)] == [0, len(seeds), 0]


def test_spiders_split_their_seeds_by_host():
    sites = sorted(set(legistar_sites()))[:40]
    kept = [DocumentsSpider(seeds=sites, shard=f"{i}/2").shard_seeds(sites) for i in (1, 2)]
    assert sorted(kept[0] + kept[1]) == sorted(sites) and not set(kept[0]) & set(kept[1])
    assert kept[0] and kept[1]
    # Legistar clients are names on one API host: one shard crawls them all
    clients = ["sanjose", "oakland", "a2gov"]
    split_clients = [LegistarSpider(clients=clients, shard=f"{i}/2").shard_seeds(clients)
                     for i in (1, 2)]
    assert sorted(map(len, split_clients)) == [0, 3]
    # NextRequest tenants each on their own host spread
    tenants = ["oaklandca", "lacity", "sanjoseca", "berkeleyca", "alamedaca", "fremontca"]
    bases = [NextRequestSpider(tenants=tenants)._tenant(t).base for t in tenants]
    by_shard = [NextRequestSpider(tenants=tenants, shard=f"{i}/2").shard_seeds(bases)
                for i in (1, 2)]
    assert sorted(by_shard[0] + by_shard[1]) == sorted(bases)
    assert all(shard_of(host_of(b), 2) == i for i, s in enumerate(by_shard, 1) for b in s)


def test_crawl_rejects_a_bad_shard(tmp_path):
    out = run_cli("crawl", "--shard", "3/2", "flock-portals", "bell-ca-pd",
                  db=tmp_path / "x.db", timeout=60)
    assert out.returncode == 2 and "shard 3/2: I must be between 1 and N" in out.stderr
