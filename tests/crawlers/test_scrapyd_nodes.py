"""Two Scrapyd nodes on one machine, two shards each, merged = one machine's crawl.

The test starts two Scrapyd 1.6 daemons on 127.0.0.1 (free ports, their own folders and
config), deploys the project to both with scrapyd-deploy (scrapyd-client 2.0, the targets of a
scrapy.cfg as in the README), schedules shard 1/2 on node 1 and 2/2 on node 2 of a Flock portal
replay (the real captures of three portals, all on one host: one shard gets them all) and of a
NextRequest records-portal replay whose two tenants live on two hosts (127.0.0.1 and 127.0.0.2:
one tenant per shard), waits for the four jobs, merges both node folders, and compares the
result, table by table, with one `alpr-inventory crawl` of the same seeds on one machine.

Request records 26-7542 and 25-1834 and the released file 66770337 are the real ones quoted in
corpus/apis/records_portals/nextrequest_shapes.json; the other API answers are CONSTRUCTED from
those shapes (test_nextrequest.py's helpers say so); the files served are real corpus records.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from api_server import Answer, ApiServer
from conftest import BOOKKEEPING, CORPUS, PORTALS, comparable_dump, run_cli
from test_nextrequest import REAL_DOCUMENTS, REAL_REQUESTS, constructed_document, document_list

from alpr_inventory.demo.replay import ReplayCorpus, ReplayServer
from alpr_inventory.settings import REPO_ROOT

BIN = Path(sys.executable).parent
SLUGS = ("-el-cajon-pd-ca", "bell-ca-pd", "burbank-ca-pd")
SHARING_CSV = CORPUS / "records" / "eugene_or_pd" / "EPD-2025-4987_sharing_list.csv"
INVENTORY_PDF = CORPUS / "records" / "eugene_or_pd" / "EPD-2025-3762_surveillance_inventory.pdf"
PROJECT = "alpr_inventory"
# bookkeeping of the merge itself: which node and run each merged run came from
MERGE_ONLY = {"merged_runs"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(url: str, data: dict | None = None, timeout: float = 30) -> dict:
    body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
    with urllib.request.urlopen(url, body, timeout=timeout) as answer:
        return json.loads(answer.read())


class ScrapydNode:
    """One Scrapyd daemon in its own folder (config, eggs, logs, job database)."""

    def __init__(self, root: Path, name: str):
        self.root = root / name
        self.root.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.node_dir = root / f"{name}-data"  # what the node's crawls write (its own folder)
        (self.root / "scrapyd.conf").write_text(
            "[scrapyd]\nbind_address = 127.0.0.1\n"
            f"http_port = {self.port}\neggs_dir = eggs\nlogs_dir = logs\ndbs_dir = dbs\n"
            "items_dir =\npoll_interval = 0.2\nmax_proc = 2\njobs_to_keep = 10\n")
        env = {**os.environ, "HOME": str(self.root)}  # no ~/.scrapyd.conf of the user
        env.pop("SCRAPY_SETTINGS_MODULE", None)
        self.log = open(self.root / "scrapyd.out", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [str(BIN / "scrapyd"), "--nodaemon", "--pidfile=", "--logfile=scrapyd.log"],
            cwd=self.root, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while True:
            try:
                if api(self.url + "daemonstatus.json", timeout=2)["status"] == "ok":
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > end:
                raise AssertionError(f"scrapyd on {self.url} did not start: "
                                     + (self.root / "scrapyd.out").read_text()[-2000:])
            time.sleep(0.2)

    def schedule(self, spider: str, **args: str) -> str:
        answer = api(self.url + "schedule.json",
                     {"project": PROJECT, "spider": spider, "node_dir": str(self.node_dir),
                      "setting": "DOWNLOAD_TIMEOUT=120", **args})
        assert answer["status"] == "ok", answer
        return answer["jobid"]

    def finished(self) -> set[str]:
        jobs = api(self.url + f"listjobs.json?project={PROJECT}")
        return {job["id"] for job in jobs["finished"]}

    def job_log(self, spider: str, job: str) -> str:
        path = self.root / "logs" / PROJECT / spider / f"{job}.log"
        return path.read_text(errors="replace") if path.exists() else "(no log)"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def records_portal(server: ApiServer, tenant: str, request: dict, documents: dict,
                   files: dict[int, Path]) -> None:
    """A NextRequest tenant at /<tenant> on `server`: one search page with one request, its
    documents, and each document's download (a redirect to the file, as NextRequest does)."""
    t = f"/{tenant}"
    server.add("GET", f"{t}/client/requests",
               Answer(body={"_constructed": "one real request", "total_count": 1,
                            "requests": [request]}),
               query={"search_term": "flock", "page_number": "1"})
    server.add("GET", f"{t}/client/request_documents", Answer(body=documents),
               query={"request_id": request["id"], "page_number": "1"})
    for doc_id, path in files.items():
        server.add("GET", f"{t}/documents/{doc_id}/download",
                   Answer(302, b"", {"Location": f"{server.url}/files/{doc_id}/{path.name}"}))
        server.add("GET", f"/files/{doc_id}/{path.name}",
                   Answer(body=path.read_bytes(), headers={
                       "Content-Type": "text/csv" if path.suffix == ".csv"
                       else "application/pdf"}))


