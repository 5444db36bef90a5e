"""Content-addressed storage of raw bytes: the evidence behind every fact.

A document is stored once under its SHA-256, so re-fetching identical bytes costs nothing and a
reporter can always show the original. Writes go to a temporary file first and are renamed into
place, so a crash never leaves a half-written document under a valid name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def sha256_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Archive:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def relative_path(self, sha256: str) -> str:
        return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def path(self, sha256: str) -> Path:
        return self.root / self.relative_path(sha256)

    def put(self, body: bytes, sha256: str | None = None) -> tuple[str, bool]:
        """Store bytes; return (sha256, True if they were not in the archive before)."""
        digest = sha256 or sha256_of(body)
        target = self.path(digest)
        if target.exists():
            return digest, False
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest, True

    def get(self, sha256: str) -> bytes:
        """Read archived bytes, checking they still hash to their name."""
        body = self.path(sha256).read_bytes()
        if sha256_of(body) != sha256:
            raise ValueError(f"archive file for {sha256} is corrupt (hash mismatch)")
        return body
