"""`alpr-inventory publish`: the inventory as a bundle a reporter can hand over and serve.

The bundle is a Datasette configuration directory that serves offline with nothing but
Datasette and the pinned plugins installed:

    OUT/inventory.db        a consistent copy (VACUUM INTO), served immutable
    OUT/metadata.json       table and column descriptions, licences, the canned queries
    OUT/settings.json       the Datasette settings `alpr-inventory serve` uses
    OUT/plugins/            the project's plugin (report, archive, landing page) and its source
    OUT/archive/            the archived originals every evidence link points to (hard links
                            where the file system allows), unless --archive-base-url says where
                            they are published
    OUT/start.sh            serves it: datasette serve --immutable ... on 127.0.0.1
    OUT/requirements.txt    what to pip install to serve it anywhere
    OUT/README.txt          what it is, its sources and licences

No `file://` address leaves the machine: the copy names imported files by their file name
(documents.url, fetches.url/fetched_from, runs.args), and the check at the end refuses a
bundle that still holds one. `publish_command` builds Datasette's own `datasette publish` /
`datasette package` command line for the bundle (robots blocked by datasette-block-robots
unless asked otherwise); the CLI runs it, tests only look at it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from alpr_inventory.settings import REPO_ROOT, archive_dir_for
from alpr_inventory.store.schema import TABLES, datasette_metadata

DATABASE_NAME = "inventory"
PLUGIN_FILE = "alpr_inventory_plugin.py"
SOURCE_DIR = "alpr_inventory_src"
# What serving the bundle needs, pinned as pyproject.toml pins them.
REQUIREMENTS = (
    "datasette==0.65.5",
    "datasette-search-all==1.1.4",
    "datasette-cluster-map==0.18.2",
    "datasette-block-robots==1.1.1",
    "sqlite-utils>=4.2,<5",
)
# Datasette's publishers: `datasette publish <target>` (fly needs datasette-publish-fly), or
# `datasette package` for a Docker image to run anywhere.
TARGETS = ("cloudrun", "heroku", "fly", "vercel", "package")
TARGET_PLUGINS = {"fly": "datasette-publish-fly", "vercel": "datasette-publish-vercel"}
FILE_URL = re.compile(r"file://[^\s\"'<>)\]]+")
FILE_ADDRESS = re.compile(rb"file://[^\s\"'<>)\]]")  # an address, not the words "file://"
SHIM = '''"""alpr-inventory's Datasette plugin, loaded from this bundle (--plugins-dir).

The plugin's source is bundled beside this file, so the bundle serves with nothing but
Datasette and the plugins in requirements.txt installed."""

import sys
from pathlib import Path

_SRC = Path(__file__).resolve().parent / "alpr_inventory_src"
if _SRC.is_dir() and str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from alpr_inventory.serve import datasette_plugin as _plugin

# every hook implementation of the plugin, registered under this module
globals().update({name: value for name, value in vars(_plugin).items()
                  if hasattr(value, "datasette_impl")})
'''
START = '''#!/bin/sh
# Serve this bundle (offline, read-only): the database immutable, its metadata, the plugin and
# the archive. DATASETTE=/path/to/datasette, HOST and PORT override the defaults.
cd "$(dirname "$0")" || exit 1
exec "${{DATASETTE:-datasette}}" serve --immutable {db} --metadata metadata.json \\
  --plugins-dir plugins {settings} \\
  --host "${{HOST:-127.0.0.1}}" --port "${{PORT:-8001}}" "$@"
'''


class PublishError(RuntimeError):
    """The bundle cannot be made as asked (said in one sentence)."""


@dataclass
class Bundle:
    root: Path
    database: Path
    metadata: Path
    start_script: Path
    archive_base_url: str | None
    archive_files: int = 0
    archive_linked: int = 0
    archive_missing: list[str] = field(default_factory=list)
    scrubbed: dict[str, int] = field(default_factory=dict)


def _basename(url_or_path: str) -> str:
    path = unquote(urlparse(url_or_path).path) if url_or_path.startswith("file:") \
        else url_or_path
    return path.rstrip("/").rsplit("/", 1)[-1] or "a file"


def imported_name(value: str) -> str:
    return f"imported file {_basename(value)}"


def scrub_local_paths(conn: sqlite3.Connection) -> dict[str, int]:
    """Replace this machine's file addresses in a copy of the database by file names.

    Every text column of every table is searched for file:// (a JSON list of sources, a
    sentence); fetches.fetched_from and runs.args hold plain paths of imported files.
    Returns the number of cells changed per table.column."""
    changed: dict[str, int] = {}
    conn.create_function("alpr_unfile", 1, lambda v: FILE_URL.sub(
        lambda m: imported_name(m.group(0)), v) if isinstance(v, str) else v,
        deterministic=True)
    conn.create_function("alpr_basename", 1, lambda v: imported_name(v)
                         if isinstance(v, str) else v, deterministic=True)
    fts = {f"{t.name}_fts" for t in TABLES if t.fts}
    tables = [r[0] for r in conn.execute(
        "select name from sqlite_master where type = 'table' and sql not like "
        "'create virtual table%' collate nocase and name not like 'sqlite_%'")]
    for table in tables:
        if any(table.startswith(f + "_") for f in fts):  # FTS shadow tables: rebuilt below
            continue
        for _, column, ctype, *_ in conn.execute(f"pragma table_info([{table}])").fetchall():
            if ctype.upper() not in ("TEXT", ""):
                continue
            n = conn.execute(f"update [{table}] set [{column}] = alpr_unfile([{column}]) "
                             f"where instr([{column}], 'file://') > 0").rowcount
            if n:
                changed[f"{table}.{column}"] = n
    for table, column, where in (("fetches", "fetched_from", "[fetched_from] like '/%' or "
                                  "[fetched_from] glob '[A-Za-z]:[\\/]*'"),):
        if table in tables:
            n = conn.execute(f"update [{table}] set [{column}] = alpr_basename([{column}]) "
                             f"where {where}").rowcount
            if n:
                changed[f"{table}.{column}"] = changed.get(f"{table}.{column}", 0) + n
    if "runs" in tables:
        n = 0
        for run_id, args in conn.execute("select id, args from runs where args like '%\"paths\"%'"
                                         ).fetchall():
            try:
                data = json.loads(args)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("paths"), list):
                data["paths"] = [_basename(str(p)) for p in data["paths"]]
                conn.execute("update runs set args = ? where id = ?", [json.dumps(data), run_id])
                n += 1
        if n:
            changed["runs.args"] = n
    touched = {key.split(".")[0] for key in changed}
    for t in TABLES:
        if t.fts and t.name in touched and f"{t.name}_fts" in {
                r[0] for r in conn.execute("select name from sqlite_master")}:
            conn.execute(f"insert into [{t.name}_fts] ([{t.name}_fts]) values ('rebuild')")
    return changed


def _copy_database(db_path: Path, target: Path) -> dict[str, int]:
    """A consistent, compact copy (VACUUM INTO), scrubbed, in rollback-journal mode so it can
    be served read-only; written beside the target and renamed into place."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(str(db_path), timeout=60)
    try:
        src.execute("vacuum into ?", [str(tmp)])
    finally:
        src.close()
    conn = sqlite3.connect(str(tmp))
    try:
        conn.execute("pragma journal_mode = delete")
        with conn:
            changed = scrub_local_paths(conn)
        conn.execute("vacuum")
    finally:
        conn.close()
    os.replace(tmp, target)
    return changed


