"""Where the data files the parsers read live (resolver rules, state policies, known name
splits): `data/` beside the packages in a checkout, else the copy a wheel installs as the
package data `parsers/data` (pyproject.toml maps `data/` to it)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

_CHECKOUT = Path(__file__).resolve().parent.parent / "data"


def data_dir() -> Path:
    """The data folder: the checkout's when there is one (edits there count), else the
    installed copy."""
    if (_CHECKOUT / "resolver" / "states.csv").is_file():
        return _CHECKOUT
    return Path(str(resources.files("parsers") / "data"))


DATA_DIR = data_dir()
