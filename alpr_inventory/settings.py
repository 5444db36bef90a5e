"""Paths and identity, from the environment with sensible defaults.

One place decides where the corpus, the database and the archive live, so tests, the demo and
the CLI agree. Every path can be overridden: ALPR_CORPUS, ALPR_DB, ALPR_ARCHIVE.
"""

from __future__ import annotations

import os
from pathlib import Path

from parsers.names import FLOCK_PORTAL_BASE

__all__ = ["FLOCK_PORTAL_BASE", "archive_dir_for", "corpus_dir", "default_db_path"]

REPO_ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """The shared real-world corpus, read in place (never copied into the repo)."""
    return Path(os.environ.get("ALPR_CORPUS", REPO_ROOT.parent / "shared" / "corpus")).resolve()


def default_db_path() -> Path:
    return Path(os.environ.get("ALPR_DB", REPO_ROOT / "data" / "inventory.db"))


def archive_dir_for(db_path: str | Path) -> Path:
    """The archive sits beside the database unless ALPR_ARCHIVE says otherwise."""
    env = os.environ.get("ALPR_ARCHIVE")
    return Path(env) if env else Path(db_path).resolve().parent / "archive"


NODE_DB_NAME = "inventory.db"  # the same name in crawlers/jobs.py (a Scrapyd job's own)


def node_db_path(node_dir: str | Path) -> Path:
    """A crawl node's database in its own folder (its archive beside it: `archive/`), which
    `alpr-inventory merge` reads."""
    return Path(node_dir) / NODE_DB_NAME
