"""Keyed hashing of licence plates: match the same plate across logs without publishing it.

The key is random, made once per installation and kept beside the database (`plate_hash.key`,
mode 0600, never committed). HMAC-SHA256 of the normalised plate (upper case, letters and digits
only) means the hashes cannot be reversed by hashing every possible plate without the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

KEY_FILE = "plate_hash.key"


def load_or_create_key(directory: str | Path) -> bytes:
    """The installation's key, made on first use. Two commands starting at once on a new
    installation agree on one key: it is written to a temporary file and linked into place,
    which only the first can do; both then read what is there."""
    path = Path(directory) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE}.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_bytes(32).hex())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return bytes.fromhex(path.read_text().strip())


def plate_hasher(key: bytes) -> Callable[[str], str]:
    def hash_plate(plate: str) -> str:
        normalised = re.sub(r"[^A-Z0-9]", "", plate.upper())
        return "hmac-sha256:" + hmac.new(key, normalised.encode(), hashlib.sha256).hexdigest()

    return hash_plate
