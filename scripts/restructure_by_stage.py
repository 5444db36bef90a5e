"""Issue #15, second step: group the packages by stage by moving whole files (`git mv`, so a
merge follows the renames) and updating imports; no other content changes.

Meant to run ONCE, after the other open branches are merged, so their work lands in the new
shape in one move (the issue asks for that order). From the repository root:

    python3 scripts/restructure_by_stage.py
    .venv/bin/ruff check --fix .        # sorts the rewritten imports
    .venv/bin/lint-imports              # the contracts, rewritten for the new packages
    .venv/bin/cog -r docs/cli.md && .venv/bin/python -m pytest -q

What it does: (1) turns relative imports in alpr_inventory/, parsers/ and crawlers/ into
absolute ones (by each file's current package); (2) renames every moved module everywhere
(imports, `from pkg import module` lines split by new package, strings such as
"alpr_inventory.crawl_pipeline.ArchivePipeline" or monkeypatch targets, paths such as
parsers/portal.py in docs and comments); (3) `git mv` of each file (MOVES) and of
alpr_inventory/templates; (4) the package list, package data and import-linter contracts in
pyproject.toml; (5) re-wraps the few lines the longer paths push past 100 characters.
A module added since (not in MOVES) stays where it is with its imports updated; the exhaustive
stage contract then says which stage it must be placed in. Tried on the branch issue-15 at its
last commit: ruff clean, every contract kept, tests/test_docs, test_crawl_memory,
test_resolver, test_state_policies, test_parse_json pass (178 tests).
"""
# ruff: noqa: E501  (tables of module paths and exact lines read better unbroken)
import re
import subprocess
import sys
from pathlib import Path