def deploy(tmp: Path, nodes: list[ScrapydNode]) -> None:
    """scrapyd-deploy from a copy of the project (its build files stay out of the checkout),
    with one deploy target per node as the README shows: one egg, deployed to every target."""
    project = tmp / "project"
    project.mkdir()
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "crawlers", project / "crawlers", ignore=ignore)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy(REPO_ROOT / name, project / name)
    cfg = (REPO_ROOT / "scrapy.cfg").read_text()
    for i, node in enumerate(nodes, 1):  # the checkout's targets, pointed at the test's ports
        cfg = cfg.replace(f"[deploy:node{i}]\nurl = http://127.0.0.1:{6799 + i}/",
                          f"[deploy:node{i}]\nurl = {node.url}")
    assert cfg.count("url = http://127.0.0.1:") == 2 and all(n.url in cfg for n in nodes), cfg
    (project / "scrapy.cfg").write_text(cfg)
    egg = tmp / "alpr_inventory.egg"
    env = {k: v for k, v in os.environ.items() if k != "SCRAPY_SETTINGS_MODULE"}
    for args in (["--build-egg", str(egg)], ["-a", "--egg", str(egg), "--version", "1"]):
        out = subprocess.run([str(BIN / "scrapyd-deploy"), *args], cwd=project, env=env,
                             capture_output=True, text=True, timeout=180)
        assert out.returncode == 0, out.stderr[-3000:]
    for node in nodes:
        spiders = api(node.url + f"listspiders.json?project={PROJECT}")["spiders"]
        assert {"flock_portals", "nextrequest"} <= set(spiders)


