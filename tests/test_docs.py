"""Docs that cannot drift: every command, option and spider is described in the README (or
docs/), the pasted `--help` output is current (cog), and the schema's value lists are the
constants the code uses. Inputs routed below are generated here (a few bytes each)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from alpr_inventory.cli import cli
from alpr_inventory.store.schema import TABLES
from crawlers.registry import SPIDERS
from parsers.model import DOC_TYPES, PARSE_STATUSES
from parsers.router import ROUTES, declared_list, interpret

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GENERATED = re.compile(r"<!-- \[\[\[cog.*?\[\[\[end\]\]\] -->", re.S)


def _written_docs() -> str:
    """The README and docs/ as people wrote them (cog's generated --help left out)."""
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    return "\n".join(GENERATED.sub("", p.read_text(encoding="utf-8")) for p in pages)


def _commands(group: click.Command, path: list[str]):
    yield path, group
    if isinstance(group, click.Group):
        for name, sub in sorted(group.commands.items()):
            yield from _commands(sub, [*path, name])


def test_every_command_and_option_is_described() -> None:
    docs = _written_docs()
    missing = []
    for path, command in _commands(cli, []):
        if path and f"alpr-inventory {' '.join(path)}" not in docs:
            missing.append(f"command: alpr-inventory {' '.join(path)}")
        for param in command.params:
            names = [o for o in (*param.opts, *param.secondary_opts) if o.startswith("--")]
            if isinstance(param, click.Option) and names and not any(
                    re.search(re.escape(n) + r"(?![\w-])", docs) for n in names):
                missing.append(f"option: alpr-inventory {' '.join(path)} {'/'.join(names)}")
    assert not missing, "not described in README.md or docs/:\n" + "\n".join(missing)


def test_every_spider_is_described() -> None:
    docs = _written_docs()
    assert [s.command for s in SPIDERS if f"crawl {s.command}" not in docs] == []
    assert {s.command for s in SPIDERS} == set(cli.commands["crawl"].commands)  # type: ignore[attr-defined]


def test_pasted_help_is_current() -> None:
    out = subprocess.run([str(BIN / "cog"), "--check", "docs/cli.md"], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:] + (
        "\nrun: .venv/bin/cog -r docs/cli.md")


def test_schema_value_lists_are_the_codes_constants() -> None:
    documents = next(t for t in TABLES if t.name == "documents")
    for column, values in (("doc_type", DOC_TYPES), ("parse_status", PARSE_STATUSES)):
        described = documents.columns[column][1]
        assert all(f"{value}: " in described for value in values), column
    assert {r.kind for r in ROUTES} - {"container", "pdf", "zip"} <= set(DOC_TYPES)


@pytest.mark.parametrize(("name", "body"), [
    ("empty.csv", b""),
    ("image.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)),
    ("data.json", b'{"a": 1}'),
    ("table.csv", b"a,b\n1,2\n3,4\n"),
    ("notes.txt", b"Minutes of the meeting about cameras.\n"),
    ("page.html", b"<html><head><title>Police</title></head><body><p>Hi</p></body></html>"),
    ("fake.pdf", b"not a pdf at all"),
    ("blob.bin", bytes(range(256)) * 4),
])
def test_the_router_gives_only_documented_values(name: str, body: bytes) -> None:
    interp = interpret(body, name=name)
    assert interp.verdict.kind in DOC_TYPES and interp.parse_status in PARSE_STATUSES
    assert interp.parser


def test_declared_lists_give_only_documented_values() -> None:
    for agency in (None, "Eugene OR PD"):
        interp = declared_list(b"Name\nHouston TX PD\n", "inbound", agency)
        assert interp.verdict.kind in DOC_TYPES and interp.parse_status in PARSE_STATUSES


# a one-off record of the step that grouped the packages by stage, in the layout it ran on
_HISTORICAL = {Path("scripts/restructure_by_stage.py")}
_ABSENT_ON_PURPOSE = {"tests/__init__.py"}  # tests/ is no package (comments say so)
_TEST_PATH = re.compile(r"(?<![\w/.-])tests/[\w/.-]+?\.(?:py|html|csv|md)(?![\w])")


def test_every_test_file_named_in_docs_and_code_exists() -> None:
    """Tests are arranged like the code (tests/parsers/flock/..., tests/load/...): a path
    like tests/<stage>/test_<name>.py written in the README, docs/, data/ notes, pyproject.toml or a
    comment must name a file that is there (a test moved without its references fails)."""
    pages = [REPO / "README.md", REPO / "pyproject.toml",
             *(p for folder in ("docs", "data") for p in (REPO / folder).rglob("*.md")),
             *(p for folder in ("alpr_inventory", "crawlers", "parsers", "scripts", "tests")
               for p in (REPO / folder).rglob("*.py"))]
    missing = sorted({f"{page.relative_to(REPO)}: {path}"
                      for page in pages if page.relative_to(REPO) not in _HISTORICAL
                      for path in _TEST_PATH.findall(page.read_text(encoding="utf-8"))
                      if not (REPO / path).exists() and path not in _ABSENT_ON_PURPOSE})
    assert missing == [], "\n".join(missing)