MOVES = {
    # parsers grouped by what is read
    "parsers.portal": "parsers.flock.portal", "parsers.pagekind": "parsers.flock.pagekind",
    "parsers.audit_csv": "parsers.flock.audit_csv", "parsers.audit_xlsx": "parsers.flock.audit_xlsx",
    "parsers.audit_pdf": "parsers.flock.audit_pdf", "parsers.sharing_pdf": "parsers.flock.sharing_pdf",
    "parsers.sharing_xlsx": "parsers.flock.sharing_xlsx",
    "parsers.records": "parsers.records",  # records.py -> records/__init__.py (same name)
    "parsers.records_apis": "parsers.records.records_apis",
    "parsers.muckrock": "parsers.records.muckrock", "parsers.nextrequest": "parsers.records.nextrequest",
    "parsers.documentcloud": "parsers.records.documentcloud", "parsers.legistar": "parsers.records.legistar",
    "parsers.agency_site": "parsers.records.agency_site", "parsers.peer_datasets": "parsers.records.peer_datasets",
    "parsers.agreement_pdf": "parsers.agreements.agreement_pdf", "parsers.ice287g": "parsers.agreements.ice287g",
    "parsers.vigilant": "parsers.agreements.vigilant",
    "parsers.pdf_status": "parsers.pdf.pdf_status",
    "parsers.pdf_worker": "parsers.pdf.pdf_worker", "parsers.fulltext": "parsers.pdf.fulltext",
    "parsers.filetypes": "parsers.pdf.filetypes",
    # they resolve, not parse
    "parsers.resolver": "alpr_inventory.resolve.resolver",
    "parsers.state_policies": "alpr_inventory.resolve.state_policies",
    "parsers.state_dmv_access": "alpr_inventory.resolve.state_dmv_access",
    # the application by stage
    "alpr_inventory.schema": "alpr_inventory.store.schema", "alpr_inventory.archive": "alpr_inventory.store.archive",
    "alpr_inventory.locking": "alpr_inventory.store.locking", "alpr_inventory.plates": "alpr_inventory.store.plates",
    "alpr_inventory.records": "alpr_inventory.store.records", "alpr_inventory.search_loader": "alpr_inventory.store.search_loader",
    "alpr_inventory.ingest": "alpr_inventory.load.ingest", "alpr_inventory.crawl_pipeline": "alpr_inventory.load.crawl_pipeline",
    "alpr_inventory.crawl_memory": "alpr_inventory.store.crawl_memory",
    "alpr_inventory.intervals": "alpr_inventory.derive.intervals", "alpr_inventory.answers": "alpr_inventory.derive.answers",
    "alpr_inventory.changes": "alpr_inventory.derive.changes", "alpr_inventory.identity": "alpr_inventory.derive.identity",
    "alpr_inventory.agreements": "alpr_inventory.derive.agreements",
    "alpr_inventory.datasette_plugin": "alpr_inventory.serve.datasette_plugin",
    "alpr_inventory.report": "alpr_inventory.serve.report", "alpr_inventory.lookup": "alpr_inventory.serve.lookup",
    "alpr_inventory.extraction": "alpr_inventory.serve.extraction",
    "alpr_inventory.cli": "alpr_inventory.cli",  # cli.py -> cli/__init__.py (same name)
    "alpr_inventory.replay": "alpr_inventory.demo.replay",
    # modules added after the plan (#16, #17, #18): the state brief, Datasette pages and the
    # bundle serve; cameras are tied to agencies after a load (derive); merge loads node databases
    "alpr_inventory.brief": "alpr_inventory.serve.brief",
    "alpr_inventory.datasette_pages": "alpr_inventory.serve.datasette_pages",
    "alpr_inventory.publish": "alpr_inventory.serve.publish",
    "alpr_inventory.cameras": "alpr_inventory.derive.cameras",
    "alpr_inventory.merge": "alpr_inventory.load.merge",
    "parsers.dmv_documents": "parsers.agreements.dmv_documents",
    "parsers.osm_cameras": "parsers.records.osm_cameras",
    "alpr_inventory.legistar_replay": "alpr_inventory.demo.legistar_replay",
}
SAME_NAME_PACKAGES = {"parsers.records", "alpr_inventory.cli"}
DIRS = {"alpr_inventory/templates": "alpr_inventory/serve/templates"}
NEW_PACKAGES = ["parsers/flock", "parsers/records", "parsers/agreements", "parsers/pdf",
                "alpr_inventory/resolve", "alpr_inventory/store", "alpr_inventory/load", "alpr_inventory/derive",
                "alpr_inventory/serve", "alpr_inventory/demo", "alpr_inventory/cli"]


def path_of(mod, package=False):
    return Path(*mod.split(".")) / "__init__.py" if package else Path(*mod.split(".")).with_suffix(".py")


def old_package(file: Path) -> str:
    return ".".join(file.with_suffix("").parts[:-1]) if file.name != "__init__.py" else ".".join(file.parts[:-1])


def absolutize(text: str, pkg: str) -> str:
    def fix(m):
        dots, rest = m.group(2), m.group(3)
        base = pkg.split(".")
        if len(dots) > 1:
            base = base[: len(base) - (len(dots) - 1)]
        target = ".".join(base + ([rest] if rest else []))
        return f"{m.group(1)}from {target} import"
    return re.sub(r"(?m)^(\s*)from (\.+)([\w.]*) import", fix, text)


def rename_modules(text: str) -> str:
    # `from PKG import a, b` where PKG.a moved: split per new package
    def split_from(m):
        indent, pkg, names, paren = m.group(1), m.group(2), m.group(3), m.group(0)
        items = [n.strip() for n in re.sub(r"#[^\n]*", "", names).replace("(", "").replace(")", "").split(",") if n.strip()]
        if not any(f"{pkg}.{i.split(' as ')[0].strip()}" in MOVES for i in items):
            return paren
        groups = {}
        for item in items:
            name = item.split(" as ")[0].strip()
            full = f"{pkg}.{name}"
            if full in MOVES:
                new = MOVES[full]
                parent, leaf = new.rsplit(".", 1)
                groups.setdefault(parent, []).append(item if leaf == name else f"{leaf} as {name}")
            else:
                groups.setdefault(pkg, []).append(item)
        return "".join(f"{indent}from {p} import {', '.join(v)}\n" for p, v in groups.items())
    text = re.sub(r"(?m)^(\s*)from (parsers|alpr_inventory) import (\([^)]*\)|[^\n]*)\n", split_from, text)
    for old in sorted(MOVES, key=len, reverse=True):
        new = MOVES[old]
        if old == new:
            continue
        text = re.sub(r"(?<![\w.])" + re.escape(old) + r"(?![\w])", new, text)
    return text