def test_two_scrapyd_nodes_merged_equal_one_machine(tmp_path, monkeypatch):
    # the replays: three real portals (their captures, linked in place) on 127.0.0.1; two
    # NextRequest tenants, oaklandca on 127.0.0.1 and eugeneor on 127.0.0.2
    root = tmp_path / "replay"
    (root / "portals").mkdir(parents=True)
    for slug in SLUGS:
        (root / "portals" / slug).symlink_to(PORTALS / slug, target_is_directory=True)
    first_doc = REAL_DOCUMENTS["documents"][0]["id"]  # 66770337, real
    with ExitStack() as stack:
        portals = stack.enter_context(ReplayServer(ReplayCorpus.from_dir(root)))
        host_a = stack.enter_context(ApiServer("127.0.0.1"))
        host_b = stack.enter_context(ApiServer("127.0.0.2"))
        records_portal(host_a, "oaklandca", REAL_REQUESTS[0],
                       document_list([REAL_DOCUMENTS["documents"][0]]),
                       {first_doc: SHARING_CSV})
        records_portal(host_b, "eugeneor", REAL_REQUESTS[1],
                       document_list([constructed_document(
                           66770400, REAL_REQUESTS[1]["id"], "Surveillance inventory.pdf")]),
                       {66770400: INVENTORY_PDF})
        tenants = [f"{host_a.url}/oaklandca", f"{host_b.url}/eugeneor"]
        flock_args = ["--base-url", portals.base_url, "--discover-depth", "0"]
        nr_args = ["--tenant-url", f"{host_a.url}/{{tenant}}", "--term", "flock"]

        nodes = [ScrapydNode(tmp_path, "node1"), ScrapydNode(tmp_path, "node2")]
        for node in nodes:
            stack.callback(node.stop)
        # one machine, the same seeds (while the daemons start)
        single = tmp_path / "single" / "inventory.db"
        for command in (["flock-portals", *flock_args, "--", *SLUGS],
                        ["nextrequest", *nr_args, "--", *tenants]):
            # a generous download timeout: a loaded CI machine answers slowly, even locally
            out = run_cli("crawl", "--timeout", "120", command[0], "--log-level", "WARNING",
                          *command[1:], db=single, timeout=300)
            assert out.returncode == 0, out.stderr[-3000:]
        for node in nodes:
            node.wait_ready()
        deploy(tmp_path, nodes)

        jobs = []
        for i, node in enumerate(nodes, 1):
            shard = f"{i}/2"
            jobs.append((node, "flock_portals", node.schedule(
                "flock_portals", slugs=",".join(SLUGS), base_url=portals.base_url,
                discover_depth="0", shard=shard)))
            jobs.append((node, "nextrequest", node.schedule(
                "nextrequest", tenants=",".join(tenants), terms="flock",
                tenant_url=f"{host_a.url}/{{tenant}}", shard=shard)))
        end = time.monotonic() + 240
        while not all(job in node.finished() for node, _, job in jobs):
            assert time.monotonic() < end, "the Scrapyd jobs did not finish in 240 s"
            time.sleep(0.3)
        for node, spider, job in jobs:
            log = node.job_log(spider, job)
            assert "Spider closed (finished)" in log, log[-3000:]
        # each host was asked by one node only: the Flock replay host by shard 1 (127.0.0.1),
        # tenant eugeneor's host (127.0.0.2) by shard 2
        runs = {}
        for node in nodes:
            conn = sqlite3.connect(node.node_dir / "inventory.db")
            runs[node.node_dir.name] = conn.execute(
                "select command, status, seeds, seeds_fetched, pages, args from runs "
                "order by command").fetchall()
            conn.close()
        assert [r[:4] for r in runs["node1-data"]] == [
            ("flock_portals", "finished", 3, 3), ("nextrequest", "finished", 1, 1)]
        assert [r[:4] for r in runs["node2-data"]] == [
            ("flock_portals", "finished", 0, 0), ("nextrequest", "finished", 1, 1)]
        assert runs["node2-data"][0][4] == 0  # no page of the portal host
        assert {json.loads(r[5])["shard"] for r in runs["node2-data"]} == {"2/2"}

    # every request answered, on one machine and on the nodes (else the comparison is moot)
    for db in (single, *(node.node_dir / "inventory.db" for node in nodes)):
        conn = sqlite3.connect(db)
        assert conn.execute("select url, reason, detail from crawl_failures").fetchall() == []
        conn.close()
    merged = tmp_path / "merged" / "inventory.db"
    node_dirs = [str(node.node_dir) for node in nodes]
    out = run_cli("merge", *node_dirs, db=merged, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "merged 2 node folder(s): 4 runs" in out.stdout
    first = comparable_dump(merged)
    # merging the same folders again adds nothing
    out = run_cli("merge", *node_dirs, db=merged, timeout=180)
    assert out.returncode == 0 and "0 run(s) added (2 merged before)" in out.stderr
    assert comparable_dump(merged) == first

    # A crawl loads each answer when it arrives, so two crawls on one machine already differ
    # in columns that depend on that order (searches.source_row, agency_aliases'
    # first_document); `reparse` rebuilds the facts in one fixed order, and merge rebuilds
    # with it: the one-machine crawl is compared after the same rebuild.
    out = run_cli("reparse", "--all", db=single, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    # Two crawls are two sets of fetches: an API answer's capture time is its fetch time
    # (bookkeeping, as conftest says of last_seen), so is the first time it listed a request
    # or file; the merged values are checked against the nodes' fetches below instead.
    for table in ("records_requests", "released_files"):
        monkeypatch.setitem(BOOKKEEPING, table, ("first_seen", "last_seen"))
    merged_dump, one_machine = comparable_dump(merged), comparable_dump(single)
    assert set(merged_dump) - MERGE_ONLY == set(one_machine) - MERGE_ONLY
    differ = [t for t in sorted(set(merged_dump) - MERGE_ONLY)
              if merged_dump[t] != one_machine[t]]
    assert differ == [], {t: (sorted(set(merged_dump[t]) - set(one_machine[t]), key=repr)[:2],
                              sorted(set(one_machine[t]) - set(merged_dump[t]), key=repr)[:2])
                          for t in differ}

    conn = sqlite3.connect(merged)
    # what was crawled: 13 captures of the three portals (corpus/flock/portals: el cajon 3,
    # bell 5, burbank 5 dated files), both tenants' requests and files
    assert conn.execute("select count(*) from portal_snapshots").fetchone()[0] == 13
    assert sorted(r[0] for r in conn.execute(
        "select request_id from records_requests")) == ["25-1834", "26-7542"]
    # provenance: every merged fetch belongs to a merged run, which names its node and run
    assert conn.execute(
        "select count(*) from fetches f left join merged_runs m on m.run_id = f.run_id "
        "where m.run_id is null").fetchone()[0] == 0
    # a request's first_seen is the capture time of the node's fetch that listed it
    assert conn.execute(
        "select count(*) from records_requests r where r.first_seen not in (select "
        "captured_at from fetches f join merged_runs m on m.run_id = f.run_id)"
    ).fetchone()[0] == 0
    hosts = dict(conn.execute(
        "select r.command || ' ' || m.node_run_id || ' ' || m.node_dir, count(f.id) "
        "from merged_runs m join runs r on r.id = m.run_id left join fetches f on "
        "f.run_id = r.id group by m.run_id"))
    assert len(hosts) == 4 and sum(hosts.values()) == conn.execute(
        "select count(*) from fetches").fetchone()[0]
    conn.close()
