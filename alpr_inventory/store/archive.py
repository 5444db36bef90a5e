"""Content-addressed storage of raw bytes: the evidence behind every fact.

A document is stored once under its SHA-256, so re-fetching identical bytes costs nothing and a
reporter can always show the original. Writes go to a temporary file first (in `.tmp/`, named
after the writing process) and are renamed into place, so a crash never leaves a half-written
document under a valid name, and `sweep` removes what a killed process left half-written.
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
        self._made: set[Path] = set()  # folders this process made or found (no mkdir again)

    @property
    def tmp(self) -> Path:
        return self.root / ".tmp"

    def sweep(self) -> int:
        """Remove temporary files of processes that are gone (killed while writing)."""
        removed = 0
        if not self.tmp.is_dir():
            return 0
        for entry in self.tmp.iterdir():
            pid = entry.name.split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                entry.unlink(missing_ok=True)
                removed += 1
        return removed

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
        try:
            self._write(body, target)
        except FileNotFoundError:  # a folder removed since it was made: made again
            self._made.clear()
            self._write(body, target)
        return digest, True

    def _write(self, body: bytes, target: Path) -> None:
        for folder in (target.parent, self.tmp):
            if folder not in self._made:
                folder.mkdir(parents=True, exist_ok=True)
                self._made.add(folder)
        fd, tmp = tempfile.mkstemp(dir=self.tmp, prefix=f"{os.getpid()}-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(body)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, sha256: str) -> bytes:
        """Read archived bytes, checking they still hash to their name."""
        body = self.path(sha256).read_bytes()
        if sha256_of(body) != sha256:
            raise ValueError(f"archive file for {sha256} is corrupt (hash mismatch)")
        return body


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
