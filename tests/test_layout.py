"""The layout keeps its shape: import rules (import-linter contracts in pyproject.toml) hold,
and a wheel built from the repository works outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_corpus  # runs without the shared corpus

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_import_contracts_hold() -> None:
    """Parsers import neither Scrapy nor the store; crawlers never import the application;
    the application's stages import downwards only; no cycles (pyproject.toml
    [tool.importlinter])."""
    out = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_an_installed_wheel_resolves_names_outside_the_checkout(tmp_path: Path) -> None:
    """`pip wheel` of the repository, installed (without dependencies: they come from the
    project's environment, nothing is downloaded) into a fresh venv, run from a folder
    outside the checkout: the resolver finds its data files in the installed package."""
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    wheels = tmp_path / "wheels"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(REPO)], capture_output=True, text=True, timeout=300, env=env)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = wheels.glob("alpr_inventory-*.whl")
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120, env=env)
    fresh = venv / "bin" / "python"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(fresh), "install", "-q", "--no-deps",
         str(wheel)], capture_output=True, text=True, timeout=300, env=env)
    assert installed.returncode == 0, installed.stderr[-3000:]
    # the dependencies (click, lxml, ...) from the project's environment, after the wheel's own
    # packages; a plain path, so the project's editable install (a .pth hook) is not seen
    site = next((venv / "lib").glob("python3*/site-packages"))
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and
                (p / "click").is_dir())
    (site / "zz_project_dependencies.pth").write_text(f"{deps}\n")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = subprocess.run(
        [str(fresh), "-c", "import parsers.datafiles as d, parsers; "
         "print(parsers.__file__); print(d.DATA_DIR)"],
        cwd=outside, capture_output=True, text=True, timeout=120, env=env)
    assert where.returncode == 0, where.stderr[-3000:]
    module, data = where.stdout.split()
    assert module.startswith(str(site)) and data.startswith(str(site)), where.stdout
    resolved = subprocess.run(
        [str(venv / "bin" / "alpr-inventory"), "resolve", "Calistoga CA PD",
         "Immigration and Customs Enforcement"],
        cwd=outside, capture_output=True, text=True, timeout=120, env=env)
    assert resolved.returncode == 0, resolved.stderr[-3000:]
    rows = {r.split(",")[0]: r.split(",") for r in resolved.stdout.splitlines()[1:]}
    assert rows["Calistoga CA PD"][1:5] == ["calistoga-ca-pd", "Calistoga CA PD",
                                            "local_police", "CA"]
    assert rows["Immigration and Customs Enforcement"][6] == "1"  # immigration
    in_checkout = subprocess.run(
        [str(BIN / "alpr-inventory"), "resolve", "Calistoga CA PD",
         "Immigration and Customs Enforcement"], cwd=REPO, capture_output=True, text=True,
        timeout=120)
    assert resolved.stdout == in_checkout.stdout