def rename_paths(text: str) -> str:
    for old, new in MOVES.items():
        if old == new:
            continue
        src, dst = str(path_of(old)), str(path_of(new))
        text = re.sub(r"(?<![\w/])" + re.escape(src) + r"(?![\w])", dst, text)
    for src, dst in DIRS.items():
        text = re.sub(r"(?<![\w/])" + re.escape(src) + r"(?![\w])", dst, text)
    return text


def main(dry: bool) -> None:
    if Path("parsers/flock").exists():
        sys.exit("already restructured (parsers/flock exists)")
    root = Path(".")
    files = [p for p in root.rglob("*.py") if ".venv" not in p.parts and "build" not in p.parts]
    # 1. relative -> absolute, by each file's current place
    for f in files:
        if f.parts[0] in ("alpr_inventory", "parsers", "crawlers"):
            t = f.read_text()
            n = absolutize(t, old_package(f))
            if n != t:
                f.write_text(n)
    # 2. rename modules everywhere (code, strings, pyproject, docs)
    texts = files + [Path("pyproject.toml"), Path("README.md"), *Path("docs").rglob("*.md"),
                     *Path("scripts").glob("*"), *Path("data").rglob("*.md")]
    me = Path(__file__).resolve()
    for f in texts:
        if f.is_file() and f.resolve() != me:
            t = f.read_text()
            n = rename_paths(rename_modules(t))
            if n != t:
                f.write_text(n)
    # 3. git mv whole files
    for pkg in NEW_PACKAGES:
        Path(pkg).mkdir(exist_ok=True)
    for old, new in MOVES.items():
        src = path_of(old)
        dst = path_of(new, package=old in SAME_NAME_PACKAGES)
        if not src.exists():
            print("missing", src)
            continue
        subprocess.run(["git", "mv", str(src), str(dst)], check=True)
    for src, dst in DIRS.items():
        subprocess.run(["git", "mv", src, dst], check=True)
    main_py = Path("alpr_inventory/cli/__main__.py")
    main_py.write_text('"""python -m alpr_inventory.cli"""\n\nfrom alpr_inventory.cli import cli\n\ncli()\n')
    subprocess.run(["git", "add", str(main_py)], check=True)
    for pkg in NEW_PACKAGES:
        init = Path(pkg) / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{DOCS[pkg]}"""\n')
            subprocess.run(["git", "add", str(init)], check=True)


DOCS = {
    "parsers/flock": "Flock: portal pages (every layout), block and not-found pages, search-audit\nexports and sharing reports.\n",
    "parsers/records": "",
    "parsers/agreements": "Agreements: 287(g) MOAs and DMV agreements (PDF), ICE's 287(g) spreadsheets,\nVigilant sharing reports.\n",
    "parsers/pdf": "PDF and file plumbing: checks, text, worker processes under time and memory\nlimits.\n",
    "alpr_inventory/resolve": "RESOLVE (not parse): organisation names to agencies, state policies and\nDMV access, from data/.\n",
    "alpr_inventory/store": "STORE: the schema (every table, documented), archive, locks, plate keys,\nloaders by kind (records, searches) and what spiders may know of earlier runs.\n",
    "alpr_inventory/load": "LOAD: the one load path (Store: runs, documents, facts by kind, one refresh of\nwhat derives after a load) and the crawl pipeline that feeds it.\n",
    "alpr_inventory/derive": "DERIVE: sharing intervals, answers, changes, agency identity, agreement\nhistory (refreshed once after a load).\n",
    "alpr_inventory/serve": "SERVE: Datasette plugin, canned answers, agency lookup, the report and its templates.",
    "alpr_inventory/demo": "DEMO: local replay servers (Flock portals with Memento headers, Legistar).",
    "alpr_inventory/cli": "",
}




def update_pyproject() -> None:
    p = Path("pyproject.toml")
    s = p.read_text()
    s = re.sub(r'(?m)^packages = \["alpr_inventory".*?\]\n', '''packages = [
    "alpr_inventory", "alpr_inventory.cli", "alpr_inventory.demo", "alpr_inventory.derive",
    "alpr_inventory.load", "alpr_inventory.resolve", "alpr_inventory.serve",
    "alpr_inventory.store", "crawlers", "crawlers.spiders", "parsers", "parsers.agreements",
    "parsers.flock", "parsers.pdf", "parsers.records", "parsers.data", "parsers.data.resolver",
]
''', s, flags=re.S)
    s = s.replace('alpr_inventory = ["*.yaml", "*.json", "templates/*"]',
                  'alpr_inventory = ["*.yaml", "*.json"]\n"alpr_inventory.serve" = ["templates/*"]')
    i = s.index('name = "Stages inside the application')
    j = s.index("[[tool.importlinter.contracts]]", i)
    s = s[:i] + '''name = "Stages inside the application: serve > load (which runs one refresh) > derive > store"
type = "layers"
containers = ["alpr_inventory"]
exhaustive = true
layers = ["cli", "demo | serve", "load", "derive", "store", "resolve", "settings"]

''' + s[j:]
    s = s.replace('"alpr_inventory.report -> crawlers.settings"', '"alpr_inventory.serve.report -> crawlers.settings"')
    p.write_text(s)


if __name__ == "__main__":
    main("--dry" in sys.argv)
    update_pyproject()


# lines the longer module paths pushed past 100 characters: re-wrapped, words unchanged
WRAPS = [
    ("alpr_inventory/derive/agreements.py",
     "`parsers.agreements.ice287g.agreement_history`, and rebuilt whenever a new version arrives, so the order",
     "`parsers.agreements.ice287g.agreement_history`, and rebuilt whenever a new version arrives, so\nthe order"),
    ("alpr_inventory/derive/changes.py",
     "        # names tied to an agency in the context of one agency's lists (alpr_inventory/derive/identity.py)",
     "        # names tied to an agency in the context of one agency's lists\n        # (alpr_inventory/derive/identity.py)"),
    ("alpr_inventory/resolve/state_dmv_access.py",
     '    """``python -m alpr_inventory.resolve.state_dmv_access [DATA_DIR]``: check the files, print a summary."""',
     '    """``python -m alpr_inventory.resolve.state_dmv_access [DATA_DIR]``: check the files, print a\n    summary."""'),
    ("alpr_inventory/serve/report.py",
     "    When `alpr_inventory.resolve.state_policies` exists (data/state_policies.csv, maintained with sources per",
     "    When `alpr_inventory.resolve.state_policies` exists (data/state_policies.csv, maintained with\n    sources per"),
    ("alpr_inventory/serve/report.py",
     '    return tuple(rules), ("data/state_policies.csv (alpr_inventory.resolve.state_policies), with the "',
     '    return tuple(rules), ("data/state_policies.csv (alpr_inventory.resolve.state_policies), "\n                          "with the "'),
    ("crawlers/spiders/legistar.py",
     "matter, meeting and terms, in its URL fragment, which is never sent: see parsers/records/legistar.py).",
     "matter, meeting and terms, in its URL fragment, which is never sent: see\nparsers/records/legistar.py)."),
    ("parsers/agreements/ice287g.py",
     "confirm.  Each agreement gets an ``agency_id`` and ``kind`` from ``alpr_inventory.resolve.resolver``: the name",
     "confirm.  Each agreement gets an ``agency_id`` and ``kind`` from\n``alpr_inventory.resolve.resolver``: the name"),
    ("parsers/agreements/ice287g.py",
     "    defaults to ``alpr_inventory.resolve.resolver.default_resolver()``; pass ``False`` to skip resolution.",
     "    defaults to ``alpr_inventory.resolve.resolver.default_resolver()``; pass ``False`` to skip\n    resolution."),
    ("tests/test_report.py",
     '    monkeypatch.setitem(sys.modules, "alpr_inventory.resolve.state_policies", None)  # as if not there',
     '    # as if not there\n    monkeypatch.setitem(sys.modules, "alpr_inventory.resolve.state_policies", None)'),
    ("tests/test_resolver.py",
     '"""Facts about the organisation resolver (alpr_inventory/resolve/resolver.py + data/resolver/*.csv)."""',
     '"""Facts about the organisation resolver (alpr_inventory/resolve/resolver.py +\ndata/resolver/*.csv)."""'),
]


def rewrap() -> None:
    for file, old, new in WRAPS:
        p = Path(file)
        s = p.read_text()
        if old in s:
            p.write_text(s.replace(old, new))
        else:
            print("wrap not found:", file, old[:50])


LAYOUT = """## Layout

The folders follow the flow of a document: fetch -> parse -> load -> derive -> serve. Which way
imports may point is written down as import-linter contracts in `pyproject.toml` and checked by
the tests (`.venv/bin/lint-imports`).

```
crawlers/                 FETCH. Scrapy project: spiders only fetch and hand documents on; they
                          never import the application or open the database
  spiders/                flock_portals, documents (agency sites, ice-287g), muckrock,
                          nextrequest, documentcloud, legistar; base.py
  registry.py, items.py, memory.py (CrawlMemory), settings.py, middlewares.py, failures.py,
  seeds.py
parsers/                  PARSE. Pure functions, bytes -> records: no Scrapy, no database
  router.py               the one router: ordered (kind, recogniser, parser, version) routes
  pdf_documents.py        the PDF router (which PDF parser reads a PDF)
  model.py, names.py, doctype.py, document_dates.py, reasons.py, plate_tokens.py,
  text_encoding.py, datafiles.py
  flock/                  portal pages, block / not-found pages, audit exports, sharing reports
  records/                records and council APIs, agency sites, peer datasets
  agreements/             agreement PDFs, ICE's 287(g) sheets, Vigilant sharing reports
  pdf/                    PDF and file plumbing: checks, text, workers under time/memory limits
alpr_inventory/
  resolve/                RESOLVE: organisation names, state policies, DMV access (data/)
  store/                  STORE: schema, archive, locks, plate keys, loaders by kind, crawl memory
  load/                   LOAD: ingest.py (Store: the one load path), crawl_pipeline.py
  derive/                 DERIVE: intervals, answers, changes, identity, agreement history
  serve/                  SERVE: Datasette plugin, report (+ templates/), lookup, parse --json
  cli/                    the command line
  demo/                   local replay servers (portals, Legistar)
  settings.py             paths and environment
data/                     resolver rules, state policies, known name splits (shipped in the
                          wheel as parsers/data); the database and archive (generated, ignored)
docs/                     cli.md (every --help, generated by cog), sources/ (one page per source)
scripts/                  setup, demo, test, bench (+ bench_*.py), eval_resolver.py
tests/                    pytest, against the real corpus read in place and local replay servers
```

"""


def relayout() -> None:
    p = Path("README.md")
    s = p.read_text()
    if "## Layout\n" in s and "## Speed\n" in s:
        i, j = s.index("## Layout\n"), s.index("## Speed\n")
        p.write_text(s[:i] + LAYOUT + s[j:])


if __name__ == "__main__":
    rewrap()
    relayout()