def _link_or_copy(src: Path, dst: Path) -> bool:
    """Hard link (no second copy of a large archive) where possible; True when linked."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists():
        if dst.stat().st_size == src.stat().st_size:
            return False
        dst.unlink()
    try:
        os.link(src, dst)
        return True
    except OSError:
        shutil.copy2(src, dst)
        return False


def _copy_archive(db: Path, archive: Path, out: Path, bundle: Bundle,
                  progress: Callable[[int, int], None] | None) -> None:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        paths = [r[0] for r in conn.execute(
            "select archive_path from documents where archive_path is not null")]
    finally:
        conn.close()
    for i, rel in enumerate(paths, 1):
        src = archive / rel
        if not src.is_file():
            bundle.archive_missing.append(rel)
            continue
        bundle.archive_linked += _link_or_copy(src, out / rel)
        bundle.archive_files += 1
        if progress and (i % 500 == 0 or i == len(paths)):
            progress(i, len(paths))


def _copy_source(plugins: Path) -> None:
    """The plugin's code and the data files it reads (resolver rules, state policies); never
    key material, databases or the archive."""
    import alpr_inventory
    import parsers

    src = plugins / SOURCE_DIR
    if src.exists():
        shutil.rmtree(src)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "templates_cache")
    for package in (alpr_inventory, parsers):
        root = Path(package.__file__).resolve().parent
        shutil.copytree(root, src / root.name, ignore=ignore)
    data = REPO_ROOT / "data"
    (src / "data").mkdir(parents=True)
    if (data / "resolver").is_dir():
        shutil.copytree(data / "resolver", src / "data" / "resolver", ignore=ignore)
    for csv_file in sorted(data.glob("*.csv")):
        shutil.copy2(csv_file, src / "data" / csv_file.name)


def bundle_metadata(archive_base_url: str | None, allow_robots: bool) -> dict[str, Any]:
    meta = datasette_metadata(DATABASE_NAME)
    plugins: dict[str, Any] = {"alpr-inventory": {}}
    if archive_base_url:
        plugins["alpr-inventory"]["archive_base_url"] = archive_base_url
    if allow_robots:  # datasette-block-robots serves this robots.txt instead of "Disallow: /"
        plugins["datasette-block-robots"] = {"literal": "User-agent: *\nDisallow:"}
    meta["plugins"] = plugins
    meta["description_html"] = (
        "Who can see an agency's plate-reader data, and which of them are federal agencies: "
        "facts parsed from public records, each with its source document. Camera positions "
        "© OpenStreetMap contributors (ODbL 1.0).")
    return meta


def _settings_args() -> str:
    from alpr_inventory.serve.datasette_plugin import DATASETTE_SETTINGS

    return " ".join(f"--setting {k} {str(v).lower() if isinstance(v, bool) else v}"
                    for k, v in DATASETTE_SETTINGS.items())


def build_bundle(db_path: str | Path, out_dir: str | Path, archive_base_url: str | None = None,
                 allow_robots: bool = False,
                 progress: Callable[[int, int], None] | None = None) -> Bundle:
    """Write the bundle into out_dir (created; a bundle already there is brought up to date)."""
    from alpr_inventory.serve.datasette_plugin import DATASETTE_SETTINGS

    db = Path(db_path)
    if not db.is_file():
        raise PublishError(f"no database at {db}")
    if archive_base_url and not re.match(r"https?://[^/\s]+", archive_base_url):
        raise PublishError(f"--archive-base-url must be an http(s) URL, not {archive_base_url!r}")
    base = archive_base_url.rstrip("/") + "/" if archive_base_url else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if out.resolve() == db.resolve().parent:
        raise PublishError("OUT_DIR must not be the database's own folder")
    target = out / f"{DATABASE_NAME}.db"
    bundle = Bundle(out, target, out / "metadata.json", out / "start.sh", base)
    bundle.scrubbed = _copy_database(db, target)
    bundle.metadata.write_text(json.dumps(bundle_metadata(base, allow_robots), indent=2),
                               encoding="utf-8")
    (out / "settings.json").write_text(json.dumps(DATASETTE_SETTINGS, indent=2),
                                       encoding="utf-8")
    plugins = out / "plugins"
    plugins.mkdir(exist_ok=True)
    (plugins / PLUGIN_FILE).write_text(SHIM, encoding="utf-8")
    _copy_source(plugins)
    if base is None:
        _copy_archive(target, archive_dir_for(db), out / "archive", bundle, progress)
    bundle.start_script.write_text(START.format(db=f"{DATABASE_NAME}.db",
                                                settings=_settings_args()), encoding="utf-8")
    bundle.start_script.chmod(0o755)
    (out / "requirements.txt").write_text("\n".join(REQUIREMENTS) + "\n", encoding="utf-8")
    (out / "README.txt").write_text(_readme(bundle), encoding="utf-8")
    leaks = find_file_links(out)
    if leaks:
        raise PublishError("the bundle still holds file:// addresses: " + ", ".join(leaks[:5]))
    return bundle


def find_file_links(root: Path) -> list[str]:
    """Files of a bundle (outside the archived originals and the plugin's source) that hold a
    file:// address."""
    found = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or rel.parts[0] in ("archive", "plugins"):
            continue
        if FILE_ADDRESS.search(path.read_bytes()):
            found.append(str(rel))
    return found


def _readme(bundle: Bundle) -> str:
    where = (f"under {bundle.archive_base_url} (archive paths appended)" if
             bundle.archive_base_url else "in archive/, by SHA-256")
    return f"""alpr-inventory: a published inventory
=====================================

Who can see an agency's plate-reader data, and which of them are federal agencies: facts
parsed from public records, each with the archived document it came from ({where}).

Serve it (offline, read-only):

    pip install -r requirements.txt
    ./start.sh                  # http://127.0.0.1:8001/

Publish it: `alpr-inventory publish OUT_DIR --to cloudrun|heroku|fly|vercel|package`
(Datasette's own `datasette publish` / `datasette package`; robots are blocked by default).

Sources and licences: facts from public records (each document's URL is in the documents
table); the camera positions in `cameras` are (c) OpenStreetMap contributors, ODbL 1.0
(https://www.openstreetmap.org/copyright). Imported files are named by their file name only.
"""


def publish_command(bundle_dir: str | Path, target: str, *, name: str | None = None,
                    allow_robots: bool = False, extra: tuple[str, ...] = ()) -> list[str]:
    """Datasette's command line that publishes (or packages) this bundle."""
    if target not in TARGETS:
        raise PublishError(f"unknown target {target!r}: one of {', '.join(TARGETS)}")
    root = Path(bundle_dir)
    command = ["datasette", "package"] if target == "package" else [
        "datasette", "publish", target]
    command += [str(root / f"{DATABASE_NAME}.db"), "--metadata", str(root / "metadata.json"),
                "--plugins-dir", str(root / "plugins")]
    if (root / "archive").is_dir():
        # copied into the image beside the database, where the plugin's /-/archive reads it
        command += ["--static", f"archive:{root / 'archive'}"]
    installs = [r for r in REQUIREMENTS if not r.startswith("datasette==")]
    if allow_robots:
        installs = [r for r in installs if not r.startswith("datasette-block-robots")]
    for requirement in installs:
        command += ["--install", requirement]
    command += ["--extra-options", _settings_args()]
    if name and target != "package":
        command += ["--app" if target == "fly" else "--service" if target == "cloudrun"
                    else "--project" if target == "vercel" else "--name", name]
    elif name:
        command += ["--tag", name]
    return command + list(extra)
